"""ember's dtype objects and torch's type-promotion rules.

Differs from torch: the repr is ``ember.float32`` rather than ``torch.float32``; bfloat16
exists as a name but cannot hold data (NumPy has no bfloat16).
"""
from __future__ import annotations

import builtins

import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_complex", "is_signed", "itemsize", "_cat")

    def __init__(self, name: str, np_type, cat: int):
        self.name = name
        self.np = np.dtype(np_type) if np_type is not None else None
        self._cat = cat  # 0 bool, 1 integer, 2 floating, 3 complex
        self.is_floating_point = cat == 2
        self.is_complex = cat == 3
        self.itemsize = self.np.itemsize if self.np is not None else 2
        self.is_signed = name not in ("uint8", "bool")

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    __str__ = __repr__

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self) -> "dtype":
        return {complex64: float32, complex128: float64}.get(self, self)

    def to_complex(self) -> "dtype":
        return {float32: complex64, float64: complex128, float16: complex64}.get(self, self)


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = short = dtype("int16", np.int16, 1)
int32 = int_ = dtype("int32", np.int32, 1)
int64 = long = dtype("int64", np.int64, 1)
float16 = half = dtype("float16", np.float16, 2)
bfloat16 = dtype("bfloat16", None, 2)
float32 = float = dtype("float32", np.float32, 2)
float64 = double = dtype("float64", np.float64, 2)
complex64 = cfloat = dtype("complex64", np.complex64, 3)
complex128 = cdouble = dtype("complex128", np.complex128, 3)

_ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
        complex64, complex128)
_BY_NAME = {d.name: d for d in _ALL}
_BY_NP = {d.np: d for d in _ALL if d.np is not None}


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(npd) -> dtype:
    """ember dtype for a NumPy dtype; raises TypeError for types torch cannot hold."""
    try:
        return _BY_NP[np.dtype(npd)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(npd)}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, "
            "and bool.") from None


def to_numpy_dtype(d) -> np.dtype:
    """NumPy dtype for an ember dtype (or anything NumPy accepts, such as ``float``)."""
    if isinstance(d, dtype):
        if d.np is None:
            raise NotImplementedError(
                f"ember.{d.name} is not supported: NumPy has no such type. Use ember.float32.")
        return d.np
    if d is builtins.float:
        return _default[0].np
    if d is builtins.int:
        return np.dtype(np.int64)
    if d is builtins.bool:
        return np.dtype(np.bool_)
    raise TypeError(f"expected an ember dtype, got {d!r}")


_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    if not isinstance(d, dtype) or not d.is_floating_point or d.np is None:
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


def default_float_np() -> np.dtype:
    return _default[0].np


def promote_types(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    return _BY_NP[np.promote_types(a.np, b.np)]


def can_cast(from_: dtype, to: dtype) -> bool:
    """torch.can_cast: may ``from_`` be cast to ``to`` under same-kind rules."""
    return from_._cat <= to._cat


def result_type_of(operands) -> dtype:
    """torch's promotion for a list of (dtype_or_None, ndim_or_None, python_value) triples.

    Tensors with dimensions outrank zero-dim tensors, which outrank Python numbers, unless
    a lower-ranked operand belongs to a higher category (bool < integer < float < complex).
    """
    best_cat = -1
    for d, nd, v in operands:
        cat = d._cat if d is not None else _scalar_cat(v)
        if cat > best_cat:
            best_cat = cat
    # ranks: 2 dimensioned tensor, 1 zero-dim tensor, 0 python scalar
    for rank in (2, 1):
        res = None
        for d, nd, v in operands:
            if d is None or d._cat != best_cat:
                continue
            if (2 if nd else 1) != rank:
                continue
            res = d if res is None else promote_types(res, d)
        if res is not None:
            return res
    if best_cat == 3:
        return _default[0].to_complex()
    return (bool_, int64, _default[0])[best_cat]


def _scalar_cat(v) -> int:
    if isinstance(v, builtins.bool) or isinstance(v, np.bool_):
        return 0
    if isinstance(v, (builtins.int, np.integer)):
        return 1
    if isinstance(v, complex):
        return 3
    return 2
