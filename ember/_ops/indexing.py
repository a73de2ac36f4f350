"""Indexing: ``__getitem__``/``__setitem__``, gather/scatter, index_select, masked ops, take,
nonzero, index_add, and the rebase that makes in-place ops on views differentiable.
"""
from __future__ import annotations

import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor, _leaf_inplace_check
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import wrap_dim, grad_for, as_tensor_arg

_ndarray = xp.ndarray


# ---- index parsing ---------------------------------------------------------------------------
def _convert_index(idx):
    """Turn a torch-style index into a NumPy one; returns (index, is_basic)."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    basic = True
    for i in idx:
        if isinstance(i, Tensor):
            d = i._data
            if d.dtype.kind == "f" or d.dtype.kind == "c":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if d.dtype == xp.uint8:
                d = d.astype(bool)
            if d.ndim == 0 and d.dtype != bool:
                out.append(int(d))
                continue
            out.append(d)
            basic = False
        elif isinstance(i, (list, tuple)):
            a = xp.asarray([int(v) if isinstance(v, Tensor) else v for v in i])
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.size == 0:
                a = a.astype(xp.int64)
            out.append(a)
            basic = False
        elif isinstance(i, bool) or isinstance(i, xp.bool_):
            out.append(xp.asarray(bool(i)))
            basic = False
        elif i is None or i is Ellipsis or isinstance(i, slice):
            if isinstance(i, slice) and i.step is not None and i.step <= 0:
                raise ValueError("step must be greater than zero")
            if isinstance(i, slice):
                i = slice(*(int(v) if isinstance(v, Tensor) else v for v in
                            (i.start, i.stop, i.step)))
            out.append(i)
        elif isinstance(i, numbers.Integral):
            out.append(int(i))
        else:
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                             f"Variables are valid indices (got {type(i).__name__})")
    return tuple(out), basic


def _index_error(e, shape):
    msg = str(e)
    msg = msg.replace("axis", "dimension")
    raise IndexError(msg) from None


class GetItem(Primitive):
    def forward(self, x, idx, basic):
        self.in_shape, self.idx, self.basic, self.dt = x.shape, idx, basic, x.dtype
        try:
            r = x[idx]
        except IndexError as e:
            _index_error(e, x.shape)
        return r

    def backward(self, g):
        return _IndexBackward.apply(g, shape=self.in_shape, idx=self.idx, basic=self.basic)

    def name(self):
        return "SliceBackward0" if self.basic else "IndexBackward0"


class _IndexBackward(Primitive):
    def forward(self, g, shape, idx, basic):
        self.idx, self.basic = idx, basic
        out = xp.zeros(shape, dtype=g.dtype)
        if basic:
            out[idx] = g
        else:
            xp.add.at(out, idx, g)
        return out

    def backward(self, gg):
        return GetItem.apply(gg, idx=self.idx, basic=self.basic)

    def name(self):
        return "IndexBackwardBackward0"


def getitem(self, index):
    idx, basic = _convert_index(index)
    if basic:
        from .shape import _make_view
        out = GetItem.apply(self, idx=idx, basic=True)
        return _make_view(out, self, lambda t, _i=idx: GetItem.apply(t, idx=_i, basic=True))
    return GetItem.apply(self, idx=idx, basic=False)


class IndexPut(Primitive):
    """out = x with out[idx] = v (or += v when accumulate)."""

    def forward(self, x, v, idx, accumulate):
        self.idx, self.accumulate = idx, accumulate
        self.mv = (v.shape, v.dtype) if type(v) is _ndarray else None
        out = x.copy()
        if accumulate:
            xp.add.at(out, idx, v)
        else:
            out[idx] = v
        return out

    def backward(self, g):
        gx = g
        if not self.accumulate:
            gx = _IndexFill.apply(g, idx=self.idx)
        gv = None
        if self.mv is not None:
            gv = GetItem.apply(g, idx=self.idx, basic=False)
            gv = grad_for(gv, self.mv[0], self.mv[1])
        return gx, gv

    def name(self):
        return "IndexPutBackward0"


class _IndexFill(Primitive):
    def forward(self, g, idx):
        self.idx = idx
        out = g.copy()
        out[idx] = 0
        return out

    def backward(self, gg):
        return _IndexFill.apply(gg, idx=self.idx)

    def name(self):
        return "IndexFillBackward0"


def setitem(self, index, value):
    idx, basic = _convert_index(index)
    if isinstance(value, Tensor):
        v = value
    else:
        v = value
    if STATE.enabled and (self._requires_grad or (isinstance(v, Tensor) and v._requires_grad)):
        _leaf_inplace_check(self)
        if isinstance(v, Tensor) and v._data.dtype != self._data.dtype:
            from ._util import ToDtype
            v = ToDtype.apply(v, dtype=self._data.dtype)
        try:
            res = IndexPut.apply(self, v, idx=idx, accumulate=False)
        except (IndexError, ValueError) as e:
            _setitem_error(e, self, v)
        return self._inplace_from(res)
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    try:
        self._data[idx] = v._data if isinstance(v, Tensor) else v
    except (IndexError, ValueError) as e:
        _setitem_error(e, self, v)
    self._version.v += 1


def _setitem_error(e, self, v):
    if isinstance(e, IndexError):
        _index_error(e, self.shape)
    raise RuntimeError(f"shape mismatch: value tensor of shape "
                       f"{list(v.shape) if isinstance(v, Tensor) else []} cannot be broadcast to "
                       f"indexing result ({e})") from None


# ---- in-place on views ----------------------------------------------------------------------
class _CopySlices(Primitive):
    """The base's new graph node after an in-place op through one of its views."""

    def forward(self, base, res, view_fn):
        self.view_fn = view_fn
        v = view_fn(Tensor._wrap(base))
        v._data[...] = res
        return base

    def backward(self, g):
        gb = g.clone()
        with _no_grad():
            self.view_fn(gb)._data[...] = 0
        gr = self.view_fn(g)
        return gb, gr

    def name(self):
        return "CopySlices"


