"""Indexing: ``__getitem__``/``__setitem__``, gather/scatter, index_select, masked ops, take,
nonzero, index_add, and the rebase that makes in-place ops on views differentiable.

Index semantics follow torch, which differ from NumPy when integers and arrays are mixed:
torch applies ints, slices, None and Ellipsis first (a view), then the tensor/list indices
on that view (``x[0, :, [1, 2]]`` has shape ``(3, 2)`` for a ``(2, 3, 4)`` tensor; NumPy
gives ``(2, 3)``).
"""
from __future__ import annotations

import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor, _leaf_inplace_check
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import wrap_dim, grad_for, sum_to, ToDtype
from .shape import _View, NO_GRAD_VIEW

_ndarray = xp.ndarray
_as_strided = xp.lib.stride_tricks.as_strided
_FULL = slice(None)
_INDEX_TYPES_MSG = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                    "Variables are valid indices (got {})")


# ---- index parsing ---------------------------------------------------------------------------
class _Index:
    """A parsed torch index: a basic (view) part, then an optional advanced part."""

    __slots__ = ("basic", "adv", "nm", "trivial", "new_axes", "mask_only")

    def __init__(self, basic, adv, nm, trivial, new_axes, mask_only):
        self.basic = basic          # NumPy basic index (ints, slices, None) applied first
        self.adv = adv              # NumPy advanced index applied to that view, or None
        self.nm = nm                # torch's grad_fn name for the basic part
        self.trivial = trivial      # the basic part selects everything (no view needed)
        self.new_axes = new_axes    # set when None/bools insert axes: to give torch's strides
        self.mask_only = mask_only  # the advanced part is a single boolean mask


def _seq_as_tuple(seq) -> bool:
    """torch treats a short list holding slices, None, Ellipsis, tensors or sequences as a
    tuple of indices (``x[[0, slice(None)]]``), otherwise as one index tensor."""
    if len(seq) >= 32:
        return False
    return any(isinstance(v, (Tensor, list, tuple, slice)) or v is None or v is Ellipsis
               for v in seq)


def _int_of(v):
    if isinstance(v, Tensor):
        return int(v)
    return v


def _array_index(i):
    """An index tensor/list/array as a NumPy int64 or bool array."""
    if isinstance(i, Tensor):
        d = i._data
        if d.dtype.kind in "fc":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    elif isinstance(i, _ndarray):
        d = i
        if d.dtype.kind in "fc":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    else:
        try:
            d = xp.asarray([_unwrap(v) for v in i])
        except (ValueError, TypeError):
            raise IndexError(_INDEX_TYPES_MSG.format(type(i).__name__)) from None
        if d.dtype.kind == "f":
            d = d.astype(xp.int64)   # torch truncates float entries of a list index
        elif d.size == 0 or d.dtype.kind not in "biu":
            if d.size and d.dtype.kind not in "biu":
                raise IndexError(_INDEX_TYPES_MSG.format(type(i).__name__))
            d = d.astype(xp.int64)
    if d.dtype == xp.uint8:
        d = d.astype(bool)
    return d


def _unwrap(v):
    if isinstance(v, Tensor):
        return v._data
    if isinstance(v, (list, tuple)):
        return [_unwrap(u) for u in v]
    return v


