"""Elementwise primitives: arithmetic, powers, unary math, mixing ops, comparisons, bitwise.

Type promotion is torch's (``_util.binary_dtype``/``result_dtype``): tensors with dimensions
outrank 0-d tensors, which outrank Python numbers, unless the lower-ranked operand is of a
higher category (bool < integer < float). Python numbers never upcast a float32 tensor. NumPy
scalars count as Python numbers (``np.bool_`` as a float, as torch reads it).

Inputs are cast to the result dtype inside ``forward``; Python numbers stay NumPy "weak"
scalars. Gradients are reduced back to each input's shape and dtype with
``_util.grad_for``, and computed only for inputs whose gradient flows somewhere.
Backward formulas (and their numerics) follow torch's ``derivatives.yaml``.

Differs from torch: float16 math runs in NumPy's float16 loops (torch computes in float32
and rounds), so float16 results may differ in the last bit.

The ops live by family in ``elementwise_unary``, ``elementwise_binary``,
``elementwise_ternary`` and ``elementwise_compare`` (shared helpers in
``elementwise_common``); this module gathers them into the public namespace and defines the
Tensor operators and in-place forms.
"""
from __future__ import annotations

from .._tensor import Tensor
from .elementwise_common import _PY_NUM, _operand, _raise_broadcast, _check_castable
from .elementwise_unary import (neg, negative, exp, exp2, expm1, log, log2, log10, log1p, sqrt,
                                rsqrt, reciprocal, sin, cos, tan, asin, arcsin, acos, arccos,
                                atan, arctan, sinh, cosh, tanh, sigmoid, relu, erf, erfc, erfinv,
                                abs, absolute, sign, floor, ceil, trunc, fix, frac, round,
                                positive, asinh, arcsinh, acosh, arccosh, atanh, arctanh,
                                deg2rad, rad2deg, logit, signbit)
from .elementwise_binary import (Add, Mul, Div, Pow, Remainder, FloorDivide, _binary,
                                 _float_result, add, sub, rsub, mul, div, true_divide,
                                 floor_divide, pow, float_power, maximum, minimum, fmax, fmin,
                                 remainder, fmod, atan2, arctan2, square, logaddexp,
                                 logaddexp2, hypot, copysign, xlogy)
from .elementwise_ternary import (clamp, clip, clamp_min, clamp_max, where, _where_method, lerp,
                                  addcmul, addcdiv, nan_to_num)
from .elementwise_compare import (eq, ne, lt, le, gt, ge, greater, greater_equal, less,
                                  less_equal, not_equal, equal, logical_and, logical_or,
                                  logical_xor, logical_not, bitwise_and, bitwise_or, bitwise_xor,
                                  bitwise_left_shift, bitwise_right_shift, bitwise_not, _invert,
                                  isnan, isinf, isfinite, isposinf, isneginf, isclose, allclose)

# imported from here by other modules (reduction, nn_ops, loss, nn.functional...)
from .elementwise_common import _tname, zeros_like_t, _masked, _const  # noqa: F401
from .elementwise_unary import Sigmoid  # noqa: F401


# ---------------------------------------------------------------------------------------
# Tensor operators, reflected operators, in-place forms
# ---------------------------------------------------------------------------------------
def _operator(cls, *params):
    """``tensor OP other`` for a binary primitive (the hot path: ``_checked`` inlined);
    unsupported operand types give NotImplemented (TypeError)."""
    def op(self, other):
        if not isinstance(other, Tensor) and type(other) not in _PY_NUM:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _binary(cls, self, other, *params)
    return op


def _reflected(cls, *params):
    """``other OP tensor`` where ``other`` is not a Tensor (a number, a NumPy value)."""
    def op(self, other):
        if type(other) not in _PY_NUM:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _binary(cls, other, self, *params)
    return op


def _checked(fn):
    """``tensor OP other`` through ``fn``: NotImplemented for operand types torch does not
    take (Python then tries the reflected operator or raises TypeError)."""
    def op(self, other):
        if not isinstance(other, Tensor) and type(other) not in _PY_NUM:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return fn(self, other)
    op.__name__ = fn.__name__
    return op


def _swapped(fn):
    """``other OP tensor`` (reflected operator) as ``fn(other, tensor)``; NotImplemented for
    operand types torch does not take."""
    def op(self, other):
        other = _operand(other)
        if other is None:
            return NotImplemented
        return fn(other, self)
    return op


def _number_over_tensor(other, self):
    """``number / tensor`` is computed as torch does: reciprocal(tensor) * number."""
    if isinstance(other, Tensor):
        return div(other, self)
    return mul(reciprocal(self), other)


_rsub = _swapped(sub)
_rtruediv = _swapped(_number_over_tensor)
_rmod = _swapped(remainder)


def _true_div(self, other):
    try:
        return Div.apply(self, other, _float_result(self, other).np)
    except ValueError as e:
        _raise_broadcast(e, self, other)


def _inplace(fn):
    """In-place form of ``fn``: compute out of place, then write into ``self`` under torch's
    rules (dtype castability, broadcast shape, leaf and version checks; ``_inplace_from``
    keeps a copy of ``self`` for an op that saved it, as torch's original_self)."""
    def method(self, *args, **kwargs):
        result = fn(self, *args, **kwargs)
        _check_castable(result, self)
        return self._inplace_from(result)
    method.__name__ = fn.__name__ + "_"
    return method


def _inplace_op(fn):
    """``tensor OP= other``: NotImplemented for foreign operand types."""
    return _checked(_inplace(fn))


