"""Fast paths of the small-model training step: cross_entropy with all targets counted (no
masking, weight sum = row count) against torch and bit for bit against ember's general path,
its target checks, and the optimizer's small fused multiply-adds bit for bit against torch."""
import numpy as np
import pytest
import torch

import ember


def _bits(a):
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _same(e, t):
    e, t = np.asarray(e), np.asarray(t)
    assert e.dtype == t.dtype and e.shape == t.shape
    nan = np.isnan(t)
    assert np.array_equal(np.isnan(e), nan)
    assert np.array_equal(_bits(e)[~nan], _bits(t)[~nan])


def _ce(M, x, y, weight=None, **kw):
    xs = M.from_numpy(x.copy()).requires_grad_()
    w = None if weight is None else M.from_numpy(weight.copy())
    loss = M.nn.functional.cross_entropy(xs, M.from_numpy(y.copy()), weight=w, **kw)
    loss.sum().backward()
    return loss.detach().numpy(), xs.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(8, 2), (64, 10), (5, 1), (1, 7), (3, 4, 5)])
@pytest.mark.parametrize("case", ["plain", "ignored", "all_ignored", "nonfinite", "ties"])
def test_cross_entropy_fast_path(dtype, reduction, shape, case):
    """Against torch to rounding (exp/log are NumPy's, not SLEEF's), and bit for bit
    against ember's general path (a weight of ones: masked, weight sum by summation)."""
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = shape[1]
    y = rng.integers(0, C, size=(shape[0],) + shape[2:]).astype(np.int64)
    kw = {"reduction": reduction}
    if case == "ignored":
        y.reshape(-1)[::3] = -100
    elif case == "all_ignored":
        y[...] = 3
        kw["ignore_index"] = 3
    elif case == "nonfinite":
        x.reshape(-1)[0] = np.nan
        x.reshape(-1)[-1] = np.inf
    elif case == "ties":
        x[...] = 1.5
    el, eg = _ce(ember, x, y, **kw)
    tl, tg = _ce(torch, x, y, **kw)
    np.testing.assert_allclose(el, tl, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eg, tg, rtol=1e-5, atol=1e-6)
    gl, gg = _ce(ember, x, y, weight=np.ones(C, dtype), **kw)
    _same(el, gl)
    _same(eg, gg)


def test_cross_entropy_nll_second_backward_and_names():
    x = ember.randn(4, 3, requires_grad=True)
    y = ember.tensor([0, 2, 1, 2])
    loss = ember.nn.functional.cross_entropy(x, y)
    assert loss.grad_fn.name() == "NllLossBackward0"
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


@pytest.mark.parametrize("target,msg", [([0, 3, 1], "Target 3 is out of bounds."),
                                        ([0, -1, 1], "Target -1 is out of bounds."),
                                        ([-7, 1, 1], "Target -7 is out of bounds.")])
def test_cross_entropy_target_errors(target, msg):
    for M in (ember, torch):
        x = M.zeros(3, 3)
        with pytest.raises(IndexError, match=msg):
            M.nn.functional.cross_entropy(x, M.tensor(target))
        with pytest.raises(IndexError, match=msg):
            M.nn.functional.nll_loss(x, M.tensor(target))


def test_cross_entropy_ignore_index_out_of_range_is_fine():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    y = np.array([0, -5, 2, -5])
    for y, ii in ((np.array([0, -5, 2, -5]), -5), (np.array([0, 7, 2, 7]), 7)):
        el, eg = _ce(ember, x, y, ignore_index=ii)
        tl, tg = _ce(torch, x, y, ignore_index=ii)
        np.testing.assert_allclose(el, tl, rtol=1e-6)
        np.testing.assert_allclose(eg, tg, rtol=1e-6)


