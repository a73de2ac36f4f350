"""Binary elementwise arithmetic: add/sub/mul/div, pow, maximum/minimum, fmax/fmin,
remainder/fmod, rounded division and atan2, with torch's type promotion (see
``elementwise.py``).
"""
from __future__ import annotations

import math
import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import binary_dtype, grad_for
from .elementwise_common import (_ndarray, _PY_NUM, _not_implemented, _quiet, _operand,
                                 _need_operand, _fit_scalar, _meta, _raise_broadcast, _fma,
                                 zeros_like_t, _masked, _const, _want, _raw, _out)
from .elementwise_unary import exp, exp2, log, reciprocal


# ---------------------------------------------------------------------------------------
# Binary arithmetic
# ---------------------------------------------------------------------------------------
class _Binary(Primitive):
    """Base for binary ops: records input metadata so backward can unbroadcast and cast."""

    def _prep(self, a, b, npd):
        if self.requires_grad:
            self.ma, self.mb = _meta(a), _meta(b)
        if type(a) is _ndarray:
            if a.dtype != npd:
                a = a.astype(npd)
        else:
            a = _fit_scalar(a, npd)
        if type(b) is _ndarray:
            if b.dtype != npd:
                b = b.astype(npd)
        else:
            b = _fit_scalar(b, npd)
        return a, b

    def _ga(self, g):
        """Gradient for input a (None if it does not flow anywhere)."""
        return grad_for(g, *self.ma) if self._edges[0][0] is not None else None

    def _gb(self, g):
        return grad_for(g, *self.mb) if self._edges[1][0] is not None else None


class Add(_Binary):
    def forward(self, a, b, npd, alpha=1):
        a, b = self._prep(a, b, npd)
        if alpha != 1:
            self.alpha = alpha
            return _fma(b, _fit_scalar(alpha, npd), a, npd)
        return xp.add(a, b)

    def backward(self, g):
        gb = self._gb(g)
        alpha = getattr(self, "alpha", 1)
        if gb is not None and alpha != 1:
            gb = gb * alpha
        return self._ga(g), gb

    def name(self):
        return "AddBackward0"


class Sub(_Binary):
    def forward(self, a, b, npd, alpha=1):
        if type(a) is not _ndarray:
            self.scalar_edges = False      # rsub(Tensor, Scalar) lists only the tensor
        a, b = self._prep(a, b, npd)
        if alpha != 1:
            self.alpha = alpha
            return _fma(b, _fit_scalar(-alpha, npd), a, npd)
        return xp.subtract(a, b)

    def backward(self, g):
        gb = None
        if _want(self, 1):
            alpha = getattr(self, "alpha", 1)
            gb = grad_for(-g if alpha == 1 else g * -alpha, *self.mb)
        return self._ga(g), gb

    def name(self):
        return "RsubBackward1" if self.ma is None else "SubBackward0"


