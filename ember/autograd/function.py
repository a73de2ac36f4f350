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
so there is no reference cycle); ``release_attrs`` names further attributes (masks, index
arrays) to drop. Saved tensors remember their version; backward through one that was
modified in place raises torch's RuntimeError. Saved state is dropped as soon as the node's
backward has run, unless ``retain_graph`` is set.

Edges: ``node._edges`` holds one ``(node, output_nr)`` pair per positional input, aligned
with what ``backward`` returns; the engine walks these. ``next_functions`` is torch's view
of them: Tensor inputs always, Python numbers as ``(None, 0)`` where torch's op takes a
Tensor there (``a + 1``), other positional parameters (dtypes...) never.
"""
from __future__ import annotations

import functools
import re
import weakref

from .grad_mode import STATE

_Tensor = None  # ember._tensor.Tensor, bound at import time by ember._tensor

# Edge markers. All three equal (None, 0); identity tells them apart for next_functions.
_NO_EDGE = (None, 0)              # a Tensor input that does not require grad
_NUM_EDGE = tuple([None, 0])      # a Python number input
_PARAM_EDGE = tuple([None, 0])    # any other positional input (a dtype, None...)
_NUMBER_TYPES = (int, float, complex)


class VersionCounter:
    """Shared by a tensor and all its views; bumped by every in-place op.

    ``tensor._version`` is this object (``.v`` is the count); it compares equal to, and
    converts to, the int that torch's ``tensor._version`` returns."""
    __slots__ = ("v",)

    def __init__(self):
        self.v = 0

    def __int__(self) -> int:
        return self.v

    __index__ = __int__

    def __eq__(self, other):
        if isinstance(other, VersionCounter):
            return self is other
        return self.v == other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return str(self.v)


class Node:
    """A node of the backward graph (what ``tensor.grad_fn`` returns)."""

    __slots__ = ("_edges", "_metadata", "__dict__", "__weakref__")

    _pre_hooks = None     # {output_nr: [hook(grad) -> grad | None]}; -1: node prehooks
    _post_hooks = None    # [hook(grad_inputs, grad_outputs) -> grad_inputs | None]
    _released = False    # saved state freed by a backward without retain_graph

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        return self._edges

    @property
    def metadata(self) -> dict:
        try:
            return self._metadata
        except AttributeError:
            self._metadata = {}
            return self._metadata

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward; a returned
        tuple replaces ``grad_inputs``."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return RemovableHandle(self._post_hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; may return new grads."""
        return self._add_pre_hook(-1, fn)

    def _add_pre_hook(self, output_nr, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(output_nr, [])
        lst.append(fn)
        return RemovableHandle(lst, fn)


class RemovableHandle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""
    __slots__ = ("_lst", "_fn")

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self) -> None:
        try:
            self._lst.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_RemovableHandle = RemovableHandle   # older internal name


class AccumulateGrad(Node):
    """The node that writes a leaf's gradient into ``leaf.grad``."""

    __slots__ = ("_var",)

    def __init__(self, var):
        self._var = weakref.ref(var)
        self._edges = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"

    @property
    def variable(self):
        return self._var()


def _edge(t):
    """The (node, output_nr) pair that gradient for input ``t`` should flow into."""
    if isinstance(t, _Tensor):
        if not t._requires_grad:
            return _NO_EDGE
        if t._base is not None:   # a view whose base changed in place: re-derive its grad_fn
            info = t._view_fn
            if info is not None and info.version != t._version.v:
                info.refresh(t)
        fn = t.grad_fn
        if fn is not None:
            return (fn, t._output_nr)
        acc = t._accum
        if acc is None:
            acc = t._accum = AccumulateGrad(t)
        return (acc, 0)
    return _NUM_EDGE if isinstance(t, _NUMBER_TYPES) else _PARAM_EDGE


_new = object.__new__


