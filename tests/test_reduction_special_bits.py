"""Reductions' outputs and gradients on inputs with NaN, inf, -0.0 rows, ties and zeros,
against torch: values, NaN placement and zero signs (found by a parity sweep: cumsum of a
leading -0.0 run, prod's gradient with several zeros, the evenly distributed gradient of
max()/min()/median(), amax/amin's scale-by-count, nansum's product, norm's masked scale)."""
import numpy as np
import pytest
import torch

import ember


def _inputs(dtype):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 6)).astype(dtype)
    b = a.copy()
    b[1, 2], b[0, 0] = np.nan, np.inf
    b[3, :] = -0.0
    c = np.full((3, 5), -0.0, dtype)
    d = rng.standard_normal((4, 6)).astype(dtype)
    d[2, 3] = d[2, 1]
    d[0, :] = 5.0
    d[1, :3] = 0.0                     # several zeros
    return [a, b, c, d]


CASES = [("sum", {"dim": 1}), ("cumsum", {"dim": 1}), ("nansum", {"dim": 1}),
         ("nanmean", {"dim": 1}), ("prod", {}), ("prod", {"dim": 1}), ("max", {}),
         ("min", {}), ("median", {}), ("amax", {"dim": 1}), ("amin", {"dim": 0}),
         ("aminmax", {"dim": 1}), ("norm", {}), ("norm", {"p": float("inf"), "dim": 1}),
         ("max", {"dim": 1}), ("mean", {})]


def _check(e, t, dtype):
    e, t = e.detach().numpy(), t.detach().numpy()
    assert e.shape == t.shape and e.dtype == t.dtype
    np.testing.assert_allclose(e, t, rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)
    zero = (e == 0) & (t == 0)
    assert (np.signbit(e[zero]) == np.signbit(t[zero])).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_reduction_special(name, kw, dtype):
    for i, x in enumerate(_inputs(dtype)):
        tx = torch.tensor(x, requires_grad=True)
        ty = getattr(torch, name)(tx, **kw)
        ex = ember.tensor(x, requires_grad=True)
        ey = getattr(ember, name)(ex, **kw)
        ty, ey = (ty[0], ey[0]) if isinstance(ty, tuple) else (ty, ey)
        _check(ey, ty, dtype)
        g = np.random.default_rng(i).standard_normal(tuple(ty.shape)).astype(dtype)
        g.reshape(-1)[::2] *= -1
        ty.backward(torch.tensor(g))
        ey.backward(ember.tensor(g))
        _check(ex.grad, tx.grad, dtype)
