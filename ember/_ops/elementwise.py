"""Elementwise primitives: arithmetic, powers, comparisons and unary math.

Binary ops follow torch's type promotion (``_util.binary_dtype``); inputs are cast to the
result dtype inside ``forward`` and gradients are reduced back to each input's shape and
dtype with ``_util.grad_for``.
"""
from __future__ import annotations

import math
import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import binary_dtype, grad_for, as_tensor_arg

_BY_NP = _dt._BY_NP
_ndarray = xp.ndarray


def _cast(a, npd):
    if type(a) is _ndarray and a.dtype != npd:
        return a.astype(npd)
    return a


def _meta(a):
    """(shape, dtype) of a forward input, or None for a Python number."""
    return (a.shape, a.dtype) if type(a) is _ndarray else None


# ---------------------------------------------------------------------------------------
# Binary arithmetic
# ---------------------------------------------------------------------------------------
class _Binary(Primitive):
    """Base for binary ops: records input metadata so backward can unbroadcast/cast."""

    def _prep(self, a, b, npd):
        if self.requires_grad:
            self.ma, self.mb = _meta(a), _meta(b)
        return _cast(a, npd), _cast(b, npd)

    def _ga(self, g):
        m = self.ma
        return None if m is None else grad_for(g, m[0], m[1])

    def _gb(self, g):
        m = self.mb
        return None if m is None else grad_for(g, m[0], m[1])


class Add(_Binary):
    def forward(self, a, b, npd, alpha=1):
        a, b = self._prep(a, b, npd)
        self.alpha = alpha
        if alpha != 1:
            b = b * alpha
        return xp.add(a, b) if type(a) is _ndarray or type(b) is _ndarray else a + b

    def backward(self, g):
        gb = self._gb(g)
        if gb is not None and self.alpha != 1:
            gb = gb * self.alpha
        return self._ga(g), gb

    def name(self):
        return "AddBackward0"


class Sub(_Binary):
    def forward(self, a, b, npd, alpha=1):
        a, b = self._prep(a, b, npd)
        self.alpha = alpha
        if alpha != 1:
            b = b * alpha
        return xp.subtract(a, b)

    def backward(self, g):
        gb = self._gb(g)
        if gb is not None:
            gb = -gb if self.alpha == 1 else gb * (-self.alpha)
        return self._ga(g), gb

    def name(self):
        return "SubBackward0"


