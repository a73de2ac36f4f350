"""Indexing by tensors along a dimension: gather/scatter (and scatter_add/scatter_reduce),
index_select, masked_fill/masked_select/masked_scatter, take/take_along_dim, nonzero/argwhere,
index_add/index_fill/index_copy.
"""
from __future__ import annotations

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import wrap_dim, grad_for, sum_to, ToDtype
from .indexing_subscript import _ndarray, _AdvIndexBackward, IndexPut, _IndexFill


# ---- gather / scatter --------------------------------------------------------------------------
def _check_index(index, name):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' (position 3) must be Tensor, not "
                        f"{type(index).__name__}")
    if index.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")


def _check_bounds(idx, dim, n):
    """gather/scatter indices must lie in [0, n) (negative indices are errors in torch)."""
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if hi >= n or lo < 0:
            raise RuntimeError(f"index {hi if hi >= n else lo} is out of bounds for dimension "
                               f"{dim} with size {n}")


def _along_grids(idx, dim):
    grids = list(xp.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return tuple(grids)


def _check_gather_shapes(x_shape, idx_shape, dim, fn, src_shape=None):
    nd = len(x_shape)
    if len(idx_shape) != nd and not (nd == 0 and len(idx_shape) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           + ("input" if fn == "gather" else "self") + " tensor")
    if src_shape is not None and len(src_shape) != len(idx_shape) and len(src_shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    big_self = next((k for k in range(min(nd, len(idx_shape)))
                     if k != dim and idx_shape[k] > x_shape[k]), None)
    big_src = src_shape is not None and any(
        i > s for i, s in zip(idx_shape, src_shape))
    if fn == "gather":
        if big_self is not None:
            raise RuntimeError(f"Size does not match at dimension {big_self} expected index "
                               f"{list(idx_shape)} to be no larger than self {list(x_shape)} "
                               f"apart from dimension {dim}")
    elif big_self is not None or big_src:
        tail = f" and to be no larger size than src {list(src_shape)}" \
            if src_shape is not None else ""
        raise RuntimeError(f"Expected index {list(idx_shape)} to be no larger than self "
                           f"{list(x_shape)} apart from dimension {dim}{tail}")


class Gather(Primitive):
    def forward(self, x, dim, idx):
        self.in_shape, self.dim, self.idx = x.shape, dim, idx
        if x.ndim == 0:
            return xp.broadcast_to(x, idx.shape).copy()
        return x[_along_grids(idx, dim)]

    def backward(self, g):
        return _ScatterAddZeros.apply(g, dim=self.dim, idx=self.idx, shape=self.in_shape)

    def name(self):
        return "GatherBackward0"


class _ScatterAddZeros(Primitive):
    """``zeros(shape).scatter_add_(dim, idx, g)``: the gradient of gather."""

    def forward(self, g, dim, idx, shape):
        self.dim, self.idx = dim, idx
        out = xp.zeros(shape, dtype=g.dtype)
        if len(shape) == 0:
            out[()] = g.sum()
            return out
        if idx.size:
            xp.add.at(out, _along_grids(idx, dim), g[tuple(slice(0, s) for s in idx.shape)])
        return out

    def backward(self, gg):
        return Gather.apply(gg, dim=self.dim, idx=self.idx)

    def name(self):
        return "ScatterAddBackward0"


def gather(input, dim, index, *, sparse_grad=False):
    _check_index(index, "gather")
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    _check_gather_shapes(input._data.shape, index._data.shape, d, "gather")
    _check_bounds(index._data, d, input._data.shape[d] if nd else 1)
    return Gather.apply(input, dim=d, idx=index._data)


class Scatter(Primitive):
    """``x.scatter(dim, idx, src)`` out of place; ``reduce`` 'add' accumulates duplicates."""

    def forward(self, x, src, dim, idx, reduce):
        self.dim, self.idx, self.reduce = dim, idx, reduce
        self.msrc = (src.shape, src.dtype) if type(src) is _ndarray else None
        out = x.copy()
        if idx.size == 0:
            return out
        if type(src) is _ndarray and src.ndim:
            vals = src[tuple(slice(0, s) for s in idx.shape)].astype(x.dtype, copy=False)
        else:
            vals = xp.broadcast_to(xp.asarray(src, dtype=x.dtype), idx.shape)
        if x.ndim == 0:
            grids = ()
            vals = vals.reshape(-1)[-1] if reduce is None else vals.sum()
        else:
            grids = _along_grids(idx, dim)
        if reduce is None:
            out[grids] = vals
        elif reduce in ("add", "sum"):
            xp.add.at(out, grids, vals)
        else:
            xp.multiply.at(out, grids, vals)
        return out

    def backward(self, g):
        if self.reduce not in (None, "add", "sum"):
            raise NotImplementedError("ember: backward of scatter with reduce='multiply' is "
                                      "not implemented")
        gx = g
        if self.reduce is None:
            gx = _IndexFill.apply(g, idx=_along_grids(self.idx, self.dim)
                                  if g._data.ndim else ())
        gs = None
        if self.msrc is not None:
            gs = Gather.apply(g, dim=self.dim, idx=self.idx)
            if gs._data.shape != self.msrc[0]:
                from .shape import _PadZeros
                pad = tuple((0, s - c) for s, c in zip(self.msrc[0], gs._data.shape))
                gs = _PadZeros.apply(gs, pad=pad)
            gs = grad_for(gs, self.msrc[0], self.msrc[1])
        return gx, gs

    def name(self):
        return "ScatterAddBackward0" if self.reduce in ("add", "sum") else (
            "ScatterBackward0" if isinstance(self.msrc, tuple) else "ScatterBackward1")


def _scatter(input, dim, index, src, reduce, fn):
    _check_index(index, fn)
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
    src_shape = src._data.shape if isinstance(src, Tensor) else None
    _check_gather_shapes(input._data.shape, index._data.shape, d, fn, src_shape)
    _check_bounds(index._data, d, input._data.shape[d] if nd else 1)
    if isinstance(src, Tensor) and src._data.dtype != input._data.dtype:
        if fn == "scatter_add" or src._data.ndim:
            raise RuntimeError(f"{fn}(): Expected self.dtype to be equal to src.dtype")
        src = src.item()
    return Scatter.apply(input, src, dim=d, idx=index._data, reduce=reduce)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """Out-of-place scatter (``src`` tensor or scalar ``value``)."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    return _scatter(input, dim, index, src, reduce, "scatter")


def scatter_add(input, dim, index, src):
    return _scatter(input, dim, index, src, "add", "scatter_add")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce == "sum" and include_self:
        return scatter_add(input, dim, index, src)
    raise NotImplementedError(f"ember.scatter_reduce supports reduce='sum' with "
                              f"include_self=True only (got {reduce!r}, {include_self})")


class IndexSelect(Primitive):
    def forward(self, x, dim, idx):
        self.in_shape, self.dim, self.idx = x.shape, dim, idx
        return xp.take(x, idx, axis=dim)

    def backward(self, g):
        full = (slice(None),) * self.dim + (self.idx,)
        return _AdvIndexBackward.apply(g, shape=self.in_shape, idx=full, mask_only=False)

    def name(self):
        return "IndexSelectBackward0"


def _vector_index(index, fn, n, dim=0, oob=None):
    """A 1-D int index for index_select/index_add/...; ``oob`` formats the out-of-range error
    (default: index_select's)."""
    if not isinstance(index, Tensor) or index.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index")
    if index._data.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector")
    idx = index._data.reshape(-1)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if oob is None:
            if hi >= n or lo < 0:
                raise IndexError("index out of range in self")
        else:
            allow_negative, exc, fmt = oob
            bad = hi if hi >= n else (lo if lo < (-n if allow_negative else 0) else None)
            if bad is not None:
                raise exc(fmt.format(bad=bad, dim=dim, n=n))
    return idx


def index_select(input, dim, index):
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    idx = _vector_index(index, "index_select", input._data.shape[d] if nd else 1)
    if nd == 0 and idx.size > 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                           f"{idx.size} value(s)")
    if nd == 0:
        return IndexSelect.apply(input.reshape(1), dim=0, idx=idx).reshape(())
    return IndexSelect.apply(input, dim=d, idx=idx)


class _MaskedFill(Primitive):
    def forward(self, x, mask, value):
        self.mask = mask
        return xp.where(mask, xp.asarray(value, dtype=x.dtype), x)

    def backward(self, g):
        return _MaskedFill.apply(g, mask=self.mask, value=0)

    def name(self):
        return "MaskedFillBackward0"


def _check_mask(input, mask, fn):
    if not isinstance(mask, Tensor) or mask.dtype is not _dt.bool_:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"{fn} only supports boolean masks, but got mask with dtype {got}")
    try:
        shape = xp.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        shape = None
    if shape != input._data.shape:
        _size_mismatch(input._data.shape, mask._data.shape)


def _size_mismatch(a, b):
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1 or (pa[i] == 1 and pb[i] != 1):
            raise RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b "
                               f"({pb[i]}) at non-singleton dimension {i}")
    raise RuntimeError(f"shapes {list(a)} and {list(b)} are not broadcastable")


