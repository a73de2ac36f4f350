"""The BLAS axpy route of ``out.add_(x, alpha=a)`` (ember/_backend/fma.py): bit for bit
torch's fused result in float32 and float64, whatever the size, and the self-test that
guards it rejects an axpy that rounds twice."""
import ctypes
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from ember._backend import fma as F
from ember.optim import _kernels as K

SIZES = [0, 1, 7, 63, 64, 65, 200, 8191, 8192, 8193, 8256, 16447, 100000]
BITS = {np.float32: np.int32, np.float64: np.int64}


def _torch_add_(a, b, alpha):
    t = torch.from_numpy(a.copy())
    t.add_(torch.from_numpy(b), alpha=alpha)
    return t.numpy()


def _same_bits(x, y):
    it = BITS[x.dtype.type]
    return bool(np.all((x.view(it) == y.view(it)) | (np.isnan(x) & np.isnan(y))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_add_alpha_bitwise(dtype, n):
    rng = np.random.default_rng(n)
    for alpha in (-0.01, -0.37, 2.5):
        a = rng.standard_normal(n).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        out = a.copy()
        K.add_(out, b, alpha)
        assert _same_bits(out, _torch_add_(a, b, alpha)), (n, alpha)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.0, -0.0, -0.01, 1e30, float("inf")])
def test_add_alpha_specials(dtype, alpha):
    rng = np.random.default_rng(0)
    for n in (5, 100, 8300):
        a = rng.standard_normal(n).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        b[::7], b[1::11], a[2::13], a[3::5], b[4::9] = np.inf, np.nan, -np.inf, -0.0, 0.0
        out = a.copy()
        with np.errstate(all="ignore"):
            K.add_(out, b, alpha)
        assert _same_bits(out, _torch_add_(a, b, alpha)), (n, alpha)


def test_axpy_declines_what_it_cannot_do():
    a = np.ones((4, 6), np.float32)
    assert not F.axpy_(a[:, ::2], np.ones((4, 3), np.float32), 0.5)      # strided out
    assert not F.axpy_(a, np.ones((6, 4), np.float32).T, 0.5)            # strided x
    assert not F.axpy_(a[:, 1:], a[:, :-1], 0.5)                         # overlap
    assert not F.axpy_(a, np.ones((4, 6), np.float64), 0.5)              # mixed dtypes
    assert not F.axpy_(a.astype(np.float16), np.ones((4, 6), np.float16), 0.5)
    assert not F.axpy_(a, np.ones((4, 6), np.float32), 0.0)              # alpha 0
    assert (a == 1).all()
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    if F.axpy_(x, x, 2.0):                                               # x is out: fine
        assert (x == 3 * np.arange(24, dtype=np.float32).reshape(4, 6)).all()


def test_selftest_rejects_two_roundings():
    """A fake axpy that rounds the product and the sum separately must be turned down, a
    real one accepted (when NumPy's BLAS has one)."""
    def twice(n, alpha, xa, incx, oa, incy):
        x = np.ctypeslib.as_array((ctypes.c_float * n).from_address(xa))
        o = np.ctypeslib.as_array((ctypes.c_float * n).from_address(oa))
        o += x * np.float32(alpha)
    assert F._axpy_selftest({np.dtype(np.float32): twice}) == {}
    fns = F._load_axpy()
    if fns:
        assert set(F._axpy_selftest(fns)) <= {np.dtype(np.float32), np.dtype(np.float64)}


def test_fallback_same_bits_as_blas():
    """EMBER_NO_BLAS_CALLS=1 (the float64 detour) gives the same float32 bits."""
    code = ("import numpy as np; from ember.optim import _kernels as K;"
            "r = np.random.default_rng(3); a = r.standard_normal(9000).astype(np.float32);"
            "b = r.standard_normal(9000).astype(np.float32); K.add_(a, b, -0.37);"
            "import sys; sys.stdout.write(a.tobytes().hex())")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=dict(__import__("os").environ, **env)).stdout
            for env in ({}, {"EMBER_NO_BLAS_CALLS": "1"})]
    assert outs[0] == outs[1]


@pytest.mark.parametrize("opts", [dict(momentum=0.9),
                                  dict(momentum=0.9, nesterov=True, weight_decay=1e-3),
                                  dict(momentum=0.9, dampening=0.1, weight_decay=1e-2)])
@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_sgd_momentum_trajectory_bitwise(dtype, opts):
    """SGD over 30 steps on a 784x128 weight: the same bits as torch (every alpha-add is
    fused, in float64 too)."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((128, 784))
    grads = [rng.standard_normal((128, 784)) for _ in range(30)]
    npd = np.float32 if dtype == ember.float32 else np.float64
    ew = ember.nn.Parameter(ember.from_numpy(w0.astype(npd)))
    tw = torch.nn.Parameter(torch.from_numpy(w0.astype(npd)))
    eo = ember.optim.SGD([ew], lr=0.01, **opts)
    to = torch.optim.SGD([tw], lr=0.01, **opts)
    for g in grads:
        ew.grad = ember.from_numpy(g.astype(npd))
        tw.grad = torch.from_numpy(g.astype(npd))
        eo.step()
        to.step()
    assert _same_bits(ew.detach().numpy(), tw.detach().numpy())


def test_add_alpha_bitwise_at_other_blas_thread_counts():
    """The one-call path sizes its BLAS call by OpenBLAS's current thread count, which can
    change at run time (threadpoolctl): bits stay torch's at 1, 2 and 3 threads."""
    from ember._backend import blas
    getter, setter = blas.threads_getter(), blas.threads_setter()
    counts = [1, 2, 3] if getter is not None and setter is not None else [None]
    before = getter() if getter is not None else None
    rng = np.random.default_rng(7)
    try:
        for nt in counts:
            if nt is not None:
                setter(nt)
                assert F._blas_threads() == nt
            for n in (10000, 10001, 20000, 100352 + 64 * 3 + 5):
                for dtype in (np.float32, np.float64):
                    a = rng.standard_normal(n).astype(dtype)
                    b = rng.standard_normal(n).astype(dtype)
                    out = a.copy()
                    K.add_(out, b, -0.37)
                    assert _same_bits(out, _torch_add_(a, b, -0.37)), (nt, n, dtype)
    finally:
        if before is not None:
            setter(before)
