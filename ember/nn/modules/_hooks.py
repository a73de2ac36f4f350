"""Module hooks: removable handles, the global hook registries, and the machinery behind
``register_full_backward_hook`` (identity autograd Functions around a module's inputs and
outputs that see the gradients flowing through them)."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Callable

from ..._tensor import Tensor

# global hooks (torch.nn.modules.module.register_module_forward_hook & co)
_global_forward_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
_global_forward_hooks: "OrderedDict[int, Callable]" = OrderedDict()
_global_backward_hooks: "OrderedDict[int, Callable]" = OrderedDict()


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` unregisters."""

    _next_id = 0

    def __init__(self, *hooks_dicts):
        self.hooks_dicts_ref = [weakref.ref(d) if _weakrefable(d) else (lambda d=d: d)
                                for d in hooks_dicts]
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        for ref in self.hooks_dicts_ref:
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _weakrefable(d) -> bool:
    try:
        weakref.ref(d)
        return True
    except TypeError:
        return False


class _HookDict(OrderedDict):
    """An OrderedDict that can be weakly referenced (plain dicts cannot)."""


def _add_hook(d, hook, prepend=False, *extra_dicts):
    handle = RemovableHandle(d, *extra_dicts)
    d[handle.id] = hook
    if prepend:
        d.move_to_end(handle.id, last=False)
    return handle


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Register a forward pre-hook common to all modules."""
    return _add_hook(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable, *, always_call: bool = False
                                 ) -> RemovableHandle:
    """Register a forward hook common to all modules."""
    return _add_hook(_global_forward_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Register a backward hook common to all modules."""
    return _add_hook(_global_backward_hooks, hook)


# ---------------------------------------------------------------------------------------------
# Full backward hooks: identity Functions around the module's inputs and outputs.
# ---------------------------------------------------------------------------------------------
class _BackwardHookState:
    def __init__(self, module, hooks, pre_hooks):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.n_inputs = 0
        self.input_requires_grad = False
        self.grad_outputs = None

    def wrap_inputs(self, args):
        from ...autograd import grad_mode
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(tensor_pos)
        self.input_requires_grad = grad_mode.is_grad_enabled() and any(
            args[i].requires_grad for i in tensor_pos)
        if not self.input_requires_grad:
            return args
        outs = _InputHookFn.apply(self, *[args[i] for i in tensor_pos])
        outs = outs if isinstance(outs, tuple) else (outs,)
        args = list(args)
        for i, o in zip(tensor_pos, outs):
            args[i] = o
        return tuple(args)

    def wrap_outputs(self, result):
        from ...autograd import grad_mode
        single = isinstance(result, Tensor)
        outs = (result,) if single else result
        if not isinstance(outs, tuple) or not grad_mode.is_grad_enabled():
            return result
        pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not pos:
            return result
        wrapped = _OutputHookFn.apply(self, *[outs[i] for i in pos])
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        outs = list(outs)
        for i, o in zip(pos, wrapped):
            outs[i] = o
        return outs[0] if single else tuple(outs)

    def on_grad_outputs(self, grads):
        for hook in self.pre_hooks:
            res = hook(self.module, grads)
            if res is not None:
                grads = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        self.grad_outputs = grads
        if not self.input_requires_grad:
            for hook in self.hooks:
                hook(self.module, (None,) * max(self.n_inputs, 1), grads)
        return grads

    def on_grad_inputs(self, grads):
        for hook in self.hooks:
            res = hook(self.module, grads, self.grad_outputs)
            if res is not None:
                grads = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        return grads


def _identity_fn(name, callback):
    from ...autograd import Function

    def forward(ctx, state, *tensors):
        ctx.state = state
        return tuple(t.view_as(t) for t in tensors) if len(tensors) != 1 else \
            tensors[0].view_as(tensors[0])

    def backward(ctx, *grads):
        return (None,) + tuple(getattr(ctx.state, callback)(grads))

    return type(name, (Function,), {"forward": staticmethod(forward),
                                    "backward": staticmethod(backward)})


_InputHookFn = _identity_fn("BackwardHookFunction", "on_grad_inputs")
_OutputHookFn = _identity_fn("BackwardHookFunction", "on_grad_outputs")
