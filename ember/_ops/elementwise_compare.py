"""Non-differentiable elementwise ops: comparisons, logical and bitwise ops, and predicates
(isnan, isfinite, isclose...).
"""
from __future__ import annotations

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ._util import binary_dtype, result_dtype
from .elementwise_common import (_BY_NP, _PY_NUM, _FLOAT_KINDS, _not_implemented, _need_operand,
                                 _fit_scalar, _cast, _raise_broadcast, _raw, _out)


# ---------------------------------------------------------------------------------------
# Non-differentiable: comparisons, logical, bitwise, predicates
# ---------------------------------------------------------------------------------------
def _comparable(a: Tensor, b, fn: str):
    """Raw operands for a comparison, cast to the promoted dtype where torch would."""
    if not isinstance(b, Tensor) and type(b) not in _PY_NUM:
        b = _need_operand(b, fn)
    ad = a._data
    if isinstance(b, Tensor):
        bd = b._data
        if ad.dtype != bd.dtype:
            d = result_dtype(a, b).np
            ad, bd = ad.astype(d, copy=False), bd.astype(d, copy=False)
        return ad, bd
    if _dt._scalar_cat(b) > _BY_NP[ad.dtype]._cat:
        ad = ad.astype(binary_dtype(a, b).np)
    elif type(b) is int:
        b = _fit_scalar(b, ad.dtype)     # torch wraps it: uint8 > -1 compares with 255
    return ad, b


def _compare(np_fn, name):
    def fn(input, other, *, out=None) -> Tensor:
        a, b = _comparable(input, other, name)
        try:
            r = Tensor._wrap(np_fn(a, b))
        except ValueError as e:
            _raise_broadcast(e, input, other)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` comparison (result is bool)."
    return fn


eq = _compare(xp.equal, "eq")
ne = _compare(xp.not_equal, "ne")
lt = _compare(xp.less, "lt")
le = _compare(xp.less_equal, "le")
gt = _compare(xp.greater, "gt")
ge = _compare(xp.greater_equal, "ge")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other) -> bool:
    """True if both tensors have the same shape and values."""
    return input.shape == other.shape and bool(xp.array_equal(input._data, other._data))


def _logical(np_fn, name):
    def fn(input, other, *, out=None) -> Tensor:
        b = _need_operand(other, name)
        try:
            r = Tensor._wrap(np_fn(input._data, _raw(b)))
        except ValueError as e:
            _raise_broadcast(e, input, b)
        return r if out is None else _out(r, out)
    fn.__name__ = fn.__qualname__ = name
    return fn


logical_and = _logical(xp.logical_and, "logical_and")
logical_or = _logical(xp.logical_or, "logical_or")
logical_xor = _logical(xp.logical_xor, "logical_xor")


def logical_not(input, *, out=None) -> Tensor:
    r = Tensor._wrap(xp.logical_not(input._data))
    return r if out is None else _out(r, out)


def _bitwise(np_fn, name, kernel):
    def fn(input, other) -> Tensor:
        b = _need_operand(other, name)
        a = input if isinstance(input, Tensor) else _need_operand(input, name, "input")
        d = binary_dtype(a, b) if isinstance(a, Tensor) else binary_dtype(b, a)
        if d._cat >= 2:
            raise _not_implemented(kernel, d.np)
        try:
            return Tensor._wrap(xp.asarray(np_fn(_cast(_raw(a), d.np), _cast(_raw(b), d.np)),
                                           dtype=d.np))
        except ValueError as e:
            _raise_broadcast(e, a, b)
    fn.__name__ = fn.__qualname__ = name
    return fn


bitwise_and = _bitwise(xp.bitwise_and, "bitwise_and", "bitwise_and_cpu")
bitwise_or = _bitwise(xp.bitwise_or, "bitwise_or", "bitwise_or_cpu")
bitwise_xor = _bitwise(xp.bitwise_xor, "bitwise_xor", "bitwise_xor_cpu")
bitwise_left_shift = _bitwise(xp.left_shift, "bitwise_left_shift", "lshift_cpu")
bitwise_right_shift = _bitwise(xp.right_shift, "bitwise_right_shift", "rshift_cpu")


def bitwise_not(input) -> Tensor:
    if input.dtype._cat >= 2:
        raise _not_implemented("bitwise_not_cpu", input._data.dtype)
    return Tensor._wrap(xp.invert(input._data))


def _invert(self) -> Tensor:
    if self.dtype._cat >= 2:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


def _predicate(np_fn, name, int_value=False):
    def fn(input) -> Tensor:
        x = input._data
        if x.dtype.kind not in _FLOAT_KINDS:
            return Tensor._wrap(xp.full(x.shape, int_value, dtype=bool))
        return Tensor._wrap(np_fn(x))
    fn.__name__ = fn.__qualname__ = name
    return fn


isnan = _predicate(xp.isnan, "isnan")
isinf = _predicate(xp.isinf, "isinf")
isfinite = _predicate(xp.isfinite, "isfinite", True)
isposinf = _predicate(xp.isposinf, "isposinf")
isneginf = _predicate(xp.isneginf, "isneginf")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    return Tensor._wrap(xp.isclose(input._data, _raw(other), rtol=rtol, atol=atol,
                                   equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(xp.allclose(input._data, _raw(other), rtol=rtol, atol=atol, equal_nan=equal_nan))
