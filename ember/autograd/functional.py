"""Higher-level differentiation (``torch.autograd.functional``): ``vjp``, ``jvp``,
``jacobian``, ``hessian``, ``vhp``, ``hvp``, all built on ``autograd.grad``.

Differs from torch: ``vectorize=True`` and ``strategy="forward-mode"`` are accepted but the
computation is always one reverse-mode pass per output element.
"""
from __future__ import annotations

from . import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tensor_type():
    from .function import _Tensor
    return _Tensor


def _as_tuple(x, arg_name: str, fn_name: str):
    Tensor = _tensor_type()
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                                f"tuple of Tensors but the value at index {i} has type "
                                f"{type(t)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the given {arg_name} has type {type(t)}.")
    return is_tuple, xs


def _untuple(xs, was_tuple: bool):
    return xs if was_tuple else xs[0]


def _prepare(inputs, create_graph: bool, need_graph: bool = True):
    """Inputs the function is differentiated at: fresh leaves, or (with create_graph)
    aliases that keep the user's graph."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad
                 else x.detach().requires_grad_(need_graph) for x in inputs)


def _post(xs, create_graph: bool):
    if create_graph:
        return xs
    return tuple(x.detach() if x is not None else None for x in xs)


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False,
                   retain_graph=None):
    """``grad`` that tolerates outputs not requiring grad (their gradients are None)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, gos = zip(*pairs)
    return _grad(outs, inputs, gos, allow_unused=True, create_graph=create_graph,
                 retain_graph=retain_graph)


def _check_requires_grad(xs, what: str, strict: bool) -> None:
    if not strict:
        return
    for i, x in enumerate(xs):
        if x is None or not x.requires_grad:
            if what == "outputs":
                raise RuntimeError(f"Output {i} of the user-provided function does not require "
                                   "gradients. The outputs must be computed in a differentiable "
                                   "manner from the input when running in strict mode.")
            raise RuntimeError(f"The {what} {i} of the user-provided function does not require "
                               "gradients in strict mode.")


def _fill_zeros(grads, refs, strict: bool, stage: str):
    from .._ops.creation import zeros_like
    res = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                if stage == "back":
                    raise RuntimeError(f"The output of the user-provided function is independent "
                                       f"of input {i}. This is not allowed in strict mode.")
                raise RuntimeError(f"The gradient with respect to input {i} is independent of the "
                                   "inputs of the user-provided function. This is not allowed in "
                                   "strict mode.")
            g = zeros_like(r)
        res.append(g)
    return tuple(res)


def _validate_v(v, other, is_tuple: bool, what: str):
    if len(v) != len(other):
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                           f"{len(v)}.")
    for i, (a, b) in enumerate(zip(v, other)):
        if a.shape != b.shape:
            prefix = f"Entry {i} in " if is_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.shape} but got "
                               f"{a.shape}.")


