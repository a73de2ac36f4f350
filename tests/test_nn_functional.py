"""ember.nn.functional against torch.nn.functional: values, dtypes and input gradients
(float64 tight, float32 loose), misuse raising torch's exception class and message, grad_fn
names, and gradcheck/gradgradcheck for every new primitive."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck
from helpers import check, check_raises

R = np.random.default_rng(1)


def x(*shape, low=-2.0, high=2.0, dtype=np.float64):
    return R.uniform(low, high, size=shape).astype(dtype)


def idx(high, *shape):
    return R.integers(0, high, size=shape).astype(np.int64)


def F(M):
    return M.nn.functional


def both_precisions(fn, *arrays, **kw):
    check(fn, *arrays, **kw)
    check(fn, *[a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype == np.float64
                else a for a in arrays], **kw)


# ---------------------------------------------------------------------------------------
# linear / bilinear
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("xs", [(6, 4), (2, 3, 4), (4,), (1, 4), (0, 4)])
def test_linear(xs):
    both_precisions(lambda M, a, w, b: F(M).linear(a, w, b), x(*xs), x(3, 4), x(3))
    both_precisions(lambda M, a, w: F(M).linear(a, w), x(*xs), x(3, 4))


def test_linear_noncontiguous_and_bilinear():
    check(lambda M, a, w, b: F(M).linear(a, w, b), x(5, 4), x(3, 4), x(3), noncontig=True)
    both_precisions(lambda M, a, b, w, bias: F(M).bilinear(a, b, w, bias),
                    x(5, 3), x(5, 2), x(4, 3, 2), x(4))


def test_linear_errors_name_shapes():
    e, _ = check_raises(lambda M, a, w: F(M).linear(a, w), x(64, 784), x(10, 128),
                        match=r"mat1 and mat2 shapes cannot be multiplied \(64x784 and 128x10\)")
    check_raises(lambda M, a, w: F(M).linear(a, w), x(2, 3, 5), x(4, 6),
                 match=r"\(6x5 and 6x4\)")
    check_raises(lambda M, a, w: F(M).linear(a, w.float()), x(2, 3), x(4, 3),
                 match="same dtype, but got Double and Float")
    lin = ember.nn.Linear(128, 10)
    with pytest.raises(RuntimeError, match=r"\(64x784 and 128x10\)"):
        lin(ember.randn(64, 784))


# ---------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------
ACT_FNS = [
    lambda M, a: F(M).relu(a), lambda M, a: F(M).relu6(a),
    lambda M, a: F(M).leaky_relu(a, 0.2), lambda M, a: F(M).elu(a, 0.7),
    lambda M, a: F(M).selu(a), lambda M, a: F(M).celu(a, 0.5), lambda M, a: F(M).gelu(a),
    lambda M, a: F(M).gelu(a, approximate="tanh"), lambda M, a: F(M).silu(a),
    lambda M, a: F(M).mish(a), lambda M, a: F(M).softplus(a),
    lambda M, a: F(M).softplus(a, beta=0.5, threshold=1.0), lambda M, a: F(M).softsign(a),
    lambda M, a: F(M).hardtanh(a, -0.5, 0.5), lambda M, a: F(M).hardswish(a),
    lambda M, a: F(M).hardsigmoid(a), lambda M, a: F(M).logsigmoid(a),
    lambda M, a: F(M).sigmoid(a), lambda M, a: F(M).tanh(a),
    lambda M, a: F(M).threshold(a, 0.3, -2.0), lambda M, a: F(M).glu(a, -1),
    lambda M, a: F(M).hardshrink(a, 0.3), lambda M, a: F(M).softshrink(a, 1.0),
    lambda M, a: F(M).tanhshrink(a), lambda M, a: F(M).rms_norm(a, (8,)),
    lambda M, a: F(M).rms_norm(a, [8], a[0].detach() * 0 + 2.0, eps=0.1),
]


@pytest.mark.parametrize("fn", ACT_FNS)
def test_activation_functions(fn):
    a = x(3, 8, low=-6, high=6)
    a[0, :4] = [0.0, 3.0, -3.0, 0.3]
    both_precisions(fn, a)


def test_activation_extremes_are_finite_like_torch():
    a = np.array([-1e4, -60.0, -20.0, 0.0, 20.0, 60.0, 1e4])
    for fn in ACT_FNS[3:19]:
        both_precisions(fn, a)


def test_activation_grad_fn_names():
    v = ember.randn(3, requires_grad=True)
    f = ember.nn.functional
    names = {"relu": f.relu(v), "relu6": f.relu6(v), "leaky": f.leaky_relu(v),
             "elu": f.elu(v), "selu": f.selu(v), "celu": f.celu(v), "gelu": f.gelu(v),
             "silu": f.silu(v), "mish": f.mish(v), "softplus": f.softplus(v),
             "hardswish": f.hardswish(v), "hardsigmoid": f.hardsigmoid(v),
             "logsigmoid": f.logsigmoid(v), "threshold": f.threshold(v, 0.1, 0.0),
             "softmax": f.softmax(v, 0), "log_softmax": f.log_softmax(v, 0),
             "prelu": f.prelu(v, ember.tensor([0.25], requires_grad=True))}
    expect = {"relu": "ReluBackward0", "relu6": "HardtanhBackward0",
              "leaky": "LeakyReluBackward0", "elu": "EluBackward0", "selu": "EluBackward0",
              "celu": "CeluBackward0", "gelu": "GeluBackward0", "silu": "SiluBackward0",
              "mish": "MishBackward0", "softplus": "SoftplusBackward0",
              "hardswish": "HardswishBackward0", "hardsigmoid": "HardsigmoidBackward0",
              "logsigmoid": "LogSigmoidBackward0", "threshold": "ThresholdBackward0",
              "softmax": "SoftmaxBackward0", "log_softmax": "LogSoftmaxBackward0",
              "prelu": "PreluKernelBackward0"}
    for k, t in names.items():
        assert t.grad_fn.name() == expect[k], k


def test_prelu_functional():
    both_precisions(lambda M, a, w: F(M).prelu(a, w), x(2, 3, 4), x(3))
    both_precisions(lambda M, a, w: F(M).prelu(a, w), x(2, 3), x(1))
    both_precisions(lambda M, a, w: F(M).prelu(a, w), x(5), x(1))
    check_raises(lambda M, a, w: F(M).prelu(a, w), x(5), x(5))
    check_raises(lambda M, a, w: F(M).prelu(a, w), x(2, 3, 4), x(2),
                 match="Mismatch of parameter numbers and input channel size")


def test_inplace_functional_forms():
    for name in ("relu_", "leaky_relu_", "elu_", "hardtanh_", "selu_", "celu_"):
        t, e = torch.tensor([-1.0, 2.0]), ember.tensor([-1.0, 2.0])
        rt, re_ = getattr(torch.nn.functional, name)(t), getattr(ember.nn.functional, name)(e)
        assert re_ is e and np.allclose(e.numpy(), t.numpy())
    check_raises(lambda M, a: F(M).gelu(a.long()), x(3))


@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((4, 5), 0), ((2, 3, 4), -1), ((5,), 0),
                                       ((2, 3, 4, 5), 1), ((), 0), ((3, 0), 1)])
def test_softmax_family(shape, dim):
    for fn in ("softmax", "log_softmax", "softmin"):
        both_precisions(lambda M, a: getattr(F(M), fn)(a, dim), x(*shape, low=-30, high=30))


def test_softmax_dtype_and_implicit_dim():
    check(lambda M, a: F(M).softmax(a, 1, dtype=M.float64), x(3, 4, dtype=np.float32),
          rtol=1e-6)
    check(lambda M, a: F(M).log_softmax(a, -1, dtype=M.float64), x(3, 4, dtype=np.float32),
          rtol=1e-6)
    v = ember.randn(2, 3, requires_grad=True)
    assert ember.nn.functional.softmax(v, 1, dtype=ember.float64).grad_fn.next_functions[0][0] \
        .name() == "ToCopyBackward0"
    for shape in ((3,), (2, 3), (2, 3, 4), (2, 3, 4, 5)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            check(lambda M, a: F(M).softmax(a), x(*shape), grad=False)
        assert any("Implicit dimension" in str(m.message) for m in w)
    check_raises(lambda M, a: F(M).softmax(a, 2), x(2, 3))
    check_raises(lambda M, a: F(M).softmax(a.long(), 0), x(2, 3))


def test_softmax_tensor_methods_and_toplevel():
    both_precisions(lambda M, a: a.softmax(1), x(3, 4))
    both_precisions(lambda M, a: a.log_softmax(-1), x(3, 4))
    check(lambda M, a: M.softmax(a, 0, dtype=M.float64), x(3, 4, dtype=np.float32), rtol=1e-6)
    check(lambda M, a: M.log_softmax(a, dim=1), x(2, 5))


def test_softmax_large_and_inf_inputs():
    a = np.array([[1000.0, 1001.0, -np.inf], [-np.inf, 0.0, 5.0]])
    for fn in ("softmax", "log_softmax"):
        check(lambda M, t: getattr(F(M), fn)(t, 1), a)


# ---------------------------------------------------------------------------------------
# convolution, unfold/fold
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 7, 6), (4, 3, 3, 3), dict()),
    ((2, 3, 7, 6), (4, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 4, 7, 6), (6, 2, 2, 3), dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=2)),
    ((1, 2, 5, 5), (3, 2, 4, 4), dict(padding="same")),
    ((1, 2, 5, 5), (3, 2, 2, 2), dict(padding="same", dilation=2)),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding="valid")),
    ((3, 7, 6), (2, 3, 3, 3), dict(padding=1)),
    ((2, 4, 5, 5), (4, 1, 3, 3), dict(groups=4, padding=1)),
])
def test_conv2d(xs, ws, kw):
    both_precisions(lambda M, a, w, b: F(M).conv2d(a, w, b, **kw), x(*xs), x(*ws), x(ws[0]))
    check(lambda M, a, w: F(M).conv2d(a, w, **kw), x(*xs), x(*ws), noncontig=True)


@pytest.mark.parametrize("xs,ws,kw", [
    ((16, 3, 7, 6), (4, 3, 3, 3), dict(stride=2, padding=1)),           # batch-last layout
    ((20, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ((17, 2, 9), (3, 2, 3), dict(stride=2)),
])
def test_conv_large_batch_small_output(xs, ws, kw):
    fn = "conv2d" if len(xs) == 4 else "conv1d"
    both_precisions(lambda M, a, w, b: getattr(F(M), fn)(a, w, b, **kw), x(*xs), x(*ws),
                    x(ws[0]))
    tfn = "conv_transpose2d" if len(xs) == 4 else "conv_transpose1d"
    wt = (ws[0], ws[1]) + ws[2:]
    both_precisions(lambda M, a, w: getattr(F(M), tfn)(a, w, groups=kw.get("groups", 1)),
                    x(xs[0], ws[0], *xs[2:]), x(*wt))


def test_conv1d_conv3d():
    both_precisions(lambda M, a, w, b: F(M).conv1d(a, w, b, stride=2, padding=2, dilation=2),
                    x(2, 3, 11), x(4, 3, 3), x(4))
    both_precisions(lambda M, a, w: F(M).conv1d(a, w, padding="same"), x(2, 3, 6), x(2, 3, 4))
    both_precisions(lambda M, a, w, b: F(M).conv3d(a, w, b, stride=(1, 2, 1), padding=1),
                    x(1, 2, 3, 5, 4), x(2, 2, 2, 3, 2), x(2))


@pytest.mark.parametrize("nd,xs,ws,kw", [
    (2, (2, 4, 3, 4), (4, 3, 3, 3), dict()),
    (2, (2, 4, 3, 4), (4, 2, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    (2, (1, 2, 3, 3), (2, 3, 2, 2), dict(stride=3, dilation=2, output_padding=(2, 1))),
    (1, (2, 3, 5), (3, 2, 4), dict(stride=2, padding=1)),
    (1, (3, 5), (3, 2, 3), dict()),
    (3, (1, 2, 2, 3, 2), (2, 1, 2, 2, 2), dict(stride=2)),
])
def test_conv_transpose(nd, xs, ws, kw):
    name = f"conv_transpose{nd}d"
    cout = ws[1] * kw.get("groups", 1)
    both_precisions(lambda M, a, w, b: getattr(F(M), name)(a, w, b, **kw), x(*xs), x(*ws),
                    x(cout))


def test_conv_errors_name_shapes_and_channels():
    e, _ = check_raises(lambda M, a, w: F(M).conv2d(a, w), x(64, 3, 28, 28), x(16, 1, 3, 3))
    assert str(e) == ("Given groups=1, weight of size [16, 1, 3, 3], expected input[64, 3, 28, "
                      "28] to have 1 channels, but got 3 channels instead")
    e, t = check_raises(lambda M, a, w: F(M).conv2d(a, w), x(64, 784), x(16, 1, 3, 3))
    assert str(e) == str(t)
    e, t = check_raises(lambda M, a, w: F(M).conv2d(a, w), x(64, 28, 28), x(16, 1, 3, 3))
    assert str(e) == str(t)
    for args in [(x(1, 1, 2, 2), x(1, 1, 3, 3), {}), (x(1, 4, 5, 5), x(3, 2, 3, 3),
                                                        dict(groups=2)),
                 (x(1, 1, 5, 5), x(1, 1, 3, 3), dict(stride=2, padding="same")),
                 (x(1, 1, 5, 5), x(1, 1, 3, 3), dict(padding="full")),
                 (x(1, 1, 5, 5), x(1, 1, 3, 3), dict(padding=-1)),
                 (x(1, 1, 5, 5), x(1, 1, 3, 3), dict(stride=0))]:
        a, w, kw = args
        e, t = check_raises(lambda M, a_, w_: F(M).conv2d(a_, w_, **kw), a, w)
        assert str(e) == str(t), (str(e), str(t))
    check_raises(lambda M, a, w, b: F(M).conv2d(a, w, b), x(1, 1, 5, 5), x(2, 1, 3, 3), x(3))
    check_raises(lambda M, a, w: F(M).conv2d(a, w.float()), x(1, 1, 5, 5), x(2, 1, 3, 3))
    e, t = check_raises(lambda M, a, w: F(M).conv_transpose2d(a, w), x(1, 4, 5, 5),
                        x(3, 2, 3, 3))
    assert str(e) == str(t)
    check_raises(lambda M, a, w: F(M).conv_transpose2d(a, w, stride=2, output_padding=2),
                 x(1, 3, 5, 5), x(3, 2, 3, 3))
    conv = ember.nn.Conv2d(1, 16, 3)
    with pytest.raises(RuntimeError, match=r"expected input\[1, 64, 28, 28\] to have 1 channels"):
        conv(ember.randn(64, 28, 28))


@pytest.mark.parametrize("xs,kw", [
    ((2, 3, 6, 5), dict(kernel_size=2)),
    ((2, 3, 6, 5), dict(kernel_size=(3, 2), dilation=(1, 2), padding=1, stride=(2, 1))),
    ((3, 5, 5), dict(kernel_size=3, padding=2, stride=2)),
])
def test_unfold_fold(xs, kw):
    both_precisions(lambda M, a: F(M).unfold(a, **kw), x(*xs))
    cols = torch.nn.functional.unfold(torch.from_numpy(x(*xs)), **kw)
    both_precisions(lambda M, c: F(M).fold(c, xs[-2:], **kw), x(*cols.shape))
    check_raises(lambda M, a: F(M).unfold(a, 2), x(3, 4))
    check_raises(lambda M, c: F(M).fold(c, (4, 4), 3), x(1, 9, 5))


# ---------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3), stride=1, dilation=(2, 1)),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=2, stride=3, padding=1, ceil_mode=True)])
def test_max_pool2d(kw):
    both_precisions(lambda M, a: F(M).max_pool2d(a, **kw), x(2, 3, 7, 8))
    both_precisions(lambda M, a: F(M).max_pool2d(a, return_indices=True, **kw), x(3, 7, 8))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1,
                                     count_include_pad=False),
                                dict(kernel_size=3, stride=2, ceil_mode=True),
                                dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1),
                                     ceil_mode=True, count_include_pad=False),
                                dict(kernel_size=2, divisor_override=5)])
def test_avg_pool2d(kw):
    both_precisions(lambda M, a: F(M).avg_pool2d(a, **kw), x(2, 3, 7, 8))


def test_pool1d_and_adaptive():
    both_precisions(lambda M, a: F(M).max_pool1d(a, 3, 2, 1), x(2, 3, 10))
    both_precisions(lambda M, a: F(M).max_pool1d(a, 2, return_indices=True), x(3, 10))
    both_precisions(lambda M, a: F(M).avg_pool1d(a, 3, 2, 1, count_include_pad=False),
                    x(2, 3, 10))
    for out in [(3, 4), 1, (1, 5), (7, 8), (None, 3), (10, 11)]:
        both_precisions(lambda M, a: F(M).adaptive_avg_pool2d(a, out), x(2, 3, 7, 8))
        both_precisions(lambda M, a: F(M).adaptive_max_pool2d(a, out, return_indices=True),
                        x(2, 3, 7, 8))
    both_precisions(lambda M, a: F(M).adaptive_avg_pool1d(a, 4), x(2, 3, 10))
    both_precisions(lambda M, a: F(M).adaptive_max_pool1d(a, 4, return_indices=True),
                    x(2, 3, 10))


def test_pool_errors():
    e, t = check_raises(lambda M, a: F(M).max_pool2d(a, 2), x(4, 4))
    assert str(e) == str(t)
    e, t = check_raises(lambda M, a: F(M).max_pool2d(a, 3, padding=2), x(1, 1, 6, 6))
    assert str(e) == str(t)
    e, t = check_raises(lambda M, a: F(M).avg_pool2d(a, 3, padding=2), x(1, 1, 6, 6))
    assert str(e) == str(t)
    e, t = check_raises(lambda M, a: F(M).max_pool2d(a, 4), x(1, 3, 2, 2))
    assert str(e) == str(t)


# ---------------------------------------------------------------------------------------
# normalization
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional(training):
    for shape in ((4, 3), (2, 3, 5), (2, 3, 2, 4)):
        both_precisions(lambda M, a, rm, rv, w, b: F(M).batch_norm(
            a, rm.detach(), rv.detach(), w, b, training, 0.3, 1e-3),
            x(*shape), x(3), x(3, low=0.5, high=2), x(3), x(3))
    both_precisions(lambda M, a: F(M).batch_norm(a, None, None, training=True), x(4, 3, 2))


def test_batch_norm_updates_running_stats_like_torch():
    for dt in (np.float32, np.float64):
        a = x(4, 3, 5).astype(dt)
        rm_t, rv_t = torch.zeros(3, dtype=torch.float64 if dt == np.float64 else torch.float32), \
            torch.ones(3, dtype=torch.float64 if dt == np.float64 else torch.float32)
        rm_e, rv_e = ember.from_numpy(rm_t.numpy().copy()), ember.from_numpy(rv_t.numpy().copy())
        torch.nn.functional.batch_norm(torch.from_numpy(a), rm_t, rv_t, training=True,
                                       momentum=0.2)
        ember.nn.functional.batch_norm(ember.from_numpy(a), rm_e, rv_e, training=True,
                                       momentum=0.2)
        np.testing.assert_allclose(rm_e.numpy(), rm_t.numpy(), rtol=1e-6)
        np.testing.assert_allclose(rv_e.numpy(), rv_t.numpy(), rtol=1e-6)


def test_layer_group_instance_norm_functional():
    both_precisions(lambda M, a, w, b: F(M).layer_norm(a, (4, 5), w, b, 1e-3), x(2, 3, 4, 5),
                    x(4, 5), x(4, 5))
    both_precisions(lambda M, a: F(M).layer_norm(a, [5]), x(3, 5))
    both_precisions(lambda M, a, w, b: F(M).group_norm(a, 3, w, b), x(2, 6, 4), x(6), x(6))
    both_precisions(lambda M, a: F(M).group_norm(a, 2), x(3, 4, 2, 2))
    both_precisions(lambda M, a, w, b: F(M).instance_norm(a, weight=w, bias=b), x(2, 3, 4, 5),
                    x(3), x(3))
    e, t = check_raises(lambda M, a: F(M).layer_norm(a, [4]), x(3, 5))
    assert str(e) == str(t)
    e, t = check_raises(lambda M, a: F(M).group_norm(a, 2), x(2, 3, 4))
    assert str(e) == str(t)
    check_raises(lambda M, a: F(M).batch_norm(a, None, None, training=True), x(1, 3))
    check_raises(lambda M, a: F(M).instance_norm(a), x(2, 3, 1))


def test_norm_grad_fn_names():
    f = ember.nn.functional
    v = ember.randn(2, 4, 3, requires_grad=True)
    w = ember.ones(4, requires_grad=True)
    assert f.batch_norm(v, None, None, w, None, True).grad_fn.name() == \
        "NativeBatchNormBackward0"
    assert f.layer_norm(v, (3,)).grad_fn.name() == "NativeLayerNormBackward0"
    assert f.group_norm(v, 2, w).grad_fn.name() == "NativeGroupNormBackward0"
    assert f.instance_norm(v).grad_fn.name() == "ViewBackward0"


# ---------------------------------------------------------------------------------------
# embedding, one_hot, dropout
# ---------------------------------------------------------------------------------------
def test_embedding_functional():
    ids = idx(7, 3, 4)
    both_precisions(lambda M, w, i: F(M).embedding(i, w), x(7, 5), ids)
    both_precisions(lambda M, w, i: F(M).embedding(i, w, padding_idx=2,
                                                   scale_grad_by_freq=True), x(7, 5), ids)
    check_raises(lambda M, w, i: F(M).embedding(i, w), x(7, 5), np.array([7]))
    check_raises(lambda M, w: F(M).embedding(M.tensor([1.0]), w), x(7, 5))


def test_one_hot():
    for ids, n in ((idx(5, 3, 2), -1), (idx(5, 4), 7), (np.array(3), 4)):
        check(lambda M, i: F(M).one_hot(i, n), ids, grad=False)
    check_raises(lambda M, i: F(M).one_hot(i, 3), np.array([3]))
    check_raises(lambda M, i: F(M).one_hot(i), np.array([-1]))
    check_raises(lambda M, a: F(M).one_hot(a), x(3))


def test_dropout_functional_validation():
    check_raises(lambda M, a: F(M).dropout(a, 1.5), x(3))
    check(lambda M, a: F(M).dropout(a, 0.5, training=False), x(3, 4))
    check(lambda M, a: F(M).dropout2d(a, 0.5, training=False), x(2, 3, 4, 4))
    check(lambda M, a: F(M).dropout(a, 1.0), x(3, 4))


# ---------------------------------------------------------------------------------------
# pad / interpolate / pixel shuffle
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("pad,mode,shape", [
    ((1, 2), "constant", (2, 3, 4)), ((1, 1, 2, 0), "constant", (2, 3, 4)),
    ((-1, 2, 0, -2), "constant", (2, 3, 5)), ((1, 1, 1, 1, 1, 1), "constant", (2, 2, 2, 2)),
    ((2, 1), "reflect", (2, 3, 4)), ((1, 2, 3, 1), "reflect", (2, 3, 4, 5)),
    ((1, 2, 3, 1), "replicate", (2, 3, 4, 5)), ((2, 2), "replicate", (3, 4)),
    ((1, 0, 2, 1, 1, 1), "replicate", (1, 2, 3, 4, 3)), ((1, 2, 3, 1), "circular", (2, 3, 4, 5)),
    ((2, 1), "circular", (2, 3, 4)), ((1, 2, 1, 0, 1, 1), "reflect", (1, 1, 3, 4, 3)),
])
def test_pad(pad, mode, shape):
    both_precisions(lambda M, a: F(M).pad(a, pad, mode=mode), x(*shape))
    if mode == "constant":
        both_precisions(lambda M, a: F(M).pad(a, pad, value=2.5), x(*shape))


def test_pad_errors():
    for fn, a in ((lambda M, t: F(M).pad(t, (1,)), x(2, 3)),
                  (lambda M, t: F(M).pad(t, (3, 3), mode="reflect"), x(2, 3, 3)),
                  (lambda M, t: F(M).pad(t, (1, 1), mode="reflect"), x(3)),
                  (lambda M, t: F(M).pad(t, (1, 1, 1, 1, 1, 1), mode="constant"), x(3, 3)),
                  (lambda M, t: F(M).pad(t, (-3, 0)), x(2, 2))):
        check_raises(fn, a)


@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 4, 5), dict(scale_factor=2)), ((2, 3, 4, 5), dict(size=(7, 3))),
    ((2, 3, 4, 5), dict(scale_factor=(1.5, 0.6))), ((1, 2, 3, 3), dict(size=9)),
    ((1, 2, 9, 3), dict(size=(3, 9))),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=True)),
    ((2, 3, 4, 5), dict(size=(3, 8), mode="bilinear", align_corners=False)),
    ((2, 3, 4, 5), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 4, 5), dict(scale_factor=(0.5, 2.5), mode="bilinear")),
    ((2, 3, 4), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 4), dict(size=7, mode="linear", align_corners=True)),
    ((2, 3, 6), dict(size=4, mode="nearest")), ((2, 3, 6, 5), dict(size=(4, 8), mode="area")),
    ((2, 3, 6, 5), dict(size=(4, 7), mode="nearest-exact")),
    ((1, 2, 3, 4, 2), dict(scale_factor=2, mode="trilinear")),
    ((1, 2, 3, 4, 2), dict(size=(4, 3, 5), mode="nearest")),
])
def test_interpolate(shape, kw):
    both_precisions(lambda M, a: F(M).interpolate(a, **kw), x(*shape))


def test_interpolate_names_and_errors():
    f = ember.nn.functional
    v = ember.randn(1, 1, 2, 2, requires_grad=True)
    assert f.interpolate(v, scale_factor=2).grad_fn.name() == "UpsampleNearest2DBackward0"
    assert f.interpolate(v, scale_factor=2, mode="bilinear").grad_fn.name() == \
        "UpsampleBilinear2DBackward0"
    for kw in (dict(), dict(size=2, scale_factor=2), dict(size=3, mode="bilinear", ndim=3),
               dict(size=3, align_corners=True)):
        nd = kw.pop("ndim", 4)
        check_raises(lambda M, a: F(M).interpolate(a, **kw), x(*(1, 2, 3, 3)[:nd]))


def test_pixel_shuffle_functional():
    both_precisions(lambda M, a: F(M).pixel_shuffle(a, 2), x(2, 8, 3, 2))
    both_precisions(lambda M, a: F(M).pixel_unshuffle(a, 2), x(2, 2, 4, 6))
    check_raises(lambda M, a: F(M).pixel_shuffle(a, 2), x(2, 6, 3, 3))
    check_raises(lambda M, a: F(M).pixel_unshuffle(a, 2), x(2, 2, 3, 4))


# ---------------------------------------------------------------------------------------
# distances, normalize, attention
# ---------------------------------------------------------------------------------------
def test_distances_and_normalize():
    both_precisions(lambda M, a, b: F(M).cosine_similarity(a, b), x(4, 5), x(4, 5))
    both_precisions(lambda M, a, b: F(M).cosine_similarity(a, b, dim=-1), x(2, 3, 5), x(3, 5))
    both_precisions(lambda M, a, b: F(M).cosine_similarity(a, b, 0), x(5), np.zeros(5))
    both_precisions(lambda M, a, b: F(M).pairwise_distance(a, b, 1.5, keepdim=True), x(4, 5),
                    x(4, 5))
    both_precisions(lambda M, a: F(M).normalize(a), x(4, 5))
    both_precisions(lambda M, a: F(M).normalize(a, p=1, dim=0), x(4, 5))
    check(lambda M, a: F(M).normalize(a), np.zeros((2, 3)))


@pytest.mark.parametrize("case", ["plain", "bool_mask", "float_mask", "causal", "scale",
                                  "cross"])
def test_scaled_dot_product_attention(case):
    q, k, v = x(2, 3, 4, 8), x(2, 3, 6, 8), x(2, 3, 6, 5)
    kw = {}
    if case == "bool_mask":
        m = R.random((4, 6)) > 0.3
        m[:, 0] = True
        kw["attn_mask"] = m
    elif case == "float_mask":
        kw["attn_mask"] = x(4, 6)
    elif case == "causal":
        k, v = x(2, 3, 4, 8), x(2, 3, 4, 5)
        kw["is_causal"] = True
    elif case == "scale":
        kw["scale"] = 0.3
    elif case == "cross":
        q = x(5, 8)
        k, v = x(7, 8), x(7, 3)

    def fn(M, q_, k_, v_):
        kk = dict(kw)
        if "attn_mask" in kk:
            m = M.from_numpy(kk["attn_mask"].copy())
            kk["attn_mask"] = m if m.dtype == M.bool else m.to(q_.dtype)
        return F(M).scaled_dot_product_attention(q_, k_, v_, **kk)
    both_precisions(fn, q, k, v)


# ---------------------------------------------------------------------------------------
# gradcheck / gradgradcheck of every new primitive (float64, tiny shapes)
# ---------------------------------------------------------------------------------------
def _t(*shape, low=-1.0, high=1.0, grad=True):
    return ember.from_numpy(R.uniform(low, high, size=shape)).requires_grad_(grad)


f = ember.nn.functional
GRADCHECK = {
    "linear": (lambda a, w, b: f.linear(a, w, b), lambda: (_t(3, 4), _t(2, 4), _t(2))),
    "linear3d": (lambda a, w: f.linear(a, w), lambda: (_t(2, 2, 3), _t(2, 3))),
    "bilinear": (lambda a, b, w: f.bilinear(a, b, w), lambda: (_t(2, 2), _t(2, 3), _t(2, 2, 3))),
    "gelu": (f.gelu, lambda: (_t(6, low=-3, high=3),)),
    "gelu_tanh": (lambda a: f.gelu(a, approximate="tanh"), lambda: (_t(6, low=-3, high=3),)),
    "elu": (lambda a: f.elu(a, 0.7), lambda: (_t(6, low=-2, high=2),)),
    "selu": (f.selu, lambda: (_t(6, low=-2, high=2),)),
    "celu": (lambda a: f.celu(a, 1.3), lambda: (_t(6, low=-2, high=2),)),
    "silu": (f.silu, lambda: (_t(6, low=-3, high=3),)),
    "mish": (f.mish, lambda: (_t(6, low=-3, high=3),)),
    "softplus": (lambda a: f.softplus(a, 1.5, 2.0), lambda: (_t(6, low=-3, high=3),)),
    "logsigmoid": (f.logsigmoid, lambda: (_t(6, low=-3, high=3),)),
    "hardswish": (f.hardswish, lambda: (_t(6, low=-2.5, high=2.5),)),
    "leaky_relu": (lambda a: f.leaky_relu(a, 0.1), lambda: (_t(6),)),
    "hardtanh": (lambda a: f.hardtanh(a, -0.5, 0.5), lambda: (_t(6),)),
    "hardsigmoid": (f.hardsigmoid, lambda: (_t(6, low=-4, high=4),)),
    "threshold": (lambda a: f.threshold(a, 0.1, 2.0), lambda: (_t(6),)),
    "softshrink": (lambda a: f.softshrink(a, 0.3), lambda: (_t(6),)),
    "hardshrink": (lambda a: f.hardshrink(a, 0.3), lambda: (_t(6),)),
    "rms_norm": (lambda a, w: f.rms_norm(a, (3,), w), lambda: (_t(2, 3), _t(3))),
    "prelu": (lambda a, w: f.prelu(a, w), lambda: (_t(2, 3, 2), _t(3))),
    "softmax": (lambda a: f.softmax(a, 1), lambda: (_t(2, 4),)),
    "log_softmax": (lambda a: f.log_softmax(a, 0), lambda: (_t(3, 2),)),
    "conv2d": (lambda a, w, b: f.conv2d(a, w, b, stride=2, padding=1, groups=2),
               lambda: (_t(1, 2, 4, 3), _t(2, 1, 2, 2), _t(2))),
    "conv2d_batch_last": (lambda a, w: f.conv2d(a, w, stride=2, padding=1),
                          lambda: (_t(16, 1, 3, 3), _t(2, 1, 2, 2))),
    "conv1d_dil": (lambda a, w: f.conv1d(a, w, dilation=2, padding=1),
                   lambda: (_t(1, 2, 5), _t(1, 2, 2))),
    "conv_transpose2d": (lambda a, w, b: f.conv_transpose2d(a, w, b, stride=2, output_padding=1),
                         lambda: (_t(1, 2, 2, 2), _t(2, 1, 2, 2), _t(1))),
    "unfold": (lambda a: f.unfold(a, 2, padding=1, stride=2), lambda: (_t(1, 1, 3, 3),)),
    "fold": (lambda c: f.fold(c, (3, 3), 2), lambda: (_t(1, 4, 4),)),
    "max_pool2d": (lambda a: f.max_pool2d(a, 2, 1, 1), lambda: (_t(1, 1, 3, 3),)),
    "avg_pool2d": (lambda a: f.avg_pool2d(a, 2, 1, 1, count_include_pad=False),
                   lambda: (_t(1, 1, 3, 3),)),
    "adaptive_avg": (lambda a: f.adaptive_avg_pool2d(a, (2, 3)), lambda: (_t(1, 1, 3, 4),)),
    "adaptive_max": (lambda a: f.adaptive_max_pool2d(a, (2, 2)), lambda: (_t(1, 1, 3, 3),)),
    "interp_bilinear": (lambda a: f.interpolate(a, scale_factor=1.5, mode="bilinear"),
                        lambda: (_t(1, 1, 2, 3),)),
    "interp_nearest": (lambda a: f.interpolate(a, size=(3, 2)), lambda: (_t(1, 1, 2, 3),)),
    "pad_reflect": (lambda a: f.pad(a, (2, 1, 1, 1), mode="reflect"), lambda: (_t(1, 1, 3, 3),)),
    "pad_replicate": (lambda a: f.pad(a, (2, 1), mode="replicate"), lambda: (_t(1, 2, 3),)),
    "pad_constant": (lambda a: f.pad(a, (1, -1, 2, 0), value=1.0), lambda: (_t(2, 3),)),
    "batch_norm_train": (lambda a, w, b: f.batch_norm(a, None, None, w, b, True),
                         lambda: (_t(3, 2, 2), _t(2), _t(2))),
    "batch_norm_eval": (lambda a, w, b: f.batch_norm(
        a, ember.tensor([0.1, -0.2], dtype=ember.float64),
        ember.tensor([1.5, 0.5], dtype=ember.float64), w, b, False),
        lambda: (_t(3, 2, 2), _t(2), _t(2))),
    "layer_norm": (lambda a, w, b: f.layer_norm(a, (3,), w, b), lambda: (_t(2, 3), _t(3), _t(3))),
    "group_norm": (lambda a, w, b: f.group_norm(a, 2, w, b), lambda: (_t(2, 4, 2), _t(4), _t(4))),
    "embedding": (lambda w: f.embedding(ember.tensor([[0, 2], [2, 3]]), w),
                  lambda: (_t(4, 2),)),
    "pixel_shuffle": (lambda a: f.pixel_shuffle(a, 2), lambda: (_t(1, 4, 2, 1),)),
    "cross_entropy": (lambda a: f.cross_entropy(a, ember.tensor([1, 0, 2])),
                      lambda: (_t(3, 4),)),
    "cross_entropy_kdim": (lambda a: f.cross_entropy(
        a, ember.tensor([[1, -100], [2, 0]]), weight=ember.tensor([1.0, 2.0, 0.5],
                                                                  dtype=ember.float64)),
        lambda: (_t(2, 3, 2),)),
    "nll_loss": (lambda a: f.nll_loss(a, ember.tensor([1, 0]), reduction="sum"),
                 lambda: (_t(2, 3),)),
    "mse": (lambda a, b: f.mse_loss(a, b), lambda: (_t(2, 3), _t(2, 3))),
    "smooth_l1": (lambda a, b: f.smooth_l1_loss(a, b, beta=0.5), lambda: (_t(5), _t(5))),
    "huber": (lambda a, b: f.huber_loss(a, b, reduction="none", delta=0.4),
              lambda: (_t(5), _t(5))),
    "bce": (lambda a, b: f.binary_cross_entropy(a, b), lambda: (_t(4, low=0.1, high=0.9),
                                                                _t(4, low=0, high=1))),
    "bce_logits": (lambda a, b: f.binary_cross_entropy_with_logits(
        a, b, pos_weight=ember.tensor([2.0, 0.5], dtype=ember.float64)),
        lambda: (_t(3, 2), _t(3, 2, low=0, high=1))),
    "soft_margin": (lambda a: f.soft_margin_loss(a, ember.tensor([1.0, -1.0, 1.0],
                                                                 dtype=ember.float64)),
                    lambda: (_t(3),)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck_and_gradgradcheck(name):
    fn, make = GRADCHECK[name]
    assert gradcheck(fn, make())
    assert gradgradcheck(fn, make())


def _same_bits(a, b, what):
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, what
    if a.dtype.kind == "f":
        u = f"u{a.itemsize}"
        np.testing.assert_array_equal(a.view(u), b.view(u), err_msg=what)   # -0.0, NaN bits
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("kernel,stride", [(2, None), ((2, 3), None), (3, 3), (1, None)])
def test_max_pool2d_tiling_windows_bitwise(dtype, kernel, stride):
    """stride == kernel (the windows tile the input; ragged edge cropped): values, indices
    and gradients bit for bit as torch, with ties, -0.0/+0.0 ties, NaN (the last NaN of a
    window wins), +-inf, and inf/NaN/-0.0 gradients (which must not leak or change sign)."""
    rng = np.random.default_rng(7)
    special = np.array([0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan, -np.nan])
    for shape in [(2, 3, 6, 8), (3, 7, 9), (2, 2, 11, 13)]:
        for with_nan in (False, True):
            pool = special if with_nan else special[:5]
            x = rng.choice(pool, size=shape).astype(dtype)
            out_sp = torch.nn.functional.max_pool2d(torch.from_numpy(x), kernel, stride).shape
            g = rng.choice(special, size=tuple(out_sp)).astype(dtype)
            for noncontig in (False, True):
                res = []
                for M in (ember, torch):
                    xa = M.from_numpy(np.ascontiguousarray(x.swapaxes(-1, -2))).transpose(-1, -2) \
                        if noncontig else M.from_numpy(x.copy())
                    xa.requires_grad_(True)
                    out, idx = M.nn.functional.max_pool2d(xa, kernel, stride,
                                                          return_indices=True)
                    out.backward(M.from_numpy(g.copy()))
                    with M.no_grad():
                        plain = M.nn.functional.max_pool2d(xa.detach(), kernel, stride)
                    res.append([t.detach().numpy() for t in (out, idx, xa.grad, plain)])
                for a, b, what in zip(res[0], res[1], ("out", "indices", "grad", "no_grad")):
                    _same_bits(a, b, f"{what} {shape} nan={with_nan} noncontig={noncontig}")


def test_max_pool2d_tiling_windows_double_backward():
    x = np.random.default_rng(3).integers(-2, 3, size=(2, 3, 6, 7)).astype(np.float64)
    check(lambda M, a: M.autograd.grad(F(M).max_pool2d(a, 2).pow(2).sum(), a,
                                       create_graph=True)[0], x)
