"""Shared pieces of the elementwise ops (see ``elementwise.py``): reading operands as torch
does, casting Python numbers to a dtype, torch's broadcasting errors, the masked gradient
select (``Where``/``_masked``) and ``out=`` handling.
"""
from __future__ import annotations

import builtins
import numbers
import warnings

from .._backend import xp
from .._backend import fma as _fma_mod
from .._backend import dtypes as _dt
from .._tensor import Tensor, _SCALAR_TYPE
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import grad_for, as_tensor_arg, SAME_SIZE_INT, select_bits

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


# The hot ops skip ``_quiet`` (an errstate costs ~1 us a call): NumPy's floating-point
# warnings raised from ember's own modules are filtered out instead, as torch computes
# inf/NaN silently (the module pattern matches every ``ember.*`` name, not user code).
warnings.filterwarnings("ignore", r"(divide by zero|overflow|invalid value|underflow) "
                        r"encountered", RuntimeWarning, r"ember\.")


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


def _masked(mask, g: Tensor, keep_true: bool = True) -> Tensor:
    """``g`` where ``mask`` (is ``keep_true``), else +0.0 — differentiable in ``g``.

    A select, not a multiplication, so that inf/NaN gradients outside the mask do not leak
    in as NaN (torch's masked_fill/where semantics). Outside a recorded graph the select is
    done on the bits (``select_bits``), keeping ``g`` exactly (inf, NaN, -0.0) or giving
    +0.0."""
    gd = g._data
    if not STATE.enabled and gd.dtype.kind == "f" and gd.dtype.itemsize in SAME_SIZE_INT \
            and isinstance(mask, xp.ndarray) and mask.dtype == xp.bool_ \
            and gd.shape == mask.shape:
        return Tensor._wrap(select_bits(mask if keep_true else xp.logical_not(mask), gd))
    if keep_true:
        return Where.apply(mask, g, 0, g._data.dtype)
    return Where.apply(mask, 0, g, g._data.dtype)


def _const(arr) -> Tensor:
    return Tensor._wrap(arr)


def _want(node, i) -> bool:
    return node._edges[i][0] is not None


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


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
