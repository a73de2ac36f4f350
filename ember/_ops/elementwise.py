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
"""
from __future__ import annotations

import builtins
import math
import numbers
import warnings

from .._backend import xp
from .._backend import fma as _fma_mod
from .._backend import dtypes as _dt
from .._tensor import Tensor, _SCALAR_TYPE, _CPP_TYPE
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import binary_dtype, result_dtype, grad_for, as_tensor_arg
from . import special as _special

_BY_NP = _dt._BY_NP
_ndarray = xp.ndarray
_PY_NUM = (int, float, bool)          # passed to NumPy as weak scalars
_FLOAT_KINDS = "fc"

_INT_BOUNDS = {xp.dtype(t): (int(xp.iinfo(t).min), int(xp.iinfo(t).max))
               for t in (xp.uint8, xp.int8, xp.int16, xp.int32, xp.int64)}


def _tname(npd) -> str:
    """torch's ScalarType name of a NumPy dtype ('Float', 'Long'...), as kernel errors say."""
    return _SCALAR_TYPE[xp.dtype(npd).name]


def _not_implemented(kernel: str, npd):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_tname(npd)}\'')


def _quiet():
    """NumPy warns on inf/NaN results (log(0), x/0...); torch is silent."""
    return xp.errstate(all="ignore")


# The hot binary ops (add, sub, mul, div) skip ``_quiet`` (an errstate costs ~1 us a call):
# NumPy's floating-point warnings raised from this module are filtered out instead.
warnings.filterwarnings("ignore", r"(divide by zero|overflow|invalid value) encountered",
                        RuntimeWarning, r"ember\._ops\.elementwise")


