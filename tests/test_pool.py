"""ember._backend.pool: large buffers are reused only when nothing else can see them."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember._backend import pool

BIG = (pool.MIN_BYTES // 4 + 1024,)        # float32 elements: just above the threshold


@pytest.fixture(autouse=True)
def _fresh_pool(monkeypatch):
    monkeypatch.setattr(pool, "_ENABLED", True)
    pool.clear()
    yield
    pool.clear()


def _ptr(a):
    return a.__array_interface__["data"][0]


def test_small_arrays_are_plain_numpy():
    a = pool.empty((10, 10), np.float32)
    assert a.base is None and pool.held_bytes() == 0


def test_buffer_reused_once_free():
    a = pool.empty(BIG, np.float32)
    p = _ptr(a)
    del a
    b = pool.empty(BIG, np.float32)
    assert _ptr(b) == p and b.dtype == np.float32 and b.shape == BIG


@pytest.mark.parametrize("keep", ["view", "reshape", "numpy", "tensor"])
def test_buffer_in_use_is_not_handed_out(keep):
    a = pool.empty(BIG, np.float32)
    a[:] = 1.0
    if keep == "view":
        held = a[10:]
    elif keep == "reshape":
        held = a.reshape(-1, 4)
    elif keep == "numpy":
        held = ember.from_numpy(a).numpy()
    else:
        held = ember.from_numpy(a)[5:]
    del a
    b = pool.empty(BIG, np.float32)
    b[:] = 2.0
    arr = held.numpy() if isinstance(held, ember.Tensor) else held
    assert (arr == 1.0).all()


def test_other_dtypes_and_shapes_of_the_same_size_share():
    a = pool.empty(BIG, np.float32)
    p = _ptr(a)
    del a
    b = pool.empty((BIG[0] // 2, 2), np.int32)
    assert _ptr(b) == p and b.dtype == np.int32


def test_limits_and_clear(monkeypatch):
    monkeypatch.setattr(pool, "_PER_SIZE", 1)
    a = pool.empty(BIG, np.float32)
    b = pool.empty(BIG, np.float32)            # pool full for this size: plain allocation
    assert pool.held_bytes() == a.nbytes and _ptr(a) != _ptr(b)
    pool.clear()
    assert pool.held_bytes() == 0 and (a.sum() == a.sum())   # a still valid


def test_disabled(monkeypatch):
    monkeypatch.setattr(pool, "_ENABLED", False)
    a = pool.empty(BIG, np.float32)
    assert a.base is None and pool.held_bytes() == 0


def test_relu_and_conv_outputs_survive_later_calls():
    """Outputs a user keeps are never overwritten by the next call's pooled outputs."""
    rng = np.random.default_rng(0)
    x = ember.from_numpy(rng.standard_normal((130, 64, 32, 32)).astype(np.float32))
    with ember.no_grad():
        y1 = ember.relu(x)
        keep = y1.numpy().copy()
        y2 = ember.relu(-x)
    assert np.array_equal(y1.numpy(), keep)
    assert not np.shares_memory(y1.numpy(), y2.numpy())


def test_pooled_tensor_saves_and_loads(tmp_path):
    import torch
    a = pool.empty((BIG[0] // 4, 4), np.float32)
    a[...] = np.arange(a.size, dtype=np.float32).reshape(a.shape)
    t = ember.from_numpy(a)
    ember.save({"t": t, "v": t[3:7]}, tmp_path / "p.pt")
    back = ember.load(tmp_path / "p.pt")
    assert np.array_equal(back["t"].numpy(), a) and back["t"].dtype == ember.float32
    assert np.array_equal(back["v"].numpy(), a[3:7])
    tb = torch.load(tmp_path / "p.pt", weights_only=True)
    assert np.array_equal(tb["t"].numpy(), a) and tb["v"].storage_offset() == 12


def test_threads_never_share_a_buffer():
    """Many threads taking and dropping pooled buffers: no two live arrays share memory."""
    import threading
    live, errors = [], []
    lock = threading.Lock()

    def work():
        try:
            for _ in range(30):
                a = pool.empty(BIG, np.float32)
                with lock:
                    errors.extend("shared" for b in live if np.shares_memory(a, b))
                    live.append(a)
                with lock:
                    live[:] = [b for b in live if b is not a]
                del a
        except Exception as e:  # noqa: BLE001 - reported by the assert below
            errors.append(repr(e))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("rows", [3, 4200])        # small, and above the pool's threshold
def test_relu_keeps_torch_strides(rows):
    import torch
    a = np.random.default_rng(0).standard_normal((rows, 2100)).astype(np.float32)
    for make in (lambda M, t: t, lambda M, t: t.t(), lambda M, t: t[:, ::2]):
        e = make(ember, ember.from_numpy(a))
        t = make(torch, torch.from_numpy(a))
        ye, yt = ember.relu(e), torch.relu(t)
        assert ye.stride() == yt.stride()
        np.testing.assert_array_equal(ye.numpy(), yt.numpy())
