r"""RAdam (Liu et al., 2019): Adam with a rectifier on the variance of the adaptive step.

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                                          if maximize
    θ ← θ · (1 - lr · λ)                            if λ ≠ 0 and decoupled_weight_decay
    g ← g + λ · θ                                   if λ ≠ 0 otherwise
    m ← lerp(m, g, 1 - β1);  v ← β2 · v + (1 - β2) · g²
    m̂ ← m / (1 - β1^t)
    ρ∞ ← 2 / (1 - β2) - 1;   ρ_t ← ρ∞ - 2 t β2^t / (1 - β2^t)
    if ρ_t > 5:
        r ← sqrt((ρ_t - 4)(ρ_t - 2) ρ∞ / ((ρ∞ - 4)(ρ∞ - 2) ρ_t))
        θ ← θ - m̂ · lr · (sqrt(1 - β2^t) / (sqrt(v) + eps)) · r
    else:
        θ ← θ - m̂ · lr

State per parameter: ``step`` (0-dim float tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v).
"""
from __future__ import annotations


from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_betas,
                        _check_functional_flags, _check_impl_flags, _check_lr, _check_nonneg,
                        _closure_loss, _step_tensor, _to_scalar, _zeros_like)

__all__ = ["RAdam", "radam"]


class RAdam(Optimizer):
    """RAdam; see the module docstring for the update.

    Args: ``lr`` (1e-3), ``betas`` ((0.9, 0.999)), ``eps`` (1e-8), ``weight_decay`` (0),
    ``decoupled_weight_decay`` (False), keyword-only ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon value", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(foreach=None, maximize=False, differentiable=False,
                            decoupled_weight_decay=False, capturable=False)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state,
                                            ("exp_avg", "exp_avg_sq", "step"),
                                            "RAdam does not support sparse gradients")
            if not params:
                continue
            beta1, beta2 = group["betas"]
            radam(params, grads, s["exp_avg"], s["exp_avg_sq"], s["step"],
                  decoupled_weight_decay=group["decoupled_weight_decay"],
                  capturable=group["capturable"], maximize=group["maximize"], beta1=beta1,
                  beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                  eps=group["eps"])
        return loss


def radam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], state_steps: list[Tensor],
          decoupled_weight_decay: bool = False, foreach: bool | None = None,
          differentiable: bool = False, capturable: bool = False, has_complex: bool = False,
          maximize: bool = False, *, beta1: float, beta2: float, lr: float,
          weight_decay: float, eps: float) -> None:
    """Functional RAdam: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        exp_avg = K.real_view(exp_avgs[i]._data)
        exp_avg_sq = K.real_view(exp_avg_sqs[i]._data)
        step = K.advance(state_steps[i])
        if weight_decay != 0:
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
            else:
                g = K.add(g, p, weight_decay)
        K.lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        K.addcmul_(exp_avg_sq, g, g, 1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        update = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        update *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = K.sqrt(exp_avg_sq)
            adaptive += eps
            xp.reciprocal(adaptive, out=adaptive)   # torch computes scalar / t as (1 / t) * scalar
            adaptive *= bias_correction2 ** 0.5
            update *= adaptive
            update *= rect
        p -= update
        param._version.v += 1