def parse_index(index, shape) -> _Index:
    if type(index) is tuple:
        items = index
    elif isinstance(index, list) and _seq_as_tuple(index):
        items = tuple(index)
    else:
        items = (index,)
    ndim = len(shape)
    conv = []
    consumed = 0
    for i in items:
        t = type(i)
        if t is int:                                    # the common cases first, by type
            conv.append((3, i))
            consumed += 1
        elif t is slice and (i.step is None or type(i.step) is int and i.step > 0) \
                and type(i.start) is not Tensor and type(i.stop) is not Tensor:
            conv.append((4, i))
            consumed += 1
        elif i is None:
            conv.append((0, None))
        elif i is Ellipsis:
            conv.append((1, None))
        elif isinstance(i, (bool, xp.bool_)):
            conv.append((2, bool(i)))
        elif isinstance(i, numbers.Integral):
            conv.append((3, int(i)))
            consumed += 1
        elif isinstance(i, slice):
            if i.step is not None and _int_of(i.step) <= 0:
                raise ValueError("step must be greater than zero")
            conv.append((4, slice(_int_of(i.start), _int_of(i.stop), _int_of(i.step))))
            consumed += 1
        elif isinstance(i, Tensor) and i._data.ndim == 0 and i._data.dtype.kind in "iu" \
                and i._data.dtype != xp.uint8:
            conv.append((3, int(i._data)))
            consumed += 1
        elif isinstance(i, (Tensor, list, tuple, _ndarray, range)):
            a = _array_index(i)
            if a.dtype == bool:
                if a.ndim == 0:
                    conv.append((2, bool(a)))
                    continue
                conv.append((6, a))
                consumed += a.ndim
            else:
                conv.append((5, a))
                consumed += 1
        elif isinstance(i, (str, bytes)):
            raise TypeError(f"new(): invalid data type '{type(i).__name__}'")
        else:
            raise IndexError(_INDEX_TYPES_MSG.format(type(i).__name__))
    if consumed > ndim:
        if ndim == 0:
            if conv[0][0] == 4:
                raise IndexError("slice() cannot be applied to a 0-dim tensor.")
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    single = len(items) == 1 and type(index) is not tuple
    basic, adv_pos = [], []
    odim = vdim = 0
    nm = None
    inserts = False
    ellipsis_seen = False
    for kind, v in conv:
        if kind == 3:                                   # int: select
            n = shape[odim]
            if v < -n or v >= n:
                raise IndexError(f"index {v} is out of bounds for dimension {odim} with size {n}")
            basic.append(v)
            odim += 1
            nm = "SelectBackward0"
        elif kind == 4:                                 # slice
            basic.append(v)
            if single or v != _FULL:
                nm = "SliceBackward0"
            odim += 1
            vdim += 1
        elif kind == 0:                                 # None: unsqueeze
            basic.append(None)
            inserts = True
            nm = "UnsqueezeBackward0"
            vdim += 1
        elif kind == 1:                                 # Ellipsis
            if ellipsis_seen:
                continue
            ellipsis_seen = True
            k = ndim - consumed
            basic.extend([_FULL] * k)
            odim += k
            vdim += k
        elif kind == 2:                                 # Python bool: new axis indexed by [0]/[]
            basic.append(None)
            inserts = True
            adv_pos.append((vdim, xp.zeros(1 if v else 0, dtype=xp.int64)))
            vdim += 1
        elif kind == 5:                                 # integer array
            n = shape[odim]
            if v.size:
                hi, lo = int(v.max()), int(v.min())
                if hi >= n or lo < -n:
                    k = sum(a.ndim if a.dtype == bool else 1 for _, a in adv_pos)
                    raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for "
                                     f"dimension {k} with size {n}")
            basic.append(_FULL)
            adv_pos.append((vdim, v))
            odim += 1
            vdim += 1
        else:                                           # boolean mask over v.ndim dims
            k = v.ndim
            if v.shape != tuple(shape[odim:odim + k]):
                for j in range(k):
                    if v.shape[j] != shape[odim + j]:
                        raise IndexError(
                            f"The shape of the mask {list(v.shape)} at index {j} does not match "
                            f"the shape of the indexed tensor {list(shape)} at index {odim + j}")
            basic.extend([_FULL] * k)
            adv_pos.append((vdim, v))
            odim += k
            vdim += k
    trivial = all(b is _FULL or b == _FULL for b in basic)
    basic.append(Ellipsis)         # so that NumPy returns a 0-d view, never a scalar copy
    if nm is None:
        nm = "AliasBackward0"
    adv = None
    mask_only = False
    if adv_pos:
        adv, cur = [], 0
        for pos, a in adv_pos:
            adv.extend([_FULL] * (pos - cur))
            adv.append(a)
            cur = pos + (a.ndim if a.dtype == bool else 1)
        adv = tuple(adv)
        mask_only = len(adv_pos) == 1 and adv_pos[0][1].dtype == bool
    new_axes = (tuple(conv), ndim - consumed) if inserts else None
    return _Index(tuple(basic), adv, nm, trivial, new_axes, mask_only)


def _torch_strides(conv, ell, shape, strides, itemsize):
    """Byte strides torch gives a basic view; they differ from NumPy's only on new axes
    (NumPy: 0; torch: size * stride of the axis the new one lands before, else 1)."""
    sizes, st = list(shape), list(strides)
    cur = 0
    for kind, v in conv:
        if kind == 1 and ell < 0:
            continue                      # a repeated Ellipsis selects nothing more
        if kind == 3:
            del sizes[cur], st[cur]
        elif kind == 4:
            start, stop, step = v.indices(sizes[cur])
            sizes[cur] = len(range(start, stop, step))
            st[cur] *= step
            cur += 1
        elif kind in (0, 2):
            st.insert(cur, sizes[cur] * st[cur] if cur < len(sizes) else itemsize)
            sizes.insert(cur, 1)
            cur += 1
        elif kind == 1:
            cur += ell
            ell = -1
        elif kind == 5:
            cur += 1
        else:
            cur += v.ndim
    return tuple(st)


