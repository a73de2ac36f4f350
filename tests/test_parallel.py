"""ember's intra-op parallel regions (ember/_backend/parallel.py): the split kernels give
torch's results (bit for bit where the kernel is elementwise), the BLAS thread count is
restored whatever happens in a region, and regions nest, fail and fork safely."""
import multiprocessing
import os

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember._backend import blas, fma, parallel

BITS = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


@pytest.fixture(autouse=True, scope="module")
def two_threads():
    """The suite runs with OPENBLAS_NUM_THREADS=1 (conftest.py), under which every region
    runs serially; these tests raise it to two so that the split paths are the ones run."""
    getter = blas.threads_getter()
    before = getter() if getter is not None else None
    if before is not None:
        ember.set_num_threads(2)
    yield
    if before is not None:
        ember.set_num_threads(before)


def _need_workers():
    if parallel.workers() < 2:
        pytest.skip("fewer than two cores or no settable BLAS threads: regions run serially")


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    it = BITS[a.dtype]
    return a.shape == b.shape and bool(np.all(
        (a.view(it) == b.view(it)) | (np.isnan(a) & np.isnan(b))))


@pytest.fixture
def serial():
    """Run the body with the pool off (every split kernel takes its serial path)."""
    before = parallel._ENABLED
    parallel._ENABLED = False
    try:
        yield
    finally:
        parallel._ENABLED = before


