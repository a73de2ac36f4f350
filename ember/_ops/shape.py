"""Shape and view ops: view/reshape, permute/transpose, squeeze/unsqueeze, expand, cat/stack,
split/chunk, flip/roll, tril/triu... Views share memory and the version counter with their
base, as in torch.

How views work with autograd (torch's semantics):

* Every view records its root ``_base`` and a ``ViewInfo``: the chain of view primitives that
  rebuilds it from the base, the base version at which its ``grad_fn`` was made, and how it
  was created (normally, under no_grad, or as one of several outputs of split/unbind).
* An in-place op on a view rewrites the base's ``grad_fn`` (``CopySlices``, in
  ``indexing.inplace_on_view``) and replays the chain on the base for the view's new
  ``grad_fn``.
* Any other view of the same base whose version is stale gets its ``grad_fn`` replayed the
  same way the next time it enters the graph (``ViewInfo.refresh``, called from
  ``autograd.function._edge``), so gradients follow the base's current value.
"""
from __future__ import annotations

import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor, _leaf_inplace_check
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import wrap_dim, normalize_dims, parse_size, SumToSize

_as_strided = xp.lib.stride_tricks.as_strided

NO_GRAD_VIEW = "no_grad"


class ViewInfo:
    """How a view was made from its root base (see the module docstring)."""

    __slots__ = ("fns", "version", "kind", "out_nr")

    def __init__(self, fns, version, kind=None, out_nr=0):
        self.fns = fns          # ((primitive class, params), ...) from the root base
        self.version = version  # base version the view's grad_fn reflects
        self.kind = kind        # None, NO_GRAD_VIEW or the name of a multi-view function
        self.out_nr = out_nr

    def replay(self, t: Tensor) -> Tensor:
        """Rebuild the view (and its graph) from the root base ``t``."""
        for cls, params in self.fns:
            t = cls.apply(t, **params)
        return t

    def refresh(self, view: Tensor) -> None:
        """Re-derive ``view.grad_fn`` from its base after an in-place op changed the base."""
        self.version = view._version.v
        base = view._base
        if self.kind == NO_GRAD_VIEW or not base._requires_grad:
            return
        prev = STATE.enabled
        STATE.enabled = True
        try:
            v2 = self.replay(base)
        finally:
            STATE.enabled = prev
        view.grad_fn = v2.grad_fn
        view._output_nr = v2._output_nr
        view._requires_grad = True


def _make_view(out: Tensor, base: Tensor, cls, params, kind=None, out_nr=0) -> Tensor:
    """Mark ``out`` as a view of ``base``: shared version counter and a replayable chain."""
    info = base._view_fn
    if base._base is not None and info is not None:
        root, fns = base._base, info.fns + ((cls, params),)
        if kind is None:
            kind = info.kind
    else:
        root, fns = base, ((cls, params),)
    if not STATE.enabled and base._requires_grad:
        # torch: a view made under no_grad of a tensor that requires grad still reports
        # requires_grad=True (it is a leaf), and may not be modified in place with grad on
        kind = NO_GRAD_VIEW
        out._requires_grad = True
    out._base = root
    out._version = base._version
    out._view_fn = ViewInfo(fns, base._version.v, kind, out_nr)
    return out


class _View(Primitive):
    """Base for view primitives: the output shares memory with the input."""

    @classmethod
    def view_apply(cls, x: Tensor, **params) -> Tensor:
        return _make_view(cls.apply(x, **params), x, cls, params)


# ---- reshaping ---------------------------------------------------------------------------------
class Reshape(_View):
    """Reshape without copying (``view``); ``nm`` is the torch node name to report."""

    def forward(self, x, shape, nm="ViewBackward0"):
        self.in_shape, self.nm = x.shape, nm
        return x.reshape(shape)

    def backward(self, g):
        return Reshape.apply(g, shape=self.in_shape)

    def name(self):
        return self.nm


