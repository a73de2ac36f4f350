"""Every layer against torch: torch's state_dict loaded into ember, then outputs, input and
parameter gradients and buffers compared in float32 and float64 (train and eval where they
differ); reprs compared for many constructor settings."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from helpers import rand
from nn_helpers import F32, F64, both_dtypes_and_modes, module_parity

R = np.random.default_rng(0)


def x(*shape, low=-2.0, high=2.0):
    return R.uniform(low, high, size=shape)


# ---------------------------------------------------------------------------------------
# repr / extra_repr and constructor defaults
# ---------------------------------------------------------------------------------------
REPR_CASES = [
    "Identity()", "Linear(3, 4)", "Linear(3, 4, bias=False)", "Bilinear(2, 3, 4)",
    "Conv1d(3, 4, 3)", "Conv2d(1, 16, kernel_size=3, stride=2, padding=1)",
    "Conv2d(4, 8, (3, 5), padding='same', dilation=2, groups=2, bias=False)",
    "Conv2d(4, 8, 3, padding='valid')", "Conv2d(2, 2, 3, padding=1, padding_mode='reflect')",
    "ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)",
    "ConvTranspose1d(4, 2, 3, groups=2, dilation=2, bias=False)", "Conv3d(1, 2, 2)",
    "MaxPool2d(2)", "MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True)",
    "MaxPool1d(2, return_indices=True)", "AvgPool2d(4)", "AvgPool2d((2, 3), stride=1, padding=1)",
    "AvgPool1d(3)", "AdaptiveAvgPool2d((5, 7))", "AdaptiveAvgPool1d(4)",
    "AdaptiveMaxPool2d(3, return_indices=True)", "AdaptiveMaxPool1d(2)",
    "BatchNorm1d(3)", "BatchNorm2d(3, eps=1e-3, momentum=None, affine=False)",
    "BatchNorm2d(4, track_running_stats=False)", "BatchNorm3d(2, bias=False)",
    "LayerNorm(5)", "LayerNorm((3, 4), eps=1e-6, elementwise_affine=False)",
    "LayerNorm(4, bias=False)", "GroupNorm(2, 4)", "GroupNorm(1, 3, affine=False)",
    "InstanceNorm2d(3)", "InstanceNorm1d(3, affine=True, track_running_stats=True)",
    "Dropout()", "Dropout(0.2, inplace=True)", "Dropout2d(0.3)", "Dropout1d()",
    "Embedding(10, 3)", "Embedding(10, 3, padding_idx=0, max_norm=1.0, norm_type=1.0, "
                        "scale_grad_by_freq=True, sparse=True)",
    "Flatten()", "Flatten(0, 2)", "Unflatten(1, (2, 3))", "Upsample(scale_factor=2)",
    "Upsample(size=(4, 5), mode='bilinear', align_corners=True)",
    "UpsamplingNearest2d(scale_factor=3)", "UpsamplingBilinear2d(size=4)",
    "PixelShuffle(2)", "PixelUnshuffle(3)", "ZeroPad2d(2)", "ZeroPad2d((1, 2, 3, 4))",
    "ConstantPad1d(2, 3.5)", "ConstantPad2d((1, 0, 2, 1), -1.0)", "ReflectionPad2d(1)",
    "ReflectionPad1d((1, 2))", "ReplicationPad2d((1, 1, 2, 0))", "ReplicationPad1d(3)",
    "CosineSimilarity()", "PairwiseDistance(p=1.0, keepdim=True)",
    "ReLU()", "ReLU(inplace=True)", "ReLU6()", "ReLU6(inplace=True)", "LeakyReLU()",
    "LeakyReLU(0.2, inplace=True)", "PReLU()", "PReLU(4, init=0.1)", "ELU()",
    "ELU(alpha=0.5, inplace=True)", "SELU()", "SELU(inplace=True)", "CELU(2.0)", "GELU()",
    "GELU(approximate='tanh')", "SiLU()", "SiLU(inplace=True)", "Mish()", "Sigmoid()",
    "Tanh()", "Softplus()", "Softplus(beta=2, threshold=10)", "Softsign()", "Hardswish()",
    "Hardsigmoid()", "LogSigmoid()", "Softmax(dim=1)", "LogSoftmax(-1)", "Softmin()",
    "Threshold(0.1, 20.0)", "Hardtanh()", "Hardtanh(-2.0, 2.0, inplace=True)", "GLU()",
    "Hardshrink()", "Softshrink(0.3)", "Tanhshrink()", "RMSNorm(4)",
    "RMSNorm((2, 3), eps=1e-3, elementwise_affine=False)",
    "MSELoss()", "L1Loss(reduction='sum')", "CrossEntropyLoss(label_smoothing=0.1)",
    "NLLLoss()", "BCELoss()", "BCEWithLogitsLoss()", "KLDivLoss()", "HuberLoss(delta=2.0)",
    "SmoothL1Loss(beta=0.5)", "MarginRankingLoss()", "HingeEmbeddingLoss()",
    "CosineEmbeddingLoss()", "TripletMarginLoss()", "SoftMarginLoss()",
    "MultiLabelSoftMarginLoss()", "PoissonNLLLoss()", "GaussianNLLLoss()",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_repr_and_state_dict_keys_match_torch(expr):
    t = eval("torch.nn." + expr)
    e = eval("ember.nn." + expr)
    assert repr(e) == repr(t)
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    for name in ("kernel_size", "stride", "padding", "dilation", "output_padding", "groups",
                 "padding_mode", "eps", "momentum", "affine", "track_running_stats", "p",
                 "inplace", "reduction", "normalized_shape", "num_groups", "padding_idx"):
        if hasattr(t, name):
            assert getattr(e, name) == getattr(t, name), name


@pytest.mark.parametrize("expr,exc", [
    ("Conv2d(3, 4, 3, groups=2)", ValueError), ("Conv2d(4, 3, 3, groups=2)", ValueError),
    ("Conv2d(4, 4, 3, groups=0)", ValueError), ("Conv2d(2, 2, 3, stride=2, padding='same')",
                                                ValueError),
    ("Conv2d(2, 2, 3, padding='full')", ValueError),
    ("Conv2d(2, 2, 3, padding_mode='wrap')", ValueError),
    ("ConvTranspose2d(2, 2, 3, padding_mode='reflect')", ValueError),
    ("GroupNorm(3, 4)", ValueError), ("Dropout(1.5)", ValueError), ("Dropout(-0.1)", ValueError),
    ("Embedding(5, 2, padding_idx=5)", AssertionError), ("Hardtanh(1.0, -1.0)", AssertionError),
    ("Unflatten(1, (2, 3.0))", TypeError), ("TripletMarginLoss(margin=0)", ValueError),
])
def test_constructor_validation_matches_torch(expr, exc):
    with pytest.raises(exc):
        eval("torch.nn." + expr)
    with pytest.raises(exc):
        eval("ember.nn." + expr)


# ---------------------------------------------------------------------------------------
# Linear family
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(shape, bias):
    both_dtypes_and_modes(lambda nn: nn.Linear(4, 3, bias=bias), x(*shape))


def test_linear_grad_fn_names():
    lin = ember.nn.Linear(4, 3)
    assert lin(ember.randn(2, 4)).grad_fn.name() == "AddmmBackward0"
    assert lin(ember.randn(5, 2, 4)).grad_fn.name() == "ViewBackward0"
    lin.bias = None
    assert lin(ember.randn(2, 4)).grad_fn.name() == "MmBackward0"


def test_bilinear_and_identity():
    both_dtypes_and_modes(lambda nn: nn.Bilinear(3, 2, 4), x(5, 3), x(5, 2))
    both_dtypes_and_modes(lambda nn: nn.Bilinear(3, 2, 4, bias=False), x(2, 5, 3), x(2, 5, 2))
    both_dtypes_and_modes(lambda nn: nn.Identity(7, foo=1), x(2, 3))


# ---------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------
CONV2D = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=1, out_channels=16, kernel_size=3, stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
         dilation=(1, 2), groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=3, groups=4, bias=False),
    dict(in_channels=2, out_channels=3, kernel_size=4, padding="same", dilation=2),
    dict(in_channels=2, out_channels=3, kernel_size=2, padding="valid"),
    dict(in_channels=2, out_channels=2, kernel_size=3, padding=2, padding_mode="reflect"),
    dict(in_channels=2, out_channels=2, kernel_size=3, padding=1, padding_mode="replicate"),
    dict(in_channels=2, out_channels=2, kernel_size=3, padding=1, padding_mode="circular"),
    dict(in_channels=3, out_channels=2, kernel_size=1),
]


@pytest.mark.parametrize("kw", CONV2D)
def test_conv2d(kw):
    both_dtypes_and_modes(lambda nn: nn.Conv2d(**kw), x(2, kw["in_channels"], 7, 8))


def test_conv2d_unbatched_and_conv1d_conv3d():
    both_dtypes_and_modes(lambda nn: nn.Conv2d(2, 3, 3, padding=1), x(2, 5, 5))
    both_dtypes_and_modes(lambda nn: nn.Conv1d(3, 4, 3, stride=2, padding=1), x(2, 3, 9))
    both_dtypes_and_modes(lambda nn: nn.Conv1d(4, 2, 2, groups=2, dilation=3), x(4, 10))
    both_dtypes_and_modes(lambda nn: nn.Conv3d(2, 2, (2, 3, 2), padding=(1, 0, 1)),
                          x(2, 2, 4, 5, 3))


@pytest.mark.parametrize("kw,spatial", [
    (dict(in_channels=3, out_channels=2, kernel_size=3), (5, 4)),
    (dict(in_channels=4, out_channels=2, kernel_size=3, stride=2, padding=1,
          output_padding=1), (4, 5)),
    (dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(2, 3), groups=2,
          dilation=(2, 1), bias=False), (3, 3)),
    (dict(in_channels=2, out_channels=2, kernel_size=3, stride=3, dilation=2,
          output_padding=(1, 0)), (3, 3)),
])
def test_conv_transpose2d(kw, spatial):
    both_dtypes_and_modes(lambda nn: nn.ConvTranspose2d(**kw),
                          x(2, kw["in_channels"], *spatial))


def test_conv_transpose_1d_3d_and_output_size():
    both_dtypes_and_modes(lambda nn: nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1),
                          x(2, 3, 6))
    both_dtypes_and_modes(lambda nn: nn.ConvTranspose3d(2, 1, 2, stride=2), x(1, 2, 2, 3, 2))
    module_parity(lambda nn: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), x(1, 2, 4, 4),
                  call=lambda m, inp: m(inp, output_size=[8, 8]))


def test_conv_default_init_distribution():
    ember.manual_seed(0)
    conv = ember.nn.Conv2d(16, 32, 3)
    fan_in = 16 * 9
    w = conv.weight.detach().numpy()
    bound = 1 / np.sqrt(fan_in)             # kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in))
    assert w.min() >= -bound and w.max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.03 * bound
    assert abs(w.mean()) < 0.02 * bound
    b = conv.bias.detach().numpy()
    assert b.min() >= -bound and b.max() <= bound


# ---------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [
    "MaxPool2d(2)", "MaxPool2d(3, stride=2, padding=1)", "MaxPool2d(3, stride=2, ceil_mode=True)",
    "MaxPool2d((2, 3), stride=(1, 2), dilation=(2, 1))", "MaxPool2d(2, padding=1, ceil_mode=True)",
    "AvgPool2d(2)", "AvgPool2d(3, stride=2, padding=1)",
    "AvgPool2d(3, stride=2, padding=1, count_include_pad=False)",
    "AvgPool2d(3, stride=2, ceil_mode=True)", "AvgPool2d(3, stride=2, padding=1, ceil_mode=True, "
                                              "count_include_pad=False)",
    "AvgPool2d(2, divisor_override=3)", "AdaptiveAvgPool2d((3, 4))", "AdaptiveAvgPool2d(1)",
    "AdaptiveAvgPool2d((None, 2))", "AdaptiveMaxPool2d((3, 2))", "AdaptiveMaxPool2d(4)",
])
def test_pool2d(expr):
    both_dtypes_and_modes(lambda nn: eval("nn." + expr), x(2, 3, 7, 9))
    both_dtypes_and_modes(lambda nn: eval("nn." + expr), x(3, 8, 7))      # unbatched


@pytest.mark.parametrize("expr", [
    "MaxPool1d(3)", "MaxPool1d(3, stride=1, padding=1, dilation=2)",
    "MaxPool1d(2, ceil_mode=True)", "AvgPool1d(3, stride=2, padding=1)",
    "AvgPool1d(2, ceil_mode=True, count_include_pad=False)", "AdaptiveAvgPool1d(4)",
    "AdaptiveMaxPool1d(3)",
])
def test_pool1d(expr):
    both_dtypes_and_modes(lambda nn: eval("nn." + expr), x(2, 3, 11))


def test_pool_return_indices_and_grad_fn():
    for expr in ("MaxPool2d(3, stride=2, padding=1, return_indices=True)",
                 "AdaptiveMaxPool2d((2, 3), return_indices=True)",
                 "MaxPool1d(2, return_indices=True)"):
        both_dtypes_and_modes(lambda nn: eval("nn." + expr),
                              x(2, 3, 6, 7) if "1d" not in expr else x(2, 3, 7))
    e = ember.nn.functional
    v = ember.randn(1, 1, 4, 4, requires_grad=True)
    assert e.max_pool2d(v, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert e.avg_pool2d(v, 2).grad_fn.name() == "AvgPool2DBackward0"
    assert e.adaptive_avg_pool2d(v, 3).grad_fn.name() == "AdaptiveAvgPool2DBackward0"
    assert e.adaptive_max_pool2d(v, 3).grad_fn.name() == "AdaptiveMaxPool2DBackward0"


def test_maxpool_ties_and_nan_like_torch():
    a = np.zeros((1, 1, 4, 4))
    a[0, 0, 1, 1] = np.nan
    for arr in (np.ones((1, 1, 4, 4)), a):
        module_parity(lambda nn: nn.MaxPool2d(2, return_indices=True), arr)


# ---------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr,shape", [
    ("BatchNorm1d(3)", (4, 3)), ("BatchNorm1d(3)", (4, 3, 5)), ("BatchNorm2d(3)", (4, 3, 5, 2)),
    ("BatchNorm2d(3, momentum=None)", (2, 3, 2, 2)), ("BatchNorm2d(3, affine=False)", (2, 3, 3, 3)),
    ("BatchNorm2d(3, track_running_stats=False)", (2, 3, 3, 3)),
    ("BatchNorm3d(2, bias=False)", (2, 2, 2, 3, 2)), ("LayerNorm(5)", (3, 5)),
    ("LayerNorm((3, 4))", (2, 3, 4)), ("LayerNorm(4, elementwise_affine=False)", (2, 3, 4)),
    ("LayerNorm(4, bias=False)", (3, 4)), ("GroupNorm(2, 4)", (3, 4, 5)),
    ("GroupNorm(3, 6, affine=False)", (2, 6, 2, 2)), ("GroupNorm(1, 2)", (2, 2)),
    ("InstanceNorm2d(3)", (2, 3, 4, 4)), ("InstanceNorm1d(3, affine=True)", (2, 3, 6)),
    ("InstanceNorm2d(3, track_running_stats=True)", (2, 3, 3, 4)),
    ("InstanceNorm1d(2)", (2, 5)), ("RMSNorm(5)", (3, 5)), ("RMSNorm((3, 4), eps=1e-4)", (2, 3, 4)),
    ("RMSNorm(4, elementwise_affine=False)", (2, 3, 4)),
])
def test_normalization(expr, shape):
    def make(nn):
        m = eval("nn." + expr)
        with (torch if nn is torch.nn else ember).no_grad():
            for p in m.parameters():           # non-trivial affine parameters
                p.uniform_(0.5, 1.5)
        return m
    both_dtypes_and_modes(make, x(*shape), modes=(True, False))


def test_batchnorm_running_stats_over_steps():
    rng = np.random.default_rng(3)
    for momentum in (0.1, None):
        tm = torch.nn.BatchNorm2d(3, momentum=momentum).double()
        em = ember.nn.BatchNorm2d(3, momentum=momentum).double()
        for _ in range(4):
            a = rng.standard_normal((4, 3, 2, 2))
            tm(torch.from_numpy(a))
            em(ember.from_numpy(a))
        for k, v in tm.state_dict().items():
            np.testing.assert_allclose(em.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
        assert em.num_batches_tracked.item() == 4


def test_batchnorm_errors():
    bn_t, bn_e = torch.nn.BatchNorm2d(3), ember.nn.BatchNorm2d(3)
    for shape in ((2, 3, 4), (1, 3, 1, 1)):
        with pytest.raises(ValueError) as te:
            bn_t(torch.zeros(shape))
        with pytest.raises(ValueError) as ee:
            bn_e(ember.zeros(shape))
        assert str(ee.value) == str(te.value).replace("torch.", "ember.")
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        bn_e(ember.zeros(2, 4, 2, 2))


# ---------------------------------------------------------------------------------------
# Embedding, reshaping, padding, resampling, distances
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=1), dict(padding_idx=-1),
                                dict(scale_grad_by_freq=True), dict(sparse=True)])
def test_embedding(kw):
    idx = np.array([[0, 1, 3], [3, 3, 9]], dtype=np.int64)
    both_dtypes_and_modes(lambda nn: nn.Embedding(10, 4, **kw), idx, grad_inputs=False)


def test_embedding_max_norm_renormalizes_weight():
    idx = np.array([1, 2, 2, 5], dtype=np.int64)
    em, tm = module_parity(lambda nn: nn.Embedding(6, 3, max_norm=0.5), idx, grad_inputs=False)
    np.testing.assert_allclose(em.weight.detach().numpy(), tm.weight.detach().numpy(),
                               rtol=1e-6)
    pre = torch.nn.Embedding.from_pretrained(torch.ones(3, 2))
    pe = ember.nn.Embedding.from_pretrained(ember.ones(3, 2))
    assert repr(pe) == repr(pre) and pe.weight.requires_grad is False


def test_embedding_default_init_and_padding_row():
    ember.manual_seed(1)
    m = ember.nn.Embedding(2000, 16, padding_idx=3)
    w = m.weight.detach().numpy()
    assert (w[3] == 0).all()
    assert abs(w.std() - 1) < 0.02 and abs(w.mean()) < 0.02


@pytest.mark.parametrize("expr,shape", [
    ("Flatten()", (2, 3, 4)), ("Flatten(0, -2)", (2, 3, 4)), ("Unflatten(1, (2, 3))", (4, 6)),
    ("Unflatten(-1, [2, -1])", (3, 4)), ("PixelShuffle(2)", (2, 8, 3, 3)),
    ("PixelUnshuffle(2)", (2, 2, 4, 6)), ("PixelShuffle(3)", (9, 2, 2)),
    ("ZeroPad2d((1, 2, 0, 3))", (2, 3, 4, 4)), ("ZeroPad1d(2)", (2, 3, 4)),
    ("ConstantPad2d((1, -1, 2, 0), 2.5)", (2, 3, 4, 4)), ("ConstantPad1d(2, -1.0)", (3, 4)),
    ("ConstantPad3d(1, 0.5)", (1, 2, 2, 3, 2)),
    ("ReflectionPad2d((1, 2, 2, 1))", (2, 3, 4, 5)), ("ReflectionPad1d(3)", (2, 3, 5)),
    ("ReplicationPad2d((2, 0, 1, 3))", (2, 3, 4, 4)), ("ReplicationPad1d(2)", (3, 4)),
    ("CircularPad2d((1, 1, 2, 0))", (1, 2, 3, 4)),
    ("Upsample(scale_factor=2)", (2, 3, 4, 5)), ("Upsample(size=(5, 7))", (1, 2, 3, 4)),
    ("Upsample(scale_factor=2, mode='bilinear')", (2, 3, 4, 5)),
    ("Upsample(size=(7, 3), mode='bilinear', align_corners=True)", (1, 2, 4, 5)),
    ("Upsample(scale_factor=1.7, mode='bilinear')", (1, 2, 4, 5)),
    ("Upsample(scale_factor=3, mode='linear')", (2, 3, 4)),
    ("Upsample(scale_factor=(2, 1, 3), mode='trilinear')", (1, 1, 2, 3, 2)),
    ("Upsample(scale_factor=0.5, mode='nearest-exact')", (1, 2, 6, 5)),
    ("UpsamplingNearest2d(scale_factor=3)", (1, 2, 2, 3)),
    ("UpsamplingBilinear2d(size=5)", (1, 2, 3, 3)),
])
def test_reshape_pad_resample_layers(expr, shape):
    both_dtypes_and_modes(lambda nn: eval("nn." + expr), x(*shape))


def test_distances():
    both_dtypes_and_modes(lambda nn: nn.CosineSimilarity(), x(4, 5), x(4, 5))
    both_dtypes_and_modes(lambda nn: nn.CosineSimilarity(dim=0, eps=1e-3), x(3, 4), x(1, 4))
    both_dtypes_and_modes(lambda nn: nn.PairwiseDistance(), x(4, 5), x(4, 5))
    both_dtypes_and_modes(lambda nn: nn.PairwiseDistance(p=1.0, keepdim=True), x(4, 5), x(5))
    both_dtypes_and_modes(lambda nn: nn.PairwiseDistance(p=3.0), x(4, 5), x(4, 5))


# ---------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------
ACTS = ["ReLU()", "ReLU6()", "LeakyReLU()", "LeakyReLU(0.3)", "PReLU()", "PReLU(4, init=0.1)",
        "ELU()", "ELU(alpha=0.5)", "SELU()", "CELU(1.5)", "GELU()", "GELU(approximate='tanh')",
        "SiLU()", "Mish()", "Sigmoid()", "Tanh()", "Softplus()", "Softplus(beta=2, threshold=3)",
        "Softsign()", "Hardswish()", "Hardsigmoid()", "LogSigmoid()", "Softmax(dim=1)",
        "LogSoftmax(dim=-1)", "Softmin(dim=0)", "Threshold(0.1, 20.0)", "Hardtanh()",
        "Hardtanh(-0.5, 1.5)", "GLU()", "GLU(dim=1)", "Hardshrink()", "Hardshrink(1.0)",
        "Softshrink()", "Softshrink(1.5)", "Tanhshrink()"]


@pytest.mark.parametrize("expr", ACTS)
def test_activations(expr):
    a = x(4, 4, 6, low=-5, high=5)
    a[0, 0, :3] = [0.0, -3.0, 3.0]           # kinks / boundaries
    both_dtypes_and_modes(lambda nn: eval("nn." + expr), a)


@pytest.mark.parametrize("expr", ["ReLU(inplace=True)", "ReLU6(inplace=True)",
                                  "LeakyReLU(0.2, inplace=True)", "ELU(inplace=True)",
                                  "SELU(inplace=True)", "SiLU(inplace=True)",
                                  "Hardtanh(inplace=True)", "Threshold(0.5, 1.0, inplace=True)",
                                  "Hardswish(inplace=True)", "Mish(inplace=True)"])
def test_inplace_activations_after_a_layer(expr):
    def make(nn):
        return nn.Sequential(nn.Linear(5, 6), eval("nn." + expr))
    both_dtypes_and_modes(make, x(3, 5))
    m = eval("ember.nn." + expr)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        m(ember.randn(3, requires_grad=True))


# ---------------------------------------------------------------------------------------
# Dropout (random: checked statistically and for train/eval behaviour)
# ---------------------------------------------------------------------------------------
def test_dropout_train_eval():
    ember.manual_seed(0)
    d = ember.nn.Dropout(0.25)
    v = ember.ones(200, 500, requires_grad=True)
    out = d(v)
    o = out.detach().numpy()
    assert set(np.unique(o)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((o == 0).mean() - 0.25) < 0.01
    assert out.grad_fn.name() == "MulBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), o)
    d.eval()
    assert d(v) is v
    assert o.dtype == np.float32
    d2 = ember.nn.Dropout2d(0.5)
    o2 = d2(ember.ones(8, 64, 3, 3)).numpy()
    per_channel = o2.reshape(8, 64, 9)
    assert (per_channel.min(axis=2) == per_channel.max(axis=2)).all()
    assert ember.nn.Dropout(1.0)(ember.ones(3)).tolist() == [0.0, 0.0, 0.0]
    assert ember.nn.Dropout(0.0)(v) is v


@pytest.mark.filterwarnings("ignore:dropout2d")
def test_dropout_masks_are_torchs_after_the_same_seed():
    for p, shape, fn in [(0.5, (100,), "dropout"), (0.2, (8, 30), "dropout"),
                         (0.3, (4, 6, 3, 3), "dropout2d"), (0.5, (6, 3, 3), "dropout2d"),
                         (0.4, (3, 5, 7), "dropout1d"), (0.4, (5, 7), "dropout1d"),
                         (0.25, (2, 3, 2, 2, 2), "dropout3d"), (0.25, (3, 2, 2, 2), "dropout3d"),
                         (0.3, (5, 4), "dropout2d")]:
        for dt in (torch.float32, torch.float64):
            torch.manual_seed(5)
            ember.manual_seed(5)
            t = getattr(torch.nn.functional, fn)(torch.ones(shape, dtype=dt), p)
            e = getattr(ember.nn.functional, fn)(ember.ones(*shape, dtype=getattr(ember, str(
                dt).split(".")[1])), p)
            np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_dropout_inplace():
    t = ember.ones(50)
    r = ember.nn.functional.dropout(t, 0.5, inplace=True)
    assert r is t and set(np.unique(t.numpy())) <= {0.0, 2.0}


# ---------------------------------------------------------------------------------------
# A small CNN end to end, float32, train then eval
# ---------------------------------------------------------------------------------------
def test_small_cnn_end_to_end():
    def make(nn):
        return nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
            nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.GroupNorm(2, 8),
            nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.0),
            nn.Linear(8, 5), nn.LayerNorm(5), nn.LogSoftmax(dim=1))
    both_dtypes_and_modes(make, x(4, 1, 12, 12), modes=(True, False))
