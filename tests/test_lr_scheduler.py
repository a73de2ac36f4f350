"""ember.optim.lr_scheduler against torch: every scheduler's lr sequence over 100 steps."""
from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pytest
import torch

import ember


def _optimizer(M, kind="sgd"):
    a, b = M.zeros(2, requires_grad=True), M.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.05}]
    if kind == "adam":
        return M.optim.Adam(groups, lr=0.1)
    return M.optim.SGD(groups, lr=0.1, momentum=0.9)


class Halve:
    """A callable object (not a function): its __dict__ goes into state_dict."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 10)


SCHEDULERS = {
    "LambdaLR": (lambda S, o: S.LambdaLR(o, lambda e: 0.95 ** e), "sgd"),
    "LambdaLR-list": (lambda S, o: S.LambdaLR(o, [lambda e: 1 / (1 + e), Halve()]), "sgd"),
    "MultiplicativeLR": (lambda S, o: S.MultiplicativeLR(o, lambda e: 0.97), "sgd"),
    "StepLR": (lambda S, o: S.StepLR(o, step_size=7, gamma=0.5), "sgd"),
    "MultiStepLR": (lambda S, o: S.MultiStepLR(o, milestones=[10, 30, 30, 80], gamma=0.3),
                    "sgd"),
    "ConstantLR": (lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=13), "sgd"),
    "LinearLR": (lambda S, o: S.LinearLR(o, start_factor=0.1, end_factor=0.9,
                                         total_iters=37), "sgd"),
    "ExponentialLR": (lambda S, o: S.ExponentialLR(o, gamma=0.96), "sgd"),
    "PolynomialLR": (lambda S, o: S.PolynomialLR(o, total_iters=60, power=2.0), "sgd"),
    "CosineAnnealingLR": (lambda S, o: S.CosineAnnealingLR(o, T_max=17, eta_min=0.001),
                          "sgd"),
    "CosineAnnealingWarmRestarts": (
        lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=1e-4), "sgd"),
    "CosineAnnealingWarmRestarts-T_mult1": (
        lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=9), "sgd"),
    "CyclicLR-triangular2": (lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                     step_size_up=9, mode="triangular2"),
                             "sgd"),
    "CyclicLR-exp_range": (lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.2,
                                                   step_size_up=5, step_size_down=12,
                                                   mode="exp_range", gamma=0.99), "sgd"),
    "CyclicLR-scale_fn-adam": (lambda S, o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01,
                                                       step_size_up=4,
                                                       scale_fn=lambda x: 1 / (1 + x),
                                                       scale_mode="iterations"), "adam"),
    "OneCycleLR": (lambda S, o: S.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=101), "sgd"),
    "OneCycleLR-three_phase-linear-adam": (
        lambda S, o: S.OneCycleLR(o, max_lr=0.3, epochs=10, steps_per_epoch=11,
                                  pct_start=0.25, anneal_strategy="linear", three_phase=True,
                                  div_factor=10.0, final_div_factor=100.0), "adam"),
    "ChainedScheduler": (lambda S, o: S.ChainedScheduler(
        [S.ExponentialLR(o, gamma=0.98), S.StepLR(o, step_size=10, gamma=0.5),
         S.ConstantLR(o, factor=0.5, total_iters=5)]), "sgd"),
    "SequentialLR": (lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=20),
            S.CosineAnnealingLR(o, T_max=30), S.ExponentialLR(o, gamma=0.9)],
        milestones=[20, 50]), "sgd"),
    "SequentialLR-in-Chained": (lambda S, o: S.ChainedScheduler(
        [S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=4),
                            S.MultiStepLR(o, milestones=[10, 20])], milestones=[8]),
         S.ExponentialLR(o, gamma=0.99)]), "sgd"),
}


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def _run(M, name, steps=100):
    build, kind = SCHEDULERS[name]
    opt = _optimizer(M, kind)
    sched = build(M.optim.lr_scheduler, opt)
    lrs = [list(sched.get_last_lr())]
    moms = [[_momentum(g) for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        moms.append([_momentum(g) for g in opt.param_groups])
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(lrs, dtype=np.float64), np.array(moms, dtype=np.float64), sched


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_equals_torch(name):
    elr, emom, esched = _run(ember, name)
    tlr, tmom, tsched = _run(torch, name)
    np.testing.assert_allclose(elr, tlr, rtol=1e-12, atol=0)
    np.testing.assert_allclose(emom, tmom, rtol=1e-12, atol=0)
    assert getattr(esched, "last_epoch", None) == getattr(tsched, "last_epoch", None)
    assert sorted(esched.state_dict()) == sorted(tsched.state_dict())


def _plateau_run(M, losses, **kw):
    opt = _optimizer(M)
    sched = M.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for loss in losses:
        opt.step()
        sched.step(loss)
        out.append(list(sched.get_last_lr()))
    return np.array(out), sched


_rng = np.random.default_rng(0)
LOSSES = list(np.maximum(0.05, 1.0 / (1 + np.arange(100) / 10)) + _rng.uniform(0, 0.05, 100))


@pytest.mark.parametrize("kw", [
    dict(patience=3),
    dict(patience=2, cooldown=3, factor=0.5, min_lr=[0.004, 0.001], threshold=0.05),
    dict(mode="max", threshold_mode="abs", patience=1, threshold=0.01, factor=0.7),
    dict(mode="min", threshold_mode="abs", patience=0, eps=1e-3, min_lr=0.02),
])
def test_reduce_lr_on_plateau_equals_torch(kw):
    e, esched = _plateau_run(ember, LOSSES, **kw)
    t, tsched = _plateau_run(torch, LOSSES, **kw)
    np.testing.assert_allclose(e, t, rtol=1e-12, atol=0)
    assert (esched.best, esched.num_bad_epochs, esched.cooldown_counter, esched.last_epoch) \
        == (tsched.best, tsched.num_bad_epochs, tsched.cooldown_counter, tsched.last_epoch)
    assert sorted(esched.state_dict()) == sorted(tsched.state_dict())


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR",
                                  "ConstantLR", "PolynomialLR", "CosineAnnealingLR",
                                  "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_explicit_epoch_uses_the_closed_form(name):
    epochs = [3, 7, 8, 15, 2, 40, 41, 60, 90, 5.5 if name == "CosineAnnealingWarmRestarts"
              else 5]
    out = []
    for M in (ember, torch):
        opt = _optimizer(M)
        sched = SCHEDULERS[name][0](M.optim.lr_scheduler, opt)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for e in epochs:
                sched.step(e)
                seq.append(sched.get_last_lr())
        out.append(np.array(seq))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "CyclicLR-triangular2",
                                  "SequentialLR", "ChainedScheduler", "LambdaLR-list",
                                  "CosineAnnealingWarmRestarts"])
def test_resume_from_state_dicts(name):
    """Save optimizer + scheduler state at step 37, load both into fresh objects: the rest
    of the sequence equals the uninterrupted one."""
    build, kind = SCHEDULERS[name]
    opt = _optimizer(ember, kind)
    sched = build(ember.optim.lr_scheduler, opt)
    for _ in range(37):
        opt.step()
        sched.step()
    saved = copy.deepcopy((opt.state_dict(), sched.state_dict()))
    ref = []
    for _ in range(40):
        opt.step()
        sched.step()
        ref.append(sched.get_last_lr())

    opt2 = _optimizer(ember, kind)
    sched2 = build(ember.optim.lr_scheduler, opt2)
    sched2.load_state_dict(saved[1])
    opt2.load_state_dict(saved[0])
    got = []
    for _ in range(40):
        opt2.step()
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == ref


def test_state_dict_excludes_optimizer_and_functions():
    opt = _optimizer(ember)
    s = ember.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, Halve()])
    sd = s.state_dict()
    assert "optimizer" not in sd
    assert sd["lr_lambdas"][0] is None and sd["lr_lambdas"][1] == {"factor": 0.5}
    tsd = torch.optim.lr_scheduler.LambdaLR(_optimizer(torch), [lambda e: 1.0, Halve()]) \
        .state_dict()
    assert sorted(sd) == sorted(tsd)


def test_last_epoch_resume_semantics():
    for M in (ember, torch):
        opt = _optimizer(M)
        with pytest.raises(KeyError, match="initial_lr"):
            M.optim.lr_scheduler.StepLR(opt, step_size=2, last_epoch=5)
    seqs = []
    for M in (ember, torch):
        opt = _optimizer(M)
        for g in opt.param_groups:
            g["initial_lr"] = 0.3
        s = M.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=4)
        seq = [s.last_epoch, s.get_last_lr()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # scheduler stepped before the optimizer
            s.step()
        seq += [s.last_epoch, s.get_last_lr(), s.base_lrs]
        seqs.append(seq)
    assert seqs[0] == seqs[1]


def test_warnings_like_torch():
    for M in (ember, torch):
        opt = _optimizer(M)
        s = M.optim.lr_scheduler.StepLR(opt, step_size=2)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            s.step()
        with pytest.warns(UserWarning, match="get_last_lr"):
            s.get_lr()
        with pytest.warns(UserWarning, match="epoch parameter"):
            s.step(3)


@pytest.mark.parametrize("build", [
    lambda M, o: M.optim.lr_scheduler.StepLR(object(), 3),
    lambda M, o: M.optim.lr_scheduler.ConstantLR(o, factor=2.0),
    lambda M, o: M.optim.lr_scheduler.LinearLR(o, start_factor=0),
    lambda M, o: M.optim.lr_scheduler.LinearLR(o, end_factor=1.5),
    lambda M, o: M.optim.lr_scheduler.LambdaLR(o, [lambda e: 1.0]),
    lambda M, o: M.optim.lr_scheduler.MultiplicativeLR(o, [1.0, 2.0]),
    lambda M, o: M.optim.lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
    lambda M, o: M.optim.lr_scheduler.ReduceLROnPlateau(o, mode="up"),
    lambda M, o: M.optim.lr_scheduler.ReduceLROnPlateau(o, threshold_mode="x"),
    lambda M, o: M.optim.lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda M, o: M.optim.lr_scheduler.CyclicLR(o, 0.1, 1.0, mode="bogus"),
    lambda M, o: M.optim.lr_scheduler.CyclicLR(o, [0.1], 1.0),
    lambda M, o: M.optim.lr_scheduler.CyclicLR(
        M.optim.Adagrad([M.zeros(1, requires_grad=True)]), 0.1, 1.0),
    lambda M, o: M.optim.lr_scheduler.OneCycleLR(o, 0.1),
    lambda M, o: M.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=0),
    lambda M, o: M.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5),
    lambda M, o: M.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="x"),
    lambda M, o: M.optim.lr_scheduler.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1),
    lambda M, o: M.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda M, o: M.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda M, o: M.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="x"),
    lambda M, o: M.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2).step(-1),
    lambda M, o: M.optim.lr_scheduler.SequentialLR(o, [], []),
    lambda M, o: M.optim.lr_scheduler.SequentialLR(
        o, [M.optim.lr_scheduler.StepLR(o, 2), M.optim.lr_scheduler.StepLR(o, 3)], []),
    lambda M, o: M.optim.lr_scheduler.SequentialLR(
        o, [M.optim.lr_scheduler.ReduceLROnPlateau(o)], []),
    lambda M, o: M.optim.lr_scheduler.ChainedScheduler([]),
    lambda M, o: M.optim.lr_scheduler.ChainedScheduler(
        [M.optim.lr_scheduler.StepLR(o, 2),
         M.optim.lr_scheduler.StepLR(_optimizer(M), 2)]),
])
def test_errors_match_torch(build):
    res = []
    for M in (ember, torch):
        try:
            build(M, _optimizer(M))
        except Exception as e:  # noqa: BLE001
            res.append(e)
        else:
            res.append(None)
    e, t = res
    assert t is not None and e is not None, res
    assert type(e) is type(t)
    # messages name torch's / ember's own objects in the chained case; compare the start
    assert str(e).split(" at index")[0].replace("ember", "torch") == \
        str(t).split(" at index")[0], (str(e), str(t))


def test_one_cycle_overrun_raises():
    for M in (ember, torch):
        opt = _optimizer(M)
        s = M.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            s.step()
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            s.step()


def test_tensor_lr_is_updated_in_place():
    p = ember.zeros(2, requires_grad=True)
    lr = ember.tensor(0.1)
    opt = ember.optim.SGD([p], lr=lr)
    s = ember.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    opt.step()
    s.step()
    assert opt.param_groups[0]["lr"] is lr and math.isclose(float(lr), 0.05, rel_tol=1e-7)