class _ReshapeCopy(Primitive):
    """``reshape`` of a tensor whose strides do not allow a view: one copy."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        return xp.reshape(x, shape)

    def backward(self, g):
        return reshape(g, self.in_shape)

    def name(self):
        return "UnsafeViewBackward0"


def _infer_shape(shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    if neg:
        known = 1
        for i, s in enumerate(shape):
            if i != neg[0]:
                known *= s
        if known == 0:
            if numel == 0:
                raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {shape} "
                                   "because the unspecified dimension size -1 can be any value "
                                   "and is ambiguous")
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        if numel % known:
            raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    n = 1
    for s in shape:
        n *= s
    if n != numel:
        raise RuntimeError(f"shape '{shape}' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(args, fn="view"):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(f"{fn}(): argument 'size' (position 1) must be tuple of ints, but "
                            f"found element of type {type(s).__name__}")
        out.append(int(s))
    return tuple(out)


def _viewable(a, shape) -> bool:
    if a.flags.c_contiguous:
        return True
    try:
        v = a.view()
        v.shape = shape    # raises if a copy would be needed
        return True
    except AttributeError:
        return False


def view(input, *shape):
    """View with a new shape (``-1`` inferred); refuses strides that need a copy."""
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return _view_dtype(input, shape[0])
    shape = _infer_shape(_shape_args(shape), input._data.size)
    if not _viewable(input._data, shape):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return Reshape.view_apply(input, shape=shape)


def _view_dtype(input, d):
    a = input._data
    if a.itemsize != d.itemsize and a.ndim and a.strides[-1] != a.itemsize:
        raise RuntimeError("self.stride(-1) must be 1 to view " + str(input.dtype) + " as "
                           + str(d) + " (different element sizes), but got "
                           + str(input.stride(-1)))
    if input._requires_grad and STATE.enabled:
        raise NotImplementedError("ember: view(dtype) is not differentiable; detach() first")
    return Tensor._wrap(a.view(d.np))


def reshape(input, *shape):
    """A view when the strides allow it, otherwise one copy (torch's rule)."""
    shape = _infer_shape(_shape_args(shape, "reshape"), input._data.size)
    if _viewable(input._data, shape):
        return Reshape.view_apply(input, shape=shape)
    return _ReshapeCopy.apply(input, shape=shape)


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim=0, end_dim=-1):
    nd = input._data.ndim
    if nd == 0:
        return reshape(input, 1)
    s = wrap_dim(start_dim, nd)
    e = wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    shp = input._data.shape
    n = 1
    for d in shp[s:e + 1]:
        n *= d
    return reshape(input, shp[:s] + (n,) + shp[e + 1:])


def unflatten(input, dim, sizes):
    d = wrap_dim(dim, input._data.ndim)
    shp = input._data.shape
    sizes = list(_shape_args((sizes,), "unflatten"))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in sizes:
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        if known == 0 or shp[d] % known:
            raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the "
                               f"size of dim {dim} ({shp[d]}) in the input tensor")
        sizes[sizes.index(-1)] = shp[d] // known
    n = 1
    for s in sizes:
        n *= s
    if n != shp[d]:
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the "
                           f"size of dim {dim} ({shp[d]}) in the input tensor")
    return reshape(input, shp[:d] + tuple(sizes) + shp[d + 1:])


# ---- reordering axes ---------------------------------------------------------------------------
class Permute(_View):
    def forward(self, x, dims):
        self.dims = dims
        return x.transpose(dims)

    def backward(self, g):
        inv = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inv[d] = i
        return Permute.apply(g, dims=tuple(inv))

    def name(self):
        return "PermuteBackward0"


class Transpose(_View):
    def forward(self, x, d0, d1, nm="TransposeBackward0"):
        self.d0, self.d1, self.nm = d0, d1, nm
        return xp.swapaxes(x, d0, d1) if x.ndim else x.view()

    def backward(self, g):
        return Transpose.apply(g, d0=self.d0, d1=self.d1)

    def name(self):
        return self.nm


def permute(input, *dims):
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.view_apply(input, dims=dims)


def transpose(input, dim0, dim1, *, _nm="TransposeBackward0"):
    nd = input._data.ndim
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    return Transpose.view_apply(input, d0=d0, d1=d1, nm=_nm)


swapaxes = swapdims = transpose


def t(input, *, _nm="TBackward0"):
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return Transpose.view_apply(input, d0=0, d1=nd - 1 if nd else 0, nm=_nm)


def _T(self):
    nd = self._data.ndim
    return permute(self, tuple(range(nd - 1, -1, -1)))


def _mT(self):
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


def movedim(input, source, destination):
    nd = input._data.ndim
    if isinstance(source, numbers.Integral) != isinstance(destination, numbers.Integral):
        raise TypeError(f"movedim() received an invalid combination of arguments - got "
                        f"({type(source).__name__}, {type(destination).__name__}), but expected "
                        "(int source, int destination) or (tuple of ints source, tuple of ints "
                        "destination)")
    src = [source] if isinstance(source, numbers.Integral) else list(source)
    dst = [destination] if isinstance(destination, numbers.Integral) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src = [wrap_dim(s, nd) for s in src]
    dst = [wrap_dim(s, nd) for s in dst]
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({src})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({dst})")
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


