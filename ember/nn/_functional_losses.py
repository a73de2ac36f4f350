"""The loss functions of ``ember.nn.functional`` (re-exported there; split out to keep the
files readable). Fused primitives live in ``ember._ops.loss``; the rest is composed from
Tensor ops exactly as torch composes it."""
from __future__ import annotations

import math
import warnings

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from .._ops import elementwise as _ew
from .._ops import loss as _loss
from .._ops.creation import zeros_like, ones_like
from .functional import log_softmax, logsigmoid, pairwise_distance

__all__ = ["l1_loss", "mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "smooth_l1_loss", "huber_loss", "soft_margin_loss", "multilabel_soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"]


def _size_repr(t) -> str:
    return repr(t.size())


def _reduction(size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        sa = True if size_average is None else size_average
        r = True if reduce is None else reduce
        ret = "mean" if (sa and r) else ("sum" if r else "none")
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=3)
        return ret
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target, stacklevel=4):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({_size_repr(target)}) that is different to the input "
                      f"size ({_size_repr(input)}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=stacklevel)


def _broadcast_pair(input, target):
    from .._ops.shape import broadcast_shapes
    try:
        broadcast_shapes(input.shape, target.shape)
    except (RuntimeError, ValueError):
        from .._ops.shape import broadcast_tensors
        broadcast_tensors(input, target)   # raises torch's size-mismatch message


def _weighted(loss, weight, input, reduction, normalize=True):
    """Per-element weights; 'mean' divides by the weight sum (mse/l1) or by the element count
    (huber), as torch does."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and normalize:
        return loss.sum() / weight.sum()
    return _apply_reduction(loss, reduction)


def _no_target_grad(name, target):
    from ..autograd.grad_mode import is_grad_enabled
    if target.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{name}' is not differentiable with respect to "
                           "argument 'target'. This input cannot have requires_grad True.")


def _pointwise_loss(cls, input, target, reduction, weight=None, normalize=True, **p):
    _warn_size(input, target, 4)
    _broadcast_pair(input, target)
    if input.dtype is not target.dtype and input.dtype.is_floating_point:
        target = target.to(_dt.promote_types(input.dtype, target.dtype))
        if target.dtype is not input.dtype:
            input = input.to(target.dtype)
    if weight is not None:
        return _weighted(cls.apply(input, target, reduction="none", **p), weight, input,
                         reduction, normalize)
    return cls.apply(input, target, reduction=reduction, **p)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss(_loss.MseLoss, input, target, reduction, weight)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    _warn_size(input, target, 3)
    _broadcast_pair(input, target)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction)
    return _apply_reduction(loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _pointwise_loss(_loss.SmoothL1Loss, input, target, reduction, beta=beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise_loss(_loss.HuberLoss, input, target, reduction, weight, normalize=False,
                           delta=delta)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    _no_target_grad("soft_margin_loss", target)
    return _pointwise_loss(_loss.SoftMarginLoss, input, target, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({_size_repr(target)}) that is different to the "
                         f"input size ({_size_repr(input)}) is deprecated. Please ensure they "
                         "have the same size.")
    d = input._data
    if d.size and ((d < 0) | (d > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    w = None
    if weight is not None:
        w = xp.broadcast_to(weight._data, input.shape).astype(d.dtype, copy=False)
    return _loss.BinaryCrossEntropy.apply(input, target, reduction=reduction, weight=w)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({_size_repr(target)}) must be the same as input size "
                         f"({_size_repr(input)})")
    dt = input._data.dtype
    w = None if weight is None else xp.broadcast_to(weight._data, input.shape).astype(dt)
    pw = None if pos_weight is None else \
        xp.broadcast_to(pos_weight._data, input.shape).astype(dt)
    return _loss.BinaryCrossEntropyWithLogits.apply(input, target, reduction=reduction,
                                                    weight=w, pos_weight=pw)


def _class_checks(input, target, weight, name):
    xs, ts = input._data.shape, target._data.shape
    if len(xs) == 2 and len(ts) == 1 and ts[0] == xs[0] and weight is None \
            and target.dtype is _dt.int64:
        return xs[1]       # the usual (N, C) logits with (N,) targets: all checks pass
    if input.dim() < 1:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    C = input.shape[1] if input.dim() > 1 else input.shape[0]
    if input.dim() == 1:
        if target.dim() != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    elif input.dim() == 2:
        if target.dim() != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.shape[0] != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            if target.dim() >= 1 and target.shape[0] != input.shape[0]:
                raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                                 f"batch_size ({target.shape[0]}).")
            raise RuntimeError(f"Expected target size {list(expected)}, got "
                               f"{list(target.shape)}")
    if target.dtype is not _dt.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{target.dtype.name.capitalize()}")
    if weight is not None and (weight.dim() != 1 or weight.numel() != C):
        raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    return C


def _check_targets(target, C, ignore_index) -> bool:
    """Raise torch's IndexError for a target outside ``[0, C)`` that is not ``ignore_index``.
    Returns True when every target is a class index (none equals ``ignore_index``)."""
    t = target._data
    if t.dtype.kind == "i" and C > 0:
        # one pass for the usual all-in-range case: negatives wrap to huge unsigned values
        if not xp.count_nonzero(t.view(t.dtype.str.replace("i", "u")) >= C):
            return not 0 <= ignore_index < C
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    return False


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    C = _class_checks(input, target, weight, "nll_loss")
    all_valid = _check_targets(target, C, ignore_index)
    w = None if weight is None else weight._data.astype(input._data.dtype, copy=False)
    return _loss.NllLoss.apply(input, target=target._data, weight=w, reduction=reduction,
                               ignore_index=ignore_index, all_valid=all_valid)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax + nll_loss fused into one primitive for class-index targets (grad_fn
    NllLossBackward0, whose input is the logits directly); class-probability targets and
    label smoothing are composed as torch composes them."""
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.dtype.is_floating_point:
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    C = _class_checks(input, target, weight, "cross_entropy")
    all_valid = _check_targets(target, C, ignore_index)
    if label_smoothing > 0:
        return _cross_entropy_smoothed(input, target, weight, ignore_index, reduction,
                                       label_smoothing, C)
    w = None if weight is None else weight._data.astype(input._data.dtype, copy=False)
    return _loss.CrossEntropyFused.apply(input, target=target._data, weight=w,
                                         reduction=reduction, ignore_index=ignore_index,
                                         all_valid=all_valid)


