"""Random sampling with seedable generators.

Differs from torch: the same seed gives the same numbers run to run, but not the same
numbers as torch (ember draws from NumPy's PCG64, torch from its own MT19937 streams).
"""
from __future__ import annotations

import json
import math
import time

import numpy as _np

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ._util import parse_size

_DEFAULT_SEED = 67280421310721


class Generator:
    """A random-number generator (``ember.Generator``), seedable and checkpointable."""

    def __init__(self, device="cpu"):
        self._seed = _DEFAULT_SEED
        self._rng = _np.random.Generator(_np.random.PCG64(self._seed))

    @property
    def device(self):
        from .._backend import CPU
        return CPU

    def manual_seed(self, seed) -> "Generator":
        seed = int(seed)
        if seed < -0x8000_0000_0000_0000 or seed > 0xFFFF_FFFF_FFFF_FFFF:
            raise RuntimeError(f"Overflow when unpacking long long")
        seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self._rng = _np.random.Generator(_np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        s = int(time.time_ns()) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        st = {"seed": self._seed, "bg": self._rng.bit_generator.state}
        raw = json.dumps(st).encode()
        return Tensor._wrap(_np.frombuffer(raw, dtype=_np.uint8).copy())

    def set_state(self, new_state: Tensor) -> "Generator":
        if not isinstance(new_state, Tensor) or new_state.dtype is not _dt.uint8:
            raise TypeError("expected a torch.ByteTensor, but got "
                            f"{type(new_state).__name__}")
        try:
            st = json.loads(bytes(new_state._data.tobytes()).decode())
            self._seed = st["seed"]
            self._rng.bit_generator.state = st["bg"]
        except (ValueError, KeyError, TypeError):
            raise RuntimeError("Invalid RNG state: expected a state from Generator.get_state()"
                               ) from None
        return self

    def clone_state(self):
        return self.get_state()


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


def _float_np(dtype):
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    if npd.kind not in "fc":
        raise RuntimeError(f'"check_uniform_bounds" not implemented for '
                           f"'{_dt.from_numpy_dtype(npd).name.capitalize()}'")
    return npd


def _out(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t._set_requires_grad(True)   # factories' message for non-float dtypes
    return t


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    npd = _float_np(dtype)
    shape = parse_size(size)
    return _out(_gen(generator).random(shape, dtype=_np.float64).astype(npd), requires_grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False):
    npd = _float_np(dtype)
    shape = parse_size(size)
    g = _gen(generator)
    if npd == _np.float32:
        arr = g.standard_normal(shape, dtype=_np.float32)
    else:
        arr = g.standard_normal(shape).astype(npd)
    return _out(arr, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False):
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _np.dtype(_np.int64)
    arr = _gen(generator).integers(low, high, size=tuple(size), dtype=_np.int64).astype(npd)
    return _out(arr, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _np.dtype(_np.int64)
    return _out(_gen(generator).permutation(int(n)).astype(npd), requires_grad)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None):
    return rand(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                generator=generator)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None):
    return randn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                 generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, **kw):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype,
                   generator=generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad=False):
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if _np.any(_np.asarray(s) < 0):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = _np.broadcast_shapes(_np.shape(m), _np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        z = g.standard_normal(shape)
        return Tensor._wrap((m + s * z).astype(ref._data.dtype))
    if size is None:
        raise TypeError("normal() missing required argument 'size'")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    npd = _float_np(dtype)
    return _out((mean + std * g.standard_normal(parse_size((size,)))).astype(npd), requires_grad)


def bernoulli(input, p=None, *, generator=None, out=None):
    probs = input._data if p is None else _np.full(input._data.shape, p)
    if _np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    u = _gen(generator).random(input._data.shape)
    return Tensor._wrap((u < probs).astype(input._data.dtype))


def poisson(input, generator=None):
    return Tensor._wrap(_gen(generator).poisson(input._data).astype(input._data.dtype))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    p = input._data.astype(_np.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if _np.any(p < 0) or not _np.all(_np.isfinite(p)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    n_cat = rows.shape[1]
    if not replacement and num_samples > n_cat:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    g = _gen(generator)
    out = _np.empty((rows.shape[0], num_samples), dtype=_np.int64)
    for r, row in enumerate(rows):
        s = row.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        out[r] = g.choice(n_cat, size=num_samples, replace=replacement, p=row / s)
    return Tensor._wrap(out.reshape(p.shape[:-1] + (num_samples,)))


# ---- in-place samplers (Tensor methods) --------------------------------------------------------
def _fill_inplace(self, arr):
    self._data[...] = arr
    self._version.v += 1
    return self


def uniform_(self, a=0.0, b=1.0, *, generator=None):
    g = _gen(generator)
    return _fill_inplace(self, a + (b - a) * g.random(self._data.shape))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    g = _gen(generator)
    return _fill_inplace(self, mean + std * g.standard_normal(self._data.shape))


def bernoulli_(self, p=0.5, *, generator=None):
    g = _gen(generator)
    probs = p._data if isinstance(p, Tensor) else p
    return _fill_inplace(self, g.random(self._data.shape) < probs)


def random_(self, from_=0, to=None, *, generator=None):
    g = _gen(generator)
    if to is None:
        if self._data.dtype.kind == "f":
            to = 2 ** _np.finfo(self._data.dtype).nmant + 1
        elif self._data.dtype == _np.bool_:
            to = 2
        else:
            to = int(_np.iinfo(self._data.dtype).max) + 1
        if from_ and to is not None and from_ >= to:
            from_, to = 0, from_
    return _fill_inplace(self, g.integers(from_, to, size=self._data.shape))


def exponential_(self, lambd=1.0, *, generator=None):
    return _fill_inplace(self, _gen(generator).exponential(1.0 / lambd, self._data.shape))


def geometric_(self, p, *, generator=None):
    return _fill_inplace(self, _gen(generator).geometric(p, self._data.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill_inplace(self, _gen(generator).lognormal(mean, std, self._data.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    return _fill_inplace(self, median + sigma * _np.tan(math.pi * (
        _gen(generator).random(self._data.shape) - 0.5)))


__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "rand", "randn", "randint", "randperm",
           "rand_like", "randn_like", "randint_like", "normal", "bernoulli", "poisson",
           "multinomial"]


def _guarded(fn):
    def m(self, *a, **k):
        from .._tensor import _leaf_inplace_check
        _leaf_inplace_check(self)
        return fn(self, *a, **k)
    m.__name__ = fn.__name__
    return m


TENSOR_METHODS = {
    "uniform_": _guarded(uniform_), "normal_": _guarded(normal_),
    "bernoulli_": _guarded(bernoulli_), "random_": _guarded(random_),
    "exponential_": _guarded(exponential_), "geometric_": _guarded(geometric_),
    "log_normal_": _guarded(log_normal_), "cauchy_": _guarded(cauchy_),
    "bernoulli": bernoulli, "multinomial": multinomial,
}
