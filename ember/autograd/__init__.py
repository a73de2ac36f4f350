"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes."""
from __future__ import annotations

from .function import Function, FunctionCtx, once_differentiable, Node  # noqa: F401
from .grad_mode import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
    is_inference_mode_enabled, detect_anomaly, set_detect_anomaly, is_anomaly_enabled,
)
from . import engine as _engine
from . import function as _function


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def _make_grads(outputs, grad_outputs):
    Tensor = _function._Tensor
    res = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None and i < len(grad_outputs) else None
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point and not out.dtype.is_complex:
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs "
                                   f"but got {out.dtype}")
            g = Tensor._wrap(Tensor._xp.ones(out._data.shape, dtype=out._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor._wrap(Tensor._xp.asarray(g, dtype=out._data.dtype))
            if g.shape != out.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                    f"has a shape of {out.shape}.")
        res.append(g)
    return res


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves."""
    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors if grad_tensors is not None else grad_variables)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    grads = _make_grads(tensors, grad_tensors)
    _engine.run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs,
                         accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of ``outputs`` w.r.t. ``inputs`` without touching ``.grad``."""
    if is_grads_batched:
        raise NotImplementedError("ember.autograd.grad: is_grads_batched=True is not supported")
    outputs = _as_tuple(outputs)
    single = not isinstance(inputs, (tuple, list))
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grad_outputs)
    res = _engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                               allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from .. import zeros_like
        res = tuple(r if r is not None else zeros_like(i) for r, i in zip(res, inputs))
    return res


def Variable(data, requires_grad: bool = False, volatile: bool = False):
    """Deprecated torch API kept for old code: returns ``data`` itself (a Tensor), with
    ``requires_grad`` set when asked."""
    if requires_grad:
        data.requires_grad_(True)
    return data


from .gradcheck import gradcheck, gradgradcheck  # noqa: E402,F401
from . import functional  # noqa: E402,F401