def _index_error(e):
    raise IndexError(str(e).replace("axis", "dimension")) from None


# ---- __getitem__ -------------------------------------------------------------------------------
class BasicIndex(_View):
    """A view by ints, slices and None (``nm`` is torch's name for it)."""

    def forward(self, x, idx, nm, new_axes=None):
        self.in_shape, self.idx, self.nm = x.shape, idx, nm
        r = x[idx]
        if new_axes is not None and r.size:
            if x.flags.c_contiguous and all(k < 2 or k == 4 and v == _FULL
                                            for k, v in new_axes[0]):
                return x.reshape(r.shape)   # only axes inserted: contiguous strides are torch's
            r = _as_strided(r, r.shape, _torch_strides(*new_axes, x.shape, x.strides,
                                                        x.itemsize))
        return r

    def backward(self, g):
        return _BasicIndexBackward.apply(g, shape=self.in_shape, idx=self.idx, nm=self.nm)

    def name(self):
        return self.nm


class _BasicIndexBackward(Primitive):
    def forward(self, g, shape, idx, nm):
        self.idx, self.nm = idx, nm
        out = xp.zeros(shape, dtype=g.dtype)
        out[idx] = g
        return out

    def backward(self, gg):
        return BasicIndex.apply(gg, idx=self.idx, nm=self.nm)

    def name(self):
        return self.nm.replace("Backward0", "BackwardBackward0")


class AdvIndex(Primitive):
    """Advanced (tensor/list/mask) indexing: a copy; backward accumulates duplicates."""

    def forward(self, x, idx, mask_only=False):
        self.in_shape, self.idx, self.mask_only = x.shape, idx, mask_only
        try:
            return x[idx]
        except IndexError as e:
            _index_error(e)

    def backward(self, g):
        return _AdvIndexBackward.apply(g, shape=self.in_shape, idx=self.idx,
                                       mask_only=self.mask_only)

    def name(self):
        return "IndexBackward0"


class _AdvIndexBackward(Primitive):
    def forward(self, g, shape, idx, mask_only):
        self.idx, self.mask_only = idx, mask_only
        out = xp.zeros(shape, dtype=g.dtype)
        if mask_only:
            out[idx] = g          # a mask selects each element once
        else:
            xp.add.at(out, idx, g)
        return out

    def backward(self, gg):
        return AdvIndex.apply(gg, idx=self.idx, mask_only=self.mask_only)

    def name(self):
        return "IndexPutBackward0"


def getitem(self, index):
    """``tensor[index]`` with torch's rules: a view for ints/slices/None/Ellipsis, a copy
    (with accumulating gradient) once a tensor, list or mask is involved."""
    ix = parse_index(index, self._data.shape)
    if ix.adv is None:
        return BasicIndex.view_apply(self, idx=ix.basic, nm=ix.nm, new_axes=ix.new_axes)
    x = self if ix.trivial else BasicIndex.view_apply(self, idx=ix.basic, nm=ix.nm,
                                                      new_axes=ix.new_axes)
    return AdvIndex.apply(x, idx=ix.adv, mask_only=ix.mask_only)


# ---- __setitem__ -------------------------------------------------------------------------------
class IndexPut(Primitive):
    """``out = x`` with ``out[idx] = v`` (or ``+= v`` when ``accumulate``)."""

    def forward(self, x, v, idx, accumulate, nm="IndexPutBackward0"):
        self.idx, self.accumulate, self.nm = idx, accumulate, nm
        self.mv = (v.shape, v.dtype) if type(v) is _ndarray else None
        out = x.copy()
        try:
            if accumulate:
                xp.add.at(out, idx, v)
            else:
                out[idx] = v
        except IndexError as e:
            _index_error(e)
        except ValueError:
            target = out[idx].shape
            raise RuntimeError(f"shape mismatch: value tensor of shape "
                               f"{list(self.mv[0]) if self.mv else []} cannot be broadcast to "
                               f"indexing result of shape {list(target)}") from None
        return out

    def backward(self, g):
        gx = g if self.accumulate else _IndexFill.apply(g, idx=self.idx)
        gv = None
        if self.mv is not None:
            gv = AdvIndex.apply(g, idx=self.idx)
            gv = grad_for(gv, self.mv[0], self.mv[1])
        return gx, gv

    def name(self):
        return self.nm


