"""Numerical gradient checks: ``gradcheck`` and ``gradgradcheck``.

Central finite differences against the analytical gradients from backward, as torch's
slow mode does: the full Jacobian of every differentiable output w.r.t. every input that
requires grad, one backward per output element (run twice to catch non-reentrant
backwards). ``fast_mode=True`` compares one random projection ``v^T J u`` instead.
Inputs should be float64; perturbations are written into the inputs' memory and undone.
"""
from __future__ import annotations

import warnings

from .._backend import xp


class GradcheckError(RuntimeError):
    """Raised by gradcheck when the analytical and numerical gradients disagree."""


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _tensor_type():
    from .function import _Tensor
    return _Tensor


def _diff_outputs(out) -> list:
    Tensor = _tensor_type()
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o.requires_grad]


def _all_outputs(out) -> list:
    Tensor = _tensor_type()
    return [o for o in _as_tuple(out) if isinstance(o, Tensor)]


def _fail(msg: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _eval(func, inputs) -> list:
    """Forward values of all Tensor outputs, copied (outputs may alias inputs)."""
    return [o._data.astype(xp.float64 if o._data.dtype.kind != "c" else o._data.dtype,
                           copy=True).reshape(-1)
            for o in _all_outputs(func(*inputs))]


def _numerical_jacobian(func, inputs, diff_idx, n_outs, eps):
    """jac[j][o]: (numel of input j, numel of output o), by central differences."""
    jac = []
    for j in diff_idx:
        arr = inputs[j]._data
        if not arr.flags.writeable:
            raise ValueError(f"gradcheck: input {j} is a read-only (expanded) view; pass a "
                             "contiguous tensor")
        rows = [xp.zeros((arr.size, n), dtype=xp.float64) for n in n_outs]
        for k, idx in enumerate(xp.ndindex(arr.shape)):
            orig = arr[idx].copy()
            arr[idx] = orig - eps
            minus = _eval(func, inputs)
            arr[idx] = orig + eps
            plus = _eval(func, inputs)
            arr[idx] = orig
            for o, (p, m) in enumerate(zip(plus, minus)):
                rows[o][k] = (p - m) / (2 * eps)
        jac.append(rows)
    return jac


def _analytical_jacobian(out, diff_inputs, raise_exception):
    """(numel of input, numel of out) per input, one vjp per output element."""
    from . import grad as _grad
    Tensor = _tensor_type()
    jac = [xp.zeros((x.numel(), out.numel()), dtype=xp.float64) for x in diff_inputs]
    flat = xp.zeros(out._data.size, dtype=out._data.dtype)
    for k in range(out._data.size):
        flat[:] = 0
        flat[k] = 1
        go = Tensor._wrap(flat.reshape(out._data.shape).copy())
        gs = _grad(out, diff_inputs, go, retain_graph=True, allow_unused=True)
        for j, (g, x) in enumerate(zip(gs, diff_inputs)):
            if g is None:
                continue
            if tuple(g.shape) != tuple(x.shape):
                _fail("Gradient has incorrect size", True)
            jac[j][:, k] = g._data.reshape(-1)
    return jac


def _check_inputs(inputs) -> list:
    Tensor = _tensor_type()
    diff_idx = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for i in diff_idx:
        if inputs[i].dtype.name not in ("float64", "complex128"):
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", stacklevel=3)
    return diff_idx


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Check ``func``'s backward against finite differences; True if they agree.

    On a mismatch raises ``GradcheckError`` (``raise_exception=True``) or returns False.
    Differs from torch: forward-mode, batched and undefined-grad checks are not run."""
    if check_forward_ad or check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck: forward-mode AD and batched-grad checks are not "
                                  "supported by ember")
    from . import grad as _grad
    inputs = _as_tuple(inputs)
    diff_idx = _check_inputs(inputs)
    diff_inputs = [inputs[i] for i in diff_idx]
    outputs = _all_outputs(func(*inputs))
    if fast_mode:
        return _fast_check(func, inputs, diff_idx, outputs, eps, atol, rtol, raise_exception)
    n_outs = [o.numel() for o in outputs]
    numerical = _numerical_jacobian(func, inputs, diff_idx, n_outs, eps)
    for o_idx, out in enumerate(outputs):
        if not out.requires_grad:
            for j, i in enumerate(diff_idx):
                if xp.any(numerical[j][o_idx] != 0):
                    return _fail(f"Numerical gradient for function expected to be zero "
                                 f"(output {o_idx} does not require grad, input {i})",
                                 raise_exception)
            continue
        first = _analytical_jacobian(out, diff_inputs, raise_exception)
        second = _analytical_jacobian(out, diff_inputs, raise_exception)
        for j, i in enumerate(diff_idx):
            a, n = first[j], numerical[j][o_idx]
            if not xp.allclose(a, n, rtol=rtol, atol=atol):
                return _fail(f"Jacobian mismatch for output {o_idx} with respect to input {i},\n"
                             f"numerical:{_fmt(n)}\nanalytical:{_fmt(a)}\n", raise_exception)
            if xp.abs(first[j] - second[j]).max(initial=0.0) > nondet_tol:
                return _fail("Backward is not reentrant, i.e., running backward with same input "
                             "and grad_output multiple times gives different values, although "
                             "analytical gradient matches numerical gradient.The tolerance for "
                             f"nondeterminism was {nondet_tol}.", raise_exception)
    if check_grad_dtypes:
        outs = _diff_outputs(func(*inputs))
        if outs:
            gs = _grad(outs, diff_inputs, [o.detach() * 0 + 1 for o in outs], allow_unused=True)
            for g, x in zip(gs, diff_inputs):
                if g is not None and g.dtype != x.dtype:
                    return _fail("Gradient has dtype mismatch", raise_exception)
    return True


def _fmt(a) -> str:
    from .._tensor import Tensor
    return repr(Tensor._wrap(a))


def _fast_check(func, inputs, diff_idx, outputs, eps, atol, rtol, raise_exception) -> bool:
    """Compare ``v^T J u`` for random ``u`` (input space) and ``v`` (output space)."""
    from . import grad as _grad
    Tensor = _tensor_type()
    rng = xp.random.default_rng(0)
    us = [rng.standard_normal(inputs[i]._data.shape) for i in diff_idx]
    for o_idx, out in enumerate(outputs):
        if not out.requires_grad:
            continue
        v = rng.standard_normal(out._data.shape).astype(out._data.dtype)
        gs = _grad(out, [inputs[i] for i in diff_idx], Tensor._wrap(v), retain_graph=True,
                   allow_unused=True)
        for j, (i, u, g) in enumerate(zip(diff_idx, us, gs)):
            analytical = 0.0 if g is None else float((g._data * u).sum())
            arr = inputs[i]._data
            orig = arr.copy()
            arr[...] = orig + eps * u
            plus = _eval(func, inputs)[o_idx]
            arr[...] = orig - eps * u
            minus = _eval(func, inputs)[o_idx]
            arr[...] = orig
            numerical = float(((plus - minus) / (2 * eps) * v.reshape(-1)).sum())
            if abs(analytical - numerical) > atol + rtol * abs(numerical):
                return _fail(f"Jacobian mismatch for output {o_idx} with respect to input {i},\n"
                             f"numerical:{numerical}\nanalytical:{analytical}\n\n"
                             "(fast mode: compared the random projection v^T J u)",
                             raise_exception)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """gradcheck of the gradient: checks second derivatives, differentiating the first
    derivatives (computed with ``create_graph=True``) w.r.t. the inputs and the output
    gradients (random float64 values unless ``grad_outputs`` is given)."""
    from . import grad as _grad
    Tensor = _tensor_type()
    inputs = _as_tuple(inputs)
    outputs = _diff_outputs(func(*inputs))
    if grad_outputs is None:
        rng = xp.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype))
            .requires_grad_(True) for o in outputs)
    grad_outputs = _as_tuple(grad_outputs)
    n_go = len(grad_outputs)

    def first_grads(*args):
        ins, gos = args[:-n_go], args[-n_go:]
        outs = _diff_outputs(func(*ins))
        diff = [x for x in ins if isinstance(x, Tensor) and x.requires_grad]
        gs = _grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode)
