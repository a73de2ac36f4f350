"""Numerical gradient checks: ``gradcheck`` and ``gradgradcheck`` (float64 finite differences)."""
from __future__ import annotations


class GradcheckError(RuntimeError):
    pass


def _differentiable(inputs):
    from .function import _Tensor
    return [i for i in inputs if isinstance(i, _Tensor) and i.requires_grad]


def _flat_outputs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad=True,
              check_grad_dtypes=False, check_batched_grad=False, check_backward_ad=True,
              fast_mode=False, masked=None) -> bool:
    """Compare analytical gradients (backward) with central finite differences, for every
    differentiable input and every output element. Inputs should be float64."""
    from .. import no_grad
    from . import grad as _grad
    from .function import _Tensor
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = _differentiable(inputs)
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    outs = [o for o in _flat_outputs(func(*inputs)) if isinstance(o, _Tensor)]
    for o_idx, out in enumerate(outs):
        if not out.requires_grad:
            continue
        n_out = out.numel()
        # analytical: one backward per output element
        analytical = [[None] * n_out for _ in diff]
        for k in range(n_out):
            go = out.detach().clone().zero_()
            go.view(-1)[k] = 1.0
            outs2 = [o for o in _flat_outputs(func(*inputs)) if isinstance(o, _Tensor)]
            gs = _grad(outs2[o_idx], diff, go, allow_unused=True)
            for j, g in enumerate(gs):
                analytical[j][k] = None if g is None else g.detach().reshape(-1).clone()
        # numerical
        for j, x in enumerate(diff):
            flat = x.data.view(-1) if x.is_contiguous() else None
            if flat is None:
                raise ValueError("gradcheck needs contiguous inputs")
            for i in range(x.numel()):
                orig = float(flat[i])
                with no_grad():
                    flat[i] = orig + eps
                    plus = _flat_outputs(func(*inputs))[o_idx].detach().reshape(-1).clone()
                    flat[i] = orig - eps
                    minus = _flat_outputs(func(*inputs))[o_idx].detach().reshape(-1).clone()
                    flat[i] = orig
                num = (plus - minus) / (2 * eps)
                for k in range(n_out):
                    a = analytical[j][k]
                    a_val = 0.0 if a is None else float(a[i])
                    n_val = float(num[k])
                    if abs(a_val - n_val) > atol + rtol * abs(n_val):
                        if not raise_exception:
                            return False
                        raise GradcheckError(
                            f"Jacobian mismatch for output {o_idx} with respect to input {j},\n"
                            f"numerical:{n_val}\nanalytical:{a_val}\n(element {i} of the input, "
                            f"element {k} of the output)")
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs=False, raise_exception=True,
                  nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
                  check_batched_grad=False, check_fwd_over_rev=False, check_rev_over_rev=True,
                  fast_mode=False, masked=False) -> bool:
    """gradcheck of the gradient: checks second derivatives through ``create_graph=True``."""
    from .. import randn_like
    from . import grad as _grad
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = _differentiable(inputs)
    outs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o, dtype=o.dtype).requires_grad_(True) for o in outs)
    grad_outputs = tuple(grad_outputs)
    n_in = len(inputs)

    def first_grad(*args):
        ins, gos = args[:n_in], args[n_in:]
        outs_ = _flat_outputs(func(*ins))
        d = _differentiable(ins)
        gs = _grad(outs_, d, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grad, tuple(inputs) + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
