"""torch's safe globals as the ember objects they load as.

A torch checkpoint's pickle names storage classes (``torch.FloatStorage``), rebuild functions
(``torch._utils._rebuild_tensor_v2``), dtypes, ``torch.device`` and ``torch.Size``. This module
holds their ember counterparts, the storage object a persistent id loads as, and
``map_location`` handling; ``ember.serialization`` drives the file formats around them.
Every rebuild function validates its arguments (they come from an untrusted file) and
views storages without copying.
"""
from __future__ import annotations

import importlib
import pickle
import sys
import warnings
from typing import Callable

import numpy as _np

from ._backend import CPU, canonical_device, device as _device
from ._backend import dtypes as _dt
from ._tensor import Size, Tensor
from ._weights_only_unpickler import Unsupported

# torch's legacy typed-storage classes, by the ember dtype they hold
_STORAGE_NAME = {
    "float64": "DoubleStorage", "float32": "FloatStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
    "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
    "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}
_TORCH_DTYPE_ALIASES = {
    "float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "int64",
    "long": "int64", "int32": "int32", "int": "int32", "int16": "int16", "short": "int16",
    "int8": "int8", "uint8": "uint8", "bool": "bool", "complex64": "complex64",
    "cfloat": "complex64", "complex128": "complex128", "cdouble": "complex128",
}
_TORCH_DTYPES_MISSING = (
    "uint16", "uint32", "uint64", "complex32", "chalf", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8",
    "quint8", "qint32", "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4",
    "bits4x2", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7", "int1", "int2",
    "int3", "int4", "int5", "int6", "int7",
)


def _parameter_class(import_it: bool):
    """ember.nn.Parameter, or None when ember.nn is unavailable (or not imported yet and
    ``import_it`` is False: then no Parameter can exist)."""
    mod = sys.modules.get("ember.nn.parameter")
    if mod is None and import_it:
        try:
            mod = importlib.import_module("ember.nn.parameter")
        except ImportError:
            return None
    return getattr(mod, "Parameter", None)


class _StorageType:
    """What ``torch.FloatStorage`` and friends resolve to: the dtype a storage record holds."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: "_dt.dtype | None"):
        self.name, self.dtype = name, dtype

    def __repr__(self) -> str:
        return f"<torch.{self.name}>"


class _Storage:
    """A loaded storage: one flat array, like torch's TypedStorage (only used while loading,
    and returned as is for a checkpoint that holds a bare storage)."""

    __slots__ = ("array", "dtype")
    device = CPU

    def __init__(self, array, dtype: _dt.dtype):
        self.array, self.dtype = array, dtype

    def size(self) -> int:
        return int(self.array.size)

    __len__ = size

    def nbytes(self) -> int:
        return int(self.array.nbytes)

    def cpu(self) -> "_Storage":
        return self

    def cuda(self, device=None, non_blocking=False):
        canonical_device(device if device is not None else "cuda")

    def to(self, device=None, **kwargs) -> "_Storage":
        canonical_device(device)
        return self

    def tolist(self) -> list:
        return self.array.tolist()

    def as_dtype(self, dt: _dt.dtype) -> "_Storage":
        if dt is self.dtype:
            return self
        raw = self.array.view(_np.uint8)
        if raw.size % dt.itemsize:
            raise pickle.UnpicklingError(f"a {self.dtype} storage of {raw.size} bytes cannot "
                                         f"be viewed as {dt}")
        return _Storage(raw.view(_dt.to_numpy_dtype(dt)), dt)

    def __repr__(self) -> str:
        return f"ember storage of {self.array.size} x {self.dtype} (cpu)"


def _as_index(v, what: str) -> int:
    if type(v) is not int:
        raise pickle.UnpicklingError(f"tensor {what} must be an int, got {type(v).__name__}")
    if v < 0:
        raise pickle.UnpicklingError(f"tensor {what} must be non-negative, got {v}")
    return v


def _has_internal_overlap(shape, strides) -> bool:
    extent = 1
    for s, n in sorted((s, n) for s, n in zip(strides, shape) if n > 1):
        if s < extent:
            return True
        extent = s * (n - 1) + extent
    return False


def _tensor_from_storage(storage, offset, size, stride, requires_grad) -> Tensor:
    """A tensor viewing ``storage`` (no copy), after checking that every element it can reach
    lies inside the storage: a crafted file must not be able to read outside it."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError(f"tensor rebuild expected a storage, got "
                                     f"{type(storage).__name__} (the persistent id is missing "
                                     "or the pickle is malformed)")
    if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride):
        raise pickle.UnpicklingError("tensor size and stride must be tuples of equal length")
    offset = _as_index(offset, "storage offset")
    size = tuple(_as_index(n, "size") for n in size)
    stride = tuple(_as_index(s, "stride") for s in stride)
    if type(requires_grad) is not bool:
        raise pickle.UnpicklingError("tensor requires_grad must be a bool")
    arr = storage.array
    numel = 1
    for n in size:
        numel *= n
    if numel == 0:
        if offset > arr.size:
            raise pickle.UnpicklingError(f"tensor storage offset {offset} is past the end of "
                                         f"its storage ({arr.size} elements)")
        view = _np.empty(size, arr.dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= arr.size:
            raise pickle.UnpicklingError(
                f"tensor of size {list(size)}, stride {list(stride)} and offset {offset} "
                f"reaches element {last} of a storage that has only {arr.size} elements: "
                "the file is corrupted")
        isz = arr.itemsize
        view = _np.ndarray(size, arr.dtype, buffer=arr, offset=offset * isz,
                           strides=tuple(s * isz for s in stride))
        if _has_internal_overlap(size, stride):
            view.flags.writeable = False
    t = Tensor._wrap(view)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _load_tensor(storage, storage_offset, size, stride):
    return _tensor_from_storage(storage, storage_offset, size, stride, False)


def _load_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                    metadata=None):
    return _tensor_from_storage(storage, storage_offset, size, stride, requires_grad)


