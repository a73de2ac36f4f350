"""Shape and view ops: view/reshape, permute/transpose, squeeze/unsqueeze, expand, cat/stack,
split/chunk, flip/roll, tril/triu... Views share memory and the version counter with their
base, as in torch.
"""
from __future__ import annotations

import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import wrap_dim, normalize_dims, parse_size, ExpandTo, SumToSize


def _make_view(out: Tensor, base: Tensor, view_fn) -> Tensor:
    """Mark ``out`` as a view of ``base``: shared version counter and a replayable view fn."""
    b = base._base if base._base is not None else base
    out._base = b
    out._version = base._version
    if base._base is not None and base._view_fn is not None:
        prev = base._view_fn
        out._view_fn = lambda t, _p=prev, _f=view_fn: _f(_p(t))
    else:
        out._view_fn = view_fn
    return out


class _View(Primitive):
    """Base for view primitives: output shares memory with the input."""

    @classmethod
    def view_apply(cls, x: Tensor, **params) -> Tensor:
        out = cls.apply(x, **params)
        return _make_view(out, x, lambda t, _c=cls, _p=params: _c.apply(t, **_p))


class Reshape(_View):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.in_shape)

    def name(self):
        return "ViewBackward0"


def _infer_shape(shape, numel, orig):
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
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    n = 1
    for s in shape:
        n *= s
    if n != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for s in args:
        if isinstance(s, Tensor):
            s = int(s)
        if not isinstance(s, numbers.Integral):
            raise TypeError(f"view(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
        out.append(int(s))
    return tuple(out)


def view(input, *shape):
    if len(shape) == 1 and isinstance(shape[0], _dt.dtype):
        return _view_dtype(input, shape[0])
    shape = _infer_shape(_shape_args(shape), input._data.size, input._data.shape)
    if shape == input._data.shape:
        return Reshape.view_apply(input, shape=shape)
    if not _viewable(input._data, shape):
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return Reshape.view_apply(input, shape=shape)


def _viewable(a, shape) -> bool:
    if a.flags.c_contiguous:
        return True
    try:
        v = a.view()
        v.shape = shape    # raises if a copy would be needed
        return True
    except AttributeError:
        return False


def _view_dtype(input, d):
    return Tensor._wrap(input._data.view(d.np))


def reshape(input, *shape):
    shape = _infer_shape(_shape_args(shape), input._data.size, input._data.shape)
    if _viewable(input._data, shape):
        return Reshape.view_apply(input, shape=shape)
    return Reshape.apply(input, shape=shape)


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
    sizes = list(sizes)
    if -1 in sizes:
        known = 1
        for s in sizes:
            if s != -1:
                known *= s
        sizes[sizes.index(-1)] = shp[d] // known if known else 0
    n = 1
    for s in sizes:
        n *= s
    if n != shp[d]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({shp[d]}) in the input tensor")
    return view(input, shp[:d] + tuple(sizes) + shp[d + 1:])


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
    def forward(self, x, d0, d1):
        self.d0, self.d1 = d0, d1
        return xp.swapaxes(x, d0, d1)

    def backward(self, g):
        return Transpose.apply(g, d0=self.d0, d1=self.d1)

    def name(self):
        return "TransposeBackward0"


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


def transpose(input, dim0, dim1):
    nd = input._data.ndim
    d0, d1 = wrap_dim(dim0, nd), wrap_dim(dim1, nd)
    if nd < 2:
        return Reshape.view_apply(input, shape=input._data.shape)
    return Transpose.view_apply(input, d0=d0, d1=d1)


swapaxes = swapdims = transpose


def t(input):
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if nd < 2:
        return Reshape.view_apply(input, shape=input._data.shape)
    r = Transpose.view_apply(input, d0=0, d1=1)
    return r


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
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src = [wrap_dim(s, nd) for s in src]
    dst = [wrap_dim(s, nd) for s in dst]
    order = [n for n in range(nd) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order))


moveaxis = movedim


def squeeze(input, dim=None):
    shp = input._data.shape
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = normalize_dims(dim, len(shp)) if shp or not isinstance(dim, int) else ()
        if not shp:
            wrap_dim(dim if isinstance(dim, int) else 0, 0)
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    return Reshape.view_apply(input, shape=new)


def unsqueeze(input, dim):
    nd = input._data.ndim + 1
    d = wrap_dim(dim, nd)
    shp = list(input._data.shape)
    shp.insert(d, 1)
    return Reshape.view_apply(input, shape=tuple(shp))


class Expand(_View):
    def forward(self, x, shape):
        self.in_shape = x.shape
        return xp.broadcast_to(x, shape)

    def backward(self, g):
        return SumToSize.apply(g, shape=self.in_shape)

    def name(self):
        return "ExpandBackward0"


