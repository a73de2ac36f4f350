"""cross_entropy / nll_loss gradients carry torch's zero signs: +0.0 for ignored rows and for
probabilities that underflowed, whatever the sign of the incoming gradient; checked bit for
bit (values equal and same sign of zero) with class weights, ignore_index, every reduction,
plain backward and create_graph."""
import numpy as np
import pytest
import torch

import ember


def _case(dtype):
    x = np.array([[30.0, -90.0, 0.0, -200.0], [1.0, 2.0, 3.0, 4.0], [5.0, -150.0, 0.5, 2.0],
                  [0.0, 0.0, 0.0, 0.0]], dtype)
    y = np.array([0, 2, -100, 3])
    w = np.array([1.0, 0.0, 2.0, 0.5], dtype)
    return x, y, w


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
def test_zero_signs(fn, dtype, reduction, sign, weighted, create_graph):
    x, y, w = _case(dtype)
    g = np.full(4, sign, dtype) if reduction == "none" else np.array(sign, dtype)
    tx = torch.tensor(x, requires_grad=True)
    kw = dict(reduction=reduction, weight=torch.tensor(w) if weighted else None)
    getattr(torch.nn.functional, fn)(tx, torch.tensor(y), **kw).backward(torch.tensor(g))
    ex = ember.tensor(x, requires_grad=True)
    kw = dict(reduction=reduction, weight=ember.tensor(w) if weighted else None)
    loss = getattr(ember.nn.functional, fn)(ex, ember.tensor(y), **kw)
    got, = ember.autograd.grad(loss, ex, ember.tensor(g), create_graph=create_graph)
    got, want = got.detach().numpy(), tx.grad.numpy()
    # (target entries with p ~ 1 cancel: p * c - c rounds differently from torch's order)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12 if dtype == np.float64 else 1e-6)
    zero = want == 0
    assert (np.signbit(got[zero]) == np.signbit(want[zero])).all(), (got, want)