# ---- adding and removing axes -----------------------------------------------------------------
class Squeeze(_View):
    def forward(self, x, axes, nm):
        self.in_shape, self.nm = x.shape, nm
        return xp.squeeze(x, axis=axes) if axes else x.view()

    def backward(self, g):
        return Reshape.apply(g, shape=self.in_shape)

    def name(self):
        return self.nm


class Unsqueeze(_View):
    def forward(self, x, dim, nm="UnsqueezeBackward0"):
        self.dim, self.nm = dim, nm
        shape = x.shape[:dim] + (1,) + x.shape[dim:]
        if x.flags.c_contiguous:
            return x.reshape(shape)
        # torch's stride for the new axis: size * stride of the axis it lands before
        st = x.strides[dim] * x.shape[dim] if dim < x.ndim else x.itemsize
        return _as_strided(x, shape, x.strides[:dim] + (st,) + x.strides[dim:])

    def backward(self, g):
        return Squeeze.apply(g, axes=(self.dim,), nm="SqueezeBackward1")

    def name(self):
        return self.nm


def squeeze(input, dim=None, *, _inplace=False):
    shp = input._data.shape
    nd = len(shp)
    if dim is None:
        axes, nm = tuple(i for i, s in enumerate(shp) if s == 1), "SqueezeBackward0"
    else:
        if isinstance(dim, (tuple, list)):
            dims, nm = normalize_dims(dim, nd), "SqueezeBackward2"
        else:
            dims, nm = (wrap_dim(dim, nd),), "SqueezeBackward1"
        axes = tuple(d for d in dims if nd and shp[d] == 1)
    if _inplace:   # squeeze_: SqueezeBackward3/4/5
        nm = nm[:-1] + str(int(nm[-1]) + 3)
    return Squeeze.view_apply(input, axes=axes, nm=nm)


def unsqueeze(input, dim, *, _nm="UnsqueezeBackward0"):
    d = wrap_dim(dim, input._data.ndim + 1)
    return Unsqueeze.view_apply(input, dim=d, nm=_nm)


# ---- broadcasting and tiling -------------------------------------------------------------------
class Expand(_View):
    def forward(self, x, shape):
        self.in_shape = x.shape
        if shape == x.shape:
            return x.view()
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return SumToSize.apply(g, shape=self.in_shape)

    def name(self):
        return "ExpandBackward0"


def _legacy_type(t):
    from .creation import _NAME_OF
    return _NAME_OF.get(t.dtype, "torch.Tensor")


def expand(input, *sizes):
    sizes = _shape_args(sizes, "expand")
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand({_legacy_type(input)}{{{list(shp)}}}, size={list(sizes)}): the number of "
            f"sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions "
            f"in the tensor ({len(shp)})")
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(s)
            continue
        cur = shp[i - lead]
        if s == -1:
            out.append(cur)
        elif cur == s or (cur == 1 and s >= 0):
            out.append(s)
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({cur}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(sizes)}.  Tensor sizes: {list(shp)}")
    return Expand.view_apply(input, shape=tuple(out))


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, shape)