class Mul(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return xp.multiply(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        ga = self._ga(g * b) if self.ma is not None else None
        gb = self._gb(g * a) if self.mb is not None else None
        return ga, gb

    def name(self):
        return "MulBackward0"


class Div(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return xp.true_divide(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        ga = self._ga(g / b) if self.ma is not None else None
        gb = self._gb(-g * a / (b * b)) if self.mb is not None else None
        return ga, gb

    def name(self):
        return "DivBackward0"


class Pow(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        if _BY_NP[xp.dtype(npd)]._cat == 1:
            neg = (b < 0) if not isinstance(b, numbers.Number) else b < 0
            if xp.any(neg):
                raise RuntimeError("Integers to negative integer powers are not allowed.")
        return xp.power(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        ga = gb = None
        if self.ma is not None:
            if isinstance(b, numbers.Number):
                ga = g * b * a ** (b - 1) if b != 0 else g * 0
            else:
                ga = g * b * a ** (b - 1)
                ga = where(b == 0, zeros_like_t(ga), ga)
            ga = self._ga(ga)
        if self.mb is not None:
            out = a ** b
            la = log(as_tensor_arg(a)) if not isinstance(a, Tensor) else log(a)
            gb = g * out * la
            gb = where((as_tensor_arg(a) == 0) & (b >= 0), zeros_like_t(gb), gb)
            gb = self._gb(gb)
        return ga, gb

    def name(self):
        return "PowBackward0" if self.mb is None else (
            "PowBackward1" if self.ma is not None else "PowBackward2")


def zeros_like_t(t):
    return Tensor._wrap(xp.zeros_like(t._data))


class Maximum(_Binary):
    save_inputs = (0, 1)
    op = staticmethod(xp.maximum)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return self.op(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        wa = _pick_weight(a, b, self.op is xp.maximum)
        ga = self._ga(g * wa) if self.ma is not None else None
        gb = self._gb(g * (1 - wa)) if self.mb is not None else None
        return ga, gb

    def name(self):
        return "MaximumBackward0"


class Minimum(Maximum):
    op = staticmethod(xp.minimum)

    def name(self):
        return "MinimumBackward0"


def _pick_weight(a, b, is_max):
    """1 where ``a`` wins, 0 where ``b`` wins, 0.5 on ties (torch's split)."""
    ad = a._data if isinstance(a, Tensor) else a
    bd = b._data if isinstance(b, Tensor) else b
    win = (ad > bd) if is_max else (ad < bd)
    w = xp.where(win, 1.0, xp.where(ad == bd, 0.5, 0.0))
    d = ad.dtype if isinstance(ad, _ndarray) else bd.dtype
    return Tensor._wrap(w.astype(d if _BY_NP[d].is_floating_point else _dt.default_float_np()))


class Remainder(_Binary):
    save_inputs = (0, 1)
    op = staticmethod(xp.remainder)
    rounding = staticmethod(xp.floor)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        if _BY_NP[xp.dtype(npd)]._cat <= 1 and xp.any(xp.asarray(b) == 0):
            raise RuntimeError("ZeroDivisionError")
        return self.op(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        ga = self._ga(g) if self.ma is not None else None
        gb = None
        if self.mb is not None:
            q = Tensor._wrap(self.rounding(xp.true_divide(
                a._data if isinstance(a, Tensor) else a, b._data)))
            gb = self._gb(-g * q)
        return ga, gb

    def name(self):
        return "RemainderBackward0"


class Fmod(Remainder):
    op = staticmethod(xp.fmod)
    rounding = staticmethod(xp.trunc)

    def name(self):
        return "FmodBackward0"


class Atan2(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return xp.arctan2(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        den = a * a + b * b
        return (self._ga(g * b / den) if self.ma is not None else None,
                self._gb(-g * a / den) if self.mb is not None else None)

    def name(self):
        return "Atan2Backward0"


def _float_dtype_for(d: _dt.dtype) -> _dt.dtype:
    return d if (d.is_floating_point or d.is_complex) else _dt.get_default_dtype()


def _binary(cls, a, b, **kw):
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{cls.__name__.lower()}(): expected at least one Tensor argument")
    d = binary_dtype(a, b)
    try:
        return cls.apply(a, b, d.np, **kw)
    except (TypeError, ValueError) as e:
        _raise_broadcast(a, b, e)


def _raise_broadcast(a, b, e):
    sa = tuple(a.shape) if isinstance(a, Tensor) else ()
    sb = tuple(b.shape) if isinstance(b, Tensor) else ()
    try:
        xp.broadcast_shapes(sa, sb)
    except ValueError:
        for i in range(1, max(len(sa), len(sb)) + 1):
            x = sa[-i] if i <= len(sa) else 1
            y = sb[-i] if i <= len(sb) else 1
            if x != y and x != 1 and y != 1:
                raise RuntimeError(
                    f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                    f"non-singleton dimension {max(len(sa), len(sb)) - i}") from None
    raise e


def _check_not_tensor_op(a, b):
    if not isinstance(b, (Tensor, numbers.Number)) and not hasattr(b, "__array__"):
        return NotImplemented
    return None


def add(input, other, *, alpha=1, out=None):
    if not isinstance(input, Tensor):
        input = as_tensor_arg(input)
    if input._data.dtype == xp.bool_ and isinstance(other, Tensor) and other._data.dtype == xp.bool_:
        if alpha != 1:
            pass
    return _binary(Add, input, other, alpha=alpha)


def sub(input, other, *, alpha=1, out=None):
    if not isinstance(input, Tensor):
        input = as_tensor_arg(input)
    if input.dtype is _dt.bool_ or (isinstance(other, Tensor) and other.dtype is _dt.bool_) \
            or isinstance(other, bool):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return _binary(Sub, input, other, alpha=alpha)


def mul(input, other, *, out=None):
    if not isinstance(input, Tensor):
        input = as_tensor_arg(input)
    return _binary(Mul, input, other)


def div(input, other, *, rounding_mode=None, out=None):
    if not isinstance(input, Tensor):
        input = as_tensor_arg(input)
    if rounding_mode is None:
        d = _float_dtype_for(binary_dtype(input, other))
        try:
            return Div.apply(input, other, d.np)
        except (TypeError, ValueError) as e:
            _raise_broadcast(input, other, e)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    d = binary_dtype(input, other)
    return _RoundDiv.apply(input, other, d.np, mode=rounding_mode)


class _RoundDiv(_Binary):
    def forward(self, a, b, npd, mode):
        a, b = self._prep(a, b, npd)
        if _BY_NP[xp.dtype(npd)]._cat <= 1:
            if xp.any(xp.asarray(b) == 0):
                raise RuntimeError("ZeroDivisionError")
            q = xp.floor_divide(a, b)
            if mode == "trunc":
                r = xp.remainder(a, b)
                q = q + ((r != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0)))
            return xp.asarray(q).astype(npd)
        q = xp.true_divide(a, b)
        return (xp.trunc if mode == "trunc" else xp.floor)(q)

    def backward(self, g):
        return (self._ga(g * 0) if self.ma else None, self._gb(g * 0) if self.mb else None)

    def name(self):
        return "DivBackward2"


def true_divide(input, other):
    return div(input, other)


def floor_divide(input, other):
    return div(input if isinstance(input, Tensor) else as_tensor_arg(input), other,
               rounding_mode="floor")


def pow(input, exponent, *, out=None):
    if not isinstance(input, Tensor):
        if isinstance(exponent, Tensor):
            d = binary_dtype(exponent, input)
            if exponent.dtype.is_floating_point or not isinstance(input, float):
                pass
            return Pow.apply(input, exponent, d.np)
        input = as_tensor_arg(input)
    return _binary(Pow, input, exponent)


def float_power(input, exponent):
    return pow(_to(input, _dt.float64), _to(exponent, _dt.float64))


def _to(x, d):
    if isinstance(x, Tensor):
        from ._util import cast_arg
        return cast_arg(x, d)
    return float(x)


def maximum(input, other):
    return _binary(Maximum, input, _need_tensor(other, "maximum"))


def minimum(input, other):
    return _binary(Minimum, input, _need_tensor(other, "minimum"))


def fmax(input, other):
    return where(isnan(other) | (input >= other), input, other)


def fmin(input, other):
    return where(isnan(other) | (input <= other), input, other)


def _need_tensor(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def remainder(input, other):
    if not isinstance(input, Tensor):
        input = as_tensor_arg(input)
    return _binary(Remainder, input, other)


def fmod(input, other):
    return _binary(Fmod, input, other)


def atan2(input, other):
    d = _float_dtype_for(binary_dtype(input, other))
    return Atan2.apply(input, other, d.np)


arctan2 = atan2


# ---------------------------------------------------------------------------------------
# Unary math
# ---------------------------------------------------------------------------------------
class _Unary(Primitive):
    """Unary op on floats: ints are promoted to the default float dtype."""
    keep_int = False     # abs/neg/sign/... keep integer dtypes

    def forward(self, x):
        if not self.keep_int and x.dtype.kind in "biu":
            x = x.astype(_dt.default_float_np())
        return self.fn(x)


def _unary(name, fn, grad, save_in=False, save_out=False, keep_int=False, bool_ok=True):
    """Define a unary primitive; ``grad(g, x, y)`` gives the input gradient."""
    def backward(self, g):
        x = self.saved_inputs[0] if save_in else None
        y = self.saved_output if save_out else None
        return grad(g, x, y)

    cls = type(name, (_Unary,), {
        "fn": staticmethod(fn), "backward": backward, "keep_int": keep_int,
        "save_inputs": (0,) if save_in else (), "save_output": save_out,
        "name": lambda self, _n=name + "Backward0": _n,
    })
    return cls


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

Neg = _unary("Neg", xp.negative, lambda g, x, y: -g, keep_int=True)
Exp = _unary("Exp", xp.exp, lambda g, x, y: g * y, save_out=True)
Exp2 = _unary("Exp2", xp.exp2, lambda g, x, y: g * y * _LN2, save_out=True)
Expm1 = _unary("Expm1", xp.expm1, lambda g, x, y: g * (y + 1), save_out=True)
Log = _unary("Log", xp.log, lambda g, x, y: g / x, save_in=True)
Log2 = _unary("Log2", xp.log2, lambda g, x, y: g / (x * _LN2), save_in=True)
Log10 = _unary("Log10", xp.log10, lambda g, x, y: g / (x * _LN10), save_in=True)
Log1p = _unary("Log1p", xp.log1p, lambda g, x, y: g / (x + 1), save_in=True)
Sqrt = _unary("Sqrt", xp.sqrt, lambda g, x, y: g / (2 * y), save_out=True)
Rsqrt = _unary("Rsqrt", lambda x: 1 / xp.sqrt(x), lambda g, x, y: -0.5 * g * y * y * y,
               save_out=True)
Reciprocal = _unary("Reciprocal", xp.reciprocal, lambda g, x, y: -g * y * y, save_out=True)
Sin = _unary("Sin", xp.sin, lambda g, x, y: g * cos(x), save_in=True)
Cos = _unary("Cos", xp.cos, lambda g, x, y: -g * sin(x), save_in=True)
Tan = _unary("Tan", xp.tan, lambda g, x, y: g * (1 + y * y), save_out=True)
Asin = _unary("Asin", xp.arcsin, lambda g, x, y: g * rsqrt(1 - x * x), save_in=True)
Acos = _unary("Acos", xp.arccos, lambda g, x, y: -g * rsqrt(1 - x * x), save_in=True)
Atan = _unary("Atan", xp.arctan, lambda g, x, y: g / (1 + x * x), save_in=True)
Sinh = _unary("Sinh", xp.sinh, lambda g, x, y: g * cosh(x), save_in=True)
Cosh = _unary("Cosh", xp.cosh, lambda g, x, y: g * sinh(x), save_in=True)
Tanh = _unary("Tanh", xp.tanh, lambda g, x, y: g * (1 - y * y), save_out=True)
Abs = _unary("Abs", xp.abs, lambda g, x, y: g * sign(x), save_in=True, keep_int=True)


def _sigmoid_np(x):
    # stable for large |x|, in the input's precision
    out = xp.empty_like(x)
    pos = x >= 0
    with xp.errstate(over="ignore"):
        e = xp.exp(-xp.abs(x))
    out[pos] = 1 / (1 + e[pos])
    out[~pos] = e[~pos] / (1 + e[~pos])
    return out


Sigmoid = _unary("Sigmoid", _sigmoid_np, lambda g, x, y: g * y * (1 - y), save_out=True)


class Relu(Primitive):
    save_output = True

    def forward(self, x):
        if x.dtype == xp.bool_:
            raise RuntimeError('"clamp_min_cpu" not implemented for \'Bool\'')
        return xp.maximum(x, 0, dtype=x.dtype)

    def backward(self, g):
        y = self.saved_output
        return g * Tensor._wrap((y._data > 0).astype(g._data.dtype))

    def name(self):
        return "ReluBackward0"


class _ZeroGrad(_Unary):
    keep_int = True

    def backward(self, g):
        return g * 0


def _zero_grad_unary(name, fn):
    return type(name, (_ZeroGrad,), {"fn": staticmethod(fn),
                                     "name": lambda self, _n=name + "Backward0": _n})


Sign = _zero_grad_unary("Sign", xp.sign)
Floor = _zero_grad_unary("Floor", xp.floor)
Ceil = _zero_grad_unary("Ceil", xp.ceil)
Trunc = _zero_grad_unary("Trunc", xp.trunc)


class Round(_ZeroGrad):
    def forward(self, x, decimals=0):
        return xp.round(x, decimals) if x.dtype.kind == "f" else x.copy()

    def name(self):
        return "RoundBackward0" if True else ""


class Frac(_Unary):
    fn = staticmethod(lambda x: x - xp.trunc(x))

    def backward(self, g):
        return g

    def name(self):
        return "FracBackward0"


class Clamp(Primitive):
    save_inputs = (0, 1, 2)

    def forward(self, x, lo, hi):
        self.shapes = [(a.shape, a.dtype) if type(a) is _ndarray else None for a in (x, lo, hi)]
        if lo is None:
            out = xp.minimum(x, hi)
        elif hi is None:
            out = xp.maximum(x, lo)
        else:
            out = xp.minimum(xp.maximum(x, lo), hi)
        if type(out) is _ndarray and type(x) is _ndarray and out.dtype != x.dtype \
                and type(lo) is not _ndarray and type(hi) is not _ndarray:
            out = out.astype(x.dtype)
        return out

    def backward(self, g):
        x, lo, hi = self.saved_inputs
        xd = x._data
        lod = lo._data if isinstance(lo, Tensor) else lo
        hid = hi._data if isinstance(hi, Tensor) else hi
        inside = xp.ones(g._data.shape, dtype=bool)
        if lod is not None:
            inside &= xd >= lod
        if hid is not None:
            inside &= xd <= hid
            if lod is not None:
                # when min > max torch returns max: grad goes to max
                inside &= ~(xp.asarray(lod) > xp.asarray(hid))
        m = Tensor._wrap(inside.astype(g._data.dtype))
        gx = grad_for(g * m, self.shapes[0][0], self.shapes[0][1])
        glo = ghi = None
        if self.shapes[1] is not None:
            below = xp.asarray(xd < lod)
            if hid is not None:
                below &= ~(xp.asarray(lod) > xp.asarray(hid))
            glo = grad_for(g * Tensor._wrap(below.astype(g._data.dtype)), *self.shapes[1])
        if self.shapes[2] is not None:
            above = xp.asarray(xd > hid)
            if lod is not None:
                above |= xp.asarray(lod) > xp.asarray(hid)
            ghi = grad_for(g * Tensor._wrap(above.astype(g._data.dtype)), *self.shapes[2])
        return gx, glo, ghi

    def name(self):
        if (self.shapes[1] is None) == (self.shapes[2] is None) and self.shapes[1] is None:
            return "ClampBackward1"
        return "ClampBackward0" if self.shapes[1] is not None or self.shapes[2] is not None \
            else "ClampBackward1"


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        d = binary_dtype(input, min) if min is not None else input.dtype
        if max is not None:
            from ._util import result_dtype
            d = result_dtype(input, min, max)
        from ._util import cast_arg
        return Clamp.apply(cast_arg(input, d), cast_arg(min, d) if min is not None else None,
                           cast_arg(max, d) if max is not None else None)
    d = input.dtype
    if (isinstance(min, float) or isinstance(max, float)) and not d.is_floating_point:
        from ._util import cast_arg
        input = cast_arg(input, _dt.get_default_dtype())
    return Clamp.apply(input, min, max)


clip = clamp


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


class Where(Primitive):
    def forward(self, cond, a, b, npd):
        self.cond = cond
        self.ma, self.mb = _meta(a), _meta(b)
        return xp.where(cond, _cast(a, npd), _cast(b, npd))

    def backward(self, g):
        c = Tensor._wrap(self.cond)
        z = zeros_like_t(g)
        ga = grad_for(where(c, g, z), *self.ma) if self.ma else None
        gb = grad_for(where(c, z, g), *self.mb) if self.mb else None
        return None, ga, gb

    def name(self):
        return "WhereBackward0"


def where(condition, input=None, other=None):
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        condition = as_tensor_arg(condition)
    if condition.dtype is not _dt.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {condition.dtype.name.capitalize()}")
    d = binary_dtype(input, other) if (isinstance(input, Tensor) or isinstance(other, Tensor)) \
        else _dt.result_type_of([(None, None, input), (None, None, other)])
    return Where.apply(condition, input, other, d.np)


def lerp(input, end, weight):
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 * tensor2 if value != 1 else input + tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * (tensor1 / tensor2) if value != 1 else input + tensor1 / tensor2


# ---------------------------------------------------------------------------------------
# Non-differentiable: comparisons, logical, bitwise, predicates
# ---------------------------------------------------------------------------------------
def _raw(x):
    return x._data if isinstance(x, Tensor) else x


def _compare(fn, a, b):
    try:
        return Tensor._wrap(xp.asarray(fn(_raw(a), _raw(b))))
    except ValueError as e:
        _raise_broadcast(a, b, e)


def eq(input, other):
    return _compare(xp.equal, input, other)


def ne(input, other):
    return _compare(xp.not_equal, input, other)


def lt(input, other):
    return _compare(xp.less, input, other)


def le(input, other):
    return _compare(xp.less_equal, input, other)


def gt(input, other):
    return _compare(xp.greater, input, other)


def ge(input, other):
    return _compare(xp.greater_equal, input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def equal(input, other) -> bool:
    return input.shape == other.shape and bool(xp.array_equal(input._data, other._data))


def logical_and(input, other):
    return _compare(xp.logical_and, input, other)


def logical_or(input, other):
    return _compare(xp.logical_or, input, other)


def logical_xor(input, other):
    return _compare(xp.logical_xor, input, other)


def logical_not(input):
    return Tensor._wrap(xp.logical_not(input._data))


def _bitwise(fn, name, a, b):
    for x in (a, b):
        if isinstance(x, Tensor) and x.dtype._cat >= 2 or isinstance(x, float):
            raise RuntimeError(f'"{name}_cpu" not implemented for '
                               f"'{(x.dtype if isinstance(x, Tensor) else _dt.float32).name.capitalize().replace('32', '').replace('64', '')}'")
    d = binary_dtype(a, b) if isinstance(a, Tensor) else binary_dtype(b, a)
    return Tensor._wrap(xp.asarray(fn(_cast(_raw(a), d.np), _cast(_raw(b), d.np))).astype(d.np))


def bitwise_and(input, other):
    return _bitwise(xp.bitwise_and, "bitwise_and", input, other)


def bitwise_or(input, other):
    return _bitwise(xp.bitwise_or, "bitwise_or", input, other)


def bitwise_xor(input, other):
    return _bitwise(xp.bitwise_xor, "bitwise_xor", input, other)


def bitwise_not(input):
    if input.dtype._cat >= 2:
        raise RuntimeError(f"\"bitwise_not_cpu\" not implemented for 'Float'")
    return Tensor._wrap(xp.invert(input._data))


def isnan(input):
    return Tensor._wrap(xp.isnan(input._data))


def isinf(input):
    return Tensor._wrap(xp.isinf(input._data))


def isfinite(input):
    return Tensor._wrap(xp.isfinite(input._data))


def isposinf(input):
    return Tensor._wrap(xp.isposinf(input._data))


def isneginf(input):
    return Tensor._wrap(xp.isneginf(input._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return Tensor._wrap(xp.isclose(input._data, _raw(other), rtol=rtol, atol=atol,
                                   equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return bool(xp.allclose(input._data, _raw(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


class NanToNum(Primitive):
    def forward(self, x, nan, posinf, neginf):
        self.finite = xp.isfinite(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        return g * Tensor._wrap(self.finite.astype(g._data.dtype))

    def name(self):
        return "NanToNumBackward0"


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------
def _unary_fn(cls):
    def f(input):
        return cls.apply(input)
    f.__name__ = cls.__name__.lower()
    return f


neg = negative = _unary_fn(Neg)
exp = _unary_fn(Exp)
exp2 = _unary_fn(Exp2)
expm1 = _unary_fn(Expm1)
log = _unary_fn(Log)
log2 = _unary_fn(Log2)
log10 = _unary_fn(Log10)
log1p = _unary_fn(Log1p)
sqrt = _unary_fn(Sqrt)
rsqrt = _unary_fn(Rsqrt)
reciprocal = _unary_fn(Reciprocal)
sin = _unary_fn(Sin)
cos = _unary_fn(Cos)
tan = _unary_fn(Tan)
asin = arcsin = _unary_fn(Asin)
acos = arccos = _unary_fn(Acos)
atan = arctan = _unary_fn(Atan)
sinh = _unary_fn(Sinh)
cosh = _unary_fn(Cosh)
tanh = _unary_fn(Tanh)
sigmoid = _unary_fn(Sigmoid)
relu = _unary_fn(Relu)
abs = absolute = _unary_fn(Abs)
sign = _unary_fn(Sign)
floor = _unary_fn(Floor)
ceil = _unary_fn(Ceil)
trunc = fix = _unary_fn(Trunc)
frac = _unary_fn(Frac)


def round(input, *, decimals=0):
    return Round.apply(input, decimals=decimals)


def square(input):
    return input * input if input.dtype is not _dt.bool_ else pow(input, 2)


# ---------------------------------------------------------------------------------------
# Tensor methods and operators
# ---------------------------------------------------------------------------------------
def _rsub(self, other):
    return sub(as_tensor_arg(other) if not isinstance(other, Tensor) else other, self)


def _rdiv(self, other):
    return div(as_tensor_arg(other), self) if not isinstance(other, Tensor) else div(other, self)


def _rpow(self, other):
    return pow(other, self)


def _rfloordiv(self, other):
    return floor_divide(as_tensor_arg(other), self)


def _rmod(self, other):
    return remainder(as_tensor_arg(other), self)


def _inplace(fn):
    def method(self, *args, **kwargs):
        return self._inplace_from(fn(self, *args, **kwargs))
    method.__name__ = fn.__name__ + "_"
    return method


def _guard(fn):
    """Binary operator that returns NotImplemented for foreign operand types."""
    def op(self, other):
        if not isinstance(other, (Tensor, numbers.Number)) and not isinstance(other, xp.generic):
            if isinstance(other, (list, tuple, xp.ndarray)):
                other = as_tensor_arg(other)
            else:
                return NotImplemented
        return fn(self, other)
    op.__name__ = fn.__name__
    return op


_PUBLIC = dict(
    add=add, sub=sub, subtract=sub, mul=mul, multiply=mul, div=div, divide=div,
    true_divide=true_divide, floor_divide=floor_divide, pow=pow, float_power=float_power,
    maximum=maximum, minimum=minimum, fmax=fmax, fmin=fmin, remainder=remainder, fmod=fmod,
    atan2=atan2, arctan2=arctan2, neg=neg, negative=negative, exp=exp, exp2=exp2, expm1=expm1,
    log=log, log2=log2, log10=log10, log1p=log1p, sqrt=sqrt, rsqrt=rsqrt, square=square,
    reciprocal=reciprocal, sin=sin, cos=cos, tan=tan, asin=asin, acos=acos, atan=atan,
    arcsin=arcsin, arccos=arccos, arctan=arctan, sinh=sinh, cosh=cosh, tanh=tanh,
    sigmoid=sigmoid, relu=relu, abs=abs, absolute=absolute, sign=sign, floor=floor,
    ceil=ceil, round=round, trunc=trunc, fix=fix, frac=frac, clamp=clamp, clip=clip,
    clamp_min=clamp_min, clamp_max=clamp_max, where=where, lerp=lerp, addcmul=addcmul,
    addcdiv=addcdiv, eq=eq, ne=ne, lt=lt, le=le, gt=gt, ge=ge, greater=greater,
    greater_equal=greater_equal, less=less, less_equal=less_equal, not_equal=not_equal,
    equal=equal, logical_and=logical_and, logical_or=logical_or, logical_xor=logical_xor,
    logical_not=logical_not, bitwise_and=bitwise_and, bitwise_or=bitwise_or,
    bitwise_xor=bitwise_xor, bitwise_not=bitwise_not, isnan=isnan, isinf=isinf,
    isfinite=isfinite, isposinf=isposinf, isneginf=isneginf, isclose=isclose,
    allclose=allclose, nan_to_num=nan_to_num,
)
globals().update(_PUBLIC)
__all__ = list(_PUBLIC)

TENSOR_METHODS = {k: v for k, v in _PUBLIC.items()}
TENSOR_METHODS.update({
    "__add__": _guard(add), "__radd__": _guard(lambda s, o: add(s, o)),
    "__sub__": _guard(sub), "__rsub__": _guard(_rsub),
    "__mul__": _guard(mul), "__rmul__": _guard(lambda s, o: mul(s, o)),
    "__truediv__": _guard(div), "__rtruediv__": _guard(_rdiv),
    "__floordiv__": _guard(floor_divide), "__rfloordiv__": _guard(_rfloordiv),
    "__mod__": _guard(remainder), "__rmod__": _guard(_rmod),
    "__pow__": _guard(pow), "__rpow__": _guard(_rpow),
    "__neg__": neg, "__pos__": lambda s: s, "__abs__": abs,
    "__eq__": _guard(eq), "__ne__": _guard(ne), "__lt__": _guard(lt), "__le__": _guard(le),
    "__gt__": _guard(gt), "__ge__": _guard(ge),
    "__and__": _guard(bitwise_and), "__or__": _guard(bitwise_or),
    "__xor__": _guard(bitwise_xor), "__invert__": bitwise_not,
    "__rand__": _guard(lambda s, o: bitwise_and(s, o)),
    "__ror__": _guard(lambda s, o: bitwise_or(s, o)),
    "__rxor__": _guard(lambda s, o: bitwise_xor(s, o)),
    "__iadd__": _inplace(_guard(add)), "__isub__": _inplace(_guard(sub)),
    "__imul__": _inplace(_guard(mul)), "__itruediv__": _inplace(_guard(div)),
    "__ifloordiv__": _inplace(_guard(floor_divide)), "__imod__": _inplace(_guard(remainder)),
    "__ipow__": _inplace(_guard(pow)),
    "__iand__": _inplace(_guard(bitwise_and)), "__ior__": _inplace(_guard(bitwise_or)),
    "__ixor__": _inplace(_guard(bitwise_xor)),
})
for _name in ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
              "floor_divide", "pow", "remainder", "fmod", "atan2", "neg", "negative", "exp",
              "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square",
              "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "arcsin", "arccos",
              "arctan", "sinh", "cosh", "tanh", "sigmoid", "relu", "abs", "absolute", "sign",
              "floor", "ceil", "round", "trunc", "fix", "frac", "clamp", "clip", "clamp_min",
              "clamp_max", "lerp", "addcmul", "addcdiv", "logical_and", "logical_or",
              "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
              "bitwise_not", "nan_to_num", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
              "ge"):
    TENSOR_METHODS[_name + "_"] = _inplace(_PUBLIC[_name])
TENSOR_METHODS["__eq__"] = _guard(eq)
