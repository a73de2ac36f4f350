"""Random sampling with seedable generators.

The generators are torch's CPU Mersenne Twister (``ember/_backend/mt19937.py``) and the
samplers replay torch's CPU kernels (``ember/_backend/rng_kernels.py``), so after the same
``manual_seed`` the same calls give torch's numbers bit for bit: rand/randn/randint/randperm/
normal/bernoulli/multinomial/rand_like/randn_like/randint_like and the in-place uniform_/
normal_/bernoulli_/random_/exponential_/geometric_/log_normal_/cauchy_, with the stream
advancing as torch's does; generator states are torch's 5056 bytes, interchangeable with
``torch.get_rng_state()``. Not torch's numbers: ``poisson`` (NumPy's sampler, seeded from the
stream), and multinomial's order among exactly tied keys. Shapes, dtypes, errors and autograd
behaviour (samples carry a zero gradient, as torch's do) follow torch.
"""
from __future__ import annotations

import math
import operator
import os
import warnings

from .._backend import host, xp
from .._backend import dtypes as _dt
from .._backend import rng_kernels as _rk
from .._backend.mt19937 import MT19937 as _MT19937, STATE_SIZE as _STATE_SIZE
from .._tensor import Tensor, _leaf_inplace_check
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import parse_size

_U64 = 0xFFFF_FFFF_FFFF_FFFF


class Generator:
    """A random-number generator (``ember.Generator``): torch's CPU ``mt19937``, starting
    from torch's default seed 67280421310721, so seeds give torch's numbers."""

    def __init__(self, device="cpu"):
        from .._backend import canonical_device
        canonical_device(device)
        self._engine = _MT19937()

    @property
    def device(self):
        from .._backend import CPU
        return CPU

    def manual_seed(self, seed) -> "Generator":
        """Reseed; negative seeds wrap modulo 2**64 as in torch."""
        try:
            seed = operator.index(seed)
        except TypeError:
            raise RuntimeError(f"manual_seed expected a long, but got "
                               f"{type(seed).__name__}") from None
        if seed < -0x8000_0000_0000_0000 or seed > _U64:
            raise ValueError("Overflow when unpacking long long")
        self._engine.seed(seed & _U64)
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source (the OS) and return the seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self._engine.seed(s)
        return s

    def initial_seed(self) -> int:
        return self._engine.initial_seed

    def get_state(self) -> Tensor:
        """torch's 5056-byte ``CPUGeneratorImplState`` as a uint8 tensor: loads into
        ``torch.Generator.set_state`` / ``torch.set_rng_state`` and back."""
        return Tensor._wrap(xp.frombuffer(self._engine.get_state(), dtype=host.uint8).copy())

    def set_state(self, new_state: Tensor) -> "Generator":
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype is not _dt.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        data = host.ascontiguousarray(new_state._data).tobytes()
        if len(data) != _STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_SIZE} but "
                               f"found the input RNG state size to be {len(data)}")
        self._engine.set_state(data)
        return self

    def clone_state(self) -> "Generator":
        g = Generator()
        g._engine = self._engine.clone()
        return g

    @property
    def _rng(self) -> host.random.Generator:
        """A NumPy generator seeded by one ``random64()`` draw from this stream, for samplers
        that do not replay a torch kernel: reproducible under ``manual_seed``, not torch's
        numbers."""
        return host.random.Generator(host.random.PCG64(int(self._engine.random64(1)[0])))

    def __reduce__(self):
        return (Generator, ("cpu",), (self.initial_seed(), None, self.get_state()))

    def __setstate__(self, state):
        self.set_state(state[2])


default_generator = Generator()
# torch 2.13 seeds its default CPU generator from a non-deterministic source at start-up
# (new Generator objects start at the fixed default seed); so does ember.
default_generator.seed()


def _gen(generator) -> host.random.Generator:
    return (generator if generator is not None else default_generator)._rng


def _eng(generator) -> _MT19937:
    return (generator if generator is not None else default_generator)._engine


