"""Differential testing against torch (the oracle).

``check(fn, *inputs)`` runs ``fn(M, *tensors)`` with ``M = ember`` and ``M = torch`` on the
same data and compares forward values, shapes and dtypes, then backpropagates the same random
output gradient through both and compares every input gradient.

Inputs are NumPy arrays (or Python numbers). Floating arrays become tensors with
requires_grad=True unless ``grad=False``. ``noncontig=True`` feeds transposed views.
"""
from __future__ import annotations

import numpy as np
import torch

import ember

TOL = {np.float64: (1e-7, 1e-9), np.float32: (1e-4, 1e-5), np.float16: (1e-2, 1e-2)}


def to_pair(a, grad=True, noncontig=False):
    if not isinstance(a, np.ndarray):
        return a, a
    arr = a
    if noncontig and a.ndim >= 2:
        arr = np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)
    rg = grad and arr.dtype.kind == "f"
    e = ember.from_numpy(arr.copy()) if not noncontig else ember.from_numpy(
        np.ascontiguousarray(arr.swapaxes(-1, -2))).transpose(-1, -2) if arr.ndim >= 2 else \
        ember.from_numpy(arr.copy())
    t = torch.from_numpy(arr.copy()) if not noncontig else torch.from_numpy(
        np.ascontiguousarray(arr.swapaxes(-1, -2))).transpose(-1, -2) if arr.ndim >= 2 else \
        torch.from_numpy(arr.copy())
    if noncontig and arr.ndim >= 2:
        assert not e.is_contiguous() or arr.shape[-1] == 1 or arr.shape[-2] == 1 or arr.size == 0
    if rg:
        e = e.detach().requires_grad_(True)
        t = t.detach().requires_grad_(True)
    return e, t


def _flat(out):
    if isinstance(out, (tuple, list)):
        return list(out)
    return [out]


def assert_close(e, t, rtol=None, atol=None, what="value"):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected an ember.Tensor, got {type(e)}"
        assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), \
            f"{what}: dtype {e.dtype.name} != {t.dtype}"
        ea = e.detach().numpy()
        ta = t.detach().numpy()
        if ta.dtype.kind == "f":
            r, a = TOL.get(ta.dtype.type, (1e-6, 1e-8))
            np.testing.assert_allclose(ea, ta, rtol=rtol or r, atol=atol or a, equal_nan=True,
                                       err_msg=what)
        else:
            np.testing.assert_array_equal(ea, ta, err_msg=what)
    elif isinstance(t, (tuple, list)):
        assert len(e) == len(t), f"{what}: length {len(e)} != {len(t)}"
        for i, (x, y) in enumerate(zip(e, t)):
            assert_close(x, y, rtol, atol, f"{what}[{i}]")
    else:
        if isinstance(t, float) and np.isnan(t):
            assert np.isnan(e)
        else:
            assert e == t or np.isclose(e, t, rtol=rtol or 1e-6, atol=atol or 1e-9), \
                f"{what}: {e!r} != {t!r}"


def check(fn, *inputs, grad=True, noncontig=False, rtol=None, atol=None, seed=0,
          tfn=None):
    """Compare ``fn(ember, *xs)`` with ``(tfn or fn)(torch, *xs)``: values, dtypes, grads."""
    pairs = [to_pair(a, grad, noncontig) for a in inputs]
    e_in = [p[0] for p in pairs]
    t_in = [p[1] for p in pairs]
    e_out = fn(ember, *e_in)
    t_out = (tfn or fn)(torch, *t_in)
    assert_close(e_out, t_out, rtol, atol, "forward")
    if not grad:
        return e_out, t_out
    e_outs = [o for o in _flat(e_out) if isinstance(o, ember.Tensor)]
    t_outs = [o for o in _flat(t_out) if isinstance(o, torch.Tensor)]
    rng = np.random.default_rng(seed)
    e_roots, t_roots, e_gs, t_gs = [], [], [], []
    for eo, to in zip(e_outs, t_outs):
        if not to.requires_grad:
            assert not eo.requires_grad, "ember output requires grad but torch's does not"
            continue
        assert eo.requires_grad, "torch output requires grad but ember's does not"
        g = rng.standard_normal(tuple(to.shape)).astype(to.detach().numpy().dtype)
        e_roots.append(eo)
        t_roots.append(to)
        e_gs.append(ember.from_numpy(g.copy()))
        t_gs.append(torch.from_numpy(g.copy()))
    if not t_roots:
        return e_out, t_out
    e_leaves = [x for x in e_in if isinstance(x, ember.Tensor) and x.requires_grad]
    t_leaves = [x for x in t_in if isinstance(x, torch.Tensor) and x.requires_grad]
    tg = torch.autograd.grad(t_roots, t_leaves, t_gs, allow_unused=True)
    eg = ember.autograd.grad(e_roots, e_leaves, e_gs, allow_unused=True)
    for i, (a, b) in enumerate(zip(eg, tg)):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"grad {i}: torch has none"
            continue
        assert a is not None, f"grad {i}: ember returned None, torch {b}"
        assert_close(a, b, rtol, atol, f"grad[{i}]")
    return e_out, t_out


def check_raises(fn, *inputs, match=None):
    """Both libraries raise, and the exception classes agree."""
    pairs = [to_pair(a, grad=False) for a in inputs]
    t_exc = e_exc = None
    try:
        fn(torch, *[p[1] for p in pairs])
    except Exception as ex:  # noqa: BLE001
        t_exc = ex
    try:
        fn(ember, *[p[0] for p in pairs])
    except Exception as ex:  # noqa: BLE001
        e_exc = ex
    assert t_exc is not None, "torch did not raise"
    assert e_exc is not None, f"ember did not raise (torch raised {type(t_exc).__name__}: {t_exc})"
    assert isinstance(e_exc, type(t_exc)) or type(t_exc) in type(e_exc).__mro__, \
        f"ember raised {type(e_exc).__name__}: {e_exc}; torch raised {type(t_exc).__name__}: {t_exc}"
    if match is not None:
        import re
        assert re.search(match, str(e_exc)), f"message {str(e_exc)!r} does not match {match!r}"
    return e_exc, t_exc


def rand(*shape, dtype=np.float64, seed=None, low=-2.0, high=2.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)
