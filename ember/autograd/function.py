"""Graph nodes and differentiable primitives.

A primitive is one class with its ``forward`` (on backend arrays) and ``backward`` (on
Tensors, so that ``create_graph=True`` gives higher-order gradients) side by side::

    class Exp(Primitive):
        save_output = True
        def forward(self, x):
            return xp.exp(x)
        def backward(self, gy):
            return gy * self.saved_output

``Primitive.apply(*inputs, **params)``: positional inputs are Tensors (or Python numbers,
treated as constants); keyword arguments are non-differentiable parameters handed to
``forward``. ``backward`` returns one gradient (or None) per positional input.

Each node saves only what its backward needs: the positional inputs listed in
``save_inputs`` and, if ``save_output`` is set, its output (stored as data, not as a Tensor,
so there is no reference cycle). Saved tensors remember their version; backward through one
that was modified in place raises torch's RuntimeError. Saved state is dropped as soon as
the node's backward has run, unless ``retain_graph`` is set.
"""
from __future__ import annotations

import weakref

from .grad_mode import STATE

_Tensor = None  # ember._tensor.Tensor, bound at import time by ember._tensor


class VersionCounter:
    """Shared by a tensor and all its views; bumped by every in-place op."""
    __slots__ = ("v",)

    def __init__(self):
        self.v = 0


class Node:
    """A node of the backward graph (what ``tensor.grad_fn`` returns)."""

    __slots__ = ("next_functions", "_pre_hooks", "_post_hooks", "_released", "metadata",
                 "__dict__", "__weakref__")

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward."""
        hooks = getattr(self, "_post_hooks", None)
        if hooks is None:
            hooks = self._post_hooks = []
        hooks.append(fn)
        return _RemovableHandle(hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; may return new grads."""
        return self._add_pre_hook(-1, fn)

    def _add_pre_hook(self, output_nr, fn):
        try:
            hooks = self._pre_hooks
        except AttributeError:
            hooks = self._pre_hooks = {}
        lst = hooks.setdefault(output_nr, [])
        lst.append(fn)
        return _RemovableHandle(lst, fn)


class _RemovableHandle:
    __slots__ = ("_lst", "_fn")

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self):
        try:
            self._lst.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad(Node):
    """The node that writes a leaf's gradient into ``leaf.grad``."""

    __slots__ = ("_var",)

    def __init__(self, var):
        self._var = weakref.ref(var)
        self.next_functions = ()

    @property
    def variable(self):
        return self._var()


def _type_desc(t) -> str:
    return f"[ember.{t.dtype.name.capitalize()}Tensor [{', '.join(str(s) for s in t.shape)}]]"


class Primitive(Node):
    """Base of ember's built-in differentiable ops. See the module docstring."""

    save_inputs: tuple = ()
    save_output: bool = False
    nondiff_outputs: tuple = ()   # output positions that never require grad (indices...)
    once_differentiable: bool = False

    # ---- forward/backward, overridden by each primitive -----------------------------
    def forward(self, *args, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- plumbing --------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        Tensor = _Tensor
        node = cls.__new__(cls)
        requires = False
        if STATE.enabled:
            raws = []
            for t in inputs:
                if isinstance(t, Tensor):
                    raws.append(t._data)
                    if t._requires_grad:
                        requires = True
                else:
                    raws.append(t)
        else:
            raws = [t._data if isinstance(t, Tensor) else t for t in inputs]
        node.requires_grad = requires
        out = node.forward(*raws, **params)
        if not requires:
            if type(out) is tuple:
                return tuple(Tensor._wrap(o) for o in out)
            return Tensor._wrap(out)

        node.next_functions = tuple(_edge(t) for t in inputs)
        node._released = False
        if node.save_inputs:
            saved = tuple(inputs[i] for i in node.save_inputs)
            node._saved = saved
            node._saved_versions = tuple(
                t._version.v if isinstance(t, Tensor) else 0 for t in saved)
        if type(out) is tuple:
            nd = node.nondiff_outputs
            res = tuple(Tensor._wrap(o) if i in nd else Tensor._wrap(o, node, i)
                        for i, o in enumerate(out))
            if node.save_output:
                node._out = res[0]._data
                node._out_vc = res[0]._version
                node._out_v = res[0]._version.v
            return res
        res = Tensor._wrap(out, node, 0)
        if node.save_output:
            node._out = out
            node._out_vc = res._version
            node._out_v = res._version.v
        return res

    @property
    def saved_inputs(self):
        """The saved positional inputs, checked against in-place modification."""
        try:
            saved = self._saved
        except AttributeError:
            _raise_freed(self)
        if saved is None:
            _raise_freed(self)
        for t, v in zip(saved, self._saved_versions):
            if isinstance(t, _Tensor) and t._version.v != v:
                _raise_modified(self, t, v)
        return saved

    @property
    def saved_output(self):
        """The node's (first) output as a Tensor whose grad_fn is this node."""
        out = getattr(self, "_out", None)
        if out is None:
            _raise_freed(self)
        if self._out_vc.v != self._out_v:
            t = _Tensor._wrap(out)
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {_type_desc(t)}, which is output 0 of {self.name()}, is at "
                f"version {self._out_vc.v}; expected version {self._out_v} instead. Hint: the "
                "operation that produced it saved it for backward; make a .clone() before "
                "modifying it in place.")
        t = _Tensor._wrap(out, self if STATE.enabled else None, 0)
        t._version = self._out_vc
        return t

    def _release(self):
        self._released = True
        self._saved = None
        self._out = None

    # torch exposes saved tensors under these names on user functions
    @property
    def saved_tensors(self):
        return self.saved_inputs


