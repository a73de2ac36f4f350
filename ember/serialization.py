"""Checkpoints. (Issue 6 replaces this with PyTorch's zip format and a safe unpickler.)"""
from __future__ import annotations


def _rebuild_tensor(arr, requires_grad):
    from ._tensor import Tensor
    t = Tensor._wrap(arr)
    t._requires_grad = requires_grad
    return t


def _reduce_tensor(t):
    return (_rebuild_tensor, (t._data, t._requires_grad))
