"""Differential checks of whole modules against torch (used by the sequence-model tests).

``compare(tm, em, t_inputs, e_inputs)`` runs the torch module and the ember module (whose
state_dict was loaded from torch's) on the same inputs, compares every output (PackedSequence
outputs by their data, nested tuples flattened), backpropagates the same random gradient
through every output and compares the gradients of all inputs that require grad and of
every parameter.
"""
from __future__ import annotations

import numpy as np
import torch

import ember
from ember.nn.utils import rnn as EU
from helpers import assert_close

TU = torch.nn.utils.rnn


def to_ember(t: torch.Tensor, grad: bool = False) -> ember.Tensor:
    e = ember.from_numpy(t.detach().numpy().copy())
    return e.requires_grad_() if grad else e


def load_from_torch(em, tm) -> None:
    """Copy torch module ``tm``'s state into ember module ``em`` (keys must match)."""
    assert list(em.state_dict()) == list(tm.state_dict())
    em.load_state_dict({k: to_ember(v) for k, v in tm.state_dict().items()})


def flat(out):
    """(output, h_n) / (output, (h_n, c_n)) / PackedSequence output -> list of tensors."""
    res = []
    for o in out if isinstance(out, (tuple, list)) else (out,):
        if isinstance(o, (TU.PackedSequence, EU.PackedSequence)):
            res.append(o.data)
        elif isinstance(o, (tuple, list)):
            res.extend(flat(o))
        else:
            res.append(o)
    return res


def compare(tm, em, t_inputs, e_inputs, call=None, rtol=None, atol=None, seed=1):
    """Forward both, compare all outputs; backprop the same random grads, compare input and
    parameter gradients."""
    call = call or (lambda m, *a: m(*a))
    t_out = flat(call(tm, *t_inputs))
    e_out = flat(call(em, *e_inputs))
    assert len(t_out) == len(e_out)
    for i, (a, b) in enumerate(zip(e_out, t_out)):
        assert_close(a, b, rtol, atol, f"output {i}")
    rng = np.random.default_rng(seed)
    gs = [rng.standard_normal(tuple(o.shape)).astype(o.detach().numpy().dtype) for o in t_out]
    t_leaves = leaves(t_inputs) + list(tm.parameters())
    e_leaves = leaves(e_inputs) + list(em.parameters())
    tg = torch.autograd.grad(t_out, t_leaves, [torch.from_numpy(g) for g in gs],
                             allow_unused=True)
    eg = ember.autograd.grad(e_out, e_leaves, [ember.from_numpy(g.copy()) for g in gs],
                             allow_unused=True)
    names = [f"input {i}" for i in range(len(leaves(t_inputs)))] + \
        [n for n, _ in tm.named_parameters()]
    for name, a, b in zip(names, eg, tg):
        if b is None:
            assert a is None or not np.any(a.numpy()), name
            continue
        assert a is not None, f"no ember gradient for {name}"
        assert_close(a, b, rtol, atol, f"grad of {name}")
    return e_out, t_out


def leaves(inputs):
    out = []
    for x in inputs:
        if isinstance(x, (tuple, list)):
            out.extend(leaves(x))
        elif isinstance(x, (torch.Tensor, ember.Tensor)) and x.requires_grad:
            out.append(x)
    return out