def _class_dim(input):
    return 1 if input.dim() > 1 else 0


def _weight_view(weight, input):
    shape = [1] * input.dim()
    shape[_class_dim(input)] = weight.numel()
    return weight.view(shape)


def _cross_entropy_probs(input, target, weight, reduction, ls):
    if target.shape != input.shape:
        raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
    cd = _class_dim(input)
    C = input.shape[cd]
    logp = log_softmax(input, cd)
    if ls > 0:
        target = target * (1 - ls) + ls / C
    prod = logp * target
    if weight is not None:
        prod = prod * _weight_view(weight, input)
    if reduction == "none":
        return -prod.sum(cd)
    if reduction == "sum":
        return -prod.sum()
    n = input.numel() // C if C else 0
    return -prod.sum() / n if n else -prod.sum() * float("nan")


def _cross_entropy_smoothed(input, target, weight, ignore_index, reduction, ls, C):
    cd = _class_dim(input)
    logp = log_softmax(input, cd)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    ignore = target == ignore_index
    if weight is not None:
        smooth = -(logp * _weight_view(weight, input)).sum(cd)
    else:
        smooth = -logp.sum(cd)
    smooth = smooth.masked_fill(ignore, 0.0)
    if reduction == "mean":
        if weight is not None:
            tw = Tensor._wrap(weight._data[target._data[~ignore._data]])
            ret = smooth.sum() / tw.sum()
        else:
            ret = smooth.sum() / (~ignore).sum()
    else:
        ret = _apply_reduction(smooth, reduction)
    return (1 - ls) * nll + ret * (ls / C)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, "mean")
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    elif reduction not in ("none", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = _ew.exp(target) * (target - input)
    else:
        with xp.errstate(divide="ignore", invalid="ignore"):
            # xlogy(t, t): 0 where t == 0 (whose target-gradient is NaN there, as torch's)
            loss = _ew.where(target == 0, 0.0, target * _ew.log(target)) - target * input
    if reduction == "batchmean":
        out = loss.sum()
        return out / input.shape[0] if input.dim() != 0 else out
    return _apply_reduction(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_size_repr(input1)}, input2: "
                           f"{_size_repr(input2)}, target: {_size_repr(target)} ")
    loss = (-target * (input1 - input2) + margin).clamp_min(0)
    return _apply_reduction(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    zeros = zeros_like(input)
    margin_clamp = (margin - input).clamp_min(0)
    out_margin = _ew.where(target != 1, margin_clamp, zeros)
    out_self = _ew.where(target != -1, input, zeros)
    return _apply_reduction(out_margin + out_self, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.shape != input2.shape:
        raise RuntimeError(f"cosine_embedding_loss: Input1 and Input2 must have the same shape, "
                           f"but got Input1: {list(input1.shape)}, Input2: "
                           f"{list(input2.shape)}")
    if input1.dim() not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss: Expected 1D or 2D input, but got "
                           f"{input1.dim()}D")
    td = input1.dim() - 1
    eps = 1e-12
    prod = (input1 * input2).sum(td)
    m1 = (input1 * input1).sum(td) + eps
    m2 = (input2 * input2).sum(td) + eps
    cos = prod / (m1 * m2).sqrt()
    zeros = zeros_like(cos)
    pos = 1 - cos
    neg = (cos - margin).clamp_min(0)
    out = _ew.where(target == 1, pos, zeros) + _ew.where(target == -1, neg, zeros)
    return _apply_reduction(out, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    nd = anchor.dim()
    if positive.dim() != nd or negative.dim() != nd:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {nd}D, positive "
                           f"{positive.dim()}D, and negative {negative.dim()}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ew.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = (margin + d_pos - d_neg).clamp_min(0)
    return _apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None, reduction: str = "mean"
                                ) -> Tensor:
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    cd = input.dim() - 1
    loss = loss.sum(dim=cd) / input.shape[cd]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = _ew.exp(input) - target * input
    else:
        loss = input - target * _ew.log(input + eps)
    if full:
        safe = _ew.where(target > 1, target, ones_like(target))
        stirling = safe * _ew.log(safe) - safe + 0.5 * _ew.log(2 * math.pi * safe)
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _apply_reduction(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    if isinstance(var, (float, int)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and sum(
                y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (_ew.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)
