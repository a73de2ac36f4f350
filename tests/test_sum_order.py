"""Torch-order sums (ember/_backend/reduce.py) bit for bit against torch, over the shapes
that take the one-block-level and one-segment fast paths (bias gradients of small layers)
and the multi-level paths around them; signed zeros, NaN and inf included."""
import numpy as np
import pytest
import torch

import ember

M_SIZES = [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257,
           300, 1000, 4100]
N_SIZES = [1, 2, 3, 4, 5, 8, 10, 16, 31, 32, 33, 128]


def _data(m, n, dtype, seed, special):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((m, n)) * 10.0 ** rng.integers(-3, 4, size=(m, n))).astype(dtype)
    if special == "negzero":
        x[:] = -0.0
    elif special == "mixedzero":
        x[rng.random((m, n)) < 0.5] = -0.0
        x[rng.random((m, n)) < 0.3] = 0.0
    elif special == "nonfinite" and x.size > 3:
        flat = x.reshape(-1)
        flat[rng.integers(0, x.size)] = np.nan
        flat[rng.integers(0, x.size)] = np.inf
        flat[rng.integers(0, x.size)] = -np.inf
    return x


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", [None, "negzero", "mixedzero", "nonfinite"])
def test_sum_dim0_bitwise(dtype, special):
    for m in M_SIZES:
        for n in N_SIZES:
            if m * n > 32768:
                continue
            x = _data(m, n, dtype, m * 1000 + n, special)
            e = ember.from_numpy(x.copy()).sum(0).numpy()
            t = torch.from_numpy(x.copy()).sum(0).numpy()
            nan = np.isnan(t)
            assert np.array_equal(np.isnan(e), nan), (m, n)
            assert np.array_equal(_bits(e)[~nan], _bits(t)[~nan]), (m, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", [None, "negzero", "mixedzero", "nonfinite"])
def test_sum_lastaxis_and_full_bitwise(dtype, special):
    for m in [1, 2, 3, 5, 8, 17, 64]:
        for n in N_SIZES + [300, 511]:
            x = _data(m, n, dtype, m * 7 + n, special)
            for f in (lambda a: a.sum(1), lambda a: a.sum()):
                e = f(ember.from_numpy(x.copy())).numpy()
                t = f(torch.from_numpy(x.copy())).numpy()
                nan = np.isnan(t)
                assert np.array_equal(np.isnan(e), nan), (m, n)
                assert np.array_equal(_bits(e)[~nan], _bits(t)[~nan]), (m, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 4, 2), (64, 784, 128), (64, 128, 10), (300, 7, 33),
                                   (1, 3, 5), (5, 3, 1)])
def test_linear_grads_bitwise(dtype, shape):
    """Linear's bias gradient is a torch-order dim-0 sum: bit for bit (the GEMMs are
    BLAS's, so the other gradients only to rounding)."""
    b, i, o = shape
    rng = np.random.default_rng(b + i + o)
    x = rng.standard_normal((b, i)).astype(dtype)
    w = rng.standard_normal((o, i)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype)
    g = rng.standard_normal((b, o)).astype(dtype)
    g[0] = -0.0
    out = {}
    for M, conv in ((ember, ember.from_numpy), (torch, torch.from_numpy)):
        xs, ws, bs = (conv(a.copy()).requires_grad_() for a in (x, w, bias))
        M.nn.functional.linear(xs, ws, bs).backward(conv(g.copy()))
        out[M.__name__] = [a.grad.numpy() for a in (xs, ws, bs)]
    for e, t in zip(out["ember"][:2], out["torch"][:2]):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-4)
    assert np.array_equal(_bits(out["ember"][2]), _bits(out["torch"][2]))
