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
  ``ember.*`` counterparts, so a whole pickled ``torch.nn`` model loads as the matching ember
  modules (best effort: it relies on ember's modules keeping torch's attribute names).
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
import zipfile
from collections import OrderedDict
from typing import IO, Any, Callable, Union

import numpy as _np

from . import _weights_only_unpickler as _wou
from ._backend import device as _device
from ._backend import dtypes as _dt
from ._tensor import Size, Tensor
from ._torch_globals import (
    _STORAGE_NAME, _Storage, _StorageType, _as_index, _decode_storage,
    _parameter_class, _restore_fn, _safe_callables, _torch_globals,
)
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


def _write_checkpoint(fh, pickled: bytes, storages, byteorder_record: bool = True) -> None:
    zw = _ZipWriter(fh)
    zw.write("data.pkl", pickled)
    zw.write(".format_version", b"1")
    zw.write(".storage_alignment", str(_ALIGNMENT).encode())
    if byteorder_record:
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
    if not isinstance(pickle_protocol, int) or not 2 <= pickle_protocol <= \
            pickle.HIGHEST_PROTOCOL:
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
        _write_checkpoint(fh, pickled, storages, not _disable_byteorder_record)

    if _is_path(f):
        _atomic_write(f, write)
    else:
        write(f)
        if hasattr(f, "flush"):
            f.flush()


# =============================================================================================
# Loading
# =============================================================================================
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

    def __init__(self, restore, what: str, weights_only: bool, file_size: int):
        self._restore, self._what, self._weights_only = restore, what, weights_only
        self._budget = file_size      # storages cannot hold more bytes than the file has
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
            self._budget -= numel * stype.dtype.itemsize
            if self._budget < 0:
                raise RuntimeError(f"{self._what}: the checkpoint is truncated or corrupted: "
                                   "its storages need more bytes than the file has")
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


# ---- unpicklers ------------------------------------------------------------------------------
class _UnsafeUnpickler(pickle.Unpickler):
    """``weights_only=False``: Python's unpickler (it runs code the file names), with torch's
    globals mapped to ember's."""

    def __init__(self, file, persistent_load, table: dict, **kwargs):
        super().__init__(file, **kwargs)
        self._pl, self._table = persistent_load, table

    def persistent_load(self, pid):
        return self._pl(pid)

    def find_class(self, module: str, name: str):
        module, name = _wou.python3_name(module, name)
        obj = self._table.get(f"{module}.{name}")
        if obj is not None:
            if isinstance(obj, Unsupported):
                obj.fail()
            return obj
        if module == "torch" or module.startswith("torch."):
            return _ember_equivalent(module, name)
        return super().find_class(module, name)


def _ember_equivalent(module: str, name: str):
    """``torch.a.b.c.Name`` -> ``ember.a.b.c.Name``, else the nearest enclosing ember package
    that exports ``Name`` (ember's files are not always split like torch's: torch's
    ``nn.modules.batchnorm.BatchNorm2d`` is ``ember.nn.BatchNorm2d``)."""
    parts = ("ember" + module[5:]).split(".")
    while parts:
        try:
            obj = importlib.import_module(".".join(parts))
            for attr in name.split("."):
                obj = getattr(obj, attr)
            return obj
        except (ImportError, AttributeError):
            parts.pop()
    raise pickle.UnpicklingError(f"the checkpoint needs {module}.{name}, which has no ember "
                                 "equivalent")


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


# ---- load ------------------------------------------------------------------------------------
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
    storages = _LegacyStorages(restore, what, weights_only, len(data))
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
    pickles = 1
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            pkl = next((n for n in zf.namelist() if n.endswith("/data.pkl")
                        and n.count("/") == 1), None)
            if pkl is None:
                raise RuntimeError("not a PyTorch checkpoint: no data.pkl record")
            data = zf.read(pkl)
    else:
        pickles = 4        # legacy format: magic number, version, sys info, then the object
    safe = set(_torch_globals()) | set(_wou._BUILTIN_GLOBALS) | set(_wou._user_allowed())
    found, strings, pos = [], [], 0
    try:
        for _ in range(pickles):
            for op, arg, at in pickletools.genops(data[pos:]):
                if op.name == "GLOBAL":
                    found.append(_wou.python3_name(*arg.split(" ", 1)))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(_wou.python3_name(strings[-2], strings[-1]))
                elif isinstance(arg, str):
                    strings.append(arg)
            pos += at + 1
    except (ValueError, EOFError) as e:
        raise RuntimeError(f"malformed pickle in checkpoint: {e}") from None
    return sorted({name for name in (f"{m}.{n}" for m, n in found) if name not in safe})


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
