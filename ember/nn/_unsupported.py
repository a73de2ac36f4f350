"""torch.nn names that ember does not implement yet. Looking one up raises
NotImplementedError saying so (instead of a bare AttributeError), and the README's coverage
table lists them."""
from __future__ import annotations

MODULES = (
    "AdaptiveAvgPool3d", "AdaptiveLogSoftmaxWithLoss", "AdaptiveMaxPool3d", "AlphaDropout",
    "AvgPool3d", "CTCLoss", "ChannelShuffle", "CircularPad3d", "CrossMapLRN2d", "DataParallel",
    "EmbeddingBag", "FeatureAlphaDropout", "FractionalMaxPool2d", "FractionalMaxPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
    "LazyConvTranspose3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
    "LazyLinear", "LinearCrossEntropyLoss", "LocalResponseNorm", "MaxPool3d", "MaxUnpool1d",
    "MaxUnpool2d", "MaxUnpool3d", "MultiLabelMarginLoss", "MultiMarginLoss", "NLLLoss2d",
    "RReLU", "ReflectionPad3d", "ReplicationPad3d", "Softmax2d", "SyncBatchNorm",
    "TripletMarginWithDistanceLoss", "Fold", "Unfold", "ZeroPad3d",
    "UninitializedBuffer", "UninitializedParameter",
)
FUNCTIONS = (
    "adaptive_avg_pool3d", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
    "affine_grid", "alpha_dropout", "avg_pool3d", "channel_shuffle", "conv_tbc", "ctc_loss",
    "embedding_bag", "feature_alpha_dropout", "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices", "grid_sample", "grouped_mm", "gumbel_softmax",
    "linear_cross_entropy", "local_response_norm", "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "max_pool3d", "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "multi_head_attention_forward", "multi_margin_loss", "multilabel_margin_loss",
    "native_channel_shuffle", "pdist", "rrelu", "rrelu_", "scaled_grouped_mm", "scaled_mm",
    "triplet_margin_with_distance_loss",
)


class NotImplementedInEmber(NotImplementedError, AttributeError):
    """Raised for torch names ember lacks: a NotImplementedError that is also an
    AttributeError, so ``hasattr(ember.nn, "CTCLoss")`` stays False rather than raising."""


def missing(module: str, names, name: str):
    """A module-level ``__getattr__`` body: NotImplementedError for known torch names."""
    if name in names:
        raise NotImplementedInEmber(
            f"{module}.{name} exists in torch but is not implemented in ember yet (see the "
            "coverage table in ember's README).")
    raise AttributeError(f"module '{module}' has no attribute '{name}'")
