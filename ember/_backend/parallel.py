"""Intra-op parallelism over independent blocks (of samples), for the kernels where the work
between GEMMs (im2col copies, col2im adds, bias) is as large as the GEMMs themselves.

``blocks(n, fn)`` splits ``range(n)`` into one contiguous range per worker and calls
``fn(start, stop)`` for each, on ember's thread pool and the calling thread at once. While it
runs, the BLAS NumPy ships with is held to one thread, so each worker's GEMMs run on its own
core, next to its own copies and adds, instead of both cores taking turns at a two-thread
GEMM and then one core doing the memory-bound work alone (MNIST net's second convolution:
see the commit that brought this in for the figures). NumPy releases the GIL in its GEMMs,
copies and ufunc loops, so the workers run in parallel.

The number of workers is the BLAS thread count (``ember.set_num_threads`` sets it). With one
thread, with a BLAS whose thread count ember cannot read or set, or while another thread of
the program is inside a parallel region, ``fn(0, n)`` simply runs in the calling thread.
``EMBER_NO_PARALLEL=1`` (read at import) turns the pool off.

Results do not depend on the split except through the BLAS itself: OpenBLAS's one-thread
and two-thread GEMMs may round differently, as torch's results depend on its thread count.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as _np

_ENABLED = not os.environ.get("EMBER_NO_PARALLEL")
_pool = None
_get = _set = None
_state = None             # blas.OpenBLASThreads, once resolved (None: not available)
_resolved = False
_region = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child (DataLoader worker) has none of the parent's pool threads."""
    global _pool, _region
    _pool = None
    _region = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _blas_threads():
    global _get, _set, _resolved, _state
    if not _resolved:
        from .blas import threads_getter, threads_setter, openblas_thread_state
        _get, _set = threads_getter(), threads_setter()
        _state = openblas_thread_state()
        _resolved = True
    return _get, _set


def _enter_region() -> int:
    """Hold the BLAS at one thread for a parallel region; return the count to restore.

    OpenBLAS's own worker threads busy-wait (sched_yield) for about 0.1 s after each
    multi-threaded call; on a machine with as many cores as workers they would take turns
    with ember's workers (measured: a parallel region of MNIST net's second convolution,
    8.8 -> 17 ms). So if they are up, they are stopped (``blas_thread_shutdown_``, what
    OpenBLAS does before a fork), and the thread count is set by writing OpenBLAS's
    ``blas_cpu_number`` rather than through ``openblas_set_num_threads``, which would start
    them again at once (and after the region, costing ~60 us each time). OpenBLAS starts
    them itself on its next multi-threaded call, as it does after a fork. The shutdown is
    skipped while a Python thread other than the caller and ember's workers is alive: it
    could be inside a BLAS call that uses them."""
    get, put = _blas_threads()
    before = get()
    st = _state
    if st is None:
        put(1)
        return before
    st.cpu_number.value = 1
    if st.server_avail.value and \
            threading.active_count() <= 1 + len(getattr(_pool, "_threads", ())):
        st.shutdown()
    return before


def _leave_region(before: int) -> None:
    if _state is None:
        _set(before)
    else:
        _state.cpu_number.value = before


@contextlib.contextmanager
def one_blas_thread():
    """Take the region lock without waiting and hold OpenBLAS at one thread inside the
    block; yields whether it did (False: OpenBLAS's thread count cannot be read and set, or
    another thread's region holds the lock, and with it one thread)."""
    get, put = _blas_threads()
    if get is None or put is None or not _region.acquire(blocking=False):
        yield False
        return
    try:
        before = _enter_region()
        try:
            yield True
        finally:
            _leave_region(before)
    finally:
        _region.release()


def workers() -> int:
    """How many workers ``blocks`` would use now (1: it runs serially)."""
    if not _ENABLED:
        return 1
    get, put = _blas_threads()
    if get is None or put is None:
        return 1
    return max(1, min(get(), os.cpu_count() or 1))


def blocks(n: int, fn, split: bool = True) -> None:
    """Run ``fn(start, stop)`` over a split of ``range(n)`` (just ``fn(0, n)`` unless
    ``split`` and more than one worker is available)."""
    global _pool
    k = min(n, workers()) if split else 1
    if k <= 1:
        fn(0, n)
        return
    with one_blas_thread() as held:
        if not held:
            fn(0, n)
            return
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                       thread_name_prefix="ember")
        bounds = [n * i // k for i in range(k + 1)]
        futures = [_pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, k)]
        try:
            fn(bounds[0], bounds[1])
        finally:
            for f in futures:            # wait for all, even if one failed; re-raise after
                f.exception()
        for f in futures:
            f.result()


# Elementwise work is split from this many elements on (below it, the thread handoff costs
# more than the second core saves); each worker walks its share in cache-sized pieces.
FLAT_MIN = 1 << 20
FLAT_PIECE = 1 << 18


def flat(n: int, fn, piece: int = FLAT_PIECE, align: int = 64,
         split: bool | None = None) -> None:
    """Call ``fn(lo, hi)`` over ``range(n)`` in pieces of at most ``piece`` indices, split
    over the workers at multiples of ``align`` (64 for flat element indices, so vector loops
    keep whole blocks; 1 for samples) when ``split`` (default: ``n >= FLAT_MIN``). ``fn``
    must only write its own indices' results."""
    if not (n >= FLAT_MIN if split is None else split):
        for lo in range(0, n, piece):
            fn(lo, min(n, lo + piece))
        return

    def run(ulo, uhi):
        lo, hi = ulo * align, min(n, uhi * align)
        for s in range(lo, hi, piece):
            fn(s, min(hi, s + piece))
    blocks(-(-n // align), run)


# GEMMs with at least this many multiply-adds are split over the workers (below it, one
# BLAS call; OpenBLAS itself stays single-threaded below 2**18).
GEMM_SPLIT_MNK = 1 << 25


def gemm(a, b, out=None):
    """``matmul(a, b, out=out)`` for 2-D ``a``, ``b``; large products are split over the
    workers by rows of ``a`` or columns of ``b`` (whichever is longer), one single-thread
    BLAS call each, next to the workers' other split work; smaller ones are one BLAS call
    on OpenBLAS's own threads."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = _np.empty((m, n), dtype=_np.result_type(a, b))
    if m * n * k < GEMM_SPLIT_MNK or max(m, n) < 64:
        return _np.matmul(a, b, out=out)
    if m >= n:
        def run(lo, hi):
            _np.matmul(a[lo:hi], b, out=out[lo:hi])
        blocks(m, run)
    else:
        def run(lo, hi):
            _np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])
        blocks(n, run)
    return out
