"""Tensor creation (tensor, zeros, arange, eye...) and dtype conversion (to, type, float...)."""
from __future__ import annotations

import math
import numbers

from .._backend import xp, canonical_device
from .._backend import dtypes as _dt
from .._tensor import Tensor, Size, _leaf_inplace_check
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import parse_size, ToDtype

_ndarray = xp.ndarray


def _infer_dtype(data) -> _dt.dtype:
    """The dtype torch infers for Python data: bool, int64, default float or complex."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, _ndarray):
        return _dt.from_numpy_dtype(data.dtype)
    if isinstance(data, xp.generic):
        return _dt.from_numpy_dtype(data.dtype)
    if isinstance(data, bool):
        return _dt.bool_
    if isinstance(data, numbers.Integral):
        return _dt.int64
    if isinstance(data, complex):
        return _dt.get_default_dtype().to_complex()
    if isinstance(data, numbers.Real):
        return _dt.get_default_dtype()
    if isinstance(data, (list, tuple)):
        cat = -1
        best = None
        for v in data:
            d = _infer_dtype(v)
            if d._cat > cat:
                cat, best = d._cat, d
            elif d._cat == cat and isinstance(v, (Tensor, _ndarray)) and best is not None:
                best = _dt.promote_types(best, d)
        return best if best is not None else _dt.get_default_dtype()
    raise TypeError(f"Could not infer dtype of {type(data).__name__}")


def _array_from_data(data, dtype: _dt.dtype | None) -> "xp.ndarray":
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, (list, tuple)):
        _check_nested(data)
        arr = xp.asarray(_unwrap_nested(data))
    elif isinstance(data, _ndarray) or isinstance(data, xp.generic):
        arr = xp.asarray(data)
    elif isinstance(data, numbers.Number):
        arr = xp.asarray(data)
    elif hasattr(data, "__array__"):
        arr = xp.asarray(data)
    else:
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    target = dtype if dtype is not None else _infer_dtype(data)
    return xp.array(arr, dtype=_dt.to_numpy_dtype(target), copy=True)


def _unwrap_nested(data):
    """Nested lists for NumPy; a tensor inside a list is a scalar, as in torch."""
    if isinstance(data, Tensor):
        if data._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data._data.reshape(())
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(v) for v in data]
    return data


def _seq_len(v):
    if isinstance(v, (list, tuple)):
        return len(v)
    if isinstance(v, _ndarray) and v.ndim:
        return v.shape[0]
    return None


def _check_nested(data, depth=0):
    """Reject ragged nested sequences with torch's exceptions."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    first_len = _seq_len(data[0])
    for v in data:
        if isinstance(v, str):
            raise TypeError("new(): invalid data type 'str'")
        vl = _seq_len(v)
        if vl == first_len:
            continue
        if vl is None:
            raise TypeError("not a sequence")
        if first_len is None:
            if _infer_dtype(data[0]).is_floating_point:
                raise TypeError(f"must be real number, not {type(v).__name__}")
            raise TypeError(f"'{type(v).__name__}' object cannot be interpreted as an integer")
        raise ValueError(f"expected sequence of length {first_len} at dim {depth + 1} (got "
                         f"{vl})")
    if first_len is not None:
        for v in data:
            if isinstance(v, (list, tuple)):
                _check_nested(v, depth + 1)


def _finish(arr, requires_grad: bool, device=None) -> Tensor:
    canonical_device(device)
    t = Tensor._wrap(arr)
    if requires_grad:
        t._set_requires_grad(True)   # factories' message for non-float dtypes
    return t


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Copy ``data`` into a new leaf tensor (ints give int64, floats the default dtype)."""
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    return _finish(_array_from_data(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a NumPy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is dtype else data.to(dtype)
    if isinstance(data, _ndarray):
        npd = _dt.to_numpy_dtype(dtype) if dtype is not None else None
        _dt.from_numpy_dtype(data.dtype)
        return _finish(data if npd is None or npd == data.dtype else data.astype(npd), False,
                       device)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray) -> Tensor:
    """A tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, _ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    try:
        _dt.from_numpy_dtype(ndarray.dtype)
    except TypeError:
        raise TypeError(f"can't convert np.ndarray of type numpy.{ndarray.dtype.type.__name__}. "
                        "The only supported types are: float64, float32, float16, complex64, "
                        "complex128, int64, int32, int16, int8, uint8, and bool.") from None
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    return Tensor._wrap(ndarray)