def _load_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                    dtype, metadata=None):
    if not isinstance(dtype, _dt.dtype):
        raise pickle.UnpicklingError(f"tensor dtype must be a dtype, got {dtype!r}")
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor rebuild expected a storage")
    return _tensor_from_storage(storage.as_dtype(dtype), storage_offset, size, stride,
                                requires_grad)


def _set_state(obj, state) -> None:
    if state is None:
        return
    slots = None
    if isinstance(state, tuple):
        if len(state) != 2:
            raise pickle.UnpicklingError("invalid serialized tensor state")
        state, slots = state
    for part in (state, slots):
        if part:
            if not isinstance(part, dict):
                raise pickle.UnpicklingError("tensor state must be a dict")
            for k, v in part.items():
                if type(k) is not str:
                    raise pickle.UnpicklingError("tensor attribute names must be str")
                try:
                    setattr(obj, k, v)
                except AttributeError:
                    warnings.warn(f"the checkpoint sets attribute {k!r} on a tensor; ember "
                                  "Tensors cannot hold extra attributes, so it was dropped",
                                  stacklevel=3)


def _load_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, Tensor):
        raise pickle.UnpicklingError("Parameter data must be a tensor")
    if type(requires_grad) is not bool:
        raise pickle.UnpicklingError("Parameter requires_grad must be a bool")
    cls = _parameter_class(import_it=True)
    if cls is None:
        p = data.detach()
        p.requires_grad_(requires_grad)
    else:
        p = cls(data, requires_grad)
    _set_state(p, state)
    return p


def _load_parameter_with_state(data, requires_grad, backward_hooks, state):
    return _load_parameter(data, requires_grad, backward_hooks, state)


def _load_from_type_v2(func, new_type, args, state):
    if func not in _TENSOR_LOADERS:
        raise pickle.UnpicklingError("_rebuild_from_type_v2 may only call a tensor rebuild "
                                     "function")
    if type(args) is not tuple:
        raise pickle.UnpicklingError("_rebuild_from_type_v2 arguments must be a tuple")
    t = func(*args)
    param_cls = _parameter_class(import_it=True)
    if new_type is Tensor or new_type is None:
        pass
    elif param_cls is not None and new_type is param_cls and not isinstance(t, param_cls):
        t = param_cls(t, t.requires_grad)
    elif not (isinstance(new_type, type) and isinstance(t, new_type)):
        raise pickle.UnpicklingError(f"cannot rebuild a tensor as {new_type!r}")
    _set_state(t, state)
    return t


_TENSOR_LOADERS = (_load_tensor, _load_tensor_v2, _load_tensor_v3, _load_parameter,
                   _load_parameter_with_state)


def _unsupported(what: str) -> Unsupported:
    return Unsupported(f"the checkpoint contains {what}, which ember does not support")


