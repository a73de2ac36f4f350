"""ember.optim.Adafactor and ember.optim.Muon against torch 2.13's.

Trajectories: the same non-convex problem (a tanh MLP, a Rosenbrock valley on two weights
and a sin·cos term on an extra tensor) runs in both libraries in float64 and every
parameter is compared after each of 50 steps. Adafactor gets 1-D, 2-D and 3-D parameters
(factored over the last two dims); Muon only 2-D ones, including tall and 1-row matrices.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember
from ember.optim.muon import _zeropower_via_newtonschulz
from helpers import check_raises
from test_optim import _id, param_spec

_rng = np.random.default_rng(4321)
X = _rng.standard_normal((16, 4))
Y = np.sin(X.sum(axis=1, keepdims=True))
SHAPES = {"Adafactor": [(4, 6), (6,), (6, 1), (1,), (2, 3, 4)],
          "Muon": [(4, 6), (1, 6), (6, 1), (1, 1), (5, 3)]}
INIT = {k: [_rng.standard_normal(s) * 0.7 for s in v] for k, v in SHAPES.items()}


def loss_fn(M, params):
    w1, b1, w2, b2, t = params
    x, y = M.tensor(X, dtype=w1.dtype), M.tensor(Y, dtype=w1.dtype)
    out = M.tanh(x @ w1 + b1) @ w2 + b2
    a, b = w1[0, 0], w1[0, 1]
    extra = (M.sin(2 * t) * M.cos(t.sum(-1, keepdim=True))).sum()
    return ((out - y) ** 2).mean() + 0.1 * ((1 - a) ** 2 + 5 * (b - a * a) ** 2) + 0.1 * extra


def make_params(M, name, dtype=np.float64):
    return [M.tensor(a.astype(dtype), requires_grad=True) for a in INIT[name]]


def train(M, params, opt, steps):
    """``steps`` optimizer steps on :func:`loss_fn`; the flat parameters after each."""
    def step():
        opt.zero_grad()
        loss_fn(M, params).backward()
        opt.step()
        return np.concatenate([p.detach().numpy().ravel() for p in params])
    return np.array([step() for _ in range(steps)])


CASES = [
    ("Adafactor", dict(), None),
    ("Adafactor", dict(lr=0.05, weight_decay=0.05), None),
    ("Adafactor", dict(lr=0.03, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5), None),
    ("Adafactor", dict(lr=0.02, maximize=True, foreach=True), None),
    ("Adafactor", dict(lr=0.02), [dict(eps=(1e-3, 1e-3), d=2.0), dict(weight_decay=0.1)]),
    ("Muon", dict(lr=0.02), None),
    ("Muon", dict(lr=0.01, momentum=0.9, nesterov=False, weight_decay=0.0,
                  adjust_lr_fn="match_rms_adamw", ns_steps=3), None),
    ("Muon", dict(lr=0.02, ns_coefficients=(3.0, -3.2, 1.2), eps=1e-3,
                  adjust_lr_fn="original"), None),
    ("Muon", dict(lr=0.01), [dict(momentum=0.5, weight_decay=0.2), dict(ns_steps=7)]),
]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch_float64(case):
    name, kw, groups = case
    runs = []
    for M in (ember, torch):
        params = make_params(M, name)
        opt = getattr(M.optim, name)(param_spec(params, groups), **kw)
        runs.append((train(M, params, opt, 50), opt))
    (te, eopt), (tt, topt) = runs
    assert np.abs(tt[-1] - tt[0]).max() > 0.05          # the run does move
    np.testing.assert_allclose(te, tt, rtol=1e-7, atol=1e-10)
    es, ts = eopt.state_dict(), topt.state_dict()
    assert es["param_groups"] == ts["param_groups"]
    assert list(es["state"]) == list(ts["state"])
    for estate, tstate in zip(es["state"].values(), ts["state"].values()):
        assert [(k, v.dtype.name, tuple(v.shape)) for k, v in estate.items()] == \
            [(k, str(v.dtype)[6:], tuple(v.shape)) for k, v in tstate.items()]
        for ev, tv in zip(estate.values(), tstate.values()):
            np.testing.assert_allclose(ev.numpy(), tv.numpy(), rtol=1e-7, atol=1e-12)


def test_state_layout():
    params = make_params(ember, "Adafactor")
    opt = ember.optim.Adafactor(params)
    train(ember, params, opt, 2)
    shapes = {i: {k: tuple(v.shape) for k, v in s.items()}
              for i, s in opt.state_dict()["state"].items()}
    assert shapes == {0: {"step": (), "row_var": (4, 1), "col_var": (1, 6)},
                      1: {"step": (), "variance": (6,)},
                      2: {"step": (), "row_var": (6, 1), "col_var": (1, 1)},
                      3: {"step": (), "variance": (1,)},
                      4: {"step": (), "row_var": (2, 3, 1), "col_var": (2, 1, 4)}}
    assert float(opt.state[params[0]]["step"]) == 2.0
    params = make_params(ember, "Muon")
    opt = ember.optim.Muon(params)
    train(ember, params, opt, 1)
    assert {i: list(s) for i, s in opt.state_dict()["state"].items()} == \
        {i: ["momentum_buffer"] for i in range(5)}


@pytest.mark.parametrize("name,kw", [("Adafactor", dict(lr=0.05, weight_decay=0.05)),
                                     ("Muon", dict(lr=0.02, nesterov=False))])
def test_resume_continues_exactly(name, kw):
    """Save mid-run, load into a fresh optimizer over fresh parameters: the rest of the run
    is bit-identical to the uninterrupted one — and to torch's, loading ember's state."""
    params = make_params(ember, name)
    opt = getattr(ember.optim, name)(params, **kw)
    train(ember, params, opt, 20)
    saved = copy.deepcopy((opt.state_dict(), [p.detach().numpy().copy() for p in params]))
    rest = train(ember, params, opt, 30)

    params2 = [ember.tensor(a, requires_grad=True) for a in saved[1]]
    opt2 = getattr(ember.optim, name)(params2, lr=0.5)      # options come from the state
    opt2.load_state_dict(copy.deepcopy(saved[0]))    # loaded tensors are used, not copied
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    np.testing.assert_array_equal(train(ember, params2, opt2, 30), rest)

    tparams = [torch.tensor(a, requires_grad=True) for a in saved[1]]
    topt = getattr(torch.optim, name)(tparams)
    sd = saved[0]
    topt.load_state_dict({"param_groups": sd["param_groups"], "state": {
        i: {k: torch.tensor(v.numpy()) for k, v in s.items()} for i, s in sd["state"].items()}})
    np.testing.assert_allclose(train(torch, tparams, topt, 30), rest, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("shape", [(3, 5), (7, 2), (1, 9), (16, 16), (6, 100), (300, 3),
                                   (20, 30)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_newton_schulz_is_bit_identical_to_torch(shape, dtype):
    """The bfloat16 iteration reproduces torch's CPU kernels value for value (the largest
    shape takes the float64-summed path, which agrees here too)."""
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns
    g = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype) * 3.0
    for coeffs, steps, eps in [((3.4445, -4.7750, 2.0315), 5, 1e-7), ((2.0, -1.5, 0.5), 2,
                                                                        1e-3)]:
        want = torch_ns(torch.tensor(g), coeffs, steps, eps).float().numpy()
        np.testing.assert_array_equal(_zeropower_via_newtonschulz(g, coeffs, steps, eps), want)
    zero = np.zeros(shape, dtype)
    np.testing.assert_array_equal(_zeropower_via_newtonschulz(zero, coeffs, steps, eps),
                                  torch_ns(torch.tensor(zero), coeffs, steps, eps).float())


def test_bfloat16_matmul_sums_in_torchs_order():
    """Products with widely spread magnitudes, where the float32 summation order decides
    the bfloat16 result: ember's products equal torch's bfloat16 ``mm`` in every case, and
    in some of them a plain left-to-right sum would not."""
    from ember.optim.muon import _bf16, _dot
    rng = np.random.default_rng(0)
    order_matters = 0
    for _ in range(2100):
        a, b = (_bf16(rng.standard_normal(s) * 2.0 ** rng.integers(-14, 1, s))
                for s in [(8, 12), (12, 8)])
        got = _bf16(_dot(a, b))
        want = (torch.tensor(a).bfloat16() @ torch.tensor(b).bfloat16()).float().numpy()
        np.testing.assert_array_equal(got, want)
        sequential = np.zeros((8, 8), np.float32)
        for k in range(12):
            sequential += np.multiply.outer(a[:, k], b[k])
        order_matters += (_bf16(sequential) != want).any()
    assert order_matters >= 1


def test_float32_parameters_track_torch():
    """float32 runs agree to an ulp or so (torch's float32 norms sum in another order; Muon's
    bfloat16 iteration itself is exact). Adafactor uses a well-conditioned setting here:
    with larger steps this problem amplifies ulp differences about threefold per step."""
    for name, kw in [("Adafactor", dict(lr=0.01, weight_decay=0.1)), ("Muon", dict(lr=0.02))]:
        runs = []
        for M in (ember, torch):
            params = make_params(M, name, np.float32)
            runs.append(train(M, params, getattr(M.optim, name)(params, **kw), 30))
        assert runs[0].dtype == np.float32
        np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6, atol=1e-6, err_msg=name)


def test_functional_forms_match_the_classes():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)) for _ in range(3)]
    for name in ("Adafactor", "Muon"):
        p1 = ember.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        p2 = ember.tensor(p1.detach().numpy().copy())
        opt = getattr(ember.optim, name)([p1], lr=0.05)
        st = [ember.zeros(3, 1, dtype=ember.float64), ember.zeros(1, 4, dtype=ember.float64),
              ember.tensor(0.0)] if name == "Adafactor" else [ember.zeros(3, 4,
                                                                         dtype=ember.float64)]
        for g in grads:
            p1.grad = ember.tensor(g)
            opt.step()
            if name == "Adafactor":
                ember.optim._adafactor.adafactor(
                    [p2], [ember.tensor(g)], [st[0]], [st[1]], [None], [st[2]], d=1.0,
                    lr=0.05, beta2_decay=-0.8, weight_decay=0.0, eps1=None, eps2=1e-3,
                    maximize=False)
            else:
                ember.optim._muon.muon(
                    [p2], [ember.tensor(g)], st, lr=0.05, weight_decay=0.1, momentum=0.95,
                    nesterov=True, ns_coefficients=(3.4445, -4.7750, 2.0315), ns_steps=5,
                    eps=1e-7, adjust_lr_fn=None, has_complex=False)
        np.testing.assert_array_equal(p1.detach().numpy(), p2.numpy(), err_msg=name)


def test_updates_in_place_once_per_step():
    for name in ("Adafactor", "Muon"):
        params = make_params(ember, name)
        ids = [(id(p), id(p._data)) for p in params]
        opt = getattr(ember.optim, name)(params)
        for _ in range(2):
            before = [p._version.v for p in params]
            opt.zero_grad()
            loss_fn(ember, params).backward()
            opt.step()
            assert [p._version.v - b for p, b in zip(params, before)] == [1] * 5
        assert [(id(p), id(p._data)) for p in params] == ids


def _same_error(fn):
    """``fn(M)`` raises torch's exception class and message (ember's Size repr says
    ``ember.Size``)."""
    e, t = check_raises(fn)
    assert type(e) is type(t) and str(e) == str(t).replace("torch.", "ember."), (e, t)


def _opt(name, shape=(3, 2), at_step=False, dtype="float32", **kw):
    """Build ``name`` over one zero parameter (then take a step with unit gradients)."""
    def build(M):
        p = M.zeros(shape, dtype=getattr(M, dtype), requires_grad=True)
        opt = getattr(M.optim, name)([p], **kw)
        if at_step:
            p.grad = M.ones_like(p)
            opt.step()
    return build


@pytest.mark.parametrize("build", [
    _opt("Adafactor", lr=-0.1), _opt("Adafactor", beta2_decay=0.5),
    _opt("Adafactor", eps=(-1.0, 1e-3)), _opt("Adafactor", eps=(None, -1e-3)),
    _opt("Adafactor", d=0.5), _opt("Adafactor", weight_decay=-0.1),
    _opt("Muon", lr=-1.0), _opt("Muon", momentum=-0.5), _opt("Muon", weight_decay=-0.1),
    _opt("Muon", adjust_lr_fn="spectral"), _opt("Muon", shape=(3,)),
    _opt("Muon", shape=(2, 3, 4)), _opt("Muon", shape=()),
    _opt("Muon", ns_steps=100, at_step=True), _opt("Muon", ns_coefficients=(1.0, 2.0),
                                                   at_step=True),
    _opt("Adafactor", shape=(2,), dtype="complex64", at_step=True),
    _opt("Muon", shape=(2, 2), dtype="complex64", at_step=True),
])
def test_errors_match_torch(build):
    _same_error(build)


def test_tensor_lr_and_functional_foreach_errors():
    _same_error(lambda M: M.optim.Adafactor([M.zeros(2, requires_grad=True)],
                                            lr=M.tensor([0.1, 0.2])))
    with pytest.raises(RuntimeError, match="Foreach is not supported for Muon yet"):
        ember.optim._muon.muon([], [], [], foreach=True, lr=0.1, weight_decay=0.0,
                               momentum=0.9, nesterov=True, ns_coefficients=(1, 1, 1),
                               ns_steps=1, eps=1e-7, adjust_lr_fn=None, has_complex=False)


def test_namespace_and_repr():
    assert {"Adafactor", "Muon", "_adafactor", "_muon"} <= set(dir(ember.optim))
    assert {"Adafactor", "Muon"} <= set(ember.optim.__all__)
    for name in ("Adafactor", "Muon"):
        reprs = [repr(getattr(M.optim, name)([M.zeros(2, 2, requires_grad=True)]))
                 for M in (ember, torch)]
        assert reprs[0] == reprs[1]
