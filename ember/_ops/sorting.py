"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, nanmedian, mode,
unique.

Order follows torch's CPU results: sorts are stable (ties keep their original order, also
when descending), NaN sorts as the largest value, ``kthvalue``/``median`` pick the element at
that position of the stable ascending order, ``mode`` returns the smallest most frequent value
with the index of its last occurrence. Values are differentiable: the gradient goes back to
the selected positions (torch's value-selecting backward); whole-tensor ``median()`` shares
it among ties.

Differs from torch: ``topk(sorted=False)`` and ``unique(sorted=False)`` return sorted results
(torch leaves the order unspecified).
"""
from __future__ import annotations

from .._backend import xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import wrap_dim
from .reduction import _return_type, _index_backward, _evenly_distribute

SortResult = _return_type("sort")
TopkResult = _return_type("topk")
KthvalueResult = _return_type("kthvalue")
MedianResult = _return_type("median")
NanmedianResult = _return_type("nanmedian")
ModeResult = _return_type("mode")


def _dim(input: Tensor, dim) -> int | None:
    """The axis for ``dim`` (None for a 0-d input, where dim 0 and -1 are accepted)."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    return d if nd else None


def _sort_indices(x, axis, descending):
    """Stable argsort along ``axis``; NaN sorts as the largest value. Descending order keeps
    ties in their original order too (sorting the reversed array, then un-reversing)."""
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    idx = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(idx, axis)


class Select(Primitive):
    """Values picked along ``dim`` at ``idx`` (sort, topk, kthvalue, median, mode): outputs
    (values, indices); the gradient is scattered back to the picked positions."""
    n_outputs = 2
    nondiff_outputs = (1,)
    release_attrs = ("idx",)

    def forward(self, x, dim, idx, keepdim, name):
        self.in_shape, self.dim, self.idx, self.keepdim, self._name = (
            x.shape, dim, idx, keepdim, name)
        if dim is None:
            return x.copy(), xp.zeros((), dtype=xp.int64)
        vals = xp.take_along_axis(x, idx, axis=dim)
        idx = idx.astype(xp.int64, copy=False)
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        return vals, idx

    def backward(self, g, _gi=None):
        if self.dim is None:
            return g
        return _index_backward(g, self.dim, self.idx, self.in_shape, self.keepdim)

    def name(self):
        return self._name


def _select(input, dim, idx, keepdim, name, result):
    v, i = Select.apply(input, dim=dim, idx=idx, keepdim=keepdim, name=name)
    return result(v, i)


def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; always stable (``stable`` is accepted)."""
    d = _dim(input, dim)
    idx = None if d is None else _sort_indices(input._data, d, descending)
    return _select(input, d, idx, True, "SortBackward0", SortResult)


def argsort(input, dim=-1, descending=False, stable=False) -> Tensor:
    d = _dim(input, dim)
    if d is None:
        return Tensor._wrap(xp.zeros((), dtype=xp.int64))
    return Tensor._wrap(_sort_indices(input._data, d, descending).astype(xp.int64, copy=False))


def msort(input) -> Tensor:
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    d = _dim(input, dim)
    n = 1 if d is None else input._data.shape[d]
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if d is None:
        return _select(input, None, None, True, "TopkBackward0", TopkResult)
    idx = _sort_indices(input._data, d, largest)
    idx = xp.take(idx, xp.arange(k), axis=d)
    return _select(input, d, idx, True, "TopkBackward0", TopkResult)


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest value (1-based) along ``dim`` and its index."""
    d = _dim(input, dim)
    n = 1 if d is None else input._data.shape[d]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension "
                           f"{d or 0}")
    if d is None:
        return _select(input, None, None, keepdim, "KthvalueBackward0", KthvalueResult)
    idx = xp.take(_sort_indices(input._data, d, False), [k - 1], axis=d)
    return _select(input, d, idx, keepdim, "KthvalueBackward0", KthvalueResult)


