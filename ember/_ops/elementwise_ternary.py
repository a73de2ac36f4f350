"""Elementwise ops of three operands: clamp (number or tensor bounds), where, lerp,
addcmul/addcdiv, and nan_to_num.
"""
from __future__ import annotations

import builtins

from .._backend import xp
from .._backend import fma as _fma_mod
from .._backend import dtypes as _dt
from .._tensor import Tensor, _CPP_TYPE
from ..autograd.function import Primitive
from ._util import result_dtype, grad_for, as_tensor_arg
from .elementwise_common import (_ndarray, _FLOAT_KINDS, _INT_BOUNDS, _tname, _not_implemented,
                                 _quiet, _need_operand, _fit_scalar, _cast, _meta,
                                 _raise_broadcast, _fma, Where, _masked, _want, _raw, _out,
                                 _const)


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
        elif npd.kind == "f" and any(b is not None and type(b) is not _ndarray and b == 0
                                     for b in (lo, hi)):
            # x equal to a zero number bound (+0.0 vs -0.0): torch returns x, NumPy the
            # bound (with tensor bounds torch's vector loop returns the bound too)
            out = xp.where(out == x, x, out)
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
        # torch multiplies by isfinite(x) (not a select): an inf/NaN gradient at a replaced
        # element gives NaN there, a negative one -0.0
        x, = self.saved_inputs
        return g * _const(xp.isfinite(x._data).astype(g._data.dtype))

    def name(self):
        return "NanToNumBackward0"


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None) -> Tensor:
    """Replace NaN/+inf/-inf with ``nan``/``posinf``/``neginf`` (defaults: 0 and the dtype's
    largest/smallest finite value)."""
    r = NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)
    return r if out is None else _out(r, out)
