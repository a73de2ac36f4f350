"""Joining and splitting tensors: cat/stack (and hstack/vstack/dstack/column_stack,
atleast_1d/2d/3d), narrow, split/chunk/tensor_split, select/unbind.
"""
from __future__ import annotations

import numbers

from .._backend import xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import wrap_dim
from .shape_views import _make_view, _View


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
