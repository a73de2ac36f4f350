"""Views and the ops that make them: the view machinery (``ViewInfo``, ``_make_view``,
``_View``), view/reshape/flatten, permute/transpose/movedim, squeeze/unsqueeze,
expand/broadcast, and clone/contiguous.

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
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import wrap_dim, normalize_dims, SumToSize

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
