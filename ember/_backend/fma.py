"""``x * y + z`` rounded once, as the fused multiply-add in torch's CPU kernels
(``add(alpha=)``, ``addcmul``, ``lerp``, optimizer updates).

NumPy rounds the product and the sum separately, which moves float32 results by an ulp. For
float32 the product of two float32 values is exact in float64, so forming ``x * y + z``
there and rounding once gives the fused result. float16 rounds through float32, as torch's
half kernels compute in float32. float64 has no wider type here: it rounds twice (at most an
ulp from torch).

When ``z`` is the output and ``y`` a scalar (``out.add_(x, alpha=a)``, every optimizer's
parameter update), the product-sum runs in the BLAS that NumPy links instead: OpenBLAS's
``saxpy``/``daxpy`` kernels use the CPU's fused multiply-add for every element of their
vector blocks, which is torch's rounding, at about a tenth of the float64 detour's cost,
and float64 arrays get a single rounding too (bit for bit torch's). See ``axpy_`` for how
calls are sized so that no element falls outside a whole block. A dtype takes this route
only after a self-test on first use showed its axpy fused on every element (and, for
float32, equal to the float64 detour); float32 arrays under 4096 elements, other BLAS
builds, non-contiguous or overlapping operands, and ``EMBER_NO_BLAS_CALLS=1`` keep the
detour.
"""
from __future__ import annotations

from contextlib import nullcontext as _nullcontext

import numpy as _np

from . import blas as _blas
from . import parallel as _parallel

xp = _np
_f32, _f64 = xp.dtype(xp.float32), xp.dtype(xp.float64)
LOW = (_f32, xp.dtype(xp.float16))
_CHUNK = 1 << 15   # float64 scratch of 256 KB: stays in cache, allocated once per call


# ---------------------------------------------------------------------------------------
# BLAS axpy (y <- alpha * x + y, fused) for the in-place scalar case
# ---------------------------------------------------------------------------------------
# OpenBLAS's axpy kernels fuse every element of their vector blocks (at most 64 elements);
# elements past a thread's last whole block go through a scalar C loop that does not. Above
# 10,000 elements OpenBLAS splits a call evenly across its threads, so ember passes it a
# length that is a multiple of 64 x threads (every thread's share is then whole blocks), or
# pieces of 8192 when the thread count is unknown. Arrays of 2**20 elements or more go as
# one one-thread call per share of ember's workers (``parallel.blocks`` holds OpenBLAS at
# one thread meanwhile, so its threads are not left spinning into the next op). The
# remaining elements take the float64 detour (float32) or run as zero-padded whole blocks
# (float64).
_AXPY_BLOCK = 64
_AXPY_CALL = 8192
_AXPY_PARALLEL = 1 << 20   # from this many elements the update is split over ember's workers
_AXPY_MIN_F32 = 4096    # below this many elements the detour is faster (measured: 2304 -> 3.3
#                         vs 4.5 us; 100352 -> 70 vs 25 us)
_axpy_fns: dict | None = None     # dtype -> ctypes function once resolved ({} if unusable)
_threads_fn = None                # BLAS thread count getter, once resolved (False: none)


def _axpy_argtypes(int_t, real):
    import ctypes
    return [int_t, real, ctypes.c_void_p, int_t, ctypes.c_void_p, int_t]


def _load_axpy() -> dict:
    """``{dtype: fn}`` for float32/float64 axpy in NumPy's BLAS, or ``{}``."""
    return _blas.find("axpy", _axpy_argtypes)


def _blas_threads():
    """OpenBLAS's current thread count (it can change at run time), or None if unknown."""
    global _threads_fn
    if _threads_fn is None:
        _threads_fn = _blas.threads_getter() or False
    return _threads_fn() if _threads_fn else None


def _detour(x, alpha, out):
    """``out <- x * alpha + out`` through float64 (one rounding for float32)."""
    t = xp.multiply(x, alpha, dtype=_f64)
    t += out
    xp.copyto(out, t, casting="unsafe")


