"""Differential helpers for nn modules: build the same module in torch and ember, copy torch's
state_dict into ember, then compare outputs, input gradients, parameter gradients, buffers
and state_dict keys."""
from __future__ import annotations

import numpy as np
import torch

import ember
from helpers import assert_close, to_pair

F64 = np.float64
F32 = np.float32


def load_from_torch(em, tm):
    """Copy torch module ``tm``'s state into ember module ``em`` (the acceptance recipe)."""
    sd = tm.state_dict()
    res = em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in sd.items()})
    assert list(res.missing_keys) == [] and list(res.unexpected_keys) == []
    assert list(em.state_dict().keys()) == list(sd.keys()), \
        f"state_dict keys {list(em.state_dict().keys())} != torch {list(sd.keys())}"
    return em


def _cast_module(m, dtype):
    return m.double() if dtype == F64 else m.float()


def module_parity(make, *inputs, dtype=F64, train=True, grad_inputs=True, rtol=None,
                  atol=None, seed=0, call=None, check_grad=True):
    """``make(nn)`` builds the module from ``torch.nn`` or ``ember.nn``. Inputs are NumPy
    arrays (floating ones are cast to ``dtype`` and require grad when ``grad_inputs``, a bool
    or one bool per input);
    ``call(module, *inputs)`` overrides how the module is invoked."""
    torch.manual_seed(seed)
    tm = _cast_module(make(torch.nn), dtype)
    em = _cast_module(make(ember.nn), dtype)
    load_from_torch(em, tm)
    tm.train(train)
    em.train(train)
    arrays = [a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
              for a in inputs]
    flags = grad_inputs if isinstance(grad_inputs, (tuple, list)) else \
        [grad_inputs] * len(arrays)
    pairs = [to_pair(a, grad=g) for a, g in zip(arrays, flags)]
    e_in = [p[0] for p in pairs]
    t_in = [p[1] for p in pairs]
    call = call or (lambda m, *xs: m(*xs))
    t_out = call(tm, *t_in)
    e_out = call(em, *e_in)
    assert_close(e_out, t_out, rtol, atol, "forward")
    for (name, tb), (ename, eb) in zip(tm.named_buffers(), em.named_buffers()):
        assert name == ename
        assert_close(eb, tb, rtol, atol, f"buffer {name}")
    if not check_grad:
        return em, tm
    t_outs = [o for o in (t_out if isinstance(t_out, tuple) else (t_out,))
              if isinstance(o, torch.Tensor) and o.requires_grad]
    e_outs = [o for o in (e_out if isinstance(e_out, tuple) else (e_out,))
              if isinstance(o, ember.Tensor) and o.requires_grad]
    assert len(t_outs) == len(e_outs)
    if not t_outs:
        return em, tm
    rng = np.random.default_rng(seed)
    gs = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in t_outs]
    torch.autograd.backward(t_outs, [torch.from_numpy(g.copy()) for g in gs])
    ember.autograd.backward(e_outs, [ember.from_numpy(g.copy()) for g in gs])
    for i, (e, t) in enumerate(zip(e_in, t_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            assert_close(e.grad, t.grad, rtol, atol, f"input grad {i}")
    tp = dict(tm.named_parameters())
    ep = dict(em.named_parameters())
    assert list(tp) == list(ep)
    for name in tp:
        if tp[name].grad is None:
            assert ep[name].grad is None or not np.any(ep[name].grad.numpy()), name
        else:
            tg = tp[name].grad
            tg = tg.to_dense() if tg.is_sparse else tg      # ember's sparse=True grads are dense
            assert_close(ep[name].grad, tg, rtol, atol, f"param grad {name}")
    return em, tm


def both_dtypes_and_modes(make, *inputs, modes=(True,), **kw):
    for dtype in (F32, F64):
        for train in modes:
            module_parity(make, *inputs, dtype=dtype, train=train, **kw)