def masked_fill(input, mask, value):
    _check_mask(input, mask, "masked_fill_")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        if value._requires_grad and STATE.enabled:
            from .elementwise import where
            return where(mask, value.to(input.dtype), input)
        value = value.item()
    return _MaskedFill.apply(input, mask=mask._data, value=value)


class MaskedSelect(Primitive):
    def forward(self, x, mask):
        self.in_shape = x.shape
        self.shape = xp.broadcast_shapes(x.shape, mask.shape)
        self.mask = xp.broadcast_to(mask, self.shape)
        return xp.broadcast_to(x, self.shape)[self.mask]

    def backward(self, g):
        full = _AdvIndexBackward.apply(g, shape=self.shape, idx=(self.mask,), mask_only=True)
        return sum_to(full, self.in_shape)

    def name(self):
        return "MaskedSelectBackward0"


def masked_select(input, mask):
    if not isinstance(mask, Tensor) or mask.dtype is not _dt.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    try:
        xp.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        _size_mismatch(input._data.shape, mask._data.shape)
    return MaskedSelect.apply(input, mask=mask._data)


def masked_scatter(input, mask, source):
    _check_mask(input, mask, "masked_scatter_")
    m = xp.broadcast_to(mask._data, input._data.shape)
    n = int(m.sum())
    if source.numel() < n:
        raise RuntimeError("masked_scatter: expected source to have at least as many elements "
                           "as ones in mask")
    src = source.reshape(-1)[:n]
    return IndexPut.apply(input, src, idx=(m,), accumulate=False, nm="MaskedScatterBackward0")


