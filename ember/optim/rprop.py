r"""Rprop (Riedmiller & Braun, 1993): resilient backpropagation, sign-based steps.

Algorithm (torch's, for each parameter θ with gradient g, per element)::

    g ← -g                                  if maximize
    s ← sign(g · g_prev)
    f ← η+ where s > 0, η- where s < 0, 1 where s = 0
    Δ ← clamp(Δ · f, step_size_min, step_size_max)      (Δ starts at lr)
    g ← 0 where f = η-                      (skip the step after a sign change)
    θ ← θ - sign(g) · Δ
    g_prev ← g

State per parameter: ``step`` (0-dim float tensor), ``prev`` (g_prev), ``step_size`` (Δ).
"""
from __future__ import annotations


from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_functional_flags,
                        _check_impl_flags, _check_lr, _closure_loss, _step_tensor,
                        _to_scalar, _zeros_like)

__all__ = ["Rprop", "rprop"]


class Rprop(Optimizer):
    """Rprop; see the module docstring for the update.

    Args: ``lr`` (1e-2, the initial step size), ``etas`` ((0.5, 1.2)), ``step_sizes``
    ((1e-6, 50)), keyword-only ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        lr = _to_scalar(group["lr"])
        return {"step": _step_tensor(), "prev": _zeros_like(p),
                "step_size": Tensor._wrap(xp.full_like(
                    p._grad._data, complex(lr, lr) if p.is_complex() else lr))}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state,
                                            ("prev", "step_size", "step"),
                                            "Rprop does not support sparse gradients")
            if not params:
                continue
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            rprop(params, grads, s["prev"], s["step_size"], s["step"],
                  capturable=group["capturable"], maximize=group["maximize"],
                  step_size_min=step_size_min, step_size_max=step_size_max,
                  etaminus=etaminus, etaplus=etaplus)
        return loss


def rprop(params: list[Tensor], grads: list[Tensor], prevs: list[Tensor],
          step_sizes: list[Tensor], state_steps: list[Tensor], foreach: bool | None = None,
          capturable: bool = False, maximize: bool = False, differentiable: bool = False,
          has_complex: bool = False, *, step_size_min: float, step_size_max: float,
          etaminus: float, etaplus: float) -> None:
    """Functional Rprop: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        g = g.copy() if not maximize else g
        prev = K.real_view(prevs[i]._data)
        step_size = K.real_view(step_sizes[i]._data)
        K.advance(state_steps[i])
        sign = xp.sign(g * prev)
        sign[sign > 0] = etaplus
        sign[sign < 0] = etaminus
        sign[sign == 0] = 1
        step_size *= sign
        xp.clip(step_size, step_size_min, step_size_max, out=step_size)
        g[sign == etaminus] = 0
        p -= xp.sign(g) * step_size
        xp.copyto(prev, g)
        param._version.v += 1