class Primitive(Node):
    """Base of ember's built-in differentiable ops. See the module docstring."""

    save_inputs: tuple = ()       # positions of inputs that backward reads (saved_inputs)
    save_output: bool = False     # backward reads output 0 (saved_output)
    release_attrs: tuple = ()     # further attributes holding arrays, dropped after backward
    n_outputs: int = 1
    nondiff_outputs: tuple = ()   # output positions that never require grad (indices...)
    once_differentiable: bool = False
    scalar_edges: bool = True     # next_functions lists Python-number inputs as (None, 0)
    hidden_edges: tuple = ()      # input positions torch does not list (where's condition)
    _saved = None
    _out = None

    # ---- forward/backward, overridden by each primitive -----------------------------
    def forward(self, *args, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grads):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- plumbing --------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        Tensor = _Tensor
        node = _new(cls)
        if STATE.enabled:
            requires = False
            raws = []
            for t in inputs:
                if isinstance(t, Tensor):
                    raws.append(t._data)
                    if t._requires_grad:
                        requires = True
                else:
                    raws.append(t)
            node.requires_grad = requires
            out = node.forward(*raws, **params)
            if requires:
                return node._attach(inputs, out)
        else:
            node.requires_grad = False
            out = node.forward(*[t._data if isinstance(t, Tensor) else t for t in inputs],
                               **params)
        wrap = Tensor._wrap
        if type(out) is tuple:
            return tuple([wrap(o) for o in out])
        return wrap(out)

    def _attach(self, inputs, out):
        """Record this node in the graph: edges, saved inputs/output, wrapped outputs."""
        Tensor = _Tensor
        edges = []
        for t in inputs:     # _edge(t), with its cheap cases inlined
            if isinstance(t, Tensor):
                if not t._requires_grad:
                    edges.append(_NO_EDGE)
                elif t._base is not None:
                    edges.append(_edge(t))
                elif t.grad_fn is not None:
                    edges.append((t.grad_fn, t._output_nr))
                else:
                    acc = t._accum
                    if acc is None:
                        acc = t._accum = AccumulateGrad(t)
                    edges.append((acc, 0))
            else:
                edges.append(_NUM_EDGE if isinstance(t, _NUMBER_TYPES) else _PARAM_EDGE)
        self._edges = tuple(edges)
        if self.save_inputs:
            saved = tuple([inputs[i] for i in self.save_inputs])
            self._saved = saved
            self._saved_versions = tuple([t._version.v if isinstance(t, Tensor) else 0
                                          for t in saved])
        wrap = Tensor._wrap
        if type(out) is tuple:
            nd = self.nondiff_outputs
            res = tuple([wrap(o) if i in nd or o.dtype.kind not in "fc" else wrap(o, self, i)
                         for i, o in enumerate(out)])
            first = res[0]
        else:
            res = first = wrap(out, self, 0)
            if first._data.dtype.kind not in "fc":   # integer/bool results never require grad
                first.grad_fn = None
                first._requires_grad = False
                return res
        if self.save_output:
            self._out = first._data
            self._out_vc = first._version
            self._out_v = first._version.v
        return res

    @property
    def next_functions(self) -> tuple:
        hide_num = not self.scalar_edges
        hidden = self.hidden_edges
        return tuple(e for i, e in enumerate(self._edges)
                     if e is not _PARAM_EDGE and not (hide_num and e is _NUM_EDGE)
                     and i not in hidden)

    @property
    def needs_input_grad(self) -> tuple:
        """Per positional input: does its gradient flow anywhere?"""
        return tuple(e[0] is not None for e in self._edges)

    @property
    def saved_inputs(self):
        """The saved positional inputs, checked against in-place modification."""
        saved = self._saved
        if saved is None:
            _raise_freed(self)
        for t, v in zip(saved, self._saved_versions):
            if isinstance(t, _Tensor) and t._version.v != v:
                _raise_modified(t, v)
        return saved

    @property
    def saved_output(self):
        """The node's (first) output as a Tensor whose grad_fn is this node."""
        out = self._out
        if out is None:
            _raise_freed(self)
        vc = self._out_vc
        t = _Tensor._wrap(out, self if STATE.enabled else None, 0)
        if vc.v != self._out_v:
            t.grad_fn = self
            _raise_modified(t, self._out_v, vc.v)
        t._version = vc
        return t

    # torch exposes saved tensors under this name on user functions
    saved_tensors = saved_inputs

    def _holds_state(self) -> bool:
        return bool(self.save_inputs or self.save_output or self.release_attrs)

    def _release(self):
        """Drop saved state (after a backward without retain_graph)."""
        if self.save_inputs or self.save_output or self.release_attrs:   # _holds_state()
            self._released = True
            self._saved = None
            self._out = None
            for a in self.release_attrs:
                setattr(self, a, None)