def _specials(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    idx = rng.choice(flat.size, 64, replace=False)
    flat[idx[:16]] = np.nan
    flat[idx[16:32]] = -0.0
    flat[idx[32:48]] = np.inf
    flat[idx[48:]] = -np.inf
    return a


def _relu_fwd_bwd(M, x, g):
    t = M.from_numpy(x.copy()).requires_grad_()
    y = M.nn.functional.relu(t)
    y.backward(M.from_numpy(g.copy()))
    return y.detach().numpy().copy(), t.grad.numpy().copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_split_is_torch_bitwise(dtype):
    shape = (64, 32, 26, 26)                       # above parallel.FLAT_MIN elements
    assert np.prod(shape) >= parallel.FLAT_MIN
    x = _specials(shape, dtype, 0)
    g = _specials(shape, dtype, 1)
    ey, eg = _relu_fwd_bwd(ember, x, g)
    ty, tg = _relu_fwd_bwd(torch, x, g)
    # the documented difference: relu(-0.0) is +0.0 in ember (README)
    neg_zero = (x == 0) & np.signbit(x)
    assert (ey[neg_zero] == 0).all() and (ty[neg_zero] == 0).all()
    ey[neg_zero] = ty[neg_zero]
    assert _same_bits(ey, ty) and _same_bits(eg, tg)


def test_relu_split_equals_serial(serial):
    x = _specials((3, 1 << 19), np.float32, 2)
    g = _specials((3, 1 << 19), np.float32, 3)
    ser = _relu_fwd_bwd(ember, x, g)
    parallel._ENABLED = True
    par = _relu_fwd_bwd(ember, x, g)
    assert _same_bits(ser[0], par[0]) and _same_bits(ser[1], par[1])


@pytest.mark.parametrize("shape", [(64, 64, 24, 24), (130, 25, 25), (9, 31, 64, 65)])
def test_max_pool_split_is_torch(shape):
    """Tiled 2x2 max-pool forward (values, indices) and backward, split over workers: torch's
    results, with NaN, ±inf and ±0 ties in the windows; ragged edges included."""
    x = _specials(shape, np.float32, 4)
    x.reshape(-1)[::97] = 0.0                     # ties of 0.0 with the -0.0 above
    res = {}
    for M in (ember, torch):
        t = M.from_numpy(x.copy()).requires_grad_()
        y, i = M.nn.functional.max_pool2d(t, 2, return_indices=True)
        g = np.random.default_rng(5).standard_normal(tuple(y.shape)).astype(np.float32)
        y.backward(M.from_numpy(g))
        res[M.__name__] = (y.detach().numpy().copy(), i.numpy().copy(), t.grad.numpy().copy())
    (ey, ei, eg), (ty, ti, tg) = res["ember"], res["torch"]
    assert _same_bits(ey, ty)
    assert np.array_equal(ei, ti)
    assert _same_bits(eg, tg)


@pytest.mark.parametrize("cfg", [dict(c=32, o=64, g=1, bias=True),
                                 dict(c=16, o=24, g=2, bias=False),
                                 dict(c=16, o=16, g=1, bias=True, padding=1)])
def test_conv_split_matches_torch(cfg):
    """Convolutions large enough for the split forward, input- and weight-gradient."""
    rng = np.random.default_rng(6)
    pad = cfg.get("padding", 0)
    x = rng.standard_normal((64, cfg["c"], 26, 26)).astype(np.float32)
    w = (rng.standard_normal((cfg["o"], cfg["c"] // cfg["g"], 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(cfg["o"]).astype(np.float32) if cfg["bias"] else None
    res = {}
    for M in (ember, torch):
        tx = M.from_numpy(x.copy()).requires_grad_()
        tw = M.from_numpy(w.copy()).requires_grad_()
        tb = M.from_numpy(b.copy()).requires_grad_() if b is not None else None
        y = M.nn.functional.conv2d(tx, tw, tb, padding=pad, groups=cfg["g"])
        gy = np.random.default_rng(7).standard_normal(tuple(y.shape)).astype(np.float32)
        y.backward(M.from_numpy(gy))
        res[M.__name__] = [y.detach().numpy().copy(), tx.grad.numpy().copy(),
                           tw.grad.numpy().copy()] + ([tb.grad.numpy().copy()] if b is not None
                                                      else [])
    for e, t in zip(res["ember"], res["torch"]):       # float32 sums of up to 36864 terms
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=2e-5 * np.abs(t).max())


@pytest.mark.parametrize("m,k,n", [(4096, 128, 256), (64, 9216, 128), (128, 64, 9216),
                                   (3000, 100, 211)])
def test_gemm_split(m, k, n):
    """Split by rows or by columns (into a strided output block): the product, against
    float64."""
    rng = np.random.default_rng(8)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((n, k)).astype(np.float32).T      # a transposed view, as linear
    assert m * n * k >= parallel.GEMM_SPLIT_MNK
    got = parallel.gemm(a, b)
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
    out = np.full((m, n), np.nan, np.float32)
    assert parallel.gemm(a, b, out=out) is out
    np.testing.assert_array_equal(out, got)


def test_linear_split_matches_torch():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((64, 9216)).astype(np.float32)
    lin_t = torch.nn.Linear(9216, 128)
    lin_e = ember.nn.Linear(9216, 128)
    lin_e.load_state_dict({k: ember.from_numpy(v.detach().numpy().copy())
                           for k, v in lin_t.state_dict().items()})
    outs = {}
    for M, lin in ((ember, lin_e), (torch, lin_t)):
        t = M.from_numpy(x.copy()).requires_grad_()
        y = lin(t)
        y.sum().backward()
        outs[M.__name__] = (y.detach().numpy(), t.grad.numpy(), lin.weight.grad.numpy())
    for e, t in zip(outs["ember"], outs["torch"]):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1 << 20, (1 << 20) + 63, 9216 * 128 + 5, 3 << 20])
def test_axpy_split_is_torch_bitwise(dtype, n):
    """``add_(x, alpha)`` on arrays large enough to be split over the workers: torch's
    fused bits (each worker's share is whole 64-element blocks in one-thread calls)."""
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    out = a.copy()
    assert fma.axpy_(out, b, -0.37) or not fma._axpy_fns
    t = torch.from_numpy(a.copy())
    t.add_(torch.from_numpy(b), alpha=-0.37)
    if fma._axpy_fns:
        assert _same_bits(out, t.numpy())


def test_blas_threads_restored_after_regions_and_errors():
    get = blas.threads_getter()
    if get is None:
        pytest.skip("BLAS thread count cannot be read here")
    before = get()
    seen = []

    def fn(lo, hi):
        seen.append((lo, hi, get()))
    parallel.blocks(10, fn)
    assert get() == before
    assert sorted((lo, hi) for lo, hi, _ in seen)[0][0] == 0
    assert sum(hi - lo for lo, hi, _ in seen) == 10
    if len(seen) > 1:
        assert all(nt == 1 for _, _, nt in seen)

    def bad(lo, hi):
        if lo > 0 or parallel.workers() < 2:
            raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        parallel.blocks(10, bad)
    assert get() == before
    # OpenBLAS's threads (stopped by the region) come back for a big product
    a = np.random.default_rng(0).standard_normal((700, 700))
    np.testing.assert_allclose(a @ a, np.dot(a.astype(np.longdouble), a).astype(np.float64),
                               rtol=1e-10, atol=1e-9)


def test_nested_regions_run_serially():
    _need_workers()
    inner = []

    def outer(lo, hi):
        parallel.blocks(4, lambda a, b: inner.append((a, b)))
    parallel.blocks(2, outer)
    assert sorted(inner) == [(0, 4), (0, 4)]          # each inner call: one serial piece


def test_one_thread_means_serial():
    get = blas.threads_getter()
    if get is None:
        pytest.skip("BLAS thread count cannot be read here")
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        assert parallel.workers() == 1
        calls = []
        parallel.blocks(8, lambda lo, hi: calls.append((lo, hi)))
        assert calls == [(0, 8)]
    finally:
        ember.set_num_threads(before)


def _child_relu(q):
    x = np.arange(-(1 << 20), 1 << 20, dtype=np.float32)
    y = F.relu(ember.from_numpy(x)).numpy()
    q.put(bool(np.array_equal(y, np.maximum(x, 0))))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_split_kernel_in_forked_child():
    """A forked child (DataLoader worker) gets a fresh pool, not the parent's dead threads."""
    F.relu(ember.ones(1 << 21))                       # the parent's pool exists
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_relu, args=(q,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert q.get(timeout=5) is True


@pytest.mark.parametrize("R,C", [(1120, 1000), (4096, 257)])
def test_cross_entropy_split_rows(R, C, serial):
    """cross_entropy's log-softmax rows split over workers: the serial bits, torch's
    values (also with an inf logit row and a large shift)."""
    rng = np.random.default_rng(R)
    x = (rng.standard_normal((R, C)) * 5).astype(np.float32)
    x[3] += 80.0
    x[7, 2] = -np.inf
    t = rng.integers(0, C, R)
    t[7] = 3
    res = []
    for split in (False, True):
        parallel._ENABLED = split
        a = ember.from_numpy(x.copy()).requires_grad_()
        loss = F.cross_entropy(a, ember.from_numpy(t))
        loss.backward()
        res.append((loss.detach().numpy(), a.grad.numpy()))
    assert _same_bits(res[0][0], res[1][0]) and _same_bits(res[0][1], res[1][1])
    ta = torch.from_numpy(x.copy()).requires_grad_()
    tl = torch.nn.functional.cross_entropy(ta, torch.from_numpy(t))
    tl.backward()
    np.testing.assert_allclose(res[1][0], tl.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(res[1][1], ta.grad.numpy(), rtol=1e-4, atol=1e-8)


def test_conv_no_grad_and_transpose_split_match_torch():
    """The inference path (columns through one buffer per worker) and conv_transpose2d
    (the split stride-1 col2im) at sizes that take the split."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((200, 32, 26, 26)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    with ember.no_grad():
        ey = F.conv2d(ember.from_numpy(x), ember.from_numpy(w), ember.from_numpy(b)).numpy()
    ty = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                    torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(ey, ty, rtol=1e-4, atol=2e-5 * np.abs(ty).max())
    g = rng.standard_normal((64, 64, 24, 24)).astype(np.float32)
    wt = (rng.standard_normal((64, 32, 3, 3)) * 0.1).astype(np.float32)
    res = []
    for M in (ember, torch):
        tg = M.from_numpy(g.copy()).requires_grad_()
        tw = M.from_numpy(wt.copy()).requires_grad_()
        out = M.nn.functional.conv_transpose2d(tg, tw)
        out.backward(M.from_numpy(np.ones(tuple(out.shape), np.float32)))
        res.append((out.detach().numpy().copy(), tg.grad.numpy().copy(),
                    tw.grad.numpy().copy()))
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-4, atol=2e-5 * np.abs(t).max())


def test_user_threads_running_split_kernels_at_once():
    """Two Python threads each train a small conv net (split conv, relu and max-pool; grad
    mode switched by the optimizer step) at the same time: one holds the region, the other
    runs the same kernels serially; both get the results a lone run gives (allclose: a
    serial GEMM may round differently), nothing hangs, and the BLAS thread count is
    restored."""
    import threading
    get = blas.threads_getter()
    before = get() if get is not None else None
    rng = np.random.default_rng(11)
    x = rng.standard_normal((64, 8, 30, 30)).astype(np.float32)
    y = rng.integers(0, 10, 64)

    def build():
        return ember.nn.Sequential(ember.nn.Conv2d(8, 32, 3), ember.nn.ReLU(),
                                   ember.nn.MaxPool2d(2), ember.nn.Flatten(),
                                   ember.nn.Linear(32 * 14 * 14, 10))
    ember.manual_seed(0)
    init = {k: v.clone() for k, v in build().state_dict().items()}

    def train():
        # (not seeded here: the default generator is shared by all threads, as torch's)
        net = build()
        net.load_state_dict(init)
        opt = ember.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        for _ in range(3):
            loss = F.cross_entropy(net(ember.from_numpy(x)), ember.from_numpy(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach().numpy().copy() for p in net.parameters()]

    alone = train()
    results, errors = [None, None], []

    def run(i):
        try:
            results[i] = train()
        except BaseException as e:      # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    for res in results:
        for got, want in zip(res, alone):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    if before is not None:
        assert get() == before