def _product_error(x, alpha):
    """``x * alpha - round(x * alpha)`` exactly (TwoProduct): through float64 for float32,
    by Dekker's splitting for float64. Finite, non-tiny inputs assumed (the test data)."""
    p = x * alpha
    if x.dtype == _f32:
        return (x.astype(_f64) * float(alpha) - p.astype(_f64)).astype(_f32)
    c = 134217729.0                         # 2**27 + 1 splits a double into 26-bit halves
    def split(v):
        t = c * v
        hi = t - (t - v)
        return hi, v - hi
    xh, xl = split(x)
    ah, al = split(_np.float64(alpha))
    return ((xh * ah - p) + xh * al + xl * ah) + xl * al


def _axpy_selftest(fns) -> dict:
    """Keep the dtypes whose BLAS axpy is fused on every element of test data in both call
    patterns ``axpy_`` uses (pieces of 8192, and one long call with OpenBLAS at one thread):
    with ``z = -round(x * alpha)`` a fused result is exactly the product's rounding error,
    which separate roundings lose (they give 0). float32 also has to match the float64
    detour on random data."""
    rng = _np.random.default_rng(1234)
    good = {}
    # an odd number of blocks above 10,000 elements: no larger kernel block divides it
    n = (2 * -(-3 * _AXPY_CALL // (2 * _AXPY_BLOCK)) + 1) * _AXPY_BLOCK
    for dt, fn in fns.items():
        ok = True
        nt = _blas_threads() or 1
        # pieces; one call at one thread; one call split by OpenBLAS over its threads
        for m, one_call, hold in ((n, False, True), (n, True, True),
                                  (nt * n, nt > 1, False)):
            x = rng.standard_normal(m).astype(dt)
            alpha = float(dt.type(-0.3712))
            got = -(x * dt.type(alpha))
            with _parallel.one_blas_thread() if hold else _nullcontext():
                _run_axpy(fn, x, alpha, got, m, one_call)
            ok = ok and _np.array_equal(got, _product_error(x, dt.type(alpha)))
            if ok and dt == _f32:
                z = rng.standard_normal(m).astype(dt)
                got, want = z.copy(), z.copy()
                with _parallel.one_blas_thread() if hold else _nullcontext():
                    _run_axpy(fn, x, alpha, got, m, one_call)
                _detour(x, alpha, want)
                ok = _np.array_equal(got.view(_np.int32), want.view(_np.int32))
        if ok:
            good[dt] = fn
    return good


def _run_axpy(fn, x, alpha, out, n, one_call):
    """BLAS axpy over the first ``n`` elements (a multiple of 64): one call (``one_call``,
    only while OpenBLAS is at one thread) or pieces of ``_AXPY_CALL``, which it never
    splits across threads."""
    size = out.itemsize
    xa, oa = x.ctypes.data, out.ctypes.data
    if one_call:
        fn(n, alpha, xa, 1, oa, 1)
        return
    for i in range(0, n, _AXPY_CALL):
        m = min(_AXPY_CALL, n - i)
        fn(m, alpha, xa + i * size, 1, oa + i * size, 1)


def axpy_(out, x, alpha: float) -> bool:
    """``out <- x * alpha + out`` with one rounding through NumPy's BLAS, if it can: both
    C-contiguous NumPy arrays of the same shape and float32/float64 dtype, not overlapping.
    Returns False (and does nothing) otherwise."""
    global _axpy_fns
    if _axpy_fns is None:
        _axpy_fns = _axpy_selftest(_load_axpy())
    fn = _axpy_fns.get(out.dtype)
    # alpha == 0: OpenBLAS's axpy returns early, but 0 * inf / 0 * nan must still be nan.
    # Small float32 arrays: the (exact) float64 detour costs less than the ctypes calls.
    if (fn is None or alpha == 0 or (out.dtype == _f32 and out.size < _AXPY_MIN_F32)
            or type(x) is not _np.ndarray or type(out) is not _np.ndarray
            or x.dtype != out.dtype or x.shape != out.shape or not x.flags.c_contiguous
            or not out.flags.c_contiguous or not out.flags.writeable
            or (x is not out and _np.may_share_memory(x, out))):
        return False
    if out.dtype == _f32:
        alpha = float(_f32.type(alpha))   # what the BLAS call receives; the tail must agree
    n = out.size
    head = n - n % _AXPY_BLOCK
    if head >= _AXPY_PARALLEL and _parallel.workers() > 1:
        # ember's workers, one share each: OpenBLAS's own threads are never woken (they
        # would spin for a while after the call, competing with the next op's workers)
        xf, of = x.reshape(-1), out.reshape(-1)

        def share(lo, hi):
            lo, hi = lo * _AXPY_BLOCK, hi * _AXPY_BLOCK
            # inside a parallel region OpenBLAS is at one thread: one call; otherwise
            # (serial fallback) pieces small enough that OpenBLAS does not split them
            _run_axpy(fn, xf[lo:hi], alpha, of[lo:hi], hi - lo, _blas_threads() == 1)
        _parallel.blocks(head // _AXPY_BLOCK, share)
    else:
        # one call that OpenBLAS splits into whole blocks per thread (its threads then
        # spin for a while; the next parallel region stops them), or pieces it never splits
        nt = _blas_threads()
        threaded = nt is not None and 1 < nt and _AXPY_BLOCK * nt <= _AXPY_CALL \
            and n < 1 << 31
        head = n - n % (_AXPY_BLOCK * nt if threaded else _AXPY_BLOCK)
        if head:
            _run_axpy(fn, x, alpha, out, head, threaded)
    if head < n and out.dtype == _f32:    # the partial blocks: the detour is exact
        _detour(x.reshape(-1)[head:], alpha, out.reshape(-1)[head:])
    elif head < n:    # float64: the partial blocks through zero-padded whole blocks
        r = n - head
        m = -(-r // _AXPY_BLOCK) * _AXPY_BLOCK      # at most _AXPY_CALL: one thread
        xs = xp.zeros(m, out.dtype)
        os_ = xp.zeros(m, out.dtype)
        xs[:r] = x.reshape(-1)[head:]
        ot = out.reshape(-1)[head:]
        os_[:r] = ot
        _run_axpy(fn, xs, alpha, os_, m, False)
        ot[...] = os_[:r]
    return True


def fma(x, y, z, dtype, out=None):
    """``x * y + z`` in ``dtype`` with one rounding (float32/float16), into ``out`` if given.

    ``x`` is an array; ``y`` and ``z`` are arrays or Python floats. When ``z`` is ``out``
    and ``y`` a scalar, NumPy's BLAS axpy does it if it passed its self-test. Otherwise,
    with ``out``, large contiguous operands go through one cache-sized float64 scratch
    buffer in chunks, so the detour costs no big allocations.
    """
    dtype = xp.dtype(dtype)
    if z is out and out is not None and isinstance(y, float) and axpy_(out, x, y):
        return out
    if dtype not in LOW:
        r = xp.add(xp.multiply(x, y), z)
        if out is None:
            return r
        xp.copyto(out, r, casting="unsafe")
        return out
    ops = (x, y, z)
    if (out is None or out.size <= _CHUNK or not out.flags.c_contiguous
            or any(isinstance(v, xp.ndarray) and (v.shape != out.shape
                                                  or not v.flags.c_contiguous) for v in ops)):
        t = xp.multiply(x, y, dtype=_f64)
        # in place when z cannot widen t (a same-shape array or a scalar: the usual case),
        # so no broadcast_shapes call (~3 us) is needed to find out
        if isinstance(t, xp.ndarray) and (not isinstance(z, xp.ndarray) and xp.ndim(z) == 0
                                          or z.shape == t.shape):
            xp.add(t, z, out=t)
        else:
            t = xp.add(t, z)
        if out is not None and out.dtype == _f32:
            xp.copyto(out, t, casting="unsafe")     # one float64 -> float32 rounding
            return out
        t = t.astype(_f32)
        if out is None:
            return t if dtype == _f32 else t.astype(dtype)
        xp.copyto(out, t, casting="unsafe")
        return out
    o = out.reshape(-1)
    fx, fy, fz = (v.reshape(-1) if isinstance(v, xp.ndarray) else v for v in ops)
    buf = xp.empty(_CHUNK, dtype=_f64)
    for i in range(0, out.size, _CHUNK):
        j = min(i + _CHUNK, out.size)
        t = buf[:j - i]
        xp.multiply(fx[i:j], fy[i:j] if isinstance(fy, xp.ndarray) else fy, out=t, dtype=_f64)
        xp.add(t, fz[i:j] if isinstance(fz, xp.ndarray) else fz, out=t)
        xp.copyto(o[i:j], t, casting="unsafe")
    return out
