"""Checkpoints in PyTorch's own file format: ``ember.save`` / ``ember.load``.

``ember.save`` writes the zip archive that ``torch.save`` writes (``archive/data.pkl``, one
record per storage under ``archive/data/``, ``byteorder``, ``version``, ...), so
``torch.load(f, weights_only=True)`` reads it; ``ember.load`` reads what ``torch.save`` wrote,
without torch installed. Tensors that view the same memory are saved as views of one storage
and come back sharing memory, in both directions.

Differences from torch:

* ``load`` defaults to ``weights_only=True`` and interprets the pickle itself
  (``ember._weights_only_unpickler``): no code from the file runs. ``weights_only=False`` uses
  Python's unpickler (which runs whatever the file says) and maps ``torch.*`` globals to their
  ``ember.*`` counterparts.
* Saving to a path is atomic: the data goes to a temporary file in the same directory, is
  fsync'ed and then renamed over the target, so a failed or killed save leaves any existing
  file untouched (a killed process may leave a ``.NAME.*.tmp`` file behind).
* Only CPU storages exist: a storage saved on CUDA needs ``map_location='cpu'`` (or a dict /
  callable mapping it there), otherwise loading raises ``RuntimeError``.
* ``bfloat16`` storages load as ``float32`` (NumPy has no bfloat16), with a warning. Sparse,
  quantized, nested and meta tensors, and dtypes NumPy lacks (uint16/32/64, float8) raise
  ``NotImplementedError``. The pre-1.6 non-zip format is read; the pre-0.4 tar format is not.
"""
from __future__ import annotations

import _compat_pickle
import errno
import importlib
import io
import os
import pickle
import pickletools
import secrets
import stat
import struct
import sys
import warnings
import zipfile
from collections import OrderedDict
from typing import IO, Any, Callable, Union

import numpy as _np

from . import _weights_only_unpickler as _wou
from ._backend import CPU, canonical_device, device as _device
from ._backend import dtypes as _dt
from ._tensor import Size, Tensor
from ._weights_only_unpickler import (  # noqa: F401  (public API, as in torch.serialization)
    add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals, Unsupported,
)

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

FileLike = Union[str, os.PathLike, IO[bytes]]
DEFAULT_PROTOCOL = 2
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C      # the legacy (non-zip) format's first pickle
PROTOCOL_VERSION = 1001
_ALIGNMENT = 64                             # torch aligns storage records for mmap
_CHUNK = 1 << 24                            # bytes per write/read call for storage data

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


# =============================================================================================
# Saving
# =============================================================================================
class _TorchName:
    """A torch global written by name (``GLOBAL 'torch FloatStorage'``): torch.load resolves
    it to the real object, and ember never has to import torch to write it."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args, **kwargs):   # pickle's save_reduce requires a callable
        raise TypeError(f"{self.module}.{self.name} is a name written into a checkpoint")

    def __repr__(self) -> str:
        return f"<torch global {self.module}.{self.name}>"


_NAMES: dict = {}


def _torch_name(module: str, name: str) -> _TorchName:
    ref = _NAMES.get((module, name))
    if ref is None:
        ref = _NAMES[(module, name)] = _TorchName(module, name)
    return ref


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


def _data_ptr(a) -> int:
    return a.__array_interface__["data"][0]


def _root_array(arr):
    """The array at the bottom of ``arr``'s view chain (through NumPy's as_strided wrapper)."""
    root = arr
    while True:
        b = root.base
        if isinstance(b, _np.ndarray):
            root = b
        elif b is not None and isinstance(getattr(b, "base", None), _np.ndarray):
            root = b.base
        else:
            return root


def _is_dense(a) -> bool:
    """Whether ``a`` covers one gap-free block of memory starting at its data pointer."""
    if a.size == 0:
        return False
    expect = a.itemsize
    for s, n in sorted((s, n) for s, n in zip(a.strides, a.shape) if n != 1):
        if s != expect:
            return False
        expect *= n
    return True


def _flat_bytes(root):
    """A read-only 1-D uint8 view of a dense array's memory, in address order."""
    flat = _np.lib.stride_tricks.as_strided(root, shape=(root.size,), strides=(root.itemsize,),
                                            writeable=False)
    return flat.view(_np.uint8)