def _raise_freed(node):
    raise RuntimeError(
        "Trying to backward through the graph a second time (or directly access saved tensors "
        "after they have already been freed). Saved intermediate values of the graph are freed "
        "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
        "backward through the graph a second time or if you need to access saved tensors after "
        "calling backward.")


_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")


def _type_desc(t) -> str:
    legacy = t.type().rsplit(".", 1)[-1]
    return f"[ember.{legacy} [{', '.join(str(s) for s in t.shape)}]]"


def _raise_modified(t, expected, current=None):
    """torch's error for a saved tensor modified in place after it was saved."""
    current = t._version.v if current is None else current
    where = ""
    if t.grad_fn is not None:
        where = f", which is output {t._output_nr} of {_BACKWARD_SUFFIX.sub('', t.grad_fn.name())},"
    if STATE.anomaly:
        hint = ("Hint: the backtrace further above shows the operation that failed to compute "
                "its gradient. The variable in question was changed in there or anywhere later. "
                "Good luck!")
    else:
        hint = ("Hint: enable anomaly detection to find the operation that failed to compute its "
                "gradient, with ember.autograd.set_detect_anomaly(True).")
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {_type_desc(t)}{where} is at version {current}; expected version "
        f"{expected} instead. {hint}")


def snapshot_saved_self(node, t) -> None:
    """Before ``t`` is overwritten in place with the output of ``node``: if ``node`` saved
    ``t`` for backward, keep a copy of its old value instead (torch's ``original_self``)."""
    saved = node._saved if isinstance(node, Primitive) else None
    if saved is None:
        return
    # only input 0 (``self`` of the in-place op), as torch: ``x.mul_(x)`` still fails
    hit = [k for k, (pos, s) in enumerate(zip(node.save_inputs, saved)) if pos == 0 and s is t]
    if not hit:
        return
    old = _Tensor._wrap(t._data.copy(), t.grad_fn, t._output_nr)
    old._requires_grad = t._requires_grad
    node._saved = tuple([old if k in hit else s for k, s in enumerate(saved)])
    node._saved_versions = tuple([0 if k in hit else v
                                  for k, v in enumerate(node._saved_versions)])


def rebind_saved_output(node, t) -> None:
    """After ``t`` took ``node``'s output in place: the saved output is ``t`` itself, so a
    later in-place change of ``t`` is caught, as torch does."""
    if isinstance(node, Primitive) and node._out is not None and t._output_nr == 0:
        node._out = t._data
        node._out_vc = t._version
        node._out_v = t._version.v


# ---------------------------------------------------------------------------------------
# User-facing torch.autograd.Function
# ---------------------------------------------------------------------------------------
class FunctionCtx:
    """What ``ctx`` offers inside a custom Function's forward/backward."""

    def save_for_backward(self, *tensors) -> None:
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = {id(t) for t in tensors}

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class BackwardCFunction(Node, FunctionCtx):
    """The node (and ctx) of one call of a custom ``Function``."""

    _forward_cls = None
    materialize_grads = True
    _to_save = ()
    _dirty = ()
    _non_diff = frozenset()
    _saved_list = ()
    _saved_versions = ()
    _saved_outputs = None     # {position in saved list: output_nr} for saved outputs

    def name(self) -> str:
        return f"{self._forward_cls.__name__}Backward"

    @property
    def next_functions(self) -> tuple:
        return tuple(e for e in self._edges if e is not _PARAM_EDGE and e is not _NUM_EDGE)

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            _raise_freed(self)
        res = []
        outs = self._saved_outputs
        for k, (t, v) in enumerate(zip(self._saved_list, self._saved_versions)):
            if t is None:
                res.append(None)
                continue
            if outs is not None and k in outs:
                # saved outputs are kept without grad_fn (no cycle); unpack with history
                alias = _Tensor._wrap(t._data, self, outs[k])
                alias._version = t._version
                t = alias
            if t._version.v != v:
                _raise_modified(t, v)
            res.append(t)
        return tuple(res)

    saved_variables = saved_tensors

    def _holds_state(self) -> bool:
        return bool(self._saved_list)

    def _release(self):
        if self._saved_list:
            self._released = True
            self._saved_list = ()


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
    it is differentiable when ``create_graph=True``. Gradients returned by ``backward`` are
    checked as torch does: one per forward input, shapes summed down from broadcast shapes,
    cast to the input's dtype. Differs from torch: no ``jvp``/``vmap`` (forward-mode AD).
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
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("ember has no forward-mode AD: autograd.Function.jvp is not "
                                  "supported")

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _Tensor
        ctx = cls._backward_cls()
        needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        requires = STATE.enabled and any(needs)
        ctx.needs_input_grad = needs
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
        if not requires:
            return out
        return _attach_function(ctx, args, needs, out)

    @classmethod
    def _user_backward(cls):
        bw, vjp = cls.backward, cls.vjp
        overrides_bw = bw is not Function.backward
        overrides_vjp = vjp is not Function.vjp and vjp is not bw
        if overrides_bw and overrides_vjp:
            raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is "
                               "not allowed. You should only implement one of them.")
        return vjp if overrides_vjp else bw


