"""The safetensors format, read and written directly (no dependency).

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes of JSON, then
the raw little-endian tensor data. The JSON maps each tensor name to
``{"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`` (offsets relative to the
data section) plus an optional ``"__metadata__"`` map of strings. Nothing in it is executable,
which is why it is a safe way to exchange weights.

The API follows ``safetensors.torch``: :func:`save_file`, :func:`load_file`, :func:`save`,
:func:`load` and :func:`safe_open`. Differences: tensors that share memory and
non-contiguous tensors are written (as contiguous copies) instead of refused; ``BF16`` loads
as ``float32`` with a warning (NumPy has no bfloat16); dtypes NumPy lacks (U16/U32/U64, F8)
raise ``NotImplementedError``. Invalid files raise :class:`SafetensorError` (a
``RuntimeError``) saying what is wrong.
"""
from __future__ import annotations

import io
import json
import os
import struct
import warnings
from typing import Dict, Optional

import numpy as _np

from ..serialization import _atomic_write
from .._torch_globals import _bf16_to_float32
from .._backend import canonical_device
from .._backend import dtypes as _dt
from .._tensor import Tensor

__all__ = ["save_file", "load_file", "save", "load", "safe_open", "SafetensorError"]

MAX_HEADER_SIZE = 100_000_000
_TO_EMBER = {"F64": "float64", "F32": "float32", "F16": "float16", "I64": "int64",
             "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
             "C64": "complex64"}
_FROM_EMBER = {v: k for k, v in _TO_EMBER.items()}
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
             "U8": 1, "BOOL": 1, "C64": 8, "U64": 8, "U32": 4, "U16": 2, "F8_E4M3": 1,
             "F8_E5M2": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1}


class SafetensorError(RuntimeError):
    """The bytes are not a valid safetensors file."""


# ---- writing -----------------------------------------------------------------------------------
def _prepare(tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]]):
    if not isinstance(tensors, dict):
        raise TypeError(f"tensors must be a dict of name -> Tensor, got {type(tensors).__name__}")
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must be a dict of str -> str")
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved and cannot name a tensor")
        if not isinstance(t, Tensor):
            raise TypeError(f"tensor {name!r} must be an ember Tensor, got {type(t).__name__}")
        code = _FROM_EMBER.get(t.dtype.name)
        if code is None:
            raise ValueError(f"tensor {name!r}: safetensors has no dtype for {t.dtype}")
        arr = t._data
        arrays[name] = (code, arr if arr.flags.c_contiguous else arr.copy(order="C"))
    # like the reference writer: larger items first (keeps every tensor aligned), then by name
    order = sorted(arrays, key=lambda n: (-arrays[n][1].itemsize, n))
    header: dict = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name in order:
        code, arr = arrays[name]
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return raw, [arrays[n][1] for n in order]


def _write(fh, header: bytes, arrays) -> None:
    fh.write(struct.pack("<Q", len(header)))
    fh.write(header)
    for arr in arrays:
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        fh.write(memoryview(arr.reshape(-1)).cast("B"))