class _IndexFill(Primitive):
    """``g`` with ``g[idx] = 0``: the gradient of positions that were overwritten."""

    def forward(self, g, idx):
        self.idx = idx
        out = g.copy()
        out[idx] = 0
        return out

    def backward(self, gg):
        return _IndexFill.apply(gg, idx=self.idx)

    def name(self):
        return "IndexFillBackward0"


class CopyInto(Primitive):
    """The value ``src`` written over ``dst`` (``dst.copy_(src)``): ``dst`` gets no gradient,
    ``src`` gets the gradient summed over broadcasting."""

    def forward(self, dst, src):
        self.dst_meta = (dst.shape, dst.dtype)
        self.src_meta = (src.shape, src.dtype) if type(src) is _ndarray else None
        src = xp.asarray(src)
        if src.ndim > dst.ndim:            # torch drops leading size-1 dims of the value
            lead = src.ndim - dst.ndim
            if all(s == 1 for s in src.shape[:lead]):
                src = src.reshape(src.shape[lead:])
        try:
            out = xp.broadcast_to(src, dst.shape)
        except ValueError:
            _expand_error(src.shape, dst.shape, src.dtype)
        return out.astype(dst.dtype, copy=False)

    def backward(self, g):
        gd = Tensor._wrap(xp.zeros(*self.dst_meta)) if self.needs_input_grad[0] else None
        if self.src_meta is None:
            return gd, None
        return gd, grad_for(g, self.src_meta[0], self.src_meta[1])

    def name(self):
        return "CopyBackwards"


def _expand_error(src, dst, npd):
    if len(src) > len(dst):
        from .creation import _NAME_OF
        legacy = _NAME_OF.get(_dt.from_numpy_dtype(npd), "torch.Tensor")
        raise RuntimeError(f"expand({legacy}{{{list(src)}}}, size={list(dst)}): the "
                           f"number of sizes provided ({len(dst)}) must be greater or equal to "
                           f"the number of dimensions in the tensor ({len(src)})") from None
    lead = len(dst) - len(src)
    for i, s in enumerate(src):
        if s != 1 and s != dst[lead + i]:
            raise RuntimeError(f"The expanded size of the tensor ({dst[lead + i]}) must match the "
                               f"existing size ({s}) at non-singleton dimension {lead + i}.  "
                               f"Target sizes: {list(dst)}.  Tensor sizes: {list(src)}") from None
    raise RuntimeError(f"cannot broadcast {list(src)} to {list(dst)}") from None


_OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location. Please clone() the tensor before performing the "
                "operation.")


def _value_array(value, npd):
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, (numbers.Number, xp.generic)):
        return value
    from .creation import _array_from_data
    return _array_from_data(value, _dt.from_numpy_dtype(npd))


def setitem(self, index, value):
    """``tensor[index] = value`` in place, with torch's semantics: ints/slices write through a
    view (the graph records ``CopySlices``), tensor/list/mask indices use ``index_put_``."""
    if isinstance(value, (list, tuple, _ndarray)):
        kind = "numpy.ndarray" if isinstance(value, _ndarray) else type(value).__name__
        from .creation import _NAME_OF
        raise TypeError(f"can't assign a {kind} to a {_NAME_OF.get(self.dtype, 'Tensor')}")
    ix = parse_index(index, self._data.shape)
    if STATE.enabled and (self._requires_grad or (isinstance(value, Tensor)
                                                   and value._requires_grad)):
        return _setitem_graph(self, ix, value)
    a = self._data if ix.trivial else self._data[ix.basic]
    if not a.flags.writeable:
        raise RuntimeError(_OVERLAP_MSG)
    v = _value_array(value, a.dtype)
    if ix.adv is None:
        try:
            _copy_array(a, v)
        except ValueError:
            _expand_error(xp.shape(v), a.shape, xp.asarray(v).dtype)
    else:
        try:
            a[ix.adv] = v
        except IndexError as e:
            _index_error(e)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(xp.shape(v))} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{list(a[ix.adv].shape)}") from None
    self._version.v += 1


def _copy_array(dst, src):
    src = xp.asarray(src)
    if src.ndim > dst.ndim:
        lead = src.ndim - dst.ndim
        if all(s == 1 for s in src.shape[:lead]):
            src = src.reshape(src.shape[lead:])
    dst[...] = src