def manual_seed(seed) -> Generator:
    """Seed the default generator (and, like torch, return it)."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


# ---- helpers ---------------------------------------------------------------------------------
def _float_np(dtype, kernel="check_uniform_bounds"):
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    if npd.kind not in "fc":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_scalar_name(npd)}'")
    return npd


def _scalar_name(npd) -> str:
    from .linalg import _cap
    return _cap(Tensor._wrap(xp.zeros(0, dtype=npd)))


def _real_np(npd):
    """The float dtype torch samples for ``npd`` (a complex tensor is sampled through its
    real view: twice as many values)."""
    return {"F": host.dtype(host.float32), "D": host.dtype(host.float64)}.get(npd.char, npd)


def _draw(kernel, generator, shape, npd, *args, perm=None, **kw):
    """torch's values for a ``shape`` tensor of ``npd`` from ``kernel`` (one of
    ``ember._backend.rng_kernels``), laid out in memory order ``perm`` (None: C order)."""
    real = _real_np(npd)
    n = math.prod(shape) * (2 if real != npd else 1)
    vals = kernel(_eng(generator), n, real, *args, **kw)
    return _rk.to_layout(vals.view(npd) if real != npd else vals, shape, perm)


def _uniform(generator, shape, npd, low=0.0, high=1.0, perm=None):
    return _draw(_rk.uniform, generator, shape, npd, low, high, perm=perm)


def _normal(generator, shape, npd, mean=0.0, std=1.0, perm=None, contiguous=True):
    if npd.kind == "c":
        std = std / math.sqrt(2)
    return _draw(_rk.normal, generator, shape, npd, mean, std, perm=perm,
                 contiguous=contiguous and perm is None)


_CXX_NAME = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short",
             "int32": "int", "int64": "long", "float16": "c10::Half", "float32": "float",
             "float64": "double"}
_SCALAR_NAME = {"float16": "Half", "float32": "Float", "float64": "Double"}


def _check_uniform(a, b, npd) -> None:
    """torch's ``check_uniform_bounds``."""
    real = _real_np(npd)
    lo, hi = float(host.finfo(real).min), float(host.finfo(real).max)
    name = _CXX_NAME.get(real.name, real.name)
    if not lo <= a <= hi:
        raise RuntimeError(f"from is out of bounds for {name}")
    if not lo <= b <= hi:
        raise RuntimeError(f"to is out of bounds for {name}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g}"
                           f" > to={b:g}")
    if b - a > hi:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<"
                           f"{_SCALAR_NAME.get(real.name, real.name)}>::max(), but found "
                           f"to={b:g} and from={a:g} which result in to-from to exceed the "
                           f"limit")


def _digits(npd) -> int:
    return int(host.finfo(npd).nmant) + 1


def _via_dtype(v: int, npd) -> int:
    """``(int64_t)(scalar_t)v``."""
    with host.errstate(invalid="ignore", over="ignore"):
        return int(host.array(v, dtype=host.int64).astype(npd).astype(host.int64))


def _update_from(frm: int, npd) -> int:
    plus1 = _via_dtype(frm + 1, npd)
    if plus1 < frm:
        n = max(abs(frm + 1).bit_length() - 1, 0)
        frm = plus1 + (1 << (n - _digits(npd) + 1))
    return frm


def _update_to(to: int, npd) -> int:
    minus1 = _via_dtype(to - 1, npd)
    if minus1 >= to:
        n = max(abs(to - 1).bit_length() - 1, 0)
        to = minus1 - (1 << (n - _digits(npd) + 1))
    return to


def _check_int_range(frm: int, to_inc: int, npd) -> None:
    """torch's ``check_from_to_in_range``."""
    name = _CXX_NAME.get(npd.name, npd.name)
    if npd.kind == "f":
        lo, hi = float(host.finfo(npd).min), float(host.finfo(npd).max)
    elif npd == host.bool_:
        lo, hi = 0, 1
    else:
        lo, hi = int(host.iinfo(npd).min), int(host.iinfo(npd).max)
    if not lo <= frm <= hi:
        raise RuntimeError(f"from is out of bounds for {name}")
    if not lo <= to_inc <= hi:
        raise RuntimeError(f"to - 1 is out of bounds for {name}")
    if npd.kind == "f":
        d = _digits(npd)
        for v, what in ((frm, "from"), (to_inc, "to - 1")):
            if v < -(1 << d) or v > (1 << d):
                warnings.warn(f"{what} is out of bounds [-(2^{d}), 2^{d}]. Due to precision "
                              f"limitations {name} can support discrete uniform distribution "
                              "only within this range. This warning will become an error in "
                              "version 1.7 release, please fix the code in advance",
                              UserWarning, stacklevel=4)


