r"""Adafactor (Shazeer & Stern, 2018): adaptive steps from a factored second moment — a row
and a column average of g² instead of a full-size one — so its memory is sublinear.

Algorithm (torch's, step t, for each parameter θ with gradient g; RMS(x) = ‖x‖₂ / √numel)::

    g ← -g                                      if maximize
    w ← t^τ                                     (τ = beta2_decay; w = 1 - β̂₂)
    ρ ← min(lr, 1 / √t)
    α ← max(eps2, RMS(θ)) · ρ                   (θ before weight decay)
    θ ← θ · (1 - lr · λ)                        if λ ≠ 0
    if g has two or more dims (factored over the last two, n × m):
        R ← lerp(R, mean(g², dim=-1), w)        (row_var, shape [..., n, 1])
        C ← lerp(C, mean(g², dim=-2), w)        (col_var, shape [..., 1, m])
        V ← R C / max(mean(R, dim=-2), eps1)
    else:
        v ← lerp(v, g², w);  V ← v              (variance)
    U ← g / sqrt(max(V, eps1²))
    θ ← θ - α / max(1, RMS(U) / d) · U

``eps1=None`` means the machine epsilon of the first updated parameter's dtype (torch
takes it once per group, from that parameter). The row means are computed as torch does,
``norm(g, dim)² / size``. State per parameter: ``step`` (a 0-dim float tensor) and either
``row_var`` and ``col_var`` or ``variance``. As elsewhere in ember, ``foreach`` is accepted
and does not change the arithmetic; complex parameters and sparse gradients are refused
with torch's errors.
"""
from __future__ import annotations

import math

from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import (Optimizer, ParamsT, _closure_loss, _step_tensor, _to_scalar,
                        _zeros_like)

__all__ = ["Adafactor", "adafactor"]

_f64 = xp.float64


def _check_lr_nonneg(lr) -> None:
    """The learning-rate checks of torch's Adafactor and Muon (their own wording)."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Learning rate should be >= 0 but is: {lr}")


def _check_dense_real(group: dict, name: str) -> None:
    """torch's refusal of complex parameters and sparse gradients, parameter by parameter."""
    for p in group["params"]:
        if p._grad is None:
            continue
        if p.is_complex():
            raise RuntimeError(f"{name} does not support complex parameters")
        if p._grad.is_sparse:
            raise RuntimeError(f"{name} does not support sparse gradients")


def _norm(a) -> float:
    """``a.norm(2).item()``: the 2-norm, rounded to ``a``'s dtype as torch returns it."""
    return float(a.dtype.type(math.sqrt(float(xp.sum(xp.square(a, dtype=_f64))))))


def _mean_square(g, axis: int):
    """``norm(g, dim=axis, keepdim=True).square_().div_(g.size(axis))``."""
    r = xp.sqrt(xp.sum(xp.square(g, dtype=_f64), axis=axis, keepdims=True)).astype(g.dtype)
    r *= r
    r /= g.shape[axis]
    return r


class Adafactor(Optimizer):
    """Adafactor; see the module docstring for the update.

    Args: ``lr`` (1e-2; caps the relative step size ρ and scales the weight decay),
    ``beta2_decay`` (-0.8), ``eps`` ((None, 1e-3)), ``d`` (1.0, the update clipping
    threshold), ``weight_decay`` (0.0), keyword-only ``foreach`` (None) and ``maximize``
    (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        _check_lr_nonneg(lr)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    _restore_options = dict(foreach=None)

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        g = p._grad._data
        state = {"step": _step_tensor()}
        if g.ndim > 1:
            state["row_var"] = Tensor._wrap(xp.zeros(g.shape[:-1] + (1,), dtype=g.dtype))
            state["col_var"] = Tensor._wrap(xp.zeros(g.shape[:-2] + (1,) + g.shape[-1:],
                                                     dtype=g.dtype))
        else:
            state["variance"] = _zeros_like(p._grad)
        return state

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            _check_dense_real(group, "Adafactor")
            params, grads, _ = self._gather(group, self._new_state, ())
            st = [self.state[p] for p in params]
            eps1, eps2 = group["eps"]
            adafactor(params, grads, [s.get("row_var") for s in st],
                      [s.get("col_var") for s in st], [s.get("variance") for s in st],
                      [s["step"] for s in st], foreach=group["foreach"], d=group["d"],
                      lr=group["lr"], beta2_decay=group["beta2_decay"],
                      weight_decay=group["weight_decay"], eps1=eps1, eps2=eps2,
                      maximize=group["maximize"])
        return loss


def adafactor(params: list[Tensor], grads: list[Tensor], row_vars: list[Tensor | None],
              col_vars: list[Tensor | None], variances: list[Tensor | None],
              state_steps: list[Tensor], foreach: bool | None = None,
              grad_scale: Tensor | None = None, found_inf: Tensor | None = None,
              has_complex: bool = False, *, d: float, lr: float | Tensor, beta2_decay: float,
              weight_decay: float, eps1: float | None, eps2: float, maximize: bool) -> None:
    """Functional Adafactor: update ``params`` and their state tensors in place."""
    if not all(isinstance(t, Tensor) for t in state_steps):
        raise RuntimeError("`state_steps` argument must contain a list of singleton tensors")
    if grad_scale is not None or found_inf is not None:
        raise AssertionError("Grad scaling should occur outside of optimizer.step()")
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        p, g = K.param_and_grad(param, grads[i], maximize)
        if eps1 is None:
            eps1 = float(xp.finfo(p.dtype).eps)
        step = K.advance(state_steps[i])
        weight = step ** beta2_decay
        rho = min(lr, 1 / step ** 0.5)
        alpha = max(eps2, _norm(p) / p.size ** 0.5) * rho
        if weight_decay != 0:
            p *= 1 - lr * weight_decay
        if g.ndim > 1:
            row_var, col_var = row_vars[i]._data, col_vars[i]._data
            K.lerp_(row_var, _mean_square(g, -1), weight)
            K.lerp_(col_var, _mean_square(g, -2), weight)
            var = row_var * col_var
            var /= xp.maximum(xp.mean(row_var, axis=-2, keepdims=True), eps1)
        else:
            var = K.real_view(variances[i]._data)
            K.lerp_(var, g * g, weight)
            var = var.copy()
        update = xp.maximum(var, eps1 * eps1, out=var)
        update = xp.divide(1, xp.sqrt(update), out=update)
        update *= g
        clip = max(1.0, _norm(update) / (update.size ** 0.5 * d))
        K.add_(p, update, -alpha / clip)
        param._version.v += 1