def broadcast_tensors(*tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    from .._tensor import Size
    shapes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    try:
        return Size(xp.broadcast_shapes(*shapes))
    except ValueError:
        n = max(len(s) for s in shapes)
        padded = [(1,) * (n - len(s)) + s for s in shapes]
        for i in range(n):
            sizes = {s[i] for s in padded if s[i] != 1}
            if len(sizes) > 1:
                a, b = sorted(sizes)[:2]
                raise RuntimeError(f"shape mismatch: objects cannot be broadcast to a single "
                                   f"shape.  Mismatch is between arg 0 and arg 1 at dim {i}: "
                                   f"{a} vs {b}") from None
        raise


class Clone(Primitive):
    """Copy; ``order='K'`` keeps the input's memory layout as torch's preserve_format does."""

    def forward(self, x, order="K"):
        return xp.array(x, copy=True, order=order)

    def backward(self, g):
        return g

    def name(self):
        return "CloneBackward0"


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return Clone.apply(input, order="C")


def clone(input, *, memory_format=None):
    return Clone.apply(input, order="C" if _is_contiguous_format(memory_format) else "K")


def _is_contiguous_format(fmt) -> bool:
    return fmt is not None and "contiguous" in str(fmt)


# ---- joining -----------------------------------------------------------------------------------
def _is_legacy_empty(a) -> bool:
    return a.ndim == 1 and a.shape[0] == 0


class Cat(Primitive):
    def forward(self, *xs, dim, npd):
        self.dim = dim
        self.metas = [(x.shape, x.dtype) for x in xs]
        arrs = [x for x in xs if not _is_legacy_empty(x)] or list(xs)
        if len(arrs) == 1:
            return arrs[0].astype(npd, copy=True)
        return xp.concatenate(arrs, axis=dim, dtype=npd)

    def backward(self, g):
        out = []
        start = 0
        for shape, dt in self.metas:
            if len(shape) == 1 and shape[0] == 0 and g._data.ndim != 1:
                out.append(_zeros((0,), dt))     # a skipped legacy empty input
                continue
            n = shape[self.dim]
            piece = Narrow.apply(g, dim=self.dim, start=start, length=n)
            if piece._data.dtype != dt:
                from ._util import ToDtype
                piece = ToDtype.apply(piece, dtype=dt)
            out.append(piece)
            start += n
        return tuple(out)

    def name(self):
        return "CatBackward0"


def _tensor_list(tensors, fn):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    for i, tt in enumerate(tensors):
        if not isinstance(tt, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(tt).__name__}")
    return tensors


def cat(tensors, dim=0, *, out=None):
    """Concatenate along ``dim``, promoting dtypes; legacy 1-D empty tensors are skipped."""
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    ref = next((x for x in tensors if not _is_legacy_empty(x._data)), tensors[0])
    nd = ref._data.ndim
    for i, x in enumerate(tensors):
        if x._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    d = wrap_dim(dim, nd)
    for i, x in enumerate(tensors):
        if _is_legacy_empty(x._data):
            continue
        if x._data.ndim != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and "
                               f"{x._data.ndim}")
        for k in range(nd):
            if k != d and x._data.shape[k] != ref._data.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref._data.shape[k]} but got size {x._data.shape[k]} for tensor number {i} "
                    "in the list.")
    from ._util import result_dtype
    npd = result_dtype(*tensors).np
    return Cat.apply(*tensors, dim=d, npd=npd)


concat = concatenate = cat


class Stack(Primitive):
    def forward(self, *xs, dim, npd):
        self.dim = dim
        self.dts = [x.dtype for x in xs]
        return xp.stack(xs, axis=dim, dtype=npd)

    def backward(self, g):
        from ._util import ToDtype
        out = []
        for i, dt in enumerate(self.dts):
            piece = Select.apply(g, dim=self.dim, index=i)
            out.append(piece if piece._data.dtype == dt else ToDtype.apply(piece, dtype=dt))
        return tuple(out)

    def name(self):
        return "StackBackward0"


def stack(tensors, dim=0, *, out=None):
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shp)} "
                               f"at entry 0 and {list(x._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(shp) + 1)
    from ._util import result_dtype
    return Stack.apply(*tensors, dim=d, npd=result_dtype(*tensors).np)


def hstack(tensors):
    tensors = [atleast_1d(x) for x in _tensor_list(tensors, "hstack")]
    if not tensors:
        raise RuntimeError("hstack expects a non-empty TensorList")
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    tensors = _tensor_list(tensors, "vstack")
    if not tensors:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return cat([atleast_2d(x) for x in tensors], 0)


row_stack = vstack