def _factory(fill, name):
    def make(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False, memory_format=None):
        try:
            shape = parse_size(size)
        except RuntimeError:
            if name == "zeros":
                raise RuntimeError("zeros: Dimension size must be non-negative.") from None
            raise
        npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
        return _finish(fill(shape, npd), requires_grad, device)
    return make


zeros = _factory(lambda s, d: xp.zeros(s, dtype=d), "zeros")
ones = _factory(lambda s, d: xp.ones(s, dtype=d), "ones")
empty = _factory(lambda s, d: xp.zeros(s, dtype=d), "empty")
zeros.__name__, ones.__name__, empty.__name__ = "zeros", "ones", "empty"


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    if not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    shape = parse_size((tuple(size),))
    if dtype is None:
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        dtype = _infer_dtype(fill_value)
    return _finish(xp.full(shape, fill_value, dtype=_dt.to_numpy_dtype(dtype)), requires_grad,
                   device)


def _like(fill):
    """``*_like`` factories keep the input's memory layout (torch's preserve_format)."""
    def make(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        npd = _dt.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype
        return _finish(fill(input._data, npd), requires_grad, device)
    return make


zeros_like = _like(lambda a, d: xp.zeros_like(a, dtype=d))
ones_like = _like(lambda a, d: xp.ones_like(a, dtype=d))
empty_like = _like(lambda a, d: xp.zeros_like(a, dtype=d))


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype
    return _finish(xp.full_like(input._data, fill_value, dtype=npd), requires_grad, device)


def _num(v):
    return v.item() if isinstance(v, Tensor) else v


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fma(a, b, c):
    """``a * b + c`` rounded once, as an FMA instruction does, for float64 arrays: the exact
    product (Dekker's splitting) and sum as unevaluated pairs, with a halfway result resolved
    by the remaining error so the rounding is correct even at ties."""
    p = a * b
    t = 134217729.0 * a
    ah = t - (t - a)
    al = a - ah
    t = 134217729.0 * b
    bh = t - (t - b)
    bl = b - bh
    ep = ((ah * bh - p) + ah * bl + al * bh) + al * bl     # p + ep == a * b exactly
    s, es = _two_sum(p, c)
    t, et = _two_sum(ep, es)
    r, er = _two_sum(s, t)                                   # true value: r + er + et
    toward = xp.nextafter(r, xp.where(er > 0, xp.inf, -xp.inf))
    tie = (er != 0) & (2 * xp.abs(er) == xp.abs(toward - r))
    return xp.where(tie & (et != 0) & ((et > 0) == (er > 0)), toward, r)


def _float_arange(start: float, step: float, n: int, npd):
    """torch's CPU arange for float dtypes, bit for bit: in blocks of one 32-byte vector, each
    block starts at ``start + step * i`` (double, fused multiply-add, rounded to the dtype)
    and steps from there (double FMA again); the tail past the last pair of vectors is
    ``start + step * i``. (Exact up to 32768 elements, where torch starts splitting work
    between threads.)"""
    i = xp.arange(n, dtype=xp.float64)
    v = 32 // npd.itemsize
    n_vec = n // (2 * v) * (2 * v)
    j = i % v
    full_step = xp.full(n, step)
    base = _fma(full_step, i - j, xp.full(n, start)).astype(npd).astype(xp.float64)
    vec = _fma(full_step, j, base)
    tail = _fma(full_step, i, xp.full(n, start))
    return xp.where(i < n_vec, vec, tail).astype(npd)


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``. Float results round as
    torch's vectorized CPU kernel does (exact for lengths up to 32768)."""
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dt.get_default_dtype() if is_float else _dt.int64
    npd = _dt.to_numpy_dtype(dtype)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if npd == xp.int64:         # torch sizes int64 ranges in integers, from truncated bounds
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if npd == xp.int64:
        n = -(-(end - start + step - (step > 0) + (step < 0)) // step)
    else:
        n = math.ceil((end - start) / step)
    n = max(0, n)
    if npd.kind in "iub":       # other integer dtypes: values from the truncated start/step
        arr = (int(start) + int(step) * xp.arange(n, dtype=xp.int64)).astype(npd)
    else:
        arr = _float_arange(float(start), float(step), n, npd)
    return _finish(arr, requires_grad, device)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    return _finish((start + step * xp.arange(n, dtype=xp.float64)).astype(npd), requires_grad,
                   device)


def _round_sum(p, c, npd):
    """``p + c`` (float64 arrays/scalars) rounded once to the narrower float ``npd``: the
    float64 sum is rounded, and a float64 result exactly halfway between two ``npd`` values
    is resolved by the rounding error of the float64 sum (no double-rounding)."""
    hi = p + c
    bb = hi - p
    err = (p - (hi - bb)) + (c - bb)
    r = hi.astype(npd)
    diff = hi - r.astype(xp.float64)
    toward = xp.nextafter(r, xp.where(diff > 0, xp.inf, -xp.inf).astype(npd))
    tie = (diff != 0) & (2 * xp.abs(diff) == xp.abs(toward.astype(xp.float64) - r))
    fix = tie & (err != 0) & ((err > 0) == (diff > 0))
    return xp.where(fix, toward, r)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False) -> Tensor:
    """``steps`` values from ``start`` to ``end``: the first half counted up from ``start``,
    the second down from ``end``, in the dtype's precision with fused multiply-adds, as
    torch's CPU kernel does (bit-identical results)."""
    start, end = _num(start), _num(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    i = xp.arange(steps)
    half = steps // 2
    if npd.kind in "iub":
        start, end = int(start), int(end)
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        arr = xp.trunc(xp.where(i < half, start + step * i, end - step * (steps - 1 - i)))
    elif steps == 1:
        arr = xp.asarray([start])
    else:
        s, e = npd.type(start), npd.type(end)
        step = (e - s) / npd.type(steps - 1)
        up, down = i.astype(xp.float64), (steps - 1 - i).astype(xp.float64)
        s64, e64, st64 = float(s), float(e), float(step)
        if npd == xp.float64:
            lo = _fma(xp.full(steps, st64), up, xp.full(steps, s64))
            hi = _fma(xp.full(steps, -st64), down, xp.full(steps, e64))
        else:   # a float32/16 product is exact in float64; round the exact sum once
            lo = _round_sum(st64 * up, s64, npd)
            hi = _round_sum(-st64 * down, e64, npd)
        arr = xp.where(i < half, lo, hi)
    return _finish(arr.astype(npd), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype=_dt.float64)
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    return _finish((base ** lin._data).astype(npd), requires_grad, device)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    return _finish(xp.eye(n, m if m is not None else n, dtype=npd), requires_grad, device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = xp.tril_indices(row, offset, col)
    return Tensor._wrap(xp.stack([r, c]).astype(xp.int64))


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = xp.triu_indices(row, offset, col)
    return Tensor._wrap(xp.stack([r, c]).astype(xp.int64))


def meshgrid(*tensors, indexing="ij"):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    n = len(tensors)
    out = []
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    for i, t in enumerate(tensors):
        shape = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        shape[pos] = -1
        out.append(t.reshape(shape).expand(sizes))
    return tuple(out)


# ---- conversions ------------------------------------------------------------------------------
def _to(self, *args, **kwargs):
    """``to(dtype)``, ``to(device)``, ``to(other)``, ``to(device, dtype)``; returns self when
    nothing changes, as torch does."""
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    copy = kwargs.get("copy", False)
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        dtype = rest.pop(0).dtype
    elif rest and isinstance(rest[0], _dt.dtype):
        dtype = rest.pop(0)
    elif rest and (rest[0] is None or isinstance(rest[0], (str, int, _device_type()))) \
            and not isinstance(rest[0], bool):
        device = rest.pop(0)
        if rest and (isinstance(rest[0], _dt.dtype) or rest[0] is None):
            dtype = rest.pop(0) if rest[0] is not None else dtype
    if len(rest) > 2 or not all(isinstance(a, bool) for a in rest):
        raise TypeError(f"to() received an invalid combination of arguments - got "
                        f"({', '.join(type(a).__name__ for a in args)}), but expected one of: "
                        "(device, dtype, non_blocking, copy), (dtype, non_blocking, copy), "
                        "(Tensor, non_blocking, copy)")
    if len(rest) == 2:
        copy = rest[1]
    if device is not None:
        canonical_device(device)
    if dtype is None or _dt.to_numpy_dtype(dtype) == self._data.dtype:
        return self.clone() if copy else self
    return ToDtype.apply(self, dtype=_dt.to_numpy_dtype(dtype))


def _device_type():
    from .._backend import device
    return device


_TYPE_NAMES = {
    "torch.FloatTensor": _dt.float32, "torch.DoubleTensor": _dt.float64,
    "torch.HalfTensor": _dt.float16, "torch.LongTensor": _dt.int64, "torch.IntTensor": _dt.int32,
    "torch.ShortTensor": _dt.int16, "torch.CharTensor": _dt.int8, "torch.ByteTensor": _dt.uint8,
    "torch.BoolTensor": _dt.bool_,
}
_TYPE_NAMES.update({k.replace("torch.", "ember."): v for k, v in list(_TYPE_NAMES.items())})
_NAME_OF = {v: k for k, v in _TYPE_NAMES.items() if k.startswith("torch.")}


def _type(self, dtype=None, non_blocking=False, **kwargs):
    if dtype is None:
        return _NAME_OF.get(self.dtype, "torch.Tensor")
    if isinstance(dtype, str):
        if dtype not in _TYPE_NAMES:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = _TYPE_NAMES[dtype]
    return _to(self, dtype)


def _caster(d):
    def cast(self, memory_format=None):
        return _to(self, d)
    return cast


def _copy_(self, src, non_blocking=False):
    """Copy ``src`` (broadcast, cast) into ``self`` in place; inside a graph ``self``'s old
    value gets a zero gradient and ``src`` the copied one (torch's CopyBackwards)."""
    if not isinstance(src, Tensor):
        src = tensor(src)
    try:
        shape = xp.broadcast_shapes(src._data.shape, self._data.shape)
    except ValueError:
        shape = None
    if shape != self._data.shape:
        if shape is not None:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(shape)}")
        from .indexing import _size_mismatch
        _size_mismatch(self._data.shape, src._data.shape)
    if STATE.enabled and (src._requires_grad or self._requires_grad):
        from .indexing import CopyInto
        return self._inplace_from(CopyInto.apply(self, src))
    _leaf_inplace_check(self)
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    self._data[...] = src._data
    self._version.v += 1
    return self


def _fill_(self, value):
    """Fill in place with a number or a 0-d tensor (which may require grad)."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        if STATE.enabled and (value._requires_grad or self._requires_grad):
            return self._inplace_from(_Fill.apply(self, value, nm="FillBackward3"))
        value = value.item()
    return _fill_number(self, value, "FillBackward2")


def _fill_number(self, value, nm):
    _leaf_inplace_check(self)
    if STATE.enabled and self._requires_grad:
        return self._inplace_from(_Fill.apply(self, value, nm=nm))
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    self._data[...] = value
    self._version.v += 1
    return self


class _Fill(Primitive):
    """``x`` filled with ``value``: ``x`` gets a zero gradient, a tensor ``value`` the sum."""

    def forward(self, x, value, nm):
        self.meta, self.nm = (x.shape, x.dtype), nm
        self.vmeta = (value.shape, value.dtype) if isinstance(value, _ndarray) else None
        return xp.full(x.shape, value, dtype=x.dtype)

    def backward(self, g):
        gx = Tensor._wrap(xp.zeros(*self.meta)) if self.needs_input_grad[0] else None
        gv = None
        if self.vmeta is not None and self.needs_input_grad[1]:
            gv = g.sum().to(_dt.from_numpy_dtype(self.vmeta[1]))
        return gx, gv

    def name(self):
        return self.nm


def _zero_(self):
    return _fill_number(self, 0, "ZeroBackward0")


def _new_factory(fn):
    def m(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*size, dtype=dtype if dtype is not None else self.dtype, device=device,
                  requires_grad=requires_grad)
    return m


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    return tensor(data, dtype=dtype if dtype is not None else self.dtype,
                  requires_grad=requires_grad)


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return full(size, fill_value, dtype=dtype if dtype is not None else self.dtype,
                requires_grad=requires_grad)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t.dtype.is_floating_point


def is_complex(t) -> bool:
    return t.dtype.is_complex


def numel(t) -> int:
    return t.numel()


__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace",
           "logspace", "eye", "tril_indices", "triu_indices", "meshgrid", "is_tensor",
           "is_floating_point", "is_complex", "numel"]
TENSOR_METHODS = {
    "to": _to, "type": _type, "float": _caster(_dt.float32), "double": _caster(_dt.float64),
    "half": _caster(_dt.float16), "long": _caster(_dt.int64), "int": _caster(_dt.int32),
    "short": _caster(_dt.int16), "char": _caster(_dt.int8), "byte": _caster(_dt.uint8),
    "bool": _caster(_dt.bool_), "bfloat16": _caster(_dt.bfloat16),
    "type_as": lambda self, other: _to(self, other.dtype),
    "copy_": _copy_, "fill_": _fill_, "zero_": _zero_,
    "new_zeros": _new_factory(zeros), "new_ones": _new_factory(ones),
    "new_empty": _new_factory(empty), "new_tensor": _new_tensor, "new_full": _new_full,
}
