"""Unary elementwise math: neg, exp/log, sqrt, trigonometric and hyperbolic functions,
sigmoid, relu, erf, abs/sign, floor/ceil/trunc/frac and round (see ``elementwise.py`` for the
promotion rules).
"""
from __future__ import annotations

import builtins
import math
import numbers

from .._backend import fma as _fma_mod, parallel, pool, xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from . import special as _special
from ._util import SAME_SIZE_INT, select_bits
from .elementwise_common import _not_implemented, _quiet, zeros_like_t, _masked, _const, _out


# ---------------------------------------------------------------------------------------
# Unary math
# ---------------------------------------------------------------------------------------
class _Unary(Primitive):
    """One-input op. Float functions promote integer/bool inputs to the default float."""
    keep_int = False       # abs/neg/floor/...: integer dtypes keep their dtype
    bool_error = None      # exception raised for bool inputs (when the op refuses them)
    int_error = None       # exception raised for integer inputs (frac)
    tname = ""

    def forward(self, x):
        k = x.dtype.kind
        if k in "biu":
            if k == "b" and self.bool_error is not None:
                raise self.bool_error()
            if self.keep_int:
                if self.int_error is not None:
                    raise self.int_error(x.dtype)
                return self.int_fn(x)
            x = x.astype(_dt.default_float_np())
        with _quiet():
            return self.fn(x)

    @staticmethod
    def int_fn(x):
        return x.copy()

    def name(self):
        return self.tname


def _unary(name, fn, grad, save_in=False, save_out=False, tname=None, quiet=False, **attrs):
    """Define a unary primitive; ``grad(g, x, y)`` gives the input gradient from the
    output gradient, the saved input ``x`` and/or the saved output ``y``. ``quiet``: the
    gradient has poles (1/x...) where torch returns inf/NaN silently."""
    def backward(self, g):
        x = self.saved_inputs[0] if save_in else None
        y = self.saved_output if save_out else None
        if quiet:
            with _quiet():
                return grad(g, x, y)
        return grad(g, x, y)

    return type(name, (_Unary,), {
        "fn": staticmethod(fn), "backward": backward, "save_inputs": (0,) if save_in else (),
        "save_output": save_out, "tname": tname or name + "Backward0",
        **{k: staticmethod(v) if callable(v) else v for k, v in attrs.items()}})


def _sigmoid_fn(x):
    """1 / (1 + exp(-x)), as torch computes it (in place on one buffer)."""
    if x.ndim == 0:
        return 1 / (1 + xp.exp(-x))
    out = xp.negative(x)
    xp.exp(out, out=out)
    out += 1
    return xp.reciprocal(out, out=out)


def _rsqrt_fn(x):
    return 1 / xp.sqrt(x)


def _bool_unsupported(kernel):
    return lambda: _not_implemented(kernel, xp.bool_)


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)


def _neg_bool():
    return RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                        "you are trying to invert a mask, use the `~` or `logical_not()` "
                        "operator instead.")


Neg = _unary("Neg", xp.negative, lambda g, x, y: -g, keep_int=True, bool_error=_neg_bool,
             int_fn=xp.negative)
Exp = _unary("Exp", xp.exp, lambda g, x, y: g * y, save_out=True)
Exp2 = _unary("Exp2", xp.exp2, lambda g, x, y: g * (y * _LN2), save_out=True)
Expm1 = _unary("Expm1", xp.expm1, lambda g, x, y: g * (y + 1), save_out=True)
Log = _unary("Log", xp.log, lambda g, x, y: g / x, save_in=True, quiet=True)
Log2 = _unary("Log2", xp.log2, lambda g, x, y: g / (x * _LN2), save_in=True, quiet=True)
Log10 = _unary("Log10", xp.log10, lambda g, x, y: g / (x * _LN10), save_in=True, quiet=True)
Log1p = _unary("Log1p", xp.log1p, lambda g, x, y: g / (x + 1), save_in=True, quiet=True,
               tname="Log1PBackward0")
Sqrt = _unary("Sqrt", xp.sqrt, lambda g, x, y: g / (2 * y), save_out=True, quiet=True)
Rsqrt = _unary("Rsqrt", _rsqrt_fn, lambda g, x, y: -0.5 * g * (y * y * y), save_out=True,
               quiet=True)
