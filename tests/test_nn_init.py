"""nn.init against torch (ember replays torch's random stream, so after the same seed every
initialiser and every layer's default initialisation gives torch's numbers) and nn.utils
(clip_grad_*, parameters_to_vector/vector_to_parameters)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn


def test_calculate_gain_matches_torch():
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                 ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu",),
                 ("conv_transpose2d",)]:
        assert nn.init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)
    for bad in [("softmax",), ("leaky_relu", "x"), ("leaky_relu", True)]:
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(*bad)
        with pytest.raises(ValueError):
            nn.init.calculate_gain(*bad)


def test_fans_and_errors():
    for shape in [(3, 4), (8, 4, 3, 3), (5, 2, 7)]:
        assert nn.init._calculate_fan_in_and_fan_out(ember.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for fn in ("xavier_uniform_", "kaiming_uniform_", "orthogonal_"):
        with pytest.raises(ValueError):
            getattr(torch.nn.init, fn)(torch.empty(3))
        with pytest.raises(ValueError):
            getattr(nn.init, fn)(ember.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_normal_(ember.empty(3, 3), mode="fan_avg")


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.mean(), a.std(), a.min(), a.max()


@pytest.mark.parametrize("name,kw,shape,expect_std,bound", [
    ("uniform_", dict(a=-2.0, b=3.0), (200, 300), 5 / math.sqrt(12), (-2.0, 3.0)),
    ("normal_", dict(mean=1.0, std=0.5), (200, 300), 0.5, None),
    ("xavier_uniform_", dict(gain=2.0), (120, 80), 2 * math.sqrt(2 / 200), None),
    ("xavier_normal_", dict(), (120, 80), math.sqrt(2 / 200), None),
    ("kaiming_uniform_", dict(a=math.sqrt(5)), (64, 3, 5, 5), math.sqrt(1 / 75) / math.sqrt(3),
     None),
    ("kaiming_uniform_", dict(nonlinearity="relu", mode="fan_out"), (64, 3, 5, 5),
     math.sqrt(2 / (64 * 25)), None),
    ("kaiming_normal_", dict(nonlinearity="relu"), (256, 100), math.sqrt(2 / 100), None),
    ("trunc_normal_", dict(std=1.0, a=-2.0, b=2.0), (300, 300), 0.8796, (-2.0, 2.0)),
    ("trunc_normal_", dict(mean=0.5, std=0.2, a=0.3, b=1.0), (300, 300), None, (0.3, 1.0)),
    ("trunc_normal_", dict(mean=0.0, std=1.0, a=2.0, b=3.0), (50, 40), None, (2.0, 3.0)),
    ("orthogonal_", dict(gain=1.5), (30, 50), None, None),
    ("sparse_", dict(sparsity=0.4, std=0.1), (20, 30), None, None),
])
@pytest.mark.parametrize("seed", [0, 123])
def test_random_initialisers_give_torchs_numbers(name, kw, shape, expect_std, bound, seed):
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    e = getattr(nn.init, name)(ember.empty(shape), **kw)
    t = getattr(torch.nn.init, name)(torch.empty(shape), **kw)
    assert e.dtype is ember.float32
    if name == "orthogonal_":          # QR by LAPACK vs MKL: equal up to rounding
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    em, es, emin, emax = _stats(e)
    if expect_std is not None:                 # and torch's formulas, checked independently
        assert abs(es - expect_std) < 0.03 * expect_std
    if bound is not None:
        assert emin >= bound[0] and emax <= bound[1]


@pytest.mark.parametrize("expr", ["Linear(7, 5)", "Linear(3, 2, bias=False)", "Bilinear(3, 4, 2)",
                                  "Conv1d(3, 4, 3)", "Conv2d(2, 6, (3, 2), groups=2)",
                                  "ConvTranspose2d(4, 2, 3)", "Embedding(12, 5, padding_idx=3)",
                                  "PReLU(4)", "BatchNorm2d(3)", "LayerNorm(6)", "GroupNorm(2, 4)"])
def test_default_initialisation_is_torchs(expr):
    torch.manual_seed(7)
    ember.manual_seed(7)
    t = eval("torch.nn." + expr)
    e = eval("ember.nn." + expr)
    for k, v in t.state_dict().items():
        np.testing.assert_array_equal(e.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    # the stream advanced by the same amount
    np.testing.assert_array_equal(ember.rand(3).numpy(), torch.rand(3).numpy())


def test_deterministic_initialisers_match_torch_exactly():
    for name, shape, kw in [("constant_", (3, 4), dict(val=0.7)), ("ones_", (2, 5), {}),
                            ("zeros_", (4,), {}), ("eye_", (3, 5), {}),
                            ("dirac_", (4, 2, 3, 3), {}), ("dirac_", (4, 2, 3), dict(groups=2))]:
        e = getattr(nn.init, name)(ember.empty(shape), **kw)
        t = getattr(torch.nn.init, name)(torch.empty(shape), **kw)
        np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_orthogonal_is_orthogonal():
    ember.manual_seed(2)
    for shape in [(5, 3), (3, 5), (4, 2, 3)]:
        w = nn.init.orthogonal_(ember.empty(shape), gain=2.0).numpy().reshape(shape[0], -1)
        g = w @ w.T if shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(g, 4 * np.eye(g.shape[0]), atol=1e-5)


def test_init_on_parameters_keeps_graph_clean_and_warns_zero_element():
    p = nn.Parameter(ember.empty(4, 3))
    out = nn.init.kaiming_uniform_(p, a=1.0)
    assert out is p and p.is_leaf and p.grad_fn is None and p.requires_grad
    with pytest.warns(UserWarning, match="zero-element"):
        nn.init.kaiming_uniform_(ember.empty(0, 3))
    with pytest.warns(FutureWarning):
        nn.init.xavier_uniform(ember.empty(2, 2))


def test_seeded_init_reproducible():
    ember.manual_seed(11)
    a = nn.Linear(5, 4).weight.detach().numpy().copy()
    ember.manual_seed(11)
    b = nn.Linear(5, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


def test_linear_default_init_bounds():
    ember.manual_seed(3)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert b.min() >= -bound and b.max() <= bound
    bil = nn.Bilinear(20, 5, 3)
    assert np.abs(bil.weight.detach().numpy()).max() <= 1 / math.sqrt(20)
    prelu = nn.PReLU(3)
    assert prelu.weight.tolist() == pytest.approx([0.25] * 3)


# ---------------------------------------------------------------------------------------
# nn.utils
# ---------------------------------------------------------------------------------------
def _grads_pair(norm_type, scale=1.0, dtype=np.float32):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s).astype(dtype) * scale for s in [(3, 4), (5,), (2, 2, 2)]]
    tps = [torch.nn.Parameter(torch.zeros(a.shape, dtype=torch.from_numpy(a).dtype))
           for a in arrays]
    eps = [nn.Parameter(ember.zeros(*a.shape, dtype=ember.from_numpy(a).dtype)) for a in arrays]
    for tp, ep, a in zip(tps, eps, arrays):
        tp.grad = torch.from_numpy(a.copy())
        ep.grad = ember.from_numpy(a.copy())
    return tps, eps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, float("inf"), 0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    tps, eps = _grads_pair(norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    en = nn.utils.clip_grad_norm_(eps, max_norm, norm_type)
    assert abs(float(en) - float(tn)) <= 1e-5 * max(1.0, float(tn))
    assert en.dtype is ember.float32
    for tp, ep in zip(tps, eps):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_edge_cases():
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(ember.zeros(2))], 1.0)) == 0.0
    p = nn.Parameter(ember.zeros(2))
    p.grad = ember.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    tps, eps = _grads_pair(2.0)
    nt = torch.nn.utils.get_total_norm([t.grad for t in tps])
    ne = nn.utils.get_total_norm([e.grad for e in eps])
    assert abs(float(ne) - float(nt)) < 1e-5


def test_clip_grad_value_matches_torch():
    tps, eps = _grads_pair(2.0)
    torch.nn.utils.clip_grad_value_(tps, 0.4)
    nn.utils.clip_grad_value_(eps, 0.4)
    for tp, ep in zip(tps, eps):
        np.testing.assert_array_equal(ep.grad.numpy(), tp.grad.numpy())


def test_parameters_to_vector_roundtrip():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    em = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    tv = torch.nn.utils.parameters_to_vector(tm.parameters())
    ev = nn.utils.parameters_to_vector(em.parameters())
    np.testing.assert_array_equal(ev.detach().numpy(), tv.detach().numpy())
    assert ev.requires_grad
    ev.sum().backward()
    assert all(p.grad is not None for p in em.parameters())
    new = ember.arange(ev.numel(), dtype=ember.float32)
    nn.utils.vector_to_parameters(new, em.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(tv.numel(), dtype=torch.float32),
                                        tm.parameters())
    for (n, t), e in zip(tm.state_dict().items(), em.state_dict().values()):
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    with pytest.raises(TypeError):
        nn.utils.vector_to_parameters([1.0], em.parameters())