def dstack(tensors):
    return cat([atleast_3d(x) for x in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors):
    return hstack([x.reshape(-1, 1) if x.ndim <= 1 else x
                   for x in _tensor_list(tensors, "column_stack")])


def atleast_1d(x):
    return x.reshape(1) if x.ndim == 0 else x


def atleast_2d(x):
    if x.ndim == 0:
        return x.reshape(1, 1)
    return x.unsqueeze(0) if x.ndim == 1 else x


def atleast_3d(x):
    if x.ndim == 0:
        return x.reshape(1, 1, 1)
    if x.ndim == 1:
        return x.unsqueeze(0).unsqueeze(-1)
    if x.ndim == 2:
        return x.unsqueeze(-1)
    return x


# ---- splitting ---------------------------------------------------------------------------------
class Narrow(_View):
    def forward(self, x, dim, start, length):
        self.in_shape, self.dim, self.start = x.shape, dim, start
        return x[(slice(None),) * dim + (slice(start, start + length),)]

    def backward(self, g):
        pad = [(0, 0)] * len(self.in_shape)
        pad[self.dim] = (self.start, self.in_shape[self.dim] - self.start - g.shape[self.dim])
        return _PadZeros.apply(g, pad=tuple(pad))

    def name(self):
        return "SliceBackward0"


class _PadZeros(Primitive):
    def forward(self, x, pad):
        self.pad = pad
        return xp.pad(x, pad)

    def backward(self, g):
        idx = tuple(slice(a, g.shape[i] - b) for i, (a, b) in enumerate(self.pad))
        return _Slice.apply(g, idx=idx)

    def name(self):
        return "ConstantPadNdBackward0"


class _Slice(Primitive):
    """Basic slicing used inside backward rules (not a user-visible view)."""

    def forward(self, x, idx):
        self.in_shape, self.idx = x.shape, idx
        return x[idx]

    def backward(self, g):
        pad = tuple((s.start, n - s.stop) for s, n in zip(self.idx, self.in_shape))
        return _PadZeros.apply(g, pad=pad)

    def name(self):
        return "SliceBackward0"


def narrow(input, dim, start, length):
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    size = input._data.shape[d]
    if isinstance(start, Tensor):
        start = int(start)
    if isinstance(length, Tensor):
        length = int(length)
    if start < -size or start > size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return Narrow.view_apply(input, dim=d, start=start, length=length)


class _MultiView(Primitive):
    """Several views of one input (unbind, split, chunk): one graph node, as in torch."""

    def backward(self, *grads):
        if all(g is None for g in grads):
            return None
        like = next(g for g in grads if g is not None)
        full = [g if g is not None else _zeros(shape, like._data.dtype)
                for g, shape in zip(grads, self.out_shapes)]
        return self._join(full)


def _zeros(shape, npd):
    return Tensor._wrap(xp.zeros(shape, dtype=npd))


class Unbind(_MultiView):
    def forward(self, x, dim):
        self.dim, self.out_shapes = dim, [x.shape[:dim] + x.shape[dim + 1:]] * x.shape[dim]
        self.n_outputs = x.shape[dim]
        pre = (slice(None),) * dim
        return tuple(x[pre + (i, Ellipsis)] for i in range(x.shape[dim]))

    def _join(self, grads):
        return stack(grads, self.dim)

    def name(self):
        return "UnbindBackward0"


class Split(_MultiView):
    def forward(self, x, dim, sizes, nm):
        self.dim, self.nm, self.n_outputs = dim, nm, len(sizes)
        pre = (slice(None),) * dim
        outs, start = [], 0
        for s in sizes:
            outs.append(x[pre + (slice(start, start + s),)])
            start += s
        self.out_shapes = [o.shape for o in outs]
        return tuple(outs)

    def _join(self, grads):
        return cat(grads, self.dim)

    def name(self):
        return self.nm


def _multi_views(input, outs, kind, pieces):
    """Mark the outputs of a multi-view op; each can be rebuilt with its own primitive."""
    for i, (o, (cls, params)) in enumerate(zip(outs, pieces)):
        _make_view(o, input, cls, params, kind=kind, out_nr=i)
    return outs


def _split_sizes(size, s):
    if s == 0:
        return [0] if size == 0 else None
    return [s] * (size // s) + ([size % s] if size % s else [])


def split(tensor, split_size_or_sections, dim=0):
    nd = tensor._data.ndim
    if nd == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, nd)
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        s = int(split_size_or_sections)
        if s < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={s}")
        sizes = _split_sizes(size, s)
        if sizes is None:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        nm, kind = "SplitBackward0", "Split"
    else:
        sizes = [int(v) for v in split_size_or_sections]
        if sum(sizes) != size or any(v < 0 for v in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        nm, kind = "SplitWithSizesBackward0", "SplitWithSizes"
    outs = Split.apply(tensor, dim=d, sizes=tuple(sizes), nm=nm)
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    return _multi_views(tensor, outs, kind, [
        (Narrow, {"dim": d, "start": st, "length": ln}) for st, ln in zip(starts, sizes)])


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if size == 0:
        each = 0
        outs = Split.apply(input, dim=d, sizes=(0,) * chunks, nm="SplitBackward0")
        return _multi_views(input, outs, "Split",
                            [(Narrow, {"dim": d, "start": 0, "length": 0})] * chunks)
    each = -(-size // chunks)
    return split(input, each, d)


def tensor_split(input, indices_or_sections, dim=0):
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, numbers.Integral):
        n = int(indices_or_sections)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        sizes = [q + 1] * r + [q] * (n - r)
        starts = [sum(sizes[:i]) for i in range(n)]
    else:
        idx = [0] + [min(max(int(i) if i >= 0 else int(i) + size, 0), size)
                     for i in indices_or_sections] + [size]
        starts = idx[:-1]
        sizes = [max(0, b - a) for a, b in zip(idx[:-1], idx[1:])]
    return tuple(Narrow.view_apply(input, dim=d, start=s, length=n)
                 for s, n in zip(starts, sizes))


class Select(_View):
    def forward(self, x, dim, index):
        self.in_shape, self.dim, self.index = x.shape, dim, index
        return x[(slice(None),) * dim + (index, Ellipsis)]

    def backward(self, g):
        return _SelectBackward.apply(g, in_shape=self.in_shape, dim=self.dim, index=self.index)

    def name(self):
        return "SelectBackward0"


class _SelectBackward(Primitive):
    def forward(self, g, in_shape, dim, index):
        self.dim, self.index = dim, index
        out = xp.zeros(in_shape, dtype=g.dtype)
        out[(slice(None),) * dim + (index, Ellipsis)] = g
        return out

    def backward(self, gg):
        return Select.apply(gg, dim=self.dim, index=self.index)

    def name(self):
        return "SelectBackwardBackward0"


def select(input, dim, index):
    nd = input._data.ndim
    if nd == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    size = input._data.shape[d]
    if isinstance(index, Tensor):
        index = int(index)
    if index < -size or index >= size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input._data.shape)} at dimension {d}")
    return Select.view_apply(input, dim=d, index=index % size)