_INT64_MIN = -(1 << 63)


def _random_ints(generator, shape, npd, frm=None, to=None, has_to=False, perm=None):
    """torch's ``random_`` values: ``frm is None`` is ``random_()``; ``has_to`` gives
    [frm, to); otherwise [frm, the dtype's largest value] (torch's random_from_to_impl)."""
    npd = host.dtype(npd)
    n = math.prod(shape)
    if frm is None:
        vals = _rk.random_default(_eng(generator), n, npd)
    elif has_to:
        frm, to = operator.index(frm), operator.index(to)
        if frm >= to:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={frm} >= to={to}")
        if npd.kind == "f":
            frm, to = _update_from(frm, npd), _update_to(to, npd)
            if frm >= to:
                raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than "
                                   f"'to' casted to dtype, but got from={frm} >= to={to}")
        _check_int_range(frm, to - 1, npd)
        vals = _rk.random_from_to(_eng(generator), n, npd, to - frm, frm)
    elif frm != _INT64_MIN:
        frm = operator.index(frm)
        if npd.kind == "f":
            to_inc = min(1 << _digits(npd), (1 << 63) - 1)
            frm = _update_from(frm, npd)
            if frm >= to_inc:
                raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than or "
                                   f"equal to 'to_inc' casted to dtype, but got from={frm} > "
                                   f"to_inc={to_inc}")
        else:
            to_inc = 1 if npd == host.bool_ else int(host.iinfo(npd).max)
        _check_int_range(frm, to_inc, npd)
        vals = _rk.random_from_to(_eng(generator), n, npd, to_inc - frm + 1, frm)
    else:
        if npd not in (host.int64, host.float32, host.float64):
            raise RuntimeError("random_full_64_bits_range_kernel_cpu handles only int64, double,"
                               " float and bfloat16")
        vals = _rk.random_full_64(_eng(generator), n, npd)
    return _rk.to_layout(vals, shape, perm)


