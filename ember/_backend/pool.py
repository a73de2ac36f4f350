"""Reuse of large array buffers across calls (a small caching allocator).

glibc serves allocations above its mmap threshold (at most 32 MB, see ``MALLOPT_APPLIED``) with
fresh pages from the kernel, which fault in on first touch every time. For activations that
size, that costs more than the arithmetic: inference of the MNIST net at batch 1000 writes
about 500 MB of conv/relu/pool outputs per call, and measured 275 ms per call with NumPy's
transparent huge pages and 480 ms without them, most of it page faults.

``empty(shape, dtype)`` hands out a view of a pooled buffer when one of that byte size is
free. A buffer is free when nothing but the pool references it: every array that shares its
memory (views, reshapes, ``Tensor.numpy()`` results, ``torch.from_numpy`` wrappers) keeps a
reference to it through ``.base``, so the reference count says whether it is still in use.
The pool keeps at most ``_PER_SIZE`` buffers per size and ``_MAX_BYTES`` in all; beyond that
``empty`` allocates as NumPy does. Memory in the pool stays with the process (as with
torch's CUDA caching allocator); ``clear()`` releases it, and ``EMBER_NO_POOL=1`` (read at
import) turns the pool off.
"""
from __future__ import annotations

import math
import os
import sys
import threading

import numpy as _np

xp = _np
MIN_BYTES = 32 << 20         # below this glibc's heap already reuses freed memory
_PER_SIZE = 2
_MAX_BYTES = 2 << 30
_ENABLED = not os.environ.get("EMBER_NO_POOL")
_POOL: dict[int, list] = {}
_held = 0
_getrefcount = sys.getrefcount
# Two threads cannot take the same buffer even without it (each one's loop variable counts
# as a reference while it checks), but the lists and the byte count are updated under it.
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child (DataLoader worker) gets a fresh lock: one held by another thread of
    the parent at the fork would never be released there."""
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
_U8 = xp.dtype(xp.uint8)
# references to a free pooled buffer while ``empty`` looks at it: the pool's list, the loop
# variable and getrefcount's own argument
_FREE_REFS = 3


def empty(shape, dtype):
    """``xp.empty(shape, dtype)``, from the pool when the array is large."""
    global _held
    dtype = xp.dtype(dtype)
    shape = tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES or not _ENABLED:
        return xp.empty(shape, dtype=dtype)
    with _lock:
        lst = _POOL.get(nbytes)
        if lst is None:
            lst = _POOL[nbytes] = []
        for buf in lst:
            if _getrefcount(buf) == _FREE_REFS:
                return buf.view(dtype).reshape(shape)
        buf = xp.empty(nbytes, dtype=_U8)
        if len(lst) < _PER_SIZE and _held + nbytes <= _MAX_BYTES:
            lst.append(buf)
            _held += nbytes
        return buf.view(dtype).reshape(shape)


def held_bytes() -> int:
    """Bytes the pool holds (free or in use)."""
    return _held


def clear() -> None:
    """Forget every pooled buffer (arrays still using one keep it alive until they go)."""
    global _held
    with _lock:
        _POOL.clear()
        _held = 0