def _torch_globals() -> dict:
    """torch's safe globals, as the ember objects they load as."""
    g: dict = {}
    for dname, sname in _STORAGE_NAME.items():
        st = _StorageType(sname, _dt._BY_NAME[dname])
        g[f"torch.{sname}"] = g[f"torch.cuda.{sname}"] = st
    g["torch.UntypedStorage"] = g["torch.storage.UntypedStorage"] = \
        g["torch.cuda.UntypedStorage"] = _StorageType("UntypedStorage", _dt.uint8)
    for q in ("QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage",
              "QUInt2x4Storage", "ComplexHalfStorage"):
        g[f"torch.{q}"] = _unsupported(f"a torch.{q} (quantized or complex32 data)")
    for alias, name in _TORCH_DTYPE_ALIASES.items():
        g[f"torch.{alias}"] = _dt._BY_NAME[name]
    for name in _TORCH_DTYPES_MISSING:
        g[f"torch.{name}"] = Unsupported(
            f"the checkpoint uses dtype torch.{name}, which ember (NumPy) cannot represent; "
            "convert it in torch (e.g. .to(torch.float32)) before saving")
    g["torch.device"] = _device
    g["torch.Size"] = Size
    g["torch.Tensor"] = Tensor
    g["torch._utils._rebuild_tensor"] = _load_tensor
    g["torch._utils._rebuild_tensor_v2"] = _load_tensor_v2
    g["torch._utils._rebuild_tensor_v3"] = _load_tensor_v3
    g["torch._utils._rebuild_parameter"] = _load_parameter
    g["torch._utils._rebuild_parameter_with_state"] = _load_parameter_with_state
    g["torch._tensor._rebuild_from_type_v2"] = g["torch.tensor._rebuild_from_type_v2"] = \
        _load_from_type_v2
    for fn, what in (("_rebuild_sparse_tensor", "a sparse tensor"),
                     ("_rebuild_qtensor", "a quantized tensor"),
                     ("_rebuild_nested_tensor", "a nested tensor"),
                     ("_rebuild_wrapper_subclass", "a tensor subclass without storage"),
                     ("_rebuild_meta_tensor_no_storage", "a meta tensor"),
                     ("_rebuild_device_tensor_from_numpy", "a tensor of a device without "
                                                          "storages (e.g. XLA)"),
                     ("_rebuild_device_tensor_from_cpu_tensor", "a tensor of a device without "
                                                               "storages")):
        g[f"torch._utils.{fn}"] = _unsupported(what)
    for q in ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
              "per_channel_symmetric", "per_channel_affine_float_qparams"):
        g[f"torch.{q}"] = _unsupported("quantized tensors")
    g["torch.serialization._get_layout"] = _unsupported("a sparse tensor layout")
    param_cls = _parameter_class(import_it=True)
    if param_cls is not None:
        g["torch.nn.parameter.Parameter"] = param_cls
    return g


def _safe_callables(g: dict) -> set:
    ok = {_device, Size, _load_from_type_v2, *_TENSOR_LOADERS}
    if "torch.nn.parameter.Parameter" in g:
        ok.add(g["torch.nn.parameter.Parameter"])
    return {id(f) for f in ok}


def _bf16_to_float32(raw_u16):
    """bfloat16 bit patterns (uint16) -> float32 values, exactly."""
    return (raw_u16.astype(_np.uint32) << 16).view(_np.float32)


def _decode_storage(raw, stype: _StorageType, byteorder: str, what: str) -> _Storage:
    """Turn a storage record's bytes (a writable uint8 array) into a typed storage."""
    dt = stype.dtype
    if dt is _dt.bfloat16:
        u16 = raw.view(_np.dtype("<u2" if byteorder == "little" else ">u2"))
        warnings.warn(f"{what}: bfloat16 storage loaded as float32 (NumPy has no bfloat16)",
                      stacklevel=4)
        return _Storage(_bf16_to_float32(u16.astype(_np.uint16)), _dt.float32)
    npd = _dt.to_numpy_dtype(dt)
    arr = raw.view(npd)
    if byteorder != sys.byteorder and npd.itemsize > 1:
        arr.byteswap(inplace=True)
    return _Storage(arr, dt)


# ---- map_location ---------------------------------------------------------------------------
def _check_location(location: str) -> None:
    try:
        dev = _device(location)
    except (RuntimeError, TypeError):
        raise RuntimeError(f"the checkpoint stores a tensor on unknown device {location!r}; "
                           "pass map_location='cpu' to load it on the CPU") from None
    if dev.type != "cpu":
        raise RuntimeError(
            f"Attempting to deserialize object on a {dev.type.upper()} device ({location!r}) "
            "but ember has only a CPU backend. Use ember.load with map_location='cpu' (or "
            "map_location=ember.device('cpu')) to map your storages to the CPU.")


def _restore_fn(map_location) -> Callable:
    """``restore(storage, location) -> storage`` for a torch-style ``map_location``."""
    if map_location is None:
        def restore(storage, location):
            _check_location(location)
            return storage
        return restore
    if isinstance(map_location, (str, bytes, _device)) or (
            type(map_location).__name__ == "device" and hasattr(map_location, "type")):
        name = map_location.decode() if isinstance(map_location, bytes) else str(map_location)
        canonical_device(name)    # RuntimeError for cuda/mps/..., as ember has only cpu

        def restore(storage, location):
            return storage
        return restore
    if isinstance(map_location, dict):
        mapping = {}
        for k, v in map_location.items():
            if not isinstance(k, str) or not isinstance(v, (str, _device)):
                raise TypeError("map_location dict must map location strings to location "
                                f"strings or ember.device, got {k!r}: {v!r}")
            mapping[k] = str(v)

        def restore(storage, location):
            _check_location(mapping.get(location, location))
            return storage
        return restore
    if callable(map_location):
        def restore(storage, location):
            out = map_location(storage, location)
            if out is None:
                _check_location(location)
                return storage
            if not isinstance(out, _Storage):
                raise RuntimeError(f"map_location callable must return a storage (or None), "
                                   f"got {type(out).__name__}")
            return out
        return restore
    raise TypeError("map_location must be None, a string, an ember.device, a dict or a "
                    f"callable, got {type(map_location).__name__}")