def _median_positions(x, d, ignore_nan):
    """Position (in the stable ascending order) of the lower median along ``d``: NaN, which
    sorts last, is skipped by nanmedian and returned (its first occurrence) by median."""
    n = x.shape[d]
    isnan = xp.isnan(x) if x.dtype.kind == "f" else xp.zeros(x.shape, bool)
    n_nan = isnan.sum(axis=d, keepdims=True)
    if ignore_nan:
        valid = n - n_nan
        return xp.where(valid > 0, (valid - 1) // 2, 0)
    return xp.where(n_nan > 0, n - n_nan, (n - 1) // 2)


def _median_dim(input, dim, keepdim, ignore_nan):
    d = _dim(input, dim)
    name = "NanmedianBackward1" if ignore_nan else "MedianBackward1"
    result = NanmedianResult if ignore_nan else MedianResult
    if d is None:
        return _select(input, None, None, keepdim, name, result)
    x = input._data
    if x.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    order = _sort_indices(x, d, False)
    pos = _median_positions(x, d, ignore_nan)
    idx = xp.take_along_axis(order, pos, axis=d)
    return _select(input, d, idx, keepdim, name, result)


class MedianAll(Primitive):
    """median()/nanmedian() of all elements (lower median); ties share the gradient."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, ignore_nan):
        self.ignore_nan = ignore_nan
        if x.size == 0:
            return xp.asarray(xp.nan, dtype=x.dtype)
        flat = x.reshape(-1)
        order = xp.argsort(flat, kind="stable")
        pos = _median_positions(flat, 0, ignore_nan)
        return xp.asarray(flat[order[int(pos.reshape(-1)[0])]])

    def backward(self, g):
        x, = self.saved_inputs
        return _evenly_distribute(g, x._data, self.saved_output._data)

    def name(self):
        return "NanmedianBackward0" if self.ignore_nan else "MedianBackward0"


def median(input, dim=None, keepdim=False):
    """Lower median of all elements (a 0-d tensor), or (values, indices) along ``dim``.
    NaN propagates (see nanmedian)."""
    if dim is None:
        return MedianAll.apply(input, ignore_nan=False)
    return _median_dim(input, dim, keepdim, False)


def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaN (NaN only where a line is all NaN)."""
    if dim is None:
        return MedianAll.apply(input, ignore_nan=True)
    return _median_dim(input, dim, keepdim, True)


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest one on ties) and the index of its
    last occurrence."""
    d = _dim(input, dim)
    if d is None:
        return _select(input, None, None, keepdim, "ModeBackward0", ModeResult)
    x = input._data
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    # work on rows: (m, n) with the reduced dim last
    order = _sort_indices(x, d, False)
    s = xp.moveaxis(xp.take_along_axis(x, order, axis=d), d, -1).reshape(-1, n)
    p = xp.moveaxis(order, d, -1).reshape(-1, n)
    m = s.shape[0]
    start = xp.ones((m, n), bool)
    start[:, 1:] = s[:, 1:] != s[:, :-1]
    run = xp.cumsum(start, axis=1) - 1                       # run id of each element
    rows = xp.arange(m)[:, None]
    counts = xp.zeros((m, n), xp.int64)
    xp.add.at(counts, (xp.broadcast_to(rows, (m, n)), run), 1)
    is_end = xp.ones((m, n), bool)
    is_end[:, :-1] = start[:, 1:]
    end_pos = xp.zeros((m, n), xp.int64)
    r_end, c_end = xp.nonzero(is_end)
    end_pos[r_end, run[r_end, c_end]] = c_end
    best = xp.argmax(counts, axis=1)                        # first max: the smallest value
    col = end_pos[xp.arange(m), best]
    idx = p[xp.arange(m), col]
    out_shape = x.shape[:d] + x.shape[d + 1:]
    idx = xp.expand_dims(idx.reshape(out_shape), d)
    return _select(input, d, idx, keepdim, "ModeBackward0", ModeResult)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Unique elements (sorted), or unique slices along ``dim``; optionally the inverse
    indices (input shape, or the size of ``dim``) and the counts. Not differentiable.
    NaNs are not merged, as in torch."""
    x = input._data
    if dim is None:
        res = xp.unique(x.reshape(-1), return_inverse=return_inverse,
                        return_counts=return_counts, equal_nan=False)
    else:
        d = wrap_dim(dim, x.ndim)
        if x.ndim == 0:
            raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], "
                             f"but got {dim})")
        res = xp.unique(x, axis=d, return_inverse=return_inverse, return_counts=return_counts,
                        equal_nan=False)
    if not (return_inverse or return_counts):
        return Tensor._wrap(res)
    out = [Tensor._wrap(res[0])]
    k = 1
    if return_inverse:
        inv = res[k].astype(xp.int64).reshape(x.shape if dim is None else (-1,))
        out.append(Tensor._wrap(inv))
        k += 1
    if return_counts:
        out.append(Tensor._wrap(res[k].astype(xp.int64)))
    return tuple(out)


# ---------------------------------------------------------------------------------------
# Searching: isin, searchsorted, bucketize, bincount (no gradients, as in torch)
# ---------------------------------------------------------------------------------------
_TYPE_NAMES = {"b": "Bool", "f": "Float", "c": "ComplexFloat"}


def _arr(x):
    return x._data if isinstance(x, Tensor) else xp.asarray(x)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """True where an element of ``elements`` occurs in ``test_elements`` (NaN never does);
    either may be a number."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    return Tensor._wrap(xp.asarray(xp.isin(_arr(elements), _arr(test_elements),
                                           invert=invert)))


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter=None) -> Tensor:
    """Insertion indices of ``input`` into ``sorted_sequence`` along its last dim (whose
    leading dims, if any, match ``input``'s); ``right``/``side='right'`` puts equal values
    after their run."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    vals = _arr(input)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        out = xp.searchsorted(seq, vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension "
                               f"or the first N-1 dimensions of boundaries tensor and input "
                               f"value tensor must match, but we got boundaries tensor "
                               f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
        s2 = seq.reshape(-1, seq.shape[-1])
        v2 = vals.reshape(-1, vals.shape[-1])
        out = xp.stack([xp.searchsorted(s2[i], v2[i], side=how) for i in range(s2.shape[0])])
        out = out.reshape(vals.shape)
    return Tensor._wrap(xp.asarray(out, dtype=xp.int32 if out_int32 else xp.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """Index of the bucket of each value: ``boundaries[i-1] < x <= boundaries[i]``
    (``right``: ``boundaries[i-1] <= x < boundaries[i]``); ``boundaries`` is 1-D sorted."""
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count of each value of a 1-D non-negative integer tensor (or the sum of ``weights``
    per value, in the weights' floating dtype)."""
    x = input._data
    if x.dtype.kind not in "iu":
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{_TYPE_NAMES.get(x.dtype.kind, x.dtype.name)}'")
    if x.ndim != 1 or (x.size and x.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return Tensor._wrap(xp.bincount(x, minlength=minlength).astype(xp.int64))
    w = weights._data
    if w.shape != x.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dt = w.dtype if w.dtype.kind == "f" else xp.float64
    return Tensor._wrap(xp.bincount(x, weights=w.astype(xp.float64),
                                    minlength=minlength).astype(out_dt))


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "unique", "isin", "searchsorted", "bucketize", "bincount"]
TENSOR_METHODS = {n: globals()[n] for n in __all__
                  if n not in ("isin", "searchsorted", "bucketize")}
