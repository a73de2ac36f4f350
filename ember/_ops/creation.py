"""Tensor creation (tensor, zeros, arange, eye...) and dtype conversion (to, type, float...)."""
from __future__ import annotations

import math
import numbers

from .._backend import xp, canonical_device
from .._backend import dtypes as _dt
from .._tensor import Tensor, Size
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
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(v) for v in data]
    return data


def _check_nested(data, depth=0):
    """Reject ragged nested sequences with torch's message."""
    if not isinstance(data, (list, tuple)) or not data:
        return
    first = data[0]
    first_len = len(first) if isinstance(first, (list, tuple)) else None
    for v in data:
        vl = len(v) if isinstance(v, (list, tuple)) else None
        if vl != first_len:
            raise ValueError(f"expected sequence of length {first_len} at dim {depth + 1} (got "
                             f"{vl})")
        if isinstance(v, str):
            raise TypeError("new(): invalid data type 'str'")
    if first_len is not None:
        for v in data:
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
    _dt.from_numpy_dtype(ndarray.dtype)
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. "
                         "Conversion between byte orders is currently not supported.")
    return Tensor._wrap(ndarray)


def _factory(fill):
    def make(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
             pin_memory=False, memory_format=None):
        shape = parse_size(size)
        npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
        return _finish(fill(shape, npd), requires_grad, device)
    return make


zeros = _factory(lambda s, d: xp.zeros(s, dtype=d))
ones = _factory(lambda s, d: xp.ones(s, dtype=d))
empty = _factory(lambda s, d: xp.zeros(s, dtype=d))
zeros.__name__, ones.__name__, empty.__name__ = "zeros", "ones", "empty"


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False):
    shape = parse_size((size,) if not isinstance(size, (tuple, list, Size)) else (tuple(size),))
    if dtype is None:
        if isinstance(fill_value, Tensor):
            fill_value = fill_value.item()
        dtype = _infer_dtype(fill_value)
    return _finish(xp.full(shape, fill_value, dtype=_dt.to_numpy_dtype(dtype)), requires_grad,
                   device)


def _like(fill):
    def make(input, *, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None):
        npd = _dt.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype
        return _finish(fill(input._data.shape, npd), requires_grad, device)
    return make


zeros_like = _like(lambda s, d: xp.zeros(s, dtype=d))
ones_like = _like(lambda s, d: xp.ones(s, dtype=d))
empty_like = _like(lambda s, d: xp.zeros(s, dtype=d))


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype
    return _finish(xp.full(input._data.shape, fill_value, dtype=npd), requires_grad, device)


def _num(v):
    return v.item() if isinstance(v, Tensor) else v


def arange(start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    start, end, step = _num(start), _num(end), _num(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = _dt.get_default_dtype() if is_float else _dt.int64
    npd = _dt.to_numpy_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    if npd.kind in "iub":
        arr = (start + step * xp.arange(n, dtype=xp.int64)).astype(npd)
    else:
        arr = (start + step * xp.arange(n, dtype=xp.float64)).astype(npd)
    return _finish(arr, requires_grad, device)


def range_(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    return _finish((start + step * xp.arange(n, dtype=xp.float64)).astype(npd), requires_grad,
                   device)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    start, end = _num(start), _num(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    if steps == 1:
        arr = xp.asarray([start], dtype=xp.float64)
    else:
        # torch computes from both ends to stay symmetric
        i = xp.arange(steps, dtype=xp.float64)
        stepv = (end - start) / (steps - 1) if steps > 1 else 0.0
        half = steps // 2
        arr = xp.where(i < half, start + stepv * i, end - stepv * (steps - 1 - i))
    if npd.kind in "iu":
        arr = xp.trunc(arr)
    return _finish(arr.astype(npd), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    lin = linspace(start, end, steps, dtype=_dt.float64)
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    return _finish((base ** lin._data).astype(npd), requires_grad, device)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False,
        pin_memory=False):
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else _dt.default_float_np()
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
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
    for a in args:
        if isinstance(a, _dt.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str,)) or type(a).__name__ == "device" or isinstance(a, int):
            device = a
        elif a is None:
            pass
        else:
            raise TypeError(f"to() received an invalid combination of arguments - got "
                            f"({type(a).__name__})")
    if device is not None:
        canonical_device(device)
    if dtype is None or _dt.to_numpy_dtype(dtype) == self._data.dtype:
        return self.clone() if copy else self
    return ToDtype.apply(self, dtype=_dt.to_numpy_dtype(dtype))


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
    if not isinstance(src, Tensor):
        src = tensor(src)
    try:
        shape = xp.broadcast_shapes(src._data.shape, self._data.shape)
    except ValueError:
        shape = None
    if shape != self._data.shape:
        raise RuntimeError(f"The size of tensor a ({self._data.shape[-1] if self._data.ndim else 1}"
                           f") must match the size of tensor b ({src._data.shape[-1]}) at "
                           "non-singleton dimension 0")
    if STATE.enabled and (src._requires_grad or self._requires_grad):
        from ._util import cast_arg, ExpandTo
        res = cast_arg(src, self.dtype)
        if res._data.shape != self._data.shape:
            res = ExpandTo.apply(res, shape=self._data.shape)
        res = _CopyFrom.apply(self, res)
        return self._inplace_from(res)
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor "
                           "refers to a single memory location. Please clone() the tensor before "
                           "performing the operation.")
    self._data[...] = src._data
    self._version.v += 1
    return self


from ..autograd.function import Primitive  # noqa: E402


class _CopyFrom(Primitive):
    def forward(self, dst, src):
        return src.copy()

    def backward(self, g):
        return g * 0, g

    def name(self):
        return "CopyBackwards"


def _fill_(self, value):
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        if STATE.enabled and value._requires_grad:
            return _copy_(self, value.expand(self.shape))
        value = value.item()
    from .._tensor import _leaf_inplace_check
    _leaf_inplace_check(self)
    if STATE.enabled and self._requires_grad:
        return self._inplace_from(_FillLike.apply(self, value=value))
    self._data[...] = value
    self._version.v += 1
    return self


class _FillLike(Primitive):
    def forward(self, x, value):
        return xp.full(x.shape, value, dtype=x.dtype)

    def backward(self, g):
        return g * 0

    def name(self):
        return "FillBackward0"


def _zero_(self):
    return _fill_(self, 0)


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