def unbind(input, dim=0):
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if n == 0:
        return ()
    outs = Unbind.apply(input, dim=d)
    return _multi_views(input, outs, "Unbind",
                        [(Select, {"dim": d, "index": i}) for i in range(n)])


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


__all__ = ["view", "reshape", "view_as", "reshape_as", "flatten", "unflatten", "permute",
           "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis", "squeeze",
           "unsqueeze", "expand", "expand_as", "broadcast_to", "broadcast_tensors",
           "broadcast_shapes", "contiguous", "clone", "cat", "concat", "concatenate", "stack",
           "hstack", "vstack", "row_stack", "dstack", "column_stack", "atleast_1d",
           "atleast_2d", "atleast_3d", "narrow", "split", "chunk", "tensor_split", "select",
           "unbind", "flip", "fliplr", "flipud", "roll", "tril", "triu", "diag", "diagonal",
           "diag_embed", "trace", "repeat", "tile", "repeat_interleave"]
_NOT_METHODS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack",
                "dstack", "column_stack", "broadcast_tensors", "broadcast_shapes", "atleast_1d",
                "atleast_2d", "atleast_3d"}
TENSOR_METHODS = {n: globals()[n] for n in __all__ if n not in _NOT_METHODS}
TENSOR_METHODS.update({
    "T": property(_T), "mT": property(_mT), "H": property(_T), "mH": property(_mT),
    "squeeze_": lambda self, dim=None: _inplace_shape(
        self, lambda: squeeze(self, dim, _inplace=True)),
    "unsqueeze_": lambda self, dim: _inplace_shape(
        self, lambda: unsqueeze(self, dim, _nm="UnsqueezeBackward1")),
    "t_": lambda self: _inplace_shape(self, lambda: t(self, _nm="TBackward1")),
    "transpose_": lambda self, a, b: _inplace_shape(
        self, lambda: transpose(self, a, b, _nm="TransposeBackward1")),
    "tril_": lambda self, k=0: self._inplace_from(tril(self, k)),
    "triu_": lambda self, k=0: self._inplace_from(triu(self, k)),
    "resize_": lambda self, *s: _resize_(self, parse_size(s)),
})


def _inplace_shape(self, make):
    """In-place view ops (t_, squeeze_...): ``self`` takes the view's shape and strides."""
    _leaf_inplace_check(self)
    r = make()
    self._data = r._data
    if self._base is not None:      # still a view of the same base, by one more step
        self._view_fn = r._view_fn
    self._version.v += 1
    if r.grad_fn is not None:
        self.grad_fn, self._output_nr = r.grad_fn, r._output_nr
    return self


def _resize_(self, shape):
    n = 1
    for s in shape:
        n *= s
    flat = self._data.reshape(-1)
    if n <= flat.size:
        self._data = flat[:n].reshape(shape)
    else:
        new = xp.zeros(n, dtype=self._data.dtype)
        new[:flat.size] = flat
        self._data = new.reshape(shape)
    self._version.v += 1
    return self
