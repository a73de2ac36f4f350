"""Reverse-mode automatic differentiation: ``backward``, ``grad``, ``Function``, grad modes."""
from __future__ import annotations

import warnings

from .function import (  # noqa: F401
    Function, FunctionCtx, once_differentiable, Node, RemovableHandle,
)
from .grad_mode import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
    is_inference_mode_enabled, detect_anomaly, set_detect_anomaly,
)
from . import engine as _engine
from . import function as _function

__all__ = ["backward", "grad", "Function", "Variable", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "detect_anomaly", "set_detect_anomaly",
           "gradcheck", "gradgradcheck"]


def _tensors(x, what: str) -> tuple:
    """A Tensor, a sequence of Tensors, or (for ``inputs``) a dict of them, as a tuple."""
    Tensor = _function._Tensor
    if isinstance(x, Tensor):
        return (x,)
    if type(x) is dict:
        return tuple(x.values())
    res = tuple(x)
    for i, t in enumerate(res):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what} must be Tensors, but element {i} is "
                            f"{type(t).__name__}")
    return res


def _make_grads(outputs, grad_outputs) -> list:
    """torch's ``_make_grads``: check given output gradients, create implicit ones."""
    Tensor = _function._Tensor
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    else:
        grad_outputs = tuple(grad_outputs)
    res = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if isinstance(g, Tensor):
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                    f"output[{i}] has a shape of {out.shape}.")
            if out.dtype.is_complex != g.dtype.is_complex:
                raise RuntimeError(
                    "For complex Tensors, both grad_output and output are required to have "
                    f"the same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                    f"{g.dtype} and output[{i}] has a dtype of {out.dtype}.")
            if g._data.dtype != out._data.dtype:
                g = g.to(out.dtype)
        elif g is None:
            if out._requires_grad:
                if out._data.size != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                if not out.dtype.is_floating_point:
                    raise RuntimeError("grad can be implicitly created only for real scalar "
                                       f"outputs but got {out.dtype}")
                g = Tensor._wrap(Tensor._xp.ones(out._data.shape, dtype=out._data.dtype))
        else:
            raise TypeError(f"gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}")
        res.append(g)
    return res


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables=None, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves (or only of
    ``inputs``, which may also be non-leaf tensors)."""
    if grad_variables is not None:
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.",
                      FutureWarning, stacklevel=2)
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both "
                               "passed to `backward()`. Please only use `grad_tensors`.")
        grad_tensors = grad_variables
    if inputs is not None:
        inputs = _tensors(inputs, "inputs")
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    tensors = _tensors(tensors, "tensors")
    grads = _make_grads(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    _engine.run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs,
                         accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False):
    """Return the gradients of ``outputs`` w.r.t. ``inputs`` without touching ``.grad``.

    ``inputs`` may be a Tensor, a sequence, or a dict (then a dict is returned)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if is_grads_batched:
        raise NotImplementedError("ember.autograd.grad: is_grads_batched=True (vmap over "
                                  "grad_outputs) is not supported; loop over the batch instead")
    if allow_unused is None:
        allow_unused = materialize_grads
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please use "
                      "torch.autograd.backward.", FutureWarning, stacklevel=2)
    outputs = _tensors(outputs, "outputs")
    inputs_t = _tensors(inputs, "inputs")
    if len(inputs_t) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grads = _make_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    res = _engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs_t,
                               allow_unused=allow_unused, accumulate=False)
    if materialize_grads:
        from .._ops.creation import zeros_like
        res = tuple(r if r is not None else zeros_like(i, requires_grad=create_graph)
                    for r, i in zip(res, inputs_t))
    if type(inputs) is dict:
        return dict(zip(inputs.keys(), res))
    return res


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, _function._Tensor)


class Variable(metaclass=_VariableMeta):
    """Deprecated torch API kept for old code (the seeds use it): ``Variable(t)`` returns a
    Tensor sharing ``t``'s data, requiring grad if asked; every Tensor is a Variable."""

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        Tensor = _function._Tensor
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            from .._ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = Tensor._wrap(data._data)
        t._version = data._version
        if requires_grad:
            t.requires_grad_(True)
        return t


from .gradcheck import gradcheck, gradgradcheck, GradcheckError  # noqa: E402,F401
from . import functional  # noqa: E402,F401
from . import function  # noqa: E402,F401
from . import graph  # noqa: E402,F401
