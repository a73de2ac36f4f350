"""Device backend: maps a device to its array module, and holds the dtype table.

This is the only place that decides which array library runs an op. On ``cpu`` it is
NumPy. A CUDA backend (CuPy) will plug in here; until then asking for ``cuda`` raises a
clear error instead of silently running on the CPU.
"""
from __future__ import annotations

import numpy as np

from .dtypes import (  # noqa: F401  (re-exported)
    dtype, float16, float32, float64, half, float, double, bfloat16,
    int8, int16, int32, int64, uint8, bool_, short, int_, long,
    complex64, complex128, cfloat, cdouble,
    from_numpy_dtype, to_numpy_dtype, get_default_dtype, set_default_dtype,
    default_float_np, promote_types, result_type_of, can_cast,
)

xp = np  # the array module for the only backend that exists today
# The host's array module, whatever the device: torch's CPU generator state and draws, dtype
# limits (finfo/iinfo). Ops use ``xp``; only host-side code such as ember/_ops/random.py
# uses ``host``.
host = np


def _keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks (up to 32 MB each) in the process instead of
    returning them to the kernel. Training allocates and frees the same activation-sized
    arrays every step; returned memory comes back as fresh pages that fault in on first
    touch, which measured here as half of a small CNN's step (4.8 -> 2.4 ms) and a fifth of
    the MNIST net's (78 -> 61 ms). Linux/glibc only; ``EMBER_NO_MALLOPT=1`` turns it off.
    The cost: the process keeps its peak heap instead of shrinking after a big step."""
    import os
    import sys
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_NO_MALLOPT"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 << 20)   # glibc's maximum on 64-bit
        ok &= libc.mallopt(m_trim_threshold, 1 << 30)
        return bool(ok)
    except (OSError, AttributeError):   # not glibc (musl, ...): leave malloc alone
        return False


MALLOPT_APPLIED = _keep_freed_memory()


class device:
    """A device descriptor. ``ember.device('cpu')``; ``'cuda'`` is refused until the CUDA
    backend exists."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device" = "cpu", index: int | None = None):
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got ({type!r})")
        name = type
        if ":" in name:
            name, _, idx = name.partition(":")
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type}'") from None
        if name not in ("cpu", "cuda", "mps", "meta", "xpu"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta, xpu device type at start of device string: "
                f"{type}")
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index) if self.index is not None else (self.type,))


CPU = device("cpu")


def canonical_device(dev) -> device:
    """Normalise a device argument and refuse devices this build cannot run on."""
    if dev is None:
        return CPU
    if isinstance(dev, int):
        dev = device("cuda", dev)
    elif not isinstance(dev, device):
        dev = device(dev)
    if dev.type != "cpu":
        raise RuntimeError(
            f"ember has no '{dev.type}' backend yet: only 'cpu' (NumPy) is available. "
            "A CUDA backend on CuPy is planned; until then keep tensors and modules on 'cpu' "
            "(ember.cuda.is_available() returns False).")
    return CPU


def array_module(dev: device | None = None):
    """The array module (NumPy today) that runs ops for ``dev``."""
    return xp