def _out(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t._set_requires_grad(True)   # factories' message for non-float dtypes
    return t


class _Sampled(Primitive):
    """Random values drawn from distribution parameters given as tensors: the values carry a
    zero gradient to those tensors (torch's NormalBackward*/BernoulliBackward*...)."""

    def forward(self, *params, arr, nm):
        self.nm, self.metas = nm, [(p.shape, p.dtype) if isinstance(p, host.ndarray) else None
                                   for p in params]
        return arr

    def backward(self, g):
        return tuple(None if m is None else Tensor._wrap(xp.zeros(*m)) for m in self.metas)

    def name(self):
        return self.nm


def _sampled(arr, nm, *params) -> Tensor:
    if STATE.enabled and any(isinstance(p, Tensor) and p._requires_grad for p in params):
        return _Sampled.apply(*params, arr=arr, nm=nm)
    return Tensor._wrap(arr)


# ---- sampling ---------------------------------------------------------------------------------
def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform samples on [0, 1)."""
    npd = _float_np(dtype)
    return _out(_uniform(generator, parse_size(size), npd), requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples."""
    npd = _float_np(dtype, "normal_kernel_cpu")
    return _out(_normal(generator, parse_size(size), npd), requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if isinstance(high, (tuple, list)) and size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing 1 required positional arguments: \"size\"")
    if high is None:
        low, high = 0, low
    low, high = int(low), int(high)
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else host.dtype(host.int64)
    arr = _random_ints(generator, parse_size((size,)), npd, low, high, True)
    return _out(arr, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of 0..n-1."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else host.dtype(host.int64)
    if npd.kind == "f" and n > (1 << _digits(npd)) + 1:
        raise RuntimeError(f"n cannot be greater than {(1 << _digits(npd)) + 1} for "
                           f"{_SCALAR_NAME[npd.name]} type.")
    return _out(_rk.randperm(_eng(generator), n).astype(npd), requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None) -> Tensor:
    """Like torch: the result keeps ``input``'s dense layout and is filled in memory order."""
    npd = _float_np(dtype or input.dtype)
    return _out(_uniform(generator, tuple(input.shape), npd,
                         perm=_rk.dense_memory_order(input._data)), requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None) -> Tensor:
    """Like torch: the result keeps ``input``'s dense layout (a permuted layout is not
    contiguous, so torch's element-by-element normal path runs)."""
    npd = _float_np(dtype or input.dtype, "normal_kernel_cpu")
    return _out(_normal(generator, tuple(input.shape), npd,
                        perm=_rk.dense_memory_order(input._data)), requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, requires_grad=False,
                 **kw) -> Tensor:
    if high is None:
        low, high = 0, low
    npd = _dt.to_numpy_dtype(dtype or input.dtype)
    return _out(_random_ints(generator, tuple(input.shape), npd, low, high, True,
                             perm=_rk.dense_memory_order(input._data)), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False) -> Tensor:
    """Normal samples: ``normal(mean, std, size)`` with numbers, or element-wise with tensor
    ``mean`` and/or ``std`` (broadcast; the result has their float dtype)."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        npd = _float_np(ref.dtype, "normal_kernel_cpu")
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(std, Tensor):
            if std._data.size and bool((std._data < 0).any()):
                raise RuntimeError("normal expects all elements of std >= 0.0")
        elif std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        shape = xp.broadcast_shapes(xp.shape(m), xp.shape(s))
        # torch: normal_(0, std) (or (0, 1) then mul_(std)) into the output, then add_(mean)
        if isinstance(std, Tensor):
            arr = _normal(generator, shape, npd)
            arr *= s
        else:
            arr = _normal(generator, shape, npd, 0.0, std)
        arr += m if isinstance(mean, Tensor) else npd.type(mean)
        nm = "NormalBackward3" if isinstance(mean, Tensor) and isinstance(std, Tensor) else (
            "NormalBackward1" if isinstance(mean, Tensor) else "NormalBackward2")
        return _sampled(arr, nm, *(p for p in (mean, std) if isinstance(p, Tensor)))
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments - got (float, "
                        "float), but expected (float mean, float std, tuple of ints size, ...)")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    npd = _float_np(dtype, "normal_kernel_cpu")
    return _out(_normal(generator, parse_size((size,)), npd, mean, std), requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or the scalar ``p``), in input's dtype."""
    npd = _float_np(input.dtype, "bernoulli_tensor_cpu_p_")
    probs = input._data if p is None else p
    if p is None:
        if input._data.size and bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    perm = _rk.dense_memory_order(input._data)    # the result keeps input's layout
    if p is None:
        flat = (input._data if perm is None else input._data.transpose(perm)).ravel()
        vals = _rk.bernoulli_tensor(_eng(generator), flat)
    else:
        vals = _rk.bernoulli_scalar(_eng(generator), input._data.size, p)
    arr = _rk.to_layout(vals.astype(npd), input._data.shape, perm)
    return _sampled(arr, "BernoulliBackward0" if p is None else "BernoulliBackward1", input)


def poisson(input, generator=None) -> Tensor:
    return Tensor._wrap(_gen(generator).poisson(input._data).astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Category indices drawn from the rows of ``input`` (non-negative weights).

    As torch's CPU kernels: without replacement (or for one sample) the top-k of
    ``p / Exp(1)``; with replacement a per-row cumulative sum searched with one 53-bit uniform
    per sample (one vectorised ``searchsorted`` per row)."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_scalar_name(input._data.dtype)}")
    p = input._data.astype(host.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n_cat = p.shape[-1]
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rows = p.reshape(-1, n_cat)
    if not xp.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    probs = input._data.reshape(-1, n_cat)               # torch samples in the input dtype
    if not replacement or num_samples == 1:
        out = _rk.multinomial_without_replacement(_eng(generator), probs, num_samples)
    else:
        out = _rk.multinomial_with_replacement(_eng(generator), probs, num_samples)
    return Tensor._wrap(out.astype(host.int64).reshape(p.shape[:-1] + (num_samples,)))


# ---- in-place samplers (Tensor methods) ----------------------------------------------------
def _fill_inplace(self, arr, nm):
    """Overwrite ``self`` with samples. Inside a graph, the samples carry a zero gradient."""
    _leaf_inplace_check(self)
    if STATE.enabled and self._requires_grad:
        return self._inplace_from(_Sampled.apply(self, arr=arr.astype(self._data.dtype,
                                                                      copy=False), nm=nm))
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location. Please clone() the "
                           "tensor before performing the operation.")
    self._data[...] = arr
    self._version.v += 1
    return self


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    npd = _float_np(self.dtype)
    _check_uniform(a, b, npd)
    _leaf_inplace_check(self)                      # before drawing: a refused call draws nothing
    u = _uniform(generator, self._data.shape, npd, a, b, perm=_rk.memory_order(self._data))
    return _fill_inplace(self, u, "UniformBackward0")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    npd = _float_np(self.dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    _leaf_inplace_check(self)
    z = _normal(generator, self._data.shape, npd, mean, std, perm=_rk.memory_order(self._data),
                contiguous=self._data.flags.c_contiguous)
    return _fill_inplace(self, z, "NormalBackward0")


def bernoulli_(self, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        probs = p._data
        if probs.size and bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        probs = p
    _leaf_inplace_check(self)
    perm = _rk.memory_order(self._data)
    if isinstance(p, Tensor):
        if p._data.dtype.kind != "f":
            raise NotImplementedError(f'"bernoulli_tensor_cpu_p_" not implemented for '
                                      f"'{_scalar_name(p._data.dtype)}'")
        probs = xp.broadcast_to(probs, self._data.shape)
        vals = _rk.bernoulli_tensor(_eng(generator),
                                    (probs if perm is None else probs.transpose(perm)).ravel())
    else:
        vals = _rk.bernoulli_scalar(_eng(generator), self._data.size, p)
    return _fill_inplace(self, _rk.to_layout(vals, self._data.shape, perm),
                         "BernoulliBackward2" if not isinstance(p, Tensor)
                         else "BernoulliBackward1")


_UNSET = object()


def random_(self, from_=None, to=_UNSET, *, generator=None):
    """Integers: ``random_()`` over the dtype's exactly representable range,
    ``random_(to)`` in [0, to), ``random_(from, to)`` in [from, to), ``random_(from, None)``
    in [from, the dtype's largest value]; torch's draws and checks."""
    _leaf_inplace_check(self)
    npd, shape, perm = self._data.dtype, self._data.shape, _rk.memory_order(self._data)
    if from_ is None and to is _UNSET:
        vals, nm = _random_ints(generator, shape, npd, perm=perm), "RandomBackward2"
    elif to is _UNSET or from_ is None:
        vals = _random_ints(generator, shape, npd, 0, from_ if to is _UNSET else to, True,
                            perm=perm)
        nm = "RandomBackward1"
    else:
        vals = _random_ints(generator, shape, npd, from_, to, to is not None, perm=perm)
        nm = "RandomBackward0"
    return _fill_inplace(self, vals, nm)


def exponential_(self, lambd=1.0, *, generator=None):
    _float_np(self.dtype, "exponential_cpu")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    _leaf_inplace_check(self)
    return _fill_inplace(self, _in_memory_order(self, generator, _rk.exponential, lambd),
                         "ExponentialBackward0")


def _in_memory_order(self, generator, kernel, *args):
    """``kernel``'s float64 values for every element of ``self``, visited in memory order
    (torch's TensorIterator order), cast to ``self``'s dtype."""
    perm = _rk.memory_order(self._data)
    vals = kernel(_eng(generator), self._data.size, *args)
    return _rk.to_layout(_rk.cast(vals, self._data.dtype), self._data.shape, perm)


def geometric_(self, p, *, generator=None):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    _leaf_inplace_check(self)
    return _fill_inplace(self, _in_memory_order(self, generator, _rk.geometric, p),
                         "GeometricBackward0")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    _float_np(self.dtype, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    _leaf_inplace_check(self)
    return _fill_inplace(self, _in_memory_order(self, generator, _rk.log_normal, mean, std),
                         "LogNormalBackward0")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    _float_np(self.dtype, "cauchy_cpu")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    _leaf_inplace_check(self)
    return _fill_inplace(self, _in_memory_order(self, generator, _rk.cauchy, median, sigma),
                         "CauchyBackward0")


__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "rand", "randn", "randint", "randperm",
           "rand_like", "randn_like", "randint_like", "normal", "bernoulli", "poisson",
           "multinomial"]

TENSOR_METHODS = {
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "bernoulli": bernoulli, "multinomial": multinomial,
}
