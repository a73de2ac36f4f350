"""Subscripting: torch's index parsing, ``__getitem__``/``__setitem__``, and the rebase that
makes in-place ops on views differentiable (``CopySlices``, ``inplace_on_view``).

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
from ._util import grad_for, ToDtype
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
    oob = None                     # a deferred out-of-bounds IndexError
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
                    err = IndexError(f"index {hi if hi >= n else lo} is out of bounds for "
                                     f"dimension {k} with size {n}")
                    if n == 0:
                        raise err
                    # torch checks bounds only when the result has elements: decided below
                    oob = oob or err
                    v = xp.clip(v, -n, n - 1)
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
    if oob is not None:
        # an out-of-range index array raises only if the result would have elements
        # (torch indexes an empty result without looking at the index values)
        probe = xp.broadcast_to(xp.zeros((), bool), shape)[tuple(basic)]
        if adv is not None:
            probe = probe[adv]
        if probe.size:
            raise oob
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
