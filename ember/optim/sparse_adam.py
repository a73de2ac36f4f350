r"""SparseAdam: a lazy Adam for row-sparse gradients (e.g. embeddings).

Only the rows that appear in the gradient are touched; moments of the other rows are left
as they are (not decayed). Algorithm (torch's, step t, for the gradient's rows R with
values g)::

    g ← -g                                         if maximize
    m_R ← m_R + (1 - β1) · (g - m_R)
    v_R ← v_R + (1 - β2) · (g² - v_R)
    θ_R ← θ_R - lr · sqrt(1 - β2^t) / (1 - β1^t) · m_R / (sqrt(v_R) + eps)

``t`` counts the steps in which the parameter had a gradient. State per parameter: ``step``
(a Python int, as torch keeps it), ``exp_avg`` (m), ``exp_avg_sq`` (v).

Gradients: ember has no sparse tensor layout, so a dense gradient is read as row-sparse —
the rows of dim 0 that contain a nonzero value are the ones updated. This is what
``nn.Embedding(sparse=True)`` produces in torch except for one corner: torch also updates a
looked-up row whose gradient happens to be exactly zero, which a dense gradient cannot
express. (torch itself refuses dense gradients here; ember accepts them for that reason.)
"""
from __future__ import annotations

import math

from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .optimizer import Optimizer, ParamsT, _closure_loss, _to_scalar, _zeros_like

__all__ = ["SparseAdam", "sparse_adam"]


class SparseAdam(Optimizer):
    """Lazy Adam for row-sparse gradients; see the module docstring.

    Args: ``lr`` (1e-3), ``betas`` ((0.9, 0.999)), ``eps`` (1e-8), ``maximize`` (False).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, maximize=maximize))
        complex_params = [[gi, pi] for gi, g in enumerate(self.param_groups)
                          for pi, p in enumerate(g["params"]) if p.is_complex()]
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"step": 0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            params, grads, s = self._gather(group, self._new_state, ("exp_avg", "exp_avg_sq"))
            if not params:
                continue
            steps = []
            for p in params:
                self.state[p]["step"] += 1
                steps.append(self.state[p]["step"])
            beta1, beta2 = group["betas"]
            sparse_adam(params, grads, s["exp_avg"], s["exp_avg_sq"], steps, eps=group["eps"],
                        beta1=beta1, beta2=beta2, lr=_to_scalar(group["lr"]),
                        maximize=group.get("maximize", False))
        return loss


def _rows_of(grad_arr):
    """Row indices (along dim 0) where a dense gradient has a nonzero entry."""
    if grad_arr.ndim == 0:
        return None
    flat = grad_arr.reshape(grad_arr.shape[0], -1)
    return xp.flatnonzero((flat != 0).any(axis=1))


def sparse_adam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
                exp_avg_sqs: list[Tensor], state_steps: list[int], *, eps: float,
                beta1: float, beta2: float, lr: float, maximize: bool) -> None:
    """Functional SparseAdam: update the gradient's rows of ``params`` in place."""
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        g = grads[i]._data
        rows = _rows_of(g)
        if rows is None:
            raise RuntimeError("SparseAdam needs parameters with at least one dimension")
        if rows.size == 0:
            continue
        values = g[rows]
        if maximize:
            values = -values
        exp_avg, exp_avg_sq, p = exp_avgs[i]._data, exp_avg_sqs[i]._data, param._data
        step = state_steps[i]

        old_exp_avg = exp_avg[rows]
        numer = values - old_exp_avg
        numer *= 1 - beta1
        exp_avg[rows] += numer
        old_exp_avg_sq = exp_avg_sq[rows]
        sq = values * values
        sq -= old_exp_avg_sq
        sq *= 1 - beta2
        exp_avg_sq[rows] += sq

        numer += old_exp_avg
        sq += old_exp_avg_sq
        denom = K.sqrt(sq, out=sq)
        denom += eps
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr * math.sqrt(bias_correction2) / bias_correction1
        numer /= denom
        numer *= -step_size
        p[rows] += numer
        param._version.v += 1