def _setitem_graph(self, ix, value):
    if not isinstance(value, Tensor):
        value = Tensor._wrap(xp.asarray(_value_array(value, self._data.dtype),
                                        dtype=self._data.dtype))
    elif value._data.dtype != self._data.dtype:
        value = ToDtype.apply(value, dtype=self._data.dtype)
    # torch skips full slices: x[...] = v, x[:, :] = v write to x itself, not to a view
    target = self if ix.trivial else \
        BasicIndex.view_apply(self, idx=ix.basic, nm=ix.nm, new_axes=ix.new_axes)
    if ix.adv is None:
        res = CopyInto.apply(target, value)
    else:
        _leaf_inplace_check(target)
        res = IndexPut.apply(target, value, idx=ix.adv, accumulate=False)
    target._inplace_from(res)


# ---- in-place on views ----------------------------------------------------------------------
class CopySlices(Primitive):
    """The base's new graph node after an in-place op through one of its views (torch's
    ``CopySlices``): the base's gradient, with the view's region zeroed, flows to the base's
    old node; the region itself flows to the in-place op's node."""

    def forward(self, base, res, dst, info, res_meta):
        self.info, self.res_meta, self.base_shape = info, res_meta, base.shape
        dst[...] = res
        return base

    def backward(self, g):
        info = self.info
        gb = _ZeroRegion.apply(g, info=info) if self._edges[0][0] is not None else None
        gr = None
        if self._edges[1][0] is not None:
            gr = info.replay(g)
            shape, npd = self.res_meta
            gr = grad_for(gr, shape, npd)
        return gb, gr

    def name(self):
        return "CopySlices"


class _ZeroRegion(Primitive):
    """``g`` with the elements of a view (given by its replayable ``ViewInfo``) zeroed."""

    def forward(self, g, info):
        self.info = info
        out = xp.array(g, copy=True, order="C")
        flat = Tensor._wrap(xp.arange(g.size).reshape(g.shape))
        prev = STATE.enabled
        STATE.enabled = False
        try:
            where = info.replay(flat)._data
        finally:
            STATE.enabled = prev
        out.reshape(-1)[where] = 0
        return out

    def backward(self, gg):
        return _ZeroRegion.apply(gg, info=self.info)

    def name(self):
        return "CopySlicesBackward0"


def _view_rebase_check(view: Tensor) -> None:
    """torch's refusals for in-place ops on special views (run with grad mode on)."""
    info = view._view_fn
    kind = info.kind if info is not None else None
    if kind == NO_GRAD_VIEW:
        raise RuntimeError(
            "A view was created in no_grad mode and is being modified inplace with grad mode "
            "enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
            "You can clarify your code by moving both the view and the inplace either both "
            "inside the no_grad block (if you don't want the inplace to be tracked) or both "
            "outside (if you want the inplace to be tracked).")
    if kind is not None:
        raise RuntimeError(
            f"Output {info.out_nr} of {kind} is a view and is being modified inplace. This view "
            "is the output of a function that returns multiple views. Such functions do not "
            "allow the output views to be modified inplace. You should replace the inplace "
            "operation by an out-of-place one.")


def inplace_on_view(view: Tensor, result: Tensor) -> Tensor:
    """Write ``result`` into ``view`` and rebase the graph (called by ``_inplace_from`` when
    the view's base or the result requires grad): the base gets a ``CopySlices`` node, the
    view a ``grad_fn`` replayed from it."""
    base = view._base
    info = view._view_fn
    if info is None:
        raise NotImplementedError("in-place operation on this kind of view is not supported "
                                  "with autograd")
    _view_rebase_check(view)
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    new_base = CopySlices.apply(base, result, dst=view._data, info=info,
                                res_meta=(result._data.shape, result._data.dtype))
    base.grad_fn = new_base.grad_fn
    base._output_nr = 0
    base._requires_grad = True
    base._version.v += 1
    info.refresh(view)
    return view


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


def _method_inplace(fn):
    def m(self, *a, **k):
        return self._inplace_from(fn(self, *a, **k))
    m.__name__ = fn.__name__ + "_"
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


def scatter_grad(g: Tensor, dim: int, idx, in_shape) -> Tensor:
    """``zeros(in_shape).scatter_add(dim, idx, g)`` (used by reductions' backward)."""
    return _ScatterAddZeros.apply(g, dim=dim, idx=idx, shape=tuple(in_shape))
