"""Binary ops on a grid of special values (±0, ±1, ±2.5, ±3, 0.5, ±inf, NaN) against torch,
bit for bit (same value, same zero sign, NaN where torch has NaN), forward and gradients.
Found by a parity sweep: fmax/fmin ties of ±0, remainder's zero sign, pow's exponent
gradient at base 0, atan2's gradient at the origin."""
import itertools

import numpy as np
import pytest
import torch

import ember

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, np.inf, -np.inf, np.nan, 3.0, -3.0, 0.5]
OPS = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "fmax", "fmin", "atan2",
       "remainder", "fmod", "float_power"]


def _same(x, y):
    return bool(np.all(((x == y) & (np.signbit(x) == np.signbit(y)))
                       | (np.isnan(x) & np.isnan(y))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", OPS)
def test_special_grid(op, dtype):
    pairs = list(itertools.product(SPECIAL, SPECIAL))
    a = np.array([p[0] for p in pairs], dtype)
    b = np.array([p[1] for p in pairs], dtype)
    g = np.where(np.arange(a.size) % 2, -1.0, 1.5).astype(dtype)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ty = getattr(torch, op)(ta, tb)
    ty.backward(torch.tensor(g, dtype=ty.dtype))
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ey = getattr(ember, op)(ea, eb)
    ey.backward(ember.tensor(g).to(ey.dtype))
    libm = op in ("pow", "float_power", "atan2")   # NumPy's libm vs torch's: an ulp apart
    pairs = [(ey.detach().numpy(), ty.detach().numpy())]
    pairs += [(e.grad.numpy(), t.grad.numpy()) for e, t in ((ea, ta), (eb, tb))
              if t.grad is not None]
    for y, w in pairs:
        if libm:
            np.testing.assert_allclose(y, w, rtol=3e-7 if dtype == np.float32 else 1e-15)
            zero = (y == 0) & (w == 0)
            assert (np.signbit(y[zero]) == np.signbit(w[zero])).all()
        else:
            assert _same(y, w), (a[~((y == w) | np.isnan(w))], b[~((y == w) | np.isnan(w))])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clamp_keeps_x_at_zero_bounds(dtype):
    x = np.array([-2.0, -0.0, 0.0, 0.5, 1.0, 3.0, np.nan, np.inf, -np.inf], dtype)
    for kw in (dict(min=0.0, max=1.0), dict(max=-0.0), dict(min=0.0), dict(min=-0.0)):
        e = ember.clamp(ember.tensor(x), **kw).numpy()
        t = torch.clamp(torch.tensor(x), **kw).numpy()
        assert _same(e, t), kw


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("exponent", [3, -2, -0.5, 2, -1])
def test_pow_arithmetic_exponents_bitwise(dtype, exponent):
    """torch computes x**3, x**-2, x**-0.5 (and 2, -1) with arithmetic, not pow()."""
    x = (np.random.default_rng(0).standard_normal(5000) * 3).astype(dtype)
    x[:4] = [-0.0, -np.inf, np.inf, 0.0]
    e = (ember.tensor(x) ** exponent).numpy()
    t = (torch.tensor(x) ** exponent).numpy()
    assert _same(e, t)