def _attach_function(ctx, args, needs, out):
    """Wire the outputs of a custom Function call into the graph (grad mode on)."""
    Tensor = _Tensor
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    ctx._edges = tuple([_edge(a) for a in args])
    ctx._in_meta = tuple([(a._data.shape, a._data.dtype) if n else None
                          for a, n in zip(args, needs)])
    non_diff = ctx._non_diff
    dirty = {id(t) for t in ctx._dirty}
    for t in ctx._dirty:
        if t.grad_fn is None and t._requires_grad and t._base is None:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                               "operation.")
    wrapped, out_meta, produced = [], [], {}
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            wrapped.append(o)
            out_meta.append(None)
            continue
        out_meta.append((o._data.shape, o._data.dtype))
        diff = id(o) not in non_diff and (o.dtype.is_floating_point or o.dtype.is_complex)
        if id(o) in dirty:
            t = o
            o._version.v += 1
            if diff:
                o.grad_fn, o._output_nr, o._requires_grad = ctx, i, True
        elif any(o is a for a in args) or o.grad_fn is not None or o._requires_grad:
            # an input returned as is (or a tensor with history): a fresh alias
            t = Tensor._wrap(o._data, ctx if diff else None, i)
            t._version = o._version
        else:
            t = o
            if diff:
                o.grad_fn, o._output_nr, o._requires_grad = ctx, i, True
        if diff:
            produced[id(o)] = produced[id(t)] = (i, t)
        wrapped.append(t)
    ctx._n_outputs = len(outs)
    ctx._out_meta = tuple(out_meta)
    to_save = ctx._to_save
    if to_save:
        saved, versions, saved_outs = [], [], {}
        for k, s in enumerate(to_save):
            hit = produced.get(id(s)) if s is not None else None
            if hit is not None:
                nr, t = hit
                alias = Tensor._wrap(t._data)
                alias._version = t._version
                saved_outs[k] = nr
                s = alias
            saved.append(s)
            versions.append(s._version.v if s is not None else 0)
        ctx._saved_list = tuple(saved)
        ctx._saved_versions = tuple(versions)
        if saved_outs:
            ctx._saved_outputs = saved_outs
        ctx._to_save = ()
    return wrapped[0] if single else tuple(wrapped)


_ONCE_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


class _DelayedError(Primitive):
    """Identity whose backward raises: what a once_differentiable backward returns when a
    graph of its gradient is being recorded."""

    def forward(self, x):
        return x

    def backward(self, g):
        raise RuntimeError(_ONCE_MSG)

    def name(self) -> str:
        return "DelayedError"


def once_differentiable(fn):
    """Decorator for a custom ``backward`` that is not itself differentiable: it runs under
    no_grad, and differentiating its result again raises RuntimeError."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        prev = STATE.enabled
        STATE.enabled = False
        try:
            outputs = fn(ctx, *args)
        finally:
            STATE.enabled = prev
        if not prev or not any(isinstance(a, _Tensor) and a._requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        res = []
        for o in ((outputs,) if single else outputs):
            if isinstance(o, _Tensor):
                d = _Tensor._wrap(o._data)
                d._requires_grad = True
                o = _DelayedError.apply(d)
            res.append(o)
        return res[0] if single else tuple(res)
    return wrapper