def _no_grad():
    from ..autograd.grad_mode import no_grad
    return no_grad()


def inplace_on_view(view: Tensor, result: Tensor) -> Tensor:
    base = view._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if view._view_fn is None:
        raise NotImplementedError("in-place operation on this kind of view is not supported "
                                  "with autograd")
    fn = view._view_fn
    with _no_grad():
        pass
    new_base = _CopySlices.apply(base, result, view_fn=_array_view_fn(fn))
    base.grad_fn = new_base.grad_fn
    base._output_nr = 0
    base._requires_grad = True
    base._version.v += 1
    v2 = fn(base)
    view.grad_fn = v2.grad_fn
    view._output_nr = v2._output_nr
    view._requires_grad = True
    return view


def _array_view_fn(fn):
    def apply(t):
        with _no_grad():
            return fn(t)
    return apply


# ---- gather / scatter --------------------------------------------------------------------------
def _check_index(index, name):
    if not isinstance(index, Tensor) or index.dtype is not _dt.int64:
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")


def _take_along(x, dim, idx):
    n = x.shape[dim] if x.ndim else 1
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = int(idx.max() if idx.max() >= n else idx.min())
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {n}")
    if idx.shape != x.shape:
        sl = tuple(slice(0, s) for s in idx.shape)
        x = x[sl]
    return xp.take_along_axis(x, idx, axis=dim)


class Gather(Primitive):
    def forward(self, x, dim, idx):
        self.in_shape, self.dim, self.idx = x.shape, dim, idx
        if x.ndim == 0:
            return x[()] if idx.ndim == 0 else x.reshape(1)[idx]
        return _take_along(x, dim, idx)

    def backward(self, g):
        return scatter_grad(g, self.dim, self.idx, self.in_shape)

    def name(self):
        return "GatherBackward0"


class _ScatterAddZeros(Primitive):
    """zeros(shape).scatter_add_(dim, idx, g) — the gradient of gather."""

    def forward(self, g, dim, idx, shape):
        self.dim, self.idx = dim, idx
        out = xp.zeros(shape, dtype=g.dtype)
        if len(shape) == 0:
            out[()] = g.sum()
            return out
        _scatter_add_np(out, dim, idx, g)
        return out

    def backward(self, gg):
        return Gather.apply(gg, dim=self.dim, idx=self.idx)

    def name(self):
        return "ScatterAddBackward0"


def _scatter_add_np(out, dim, idx, src):
    """out[..., idx[i], ...] += src[i] along ``dim`` (duplicates accumulate)."""
    if idx.size == 0:
        return
    src = src[tuple(slice(0, s) for s in idx.shape)] if src.shape != idx.shape else src
    grids = list(xp.indices(idx.shape, sparse=True))
    grids[dim] = idx
    xp.add.at(out, tuple(grids), src)


