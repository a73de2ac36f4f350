"""``ember.nn.functional``: the functional forms of layers, activations and losses.

Signatures, defaults, dtype rules and error messages follow torch.nn.functional. Heavy lifting
is in the fused primitives of ``ember._ops`` (conv, pooling, normalization, nn_ops, loss,
resize); this module validates arguments and composes the rest from Tensor ops.

Differences from torch: ``embedding(..., sparse=True)`` produces a dense gradient (ember has
no sparse tensors); ``interpolate`` has no 'bicubic' mode and no antialiasing.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .._ops import elementwise as _ew
from .._ops import nn_ops as _nn
from .._ops import conv as _conv
from .._ops import pooling as _pool
from .._ops import resize as _resize
from .._ops import normalization as _norm

__all__ = [
    "linear", "bilinear", "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_",
    "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "softplus", "softsign",
    "hardtanh", "hardtanh_", "hardswish", "hardsigmoid", "logsigmoid", "sigmoid", "tanh",
    "softmax", "log_softmax", "softmin", "threshold", "threshold_", "prelu", "glu",
    "hardshrink", "softshrink", "tanhshrink", "rms_norm",
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "unfold", "fold", "max_pool1d", "max_pool2d", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "batch_norm",
    "layer_norm", "group_norm", "instance_norm", "dropout", "dropout1d", "dropout2d",
    "dropout3d", "embedding", "one_hot", "pad", "interpolate", "upsample", "upsample_nearest",
    "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle", "normalize", "cosine_similarity",
    "pairwise_distance", "scaled_dot_product_attention", "l1_loss", "mse_loss",
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "kl_div", "smooth_l1_loss", "huber_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
    "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss",
]


def _inplace(input: Tensor, result: Tensor, inplace: bool) -> Tensor:
    return input._inplace_from(result) if inplace else result


# ---------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------
_dtype_word = _nn.scalar_name


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one GEMM (grad_fn AddmmBackward0 for 2-D input)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    # checks on the arrays' own attributes: Tensor.shape/.dtype/.dim() cost a call each
    xd, wd = input._data, weight._data
    if xd.ndim == 0 or wd.ndim not in (1, 2):
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are "
                           f"{input.dim()}D and {weight.dim()}D")
    if wd.ndim == 1:
        out = input.matmul(weight)
        return out + bias if bias is not None else out
    if xd.dtype != wd.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_dtype_word(input.dtype)} and {_dtype_word(weight.dtype)}")
    K = xd.shape[-1]
    if K != wd.shape[1]:
        rows = input.numel() // K if K else math.prod(input.shape[:-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{K} and "
                           f"{weight.shape[1]}x{weight.shape[0]})")
    if bias is not None:
        bd = bias._data
        if bd.dtype != xd.dtype:
            raise RuntimeError(f"expected scalar type {_dtype_word(input.dtype)} but found "
                               f"{_dtype_word(bias.dtype)}")
        if bd.size != wd.shape[0] and bd.size != 1:
            raise RuntimeError(f"The size of tensor a ({weight.shape[0]}) must match the size of "
                               f"tensor b ({bias.shape[-1] if bias.dim() else 1}) at "
                               "non-singleton dimension 1")
        return _nn.Linear.apply(input, weight, bias)
    return _nn.Linear.apply(input, weight)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None
             ) -> Tensor:
    """``y_k = x1 @ W_k @ x2 + b_k`` over the trailing feature dims."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.dim() != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input{1 if input1.shape[-1] != weight.shape[1] else 2} "
                           f"size does not match weight size: got "
                           f"{input1.shape[-1] if input1.shape[-1] != weight.shape[1] else input2.shape[-1]}"
                           f" but expected "
                           f"{weight.shape[1] if input1.shape[-1] != weight.shape[1] else weight.shape[2]}")
    from .._ops.linalg import einsum
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out


