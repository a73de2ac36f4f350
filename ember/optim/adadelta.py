r"""Adadelta (Zeiler, 2012): step sizes from running averages of squared gradients and updates.

Algorithm (torch's, for each parameter θ with gradient g)::

    g ← -g                                        if maximize
    g ← g + λ · θ                                 if weight_decay λ ≠ 0
    v ← ρ · v + (1 - ρ) · g²
    Δ ← sqrt(u + eps) / sqrt(v + eps) · g
    u ← ρ · u + (1 - ρ) · Δ²
    θ ← θ - lr · Δ

State per parameter: ``step`` (0-dim float tensor), ``square_avg`` (v), ``acc_delta`` (u).
"""
from __future__ import annotations


from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_functional_flags,
                        _check_impl_flags, _check_lr, _check_nonneg, _closure_loss,
                        _step_tensor, _to_scalar, _zeros_like)

__all__ = ["Adadelta", "adadelta"]


class Adadelta(Optimizer):
    """Adadelta; see the module docstring for the update.

    Args: ``lr`` (1.0), ``rho`` (0.9), ``eps`` (1e-6), ``weight_decay`` (0), ``foreach``,
    keyword-only ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg("epsilon value", eps)
        _check_nonneg("weight_decay value", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"step": _step_tensor(), "square_avg": _zeros_like(p),
                "acc_delta": _zeros_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state,
                                            ("square_avg", "acc_delta", "step"),
                                            "Adadelta does not support sparse gradients")
            if not params:
                continue
            adadelta(params, grads, s["square_avg"], s["acc_delta"], s["step"],
                     capturable=group["capturable"], lr=group["lr"], rho=group["rho"],
                     eps=group["eps"], weight_decay=group["weight_decay"],
                     maximize=group["maximize"])
        return loss


def adadelta(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
             acc_deltas: list[Tensor], state_steps: list[Tensor], capturable: bool = False,
             foreach: bool | None = None, differentiable: bool = False,
             has_complex: bool = False, *, lr: float, rho: float, eps: float,
             weight_decay: float, maximize: bool) -> None:
    """Functional Adadelta: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    lr = float(_to_scalar(lr))
    for param, grad, square_avg, acc_delta, step_t in zip(params, grads, square_avgs,
                                                          acc_deltas, state_steps):
        K.advance(step_t)
        p, g = K.param_and_grad(param, grad, maximize)
        if weight_decay != 0:
            g = K.add(g, p, weight_decay)
        v = K.real_view(square_avg._data)
        u = K.real_view(acc_delta._data)
        v *= rho
        K.addcmul_(v, g, g, 1 - rho)
        std = v + eps
        K.sqrt(std, out=std)
        delta = u + eps
        K.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        u *= rho
        K.addcmul_(u, delta, delta, 1 - rho)
        K.add_(p, delta, -lr)
        param._version.v += 1
