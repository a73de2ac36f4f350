"""Direct calls into the BLAS that NumPy ships with, for kernels NumPy does not expose.

* ``axpy`` (``y <- alpha * x + y``): its vector kernels fuse the multiply-add as torch's CPU
  kernels do; used by ``fma.axpy_`` for optimizer updates.
* ``omatcopy`` (out-of-place transposing copy): blocked, 2-5x faster than NumPy's copy of a
  transposed view (``(3136, 64)``: 131 -> 28 us); used by :func:`transpose_copy` for the
  layout changes of convolution and of the LSTM kernels.

Host NumPy arrays only; on a BLAS without these symbols (or one that fails a self-test),
or with ``EMBER_NO_BLAS_CALLS=1`` set, callers fall back to NumPy. Library handles are
resolved on first use, not at import.
"""
from __future__ import annotations

import glob
import os

import numpy as _np

_f32, _f64 = _np.dtype(_np.float32), _np.dtype(_np.float64)
_libs: list | None = None


def _libraries():
    """ctypes handles of the BLAS libraries bundled with NumPy's wheel (Linux
    ``numpy.libs``, macOS ``numpy/.dylibs``)."""
    global _libs
    if _libs is None:
        import ctypes      # here, not at module level: import ember stays fast
        root = os.path.dirname(_np.__file__)
        _libs = []
        for pattern in (os.path.join(root, os.pardir, "numpy.libs", "*blas*"),
                        os.path.join(root, ".dylibs", "*blas*")):
            for path in sorted(glob.glob(pattern)):
                try:
                    _libs.append(ctypes.CDLL(path))
                except OSError:
                    pass
    return _libs


def find(stem: str, argtypes) -> dict:
    """``{float32: fn, float64: fn}`` for the CBLAS routine ``cblas_{s,d}<stem>`` under the
    names NumPy's OpenBLAS builds use (``scipy_cblas_saxpy64_``, ``cblas_saxpy64_``,
    ``cblas_saxpy``), or ``{}``. ``argtypes(int_t, real_t)`` gives the ctypes argument
    types for the BLAS integer type and the routine's real type. ``EMBER_NO_BLAS_CALLS=1``
    makes every lookup fail, so all callers keep to NumPy."""
    import ctypes
    if os.environ.get("EMBER_NO_BLAS_CALLS"):
        return {}
    names = (("scipy_cblas_{}" + stem + "64_", ctypes.c_int64),
             ("cblas_{}" + stem + "64_", ctypes.c_int64), ("cblas_{}" + stem, ctypes.c_int))
    for lib in _libraries():
        for pattern, int_t in names:
            fns = {}
            for code, dt, real in (("s", _f32, ctypes.c_float), ("d", _f64, ctypes.c_double)):
                fn = getattr(lib, pattern.format(code), None)
                if fn is None:
                    break
                fn.restype = None
                fn.argtypes = argtypes(int_t, real)
                fns[dt] = fn
            if len(fns) == 2:
                return fns
    return {}


def _symbol(names, restype, argtypes):
    """The first of ``names`` exported by NumPy's BLAS, typed, or None (also with
    ``EMBER_NO_BLAS_CALLS=1``)."""
    if os.environ.get("EMBER_NO_BLAS_CALLS"):
        return None
    for lib in _libraries():
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype, fn.argtypes = restype, argtypes
                return fn
    return None