# ---------------------------------------------------------------------------------------
# Operands, casting, broadcasting errors
# ---------------------------------------------------------------------------------------
def _operand(x):
    """An op argument as torch reads it: a Tensor or Python number, or None if unsupported.

    NumPy scalars become Python numbers (np.bool_ counts as a float, as torch reads it);
    NumPy arrays become tensors."""
    if isinstance(x, Tensor) or type(x) in _PY_NUM:
        return x
    if isinstance(x, xp.generic):
        if isinstance(x, xp.bool_):
            return float(x)
        if isinstance(x, xp.integer):
            return int(x)
        if isinstance(x, xp.floating):
            return float(x)
        return None
    if isinstance(x, _ndarray):
        return as_tensor_arg(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def _need_operand(x, fn: str, pos: str = "other"):
    y = _operand(x)
    if y is None:
        raise TypeError(f"{fn}(): argument '{pos}' must be Tensor or Number, not "
                        f"{type(x).__name__}")
    return y


_FLT_MAX = {xp.dtype(xp.float32): float(xp.finfo(xp.float32).max),
            xp.dtype(xp.float16): float(xp.finfo(xp.float16).max)}


def _fit_scalar(s, npd):
    """A Python number as an operand of dtype ``npd``. Integers that do not fit wrap
    around, as torch's scalar conversion does (NumPy would raise OverflowError); floats
    beyond the dtype's range become ±inf silently (NumPy would warn)."""
    if type(s) is float:
        m = _FLT_MAX.get(npd)
        if m is not None and not -m <= s <= m and s == s:
            with _quiet():
                return npd.type(s)
        return s
    if type(s) is int and npd.kind in "iu":
        lo, hi = _INT_BOUNDS[npd]
        if not lo <= s <= hi:
            if not -2 ** 63 <= s < 2 ** 64:
                raise RuntimeError("value cannot be converted to type int64_t without overflow")
            return xp.array(s & 0xFFFFFFFFFFFFFFFF, dtype=xp.uint64).astype(npd)[()]
    return s


def _cast(a, npd):
    if type(a) is _ndarray:
        return a if a.dtype == npd else a.astype(npd)
    return _fit_scalar(a, npd)


def _meta(a):
    """(shape, dtype) of a forward input, or None for a Python number."""
    return (a.shape, a.dtype) if type(a) is _ndarray else None


def _shape(x) -> tuple:
    return tuple(x.shape) if isinstance(x, (Tensor, _ndarray)) else ()


def _raise_broadcast(err, *operands):
    """Re-raise a NumPy broadcasting failure as torch's RuntimeError naming the sizes."""
    acc: tuple = ()
    for op in operands:
        s = _shape(op)
        n = builtins.max(len(acc), len(s))
        a = (1,) * (n - len(acc)) + tuple(acc)
        b = (1,) * (n - len(s)) + s
        out = []
        for i in range(n - 1, -1, -1):
            if a[i] != b[i] and a[i] != 1 and b[i] != 1:
                raise RuntimeError(f"The size of tensor a ({a[i]}) must match the size of "
                                   f"tensor b ({b[i]}) at non-singleton dimension {i}") \
                    from None
            out.append(b[i] if a[i] == 1 else a[i])
        acc = tuple(reversed(out))
    raise err


def _fma(x, y, z, npd):
    """``x * y + z`` rounded once, like the fused multiply-add in torch's CPU kernels for
    add(alpha=), addcmul and lerp (ember/_backend/fma.py). Python-number factors are rounded
    to float32 first for float32/16 results, as torch's ``opmath`` scalars are."""
    if type(y) is float and npd in _fma_mod.LOW:
        y = float(xp.float32(y))
    return _fma_mod.fma(x, y, z, npd)


def zeros_like_t(t: Tensor) -> Tensor:
    """A constant zero tensor with ``t``'s shape and dtype."""
    return Tensor._wrap(xp.zeros_like(t._data))


class Where(Primitive):
    """where(cond, a, b); ``cond`` is a raw bool array (or Tensor), never differentiated."""
    hidden_edges = (0,)    # torch lists no edge for the condition
    release_attrs = ("cond",)

    def forward(self, cond, a, b, npd):
        if self.requires_grad:
            self.cond = cond
            self.ma, self.mb = _meta(a), _meta(b)
        out = xp.where(cond, _cast(a, npd), _cast(b, npd))
        return out if out.dtype == npd else out.astype(npd)

    def backward(self, g):
        c = self.cond
        e = self._edges
        ga = grad_for(_masked(c, g, True), *self.ma) if e[1][0] is not None else None
        gb = grad_for(_masked(c, g, False), *self.mb) if e[2][0] is not None else None
        return None, ga, gb

    def name(self):
        return "WhereBackward0"


_SAME_SIZE_INT = {2: xp.int16, 4: xp.int32, 8: xp.int64}


def _masked(mask, g: Tensor, keep_true: bool = True) -> Tensor:
    """``g`` where ``mask`` (is ``keep_true``), else +0.0 — differentiable in ``g``.

    A select, not a multiplication, so that inf/NaN gradients outside the mask do not leak
    in as NaN (torch's masked_fill/where semantics). Outside a recorded graph the select is
    done on the bits: multiplying the integer view of ``g`` by the 0/1 mask keeps ``g``
    exactly (inf, NaN, -0.0) or gives the bits of +0.0, in one pass with no finiteness
    check (NumPy's ``where`` is ~10x slower on large arrays)."""
    gd = g._data
    if not STATE.enabled and gd.dtype.kind == "f" and gd.dtype.itemsize in _SAME_SIZE_INT \
            and isinstance(mask, xp.ndarray) and mask.dtype == xp.bool_ \
            and gd.shape == mask.shape:
        it = _SAME_SIZE_INT[gd.dtype.itemsize]
        keep = mask if keep_true else xp.logical_not(mask)
        out = xp.empty(gd.shape, dtype=gd.dtype)     # owns its buffer (no .base)
        oi = out.view(it)
        xp.copyto(oi, keep)       # widen the mask first: faster than a mixed-type multiply
        xp.multiply(oi, gd.view(it), out=oi)
        return Tensor._wrap(out)
    if keep_true:
        return Where.apply(mask, g, 0, g._data.dtype)
    return Where.apply(mask, 0, g, g._data.dtype)


def _const(arr) -> Tensor:
    return Tensor._wrap(arr)


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


def _want(node, i) -> bool:
    return node._edges[i][0] is not None


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
            gb = _masked((ad == 0) & (_raw(b) >= 0), g * (out * la), False)
            gb = grad_for(gb, *self.mb)
        return ga, gb

    def name(self):
        if self.mb is None:
            return "PowBackward0"
        return "PowBackward2" if self.ma is None else "PowBackward1"


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


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
        return self.op(a, b)

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
            return self.op(a, b)

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
        ga = grad_for(g * b * recip, *self.ma) if _want(self, 0) else None
        gb = grad_for(g * -a * recip, *self.mb) if _want(self, 1) else None
        return ga, gb

    def name(self):
        return "Atan2Backward0"


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


def _check_castable(result: Tensor, dest: Tensor):
    if result._data.dtype != dest._data.dtype and not _dt.can_cast(result.dtype, dest.dtype):
        raise RuntimeError(f"result type {_tname(result._data.dtype)} can't be cast to the "
                           f"desired output type {_tname(dest._data.dtype)}")


def _out(result: Tensor, out) -> Tensor:
    """Write ``result`` into the ``out=`` tensor (resizing it if needed), as torch does."""
    if out is None:
        return result
    if STATE.enabled and (result._requires_grad or out._requires_grad):
        raise RuntimeError("functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    _check_castable(result, out)
    if out._data.shape == result._data.shape:
        out._data[...] = result._data
    else:
        out._data = result._data.astype(out._data.dtype)
    out._version.v += 1
    return out


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
    other = _require_tensor(other, "atan2")
    try:
        return Atan2.apply(input, other, _float_result(input, other).np)
    except ValueError as e:
        _raise_broadcast(e, input, other)


arctan2 = atan2


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
Sinh = _unary("Sinh", xp.sinh, lambda g, x, y: g * cosh(x), save_in=True)
Cosh = _unary("Cosh", xp.cosh, lambda g, x, y: g * sinh(x), save_in=True)
Tanh = _unary("Tanh", xp.tanh, lambda g, x, y: g * (1 - y * y), save_out=True)
Sigmoid = _unary("Sigmoid", _sigmoid_fn, lambda g, x, y: g * ((1 - y) * y), save_out=True)
Erf = _unary("Erf", _special.erf_array,
             lambda g, x, y: _TWO_OVER_SQRT_PI * exp(-(x * x)) * g, save_in=True)
Erfc = _unary("Erfc", _special.erfc_array,
              lambda g, x, y: -_TWO_OVER_SQRT_PI * exp(-(x * x)) * g, save_in=True)
Erfinv = _unary("Erfinv", _special.erfinv_array,
                lambda g, x, y: _HALF_SQRT_PI * exp(y * y) * g, save_out=True, quiet=True)
Abs = _unary("Abs", xp.abs, lambda g, x, y: g * _const(xp.sign(x._data)), save_in=True,
             keep_int=True, bool_error=_bool_unsupported("abs_cpu"), int_fn=xp.abs)


def _relu_bool():
    return RuntimeError("Boolean inputs not supported for relu")


# backward as torch's threshold_backward on the saved output: 0 where y <= 0, else g (so a
# NaN output passes its gradient through)
Relu = _unary("Relu", lambda x: xp.maximum(x, 0, dtype=x.dtype),
              lambda g, x, y: _masked(y._data <= 0, g, False), save_out=True, keep_int=True,
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


# ---------------------------------------------------------------------------------------
# Clamp, where, lerp, addcmul/addcdiv, nan_to_num
# ---------------------------------------------------------------------------------------
class Clamp(Primitive):
    """clamp/clamp_min/clamp_max; bounds are numbers (``ClampBackward1``...) or tensors
    (``ClampBackward0``...). Where min > max every element becomes max, as in torch."""
    save_inputs = (0, 1, 2)
    scalar_edges = False   # clamp(Tensor, Scalar, Scalar) lists only the tensor
    _NAMES = {("clamp", False): "ClampBackward1", ("clamp", True): "ClampBackward0",
              ("clamp_min", False): "ClampMinBackward0", ("clamp_min", True): "ClampMinBackward1",
              ("clamp_max", False): "ClampMaxBackward0", ("clamp_max", True): "ClampMaxBackward1"}

    def forward(self, x, lo, hi, npd, kind):
        self.kind = kind
        self.metas = (_meta(x), _meta(lo), _meta(hi))
        x = _cast(x, npd)
        out = x
        if lo is not None:
            out = xp.maximum(out, _cast(lo, npd))
        if hi is not None:
            out = xp.minimum(out, _cast(hi, npd))
        if out is x:
            out = x.copy()
        return out if out.dtype == npd else out.astype(npd)

    def backward(self, g):
        x, lo, hi = self.saved_inputs
        xd, lod, hid = _raw(x), _raw(lo), _raw(hi)
        tensor_bounds = self.metas[1] is not None or self.metas[2] is not None
        gx = glo = ghi = None
        if _want(self, 0):
            keep = xp.ones(xd.shape, bool) if lod is None and hid is None else True
            if lod is not None:
                keep = keep & (xd >= lod)
            if hid is not None:
                keep = keep & (xd <= hid)
            gx = grad_for(_masked(xp.asarray(keep), g), *self.metas[0])
        if tensor_bounds and self.metas[1] is not None and _want(self, 1):
            below = xd < lod
            if hid is not None:
                below = below & (lod < hid)
            glo = grad_for(_masked(below, g), *self.metas[1])
        if tensor_bounds and self.metas[2] is not None and _want(self, 2):
            above = xd > hid
            if lod is not None:
                above = above | (hid < lod)
            ghi = grad_for(_masked(above, g), *self.metas[2])
        return gx, glo, ghi

    def name(self):
        tensor_bounds = self.metas[1] is not None or self.metas[2] is not None
        return self._NAMES[(self.kind, tensor_bounds)]


_CTYPE = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
          "int64": "int64_t", "bool": "bool"}


def _check_bound_fits(v, d: _dt.dtype):
    if isinstance(v, int) and not isinstance(v, bool) and d.np.kind in "iu":
        lo, hi = _INT_BOUNDS[d.np]
        if not lo <= v <= hi:
            raise RuntimeError(f"value cannot be converted to type {_CTYPE[d.name]} without "
                               "overflow")


def _clamp(input, min, max, kind):
    lo = None if min is None else _need_operand(min, kind, "min")
    hi = None if max is None else _need_operand(max, kind, "max")
    if lo is not None and hi is not None and isinstance(lo, Tensor) != isinstance(hi, Tensor):
        raise TypeError(f"{kind}() received an invalid combination of arguments - got (Tensor, "
                        f"{type(lo).__name__}, {type(hi).__name__}): min and max must both be "
                        "Tensors or both numbers")
    d = result_dtype(input, lo, hi)
    if d is _dt.bool_:
        raise _not_implemented("clamp_cpu", xp.bool_)
    for v in (lo, hi):
        _check_bound_fits(v, d)
    try:
        return Clamp.apply(input, lo, hi, d.np, kind)
    except ValueError as e:
        _raise_broadcast(e, input, *(b for b in (lo, hi) if b is not None))


def clamp(input, min=None, max=None, *, out=None) -> Tensor:
    """Limit values to [min, max]; bounds may be numbers or (broadcastable) tensors."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    r = _clamp(input, min, max, "clamp")
    return r if out is None else _out(r, out)


clip = clamp


def clamp_min(input, min) -> Tensor:
    return _clamp(input, min, None, "clamp_min")


def clamp_max(input, max) -> Tensor:
    return _clamp(input, None, max, "clamp_max")


def where(condition, input=None, other=None) -> Tensor:
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (numbers allowed).
    ``where(condition)`` is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        from .indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        condition = as_tensor_arg(condition)
    if condition._data.dtype != xp.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_tname(condition._data.dtype)}")
    a = _need_operand(input, "where", "input")
    b = _need_operand(other, "where")
    d = result_dtype(a, b)
    try:
        return Where.apply(condition, a, b, d.np)
    except ValueError as e:
        _raise_broadcast(e, condition, a, b)


def _where_method(self, condition, other) -> Tensor:
    return where(condition, self, other)


class Lerp(Primitive):
    """start + weight * (end - start), computed as torch does (from the nearer end)."""
    save_inputs = (0, 1, 2)
    scalar_edges = False

    def forward(self, s, e, w):
        self.metas = (_meta(s), _meta(e), _meta(w))
        npd = s.dtype
        diff = e - s
        if type(w) is not _ndarray:
            w = float(xp.float32(w)) if npd in _fma_mod.LOW else w
            return _fma(diff, w, s, npd) if builtins.abs(w) < 0.5 else \
                _fma(diff, w - 1, e, npd)
        w = w.astype(npd, copy=False)
        return xp.where(xp.abs(w) < 0.5, _fma(diff, w, s, npd), _fma(diff, w - 1, e, npd))

    def backward(self, g):
        s, e, w = self.saved_inputs
        gs = grad_for(g * (1 - w), *self.metas[0]) if _want(self, 0) else None
        ge = grad_for(g * w, *self.metas[1]) if _want(self, 1) else None
        gw = None
        if self.metas[2] is not None and _want(self, 2):
            gw = grad_for(g * (e - s), *self.metas[2])
        return gs, ge, gw

    def name(self):
        return "LerpBackward0" if self.metas[2] is None else "LerpBackward1"


def _meta_name(t: Tensor) -> str:
    return _CPP_TYPE.get(t.dtype.name, t.dtype.name)


def lerp(input, end, weight) -> Tensor:
    """Linear interpolation; ``weight`` is a number or a broadcastable tensor."""
    w = _need_operand(weight, "lerp", "weight")
    if not input.dtype.is_floating_point:
        raise _not_implemented("lerp_kernel_tensor" if isinstance(w, Tensor)
                               else "lerp_kernel_scalar", input._data.dtype)
    if end.dtype is not input.dtype:
        raise RuntimeError(f"expected dtype {_meta_name(input)} for `end` but got dtype "
                           f"{_meta_name(end)}")
    if isinstance(w, Tensor) and w.dtype is not input.dtype and w.ndim > 0:
        raise RuntimeError(f"expected dtype {_meta_name(input)} for `weight` but got dtype "
                           f"{_meta_name(w)}")
    try:
        return Lerp.apply(input, end, w)
    except ValueError as e:
        _raise_broadcast(e, input, end, w)


class Addcmul(Primitive):
    """input + value * t1 * t2 (Addcdiv: input + value * t1 / t2)."""
    save_inputs = (1, 2)
    divide = False

    def forward(self, a, t1, t2, npd, value):
        self.metas = (_meta(a), _meta(t1), _meta(t2))
        a, t1, t2 = _cast(a, npd), _cast(t1, npd), _cast(t2, npd)
        if npd.kind in "iu":
            value = int(value)
        self.value = value
        v = t1 if value == 1 else xp.multiply(t1, _fit_scalar(value, npd), dtype=npd)
        with _quiet():
            if self.divide:
                return xp.add(a, xp.true_divide(v, t2))
            return _fma(v, t2, a, npd)

    def backward(self, g):
        t1, t2 = self.saved_inputs
        v = self.value
        ga = grad_for(g, *self.metas[0]) if _want(self, 0) else None
        g1 = g2 = None
        if self.divide:
            if _want(self, 1):
                g1 = grad_for(g * (v / t2), *self.metas[1])
            if _want(self, 2):
                g2 = grad_for(-g * v * t1 / (t2 * t2), *self.metas[2])
        else:
            if _want(self, 1):
                g1 = grad_for(g * t2 * v, *self.metas[1])
            if _want(self, 2):
                g2 = grad_for(g * t1 * v, *self.metas[2])
        return ga, g1, g2

    def name(self):
        return "AddcdivBackward0" if self.divide else "AddcmulBackward0"


class Addcdiv(Addcmul):
    divide = True


def _addc(cls, input, tensor1, tensor2, value):
    d = result_dtype(input, tensor1, tensor2)
    try:
        return cls.apply(input, tensor1, tensor2, d.np, value=value)
    except ValueError as e:
        _raise_broadcast(e, input, tensor1, tensor2)


def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    return _addc(Addcmul, input, tensor1, tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    if not (tensor1.dtype._cat >= 2 or tensor2.dtype._cat >= 2):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    return _addc(Addcdiv, input, tensor1, tensor2, value)


class NanToNum(Primitive):
    save_inputs = (0,)

    def forward(self, x, nan, posinf, neginf):
        if x.dtype.kind not in _FLOAT_KINDS:
            return x.copy()
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    def backward(self, g):
        x, = self.saved_inputs
        return _masked(xp.isfinite(x._data), g)

    def name(self):
        return "NanToNumBackward0"


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None) -> Tensor:
    """Replace NaN/+inf/-inf with ``nan``/``posinf``/``neginf`` (defaults: 0 and the dtype's
    largest/smallest finite value)."""
    r = NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)
    return r if out is None else _out(r, out)


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


def square(input, *, out=None) -> Tensor:
    """input ** 2 (bool inputs give int64, as in torch)."""
    r = pow(input, 2)
    return r if out is None else _out(r, out)


def positive(input) -> Tensor:
    if input.dtype is _dt.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


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
              "erfc", "erfinv", "abs", "absolute", "sign", "sgn", "floor", "ceil", "round",
              "trunc", "fix", "frac", "clamp", "clip", "clamp_min", "clamp_max", "lerp",
              "addcmul", "addcdiv", "eq", "ne", "lt", "le", "gt", "ge", "greater",
              "greater_equal", "less", "less_equal", "not_equal", "logical_and", "logical_or",
              "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor",
              "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "nan_to_num"):
    TENSOR_METHODS[_name + "_"] = _inplace(_PUBLIC[_name])
del _name