def test_cross_entropy_noncontiguous_target():
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    y = np.array([[0, 9], [3, 9], [1, 9], [2, 9], [3, 9]])
    out = []
    for M in (ember, torch):
        xs = M.from_numpy(x.copy()).requires_grad_()
        loss = M.nn.functional.cross_entropy(xs, M.from_numpy(y.copy())[:, 0])
        loss.backward()
        out.append((loss.detach().numpy(), xs.grad.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32])   # float64 has no wider type: to rounding
@pytest.mark.parametrize("shape", [(1,), (3,), (4, 4), (2, 3, 5), (128,), (10, 128)])
def test_sgd_momentum_small_params_bitwise(dtype, shape):
    """The small-array path of the fused multiply-add (no broadcast_shapes, direct float64 ->
    float32 copy): 20 momentum steps equal torch's bit for bit, including -0.0 and inf."""
    rng = np.random.default_rng(len(shape))
    p0 = rng.standard_normal(shape).astype(dtype)
    p0.reshape(-1)[0] = -0.0
    grads = [rng.standard_normal(shape).astype(dtype) for _ in range(20)]
    grads[3].reshape(-1)[-1] = 0.0
    res = []
    for M in (ember, torch):
        p = M.from_numpy(p0.copy()).requires_grad_()
        opt = M.optim.SGD([p], lr=0.01, momentum=0.9)
        for g in grads:
            p.grad = M.from_numpy(g.copy())
            opt.step()
        res.append(p.detach().numpy().copy())
    _same(res[0], res[1])


@pytest.mark.parametrize("V,n,dtype", [(1000, 1120, np.float32), (50, 300, np.float64),
                                       (7, 200, np.float32), (3000, 70, np.float32)])
def test_embedding_backward_in_order_matches_torch_bitwise(V, n, dtype):
    """The embedding weight gradient sums each row's gradients in occurrence order (one pass
    per occurrence rank, or np.add.at for heavy repeats): bit for bit torch's, with -0.0."""
    rng = np.random.default_rng(V + n)
    idx = rng.integers(0, V, size=(n // 10, 10))
    g = rng.standard_normal((n // 10, 10, 16)).astype(dtype)
    g[0, :3] = -0.0
    res = []
    for M in (ember, torch):
        w = M.from_numpy(rng.standard_normal((V, 16)).astype(dtype)).requires_grad_(True)
        M.nn.functional.embedding(M.from_numpy(idx), w).backward(M.from_numpy(g.copy()))
        res.append(w.grad.numpy())
    assert res[0].dtype == res[1].dtype
    np.testing.assert_array_equal(res[0].view(f"u{res[0].itemsize}"),
                                  res[1].view(f"u{res[1].itemsize}"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 64, 24, 24), (3, 5, 7), (2, 3, 4, 5), (0, 4, 9, 9),
                                   (8, 16, 4096)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_conv_bias_grad_gemv(dtype, shape, layout):
    """The conv bias gradient (a GEMV against ones above 2**16 elements, NumPy's sum below
    or for non-contiguous gradients) against a float64 sum."""
    from ember._ops import conv
    rng = np.random.default_rng(len(shape))
    g = rng.standard_normal(shape).astype(dtype)
    if layout == "transposed":
        g = np.ascontiguousarray(np.swapaxes(g, 0, 1)).swapaxes(0, 1)
    nd = len(shape) - 2
    got = conv._bias_grad(g, nd)
    want = g.astype(np.float64).sum(axis=(0,) + tuple(range(2, 2 + nd)))
    assert got.dtype == dtype and got.shape == (shape[1],)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.sqrt(g.size)))


def test_conv2d_bias_grad_matches_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((32, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    gy = rng.standard_normal((16, 32, 18, 18)).astype(np.float32)
    grads = []
    for M in (ember, torch):
        tb = M.from_numpy(b.copy()).requires_grad_()
        y = M.nn.functional.conv2d(M.from_numpy(x.copy()), M.from_numpy(w.copy()), tb)
        y.backward(M.from_numpy(gy.copy()))
        grads.append(tb.grad.numpy().copy())
    assert gy.size >= 1 << 16
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-4)
