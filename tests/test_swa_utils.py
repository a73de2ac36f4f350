"""ember.optim.swa_utils against torch: AveragedModel (SWA, EMA, buffers), SWALR, update_bn."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember
from ember.optim import swa_utils as eswa
from torch.optim import swa_utils as tswa

_rng = np.random.default_rng(0)
DATA = [(_rng.standard_normal((8, 3)), _rng.standard_normal((8, 2))) for _ in range(12)]


def _models():
    """The same float64 net (Linear-BatchNorm-ReLU-Linear) in both libraries."""
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(),
                             torch.nn.Linear(5, 2)).double()
    n = ember.nn
    em = n.Sequential(n.Linear(3, 5), n.BatchNorm1d(5), n.ReLU(), n.Linear(5, 2)).double()
    em.load_state_dict({k: ember.tensor(v.numpy().copy()) for k, v in tm.state_dict().items()})
    return em, tm


def _train_and_average(M, model, swa_model, steps=12, start=3):
    opt = M.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for i, (x, y) in enumerate(DATA[:steps]):
        opt.zero_grad()
        ((model(M.tensor(x)) - M.tensor(y)) ** 2).mean().backward()
        opt.step()
        if i >= start:
            swa_model.update_parameters(model)


def _compare_models(e, t):
    esd, tsd = e.state_dict(), t.state_dict()
    assert list(esd) == list(tsd)
    for k in tsd:
        assert esd[k].dtype.name == str(tsd[k].dtype).replace("torch.", ""), k
        np.testing.assert_allclose(esd[k].numpy(), tsd[k].numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=k)


@pytest.mark.parametrize("kind", ["swa", "ema-multi-buffers", "ema-avg_fn", "swa-multi",
                                  "ema-multi"])
def test_averaged_model_matches_torch(kind):
    def make(S, model):
        if kind == "swa":
            return S.AveragedModel(model)
        if kind == "ema-multi-buffers":
            return S.AveragedModel(model, multi_avg_fn=S.get_ema_multi_avg_fn(0.9),
                                   use_buffers=True)
        if kind == "ema-avg_fn":
            return S.AveragedModel(model, avg_fn=S.get_ema_avg_fn(0.8))
        if kind == "swa-multi":
            return S.AveragedModel(model, multi_avg_fn=S.get_swa_multi_avg_fn())
        return S.AveragedModel(model, multi_avg_fn=S.get_ema_multi_avg_fn(0.95))

    em, tm = _models()
    es, ts = make(eswa, em), make(tswa, tm)
    _train_and_average(ember, em, es)
    _train_and_average(torch, tm, ts)
    _compare_models(es, ts)
    assert int(es.n_averaged) == int(ts.n_averaged) == 9
    x = DATA[0][0]
    es.eval()
    ts.eval()
    np.testing.assert_allclose(es(ember.tensor(x)).detach().numpy(),
                               ts(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    # the averaged copy is independent of the trained model
    assert all(a is not b for a, b in zip(es.module.parameters(), em.parameters()))


def test_first_update_copies_and_averages_are_means():
    em, _ = _models()
    swa = eswa.AveragedModel(em)
    snapshots = []
    for x, y in DATA[:4]:
        with ember.no_grad():
            for p in em.parameters():
                p.add_(ember.tensor(np.full(p.shape, 0.5)))
        swa.update_parameters(em)
        snapshots.append([p.detach().numpy().copy() for p in em.parameters()])
    for i, p in enumerate(swa.module.parameters()):
        np.testing.assert_allclose(p.detach().numpy(),
                                   np.mean([s[i] for s in snapshots], axis=0), rtol=1e-12)


def test_update_bn_matches_torch():
    em, tm = _models()
    es, ts = eswa.AveragedModel(em), tswa.AveragedModel(tm)
    _train_and_average(ember, em, es)
    _train_and_average(torch, tm, ts)
    es.eval()
    ts.eval()
    eloader = [ember.tensor(x) for x, _ in DATA[:4]] + [(ember.tensor(DATA[5][0]), 0)]
    tloader = [torch.tensor(x) for x, _ in DATA[:4]] + [(torch.tensor(DATA[5][0]), 0)]
    eswa.update_bn(eloader, es)
    tswa.update_bn(tloader, ts)
    _compare_models(es, ts)
    assert not es.training and not es.module[1].training      # mode restored
    assert es.module[1].momentum == 0.1                        # momentum restored
    # a model without BatchNorm is left alone
    lin = ember.nn.Linear(2, 2)
    eswa.update_bn([ember.zeros(1, 2)], lin)


def _swalr_run(M, **kw):
    p = M.zeros(2, requires_grad=True)
    q = M.zeros(2, requires_grad=True)
    opt = M.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.5)
    sched = M.optim.swa_utils.SWALR(opt, **kw)
    lrs = [sched.get_last_lr()]
    for _ in range(30):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    return np.array(lrs), sched, opt


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.01, 0.02], anneal_epochs=5,
                                                        anneal_strategy="linear"),
                                dict(swa_lr=0.1, anneal_epochs=0)])
def test_swalr_matches_torch(kw):
    e, esched, _ = _swalr_run(ember, **kw)
    t, tsched, _ = _swalr_run(torch, **kw)
    np.testing.assert_allclose(e, t, rtol=1e-12, atol=0)
    assert sorted(esched.state_dict()) == sorted(tsched.state_dict())


def test_swalr_resume():
    _, sched, opt = _swalr_run(ember, swa_lr=0.05, anneal_epochs=20)
    saved = copy.deepcopy((sched.state_dict(), opt.state_dict()))
    ref = []
    for _ in range(10):
        opt.step()
        sched.step()
        ref.append(sched.get_last_lr())
    p, q = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    opt2 = ember.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.3}], lr=0.5)
    sched2 = ember.optim.swa_utils.SWALR(opt2, swa_lr=0.05, anneal_epochs=20)
    sched2.load_state_dict(saved[0])
    opt2.load_state_dict(saved[1])
    got = []
    for _ in range(10):
        opt2.step()
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == ref


@pytest.mark.parametrize("build", [
    lambda S, M: S.AveragedModel(M.nn.Linear(1, 1), avg_fn=S.get_swa_avg_fn(),
                                 multi_avg_fn=S.get_swa_multi_avg_fn()),
    lambda S, M: S.get_ema_multi_avg_fn(1.5),
    lambda S, M: S.get_ema_avg_fn(-0.1),
    lambda S, M: S.SWALR(M.optim.SGD([M.zeros(1, requires_grad=True)], lr=0.1), 0.1,
                         anneal_strategy="exp"),
    lambda S, M: S.SWALR(M.optim.SGD([M.zeros(1, requires_grad=True)], lr=0.1), 0.1,
                         anneal_epochs=-1),
])
def test_errors_match_torch(build):
    res = []
    for S, M in ((eswa, ember), (tswa, torch)):
        try:
            build(S, M)
        except Exception as e:  # noqa: BLE001
            res.append(e)
        else:
            res.append(None)
    e, t = res
    assert e is not None and t is not None
    assert type(e) is type(t) and str(e) == str(t)


def test_functional_avg_fns_match_torch():
    rng = np.random.default_rng(1)
    a, c = rng.standard_normal((2, 4, 3)).astype(np.float32)
    for name, args in [("get_ema_avg_fn", (0.7,)), ("get_swa_avg_fn", ())]:
        ef = getattr(eswa, name)(*args)
        tf = getattr(tswa, name)(*args)
        n = 3
        np.testing.assert_array_equal(
            ef(ember.tensor(a), ember.tensor(c), ember.tensor(n)).numpy(),
            tf(torch.tensor(a), torch.tensor(c), torch.tensor(n)).numpy())
    for name, args in [("get_ema_multi_avg_fn", (0.7,)), ("get_swa_multi_avg_fn", ())]:
        ea, ta = [ember.tensor(a.copy())], [torch.tensor(a.copy())]
        getattr(eswa, name)(*args)(ea, [ember.tensor(c)], ember.tensor(4))
        getattr(tswa, name)(*args)(ta, [torch.tensor(c)], torch.tensor(4))
        np.testing.assert_array_equal(ea[0].numpy(), ta[0].numpy())
