"""Helpers shared by the op families: type promotion, argument coercion, unbroadcast."""
from __future__ import annotations

import numbers

from .._backend import xp
from .._backend.reduce import sum_like_torch
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive

_BY_NP = _dt._BY_NP


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def as_tensor_arg(x, like: Tensor | None = None) -> Tensor:
    """Coerce an op argument (Tensor, Python number, NumPy value/array) to a Tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, bool):
        return Tensor._wrap(xp.asarray(x))
    if isinstance(x, numbers.Integral):
        return Tensor._wrap(xp.asarray(x, dtype=xp.int64))
    if isinstance(x, numbers.Real):
        return Tensor._wrap(xp.asarray(x, dtype=_dt.default_float_np()))
    from .creation import tensor
    return tensor(x)


def result_dtype(*args) -> _dt.dtype:
    """torch.result_type over Tensors and Python numbers."""
    ops = []
    for a in args:
        if isinstance(a, Tensor):
            ops.append((_BY_NP[a._data.dtype], a._data.ndim, None))
        elif a is not None:
            ops.append((None, None, a))
    return _dt.result_type_of(ops)


def binary_dtype(a, b) -> _dt.dtype:
    """Fast path of ``result_dtype`` for the common binary case."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da is db or da == db:
                return _BY_NP[da]
        else:
            d = _BY_NP[a._data.dtype]
            if d._cat >= _dt._scalar_cat(b):
                return d
    return result_dtype(a, b)


def cast_arg(x, d: _dt.dtype):
    """Cast a Tensor (differentiably) to dtype ``d``; leave Python numbers alone."""
    if isinstance(x, Tensor) and x._data.dtype != d.np:
        return ToDtype.apply(x, dtype=d.np)
    return x


def normalize_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int or sequence; may be negative) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (tuple, list)):
        dims = tuple(wrap_dim(d, ndim) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
        return tuple(sorted(dims))
    return (wrap_dim(dim, ndim),)


def wrap_dim(dim, ndim: int) -> int:
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim must be an int, not {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but "
                         f"got {dim})")
    return dim % ndim if ndim else 0


def parse_size(args) -> tuple:
    """Sizes given as ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, numbers.Integral):
            raise TypeError(f"size must be a sequence of ints, but got an element of type "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(args)}")
        out.append(int(s))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# Two primitives every family needs: dtype casts and the broadcast-gradient reduction.
# ---------------------------------------------------------------------------------------
class ToDtype(Primitive):
    def forward(self, x, dtype):
        self.src = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        if not _BY_NP[self.src].is_floating_point and not _BY_NP[self.src].is_complex:
            return None
        return ToDtype.apply(g, dtype=self.src)

    def name(self):
        return "ToCopyBackward0"


class SumToSize(Primitive):
    """Sum a broadcast gradient back down to ``shape`` (torch's ``sum_to_size``)."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        if not axes:
            return x.reshape(shape)
        r = sum_like_torch(x, axes, True)
        return (r if r is not None else x.sum(axis=axes, keepdims=True)).reshape(shape)

    def backward(self, g):
        return ExpandTo.apply(g, shape=self.in_shape)

    def name(self):
        return "SumBackward1"


class ExpandTo(Primitive):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return SumToSize.apply(g, shape=self.in_shape)

    def name(self):
        return "ExpandBackward0"


def sum_to(g: Tensor, shape) -> Tensor:
    """Reduce gradient ``g`` to ``shape`` (undo broadcasting). The one place that does it."""
    if g._data.shape == shape:
        return g
    return SumToSize.apply(g, shape=tuple(shape))


def grad_for(g: Tensor, shape, np_dtype) -> Tensor:
    """Gradient for an input of ``shape``/``np_dtype``: unbroadcast, then cast."""
    if g._data.shape != shape:
        g = SumToSize.apply(g, shape=tuple(shape))
    if g._data.dtype != np_dtype:
        g = ToDtype.apply(g, dtype=np_dtype)
    return g


# integer types of the same width as float16/32/64, for selecting floats by their bits
SAME_SIZE_INT = {2: xp.int16, 4: xp.int32, 8: xp.int64}


def select_bits(mask, g, out=None):
    """``g`` where ``mask`` else +0.0, exactly (inf, NaN and -0.0 kept where selected), into
    ``out`` (``g``'s shape, any strides) or a new array. ``g`` is a float array whose width
    is in ``SAME_SIZE_INT``; ``mask`` is a boolean array that broadcasts to ``g``. Done on
    the bits: the integer view of ``g`` times the 0/1 mask (an inf/NaN outside the mask
    cannot leak in as 0 * inf = NaN, and NumPy's ``where`` is ~10x slower on large arrays).
    Into contiguous memory the mask is widened first (faster than a mixed-type multiply);
    into a strided ``out`` one mixed-type pass beats two strided ones (1.3 vs 3.1 ms for
    max-pool's backward at 64x64x24x24)."""
    if out is None:
        out = xp.empty(g.shape, dtype=g.dtype)      # owns its buffer (no .base)
    it = SAME_SIZE_INT[g.dtype.itemsize]
    oi = out.view(it)
    if out.flags.c_contiguous:
        xp.copyto(oi, mask)
        xp.multiply(oi, g.view(it), out=oi)
    else:
        xp.multiply(g.view(it), mask.view(xp.int8), out=oi)
    return out