def _scatter_np(out, dim, idx, src, reduce=None):
    if idx.size == 0:
        return
    if not isinstance(src, _ndarray) or src.ndim == 0:
        src = xp.broadcast_to(xp.asarray(src, dtype=out.dtype), idx.shape)
    elif src.shape != idx.shape:
        src = src[tuple(slice(0, s) for s in idx.shape)]
    grids = list(xp.indices(idx.shape, sparse=True))
    grids[dim] = idx
    if reduce is None:
        out[tuple(grids)] = src
    elif reduce in ("add", "sum"):
        xp.add.at(out, tuple(grids), src)
    elif reduce in ("multiply", "prod"):
        xp.multiply.at(out, tuple(grids), src)
    else:
        raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")


def scatter_grad(g: Tensor, dim: int, idx, in_shape) -> Tensor:
    return _ScatterAddZeros.apply(g, dim=dim, idx=idx, shape=tuple(in_shape))


def gather(input, dim, index, *, sparse_grad=False):
    _check_index(index, "gather")
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    if index._data.ndim != nd and not (nd == 0 and index._data.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for k in range(nd):
        if k != d and index._data.shape[k] > input._data.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{list(index.shape)} to be smaller than self "
                               f"{list(input.shape)} apart from dimension {d}")
    return Gather.apply(input, dim=d, idx=index._data)


class Scatter(Primitive):
    def forward(self, x, src, dim, idx, reduce):
        self.dim, self.idx, self.reduce = dim, idx, reduce
        self.msrc = (src.shape, src.dtype) if type(src) is _ndarray else None
        out = x.copy()
        if idx.size and (idx.max() >= x.shape[dim] or idx.min() < -x.shape[dim]):
            raise RuntimeError(f"index {int(idx.max())} is out of bounds for dimension {dim} "
                               f"with size {x.shape[dim]}")
        _scatter_np(out, dim, idx, src.astype(x.dtype, copy=False)
                    if type(src) is _ndarray else src, reduce)
        return out

    def backward(self, g):
        if self.reduce in ("add", "sum"):
            gx = g
        elif self.reduce is None:
            mask = xp.ones(g._data.shape, dtype=g._data.dtype)
            _scatter_np(mask, self.dim, self.idx, 0)
            gx = g * Tensor._wrap(mask)
        else:
            raise NotImplementedError("backward of scatter with reduce='multiply' is not "
                                      "supported")
        gs = None
        if self.msrc is not None:
            gs = Gather.apply(g, dim=self.dim, idx=self.idx)
            if gs._data.shape != self.msrc[0]:
                gs = _pad_to(gs, self.msrc[0])
        return gx, gs

    def name(self):
        return "ScatterAddBackward0" if self.reduce == "add" else "ScatterBackward0"


def _pad_to(t, shape):
    from .shape import _PadZeros
    pad = tuple((0, s - c) for s, c in zip(shape, t._data.shape))
    return _PadZeros.apply(t, pad=pad)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    _check_index(index, "scatter")
    d = wrap_dim(dim, input._data.ndim)
    if src is None:
        src = value
    return Scatter.apply(input, src, dim=d, idx=index._data, reduce=reduce)


def scatter_add(input, dim, index, src):
    _check_index(index, "scatter_add")
    d = wrap_dim(dim, input._data.ndim)
    return Scatter.apply(input, src, dim=d, idx=index._data, reduce="add")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce == "sum":
        return scatter_add(input, dim, index, src)
    raise NotImplementedError(f"scatter_reduce with reduce={reduce!r} is not supported; only "
                              "'sum'")


def index_select(input, dim, index):
    if not isinstance(index, Tensor) or index.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError("index_select(): Expected dtype int32/int64 for index")
    if index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    idx = index._data.reshape(-1)
    n = input._data.shape[d] if nd else 1
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"index out of range in self")
    if nd == 0:
        return GetItem.apply(input.reshape(1), idx=(idx,), basic=False).reshape(
            () if index._data.ndim == 0 else (-1,))
    full = (slice(None),) * d + (idx,)
    return GetItem.apply(input, idx=full, basic=False)


def masked_fill(input, mask, value):
    if not isinstance(mask, Tensor) or mask.dtype is not _dt.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.name if isinstance(mask, Tensor) else type(mask)}")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        from .elementwise import where
        return where(mask, value.to(input.dtype), input)
    return _MaskedFill.apply(input, mask=mask._data, value=value)


