"""Unpickling an optimizer state saved by an older version (group options missing, scalar
state as Python numbers) fills it in as torch 2.13 does."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember

NAMES = ["SGD", "Adam", "AdamW", "Adadelta", "Adafactor", "Adagrad", "Adamax", "ASGD", "NAdam",
         "RAdam", "RMSprop", "Rprop"]
KW = {"SGD": dict(lr=0.1, momentum=0.9)}
OPTIONAL = {"foreach", "maximize", "differentiable", "capturable", "fused", "amsgrad",
            "decoupled_weight_decay", "nesterov", "momentum", "centered"}


def _old_style(M, name):
    w = M.from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3)).requires_grad_(True)
    opt = getattr(M.optim, name)([w], **KW.get(name, {}))
    (w * w).sum().backward()
    opt.step()
    state = copy.deepcopy(opt.__getstate__())
    for group in state["param_groups"]:
        for k in OPTIONAL & set(group):
            del group[k]
    for s in state["state"].values():
        for k, v in s.items():
            if isinstance(v, M.Tensor) and v.dim() == 0:
                s[k] = float(v)                   # the old format: Python numbers
    new = object.__new__(type(opt))
    new.__setstate__(state)
    return new


@pytest.mark.parametrize("name", NAMES)
def test_setstate_restores_like_torch(name):
    e, t = _old_style(ember, name), _old_style(torch, name)
    for ge, gt in zip(e.param_groups, t.param_groups):
        assert {k: v for k, v in ge.items() if k != "params"} == \
            {k: v for k, v in gt.items() if k != "params"}
    (se,), (st,) = e.state.values(), t.state.values()
    assert sorted(se) == sorted(st)
    for k in st:
        assert isinstance(se[k], ember.Tensor) == isinstance(st[k], torch.Tensor), k