Reciprocal = _unary("Reciprocal", xp.reciprocal, lambda g, x, y: -g * (y * y), save_out=True,
                    quiet=True)
Sin = _unary("Sin", xp.sin, lambda g, x, y: g * cos(x), save_in=True)
Cos = _unary("Cos", xp.cos, lambda g, x, y: g * -sin(x), save_in=True)
Tan = _unary("Tan", xp.tan, lambda g, x, y: g * (1 + y * y), save_out=True, quiet=True)
Asin = _unary("Asin", xp.arcsin, lambda g, x, y: g * rsqrt(-x * x + 1), save_in=True,
              quiet=True)
Acos = _unary("Acos", xp.arccos, lambda g, x, y: g * -rsqrt(-x * x + 1), save_in=True,
              quiet=True)
Atan = _unary("Atan", xp.arctan, lambda g, x, y: g / (x * x + 1), save_in=True)
Asinh = _unary("Asinh", xp.arcsinh, lambda g, x, y: g * rsqrt(x * x + 1), save_in=True)
Acosh = _unary("Acosh", xp.arccosh, lambda g, x, y: g * rsqrt(x * x - 1), save_in=True,
               quiet=True)
Atanh = _unary("Atanh", xp.arctanh, lambda g, x, y: g / (1 - x * x), save_in=True, quiet=True)
_PI_180 = math.pi / 180        # torch's M_PI_180 and M_180_PI (rounded to float32 for
_180_PI = 180 / math.pi        # float32 tensors, as torch's scalar multiply does)
Deg2rad = _unary("Deg2rad", lambda x: x * _PI_180, lambda g, x, y: g * _PI_180,
                 tname="Deg2RadBackward0")
Rad2deg = _unary("Rad2deg", lambda x: x * _180_PI, lambda g, x, y: g * _180_PI,
                 tname="Rad2DegBackward0")
Sinh = _unary("Sinh", xp.sinh, lambda g, x, y: g * cosh(x), save_in=True)
Cosh = _unary("Cosh", xp.cosh, lambda g, x, y: g * sinh(x), save_in=True)
def _tanh_grad(g, x, y):
    """``g * (1 - y*y)`` with ``1 - y*y`` fused as torch's kernel computes it (one rounding;
    exact for float32 through float64, an ulp at most for float64); Tensor ops when a graph
    is recorded."""
    if STATE.enabled:
        return g * (1 - y * y)
    yd = y._data
    return Tensor._wrap(g._data * _fma_mod.fma(-yd, yd, 1.0, yd.dtype))


Tanh = _unary("Tanh", xp.tanh, _tanh_grad, save_out=True)
Sigmoid = _unary("Sigmoid", _sigmoid_fn, lambda g, x, y: g * ((1 - y) * y), save_out=True)
Erf = _unary("Erf", _special.erf_array,
             lambda g, x, y: _TWO_OVER_SQRT_PI * exp(-(x * x)) * g, save_in=True)
Erfc = _unary("Erfc", _special.erfc_array,
              lambda g, x, y: -_TWO_OVER_SQRT_PI * exp(-(x * x)) * g, save_in=True)
Erfinv = _unary("Erfinv", _special.erfinv_array,
                lambda g, x, y: _HALF_SQRT_PI * exp(y * y) * g, save_out=True, quiet=True)
Abs = _unary("Abs", xp.abs, lambda g, x, y: g * _const(_sign_fn(x._data)), save_in=True,
             keep_int=True, bool_error=_bool_unsupported("abs_cpu"), int_fn=xp.abs)


def _relu_bool():
    return RuntimeError("Boolean inputs not supported for relu")


# backward as torch's threshold_backward on the saved output: 0 where y <= 0, else g (so a
# NaN output passes its gradient through)
def _relu_fn(x):
    """max(x, 0). A C-contiguous result above 32 MB comes from the buffer pool; otherwise
    NumPy allocates it in the input's memory order, as torch does (a transposed input gives
    a transposed-strided result). Large contiguous inputs are split over ember's workers."""
    if not x.flags.c_contiguous or x.size < parallel.FLAT_MIN:
        return xp.maximum(x, 0, dtype=x.dtype)
    out = pool.empty(x.shape, x.dtype)
    xf, of = x.reshape(-1), out.reshape(-1)
    parallel.flat(x.size, lambda lo, hi: xp.maximum(xf[lo:hi], 0, out=of[lo:hi]), x.size)
    return out


