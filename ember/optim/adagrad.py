r"""Adagrad (Duchi et al., 2011): per-coordinate step sizes from accumulated squared gradients.

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                                    if maximize
    g ← g + λ · θ                             if weight_decay λ ≠ 0
    clr ← lr / (1 + (t - 1) · lr_decay)
    s ← s + g²                                (s starts at initial_accumulator_value)
    θ ← θ - clr · g / (sqrt(s) + eps)

State per parameter: ``step`` (0-dim float tensor) and ``sum`` (s). As in torch, the state
is created in the constructor (from the constructor's ``initial_accumulator_value``).
"""
from __future__ import annotations


from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_functional_flags, _check_impl_flags,
                        _check_lr, _check_nonneg, _closure_loss, _step_tensor, _to_scalar)

__all__ = ["Adagrad", "adagrad"]


def _new_state(p: Tensor, initial_accumulator_value: float) -> dict:
    v = initial_accumulator_value
    if p.is_complex():
        v = complex(v, v)
    return {"step": _step_tensor(), "sum": Tensor._wrap(xp.full_like(p._data, v))}


class Adagrad(Optimizer):
    """Adagrad; see the module docstring for the update.

    Args: ``lr`` (1e-2), ``lr_decay`` (0), ``weight_decay`` (0),
    ``initial_accumulator_value`` (0), ``eps`` (1e-10), ``foreach``, keyword-only
    ``maximize`` (False). Sparse gradients are not supported yet.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonneg("lr_decay value", lr_decay)
        _check_nonneg("weight_decay value", weight_decay)
        _check_nonneg("initial_accumulator_value value", initial_accumulator_value)
        _check_nonneg("epsilon value", eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = _new_state(p, initial_accumulator_value)

    _restore_options = dict(foreach=None, maximize=False, differentiable=False, fused=None)

    def share_memory(self) -> None:
        """No-op: NumPy state arrays live in this process (kept for API compatibility)."""

    def _new_state(self, p: Tensor, group: dict) -> dict:
        return _new_state(p, self.defaults["initial_accumulator_value"])

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state, ("sum", "step"))
            if not params:
                continue
            adagrad(params, grads, s["sum"], s["step"], lr=group["lr"],
                    weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                    eps=group["eps"], maximize=group["maximize"])
        return loss


def adagrad(params: list[Tensor], grads: list[Tensor], state_sums: list[Tensor],
            state_steps: list[Tensor], fused: bool | None = None,
            grad_scale: Tensor | None = None, found_inf: Tensor | None = None,
            has_sparse_grad: bool = False, foreach: bool | None = None,
            differentiable: bool = False, has_complex: bool = False, *, lr: float,
            weight_decay: float, lr_decay: float, eps: float, maximize: bool) -> None:
    """Functional Adagrad: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, False, grad_scale, found_inf)
    lr = float(_to_scalar(lr))
    for param, grad, state_sum, step_t in zip(params, grads, state_sums, state_steps):
        if grad.is_sparse:
            raise NotImplementedError("ember's Adagrad does not support sparse gradients yet")
        step = K.advance(step_t)
        p, g = K.param_and_grad(param, grad, maximize)
        if weight_decay != 0:
            g = K.add(g, p, weight_decay)
        clr = lr / (1 + (step - 1) * lr_decay)
        s = K.real_view(state_sum._data)
        K.addcmul_(s, g, g, 1)
        std = K.sqrt(s)
        std += eps
        K.addcdiv_(p, g, std, -clr)
        param._version.v += 1
