r"""Adamax (Kingma & Ba, 2014): Adam with the infinity norm in place of the second moment.

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                                   if maximize
    g ← g + λ · θ                            if weight_decay λ ≠ 0
    m ← lerp(m, g, 1 - β1)
    u ← max(β2 · u, |g| + eps)
    θ ← θ - (lr / (1 - β1^t)) · m / u

State per parameter: ``step`` (0-dim float tensor), ``exp_avg`` (m), ``exp_inf`` (u).
"""
from __future__ import annotations


from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_betas,
                        _check_functional_flags, _check_impl_flags, _check_lr, _check_nonneg,
                        _closure_loss, _step_tensor, _to_scalar, _zeros_like)

__all__ = ["Adamax", "adamax"]


class Adamax(Optimizer):
    """Adamax; see the module docstring for the update.

    Args: ``lr`` (2e-3), ``betas`` ((0.9, 0.999)), ``eps`` (1e-8), ``weight_decay`` (0),
    ``foreach``, keyword-only ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon value", eps)
        _check_betas(betas)
        _check_nonneg("weight_decay value", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"step": _step_tensor(), "exp_avg": _zeros_like(p), "exp_inf": _zeros_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state,
                                            ("exp_avg", "exp_inf", "step"),
                                            "Adamax does not support sparse gradients")
            if not params:
                continue
            beta1, beta2 = group["betas"]
            adamax(params, grads, s["exp_avg"], s["exp_inf"], s["step"],
                   maximize=group["maximize"], capturable=group["capturable"],
                   eps=group["eps"], beta1=beta1, beta2=beta2, lr=group["lr"],
                   weight_decay=group["weight_decay"])
        return loss


def adamax(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
           exp_infs: list[Tensor], state_steps: list[Tensor], foreach: bool | None = None,
           maximize: bool = False, differentiable: bool = False, capturable: bool = False,
           has_complex: bool = False, *, eps: float, beta1: float, beta2: float, lr: float,
           weight_decay: float) -> None:
    """Functional Adamax: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        step = K.advance(state_steps[i])
        if weight_decay != 0:
            g = K.add(g, p, weight_decay)
        exp_avg = K.real_view(exp_avgs[i]._data)
        exp_inf = K.real_view(exp_infs[i]._data)
        K.lerp_(exp_avg, g, 1 - beta1)
        exp_inf *= beta2
        norm = xp.abs(g)
        norm += eps
        xp.maximum(exp_inf, norm, out=exp_inf)
        clr = lr / (1 - beta1 ** step)
        K.addcdiv_(p, exp_avg, exp_inf, -clr)
        param._version.v += 1
