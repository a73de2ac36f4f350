"""Indexing: ``__getitem__``/``__setitem__``, gather/scatter, index_select, masked ops, take,
nonzero, index_add, and the rebase that makes in-place ops on views differentiable.

The ops live in ``indexing_subscript`` (index parsing, ``__getitem__``/``__setitem__``, in-place
ops on views) and ``indexing_gather`` (gather/scatter, index_select, masked ops, take, nonzero,
index_add...); this module gathers them into the public namespace and the Tensor methods.
"""
from __future__ import annotations

from .indexing_subscript import getitem, setitem
from .indexing_gather import (gather, scatter, scatter_add, scatter_reduce, index_select,
                              masked_fill, masked_select, masked_scatter, take, take_along_dim,
                              nonzero, argwhere, index_add, index_fill, index_copy)

# imported from here by other modules (_tensor, creation, reduction)
from .indexing_subscript import CopyInto, _view_rebase_check, inplace_on_view  # noqa: F401
from .indexing_gather import _size_mismatch, scatter_grad  # noqa: F401


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