class Mul(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return xp.multiply(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        ga = grad_for(g * b, *self.ma) if _want(self, 0) else None
        gb = grad_for(g * a, *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "MulBackward0"


class Div(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return xp.true_divide(a, b)      # x / 0 is silent through the module warning filter

    def backward(self, g):
        a, b = self.saved_inputs
        with _quiet():
            ga = grad_for(g / b, *self.ma) if _want(self, 0) else None
            gb = grad_for(-g * ((a / b) / b), *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "DivBackward0"


def _int_pow(a, b, npd):
    """Integer power with torch's rules for negative exponents: a scalar one raises; in a
    tensor, 1 ** -n = 1, (-1) ** -n = ±1 and anything else ** -n = 0."""
    if type(b) is not _ndarray and not isinstance(b, xp.generic):
        if b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return xp.power(a, b)
    neg = b < 0
    if not neg.any():
        return xp.power(a, b)
    pos = xp.power(a, xp.where(neg, 0, b))
    odd = (b % 2) != 0
    small = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
    return xp.where(neg, small, pos).astype(npd)


class Pow(_Binary):
    """pow with torch's three overloads: Tensor**Scalar (PowBackward0), Tensor**Tensor
    (PowBackward1), Scalar**Tensor (PowBackward2)."""
    save_inputs = (0, 1)
    scalar_edges = False   # torch's pow(Tensor, Scalar) lists no edge for the number

    def forward(self, a, b, npd):
        if npd == xp.bool_:
            raise _not_implemented("pow", npd)
        if npd.kind in "iu" and type(b) is not _ndarray and b < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        a, b = self._prep(a, b, npd)
        if npd.kind in "iu":
            return _int_pow(a, b, npd)
        with _quiet():
            if npd.kind == "f" and type(b) is not _ndarray and type(a) is _ndarray:
                # torch's pow kernel computes these exponents with arithmetic, not pow()
                # (NumPy's own fast paths already agree for 2, -1 and 0.5)
                if b == 3:
                    return a * a * a
                if b == -2:
                    return 1 / (a * a)
                if b == -0.5:
                    return 1 / xp.sqrt(a)
            return xp.power(a, b)

    def backward(self, g):
        with _quiet():       # 0 ** -1, log(0) * 0...: inf/NaN as in torch, no warnings
            return self._grads(g)

    def _grads(self, g):
        a, b = self.saved_inputs
        ga = gb = None
        if self.ma is not None and _want(self, 0):
            if self.mb is None:          # exponent is a number
                ga = zeros_like_t(g) if b == 0 else g * (b * pow(a, b - 1))
            else:
                ga = _masked(_raw(b) == 0, g * (b * pow(a, b - 1)), False)
            ga = grad_for(ga, *self.ma)
        if self.mb is not None and _want(self, 1):
            out = pow(a, b)
            la = log(a) if isinstance(a, Tensor) else math.log(a) if a > 0 else \
                (-math.inf if a == 0 else math.nan)
            ad = _raw(a)
            # torch: g * where(a == 0 & b >= 0, 0, out * log(a)) (the zero keeps g's sign)
            gb = g * _masked((ad == 0) & (_raw(b) >= 0), out * la, False)
            gb = grad_for(gb, *self.mb)
        return ga, gb

    def name(self):
        if self.mb is None:
            return "PowBackward0"
        return "PowBackward2" if self.ma is None else "PowBackward1"


class Maximum(_Binary):
    """maximum/minimum: ties split the gradient in half; NaN sends it to both inputs."""
    op = staticmethod(xp.maximum)
    release_attrs = ("wa", "wb")

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        out = self.op(a, b)
        if self.requires_grad:
            # torch: where(a == b, g / 2, g), masked to 0 where the input loses
            share = xp.where(a == b, 0.5, 1.0)
            lt, gt = a < b, a > b
            a_loses, b_loses = (lt, gt) if self.op is xp.maximum else (gt, lt)
            self.wa = xp.where(a_loses, 0.0, share)
            self.wb = xp.where(b_loses, 0.0, share)
        return out

    def backward(self, g):
        d = g._data.dtype
        ga = grad_for(_scaled(g, self.wa, d), *self.ma) if _want(self, 0) else None
        gb = grad_for(_scaled(g, self.wb, d), *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "MaximumBackward0"


def _scaled(g: Tensor, w, d) -> Tensor:
    """g * w for a constant weight array w in {0, 0.5, 1}, with 0 meaning masked out."""
    return _masked(w != 0, g * _const(w.astype(d)), True)


class Minimum(Maximum):
    op = staticmethod(xp.minimum)

    def name(self):
        return "MinimumBackward0"


class Fmax(_Binary):
    """fmax/fmin: NaN-ignoring max/min; ties and NaN in ``other`` go to ``input``."""
    op = staticmethod(xp.fmax)
    release_attrs = ("to_a",)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        if self.requires_grad:
            cmp = (a >= b) if self.op is xp.fmax else (a <= b)
            self.to_a = cmp | xp.isnan(b)
        out = self.op(a, b)
        # equal operands (+0.0 and -0.0): torch returns ``input``; NumPy's loops differ
        # (the scalar loop returns the first operand, the SIMD one the second)
        if out.dtype.kind == "f":
            tie = (a == b) & (out == 0)
            if tie.any():
                out = xp.where(tie, a, out)
        return out

    def backward(self, g):
        ga = grad_for(_masked(self.to_a, g, True), *self.ma) if _want(self, 0) else None
        gb = grad_for(_masked(self.to_a, g, False), *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "FmaxBackward0"


class Fmin(Fmax):
    op = staticmethod(xp.fmin)

    def name(self):
        return "FminBackward0"


def _check_int_divisor(b, npd):
    """Integer division by zero raises in torch (NumPy would return 0 with a warning)."""
    if npd.kind in "iu":
        zero = (b == 0).any() if type(b) is _ndarray else b == 0
        if zero:
            raise RuntimeError("ZeroDivisionError")


class Remainder(_Binary):
    """Python-style remainder (sign of the divisor); fmod (sign of the dividend)."""
    save_inputs = (0, 1)
    scalar_edges = False
    op = staticmethod(xp.remainder)
    kernel = "remainder_cpu"
    mode = "floor"

    def forward(self, a, b, npd):
        if npd == xp.bool_:
            raise _not_implemented(self.kernel, npd)
        a, b = self._prep(a, b, npd)
        _check_int_divisor(b, npd)
        with _quiet():
            out = self.op(a, b)
        if self.op is xp.remainder and npd.kind == "f":
            # a zero result takes the dividend's sign, as torch's fmod-then-adjust gives
            # (NumPy's remainder gives it the divisor's)
            zero = out == 0
            if zero.any():
                out = xp.where(zero, xp.copysign(out, a), out)
        return out

    def backward(self, g):
        a, b = self.saved_inputs
        ga = grad_for(g, *self.ma) if self.ma is not None and _want(self, 0) else None
        gb = None
        if self.mb is not None and _want(self, 1):
            with _quiet():
                q = _round_div(_raw(a), _raw(b), self.mode)
            gb = grad_for(-g * _const(xp.asarray(q, dtype=g._data.dtype)), *self.mb)
        return ga, gb

    def name(self):
        if self.ma is None:
            return "torch::autograd::NotImplemented"
        return f"{type(self).__name__}Backward{0 if self.mb is None else 1}"


class Fmod(Remainder):
    op = staticmethod(xp.fmod)
    kernel = "fmod_cpu"
    mode = "trunc"


class _NumberRemainder(Remainder):
    """Scalar % Tensor: torch has no derivative for it (its grad_fn is NotImplemented)."""

    def backward(self, g):
        raise RuntimeError("derivative for aten::remainder is not implemented")


def _round_div(a, b, mode):
    """a / b rounded by ``mode`` ('floor' or 'trunc'), for arrays of one dtype."""
    if xp.result_type(a, b).kind in "iub":
        q = xp.floor_divide(a, b)
        if mode == "trunc":
            # floor and trunc differ where the division is inexact and the signs differ
            q = q + ((xp.remainder(a, b) != 0) & ((xp.asarray(a) < 0) != (xp.asarray(b) < 0)))
        return q
    if mode == "floor":
        return xp.floor_divide(a, b)
    return xp.trunc(xp.true_divide(a, b))


class DivRounding(_Binary):
    """div(..., rounding_mode='trunc'|'floor'): piecewise constant, zero gradient."""

    def forward(self, a, b, npd, mode):
        if npd == xp.bool_:
            raise _not_implemented("div_floor_cpu" if mode == "floor" else "div_trunc_cpu",
                                   npd)
        a, b = self._prep(a, b, npd)
        _check_int_divisor(b, npd)
        with _quiet():
            q = _round_div(a, b, mode)
        return q if type(q) is _ndarray and q.dtype == npd else xp.asarray(q).astype(npd)

    def backward(self, g):
        z = zeros_like_t(g)
        return (grad_for(z, *self.ma) if self.ma is not None and _want(self, 0) else None,
                grad_for(z, *self.mb) if self.mb is not None and _want(self, 1) else None)

    def name(self):
        return "DivBackward2"


class FloorDivide(DivRounding):
    """``//`` / floor_divide: torch records it but has no derivative for it."""
    scalar_edges = False

    def backward(self, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")

    def name(self):
        return "torch::autograd::NotImplemented"


class Atan2(_Binary):
    save_inputs = (0, 1)

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        return xp.arctan2(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        recip = reciprocal(a * a + b * b)
        inf = xp.isinf(recip._data)
        if inf.any():                    # torch: recip.masked_fill_(recip.isinf(), 0)
            recip = _masked(inf, recip, False)
        ga = grad_for(g * b * recip, *self.ma) if _want(self, 0) else None
        gb = grad_for(g * -a * recip, *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "Atan2Backward0"


class LogAddExp(_Binary):
    """log(exp(a) + exp(b)) as torch's kernel: max + log1p(exp(-|a - b|)), equal infinities
    returned as they are; ``base2``: the same in base 2. Backward g / (1 + exp(b - a))."""
    save_inputs = (0, 1)

    def forward(self, a, b, npd, base2):
        self.base2 = base2
        a, b = self._prep(a, b, npd)
        with _quiet():
            m = xp.maximum(a, b)
            d = -xp.abs(a - b)
            r = m + (xp.log1p(xp.exp2(d)) * (1 / math.log(2)) if base2 else xp.log1p(xp.exp(d)))
            same_inf = xp.isinf(a) & (a == b)
            return xp.where(same_inf, a, r) if same_inf.any() else r

    def backward(self, g):
        a, b = self.saved_inputs
        e = exp2 if self.base2 else exp
        ga = grad_for(g / (1 + e(b - a)), *self.ma) if _want(self, 0) else None
        gb = grad_for(g / (1 + e(a - b)), *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "LogaddexpBackward0" if not self.base2 else "Logaddexp2Backward0"


def logaddexp(input, other) -> Tensor:
    """log(exp(input) + exp(other)), computed without overflow."""
    return _float_binary(LogAddExp, "logaddexp", input, _require_tensor(other, "logaddexp"),
                         base2=False)


def logaddexp2(input, other) -> Tensor:
    """log2(2**input + 2**other), computed without overflow."""
    return _float_binary(LogAddExp, "logaddexp2", input, _require_tensor(other, "logaddexp2"),
                         base2=True)


class _FloatBinary(_Binary):
    """A float-valued binary op with torch's backward formula ``grads(g, a, b, out)``."""
    save_inputs = (0, 1)
    save_output = True
    tname = ""

    def forward(self, a, b, npd):
        a, b = self._prep(a, b, npd)
        with _quiet():
            return xp.asarray(self.fn(a, b), dtype=npd)

    def backward(self, g):
        a, b = self.saved_inputs
        with _quiet():
            ga, gb = self.grads(g, a, b, self.saved_output)
        return (grad_for(ga, *self.ma) if ga is not None and _want(self, 0) else None,
                grad_for(gb, *self.mb) if gb is not None and _want(self, 1) else None)

    def name(self):
        return self.tname


def _xlogy_fn(x, y):
    """torch: NaN if y is NaN, else 0 where x == 0, else x * log(y)."""
    r = xp.where(x == 0, 0, x * xp.log(y))
    return xp.where(xp.isnan(y), xp.nan, r)


class Hypot(_FloatBinary):
    tname = "HypotBackward0"
    fn = staticmethod(xp.hypot)

    @staticmethod
    def grads(g, a, b, out):
        return g * a / out, g * b / out


class Copysign(_FloatBinary):
    tname = "CopysignBackward0"
    fn = staticmethod(xp.copysign)

    @staticmethod
    def grads(g, a, b, out):
        ratio = out / a                   # torch: (result / self) masked to 0 where self == 0
        ratio = _masked(_raw(a) == 0, ratio, False) if isinstance(a, Tensor) else ratio
        return g * ratio, zeros_like_t(g)


class Xlogy(_FloatBinary):
    tname = "XlogyBackward0"
    fn = staticmethod(_xlogy_fn)

    @staticmethod
    def grads(g, a, b, out):
        # torch: xlogy(grad, other).masked_fill((self == 0) & (other <= 0), 0); grad * self / other
        ga = xlogy(g, b)
        zero = (xp.asarray(_raw(a)) == 0) & (xp.asarray(_raw(b)) <= 0)
        if zero.any():
            ga = _masked(xp.broadcast_to(zero, tuple(ga.shape)), ga, False)
        return ga, g * a / b


def _float_binary(cls, name, input, other, **params):
    """Apply a binary primitive whose result is floating (ints promote to the default
    float), with torch's broadcasting error."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments")
    try:
        return cls.apply(input, other, _float_result(input, other).np, **params)
    except ValueError as e:
        _raise_broadcast(e, input, other)


def hypot(input, other) -> Tensor:
    """sqrt(input**2 + other**2) without overflow."""
    return _float_binary(Hypot, "hypot", input, _require_tensor(other, "hypot"))


def copysign(input, other) -> Tensor:
    """``input``'s magnitude with ``other``'s sign (float result)."""
    return _float_binary(Copysign, "copysign", input, other)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (NaN where ``other`` is NaN)."""
    return _float_binary(Xlogy, "xlogy", input, other)


def _binary(cls, a, b, *params, **kw):
    """Apply a binary primitive with torch's type promotion and broadcasting errors."""
    if not isinstance(b, Tensor) and type(b) not in _PY_NUM:
        b = _need_operand(b, cls.__name__.lower())
    if not isinstance(a, Tensor):
        if type(a) not in _PY_NUM:
            a = _need_operand(a, cls.__name__.lower(), "input")
        if not isinstance(b, Tensor):
            raise TypeError(f"{cls.__name__.lower()}(): expected at least one Tensor argument")
    d = binary_dtype(a, b)
    try:
        return cls.apply(a, b, d.np, *params, **kw)
    except ValueError as e:
        _raise_broadcast(e, a, b)


def _float_result(a, b) -> _dt.dtype:
    d = binary_dtype(a, b)
    return d if d._cat >= 2 else _dt.get_default_dtype()


def _check_alpha(d: _dt.dtype, alpha):
    if isinstance(alpha, bool) or isinstance(alpha, xp.bool_):
        if d is not _dt.bool_:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
    elif d._cat <= 1 and not isinstance(alpha, numbers.Integral):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """input + alpha * other."""
    if alpha == 1 and not isinstance(alpha, bool):
        r = _binary(Add, input, other)
    else:
        _check_alpha(binary_dtype(_operand(input), _operand(other)), alpha)
        r = _binary(Add, input, other, alpha=alpha)
    return r if out is None else _out(r, out)


def _is_bool_operand(x) -> bool:
    return isinstance(x, bool) or isinstance(x, Tensor) and x._data.dtype == xp.bool_


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """input - alpha * other."""
    if _is_bool_operand(input) or _is_bool_operand(other):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if alpha == 1:
        r = _binary(Sub, input, other)
    else:
        _check_alpha(binary_dtype(_operand(input), _operand(other)), alpha)
        r = _binary(Sub, input, other, alpha=alpha)
    return r if out is None else _out(r, out)


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input."""
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None) -> Tensor:
    r = _binary(Mul, input, other)
    return r if out is None else _out(r, out)


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """True division (ints give the default float dtype), or rounded with
    ``rounding_mode='trunc'|'floor'`` (keeps integer dtypes)."""
    if rounding_mode is None:
        if not isinstance(other, Tensor) and type(other) not in _PY_NUM:
            other = _need_operand(other, "div")
        if not isinstance(input, Tensor) and type(input) not in _PY_NUM:
            input = _need_operand(input, "div", "input")
        try:
            r = Div.apply(input, other, _float_result(input, other).np)
        except ValueError as e:
            _raise_broadcast(e, input, other)
    elif rounding_mode in ("trunc", "floor"):
        r = _binary(DivRounding, input, other, rounding_mode)
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    return r if out is None else _out(r, out)


def true_divide(input, other, *, out=None) -> Tensor:
    return div(input, other, out=out)


def floor_divide(input, other, *, out=None) -> Tensor:
    """``input // other``: floor division (torch records no derivative for it)."""
    r = _binary(FloorDivide, input, other, "floor")
    return r if out is None else _out(r, out)


def pow(input, exponent, *, out=None) -> Tensor:
    r = _binary(Pow, input, exponent)
    return r if out is None else _out(r, out)


def float_power(input, exponent) -> Tensor:
    """pow computed in float64 (the result is always float64)."""
    return pow(_to_double(input), _to_double(exponent))


def _to_double(x):
    if isinstance(x, Tensor):
        from ._util import cast_arg
        return cast_arg(x, _dt.float64)
    return float(_need_operand(x, "float_power"))


def _require_tensor(x, fn: str):
    if not isinstance(x, Tensor):
        t = type(x)
        tn = t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"
        raise TypeError(f"{fn}(): argument 'other' (position 2) must be Tensor, not {tn}")
    return x


def maximum(input, other) -> Tensor:
    return _binary(Maximum, input, _require_tensor(other, "maximum"))


def minimum(input, other) -> Tensor:
    return _binary(Minimum, input, _require_tensor(other, "minimum"))


def fmax(input, other) -> Tensor:
    return _binary(Fmax, input, _require_tensor(other, "fmax"))


def fmin(input, other) -> Tensor:
    return _binary(Fmin, input, _require_tensor(other, "fmin"))


def remainder(input, other) -> Tensor:
    """Python-style modulus: the result has the sign of ``other``."""
    if not isinstance(input, Tensor):
        return _binary(_NumberRemainder, input, other)
    return _binary(Remainder, input, other)


def fmod(input, other) -> Tensor:
    """C-style modulus: the result has the sign of ``input``."""
    return _binary(Fmod, input, other)


def atan2(input, other) -> Tensor:
    return _float_binary(Atan2, "atan2", input, _require_tensor(other, "atan2"))


arctan2 = atan2


def square(input, *, out=None) -> Tensor:
    """input ** 2 (bool inputs give int64, as in torch)."""
    r = pow(input, 2)
    return r if out is None else _out(r, out)