def save(tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The safetensors bytes for ``tensors`` (a dict of name -> Tensor)."""
    header, arrays = _prepare(tensors, metadata)
    buf = io.BytesIO()
    _write(buf, header, arrays)
    return buf.getvalue()


def save_file(tensors: Dict[str, Tensor], filename, metadata: Optional[Dict[str, str]] = None
              ) -> None:
    """Write ``tensors`` to ``filename`` atomically (temp file, fsync, rename)."""
    header, arrays = _prepare(tensors, metadata)
    _atomic_write(filename, lambda fh: _write(fh, header, arrays))


# ---- reading -----------------------------------------------------------------------------------
def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise SafetensorError(f"the header names {k!r} twice")
        out[k] = v
    return out


def _is_index(v) -> bool:
    return type(v) is int and v >= 0


def _parse_header(first8: bytes, read_header, total: int, what: str):
    """Validate a header; return (data section start, metadata, {name: (dtype, shape, begin,
    end)}). ``read_header(n)`` returns the n header bytes."""
    if len(first8) < 8:
        raise SafetensorError(f"{what}: {total} bytes is too short for a safetensors file (it "
                              "starts with an 8-byte header length)")
    (n,) = struct.unpack("<Q", first8)
    if n > MAX_HEADER_SIZE:
        raise SafetensorError(f"{what}: header length {n} exceeds the {MAX_HEADER_SIZE}-byte "
                              "limit: not a safetensors file, or corrupted")
    if 8 + n > total:
        raise SafetensorError(f"{what}: header length {n} points past the end of the file "
                              f"({total} bytes): truncated, or not a safetensors file")
    raw = read_header(n)
    if not raw.startswith(b"{"):
        raise SafetensorError(f"{what}: the header does not start with '{{': not a safetensors "
                              "file")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        if isinstance(e, SafetensorError):
            raise SafetensorError(f"{what}: {e}") from None
        raise SafetensorError(f"{what}: the header is not valid UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorError(f"{what}: the header must be a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise SafetensorError(f"{what}: __metadata__ must map strings to strings")
    entries = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorError(f"{what}: tensor {name!r} must have exactly 'dtype', 'shape' "
                                  "and 'data_offsets'")
        code, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _ITEMSIZE:
            raise SafetensorError(f"{what}: tensor {name!r} has unknown dtype {code!r}")
        if not isinstance(shape, list) or not all(_is_index(d) for d in shape):
            raise SafetensorError(f"{what}: tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(map(_is_index, offs))
                and offs[0] <= offs[1]):
            raise SafetensorError(f"{what}: tensor {name!r} has invalid data_offsets {offs!r}")
        numel = 1
        for d in shape:
            numel *= d
        if offs[1] - offs[0] != numel * _ITEMSIZE[code]:
            raise SafetensorError(
                f"{what}: tensor {name!r} of shape {shape} and dtype {code} needs "
                f"{numel * _ITEMSIZE[code]} bytes, but its data_offsets {offs} span "
                f"{offs[1] - offs[0]}")
        entries[name] = (code, tuple(shape), offs[0], offs[1])
    data_len = total - 8 - n
    pos = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda kv: kv[1][2:]):
        if begin < pos:
            raise SafetensorError(f"{what}: tensor {name!r} overlaps the previous tensor "
                                  f"(data_offsets start at {begin}, previous data ends at {pos})")
        if begin > pos:
            raise SafetensorError(f"{what}: gap in the data section before tensor {name!r} "
                                  f"(bytes {pos}..{begin} belong to no tensor)")
        pos = end
    if pos != data_len:
        if pos > data_len:
            raise SafetensorError(f"{what}: tensors need {pos} bytes of data but the file has "
                                  f"{data_len}: truncated")
        raise SafetensorError(f"{what}: the data section has {data_len} bytes but the tensors "
                              f"cover {pos}: trailing bytes belong to no tensor")
    return 8 + n, metadata, entries


def _to_tensor(code: str, shape, raw, name: str) -> Tensor:
    """A tensor from its little-endian bytes (a writable buffer: the result views it)."""
    if code == "BF16":
        warnings.warn(f"tensor {name!r}: BF16 loaded as float32 (NumPy has no bfloat16)",
                      stacklevel=3)
        u16 = _np.frombuffer(raw, _np.dtype("<u2")).astype(_np.uint16)
        return Tensor._wrap(_bf16_to_float32(u16).reshape(shape))
    ember_name = _TO_EMBER.get(code)
    if ember_name is None:
        raise NotImplementedError(f"tensor {name!r} has dtype {code}, which ember (NumPy) "
                                  "cannot represent")
    npd = _dt.to_numpy_dtype(_dt._BY_NAME[ember_name]).newbyteorder("<")
    if code == "BOOL":
        byte = _np.frombuffer(raw, _np.uint8)
        if byte.size and byte.max() > 1:     # keep NumPy bools canonical (0/1)
            return Tensor._wrap((byte != 0).reshape(shape))
    arr = _np.frombuffer(raw, npd)
    if arr.dtype != arr.dtype.newbyteorder("="):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return Tensor._wrap(arr.reshape(shape))


def _load_buffer(buf, what: str) -> Dict[str, Tensor]:
    mv = memoryview(buf)
    start, _, entries = _parse_header(bytes(mv[:8]), lambda n: bytes(mv[8:8 + n]), len(mv),
                                      what)
    out = {}
    for name, (code, shape, begin, end) in entries.items():
        lo, hi = start + begin, start + end
        aligned = (lo % _ITEMSIZE[code]) == 0
        piece = mv[lo:hi] if aligned else bytearray(mv[lo:hi])
        out[name] = _to_tensor(code, shape, piece, name)
    return out


def load(data: bytes) -> Dict[str, Tensor]:
    """Tensors from safetensors bytes (copied, so the result is writable)."""
    return _load_buffer(bytearray(data), "safetensors data")


def load_file(filename, device="cpu") -> Dict[str, Tensor]:
    """Every tensor in ``filename``. The file is read once into one buffer that the returned
    tensors view (no per-tensor copies)."""
    canonical_device(device)
    size = os.path.getsize(filename)
    buf = bytearray(size)
    with open(filename, "rb") as fh:
        got = fh.readinto(buf)
    if got != size:
        raise SafetensorError(f"{filename}: short read ({got} of {size} bytes)")
    return _load_buffer(buf, os.fspath(filename))


class safe_open:
    """Lazy access to one safetensors file, as ``safetensors.safe_open``::

        with safe_open("model.safetensors", framework="pt") as f:
            for name in f.keys():
                t = f.get_tensor(name)

    Only the header is read up front; ``get_tensor`` reads one tensor's bytes.
    """

    def __init__(self, filename, framework: str = "pt", device="cpu"):
        canonical_device(device)
        self._name = os.fspath(filename)
        self._fh = open(filename, "rb")
        try:
            total = os.fstat(self._fh.fileno()).st_size
            first8 = self._fh.read(8)
            self._start, self._metadata, self._entries = _parse_header(
                first8, self._read_exact, total, self._name)
        except BaseException:
            self._fh.close()
            raise

    def _read_exact(self, n: int) -> bytes:
        data = self._fh.read(n)
        if len(data) != n:
            raise SafetensorError(f"{self._name}: file shrank while reading")
        return data

    def __enter__(self) -> "safe_open":
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()

    def keys(self) -> list:
        return sorted(self._entries)

    def metadata(self) -> Optional[Dict[str, str]]:
        return self._metadata

    def get_tensor(self, name: str) -> Tensor:
        if name not in self._entries:
            raise SafetensorError(f"{self._name}: no tensor named {name!r}")
        code, shape, begin, end = self._entries[name]
        self._fh.seek(self._start + begin)
        buf = bytearray(end - begin)
        if self._fh.readinto(buf) != len(buf):
            raise SafetensorError(f"{self._name}: tensor {name!r} is truncated")
        return _to_tensor(code, shape, buf, name)