subtract, multiply, divide, sgn = sub, mul, div, sign

_PUBLIC = dict(
    add=add, sub=sub, subtract=sub, rsub=rsub, mul=mul, multiply=mul, div=div, divide=div,
    true_divide=true_divide, floor_divide=floor_divide, pow=pow, float_power=float_power,
    maximum=maximum, minimum=minimum, fmax=fmax, fmin=fmin, remainder=remainder, fmod=fmod,
    atan2=atan2, arctan2=arctan2, neg=neg, negative=negative, positive=positive, exp=exp,
    exp2=exp2, expm1=expm1, log=log, log2=log2, log10=log10, log1p=log1p, sqrt=sqrt,
    rsqrt=rsqrt, square=square, reciprocal=reciprocal, sin=sin, cos=cos, tan=tan, asin=asin,
    acos=acos, atan=atan, arcsin=arcsin, arccos=arccos, arctan=arctan, sinh=sinh, cosh=cosh,
    asinh=asinh, arcsinh=arcsinh, acosh=acosh, arccosh=arccosh, atanh=atanh, arctanh=arctanh,
    deg2rad=deg2rad, rad2deg=rad2deg, logit=logit, signbit=signbit, logaddexp=logaddexp,
    logaddexp2=logaddexp2, hypot=hypot, copysign=copysign, xlogy=xlogy,
    tanh=tanh, sigmoid=sigmoid, relu=relu, erf=erf, erfc=erfc, erfinv=erfinv, abs=abs,
    absolute=absolute, sign=sign, sgn=sign, floor=floor, ceil=ceil, round=round, trunc=trunc,
    fix=fix, frac=frac, clamp=clamp, clip=clip, clamp_min=clamp_min, clamp_max=clamp_max,
    where=where, lerp=lerp, addcmul=addcmul, addcdiv=addcdiv, eq=eq, ne=ne, lt=lt, le=le,
    gt=gt, ge=ge, greater=greater, greater_equal=greater_equal, less=less,
    less_equal=less_equal, not_equal=not_equal, equal=equal, logical_and=logical_and,
    logical_or=logical_or, logical_xor=logical_xor, logical_not=logical_not,
    bitwise_and=bitwise_and, bitwise_or=bitwise_or, bitwise_xor=bitwise_xor,
    bitwise_not=bitwise_not, bitwise_left_shift=bitwise_left_shift,
    bitwise_right_shift=bitwise_right_shift, isnan=isnan, isinf=isinf, isfinite=isfinite,
    isposinf=isposinf, isneginf=isneginf, isclose=isclose, allclose=allclose,
    nan_to_num=nan_to_num,
)
__all__ = list(_PUBLIC)

TENSOR_METHODS = dict(_PUBLIC)
TENSOR_METHODS.update({
    "where": _where_method,
    # commutative: ``2 + t`` is add(t, 2), as torch records it (edges in that order)
    "__add__": _operator(Add), "__radd__": _operator(Add),
    "__sub__": _checked(sub), "__rsub__": _rsub,
    "__mul__": _operator(Mul), "__rmul__": _operator(Mul),
    "__truediv__": _checked(_true_div), "__rtruediv__": _rtruediv,
    "__floordiv__": _operator(FloorDivide, "floor"),
    "__rfloordiv__": _reflected(FloorDivide, "floor"),
    "__mod__": _operator(Remainder), "__rmod__": _rmod,
    "__pow__": _operator(Pow), "__rpow__": _reflected(Pow),
    "__neg__": neg, "__pos__": positive, "__abs__": abs, "__invert__": _invert,
    "__eq__": _checked(eq), "__ne__": _checked(ne), "__lt__": _checked(lt),
    "__le__": _checked(le), "__gt__": _checked(gt), "__ge__": _checked(ge),
    "__and__": _checked(bitwise_and), "__or__": _checked(bitwise_or),
    "__xor__": _checked(bitwise_xor), "__rand__": _checked(bitwise_and),
    "__ror__": _checked(bitwise_or), "__rxor__": _checked(bitwise_xor),
    "__lshift__": _checked(bitwise_left_shift), "__rshift__": _checked(bitwise_right_shift),
    "__iadd__": _inplace_op(add), "__isub__": _inplace_op(sub),
    "__imul__": _inplace_op(mul), "__itruediv__": _inplace_op(div),
    "__ifloordiv__": _inplace_op(floor_divide), "__imod__": _inplace_op(remainder),
    "__ipow__": _inplace_op(pow), "__iand__": _inplace_op(bitwise_and),
    "__ior__": _inplace_op(bitwise_or), "__ixor__": _inplace_op(bitwise_xor),
    "__ilshift__": _inplace_op(bitwise_left_shift),
    "__irshift__": _inplace_op(bitwise_right_shift),
})
for _name in ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
              "floor_divide", "pow", "float_power", "remainder", "fmod", "atan2", "arctan2",
              "neg", "negative", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
              "rsqrt", "square", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan",
              "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid", "relu", "erf",
              "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "deg2rad", "rad2deg",
              "logit",
              "erfc", "erfinv", "abs", "absolute", "sign", "sgn", "floor", "ceil", "round",
              "trunc", "fix", "frac", "clamp", "clip", "clamp_min", "clamp_max", "lerp",
              "addcmul", "addcdiv", "eq", "ne", "lt", "le", "gt", "ge", "greater",
              "greater_equal", "less", "less_equal", "not_equal", "logical_and", "logical_or",
              "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
              "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "nan_to_num"):
    TENSOR_METHODS[_name + "_"] = _inplace(_PUBLIC[_name])
del _name