def _locate(arr, need_c_or_f: bool = False):
    """Express ``arr`` as a view of its root block: ``(root, offset, strides)`` in elements of
    ``arr``'s dtype, or None when it cannot be (negative or unaligned strides, a root that is
    not one dense block)."""
    if arr.size == 0:
        return None
    root = _root_array(arr)
    if not _is_dense(root) or (need_c_or_f and not (root.flags.c_contiguous
                                                    or root.flags.f_contiguous)):
        return None
    isz = arr.itemsize
    off_b = _data_ptr(arr) - _data_ptr(root)
    if off_b < 0 or off_b % isz or root.nbytes % isz:
        return None
    last = off_b + isz
    strides = []
    for s, n in zip(arr.strides, arr.shape):
        if s < 0 or s % isz:
            return None
        strides.append(s // isz)
        last += (n - 1) * s
    if last > root.nbytes:
        return None
    return root, off_b // isz, tuple(strides)


def _contiguous_strides(shape) -> tuple:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


class _StorageRef:
    """One storage of the checkpoint being written: a dense block of memory and its dtype."""

    __slots__ = ("pid", "flat", "numel")

    def __init__(self, key: str, flat, dtype: _dt.dtype):
        self.flat = flat                  # uint8 view of the bytes to write
        self.numel = flat.nbytes // dtype.itemsize
        self.pid = ("storage", _torch_name("torch", _STORAGE_NAME[dtype.name]), key, "cpu",
                    self.numel)


class _TorchPickler(pickle._Pickler):
    """Python's pickler (the pure-Python one: it lets us write torch's globals by name) with
    torch's conventions for tensors, parameters, dtypes, devices and sizes."""

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol: int):
        super().__init__(file, protocol)
        self.storages: dict = {}          # (id(root), dtype name) -> _StorageRef
        self._keepalive: list = []
        self._param_cls = _parameter_class(import_it=False)

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            return obj.pid
        return None

    def _storage_for(self, arr, dt: _dt.dtype):
        loc = _locate(arr)
        if loc is None:
            root = _np.ascontiguousarray(arr)
            if root.size == 0:
                root = _np.empty(0, arr.dtype)
            self._keepalive.append(root)
            offset, strides = 0, _contiguous_strides(arr.shape)
        else:
            root, offset, strides = loc
        ident = (id(root), dt.name)
        ref = self.storages.get(ident)
        if ref is None:
            flat = _flat_bytes(root) if root.size else _np.empty(0, _np.uint8)
            ref = self.storages[ident] = _StorageRef(str(len(self.storages)), flat, dt)
            self._keepalive.append(root)
        return ref, offset, strides

    def reducer_override(self, obj):
        if not isinstance(obj, Tensor):
            return NotImplemented
        hooks = OrderedDict()
        if self._param_cls is not None and isinstance(obj, self._param_cls):
            data = Tensor._wrap(obj._data)
            state = getattr(obj, "__dict__", None)
            if state:
                return (_torch_name("torch._utils", "_rebuild_parameter_with_state"),
                        (data, obj._requires_grad, hooks, dict(state)))
            return (_torch_name("torch._utils", "_rebuild_parameter"),
                    (data, obj._requires_grad, hooks))
        arr = obj._data
        dt = _dt._BY_NP.get(arr.dtype)
        if dt is None or dt.name not in _STORAGE_NAME:
            raise pickle.PicklingError(f"cannot save a tensor of NumPy dtype {arr.dtype}")
        ref, offset, strides = self._storage_for(arr, dt)
        return (_torch_name("torch._utils", "_rebuild_tensor_v2"),
                (ref, offset, tuple(arr.shape), strides, obj._requires_grad, hooks))

    def _save_torch_name(self, obj: _TorchName):
        self.write(pickle.GLOBAL + obj.module.encode("utf-8") + b"\n"
                   + obj.name.encode("utf-8") + b"\n")
        self.memoize(obj)

    def _save_dtype(self, obj: _dt.dtype):
        self.save(_torch_name("torch", obj.name))

    def _save_device(self, obj: _device):
        args = (obj.type,) if obj.index is None else (obj.type, obj.index)
        self.save_reduce(_torch_name("torch", "device"), args, obj=obj)

    def _save_size(self, obj: Size):
        self.save_reduce(_torch_name("torch", "Size"), (tuple(obj),), obj=obj)

    dispatch[_TorchName] = _save_torch_name
    dispatch[_dt.dtype] = _save_dtype
    dispatch[_device] = _save_device
    dispatch[Size] = _save_size