def expand(input, *sizes):
    sizes = _shape_args(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(shp)}}}, size={list(sizes)}): the number of sizes "
            "provided (%d) must be greater or equal to the number of dimensions in the tensor "
            "(%d)" % (len(sizes), len(shp)))
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   "leading, non-existing dimension " + str(i))
            out.append(s)
            continue
        cur = shp[i - lead]
        if s == -1:
            out.append(cur)
        elif cur == 1 or cur == s:
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
    shape = xp.broadcast_shapes(*[t._data.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    from .._tensor import Size
    return Size(xp.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))


def contiguous(input, memory_format=None):
    if input.is_contiguous():
        return input
    return Clone.apply(input)


class Clone(Primitive):
    def forward(self, x):
        return xp.array(x, copy=True, order="C")

    def backward(self, g):
        return g

    def name(self):
        return "CloneBackward0"


def clone(input, *, memory_format=None):
    return Clone.apply(input)


class Cat(Primitive):
    def forward(self, *xs, dim, npd):
        self.dim = dim
        self.sizes = [x.shape[dim] if x.ndim else 0 for x in xs]
        self.metas = [(x.shape, x.dtype) for x in xs]
        self.n = len(xs)
        arrs = [x.astype(npd, copy=False) for x in xs if not (x.ndim == 1 and x.shape[0] == 0)]
        if not arrs:
            return xp.concatenate([x.astype(npd, copy=False) for x in xs], axis=0)
        return xp.concatenate(arrs, axis=dim)

    def backward(self, g):
        out = []
        start = 0
        for (shape, dt), n in zip(self.metas, self.sizes):
            if len(shape) == 1 and shape[0] == 0 and g.ndim != 1:
                out.append(None)
                continue
            piece = narrow(g, self.dim, start, n)
            if piece._data.dtype != dt:
                from ._util import ToDtype
                piece = ToDtype.apply(piece, dtype=dt)
            out.append(piece)
            start += n
        return tuple(out)

    def name(self):
        return "CatBackward0"


def cat(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, tt in enumerate(tensors):
        if not isinstance(tt, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(tt).__name__}")
    ref = next((x for x in tensors if not (x._data.ndim == 1 and x._data.shape[0] == 0)),
               tensors[0])
    nd = ref._data.ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, nd)
    for i, x in enumerate(tensors):
        if x._data.ndim == 1 and x._data.shape[0] == 0:
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


def stack(tensors, dim=0, *, out=None):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shp)} "
                               f"at entry 0 and {list(x._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(shp) + 1)
    return cat([unsqueeze(x, d) for x in tensors], d)


def hstack(tensors):
    tensors = [atleast_1d(x) for x in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(x) for x in tensors], 0)


row_stack = vstack


def dstack(tensors):
    return cat([atleast_3d(x) for x in tensors], 2)


def column_stack(tensors):
    return hstack([x.reshape(-1, 1) if x.ndim <= 1 else x for x in tensors])


def atleast_1d(x):
    return x.reshape(1) if x.ndim == 0 else x


def atleast_2d(x):
    return x.reshape(1, -1) if x.ndim < 2 else x


def atleast_3d(x):
    if x.ndim == 0:
        return x.reshape(1, 1, 1)
    if x.ndim == 1:
        return x.reshape(1, -1, 1)
    if x.ndim == 2:
        return x.unsqueeze(-1)
    return x


class Narrow(_View):
    def forward(self, x, dim, start, length):
        self.in_shape, self.dim, self.start = x.shape, dim, start
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(start, start + length)
        return x[tuple(idx)]

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
        return g[idx]

    def name(self):
        return "ConstantPadNdBackward0"


def narrow(input, dim, start, length):
    nd = input._data.ndim
    if nd == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, nd)
    size = input._data.shape[d]
    if isinstance(start, Tensor):
        start = int(start)
    if start < 0:
        start += size
    if start < 0 or start > size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return Narrow.view_apply(input, dim=d, start=start, length=length)