class Take(Primitive):
    def forward(self, x, idx):
        self.in_shape, self.idx = x.shape, idx
        return x.reshape(-1)[idx]

    def backward(self, g):
        flat = _AdvIndexBackward.apply(g, shape=(_numel(self.in_shape),), idx=(self.idx,),
                                       mask_only=False)
        from .shape import Reshape
        return Reshape.apply(flat, shape=self.in_shape)

    def name(self):
        return "TakeBackward0"


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def take(input, index):
    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        from .linalg import _cap
        got = _cap(index) if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {got}")
    idx = index._data
    n = input._data.size
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if hi >= n or lo < -n:
            raise IndexError(f"out of range: tried to access index {hi if hi >= n else lo} on a "
                             f"tensor of {n} elements.")
    return Take.apply(input, idx=idx)


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return take(input, indices.reshape(-1))
    d = wrap_dim(dim, input.ndim)
    shape = list(xp.broadcast_shapes(
        tuple(s if i != d else 1 for i, s in enumerate(input.shape)),
        tuple(s if i != d else 1 for i, s in enumerate(indices.shape))))
    ishape = list(shape)
    ishape[d] = indices.shape[d]
    shape[d] = input.shape[d]
    return gather(input.expand(tuple(shape)), d, indices.expand(tuple(ishape)))