def _raise_freed(node):
    raise RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors "
        "after they have already been freed). Saved intermediate values of the graph are freed "
        "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
        "backward through the graph a second time or if you need to access saved tensors after "
        f"calling backward. (node: {node.name()})")


def _raise_modified(node, t, v):
    where = (f"which is output {t._output_nr} of {t.grad_fn.name()}" if t.grad_fn is not None
             else "which is a leaf tensor")
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {_type_desc(t)}, {where}, is at version {t._version.v}; expected version "
        f"{v} instead. Hint: enable anomaly detection to find the operation that failed to "
        "compute its gradient, with ember.autograd.set_detect_anomaly(True).")


def _edge(t):
    """The (node, output_nr) pair that gradient for ``t`` should flow into."""
    if not isinstance(t, _Tensor) or not t._requires_grad:
        return (None, 0)
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    acc = t._accum
    if acc is None:
        acc = t._accum = AccumulateGrad(t)
    return (acc, 0)


# ---------------------------------------------------------------------------------------
# User-facing torch.autograd.Function
# ---------------------------------------------------------------------------------------
class FunctionCtx:
    """What ``ctx`` offers inside a custom Function's forward/backward."""

    def save_for_backward(self, *tensors):
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = value


class BackwardCFunction(Node, FunctionCtx):
    """The node (and ctx) of one call of a custom ``Function``."""

    _forward_cls = None
    materialize_grads = True

    def name(self) -> str:
        return f"{self._forward_cls.__name__}Backward"

    @property
    def saved_tensors(self):
        if self._released:
            _raise_freed(self)
        saved = getattr(self, "_saved_list", ())
        for t, v in zip(saved, getattr(self, "_saved_versions", ())):
            if isinstance(t, _Tensor) and t._version.v != v:
                _raise_modified(self, t, v)
        return saved

    def _release(self):
        self._released = True
        self._saved_list = ()

    def apply_backward(self, grads):
        return self._forward_cls.backward(self, *grads)


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,),
                                 {"_forward_cls": cls, "__slots__": ()})


class Function(metaclass=_FunctionMeta):
    """Base for custom differentiable functions, as ``torch.autograd.Function``::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g

    ``forward`` runs with grad mode off; ``backward`` runs under the engine's grad mode, so
    it is differentiable when ``create_graph=True``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _Tensor
        ctx = cls._backward_cls()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        requires = STATE.enabled and any(ctx.needs_input_grad)
        prev = STATE.enabled
        STATE.enabled = False
        try:
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        if not requires:
            return out
        ctx.next_functions = tuple(_edge(a) for a in args)
        ctx._released = False
        non_diff = getattr(ctx, "_non_diff", set())
        dirty = {id(t) for t in getattr(ctx, "_dirty", ())}
        wrapped = []
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                wrapped.append(o)
                continue
            is_input = any(o is a for a in args)
            if id(o) in non_diff:
                t = o if not is_input or id(o) in dirty else o.detach()
                t._requires_grad = False
                wrapped.append(t)
                continue
            if id(o) in dirty:
                o.grad_fn, o._output_nr, o._requires_grad = ctx, i, True
                o._version.v += 1
                wrapped.append(o)
                continue
            t = Tensor._wrap(o._data, ctx, i) if (is_input or o.grad_fn is not None
                                                 or o._requires_grad) else o
            if t is o:
                o.grad_fn, o._output_nr, o._requires_grad = ctx, i, True
            wrapped.append(t)
        ctx._n_outputs = len(outs)
        to_save = getattr(ctx, "_to_save", ())
        ctx._saved_list = tuple(to_save)
        ctx._saved_versions = tuple(t._version.v if isinstance(t, Tensor) else 0
                                    for t in to_save)
        return wrapped[0] if single else tuple(wrapped)


class once_differentiable:
    """Decorator for a custom backward that is not itself differentiable."""

    def __new__(cls, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(ctx, *args):
            from .grad_mode import no_grad
            with no_grad():
                out = fn(ctx, *args)
            if STATE.enabled and any(isinstance(a, _Tensor) and a._requires_grad for a in args):
                raise RuntimeError(
                    f"{fn.__qualname__} is decorated with @once_differentiable: its backward "
                    "cannot be differentiated again (create_graph=True went through it).")
            return out
        return wrapper