def split(tensor, split_size_or_sections, dim=0):
    nd = tensor._data.ndim
    d = wrap_dim(dim, nd)
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        s = split_size_or_sections
        if s <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sizes = [s] * (size // s) + ([size % s] if size % s else []) if s else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins_sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def builtins_sum(xs):
    total = 0
    for x in xs:
        total += x
    return total


def chunk(input, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    each = -(-size // chunks) if size else 0
    if each == 0:
        return tuple(narrow(input, d, 0, 0) for _ in range(min(chunks, 1) if size else chunks))
    return split(input, each, d)


def tensor_split(input, indices_or_sections, dim=0):
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        q, r = divmod(size, n)
        sizes = [q + 1] * r + [q] * (n - r)
    else:
        idx = [0] + list(indices_or_sections) + [size]
        sizes = [max(0, min(b, size) - min(a, size)) for a, b in zip(idx[:-1], idx[1:])]
    return split(input, sizes, d)


class Select(_View):
    def forward(self, x, dim, index):
        self.in_shape, self.dim, self.index = x.shape, dim, index
        idx = [slice(None)] * x.ndim
        idx[dim] = index
        return x[tuple(idx)]

    def backward(self, g):
        return _SelectBackward.apply(g, in_shape=self.in_shape, dim=self.dim, index=self.index)

    def name(self):
        return "SelectBackward0"


class _SelectBackward(Primitive):
    def forward(self, g, in_shape, dim, index):
        self.dim, self.index = dim, index
        out = xp.zeros(in_shape, dtype=g.dtype)
        idx = [slice(None)] * len(in_shape)
        idx[dim] = index
        out[tuple(idx)] = g
        return out

    def backward(self, gg):
        return select(gg, self.dim, self.index)

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
    d = wrap_dim(dim, input._data.ndim)
    return tuple(select(input, d, i) for i in range(input._data.shape[d]))


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
    return flip(input, 1)


def flipud(input):
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
        shifts = tuple(shifts)
    if dims is not None:
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
    return Tri.apply(input, k=diagonal, upper=False)


def triu(input, diagonal=0):
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return Tri.apply(input, k=diagonal, upper=True)


class Diag(Primitive):
    def forward(self, x, k):
        self.k, self.in_shape = k, x.shape
        if x.ndim == 1:
            return xp.diag(x, k)
        return xp.diag(x, k).copy()

    def backward(self, g):
        if len(self.in_shape) == 1:
            return Diag.apply(g, k=self.k)
        return _DiagEmbed2D.apply(g, k=self.k, shape=self.in_shape)

    def name(self):
        return "DiagBackward0"


class _DiagEmbed2D(Primitive):
    def forward(self, g, k, shape):
        self.k = k
        out = xp.zeros(shape, dtype=g.dtype)
        n = g.shape[0]
        r = xp.arange(n)
        rows, cols = (r, r + k) if k >= 0 else (r - k, r)
        out[rows, cols] = g
        return out

    def backward(self, gg):
        return Diag.apply(gg, k=self.k)


def diag(input, diagonal=0):
    if input._data.ndim not in (1, 2):
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input._data.ndim}D")
    return Diag.apply(input, k=diagonal)


def diagonal(input, offset=0, dim1=0, dim2=1):
    if input._data.ndim == 2 and {wrap_dim(dim1, 2), wrap_dim(dim2, 2)} == {0, 1}:
        x = input if wrap_dim(dim1, 2) == 0 else t(input)
        return diag(x, offset)
    raise NotImplementedError("ember.diagonal supports 2-D inputs only")


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    if input._data.ndim == 1:
        return diag(input, offset)
    return stack([diag(r, offset) for r in input.reshape(-1, input.shape[-1])]).reshape(
        tuple(input.shape[:-1]) + (input.shape[-1] + abs(offset),) * 2)


def trace(input):
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
    sizes = _shape_args(sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    return Repeat.apply(input, reps=sizes)


def tile(input, dims):
    dims = tuple(dims)
    if len(dims) < input._data.ndim:
        dims = (1,) * (input._data.ndim - len(dims)) + dims
    return Repeat.apply(input, reps=dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # torch.repeat_interleave(repeats_tensor)
        reps = input._data
        return Tensor._wrap(xp.repeat(xp.arange(reps.shape[0]), reps).astype(xp.int64))
    x = input if dim is not None else input.reshape(-1)
    d = 0 if dim is None else wrap_dim(dim, input._data.ndim)
    r = repeats._data if isinstance(repeats, Tensor) else repeats
    idx = xp.repeat(xp.arange(x._data.shape[d]), r)
    from .indexing import index_select
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
    "squeeze_": lambda self, dim=None: _inplace_shape(self, squeeze(self, dim)),
    "unsqueeze_": lambda self, dim: _inplace_shape(self, unsqueeze(self, dim)),
    "t_": lambda self: _inplace_shape(self, t(self)),
    "transpose_": lambda self, a, b: _inplace_shape(self, transpose(self, a, b)),
    "tril_": lambda self, k=0: self._inplace_from(tril(self, k)),
    "triu_": lambda self, k=0: self._inplace_from(triu(self, k)),
    "resize_": lambda self, *s: _resize_(self, parse_size(s)),
})


def _inplace_shape(self, r):
    self._data = r._data
    self._version.v += 1
    if r.grad_fn is not None:
        self.grad_fn = r.grad_fn
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
