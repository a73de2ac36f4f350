r"""RMSprop (Hinton's lecture notes; centered form from Graves, 2013).

Algorithm (torch's, for each parameter θ with gradient g)::

    g ← -g                                    if maximize
    g ← g + λ · θ                             if weight_decay λ ≠ 0
    v ← α · v + (1 - α) · g²
    if centered:
        ḡ ← lerp(ḡ, g, 1 - α);  denom ← sqrt(v - ḡ²) + eps
    else:
        denom ← sqrt(v) + eps
    if momentum > 0:
        b ← momentum · b + g / denom;  θ ← θ - lr · b
    else:
        θ ← θ - lr · g / denom

State per parameter: ``step`` (0-dim float tensor), ``square_avg`` (v), and
``momentum_buffer`` (b) / ``grad_avg`` (ḡ) when momentum / centered are on.
"""
from __future__ import annotations


from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_functional_flags,
                        _check_impl_flags, _check_lr, _check_nonneg, _closure_loss,
                        _step_tensor, _to_scalar, _zeros_like)

__all__ = ["RMSprop", "rmsprop"]


class RMSprop(Optimizer):
    """RMSprop; see the module docstring for the update.

    Args: ``lr`` (1e-2), ``alpha`` (0.99), ``eps`` (1e-8), ``weight_decay`` (0),
    ``momentum`` (0), ``centered`` (False), ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("epsilon value", eps)
        _check_nonneg("momentum value", momentum)
        _check_nonneg("weight_decay value", weight_decay)
        _check_nonneg("alpha value", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(momentum=0, centered=False, foreach=None, maximize=False,
                            differentiable=False, capturable=False)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        state = {"step": _step_tensor(), "square_avg": _zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(p)
        return state

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            keys = ("square_avg", "step") + (("momentum_buffer",) if momentum > 0 else ()) \
                + (("grad_avg",) if centered else ())
            params, grads, s = self._gather(group, self._new_state, keys,
                                            "RMSprop does not support sparse gradients")
            if not params:
                continue
            rmsprop(params, grads, s["square_avg"], s.get("grad_avg", []),
                    s.get("momentum_buffer", []), s["step"], maximize=group["maximize"],
                    capturable=group["capturable"], lr=group["lr"], alpha=group["alpha"],
                    eps=group["eps"], weight_decay=group["weight_decay"], momentum=momentum,
                    centered=centered)
        return loss


def rmsprop(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
            grad_avgs: list[Tensor], momentum_buffer_list: list[Tensor],
            state_steps: list[Tensor], foreach: bool | None = None, maximize: bool = False,
            differentiable: bool = False, capturable: bool = False, has_complex: bool = False,
            *, lr: float, alpha: float, eps: float, weight_decay: float, momentum: float,
            centered: bool) -> None:
    """Functional RMSprop: update ``params`` and their state tensors in place."""
    _check_functional_flags(differentiable, capturable)
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        K.advance(state_steps[i])
        p, g = K.param_and_grad(param, grads[i], maximize)
        if weight_decay != 0:
            g = K.add(g, p, weight_decay)
        square_avg = K.real_view(square_avgs[i]._data)
        square_avg *= alpha
        K.addcmul_(square_avg, g, g, 1 - alpha)
        if centered:
            grad_avg = K.real_view(grad_avgs[i]._data)
            K.lerp_(grad_avg, g, 1 - alpha)
            avg = square_avg.copy()
            K.addcmul_(avg, grad_avg, grad_avg, -1)
            K.sqrt(avg, out=avg)
        else:
            avg = K.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = K.real_view(momentum_buffer_list[i]._data)
            buf *= momentum
            K.addcdiv_(buf, g, avg, 1)
            K.add_(p, buf, -lr)
        else:
            K.addcdiv_(p, g, avg, -lr)
        param._version.v += 1
