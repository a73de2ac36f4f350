"""Every loss against torch: module and functional forms, every reduction, float32 and
float64, gradients w.r.t. the input (and the target where torch differentiates it), class
weights, ignore_index, label smoothing, probability targets, K-dimensional inputs; grad_fn
names and misuse errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from helpers import check, check_raises
from nn_helpers import F32, F64, module_parity

R = np.random.default_rng(7)
REDUCTIONS = ["mean", "sum", "none"]


def x(*shape, low=-2.0, high=2.0):
    return R.uniform(low, high, size=shape)


def labels(C, *shape):
    return R.integers(0, C, size=shape).astype(np.int64)


def signs(*shape):
    return np.where(R.random(shape) > 0.5, 1.0, -1.0)


def _args(kw: str, reduction: str) -> str:
    return ", ".join(a for a in (kw, f"reduction='{reduction}'") if a)


def loss_parity(expr, *inputs, grads=None, **kw):
    """``expr`` is a loss constructor expression (e.g. "MSELoss(reduction='sum')")."""
    for dtype in (F32, F64):
        module_parity(lambda nn: eval("nn." + expr), *inputs, dtype=dtype,
                      grad_inputs=grads if grads is not None else True, **kw)


# ---------------------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
                                  "SoftMarginLoss"])
def test_pointwise_losses(name, reduction):
    if name == "SoftMarginLoss":          # torch refuses a target that requires grad
        loss_parity(f"{name}(reduction='{reduction}')", x(4, 5), signs(4, 5),
                    grads=(True, False))
        check_raises(lambda M, a, b: M.nn.functional.soft_margin_loss(a, b.requires_grad_()),
                     x(3), x(3), match="not differentiable with respect to argument .target")
        return
    loss_parity(f"{name}(reduction='{reduction}')", x(4, 5), x(4, 5))


@pytest.mark.parametrize("expr", ["SmoothL1Loss(beta=0.5)", "SmoothL1Loss(beta=0.0)",
                                  "HuberLoss(delta=0.3)", "HuberLoss(delta=3.0)"])
def test_smooth_l1_huber_parameters(expr):
    loss_parity(expr, x(3, 6, low=-3, high=3), x(3, 6, low=-3, high=3))


def test_broadcast_target_warns_like_torch():
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            check(lambda M, a, b: getattr(M.nn.functional, name)(a, b), x(3, 1), x(3))
        assert any("different to the input size" in str(m.message) for m in w)
        assert all(m.filename == __file__ for m in w if "different" in str(m.message))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_raises(lambda M, a, b: M.nn.functional.mse_loss(a, b), x(3, 2), x(4))


def test_weighted_regression_losses():
    for name in ("mse_loss", "l1_loss"):
        for red in REDUCTIONS:
            check(lambda M, a, b, w: getattr(M.nn.functional, name)(a, b, reduction=red,
                                                                     weight=w),
                  x(3, 4), x(3, 4), x(3, 4, low=0.1, high=1))
    for red in REDUCTIONS:
        check(lambda M, a, b, w: M.nn.functional.huber_loss(a, b, reduction=red, weight=w),
              x(3, 4), x(3, 4), x(3, 4, low=0.1, high=1))


def test_seed_style_mse_grad_fn_and_legacy_args():
    e = ember.nn.MSELoss()(ember.randn(3, requires_grad=True), ember.randn(3))
    assert repr(e).endswith("grad_fn=<MseLossBackward0>)")
    assert e.grad_fn.next_functions[1][0] is None
    with pytest.warns(UserWarning):
        m = ember.nn.MSELoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning):
        assert ember.nn.L1Loss(reduce=False).reduction == "none"
    check_raises(lambda M, a, b: M.nn.functional.mse_loss(a, b, reduction="avg"), x(3), x(3))


# ---------------------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", ["", "ignore_index=1", "weight=WEIGHT", "label_smoothing=0.2",
                                "weight=WEIGHT, ignore_index=2, label_smoothing=0.1"])
def test_cross_entropy_class_indices(reduction, kw):
    def make(nn):
        M = torch if nn is torch.nn else ember
        w = M.tensor([0.5, 1.0, 2.0, 0.3, 1.5])
        return eval(f"nn.CrossEntropyLoss({_args(kw.replace('WEIGHT', 'w'), reduction)})")
    t = labels(5, 6)
    t[0] = 1
    t[1] = 2
    for dtype in (F32, F64):
        module_parity(make, x(6, 5, low=-4, high=4), t, dtype=dtype)
        module_parity(make, x(2, 5, 3, 2), labels(5, 2, 3, 2), dtype=dtype)    # K-dim
        module_parity(make, x(5), np.array(3), dtype=dtype)                     # unbatched


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", ["", "weight=WEIGHT", "label_smoothing=0.3"])
def test_cross_entropy_probability_targets(reduction, kw):
    def make(nn):
        M = torch if nn is torch.nn else ember
        w = M.tensor([0.5, 1.0, 2.0, 0.3])
        return eval(f"nn.CrossEntropyLoss({_args(kw.replace('WEIGHT', 'w'), reduction)})")
    p = R.random((5, 4))
    p /= p.sum(1, keepdims=True)
    for dtype in (F32, F64):
        module_parity(make, x(5, 4), p, dtype=dtype)
        q = R.random((2, 4, 3))
        module_parity(make, x(2, 4, 3), q / q.sum(1, keepdims=True), dtype=dtype)


def test_cross_entropy_fused_grad_fn_and_all_ignored():
    f = ember.nn.functional
    loss = f.cross_entropy(ember.randn(4, 3, requires_grad=True), ember.tensor([0, 1, 2, 1]))
    assert loss.grad_fn.name() == "NllLossBackward0"
    loss4 = f.cross_entropy(ember.randn(2, 3, 2, 2, requires_grad=True),
                            ember.zeros(2, 2, 2, dtype=ember.int64))
    assert loss4.grad_fn.name() == "NllLoss2DBackward0"
    check(lambda M, a, t: M.nn.functional.cross_entropy(a, t), x(3, 4),
          np.array([-100, -100, -100]))
    check(lambda M, a, t: M.nn.functional.cross_entropy(a, t, reduction="sum"), x(3, 4),
          np.array([-100, -100, -100]))


def test_cross_entropy_extreme_logits():
    a = np.array([[1000.0, -1000.0, 0.0], [-50.0, 50.0, 50.0]])
    check(lambda M, v, t: M.nn.functional.cross_entropy(v, t), a, np.array([1, 2]))
    check(lambda M, v, t: M.nn.functional.cross_entropy(v, t), a.astype(np.float32),
          np.array([1, 2]))


def test_cross_entropy_errors():
    f = lambda M, a, t: M.nn.functional.cross_entropy(a, t)  # noqa: E731
    e, t = check_raises(f, x(64, 10), labels(10, 32))
    assert str(e) == str(t) == "Expected input batch_size (64) to match target batch_size (32)."
    e, t = check_raises(f, x(4, 3), np.array([0, 1, 3, 1]))
    assert str(e) == str(t)
    check_raises(f, x(4, 3), labels(3, 4).astype(np.int32))
    check_raises(f, x(4, 3), labels(3, 4, 2))
    e, t = check_raises(f, x(2, 3, 4), labels(3, 2, 5))
    check_raises(lambda M, a, t_, w: M.nn.functional.cross_entropy(a, t_, w), x(4, 3),
                 labels(3, 4), x(4))
    check_raises(lambda M, a, t_: M.nn.functional.cross_entropy(a, t_, label_smoothing=1.5),
                 x(4, 3), labels(3, 4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    def make(nn):
        M = torch if nn is torch.nn else ember
        return nn.NLLLoss(weight=M.tensor([1.0, 0.2, 3.0]), ignore_index=0,
                          reduction=reduction)
    for dtype in (F32, F64):
        module_parity(lambda nn: nn.NLLLoss(reduction=reduction), x(5, 3), labels(3, 5),
                      dtype=dtype)
        module_parity(make, x(5, 3), labels(3, 5), dtype=dtype)
        module_parity(make, x(2, 3, 4), labels(3, 2, 4), dtype=dtype)


def test_nll_after_log_softmax_matches_composite():
    def fn(M, a, t):
        f = M.nn.functional
        return f.nll_loss(f.log_softmax(a, 1), t)
    check(fn, x(6, 4), labels(4, 6))
    v = ember.randn(3, 2, requires_grad=True)
    out = ember.nn.functional.nll_loss(ember.nn.functional.log_softmax(v, 1),
                                       ember.tensor([0, 1, 1]))
    assert out.grad_fn.name() == "NllLossBackward0"
    assert out.grad_fn.next_functions[0][0].name() == "LogSoftmaxBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(reduction):
    p = R.uniform(0.02, 0.98, size=(4, 3))
    loss_parity(f"BCELoss(reduction='{reduction}')", p, R.random((4, 3)))

    def make(nn):
        M = torch if nn is torch.nn else ember
        return nn.BCELoss(weight=M.tensor([0.5, 2.0, 1.0]), reduction=reduction)
    for dtype in (F32, F64):
        module_parity(make, p, R.random((4, 3)), dtype=dtype)


def test_bce_edges_and_errors():
    p = np.array([0.0, 1.0, 0.5, 1e-8])
    t = np.array([0.0, 1.0, 1.0, 1.0])
    check(lambda M, a, b: M.nn.functional.binary_cross_entropy(a, b), p, t, grad=False)
    check_raises(lambda M, a, b: M.nn.functional.binary_cross_entropy(a, b), x(3), x(3))
    e, tt = check_raises(lambda M, a, b: M.nn.functional.binary_cross_entropy(a, b),
                         R.random((3, 1)), R.random(3))
    assert str(e) == str(tt).replace("torch.", "ember.")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", ["", "weight=W", "pos_weight=PW", "weight=W, pos_weight=PW"])
def test_bce_with_logits(reduction, kw):
    def make(nn):
        M = torch if nn is torch.nn else ember
        W, PW = M.tensor([0.5, 2.0, 1.0]), M.tensor([3.0, 0.5, 1.0])
        return eval(f"nn.BCEWithLogitsLoss({_args(kw, reduction)})")
    for dtype in (F32, F64):
        module_parity(make, x(4, 3, low=-30, high=30), R.random((4, 3)), dtype=dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    inp = np.log(R.dirichlet(np.ones(5), size=4))
    tgt = R.dirichlet(np.ones(5), size=4)
    if log_target:
        tgt = np.log(tgt)
    else:
        tgt[0, 0] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_parity(f"KLDivLoss(reduction='{reduction}', log_target={log_target})", inp, tgt)


# ---------------------------------------------------------------------------------------
# margin / embedding losses
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses(reduction):
    loss_parity(f"MarginRankingLoss(margin=0.3, reduction='{reduction}')", x(6), x(6),
                signs(6), grads=(True, True, False))
    loss_parity(f"HingeEmbeddingLoss(margin=1.5, reduction='{reduction}')", x(4, 3),
                signs(4, 3), grads=(True, False))
    loss_parity(f"CosineEmbeddingLoss(margin=0.2, reduction='{reduction}')", x(5, 4), x(5, 4),
                signs(5), grads=(True, True, False))
    loss_parity(f"CosineEmbeddingLoss(reduction='{reduction}')", x(4), x(4), np.array(1.0),
                grads=(True, True, False))
    loss_parity(f"TripletMarginLoss(margin=0.5, reduction='{reduction}')", x(5, 4), x(5, 4),
                x(5, 4))
    loss_parity(f"TripletMarginLoss(p=1.0, swap=True, reduction='{reduction}')", x(5, 4),
                x(5, 4), x(5, 4))
    loss_parity(f"MultiLabelSoftMarginLoss(reduction='{reduction}')", x(4, 3),
                (R.random((4, 3)) > 0.5).astype(float), grads=(True, False))

    def make(nn):
        M = torch if nn is torch.nn else ember
        return nn.MultiLabelSoftMarginLoss(weight=M.tensor([1.0, 0.5, 2.0]),
                                           reduction=reduction)
    module_parity(make, x(4, 3), (R.random((4, 3)) > 0.5).astype(float),
                  grad_inputs=(True, False))


# ---------------------------------------------------------------------------------------
# likelihood losses
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", ["", "log_input=False", "full=True", "log_input=False, full=True"])
def test_poisson_nll(reduction, kw):
    inp = x(4, 3, low=0.1, high=3)
    tgt = R.poisson(2.0, size=(4, 3)).astype(float)
    loss_parity(f"PoissonNLLLoss({_args(kw, reduction)})", inp, tgt,
                grads=(True, False))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll(reduction, full):
    loss_parity(f"GaussianNLLLoss(full={full}, reduction='{reduction}')", x(4, 3), x(4, 3),
                x(4, 3, low=0.1, high=2))
    loss_parity(f"GaussianNLLLoss(reduction='{reduction}')", x(4, 3), x(4, 3),
                x(4, low=0.1, high=2))                                  # homoscedastic
    loss_parity(f"GaussianNLLLoss(reduction='{reduction}')", x(4, 3), x(4, 3),
                x(4, 1, low=0.1, high=2))


def test_gaussian_nll_errors_and_clamp():
    check(lambda M, a, b, v: M.nn.functional.gaussian_nll_loss(a, b, v), x(3, 2), x(3, 2),
          np.array([[1e-9, 1.0], [0.5, 1e-7], [2.0, 3.0]]))
    check_raises(lambda M, a, b, v: M.nn.functional.gaussian_nll_loss(a, b, v), x(3, 2),
                 x(3, 2), x(5, low=0.1, high=1))
    check_raises(lambda M, a, b, v: M.nn.functional.gaussian_nll_loss(a, b, v), x(3, 2),
                 x(3, 2), -np.ones((3, 2)))


def test_loss_modules_state_dict_and_repr():
    for expr in ("CrossEntropyLoss(weight=W)", "NLLLoss(weight=W)", "BCELoss(weight=W)",
                 "BCEWithLogitsLoss(pos_weight=W)", "MultiLabelSoftMarginLoss(weight=W)"):
        t = eval("torch.nn." + expr, {"torch": torch, "W": torch.ones(3)})
        e = eval("ember.nn." + expr, {"ember": ember, "W": ember.ones(3)})
        assert list(e.state_dict()) == list(t.state_dict())
        assert repr(e) == repr(t)
