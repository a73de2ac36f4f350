"""Convolutions large enough that ember splits their work into blocks of samples (the
stride-1 col2im of the input gradient, the no-grad forward): results must not depend on the
blocking, and must match torch."""
from __future__ import annotations

import numpy as np
import pytest

from ember._ops import conv as C
from helpers import check


def _conv(M, x, w, b, **kw):
    return M.nn.functional.conv2d(x, w, b, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"padding": 1}, {"padding": (2, 0), "groups": 2}])
def test_blocked_input_grad_matches_torch(dtype, kw):
    rng = np.random.default_rng(0)
    # 32 channels, 3x3, 20x20: ~0.4 MB of columns per sample, so several blocks of samples
    x = rng.standard_normal((16, 32, 20, 20)).astype(dtype)
    w = rng.standard_normal((8, 32 // kw.get("groups", 1), 3, 3)).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    smallest_sample_cols = 32 * 9 * (18 * 20) * 4        # rows x (oh x padded width), float32
    assert C._CACHE_BLOCK_BYTES // smallest_sample_cols < 16  # so: more than one block
    assert 16 * smallest_sample_cols >= C._BLOCK_MIN_BYTES      # training forward in blocks
    # float32: the weight gradient sums 3,600 products of size ~1 (values up to ~50), so
    # compare with an absolute tolerance at float32's resolution of those sums
    atol = 1e-3 if dtype == np.float32 else None
    check(lambda M, x, w, b: _conv(M, x, w, b, **kw), x, w, b, atol=atol)


def test_blocking_does_not_change_the_result(monkeypatch):
    import ember
    rng = np.random.default_rng(1)
    x = ember.tensor(rng.standard_normal((7, 16, 12, 12)).astype(np.float32),
                     requires_grad=True)
    w = ember.tensor(rng.standard_normal((4, 16, 3, 3)).astype(np.float32))
    b = ember.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    g = ember.tensor(rng.standard_normal((7, 4, 10, 10)).astype(np.float32))
    w.requires_grad_(True)
    results = []
    # all columns at once / in one block; then one sample per block, forward and backward
    for block, min_bytes in ((1 << 40, 1 << 40), (1, 0)):
        monkeypatch.setattr(C, "_CACHE_BLOCK_BYTES", block)
        monkeypatch.setattr(C, "_BLOCK_MIN_BYTES", min_bytes)
        x.grad = w.grad = b.grad = None
        y = ember.nn.functional.conv2d(x, w, b)
        y.backward(g)
        with ember.no_grad():
            y_infer = ember.nn.functional.conv2d(x, w, b)
        results.append([t.numpy().copy() for t in (y.detach(), y_infer, x.grad, w.grad,
                                                    b.grad)])
    for a, b in zip(*results):
        assert np.array_equal(a, b)
        assert np.array_equal(np.signbit(a), np.signbit(b))