class _ZipWriter:
    """Writes stored (uncompressed) records named ``archive/NAME``, each record's data aligned
    to 64 bytes with an ``FB`` padding extra field, as torch's writer does."""

    def __init__(self, fileobj):
        self._zf = zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED,
                                   allowZip64=True)
        self._start = self._zf.start_dir

    def write(self, name: str, data) -> None:
        mv = memoryview(data).cast("B")
        info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = mv.nbytes
        zip64 = mv.nbytes * 1.05 > zipfile.ZIP64_LIMIT
        header = (self._zf.start_dir - self._start) + 30 + len(info.filename) + 4 \
            + (20 if zip64 else 0)
        pad = -header % _ALIGNMENT
        info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        with self._zf.open(info, "w", force_zip64=zip64) as out:
            for i in range(0, mv.nbytes, _CHUNK):
                out.write(mv[i:i + _CHUNK])

    def close(self) -> None:
        self._zf.close()


def _write_checkpoint(fh, pickled: bytes, storages) -> None:
    zw = _ZipWriter(fh)
    zw.write("data.pkl", pickled)
    zw.write(".format_version", b"1")
    zw.write(".storage_alignment", str(_ALIGNMENT).encode())
    zw.write("byteorder", sys.byteorder.encode())
    for ref in storages:
        zw.write(f"data/{ref.pid[2]}", ref.flat)
    zw.write("version", b"3\n")
    zw.write(".data/serialization_id", b"%040d" % (secrets.randbits(128) % 10 ** 40))
    zw.close()


def _is_path(f) -> bool:
    return isinstance(f, (str, os.PathLike))


