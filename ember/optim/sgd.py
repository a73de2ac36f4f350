r"""Stochastic gradient descent (optionally with momentum, Nesterov momentum, weight decay).

Algorithm (torch's, step t, for each parameter θ with gradient g)::

    g ← -g                               if maximize
    g ← g + weight_decay · θ             if weight_decay ≠ 0
    if momentum ≠ 0:
        b ← g                            on the first step
        b ← momentum · b + (1 - dampening) · g   afterwards
        g ← g + momentum · b             if nesterov, else g ← b
    θ ← θ - lr · g

The momentum buffer is stored in ``state[p]['momentum_buffer']``. Note that this is the
Sutskever et al. form: ``lr`` multiplies the whole velocity, unlike some other frameworks.
"""
from __future__ import annotations


from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _check_functional_flags,
                        _check_impl_flags, _check_lr, _closure_loss, _to_scalar)

__all__ = ["SGD", "sgd"]


class SGD(Optimizer):
    """Stochastic gradient descent; see the module docstring for the update.

    Args: ``lr`` (default 1e-3), ``momentum`` (0), ``dampening`` (0), ``weight_decay`` (0),
    ``nesterov`` (False), keyword-only ``maximize`` (False); ``foreach``/``fused`` are
    accepted for compatibility and do not change the arithmetic.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0,
                 nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        _check_impl_flags(defaults)
        super().__init__(params, defaults)

    _restore_options = dict(nesterov=False, maximize=False, foreach=None, differentiable=False,
                            fused=False)

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        state = self.state
        for group in self.param_groups:
            momentum = group["momentum"]
            params, grads, bufs = [], [], []
            for p in group["params"]:
                if p._grad is not None:
                    params.append(p)
                    grads.append(p._grad)
                    if momentum != 0:
                        bufs.append(state[p].get("momentum_buffer"))
            if not params:
                continue
            fresh = [i for i, b in enumerate(bufs) if b is None]
            sgd(params, grads, bufs, weight_decay=group["weight_decay"], momentum=momentum,
                lr=group["lr"], dampening=group["dampening"], nesterov=group["nesterov"],
                maximize=group["maximize"])
            for i in fresh:       # buffers created by this step (the others are updated in place)
                state[params[i]]["momentum_buffer"] = bufs[i]
        return loss


def sgd(params: list[Tensor], d_p_list: list[Tensor],
        momentum_buffer_list: list[Tensor | None], has_sparse_grad: bool = False,
        foreach: bool | None = None, fused: bool | None = None,
        grad_scale: Tensor | None = None, found_inf: Tensor | None = None, *,
        weight_decay: float, momentum: float, lr: float, dampening: float, nesterov: bool,
        maximize: bool) -> None:
    """Functional SGD: update ``params`` in place (see :class:`SGD`); new momentum buffers
    are written into ``momentum_buffer_list``."""
    _check_functional_flags(grad_scale=grad_scale, found_inf=found_inf)
    lr = float(_to_scalar(lr))
    weight_decay = _to_scalar(weight_decay)
    neg_lr, one_minus_dampening = -lr, 1 - dampening
    for i, param in enumerate(params):
        grad = d_p_list[i]
        if grad.is_sparse:
            raise NotImplementedError("ember's SGD does not support sparse gradients yet")
        p = K.real_view(param._data)
        g = K.real_view(grad._data)
        fresh = False  # does g own its memory (safe to keep as the momentum buffer)?
        if maximize:
            g, fresh = -g, True
        if weight_decay != 0:
            g, fresh = K.add(g, p, weight_decay), True
        if momentum != 0:
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = Tensor._wrap(K.like(g if fresh else g.copy(), grad._data))
                momentum_buffer_list[i] = buf
                b = K.real_view(buf._data)
            else:
                b = K.real_view(buf._data)
                b *= momentum
                K.add_(b, g, one_minus_dampening)
            g = K.add(g, b, momentum) if nesterov else b
        K.add_(p, g, neg_lr)
        param._version.v += 1