def nonzero(input, *, as_tuple=False):
    a = input._data
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._wrap(xp.zeros(int(bool(a)), dtype=xp.int64)),)
        return tuple(Tensor._wrap(i.astype(xp.int64)) for i in xp.nonzero(a))
    if a.ndim == 0:
        return Tensor._wrap(xp.zeros((int(bool(a)), 0), dtype=xp.int64))
    return Tensor._wrap(xp.argwhere(a).astype(xp.int64))


def argwhere(input):
    return nonzero(input)


_OOB = {
    "index_add_": (False, RuntimeError, "index {bad} is out of bounds for dimension {dim} with "
                                        "size {n}"),
    "index_fill_": (True, IndexError, "index {bad} is out of bounds for dimension {dim} with "
                                      "size {n}"),
    "index_copy_": (False, IndexError, "index_copy_(): index {bad} is out of bounds for "
                                       "dimension {dim} with size {n}"),
}


def _index_along(input, dim, index, fn):
    d = wrap_dim(dim, input._data.ndim)
    idx = _vector_index(index, fn, input._data.shape[d] if input._data.ndim else 1, d,
                        _OOB[fn])
    return d, (slice(None),) * d + (idx,)


def _check_source(input, d, n_idx, source, fn):
    """index_add_/index_copy_: ``source`` must be self's shape with ``n_idx`` along ``d``."""
    ss, xs = source._data.shape, input._data.shape
    if not xs or ss == xs[:d] + (n_idx,) + xs[d + 1:]:
        return
    same_slices = len(ss) == len(xs) and all(a == b for k, (a, b) in enumerate(zip(ss, xs))
                                             if k != d)
    if fn == "index_copy_":
        if not same_slices:
            raise RuntimeError(
                "index_copy_(): Source/destination tensor must have same slice shapes. "
                f"Destination slice shape: {' '.join(str(v) for i, v in enumerate(xs) if i != d)}"
                f" at dimension {d} and source slice shape: "
                f"{' '.join(str(v) for i, v in enumerate(ss) if i != d)} at dimension 0.")
        raise RuntimeError(f"index_copy_(): Number of indices ({n_idx}) should be equal to "
                           f"source.size(dim) ({ss[d]})")
    if not same_slices:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(xs)} source.shape = "
                           f"{list(ss)}")
    raise RuntimeError(f"index_add_(): Number of indices ({n_idx}) should be equal to "
                       f"source.size(dim): ({ss[d]}), for dim: {d}")


def index_add(input, dim, index, source, *, alpha=1):
    d, idx = _index_along(input, dim, index, "index_add_")
    _check_source(input, d, idx[-1].shape[0], source, "index_add_")
    src = source * alpha if alpha != 1 else source
    if src._data.dtype != input._data.dtype:
        src = ToDtype.apply(src, dtype=input._data.dtype)
    return IndexPut.apply(input, src, idx=idx, accumulate=True, nm="IndexAddBackward0")


def index_fill(input, dim, index, value):
    d, idx = _index_along(input, dim, index, "index_fill_")
    mask = xp.zeros(input._data.shape[d] if input._data.ndim else 1, dtype=bool)
    mask[idx[-1]] = True
    shp = [1] * input._data.ndim
    if shp:
        shp[d] = -1
    return masked_fill(input, Tensor._wrap(mask.reshape(shp)), value)


def index_copy(input, dim, index, source):
    d, idx = _index_along(input, dim, index, "index_copy_")
    _check_source(input, d, idx[-1].shape[0], source, "index_copy_")
    return IndexPut.apply(input, source, idx=idx, accumulate=False, nm="IndexCopyBackward0")


def scatter_grad(g: Tensor, dim: int, idx, in_shape) -> Tensor:
    """``zeros(in_shape).scatter_add(dim, idx, g)`` (used by reductions' backward)."""
    return _ScatterAddZeros.apply(g, dim=dim, idx=idx, shape=tuple(in_shape))