def threads_getter():
    """A zero-argument function returning OpenBLAS's current thread count, or None."""
    import ctypes
    return _symbol(("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                    "openblas_get_num_threads"), ctypes.c_int, [])


def threads_setter():
    """A one-argument function setting OpenBLAS's thread count, or None."""
    import ctypes
    return _symbol(("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                    "openblas_set_num_threads"), None, [ctypes.c_int])


class OpenBLASThreads:
    """ctypes views of OpenBLAS's thread-server state (see ``parallel._enter_region``):
    ``cpu_number`` (the thread count its calls use, what ``openblas_get_num_threads``
    returns), ``server_avail`` (its worker threads are up) and ``shutdown()``."""
    __slots__ = ("cpu_number", "server_avail", "shutdown")


def openblas_thread_state() -> OpenBLASThreads | None:
    """OpenBLAS's thread state, from the library NumPy's ``openblas_get_num_threads`` is
    in, or None (not OpenBLAS, symbols missing, ``EMBER_NO_BLAS_CALLS=1``, or the self-test
    failed: a write to ``blas_cpu_number`` must be what that getter then returns)."""
    import ctypes
    if os.environ.get("EMBER_NO_BLAS_CALLS"):
        return None
    names = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
             "openblas_get_num_threads")
    for lib in _libraries():
        get = next((getattr(lib, n) for n in names if hasattr(lib, n)), None)
        if get is None:
            continue
        try:
            st = OpenBLASThreads()
            st.cpu_number = ctypes.c_int.in_dll(lib, "blas_cpu_number")
            st.server_avail = ctypes.c_int.in_dll(lib, "blas_server_avail")
            st.shutdown = lib.blas_thread_shutdown_
        except (ValueError, AttributeError):
            return None
        get.restype, get.argtypes = ctypes.c_int, []
        st.shutdown.restype, st.shutdown.argtypes = ctypes.c_int, []
        before = get()
        if before < 1 or st.cpu_number.value != before:
            return None
        st.cpu_number.value = 1
        ok = get() == 1
        st.cpu_number.value = before
        return st if ok else None
    return None


# ---------------------------------------------------------------------------------------
# Transposing copy
# ---------------------------------------------------------------------------------------
_ROW_MAJOR, _TRANS = 101, 112          # CBLAS_ORDER / CBLAS_TRANSPOSE values
_TRANSPOSE_MIN = 4096                  # below this many elements NumPy's copy is as fast
_omat: dict | None = None


def _omat_argtypes(int_t, real):
    import ctypes
    return [ctypes.c_int, ctypes.c_int, int_t, int_t, real, ctypes.c_void_p, int_t,
            ctypes.c_void_p, int_t]


def _omat_selftest(fns) -> dict:
    good = {}
    for dt, fn in fns.items():
        a = _np.arange(37 * 53, dtype=dt).reshape(37, 53) - 900.5
        b = _np.empty((53, 37), dt)
        fn(_ROW_MAJOR, _TRANS, 37, 53, 1.0, a.ctypes.data, 53, b.ctypes.data, 37)
        if _np.array_equal(b, a.T):
            good[dt] = fn
    return good


def transpose_copy(a, out=None):
    """``a.T`` of a 2-D array as a C-contiguous copy (into ``out`` if given).

    ``a`` may have any row stride if its elements within a row are contiguous. The BLAS
    copy multiplies by 1.0: every value keeps its bits except that a *signalling* NaN comes
    out quiet, so use it only where the result feeds arithmetic (which would quiet it
    anyway), as in convolution's layout changes."""
    global _omat
    if out is None:
        out = _np.empty((a.shape[1], a.shape[0]), a.dtype)
    # (a BLAS with 32-bit integers takes dimensions and strides below 2**31)
    if a.size < _TRANSPOSE_MIN or type(a) is not _np.ndarray or a.ndim != 2 \
            or a.dtype not in (_f32, _f64) or out.dtype != a.dtype \
            or a.strides[0] >= (1 << 31) * a.itemsize or a.size >= 1 << 31:
        _np.copyto(out, a.T)
        return out
    if _omat is None:
        _omat = _omat_selftest(find("omatcopy", _omat_argtypes))
    fn = _omat.get(a.dtype)
    item = a.itemsize
    # rows must not overlap (a broadcast row stride of 0 would read past the data)
    if (fn is None or a.strides[1] != item or a.strides[0] % item
            or a.strides[0] < a.shape[1] * item or not out.flags.c_contiguous):
        _np.copyto(out, a.T)
        return out
    rows, cols = a.shape
    fn(_ROW_MAJOR, _TRANS, rows, cols, 1.0, a.ctypes.data, a.strides[0] // item,
       out.ctypes.data, rows)
    return out