def _relu_grad(g, x, y):
    """torch's threshold_backward on the saved output: +0.0 where y <= 0, else g (a NaN
    output passes its gradient). Outside a recorded graph, on large contiguous arrays, the
    mask and the select run piece by piece in cache, split over ember's workers."""
    gd, yd = g._data, y._data
    if (STATE.enabled or gd.size < parallel.FLAT_MIN or gd.shape != yd.shape
            or gd.dtype.kind != "f" or gd.dtype.itemsize not in SAME_SIZE_INT
            or not gd.flags.c_contiguous or not yd.flags.c_contiguous):
        return _masked(yd <= 0, g, False)
    out = pool.empty(gd.shape, gd.dtype)
    gf, yf, of = gd.reshape(-1), yd.reshape(-1), out.reshape(-1)

    def piece(lo, hi):
        keep = xp.less_equal(yf[lo:hi], 0)
        xp.logical_not(keep, out=keep)
        select_bits(keep, gf[lo:hi], out=of[lo:hi])
    parallel.flat(gd.size, piece)
    return Tensor._wrap(out)


Relu = _unary("Relu", _relu_fn, _relu_grad, save_out=True, keep_int=True,
              bool_error=_relu_bool, int_fn=lambda x: xp.maximum(x, 0, dtype=x.dtype))


def _zero_grad(g, x, y):
    return zeros_like_t(g)


def _sign_fn(x):
    """(0 < x) - (x < 0), as torch computes it: sign(NaN) is 0."""
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


Sign = _unary("Sign", _sign_fn, _zero_grad, keep_int=True,
              int_fn=lambda x: x.copy() if x.dtype == xp.bool_ else xp.sign(x))
Floor = _unary("Floor", xp.floor, _zero_grad, keep_int=True,
               bool_error=_bool_unsupported("floor_vml_cpu"))
Ceil = _unary("Ceil", xp.ceil, _zero_grad, keep_int=True,
              bool_error=_bool_unsupported("ceil_vml_cpu"))
Trunc = _unary("Trunc", xp.trunc, _zero_grad, keep_int=True,
               bool_error=_bool_unsupported("trunc_vml_cpu"))
Frac = _unary("Frac", lambda x: x - xp.trunc(x), lambda g, x, y: g, keep_int=True,
              bool_error=_bool_unsupported("frac_cpu"),
              int_error=lambda d: _not_implemented("frac_cpu", d))


class Round(_Unary):
    """round half to even; with ``decimals``, torch's x*10^d rounding (RoundBackward1)."""
    keep_int = True
    bool_error = staticmethod(_bool_unsupported("round_vml_cpu"))

    def forward(self, x, decimals=None):
        self.decimals = decimals
        if decimals is None or x.dtype.kind in "biu":
            if decimals and x.dtype.kind in "iu":
                raise _not_implemented("round_cpu", x.dtype)
            return _Unary.forward(self, x)
        p = x.dtype.type(10.0 ** builtins.abs(decimals))
        with _quiet():
            if decimals >= 0:
                return xp.round(x * p) / p
            return xp.round(x / p) * p

    fn = staticmethod(xp.round)

    def backward(self, g):
        return zeros_like_t(g)

    def name(self):
        return "RoundBackward0" if self.decimals is None else "RoundBackward1"


class Logit(_Unary):
    """log(z / (1 - z)), z = x clamped to [eps, 1 - eps] when ``eps`` is given. Backward as
    torch's kernel: ``g / (x (1 - x))``, NaN outside [0, 1] (no eps) or 0 outside
    [eps, 1 - eps]."""
    save_inputs = (0,)
    tname = "LogitBackward0"

    def forward(self, x, eps=None):
        if x.dtype.kind in "biu":
            x = x.astype(_dt.default_float_np())
        self.eps = eps
        with _quiet():
            if eps is None:
                return xp.log(x / (1 - x))
            lo = x.dtype.type(eps)
            z = xp.clip(x, lo, x.dtype.type(1) - lo)
            return xp.log(z / (1 - z))

    def backward(self, g):
        from .elementwise_ternary import where
        x, = self.saved_inputs
        xd = x._data
        with _quiet():
            d = g / (x * (1 - x))
            if self.eps is None:
                outside, fill = (xd < 0) | (xd > 1), math.nan
            else:
                lo = xd.dtype.type(self.eps)
                outside, fill = (xd < lo) | (xd > xd.dtype.type(1) - lo), 0.0
            if outside.any():
                d = where(_const(outside), fill, d)
        return d


