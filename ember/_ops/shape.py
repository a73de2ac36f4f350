"""Shape and view ops: view/reshape, permute/transpose, squeeze/unsqueeze, expand, cat/stack,
split/chunk, flip/roll, tril/triu... Views share memory and the version counter with their
base, as in torch.

The ops live by family in ``shape_views`` (the view machinery and how views work with
autograd; reshape, permute, squeeze, expand, clone), ``shape_join`` (cat/stack, split/chunk,
narrow, select/unbind) and ``shape_rearrange`` (flip/roll, tril/triu, diagonals, repeat); this
module gathers them into the public namespace and the Tensor methods, with the in-place shape
methods (t_, squeeze_, resize_...).
"""
from __future__ import annotations

from .._backend import xp
from .._tensor import _leaf_inplace_check
from ._util import parse_size
from .shape_views import (view, reshape, view_as, reshape_as, flatten, unflatten, permute,
                          transpose, swapaxes, swapdims, t, _T, _mT, movedim, moveaxis, squeeze,
                          unsqueeze, expand, expand_as, broadcast_to, broadcast_tensors,
                          broadcast_shapes, contiguous, clone)
from .shape_join import (cat, concat, concatenate, stack, hstack, vstack, row_stack, dstack,
                         column_stack, atleast_1d, atleast_2d, atleast_3d, narrow, split, chunk,
                         tensor_split, select, unbind)
from .shape_rearrange import (flip, fliplr, flipud, roll, tril, triu, diag, diagonal, diag_embed,
                              trace, repeat, tile, repeat_interleave)

# imported from here by other modules (indexing)
from .shape_views import NO_GRAD_VIEW, _View, Reshape  # noqa: F401
from .shape_join import _PadZeros  # noqa: F401

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