# ---------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _ew.relu(input), inplace)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace(input, _nn.Hardtanh.apply(input, lo=min_val, hi=max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _inplace(input, _nn.LeakyRelu.apply(input, slope=negative_slope), inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def _elu(input, alpha, scale, input_scale, inplace, celu=False):
    return _inplace(input, _nn.Elu.apply(input, alpha=alpha, scale=scale,
                                         input_scale=input_scale, celu=celu), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _elu(input, alpha, 1.0, 1.0, inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _elu(input, alpha, 1.0, 1.0 / alpha, inplace, celu=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _nn.Gelu.apply(input, approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _nn.Silu.apply(input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _nn.Mish.apply(input), inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _nn.Softplus.apply(input, beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _nn.Hardswish.apply(input), inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _inplace(input, _nn.Hardsigmoid.apply(input), inplace)


def logsigmoid(input: Tensor) -> Tensor:
    return _nn.LogSigmoid.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return _ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _ew.tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    return _inplace(input, _nn.Threshold.apply(input, threshold=threshold, value=value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return globals()["threshold"](input, threshold, value, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.dim() >= 2 else 1
        if channels != n:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
    if n == 1:
        wb_shape = (1,) * input.dim()
    elif input.dim() >= 2:
        wb_shape = (n,) + (1,) * (input.dim() - 2)
    else:
        wb_shape = (n,)
    return _nn.Prelu.apply(input, weight, wb_shape=wb_shape)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    return _nn.Hardshrink.apply(input, lambd=lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return _nn.Softshrink.apply(input, lambd=lambd)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


def glu(input: Tensor, dim: int = -1) -> Tensor:
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension "
                           f"{dim % input.dim()} is size {input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * _ew.sigmoid(b)


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _implicit(input, dim, name, stacklevel):
    return _softmax_dim(name, input.dim(), stacklevel + 1) if dim is None else dim


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return _nn.softmax(input, _implicit(input, dim, "softmax", _stacklevel), dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    dim = _implicit(input, dim, "softmin", _stacklevel)
    return _nn.softmax(-(input.to(dtype) if dtype is not None else input), dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None
                ) -> Tensor:
    return _nn.log_softmax(input, _implicit(input, dim, "log_softmax", _stacklevel), dtype)


# ---------------------------------------------------------------------------------------
# Convolution and pooling
# ---------------------------------------------------------------------------------------
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return _conv.conv_nd(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return _conv.conv_nd(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    return _conv.conv_nd(3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    return _conv.conv_transpose_nd(1, input, weight, bias, stride, padding, output_padding,
                                   groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    return _conv.conv_transpose_nd(2, input, weight, bias, stride, padding, output_padding,
                                   groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    return _conv.conv_transpose_nd(3, input, weight, bias, stride, padding, output_padding,
                                   groups, dilation)


unfold = _conv.unfold
fold = _conv.fold


def _single(v):
    if isinstance(v, numbers.Integral):
        return int(v)
    v = tuple(v)
    if len(v) != 1:
        raise RuntimeError(f"expected a single int or a 1-element tuple, got {v}")
    return int(v[0])


def _pool1d_check(input, name):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"{name}() Expected 2D or 3D input tensor, but got "
                           f"{list(input.shape)}")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return _pool.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _pool.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode,
                            return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    _pool1d_check(input, "max_pool1d")
    k = _single(kernel_size)
    s = None if stride is None or (not isinstance(stride, numbers.Integral) and
                                   len(stride) == 0) else (1, _single(stride))
    res = _pool.max_pool2d(input.unsqueeze(-2), (1, k), s, (0, _single(padding)),
                           (1, _single(dilation)), ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None) -> Tensor:
    return _pool.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                            divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True) -> Tensor:
    _pool1d_check(input, "avg_pool1d")
    k = _single(kernel_size)
    s = None if stride is None or (not isinstance(stride, numbers.Integral) and
                                   len(stride) == 0) else (1, _single(stride))
    return _pool.avg_pool2d(input.unsqueeze(-2), (1, k), s, (0, _single(padding)), ceil_mode,
                            count_include_pad).squeeze(-2)


adaptive_avg_pool2d = _pool.adaptive_avg_pool2d


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got "
                           f"{list(input.shape)}")
    return _pool.adaptive_avg_pool2d(input.unsqueeze(-2), (1, _single(output_size))).squeeze(-2)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _pool.adaptive_max_pool2d(input, output_size, return_indices)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return _pool.adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got "
                           f"{list(input.shape)}")
    res = _pool.adaptive_max_pool2d(input.unsqueeze(-2), (1, _single(output_size)),
                                    return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


# ---------------------------------------------------------------------------------------
# Normalization, dropout, embedding
# ---------------------------------------------------------------------------------------
batch_norm = _norm.batch_norm
layer_norm = _norm.layer_norm


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape`` dims,
    composed as torch composes it (eps defaults to the float32/float64 machine epsilon)."""
    ns = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
        tuple(normalized_shape)
    shape = tuple(input.shape)
    if len(shape) < len(ns) or shape[len(shape) - len(ns):] != tuple(ns):
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(str(v) for v in ns)}], but got input of size"
                           f"{list(shape)}")
    if eps is None:
        eps = float(xp.finfo(xp.float64 if input.dtype is _dt.float64 else xp.float32).eps)
    dims = tuple(range(input.dim() - len(ns), input.dim()))
    out = input * (input.pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out
group_norm = _norm.group_norm
instance_norm = _norm.instance_norm


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(input, shape, p):
    """torch's noise: ``empty(shape).bernoulli_(1 - p).div_(1 - p)`` (same draws as torch
    after the same seed); p == 1 gives a zero scalar, as torch does."""
    if p == 1:
        return input.new_zeros(())
    return input.new_empty(shape).bernoulli_(1 - p).div_(1 - p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
            ) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (torch's
    draws: after the same seed, torch's mask)."""
    _check_p(p)
    if not training or p == 0:
        return input
    mask = _dropout_mask(input, input.shape, p)
    return input.mul_(mask) if inplace else input * mask


def _feature_dropout(input, p, training, inplace, batched):
    _check_p(p)
    if not training or p == 0:
        return input
    x = input if batched else input.unsqueeze(0)
    shape = tuple(x.shape[:2]) + (1,) * (x.dim() - 2)
    mask = _dropout_mask(input, shape, p)
    if not batched and mask.dim():
        mask = mask.squeeze(0)
    return input.mul_(mask) if inplace else input * mask


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
              ) -> Tensor:
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, input.dim() == 3)


def _warn_feature_dims(input, spatial: int):
    if input.dim() not in (spatial + 1, spatial + 2):
        name = f"dropout{spatial}d"
        warnings.warn(f"{name}: Received a {input.dim()}-D input to {name}, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead. Note "
                      f"that {name} exists to provide channel-wise dropout on inputs with "
                      f"{spatial} spatial dimensions, a channel dimension, and an optional batch "
                      f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
              ) -> Tensor:
    _warn_feature_dims(input, 2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
              ) -> Tensor:
    _warn_feature_dims(input, 3)
    return _feature_dropout(input, p, training, inplace, input.dim() == 5)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight``. ``sparse=True`` is accepted but the gradient is dense
    (ember has no sparse tensors); its values are the same."""
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.shape[0]:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.shape[0] + padding_idx
    else:
        padding_idx = -1
    if not isinstance(input, Tensor) or input.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"{input.type() if isinstance(input, Tensor) else type(input)} "
                           "instead (while checking arguments for embedding)")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    idx = input._data
    V = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm(weight, idx, max_norm, norm_type)
    return _nn.Embedding.apply(weight, idx=idx, padding_idx=padding_idx,
                               scale_grad_by_freq=scale_grad_by_freq)


def _embedding_renorm(weight, idx, max_norm, norm_type):
    rows = xp.unique(idx)
    w = weight._data
    sub = w[rows]
    norms = (xp.abs(sub) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        w[rows[big]] = sub[big] * scale[:, None]
        weight._version.v += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    if not isinstance(tensor, Tensor) or tensor.dtype is not _dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    a = tensor._data
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._wrap(out)


# ---------------------------------------------------------------------------------------
# Shape / resampling
# ---------------------------------------------------------------------------------------
pad = _resize.pad
interpolate = _resize.interpolate


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{input.shape[-3]} is not divisible by {r * r}")
    return _nn.PixelShuffle.apply(input, r=r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    if input.shape[-2] % r or input.shape[-1] % r:
        which, n = ("height", input.shape[-2]) if input.shape[-2] % r else \
            ("width", input.shape[-1])
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by "
                           f"downscale_factor, but input.size({-2 if which == 'height' else -1})"
                           f"={n} is not divisible by {r}")
    return _nn.PixelUnshuffle.apply(input, r=r)


# ---------------------------------------------------------------------------------------
# Distances
# ---------------------------------------------------------------------------------------
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    res = input / denom
    if out is not None:
        out.copy_(res)
        return out
    return res


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Each input is divided by its (clamped) norm first, as torch does, for stability."""
    from .._ops.shape import broadcast_tensors
    try:
        a, b = broadcast_tensors(x1, x2)
    except RuntimeError:
        raise RuntimeError(f"The size of tensor a ({x1.shape[dim] if x1.dim() else 1}) must "
                           f"match the size of tensor b ({x2.shape[dim] if x2.dim() else 1}) at "
                           f"non-singleton dimension {dim % max(x1.dim(), 1)}") from None
    n1 = a.norm(2, dim, keepdim=True).clone()
    n2 = b.norm(2, dim, keepdim=True).clone()
    with no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((a / n1) * (b / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    dim = max(x1.dim(), x2.dim()) - 1
    return (x1 - x2 + eps).norm(p, dim, keepdim=keepdim)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v, composed from Tensor ops (torch's reference math;
    the grad_fn is that of the final matmul, not torch's fused kernel's)."""
    L, S = query.shape[-2], key.shape[-2]
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"Expected query and key to have the same embedding dimension, got "
                           f"{query.shape[-1]} and {key.shape[-1]}")
    scale_factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, -3)
        value = value.repeat_interleave(rep, -3)
    attn = query.matmul(key.transpose(-2, -1)) * scale_factor
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                               "set when is_causal=True")
        causal = Tensor._wrap(~xp.tril(xp.ones((L, S), dtype=bool)))
        attn = attn.masked_fill(causal, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype is _dt.bool_:
            attn = attn.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            attn = attn + attn_mask
    attn = softmax(attn, dim=-1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, training=True)
    return attn.matmul(value)


from ._functional_losses import (  # noqa: E402,F401  (they use the functions above)
    l1_loss, mse_loss, cross_entropy, nll_loss, binary_cross_entropy,
    binary_cross_entropy_with_logits, kl_div, smooth_l1_loss, huber_loss, soft_margin_loss,
    multilabel_soft_margin_loss, margin_ranking_loss, hinge_embedding_loss,
    cosine_embedding_loss, triplet_margin_loss, poisson_nll_loss, gaussian_nll_loss,
    _reduction)


def __getattr__(name):
    from ._unsupported import FUNCTIONS, missing
    missing("ember.nn.functional", FUNCTIONS, name)
