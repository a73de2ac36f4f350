r"""NAdam (Dozat, 2016): Adam with Nesterov momentum and a momentum-decay schedule.

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                                           if maximize
    θ ← θ · (1 - lr · λ)                             if λ ≠ 0 and decoupled_weight_decay
    g ← g + λ · θ                                    if λ ≠ 0 otherwise
    μ_t     ← β1 · (1 - 0.5 · 0.96^(t · ψ))           (ψ = momentum_decay)
    μ_{t+1} ← β1 · (1 - 0.5 · 0.96^((t + 1) · ψ))
    Π_t ← Π_{t-1} · μ_t                              (mu_product)
    m ← lerp(m, g, 1 - β1);  v ← β2 · v + (1 - β2) · g²
    denom ← sqrt(v / (1 - β2^t)) + eps
    θ ← θ - lr · (1 - μ_t) / (1 - Π_t) · g / denom
    θ ← θ - lr · μ_{t+1} / (1 - Π_t · μ_{t+1}) · m / denom

State per parameter: ``step`` and ``mu_product`` (0-dim tensors of the default float dtype,
so Π is rounded to it as in torch), ``exp_avg`` (m), ``exp_avg_sq`` (v).
"""
from __future__ import annotations


from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_betas,
                        _check_functional_flags, _check_impl_flags, _check_lr, _check_nonneg,
                        _closure_loss, _step_tensor, _to_scalar, _zeros_like)

__all__ = ["NAdam", "nadam"]


class NAdam(Optimizer):
    """NAdam; see the module docstring for the update.

    Args: ``lr`` (2e-3), ``betas`` ((0.9, 0.999)), ``eps`` (1e-8), ``weight_decay`` (0),
    ``momentum_decay`` (4e-3), ``decoupled_weight_decay`` (False), keyword-only
    ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon value", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay value", weight_decay)
        _check_nonneg("momentum_decay value", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(maximize=False, foreach=None, capturable=False,
                            differentiable=False, decoupled_weight_decay=False)
    _restore_scalars = ("step", "mu_product")

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"step": _step_tensor(), "mu_product": _step_tensor(1.0),
                "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(
                group, self._new_state, ("exp_avg", "exp_avg_sq", "mu_product", "step"),
                "NAdam does not support sparse gradients")
            if not params:
                continue
            beta1, beta2 = group["betas"]
            nadam(params, grads, s["exp_avg"], s["exp_avg_sq"], s["mu_product"], s["step"],
                  decoupled_weight_decay=group["decoupled_weight_decay"],
                  capturable=group["capturable"], maximize=group["maximize"], beta1=beta1,
                  beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                  momentum_decay=group["momentum_decay"], eps=group["eps"])
        return loss


def nadam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], mu_products: list[Tensor], state_steps: list[Tensor],
          decoupled_weight_decay: bool = False, foreach: bool | None = None,
          capturable: bool = False, differentiable: bool = False, has_complex: bool = False,
          maximize: bool = False, *, beta1: float, beta2: float, lr: float,
          weight_decay: float, momentum_decay: float, eps: float) -> None:
    """Functional NAdam: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        exp_avg = K.real_view(exp_avgs[i]._data)
        exp_avg_sq = K.real_view(exp_avg_sqs[i]._data)
        mu_product = mu_products[i]._data
        step = K.advance(state_steps[i])
        bias_correction2 = 1 - beta2 ** step
        if weight_decay != 0:
            if decoupled_weight_decay:
                p *= 1 - lr * weight_decay
            else:
                g = K.add(g, p, weight_decay)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        mu_product *= mu
        K.lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq *= beta2
        K.addcmul_(exp_avg_sq, g, g, 1 - beta2)
        denom = exp_avg_sq / bias_correction2
        K.sqrt(denom, out=denom)
        mu_product_value = float(mu_product)
        mu_product_next = mu_product_value * mu_next
        denom += eps
        K.addcdiv_(p, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product_value))
        K.addcdiv_(p, exp_avg, denom, -lr * mu_next / (1.0 - mu_product_next))
        param._version.v += 1
