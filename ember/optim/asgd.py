r"""Averaged stochastic gradient descent (Polyak & Juditsky, 1992).

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                                     if maximize
    g ← g + λ_wd · θ                           if weight_decay ≠ 0
    θ ← θ · (1 - λ · η)
    θ ← θ - η · g
    ax ← ax + μ · (θ - ax)   if μ ≠ 1, else ax ← θ
    η ← lr / (1 + λ · lr · t)^α
    μ ← 1 / max(1, t - t0)

``ax`` holds the running average of the iterates. State per parameter: ``step``, ``eta``
(η) and ``mu`` (μ) as 0-dim tensors of the default float dtype — so, as in torch, η is
rounded to that dtype between steps — and ``ax``.
"""
from __future__ import annotations


from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_functional_flags,
                        _check_impl_flags, _check_lr, _check_nonneg, _closure_loss,
                        _step_tensor, _to_scalar, _zeros_like)

__all__ = ["ASGD", "asgd"]


class ASGD(Optimizer):
    """ASGD; see the module docstring for the update.

    Args: ``lr`` (1e-2), ``lambd`` (1e-4), ``alpha`` (0.75), ``t0`` (1e6),
    ``weight_decay`` (0), ``foreach``, ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("weight_decay value", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(foreach=None, maximize=False, differentiable=False,
                            capturable=False)
    _restore_scalars = ("step", "eta", "mu")

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"step": _step_tensor(), "eta": _step_tensor(float(_to_scalar(group["lr"]))),
                "mu": _step_tensor(1.0), "ax": _zeros_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state,
                                            ("mu", "ax", "eta", "step"),
                                            "ASGD does not support sparse gradients")
            if not params:
                continue
            asgd(params, grads, s["ax"], s["mu"], s["eta"], s["step"],
                 maximize=group["maximize"], capturable=group["capturable"],
                 lambd=group["lambd"], lr=group["lr"], t0=group["t0"], alpha=group["alpha"],
                 weight_decay=group["weight_decay"])
        return loss


def asgd(params: list[Tensor], grads: list[Tensor], axs: list[Tensor], mus: list[Tensor],
         etas: list[Tensor], state_steps: list[Tensor], foreach: bool | None = None,
         maximize: bool = False, differentiable: bool = False, capturable: bool = False,
         has_complex: bool = False, *, lambd: float, lr: float, t0: float, alpha: float,
         weight_decay: float) -> None:
    """Functional ASGD: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        ax = K.real_view(axs[i]._data)
        mu, eta = mus[i]._data, etas[i]._data
        step = K.advance(state_steps[i])
        if weight_decay != 0:
            g = K.add(g, p, weight_decay)
        eta_value = float(eta)
        p *= 1 - lambd * eta_value
        K.add_(p, g, -eta_value)
        mu_value = float(mu)
        if mu_value != 1:
            d = p - ax
            d *= mu_value
            ax += d
        else:
            xp.copyto(ax, p)
        eta[...] = lr / (1 + lambd * lr * step) ** alpha   # rounds to eta's dtype, like copy_
        mu[...] = 1 / max(1, step - t0)
        param._version.v += 1