def _inputs_and_v(inputs, v, fn_name: str, create_graph: bool):
    """Prepared inputs and the vector ``v`` in input space (None only for one scalar)."""
    in_tuple, ins = _as_tuple(inputs, "inputs", fn_name)
    ins = _prepare(ins, create_graph)
    if v is not None:
        _, vs = _as_tuple(v, "v", fn_name)
        _validate_v(vs, ins, in_tuple, "inputs")
    else:
        if len(ins) != 1 or ins[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        vs = None
    return in_tuple, ins, vs


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "vjp")
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "vjp")
        _check_requires_grad(outs, "outputs", strict)
        if v is not None:
            _, vs = _as_tuple(v, "v", "vjp")
            _validate_v(vs, outs, out_tuple, "outputs")
        else:
            if len(outs) != 1 or outs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function "
                                   "returns a single Tensor with a single element.")
            vs = None
        grads = _autograd_grad(outs, ins, vs, create_graph=create_graph)
        res = _fill_zeros(grads, ins, strict, "back")
    return (_untuple(_post(outs, create_graph), out_tuple),
            _untuple(_post(res, create_graph), in_tuple))


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``, by differentiating a vector-Jacobian product again (the
    "double backward trick", as torch does)."""
    from .._ops.creation import zeros_like
    with enable_grad():
        in_tuple, ins, vs = _inputs_and_v(inputs, v, "jvp", create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function", "jvp")
        _check_requires_grad(outs, "outputs", strict)
        dummy = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        grad_in = _autograd_grad(outs, ins, dummy, create_graph=True)
        _check_requires_grad(grad_in, "grad_inputs", strict)
        grad_out = _autograd_grad(grad_in, dummy, vs, create_graph=create_graph)
        res = _fill_zeros(grad_out, outs, strict, "back_trick")
    return (_untuple(_post(outs, create_graph), out_tuple),
            _untuple(_post(res, create_graph), out_tuple))


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` has shape
    ``outputs[i].shape + inputs[j].shape`` (tuples collapse as in torch)."""
    from .._ops.creation import zeros_like
    from .._ops.shape import stack
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: '
                         'If your function has more outputs than inputs, "forward-mode" tends to '
                         'be more performant. Otherwise, prefer to use "reverse-mode".')
    with enable_grad():
        in_tuple, ins = _as_tuple(inputs, "inputs", "jacobian")
        ins = _prepare(ins, create_graph)
        out_tuple, outs = _as_tuple(func(*ins), "outputs of the user-provided function",
                                    "jacobian")
        _check_requires_grad(outs, "outputs", strict)
        jac = []
        for i, out in enumerate(outs):
            flat = out.reshape(-1)
            rows = [[] for _ in ins]
            for k in range(flat.numel()):
                gs = _autograd_grad((flat[k],), ins, retain_graph=True,
                                    create_graph=create_graph)
                for j, (g, x) in enumerate(zip(gs, ins)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {j}. This is not allowed "
                                               "in strict mode.")
                        g = zeros_like(x)
                    rows[j].append(g)
            per_in = []
            for j, x in enumerate(ins):
                if rows[j]:
                    J = stack(rows[j]).reshape(tuple(out.shape) + tuple(x.shape))
                else:
                    J = zeros_like(x).reshape((0,) + tuple(x.shape)).reshape(
                        tuple(out.shape) + tuple(x.shape))
                per_in.append(J)
            jac.append(_post(tuple(per_in), create_graph))
    if out_tuple:
        return tuple(_untuple(r, in_tuple) for r in jac)
    return _untuple(jac[0], in_tuple)


def _scalar_output(func, fn_name):
    def checked(*xs):
        Tensor = _tensor_type()
        out = func(*xs)
        if isinstance(out, (tuple, list)):
            if len(out) != 1:
                raise RuntimeError(f"The function given to {fn_name} should return a single "
                                   "Tensor")
            out = out[0]
        if not isinstance(out, Tensor):
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                               "contain a single element")
        return out
    return checked


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: ``H[i][j]`` has shape
    ``inputs[i].shape + inputs[j].shape``."""
    in_tuple, ins = _as_tuple(inputs, "inputs", "hessian")
    f = _scalar_output(func, "hessian")

    def jac_fn(*xs):
        out = f(*xs)
        gs = _autograd_grad((out,), xs, create_graph=True)
        return _fill_zeros(gs, xs, strict, "back")

    res = jacobian(jac_fn, ins, create_graph=create_graph, strict=strict)
    return _untuple(tuple(_untuple(r, in_tuple) for r in res), in_tuple)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    with enable_grad():
        in_tuple, ins, vs = _inputs_and_v(inputs, v, "vhp", create_graph)
        out = _scalar_output(func, "vhp")(*ins)
        _check_requires_grad((out,), "outputs", strict)
        jac = _autograd_grad((out,), ins, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        grads = _autograd_grad(jac, ins, vs, create_graph=create_graph)
        res = _fill_zeros(grads, ins, strict, "double_back")
    return _post((out,), create_graph)[0], _untuple(_post(res, create_graph), in_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func`` (equal to ``vhp`` for the symmetric
    Hessians of twice-differentiable functions; computed the same way)."""
    return vhp(func, inputs, v, create_graph=create_graph, strict=strict)
