"""Backward of the piecewise-linear activations selects the gradient (torch's kernels:
``cond ? grad : 0``), so outside the active region it is +0.0 even where the incoming
gradient is negative, and an inf/NaN there does not leak. Compared bit for bit with torch,
for plain backward and for create_graph=True."""
import numpy as np
import pytest
import torch

import ember

ACTS = {
    "hardtanh": (lambda F: F.hardtanh),
    "relu6": (lambda F: F.relu6),
    "hardsigmoid": (lambda F: F.hardsigmoid),
    "hardswish": (lambda F: F.hardswish),
    "hardshrink": (lambda F: lambda t: F.hardshrink(t, 1.0)),
    "softshrink": (lambda F: lambda t: F.softshrink(t, 1.0)),
    "threshold": (lambda F: lambda t: F.threshold(t, 0.3, 2.0)),
}
BITS = {2: np.int16, 4: np.int32, 8: np.int64}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("create_graph", [False, True])
def test_masked_backward_bitwise(name, dtype, create_graph):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(400) * 4).astype(dtype)
    g = rng.standard_normal(400).astype(dtype)          # negative values outside the region
    g[::37] = np.inf
    g[5::41] = -np.inf
    g[7::43] = np.nan
    g[9::47] = -0.0
    tx = torch.tensor(x, requires_grad=True)
    ACTS[name](torch.nn.functional)(tx).backward(torch.tensor(g))
    ex = ember.tensor(x, requires_grad=True)
    y = ACTS[name](ember.nn.functional)(ex)
    got, = ember.autograd.grad(y, ex, ember.tensor(g), create_graph=create_graph)
    got, want = got.detach().numpy(), tx.grad.numpy()
    it = BITS[np.dtype(dtype).itemsize]
    same = (got.view(it) == want.view(it)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (x[~same], g[~same], got[~same], want[~same])
    assert not np.signbit(got[(want == 0) & ~np.signbit(want)]).any()