def logit(input, eps=None, *, out=None) -> Tensor:
    """The log-odds ``log(p / (1 - p))``; with ``eps``, p is first clamped to
    ``[eps, 1 - eps]``."""
    r = Logit.apply(input, eps=None if eps is None else float(eps))
    return r if out is None else _out(r, out)


def signbit(input, *, out=None) -> Tensor:
    """True where the sign bit is set (-0.0 included; integers: negative values)."""
    d = input._data
    if d.dtype.kind == "c":
        raise RuntimeError("signbit is not implemented for complex tensors.")
    r = Tensor._wrap(xp.signbit(d) if d.dtype.kind == "f" else d < 0)
    return r if out is None else _out(r, out)


# ---------------------------------------------------------------------------------------
# Public unary functions
# ---------------------------------------------------------------------------------------
def _unary_fn(cls, name):
    apply = cls.apply

    def f(input, *, out=None) -> Tensor:
        r = apply(input)
        return r if out is None else _out(r, out)
    f.__name__ = f.__qualname__ = name
    return f


neg = negative = _unary_fn(Neg, "neg")
exp = _unary_fn(Exp, "exp")
exp2 = _unary_fn(Exp2, "exp2")
expm1 = _unary_fn(Expm1, "expm1")
log = _unary_fn(Log, "log")
log2 = _unary_fn(Log2, "log2")
log10 = _unary_fn(Log10, "log10")
log1p = _unary_fn(Log1p, "log1p")
sqrt = _unary_fn(Sqrt, "sqrt")
rsqrt = _unary_fn(Rsqrt, "rsqrt")
reciprocal = _unary_fn(Reciprocal, "reciprocal")
sin = _unary_fn(Sin, "sin")
cos = _unary_fn(Cos, "cos")
tan = _unary_fn(Tan, "tan")
asin = arcsin = _unary_fn(Asin, "asin")
acos = arccos = _unary_fn(Acos, "acos")
atan = arctan = _unary_fn(Atan, "atan")
asinh = arcsinh = _unary_fn(Asinh, "asinh")
acosh = arccosh = _unary_fn(Acosh, "acosh")
atanh = arctanh = _unary_fn(Atanh, "atanh")
deg2rad = _unary_fn(Deg2rad, "deg2rad")
rad2deg = _unary_fn(Rad2deg, "rad2deg")
sinh = _unary_fn(Sinh, "sinh")
cosh = _unary_fn(Cosh, "cosh")
tanh = _unary_fn(Tanh, "tanh")
sigmoid = _unary_fn(Sigmoid, "sigmoid")
relu = _unary_fn(Relu, "relu")
erf = _unary_fn(Erf, "erf")
erfc = _unary_fn(Erfc, "erfc")
erfinv = _unary_fn(Erfinv, "erfinv")
abs = absolute = _unary_fn(Abs, "abs")
sign = _unary_fn(Sign, "sign")
floor = _unary_fn(Floor, "floor")
ceil = _unary_fn(Ceil, "ceil")
trunc = fix = _unary_fn(Trunc, "trunc")
frac = _unary_fn(Frac, "frac")


def round(input, *, decimals=None, out=None) -> Tensor:
    """Round half to even; ``decimals`` rounds to that many decimal places (negative:
    to tens, hundreds...)."""
    if decimals is not None and (not isinstance(decimals, numbers.Integral)
                                 or isinstance(decimals, bool)):
        raise TypeError(f"round() received an invalid combination of arguments - got (Tensor, "
                        f"decimals={type(decimals).__name__})")
    r = Round.apply(input, decimals=None if decimals is None else int(decimals))
    return r if out is None else _out(r, out)


def positive(input) -> Tensor:
    if input.dtype is _dt.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input
