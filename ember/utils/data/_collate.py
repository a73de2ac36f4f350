"""Collation: turn a list of samples into a batch (``default_collate``), or convert one sample
(``default_convert``). Behaves as ``torch.utils.data.default_collate``/``default_convert``:

* tensors are stacked along a new first dimension
* NumPy arrays become tensors (then stacked); NumPy scalars become a 1-D tensor
* Python ``float`` -> float64 tensor, ``int`` -> int64 tensor (``bool`` -> bool tensor)
* ``str``/``bytes`` are kept as a list
* mappings, namedtuples, tuples and lists are collated field by field (tuples become lists)

``collate(batch, collate_fn_map=...)`` and ``default_collate_fn_map`` are the same extension
points as torch's ``torch.utils.data._utils.collate``.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable

from ..._backend import xp
from ..._tensor import Tensor
from ...autograd.grad_mode import STATE

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

_np_str_obj = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}")


def _is_numpy_value(t: type) -> bool:
    return t.__module__ == "numpy" and t.__name__ not in ("str_", "string_", "bytes_")


def _rebuild_mapping(elem, values: dict):
    """A mapping like ``elem`` (same type, same extra state) holding ``values``."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem, values: list):
    """A sequence like ``elem`` holding ``values`` (a plain list if the type refuses)."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def default_convert(data):
    """Convert NumPy arrays (and NumPy scalars) inside ``data`` to tensors, recursing into
    mappings, namedtuples and sequences (tuples become lists); everything else is returned
    unchanged. The collate function of a ``DataLoader`` with ``batch_size=None``."""
    from ..._ops.creation import as_tensor
    t = type(data)
    if isinstance(data, Tensor):
        return data
    if _is_numpy_value(t):
        if t.__name__ == "ndarray" and _np_str_obj.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(data[k]) for k in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return t(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def collate(batch, *, collate_fn_map: "dict[type | tuple, Callable] | None" = None):
    """Collate ``batch`` (a list of samples) with per-type functions from ``collate_fn_map``
    (exact type first, then the first ``isinstance`` match in insertion order), recursing into
    containers. Each function is called as ``fn(batch, collate_fn_map=collate_fn_map)``."""
    elem = batch[0]
    t = type(elem)
    if collate_fn_map is not None:
        if t in collate_fn_map:
            return collate_fn_map[t](batch, collate_fn_map=collate_fn_map)
        for key, fn in collate_fn_map.items():
            if isinstance(elem, key):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: collate([d[k] for d in batch],
                                                  collate_fn_map=collate_fn_map)
                                       for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return t(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # each column is a tuple (torch passes zip's tuples on: strings stay a tuple there)
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # torch returns a list for tuples (backwards compatibility)
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(t))


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Stack along a new first dimension. Without autograd involvement this is one array
    stack; anything else (grad-tracking inputs, mixed shapes or dtypes) goes through
    ``ember.stack`` so gradients, type promotion and error messages are torch's."""
    from ..._ops.shape import stack
    first = batch[0]._data
    shape, dtype = first.shape, first.dtype
    plain = not STATE.enabled or not any(b._requires_grad for b in batch)
    if plain and all(b._data.shape == shape and b._data.dtype == dtype for b in batch):
        return Tensor._wrap(xp.stack([b._data for b in batch]))
    return stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    from ..._ops.creation import as_tensor
    if _np_str_obj.search(batch[0].dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    from ..._ops.creation import as_tensor
    return as_tensor(xp.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    from ..._ops.creation import tensor
    from ..._backend import float64
    return tensor(batch, dtype=float64)


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    from ..._ops.creation import tensor
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: "dict[type | tuple, Callable]" = {
    Tensor: collate_tensor_fn,
    xp.ndarray: collate_numpy_array_fn,
    (xp.bool_, xp.number, xp.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursing into containers (see module doc).

    >>> default_collate([(0, 1.0), (2, 3.0)])
    [tensor([0, 2]), tensor([1., 3.], dtype=ember.float64)]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
