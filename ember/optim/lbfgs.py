r"""L-BFGS (Liu & Nocedal, 1989), torch's port of minFunc, with optional strong-Wolfe line search.

Algorithm of one ``step(closure)`` (all parameters flattened into one vector x, gradient g)::

    evaluate f, g;  stop if max|g| ≤ tolerance_grad
    repeat up to max_iter times:
        first iteration ever: d ← -g, H ← 1
        otherwise: y ← g - g_prev, s ← t · d; if y·s > 1e-10 store (y, s, ρ = 1 / y·s) in a
                   history of at most history_size pairs and set H ← y·s / y·y;
                   d ← -(two-loop recursion over the history, scaled by H) applied to g
        t ← min(1, 1 / Σ|g|) · lr on the first iteration ever, else lr
        stop if g·d > -tolerance_change (not a descent direction)
        line_search_fn None:           x ← x + t · d, re-evaluate f, g
        line_search_fn 'strong_wolfe': t, f, g ← cubic-interpolating search satisfying the
                                       strong Wolfe conditions (c1 = 1e-4, c2 = 0.9); x ← x + t · d
        stop when max_eval evaluations are spent, max|g| ≤ tolerance_grad,
        max|t · d| ≤ tolerance_change or |f - f_prev| < tolerance_change

The closure must clear gradients, compute the loss, call ``backward`` and return the loss.
State (on the first parameter, as in torch): ``func_evals``, ``n_iter``, ``d``, ``t``,
``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, ``al``.
Scalars that torch keeps as 0-dim tensors are 0-dim tensors of the parameters' dtype here too,
so float32 runs round where torch rounds.
"""
from __future__ import annotations

from typing import Callable

from .._backend import xp
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad
from . import _kernels as K
from .optimizer import Optimizer, ParamsT, _check_lr, _to_scalar

__all__ = ["LBFGS"]


def _box(x):
    """Array state -> Tensors (0-dim for NumPy scalars), recursively through lists."""
    if isinstance(x, xp.ndarray):
        return Tensor._wrap(x)
    if isinstance(x, xp.generic):
        return Tensor._wrap(xp.asarray(x))
    if isinstance(x, list):
        return [_box(v) for v in x]
    return x


def _unbox(x):
    if isinstance(x, Tensor):
        a = x._data
        return a[()] if a.ndim == 0 else a
    if isinstance(x, list):
        return [_unbox(v) for v in x]
    return x


def _loss_value(loss) -> float:
    return float(loss.detach()) if isinstance(loss, Tensor) else float(loss)


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1, g1), (x2, f2, g2), clipped to ``bounds``."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = xp.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Line search along ``d`` from step ``t`` for a point satisfying the strong Wolfe
    conditions (bracketing, then zooming with cubic interpolation)."""
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)

    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until the strong Wolfe conditions hold
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # keep away from the bracket's ends unless progress stalls
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = g_new.copy()
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = g_new.copy()
            bracket_gtd[low_pos] = gtd_new

    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals


class LBFGS(Optimizer):
    """L-BFGS; see the module docstring for the algorithm.

    Args: ``lr`` (1), ``max_iter`` (20, iterations per ``step``), ``max_eval``
    (``max_iter * 5 // 4``), ``tolerance_grad`` (1e-7), ``tolerance_change`` (1e-9),
    ``history_size`` (100), ``line_search_fn`` (None or ``'strong_wolfe'``).
    Keeps flat copies of all parameters (``history_size`` pairs of them): memory heavy,
    meant for small, full-batch problems. One parameter group only.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        _check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._numel_cache = None

    def _numel(self) -> int:
        if self._numel_cache is None:
            self._numel_cache = sum(2 * p.numel() if p.is_complex() else p.numel()
                                    for p in self._params)
        return self._numel_cache

    def _gather_flat_grad(self):
        views = []
        for p in self._params:
            if p._grad is None:
                views.append(xp.zeros(p._data.size * (2 if p.is_complex() else 1),
                                      dtype=K.real_view(p._data).dtype))
            else:
                views.append(K.real_view(p._grad._data).reshape(-1))
        return xp.concatenate(views)

    def _add_grad(self, step_size, update) -> None:
        step_size = float(step_size)
        offset = 0
        for p in self._params:
            arr = K.real_view(p._data)
            n = arr.size
            K.add_(arr, update[offset:offset + n].reshape(arr.shape), step_size)
            p._version.v += 1
            offset += n
        assert offset == self._numel()

    def _clone_param(self):
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data) -> None:
        for p, data in zip(self._params, params_data):
            xp.copyto(p._data, data)
            p._version.v += 1

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = _loss_value(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    def step(self, closure: Callable):
        """Perform up to ``max_iter`` L-BFGS iterations. ``closure`` (required) clears the
        gradients, computes the loss, backpropagates and returns the loss.
        Returns the loss from the first evaluation."""
        assert len(self.param_groups) == 1

        def closure_with_grad():
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        lr = _to_scalar(group["lr"])
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure_with_grad()
        loss = _loss_value(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if xp.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d = _unbox(state.get("d"))
        t = _unbox(state.get("t"))
        old_dirs = _unbox(state.get("old_dirs"))
        old_stps = _unbox(state.get("old_stps"))
        ro = _unbox(state.get("ro"))
        H_diag = _unbox(state.get("H_diag"))
        prev_flat_grad = _unbox(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = _unbox(state.get("al"))

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- direction ----
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                num_old = len(old_dirs)
                if al is None:
                    al = [None] * history_size
                    state["al"] = None   # keep torch's key order; filled in below
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    K.add_(q, old_dirs[i], -float(al[i]))
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    K.add_(r, old_stps[i], float(al[i] - be_i))

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                xp.copyto(prev_flat_grad, flat_grad)
            prev_loss = loss

            # ---- step length ----
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure_with_grad, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = _loss_value(closure_with_grad())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping conditions ----
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = _box(d)
        state["t"] = _box(t)
        state["old_dirs"] = _box(old_dirs)
        state["old_stps"] = _box(old_stps)
        state["ro"] = _box(ro)
        state["H_diag"] = _box(H_diag)
        state["prev_flat_grad"] = _box(prev_flat_grad)
        state["prev_loss"] = prev_loss
        if al is not None:
            state["al"] = _box(al)
        return orig_loss
