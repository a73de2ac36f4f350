"""Ops that rearrange values: flip/roll, tril/triu, diag/diagonal/diag_embed/trace, and
repeat/tile/repeat_interleave.
"""
from __future__ import annotations

from .._backend import xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import wrap_dim, normalize_dims
from .shape_views import _shape_args


# ---- rearranging values ------------------------------------------------------------------------
class Flip(Primitive):
    def forward(self, x, dims):
        self.dims = dims
        return xp.flip(x, dims).copy() if dims else x.copy()

    def backward(self, g):
        return Flip.apply(g, dims=self.dims)

    def name(self):
        return "FlipBackward0"


def flip(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return Flip.apply(input, dims=normalize_dims(dims, input._data.ndim) if dims else ())


def fliplr(input):
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input):
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


class Roll(Primitive):
    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        if dims is None:
            return xp.roll(x.reshape(-1), shifts).reshape(x.shape)
        return xp.roll(x, shifts, dims)

    def backward(self, g):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return Roll.apply(g, shifts=neg, dims=self.dims)

    def name(self):
        return "RollBackward0"


def roll(input, shifts, dims=None):
    if isinstance(shifts, (list, tuple)):
        shifts = tuple(int(s) for s in shifts)
    else:
        shifts = int(shifts)
    if dims is None:
        if isinstance(shifts, tuple):
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                                   "dims:0")
            shifts = shifts[0]
    else:
        dims = tuple(wrap_dim(d, input._data.ndim) for d in
                     (dims if isinstance(dims, (list, tuple)) else (dims,)))
        if not isinstance(shifts, tuple):
            shifts = (shifts,)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
    return Roll.apply(input, shifts=shifts, dims=dims)


class Tri(Primitive):
    def forward(self, x, k, upper):
        self.k, self.upper = k, upper
        return (xp.triu if upper else xp.tril)(x, k)

    def backward(self, g):
        return Tri.apply(g, k=self.k, upper=self.upper)

    def name(self):
        return "TriuBackward0" if self.upper else "TrilBackward0"


def tril(input, diagonal=0):
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return Tri.apply(input, k=int(diagonal), upper=False)


def triu(input, diagonal=0):
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tri.apply(input, k=int(diagonal), upper=True)


def _diag_index(n_rows, n_cols, k):
    """Row/column indices of the ``k``-th diagonal of an ``n_rows x n_cols`` matrix."""
    n = max(0, min(n_rows, n_cols - k) if k >= 0 else min(n_rows + k, n_cols))
    r = xp.arange(n)
    return (r, r + k) if k >= 0 else (r - k, r)


class Diagonal(Primitive):
    """The ``offset`` diagonal over dims (d1, d2), appended as the last dim (a copy)."""

    def forward(self, x, offset, d1, d2, nm="DiagonalBackward0"):
        self.in_shape, self.offset, self.d1, self.d2, self.nm = x.shape, offset, d1, d2, nm
        return xp.diagonal(x, offset, d1, d2).copy()

    def backward(self, g):
        return DiagEmbed.apply(g, offset=self.offset, d1=self.d1, d2=self.d2,
                               shape=self.in_shape)

    def name(self):
        return self.nm


class DiagEmbed(Primitive):
    """Place the last dim of ``x`` on the ``offset`` diagonal of dims (d1, d2) of zeros."""

    def forward(self, x, offset, d1, d2, shape, nm="DiagEmbedBackward0"):
        self.offset, self.d1, self.d2, self.nm = offset, d1, d2, nm
        out = xp.zeros(shape, dtype=x.dtype)
        nd = len(shape)
        rest = [i for i in range(nd) if i not in (d1, d2)]
        moved = xp.moveaxis(out, rest + [d1, d2], list(range(nd)))   # a view of out
        rows, cols = _diag_index(shape[d1], shape[d2], offset)
        moved[..., rows, cols] = x
        return out

    def backward(self, g):
        return Diagonal.apply(g, offset=self.offset, d1=self.d1, d2=self.d2)

    def name(self):
        return self.nm


def diag(input, diagonal=0):
    nd = input._data.ndim
    if nd == 1:
        n = input._data.shape[0] + abs(diagonal)
        return DiagEmbed.apply(input, offset=diagonal, d1=0, d2=1, shape=(n, n))
    if nd == 2:
        return Diagonal.apply(input, offset=diagonal, d1=0, d2=1, nm="DiagonalBackward0")
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def diagonal(input, offset=0, dim1=0, dim2=1):
    nd = input._data.ndim
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=offset, d1=d1, d2=d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    nd = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, nd), wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input._data.shape[-1] + abs(offset)
    batch = list(input._data.shape[:-1])
    shape = []
    for i in range(nd):
        shape.append(n if i in (d1, d2) else batch.pop(0))
    return DiagEmbed.apply(input, offset=offset, d1=d1, d2=d2, shape=tuple(shape))


def trace(input):
    if input._data.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim "
                           f"{input._data.ndim}")
    return diag(input).sum()


class Repeat(Primitive):
    def forward(self, x, reps):
        self.in_shape, self.reps = x.shape, reps
        lead = len(reps) - x.ndim
        return xp.tile(x.reshape((1,) * lead + x.shape), reps)

    def backward(self, g):
        reps = self.reps
        lead = len(reps) - len(self.in_shape)
        shp = (1,) * lead + tuple(self.in_shape)
        split_shape = []
        for r, s in zip(reps, shp):
            split_shape += [r, s]
        gs = g.reshape(tuple(split_shape))
        gs = gs.sum(dim=tuple(range(0, 2 * len(reps), 2)))
        return gs.reshape(self.in_shape)

    def name(self):
        return "RepeatBackward0"


def repeat(input, *sizes):
    sizes = _shape_args(sizes, "repeat")
    if len(sizes) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(sizes)}: {list(sizes)}")
    return Repeat.apply(input, reps=sizes)


def tile(input, dims):
    dims = _shape_args((dims,), "tile")
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat elements; ``repeats`` is an int or a 1-D tensor of per-element counts."""
    if repeats is None:  # torch.repeat_interleave(repeats_tensor)
        reps = input._data
        if reps.ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        return Tensor._wrap(xp.repeat(xp.arange(reps.shape[0]), reps).astype(xp.int64))
    x = input if dim is not None else input.reshape(-1)
    d = 0 if dim is None else wrap_dim(dim, input._data.ndim)
    n = x._data.shape[d] if x._data.ndim else 1
    if isinstance(repeats, Tensor):
        r = repeats._data
        if r.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if r.ndim == 1 and r.shape[0] not in (1, n):
            raise RuntimeError("repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {r.shape[0]} and input.size({d}) = {n}")
        r = r.reshape(-1) if r.size != 1 else int(r.reshape(-1)[0])
    else:
        r = int(repeats)
    if xp.any(xp.asarray(r) < 0):
        raise RuntimeError("repeats can not be negative")
    idx = xp.repeat(xp.arange(n), r)
    from .indexing import index_select
    if x._data.ndim == 0:
        x = x.reshape(1)
    return index_select(x, d, Tensor._wrap(idx.astype(xp.int64)))
