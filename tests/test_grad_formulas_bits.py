"""Backward formulas computed as torch's kernels compute them (found by a parity sweep of the
unary ops against torch): tanh's fused ``1 - y*y``, abs's sign of NaN (0), nan_to_num's
multiplication by isfinite."""
import numpy as np
import pytest
import torch

import ember


def _bits_equal(a, b):
    return bool(np.all((a.view(np.int32) == b.view(np.int32)) | (np.isnan(a) & np.isnan(b))))


def test_tanh_backward_fused_where_forward_agrees():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(20000) * 3).astype(np.float32)
    g = rng.standard_normal(20000).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tanh(tx)
    ty.backward(torch.tensor(g))
    ex = ember.tensor(x, requires_grad=True)
    ey = ember.tanh(ex)
    ey.backward(ember.tensor(g))
    # the forward values come from different libms (an ulp apart on some elements); where
    # they agree, the gradients must agree bit for bit
    same = ey.detach().numpy() == ty.detach().numpy()
    assert same.mean() > 0.5
    assert _bits_equal(ex.grad.numpy()[same], tx.grad.numpy()[same])


@pytest.mark.parametrize("fn,x,g", [
    # abs: torch's sgn(NaN) is 0
    ("abs", [np.nan, 0.0, -0.0, 2.0, -3.0], [-1.0, -1.0, 1.0, -1.0, 2.0]),
    # nan_to_num: torch multiplies by isfinite(x) (inf/NaN gradients give NaN there)
    ("nan_to_num", [np.inf, np.nan, -np.inf, 1.0, 2.0], [np.inf, -2.0, 3.0, np.nan, -1.0]),
])
def test_backward_bits_at_special_values(fn, x, g):
    x, g = np.array(x, np.float32), np.array(g, np.float32)
    tx = torch.tensor(x, requires_grad=True)
    getattr(torch, fn)(tx).backward(torch.tensor(g))
    ex = ember.tensor(x, requires_grad=True)
    getattr(ember, fn)(ex).backward(ember.tensor(g))
    assert _bits_equal(ex.grad.numpy(), tx.grad.numpy())


def test_hardswish_backward_boundaries_and_nan():
    """torch's vectorized kernel (every element of a tensor but its last few): 0 at x <= -3
    (also -inf), g at x >= 3 (also inf), g * (x / 3 + 0.5) between, NaN for a NaN input."""
    x = np.zeros(64, np.float32)
    x[:6] = [-3.0, 3.0, np.inf, -np.inf, np.nan, -2.9]
    g = np.full(64, -2.0, np.float32)
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.hardswish(tx).backward(torch.tensor(g))
    ex = ember.tensor(x, requires_grad=True)
    ember.nn.functional.hardswish(ex).backward(ember.tensor(g))
    assert _bits_equal(ex.grad.numpy()[:32], tx.grad.numpy()[:32])


def test_soft_margin_loss_follows_torch_formula_at_infinities():
    """torch computes log1p(exp(-x y)) and ((y z) * -norm) / (1 + z) * g, z = exp(-y x):
    at x y = -inf the gradient is NaN (inf / inf), and the loss overflows to inf for large
    margins; ember gives the same numbers."""
    x = np.array([-np.inf, -100.0, 0.0, 3.0, np.inf], np.float32)
    y = np.ones(5, np.float32)
    for red in ("none", "sum"):
        tx = torch.tensor(x, requires_grad=True)
        tl = torch.nn.functional.soft_margin_loss(tx, torch.tensor(y), reduction=red)
        tl.backward(torch.ones_like(tl))
        ex = ember.tensor(x, requires_grad=True)
        el = ember.nn.functional.soft_margin_loss(ex, ember.tensor(y), reduction=red)
        el.backward(ember.ones_like(el))
        np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=1e-6)
        assert np.array_equal(np.isnan(ex.grad.numpy()), np.isnan(tx.grad.numpy()))
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
