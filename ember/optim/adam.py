r"""Adam (Kingma & Ba, 2014), with the AMSGrad variant and optional decoupled weight decay.

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                                       if maximize
    θ ← θ · (1 - lr · λ)                         if λ ≠ 0 and decoupled_weight_decay
    g ← g + λ · θ                                if λ ≠ 0 otherwise
    m ← lerp(m, g, 1 - β1)                       (= β1 · m + (1 - β1) · g)
    v ← β2 · v + (1 - β2) · g²
    v_max ← max(v_max, v)                        if amsgrad (then used in place of v)
    denom ← sqrt(v) / sqrt(1 - β2^t) + eps
    θ ← θ - (lr / (1 - β1^t)) · m / denom

State per parameter: ``step`` (a 0-dim float tensor, as torch keeps it), ``exp_avg`` (m),
``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``.
"""
from __future__ import annotations


from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_betas,
                        _check_functional_flags, _check_impl_flags, _check_lr, _check_nonneg,
                        _closure_loss, _step_tensor, _to_scalar, _zeros_like)

__all__ = ["Adam", "adam"]


class Adam(Optimizer):
    """Adam; see the module docstring for the update.

    Args: ``lr`` (1e-3), ``betas`` ((0.9, 0.999)), ``eps`` (1e-8), ``weight_decay`` (0),
    ``amsgrad`` (False), keyword-only ``maximize`` (False) and ``decoupled_weight_decay``
    (False, True gives AdamW). ``foreach``/``fused`` are accepted and do not change the
    arithmetic; ``capturable`` needs CUDA graphs (refused at step, as torch does on CPU).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon value", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay value", weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(amsgrad=False, maximize=False, foreach=None, capturable=False,
                            differentiable=False, decoupled_weight_decay=False, fused=None)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        state = {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)
        return state

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            keys = ("exp_avg", "exp_avg_sq", "step") + (
                ("max_exp_avg_sq",) if group["amsgrad"] else ())
            params, grads, s = self._gather(
                group, self._new_state, keys,
                "Adam does not support sparse gradients, please consider SparseAdam instead")
            if not params:
                continue
            beta1, beta2 = group["betas"]
            adam(params, grads, s["exp_avg"], s["exp_avg_sq"], s.get("max_exp_avg_sq", []),
                 s["step"], capturable=group["capturable"],
                 differentiable=group["differentiable"],
                 decoupled_weight_decay=group["decoupled_weight_decay"],
                 amsgrad=group["amsgrad"], beta1=beta1, beta2=beta2, lr=group["lr"],
                 weight_decay=group["weight_decay"], eps=group["eps"],
                 maximize=group["maximize"])
        return loss


def adam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
         exp_avg_sqs: list[Tensor], max_exp_avg_sqs: list[Tensor], state_steps: list[Tensor],
         foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
         fused: bool | None = None, grad_scale: Tensor | None = None,
         found_inf: Tensor | None = None, has_complex: bool = False,
         decoupled_weight_decay: bool = False, *, amsgrad: bool, beta1: float, beta2: float,
         lr: float, weight_decay: float, eps: float, maximize: bool) -> None:
    """Functional Adam: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable, grad_scale, found_inf)
    lr = float(_to_scalar(lr))
    beta1 = float(_to_scalar(beta1))
    beta2 = float(_to_scalar(beta2))
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        step = K.advance(state_steps[i])
        if weight_decay != 0:
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
            else:
                g = K.add(g, p, weight_decay)
        exp_avg = K.real_view(exp_avgs[i]._data)
        exp_avg_sq = K.real_view(exp_avg_sqs[i]._data)
        K.lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        K.addcmul_(exp_avg_sq, g, g, 1 - beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2 ** 0.5
        if amsgrad:
            max_sq = K.real_view(max_exp_avg_sqs[i]._data)
            xp.maximum(max_sq, exp_avg_sq, out=max_sq)
            denom = K.sqrt(max_sq)
        else:
            denom = K.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += eps
        K.addcdiv_(p, exp_avg, denom, -step_size)
        param._version.v += 1
