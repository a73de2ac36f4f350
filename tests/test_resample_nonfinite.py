"""Interpolation and adaptive average pooling of inputs with inf/NaN: torch's kernels touch
only each output's own taps, so a non-finite value stays local; ember's GEMM with the dense
map spread it to every output (0 * inf = NaN) before. Also avg_pool's -0.0 windows."""
import numpy as np
import pytest
import torch

import ember


def _x(dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(dtype)
    x[0, 0, 0, 0], x[0, 1, 5, 4], x[1, 2, 2, 3] = np.nan, np.inf, -np.inf
    x[1, 0] = -0.0
    return x


def _same(e, t, dtype):
    e, t = e.detach().numpy(), t.detach().numpy()
    assert np.array_equal(np.isnan(e), np.isnan(t))
    tol = 1e-6 if dtype == np.float32 else 1e-13      # (separable order: cancellation)
    np.testing.assert_allclose(e, t, rtol=tol, atol=tol)
    zero = (e == 0) & (t == 0)
    assert (np.signbit(e[zero]) == np.signbit(t[zero])).all()


CASES = [("interpolate", dict(scale_factor=2, mode="bilinear", align_corners=False)),
         ("interpolate", dict(size=(7, 9), mode="bilinear", align_corners=True)),
         ("interpolate", dict(scale_factor=2, mode="nearest")),
         ("adaptive_avg_pool2d", dict(output_size=(4, 3))),
         ("adaptive_avg_pool2d", dict(output_size=(6, 5))),
         ("avg_pool2d", dict(kernel_size=2)),
         ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn,kw", CASES, ids=[f"{f}-{i}" for i, (f, _) in enumerate(CASES)])
def test_nonfinite_stays_local(fn, kw, dtype):
    x = _x(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, fn)(tx, **kw)
    ex = ember.tensor(x, requires_grad=True)
    ey = getattr(ember.nn.functional, fn)(ex, **kw)
    _same(ey, ty, dtype)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    g[0, 0, 0, 0] = np.inf                      # a non-finite gradient stays local too
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    _same(ex.grad, tx.grad, dtype)
