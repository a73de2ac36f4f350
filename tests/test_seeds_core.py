"""The autograd snippets of the seed tutorials (/work/shared/seeds), run with ember and
torch: values and printed text must be what torch prints."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import torch

import ember

T_C = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
T_U = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]


def test_seed_002_003_chain_rule():
    # w = tensor(2.0, requires_grad=True); y = w**2; z = 10*y + 25; z.backward(); w.grad
    w = ember.tensor(2.0, requires_grad=True)
    y = w ** 2
    z = 10 * y + 25
    z.backward()
    assert w.grad.item() == 40.0
    assert repr(w.grad) == "tensor(40.)"
    assert repr(z) == "tensor(65., grad_fn=<AddBackward0>)"
    assert repr(y) == "tensor(4., grad_fn=<PowBackward0>)"


def _model(t_u, w, b):
    return w * t_u + b


def _loss_fn(t_p, t_c):
    squared_diffs = (t_p - t_c) ** 2
    return squared_diffs.mean()


def _seed_001_grad(M):
    t_c, t_u = M.tensor(T_C), M.tensor(T_U)
    params = M.tensor([1.0, 0.0], requires_grad=True)
    first = params.grad is None
    loss = _loss_fn(_model(t_u, *params), t_c)
    loss.backward()
    return first, params.grad


def test_seed_001_params_grad():
    first, g = _seed_001_grad(ember)
    t_first, tg = _seed_001_grad(torch)
    assert first and t_first
    assert repr(g) == "tensor([4517.2969,   82.6000])" == repr(tg)
    np.testing.assert_array_equal(g.numpy(), tg.numpy())


def _training_loop(M, n_epochs, learning_rate, params, t_u, t_c):
    losses = []
    for epoch in range(1, n_epochs + 1):
        if params.grad is not None:
            params.grad.zero_()
        t_p = _model(t_u, *params)
        loss = _loss_fn(t_p, t_c)
        loss.backward()
        with M.no_grad():
            params -= learning_rate * params.grad
        losses.append(loss.item())
        if epoch % 500 == 0:
            print(f"Epoch {epoch}, Loss {float(loss)}")
    return params, losses


def _seed_001_loop(M):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        params, losses = _training_loop(
            M, n_epochs=5000, learning_rate=1e-2,
            params=M.tensor([1.0, 0.0], requires_grad=True),
            t_u=M.tensor(T_U) * 0.1, t_c=M.tensor(T_C))
    return out.getvalue(), params, np.array(losses)


SEED_001_PRINTED = """\
Epoch 500, Loss 7.860115051269531
Epoch 1000, Loss 3.828537940979004
Epoch 1500, Loss 3.092191219329834
Epoch 2000, Loss 2.957697868347168
Epoch 2500, Loss 2.933133840560913
Epoch 3000, Loss 2.9286484718322754
Epoch 3500, Loss 2.9278297424316406
Epoch 4000, Loss 2.9276793003082275
Epoch 4500, Loss 2.927651882171631
Epoch 5000, Loss 2.9276468753814697
"""


def test_seed_001_training_loop_matches_torch():
    printed, params, losses = _seed_001_loop(ember)
    t_printed, t_params, t_losses = _seed_001_loop(torch)
    assert t_printed == SEED_001_PRINTED           # the oracle prints what the seed shows
    # every one of the 5000 float32 losses, not just the printed ones
    np.testing.assert_allclose(losses, t_losses, rtol=1e-6, atol=0)
    assert printed == t_printed
    assert repr(params) == repr(t_params) == "tensor([  5.3671, -17.3012], requires_grad=True)"
    assert params.is_leaf and params.requires_grad