def _atomic_write(path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file through ``write(fh)`` so that ``path`` is either untouched or complete:
    a temporary file in the same directory, flushed and fsync'ed, then ``os.replace``."""
    target = os.path.realpath(os.fsdecode(os.fspath(path)))
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise RuntimeError(f"Parent directory {directory} does not exist.")
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    base = os.path.basename(target)
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))   # keep the old permissions
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:   # make the rename itself durable (POSIX; not possible on every platform)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj: object, f: FileLike, pickle_module: Any = None,
         pickle_protocol: int = DEFAULT_PROTOCOL, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` to ``f`` (a path or a binary file object) in torch's zip format.

    ``torch.load`` reads the result. Saving to a path is atomic (see the module docstring);
    writing to a file object writes at its current position. Differs from torch: only
    Python's ``pickle`` is accepted as ``pickle_module``, and only the zip format is written.
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise NotImplementedError("ember.save supports only the standard pickle module")
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("ember.save writes only the zip-based format "
                                  "(_use_new_zipfile_serialization=True), which torch >= 1.6 "
                                  "reads")
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be an int in [2, {pickle.HIGHEST_PROTOCOL}], "
                         f"got {pickle_protocol!r}")
    if not _is_path(f) and not hasattr(f, "write"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a "
                             "'write' attribute")
    buf = io.BytesIO()
    pickler = _TorchPickler(buf, pickle_protocol)
    pickler.dump(obj)
    storages = list(pickler.storages.values())
    pickled = buf.getvalue()

    def write(fh):
        _write_checkpoint(fh, pickled, storages)

    if _is_path(f):
        _atomic_write(f, write)
    else:
        write(f)
        if hasattr(f, "flush"):
            f.flush()


# =============================================================================================
# Loading: storages, tensor rebuilding, torch's globals
# =============================================================================================
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


# ---- the storage loaders of the two formats --------------------------------------------------
def _pid_fields(pid, n: int) -> tuple:
    if type(pid) is not tuple or not pid:
        raise pickle.UnpicklingError(f"persistent id must be a tuple ('storage', type, key, "
                                     f"location, numel...), got {type(pid).__name__}")
    kind = pid[0].decode("ascii", "replace") if isinstance(pid[0], bytes) else pid[0]
    if kind != "storage":
        raise pickle.UnpicklingError(f"only storages may be persistent objects, got {kind!r}")
    if len(pid) != n:
        raise pickle.UnpicklingError(f"a storage persistent id must have {n} fields, got "
                                     f"{len(pid)}")
    stype, key, location = pid[1], pid[2], pid[3]
    if isinstance(stype, Unsupported):
        stype.fail()
    if not isinstance(stype, _StorageType):
        raise pickle.UnpicklingError(f"persistent id names {stype!r}, not a torch storage "
                                     "type")
    if isinstance(location, bytes):
        location = location.decode("ascii")
    if type(key) is not str or type(location) is not str:
        raise pickle.UnpicklingError("storage key and location must be strings")
    if type(pid[4]) is not int or pid[4] < 0:
        raise pickle.UnpicklingError("storage size must be a non-negative int")
    return stype, key, location, pid[4]


class _ZipStorages:
    def __init__(self, zf: zipfile.ZipFile, prefix: str, byteorder: str, restore,
                 what: str, mmap_path):
        self._zf, self._prefix, self._byteorder = zf, prefix, byteorder
        self._restore, self._what, self._mmap_path = restore, what, mmap_path
        self._loaded: dict = {}

    def _read(self, name: str, nbytes: int):
        try:
            info = self._zf.getinfo(name)
        except KeyError:
            raise RuntimeError(f"{self._what}: the checkpoint is corrupted: storage record "
                               f"'{name}' referenced by data.pkl is missing") from None
        if info.file_size != nbytes:
            raise RuntimeError(f"{self._what}: the checkpoint is corrupted: storage record "
                               f"'{name}' has {info.file_size} bytes, data.pkl expects "
                               f"{nbytes}")
        if self._mmap_path is not None and info.compress_type == zipfile.ZIP_STORED:
            return _mmap_record(self._mmap_path, info)
        raw = _np.empty(nbytes, _np.uint8)
        _read_record_into(self._zf, info, memoryview(raw), self._what)
        return raw

    def persistent_load(self, pid):
        stype, key, location, numel = _pid_fields(pid, 5)
        if key in self._loaded:
            return self._loaded[key].as_dtype(stype.dtype) \
                if stype.dtype is not _dt.bfloat16 else self._loaded[key]
        nbytes = numel * stype.dtype.itemsize
        raw = self._read(f"{self._prefix}/data/{key}", nbytes)
        storage = self._restore(_decode_storage(raw, stype, self._byteorder, self._what),
                                location)
        self._loaded[key] = storage
        return storage


def _read_record_into(zf: zipfile.ZipFile, info, out: memoryview, what: str) -> None:
    try:
        with zf.open(info) as fh:
            pos = 0
            while pos < len(out):
                n = fh.readinto(out[pos:pos + _CHUNK])
                if not n:
                    break
                pos += n
            if pos != len(out) or fh.read(1):
                raise RuntimeError(f"{what}: record '{info.filename}' is truncated")
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise RuntimeError(f"{what}: the checkpoint is truncated or corrupted: cannot read "
                           f"record '{info.filename}' ({e})") from None
    except Exception as e:   # zlib.error etc. for compressed archives
        if isinstance(e, RuntimeError):
            raise
        raise RuntimeError(f"{what}: cannot read record '{info.filename}' ({e})") from None


def _mmap_record(path, info):
    """A copy-on-write memory map of a stored record's bytes (``load(..., mmap=True)``)."""
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise RuntimeError(f"{path}: bad local header for record '{info.filename}'")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if info.file_size == 0:
        return _np.empty(0, _np.uint8)
    return _np.memmap(path, dtype=_np.uint8, mode="c", offset=start, shape=(info.file_size,))


def _read_record(zf: zipfile.ZipFile, name: str, what: str) -> bytes:
    info = zf.getinfo(name)
    buf = bytearray(info.file_size)
    _read_record_into(zf, info, memoryview(buf), what)
    return bytes(buf)


class _LegacyStorages:
    """Storages of the pre-1.6 format: allocated when the pickle names them, filled after."""

    def __init__(self, restore, what: str, weights_only: bool):
        self._restore, self._what, self._weights_only = restore, what, weights_only
        self.roots: dict = {}
        self._views: dict = {}

    def persistent_load(self, pid):
        if type(pid) is tuple and pid and pid[0] in ("module", b"module"):
            if self._weights_only or len(pid) != 4:
                raise pickle.UnpicklingError(f"{self._what}: the checkpoint stores a whole "
                                             "module class; this needs weights_only=False")
            return pid[1]
        stype, key, location, numel = _pid_fields(pid[:5] if type(pid) is tuple else pid, 5)
        view = pid[5] if len(pid) == 6 else None
        if stype.dtype is _dt.bfloat16:
            raise NotImplementedError(f"{self._what}: bfloat16 storages in the legacy "
                                      "(non-zip) format are not supported; re-save the file "
                                      "with a recent torch")
        root = self.roots.get(key)
        if root is None:
            arr = _np.zeros(numel, _dt.to_numpy_dtype(stype.dtype))
            root = self.roots[key] = self._restore(_Storage(arr, stype.dtype), location)
        root = root.as_dtype(stype.dtype)
        if view is None:
            return root
        if type(view) is not tuple or len(view) != 3:
            raise pickle.UnpicklingError(f"{self._what}: malformed storage view metadata")
        vkey, off, vsize = view
        off, vsize = _as_index(off, "storage view offset"), _as_index(vsize, "view size")
        if off + vsize > root.array.size:
            raise pickle.UnpicklingError(f"{self._what}: storage view exceeds its storage")
        if vkey not in self._views:
            self._views[vkey] = _Storage(root.array[off:off + vsize], root.dtype)
        return self._views[vkey]

    def fill(self, data: bytes, pos: int, keys, byteorder: str) -> None:
        if type(keys) is not list:
            raise pickle.UnpicklingError(f"{self._what}: malformed storage key list")
        for key in keys:
            st = self.roots.get(key)
            if st is None:
                raise RuntimeError(f"{self._what}: the checkpoint is corrupted: storage "
                                   f"{key!r} is listed but never used")
            if pos + 8 > len(data):
                raise RuntimeError(f"{self._what}: the checkpoint is truncated (storage "
                                   f"{key!r} missing)")
            (n,) = struct.unpack_from("<q" if byteorder == "little" else ">q", data, pos)
            pos += 8
            arr = st.array
            nbytes = arr.nbytes
            if n != arr.size or pos + nbytes > len(data):
                raise RuntimeError(f"{self._what}: the checkpoint is truncated or corrupted "
                                   f"(storage {key!r}: {n} elements recorded, {arr.size} "
                                   "expected)")
            arr.view(_np.uint8)[:] = _np.frombuffer(data, _np.uint8, nbytes, pos)
            if byteorder != sys.byteorder and arr.itemsize > 1:
                arr.byteswap(inplace=True)
            pos += nbytes


# ---- unpicklers --------------------------------------------------------------------------------
class _UnsafeUnpickler(pickle.Unpickler):
    """``weights_only=False``: Python's unpickler (it runs code the file names), with torch's
    globals mapped to ember's."""

    def __init__(self, file, persistent_load, table: dict, **kwargs):
        super().__init__(file, **kwargs)
        self._pl, self._table = persistent_load, table

    def persistent_load(self, pid):
        return self._pl(pid)

    def find_class(self, module: str, name: str):
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        obj = self._table.get(f"{module}.{name}")
        if obj is not None:
            if isinstance(obj, Unsupported):
                obj.fail()
            return obj
        if module == "torch" or module.startswith("torch."):
            ember_module = "ember" + module[5:]
            try:
                obj = importlib.import_module(ember_module)
                for part in name.split("."):
                    obj = getattr(obj, part)
                return obj
            except (ImportError, AttributeError):
                raise pickle.UnpicklingError(
                    f"the checkpoint needs {module}.{name}, which has no ember equivalent "
                    f"({ember_module}.{name})") from None
        return super().find_class(module, name)


class _Reader:
    """Unpickles one pickle at a time from an in-memory buffer, safely or not."""

    def __init__(self, data: bytes, weights_only: bool, table: dict, what: str,
                 encoding: str):
        self.data, self.weights_only, self.table, self.what = data, weights_only, table, what
        self.encoding = encoding
        self.callables = _safe_callables(table)
        self.pos = 0

    def next(self, persistent_load=None):
        if persistent_load is None:
            def persistent_load(pid):
                raise pickle.UnpicklingError(f"{self.what}: unexpected persistent id")
        if self.weights_only:
            u = _wou.Unpickler(self.data, allowed=self.table, callables=self.callables,
                               persistent_load=persistent_load, pos=self.pos, what=self.what)
            obj = u.load()
            self.pos = u.pos
            return obj
        fh = io.BytesIO(self.data)
        fh.seek(self.pos)
        obj = _UnsafeUnpickler(fh, persistent_load, self.table, encoding=self.encoding).load()
        self.pos = fh.tell()
        return obj


# ---- load ----------------------------------------------------------------------------------------
def load(f: FileLike, map_location=None, pickle_module: Any = None, *,
         weights_only: "bool | None" = True, mmap: "bool | None" = None,
         **pickle_load_args: Any) -> Any:
    """Load an object saved by ``torch.save`` or ``ember.save``.

    ``weights_only=True`` (the default) accepts only tensors, containers, numbers, strings,
    dtypes, devices, sizes and globals registered with :func:`add_safe_globals`; anything
    else raises ``pickle.UnpicklingError`` naming it, and nothing in the file is executed.
    ``weights_only=False`` runs arbitrary code from the file: use it only for trusted files.

    ``map_location`` may be None, ``'cpu'``, an ``ember.device``, a dict of location strings
    or a callable ``(storage, location) -> storage or None``; ember has only a CPU backend, so
    anything that resolves to another device raises ``RuntimeError``. ``mmap=True`` (path
    arguments only) maps storage data copy-on-write instead of reading it.
    """
    if weights_only is None:
        weights_only = True
    if pickle_module is not None:
        if weights_only:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified; pass weights_only=False to use it")
        if pickle_module is not pickle:
            raise NotImplementedError("ember.load supports only the standard pickle module")
    encoding = pickle_load_args.pop("encoding", "ASCII")
    if pickle_load_args:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(pickle_load_args)}")
    restore = _restore_fn(map_location)
    if mmap and not _is_path(f):
        raise ValueError("f must be a file path in order to use the mmap argument")
    if _is_path(f):
        with open(f, "rb") as fh:
            return _load_file(fh, os.fspath(f), restore, weights_only, encoding,
                              os.fspath(f) if mmap else None)
    if not hasattr(f, "read"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a "
                             "'read' attribute")
    fh = f
    try:
        seekable = f.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:
        fh = io.BytesIO(f.read())
    return _load_file(fh, getattr(f, "name", "<file object>"), restore, weights_only,
                      encoding, None)


def _load_file(fh, what, restore, weights_only: bool, encoding: str, mmap_path):
    what = str(what)
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    if not head:
        raise RuntimeError(f"{what}: the file is empty; it is not a checkpoint (a save that "
                           "never finished?)")
    if head[:4] == b"PK\x03\x04":
        return _load_zip(fh, what, restore, weights_only, encoding, mmap_path)
    if head[:2] == b"PK":
        raise RuntimeError(f"{what}: not a PyTorch checkpoint: an empty or unsupported zip "
                           "archive")
    if len(head) >= 262 and head[257:262] == b"ustar":
        raise RuntimeError(f"{what}: this is a tar-based checkpoint (PyTorch < 0.4), which "
                           "ember cannot read; re-save it with a recent torch")
    if mmap_path is not None:
        raise RuntimeError(f"{what}: mmap=True needs a zip-format checkpoint")
    return _load_legacy(fh.read(), what, restore, weights_only, encoding)


def _load_zip(fh, what, restore, weights_only, encoding, mmap_path):
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise RuntimeError(f"{what}: failed reading zip archive ({e}): the checkpoint is "
                           "truncated or corrupted") from None
    with zf:
        names = zf.namelist()
        if not names or "/" not in names[0]:
            raise RuntimeError(f"{what}: not a PyTorch checkpoint: the zip archive has no "
                               "top-level record directory")
        prefix = names[0].split("/", 1)[0]
        present = set(names)
        if f"{prefix}/data.pkl" not in present:
            if f"{prefix}/constants.pkl" in present:
                raise RuntimeError(f"{what}: this is a TorchScript archive (torch.jit.save); "
                                   "ember can only load torch.save checkpoints")
            raise RuntimeError(f"{what}: not a PyTorch checkpoint: the zip archive has no "
                               f"'{prefix}/data.pkl' record (it has {sorted(present)[:5]})")
        version = None
        for vname in (f"{prefix}/.data/version", f"{prefix}/version"):
            if vname in present:
                version = _read_record(zf, vname, what).strip()
                break
        if version is None:
            raise RuntimeError(f"{what}: not a PyTorch checkpoint: no 'version' record")
        try:
            vnum = int(version)
        except ValueError:
            raise RuntimeError(f"{what}: the checkpoint's version record is corrupted "
                               f"({version[:20]!r})") from None
        if not 1 <= vnum <= 10:
            raise RuntimeError(f"{what}: unsupported checkpoint format version {vnum}")
        byteorder = "little"
        if f"{prefix}/byteorder" in present:
            byteorder = _read_record(zf, f"{prefix}/byteorder", what).decode("ascii", "replace")
            if byteorder not in ("little", "big"):
                raise RuntimeError(f"{what}: Unknown endianness type: {byteorder[:20]}")
        pickled = _read_record(zf, f"{prefix}/data.pkl", what)
        storages = _ZipStorages(zf, prefix, byteorder, restore, what, mmap_path)
        reader = _Reader(pickled, weights_only, _torch_globals(), f"{what} (data.pkl)",
                         encoding)
        return reader.next(storages.persistent_load)


def _load_legacy(data: bytes, what, restore, weights_only, encoding):
    reader = _Reader(data, weights_only, _torch_globals(), what, encoding)
    magic = reader.next()
    if magic != MAGIC_NUMBER:
        raise RuntimeError(f"{what}: not a PyTorch checkpoint (invalid magic number; corrupt "
                           "file?)")
    version = reader.next()
    if version != PROTOCOL_VERSION:
        raise RuntimeError(f"{what}: Invalid protocol version: {version!r}")
    sys_info = reader.next()
    byteorder = "little"
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        byteorder = "big"
    storages = _LegacyStorages(restore, what, weights_only)
    result = reader.next(storages.persistent_load)
    keys = reader.next()
    storages.fill(data, reader.pos, keys, byteorder)
    return result


def get_unsafe_globals_in_checkpoint(f: FileLike) -> list:
    """The ``module.name`` globals in a checkpoint that ``weights_only=True`` would refuse."""
    if _is_path(f):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            pkl = next((n for n in zf.namelist() if n.endswith("/data.pkl")
                        and n.count("/") == 1), None)
            if pkl is None:
                raise RuntimeError("not a PyTorch checkpoint: no data.pkl record")
            data = zf.read(pkl)
    safe = set(_torch_globals()) | set(_wou._BUILTIN_GLOBALS) | set(_wou._user_allowed())
    found, strings = [], []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                found.append(arg.replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            elif isinstance(arg, str):
                strings.append(arg)
    except (ValueError, EOFError) as e:
        raise RuntimeError(f"malformed pickle in checkpoint: {e}") from None
    return sorted({g for g in found if g not in safe})


# =============================================================================================
# Plain pickling of tensors (pickle.dumps, copy.copy, multiprocessing)
# =============================================================================================
def _reduce_tensor(t: Tensor):
    """``Tensor.__reduce_ex__``: pickle the array a view comes from plus the view's geometry,
    so tensors sharing memory in one pickle still share it after unpickling. A small view of
    a much larger array is copied instead (a worker sending one row should not send the
    whole dataset)."""
    arr = t._data
    loc = _locate(arr, need_c_or_f=True)
    if loc is not None and (loc[0].dtype != arr.dtype
                            or loc[0].nbytes > max(2 * arr.nbytes, 1 << 16)):
        loc = None
    if loc is None:
        root = _np.ascontiguousarray(arr)
        loc = (root, 0, _contiguous_strides(arr.shape))
    root, offset, strides = loc
    cls = type(t)
    state = getattr(t, "__dict__", None) or None
    return (_rebuild_tensor, (root, offset, tuple(arr.shape), strides, t._requires_grad,
                              None if cls is Tensor else cls, state))


def _rebuild_tensor(root, offset=None, shape=None, strides=None, requires_grad=False,
                    cls=None, state=None):
    if shape is None:          # the two-argument form (array, requires_grad)
        requires_grad, arr = bool(offset), root
    elif root.size == 0:
        arr = _np.empty(shape, root.dtype)
    else:
        flat = _np.lib.stride_tricks.as_strided(root, shape=(root.size,),
                                                strides=(root.itemsize,))
        arr = _np.ndarray(shape, root.dtype, buffer=flat, offset=offset * root.itemsize,
                          strides=tuple(s * root.itemsize for s in strides))
    if cls is None:
        t = Tensor._wrap(arr)
    else:
        t = object.__new__(cls)
        t._init(arr)
    t._requires_grad = requires_grad
    if state:
        for k, v in state.items():
            setattr(t, k, v)
    return t
