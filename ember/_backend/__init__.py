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
