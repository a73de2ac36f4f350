"""Random sampling with seedable generators.

Differs from torch: the same seed gives the same numbers run to run, but not the same
numbers as torch (ember draws from NumPy's PCG64, torch from its own Mersenne Twister).
Shapes, dtypes, distributions, seeding, generator state round trips and autograd behaviour
(samples carry a zero gradient, as torch's do) follow torch.
"""
from __future__ import annotations

import json
import math
import time

import numpy as _np

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor, _leaf_inplace_check
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import parse_size

_DEFAULT_SEED = 67280421310721
_U64 = 0xFFFF_FFFF_FFFF_FFFF


class Generator:
    """A random-number generator (``ember.Generator``), seedable and checkpointable."""

    def __init__(self, device="cpu"):
        from .._backend import canonical_device
        canonical_device(device)
        self._seed = _DEFAULT_SEED
        self._rng = _np.random.Generator(_np.random.PCG64(self._seed))

    @property
    def device(self):
        from .._backend import CPU
        return CPU

    def manual_seed(self, seed) -> "Generator":
        """Reseed; negative seeds wrap modulo 2**64 as in torch."""
        seed = int(seed)
        if seed < -0x8000_0000_0000_0000 or seed > _U64:
            raise ValueError("Overflow when unpacking long long")
        seed &= _U64
        self._seed = seed
        self._rng = _np.random.Generator(_np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return the seed."""
        s = (time.time_ns() ^ int.from_bytes(_np.random.bytes(8), "little")) & _U64
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The full generator state as a uint8 tensor (for ``set_state``)."""
        st = {"seed": self._seed, "bg": self._rng.bit_generator.state}
        raw = json.dumps(st).encode()
        return Tensor._wrap(xp.frombuffer(raw, dtype=_np.uint8).copy())

    def set_state(self, new_state: Tensor) -> "Generator":
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dt.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        try:
            st = json.loads(bytes(new_state._data.tobytes()).decode())
            rng = _np.random.Generator(_np.random.PCG64())
            rng.bit_generator.state = st["bg"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise RuntimeError("Invalid RNG state: expected a state from "
                               "Generator.get_state()") from None
        self._seed, self._rng = int(st["seed"]), rng
        return self

    def clone_state(self) -> "Generator":
        g = Generator()
        g.set_state(self.get_state())
        return g


default_generator = Generator()


def _gen(generator) -> _np.random.Generator:
    return (generator if generator is not None else default_generator)._rng


def manual_seed(seed) -> Generator:
    """Seed the default generator (and, like torch, return it)."""
    return default_generator.manual_seed(seed)


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


def _uniform(g, shape, npd):
    if npd == _np.float32 or npd == _np.float64:
        return g.random(shape, dtype=npd)
    return g.random(shape).astype(npd)


def _normal(g, shape, npd):
    if npd == _np.float32 or npd == _np.float64:
        return g.standard_normal(shape, dtype=npd)
    return g.standard_normal(shape).astype(npd)


def _out(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t._set_requires_grad(True)   # factories' message for non-float dtypes
    return t


class _Sampled(Primitive):
    """Random values drawn from distribution parameters given as tensors: the values carry a
    zero gradient to those tensors (torch's NormalBackward*/BernoulliBackward*...)."""

    def forward(self, *params, arr, nm):
        self.nm, self.metas = nm, [(p.shape, p.dtype) if isinstance(p, _np.ndarray) else None
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
    return _out(_uniform(_gen(generator), parse_size(size), npd), requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples."""
    npd = _float_np(dtype, "normal_kernel_cpu")
    return _out(_normal(_gen(generator), parse_size(size), npd), requires_grad)


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
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _np.dtype(_np.int64)
    arr = _gen(generator).integers(low, high, size=parse_size((size,)), dtype=_np.int64)
    return _out(arr.astype(npd, copy=False), requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of 0..n-1."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _np.dtype(_np.int64)
    return _out(_gen(generator).permutation(n).astype(npd), requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None) -> Tensor:
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                generator=generator)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None) -> Tensor:
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                 generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, requires_grad=False,
                 **kw) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   generator=generator, requires_grad=requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False) -> Tensor:
    """Normal samples: ``normal(mean, std, size)`` with numbers, or element-wise with tensor
    ``mean`` and/or ``std`` (broadcast; the result has their float dtype)."""
    g = _gen(generator)
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
        arr = (m + s * _normal(g, shape, npd)).astype(npd, copy=False)
        nm = "NormalBackward3" if isinstance(mean, Tensor) and isinstance(std, Tensor) else (
            "NormalBackward1" if isinstance(mean, Tensor) else "NormalBackward2")
        return _sampled(arr, nm, *(p for p in (mean, std) if isinstance(p, Tensor)))
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments - got (float, "
                        "float), but expected (float mean, float std, tuple of ints size, ...)")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    npd = _float_np(dtype, "normal_kernel_cpu")
    arr = (mean + std * _normal(g, parse_size((size,)), npd)).astype(npd, copy=False)
    return _out(arr, requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or the scalar ``p``), in input's dtype."""
    npd = _float_np(input.dtype, "bernoulli_tensor_cpu_p_")
    probs = input._data if p is None else p
    if p is None:
        if input._data.size and bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    arr = (_uniform(_gen(generator), input._data.shape, _np.dtype(_np.float64)) < probs
           ).astype(npd)
    return _sampled(arr, "BernoulliBackward0" if p is None else "BernoulliBackward1", input)


def poisson(input, generator=None) -> Tensor:
    return Tensor._wrap(_gen(generator).poisson(input._data).astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Category indices drawn from the rows of ``input`` (non-negative weights).

    Without replacement this uses the exponential-race (Gumbel top-k) trick; with replacement
    one vectorised ``searchsorted`` over all rows. No Python loop over rows or samples."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_scalar_name(input._data.dtype)}")
    p = input._data.astype(_np.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    n_cat = p.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rows = p.reshape(-1, n_cat)
    if not xp.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = _gen(generator)
    r = rows.shape[0]
    if not replacement:
        with xp.errstate(divide="ignore"):
            keys = g.exponential(size=rows.shape) / rows      # zero weight -> inf: drawn last
        out = xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    else:
        cdf = xp.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        offset = xp.arange(r, dtype=_np.float64)[:, None]
        u = g.random((r, num_samples))
        flat = xp.searchsorted((cdf + offset).ravel(), (u + offset).ravel(), side="right")
        out = flat.reshape(r, num_samples) - (xp.arange(r) * n_cat)[:, None]
        last = n_cat - 1 - xp.argmax(rows[:, ::-1] > 0, axis=1)   # rounding guard
        out = xp.minimum(out, last[:, None])
    return Tensor._wrap(out.astype(_np.int64).reshape(p.shape[:-1] + (num_samples,)))


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
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > "
                           f"to={b}")
    u = _uniform(_gen(generator), self._data.shape, npd)
    return _fill_inplace(self, u * (b - a) + a if (a, b) != (0.0, 1.0) else u,
                         "UniformBackward0")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    npd = _float_np(self.dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    z = _normal(_gen(generator), self._data.shape, npd)
    return _fill_inplace(self, z * std + mean if (mean, std) != (0.0, 1.0) else z,
                         "NormalBackward0")


def bernoulli_(self, p=0.5, *, generator=None):
    if isinstance(p, Tensor):
        probs = p._data
        if probs.size and bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    else:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        probs = p
    u = _uniform(_gen(generator), self._data.shape, _np.dtype(_np.float64))
    return _fill_inplace(self, u < probs, "BernoulliBackward2" if not isinstance(p, Tensor)
                         else "BernoulliBackward1")


def random_(self, from_=None, to=None, *, generator=None):
    """Integers: ``random_()`` over the dtype's exactly representable range,
    ``random_(to)`` in [0, to), ``random_(from, to)`` in [from, to)."""
    npd = self._data.dtype
    if to is None and from_ is not None:
        from_, to = 0, from_
    if from_ is None:
        from_ = 0
    if to is None:
        if npd.kind == "f":
            to = 2 ** (_np.finfo(npd).nmant + 1) + 1
        elif npd == _np.bool_:
            to = 2
        else:
            to = int(_np.iinfo(npd).max) + 1
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} "
                           f">= to={to}")
    return _fill_inplace(self, _gen(generator).integers(from_, to, size=self._data.shape),
                         "RandomBackward2" if to is not None else "RandomBackward0")


def exponential_(self, lambd=1.0, *, generator=None):
    npd = _float_np(self.dtype, "exponential_cpu")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    e = _gen(generator).standard_exponential(self._data.shape,
                                             dtype=npd if npd in (_np.float32, _np.float64)
                                             else _np.float64)
    return _fill_inplace(self, e / lambd if lambd != 1 else e, "ExponentialBackward0")


def geometric_(self, p, *, generator=None):
    return _fill_inplace(self, _gen(generator).geometric(p, self._data.shape),
                         "GeometricBackward0")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill_inplace(self, _gen(generator).lognormal(mean, std, self._data.shape),
                         "LogNormalBackward0")


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    u = _gen(generator).random(self._data.shape)
    return _fill_inplace(self, median + sigma * xp.tan(math.pi * (u - 0.5)),
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