class _MaskedFill(Primitive):
    def forward(self, x, mask, value):
        self.mask = mask
        self.in_shape = x.shape
        try:
            out = xp.where(mask, xp.asarray(value).astype(x.dtype), x)
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({x.shape}) must match the size of tensor b "
                               f"({mask.shape})") from None
        if out.shape != x.shape:
            raise RuntimeError(f"masked_fill: mask of shape {list(mask.shape)} cannot be "
                               f"broadcast to the input of shape {list(x.shape)}")
        return out

    def backward(self, g):
        return _MaskedFill.apply(g, mask=self.mask, value=0)

    def name(self):
        return "MaskedFillBackward0"


def masked_select(input, mask):
    if mask.dtype is not _dt.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    shape = xp.broadcast_shapes(input._data.shape, mask._data.shape)
    x = input.expand(shape) if input._data.shape != shape else input
    m = xp.broadcast_to(mask._data, shape)
    return GetItem.apply(x, idx=(m,), basic=False)


def masked_scatter(input, mask, source):
    m = xp.broadcast_to(mask._data, input._data.shape)
    n = int(m.sum())
    src = source.reshape(-1)[:n]
    return IndexPut.apply(input, src, idx=(m,), accumulate=False)


def take(input, index):
    flat = input.reshape(-1)
    idx = index._data
    n = flat._data.shape[0]
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError(f"out of range: tried to access index {int(idx.max())} on a tensor of "
                         f"{n} elements.")
    return GetItem.apply(flat, idx=(idx,), basic=False)


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return take(input, indices.reshape(-1))
    return gather(input, dim, indices.expand(
        tuple(max(a, b) if i != wrap_dim(dim, input.ndim) else b
              for i, (a, b) in enumerate(zip(input.shape, indices.shape)))))


def nonzero(input, *, as_tuple=False):
    nz = xp.nonzero(input._data)
    if as_tuple:
        if input._data.ndim == 0:
            return (Tensor._wrap(xp.zeros(int(bool(input._data)), dtype=xp.int64)),)
        return tuple(Tensor._wrap(a.astype(xp.int64)) for a in nz)
    if input._data.ndim == 0:
        return Tensor._wrap(xp.zeros((int(bool(input._data)), 0), dtype=xp.int64))
    return Tensor._wrap(xp.stack(nz, axis=1).astype(xp.int64) if nz else
                        xp.zeros((0, 0), dtype=xp.int64))


def argwhere(input):
    return nonzero(input)


def index_add(input, dim, index, source, *, alpha=1):
    d = wrap_dim(dim, input._data.ndim)
    idx = (slice(None),) * d + (index._data,)
    src = source * alpha if alpha != 1 else source
    if isinstance(src, Tensor) and src._data.dtype != input._data.dtype:
        from ._util import cast_arg
        src = cast_arg(src, input.dtype)
    return IndexPut.apply(input, src, idx=idx, accumulate=True)


def index_fill(input, dim, index, value):
    d = wrap_dim(dim, input._data.ndim)
    mask = xp.zeros(input._data.shape[d], dtype=bool)
    mask[index._data] = True
    shp = [1] * input._data.ndim
    shp[d] = -1
    return masked_fill(input, Tensor._wrap(xp.broadcast_to(mask.reshape(shp),
                                                           input._data.shape)), value)


def index_copy(input, dim, index, source):
    d = wrap_dim(dim, input._data.ndim)
    idx = (slice(None),) * d + (index._data,)
    return IndexPut.apply(input, source, idx=idx, accumulate=False)


def _method_inplace(fn):
    def m(self, *a, **k):
        return self._inplace_from(fn(self, *a, **k))
    return m


__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "masked_fill",
           "masked_select", "masked_scatter", "take", "take_along_dim", "nonzero", "argwhere",
           "index_add", "index_fill", "index_copy"]
TENSOR_METHODS = {n: globals()[n] for n in __all__}
TENSOR_METHODS.update({
    "__getitem__": getitem, "__setitem__": setitem,
    "scatter_": _method_inplace(scatter), "scatter_add_": _method_inplace(scatter_add),
    "masked_fill_": _method_inplace(masked_fill), "index_add_": _method_inplace(index_add),
    "index_fill_": _method_inplace(index_fill), "index_copy_": _method_inplace(index_copy),
    "masked_scatter_": _method_inplace(masked_scatter),
    "scatter_reduce_": _method_inplace(scatter_reduce),
})
