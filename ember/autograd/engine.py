"""The backward engine: an iterative reverse-topological walk of the graph.

1. Count, for every node reachable from the roots, how many edges point at it.
2. Run nodes whose count has dropped to zero; each one's gradients have then all arrived
   and are summed once, before its backward runs.
3. Leaves receive their gradient through AccumulateGrad (``backward``) or have it captured
   (``autograd.grad``, ``backward(inputs=...)``); with ``inputs`` only the nodes that lead
   to an input run.

No recursion, so a 10,000-step chain does not hit Python's recursion limit.
"""
from __future__ import annotations

import sys

from . import function as F
from .grad_mode import STATE
from .._backend.dtypes import _BY_NP

_getrefcount = sys.getrefcount


def _sum_grads(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _collect(roots):
    """Dependency count of every node reachable from ``roots`` (iterative DFS)."""
    deps: dict = {}
    root_set = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node._edges:
            if nxt is None:
                continue
            c = deps.get(nxt)
            if c is None:
                deps[nxt] = 1
                if nxt not in root_set:
                    stack.append(nxt)
            else:
                deps[nxt] = c + 1
    return deps


def _needed(nodes, targets):
    """Nodes from which some target can be reached through at least one edge: the only
    nodes whose backward has to run when gradients are wanted for ``targets`` only."""
    parents: dict = {}
    for node in nodes:
        for nxt, _ in node._edges:
            if nxt is not None:
                parents.setdefault(nxt, []).append(node)
    needed = set()
    stack = list(targets)
    while stack:
        n = stack.pop()
        for p in parents.get(n, ()):
            if p not in needed:
                needed.add(p)
                stack.append(p)
    return needed


def _accumulate(var, g, create_graph):
    """Add gradient ``g`` into ``var.grad`` as torch does (steal the buffer when nothing
    else can see it, else copy; later gradients are added in place)."""
    old = var._grad
    if old is None:
        if create_graph:
            var._grad = g.clone() if g._requires_grad else F._Tensor._wrap(g._data.copy())
            return
        arr = g._data
        vshape, vdtype = var._data.shape, var._data.dtype
        # references: our ``g`` and ``arr``, the caller's ``g``, getrefcount's argument
        if (_getrefcount(g) > 3 or _getrefcount(arr) > 3 or arr.base is not None
                or not arr.flags.writeable or arr.shape != vshape or arr.dtype != vdtype
                or g._requires_grad):
            arr = F._Tensor._broadcast_copy(arr, vshape).astype(vdtype, copy=False) \
                if arr.shape != vshape else arr.astype(vdtype, copy=True)
        var._grad = F._Tensor._wrap(arr)
        return
    if create_graph or old._requires_grad:
        var._grad = old + g
    else:
        old._data += g._data
        old._version.v += 1


def _run_pre_hooks(node, buf):
    """Tensor hooks on this node's outputs, then retain_grad, then node pre-hooks."""
    pre = node._pre_hooks
    if pre:
        for nr, hooks in pre.items():
            if nr < 0 or nr not in buf:
                continue
            for h in list(hooks):
                res = h(buf[nr])
                if res is not None:
                    buf[nr] = res
    rh = node.__dict__.get("_retain_hooks")
    if rh:
        for nr, h in rh.items():
            if nr in buf:
                h(buf[nr])
    if pre and pre.get(-1):
        n_out = node._n_outputs if isinstance(node, F.BackwardCFunction) else node.n_outputs
        for h in list(pre[-1]):
            res = h(tuple(buf.get(i) for i in range(n_out)))
            if res is not None:
                buf = {i: r for i, r in enumerate(res) if r is not None}
    return buf


def run_backward(roots, grad_roots, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False, accumulate: bool = True):
    """Backpropagate ``grad_roots`` from ``roots`` (Tensors).

    Without ``inputs``, leaf gradients go to ``.grad``. With ``inputs``, only the gradients
    w.r.t. those tensors are computed: accumulated into their ``.grad`` when ``accumulate``
    (``backward(inputs=...)``), else returned (``autograd.grad``).
    """
    if len(grad_roots) != len(roots):
        raise RuntimeError(f"got {len(roots)} tensors and {len(grad_roots)} gradients")
    root_edges = []
    for i, t in enumerate(roots):
        if not t._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        root_edges.append(F._edge(t))
    root_nodes = list(dict.fromkeys(n for n, _ in root_edges))
    deps = _collect(root_nodes)

    captures = needed = results = None
    if inputs is not None:
        captures = {}
        for i, t in enumerate(inputs):
            if not t._requires_grad:
                if accumulate:
                    raise RuntimeError("can't retain_grad on Tensor that has "
                                       "requires_grad=False")
                raise RuntimeError("One of the differentiated Tensors does not require grad")
            captures.setdefault(F._edge(t), []).append(i)
        needed = _needed(set(deps) | set(root_nodes), {n for n, _ in captures})
        results = [None] * len(inputs)

    buffers: dict = {}
    for (node, nr), g in zip(root_edges, grad_roots):
        buf = buffers.setdefault(node, {})
        buf[nr] = _sum_grads(buf.get(nr), g)

    ready = [n for n in root_nodes if n not in deps]
    AccumulateGrad = F.AccumulateGrad
    Primitive = F.Primitive
    prev = STATE.enabled
    STATE.enabled = create_graph
    anomaly = STATE.anomaly and STATE.check_nan
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, None)
            if buf is None:
                buf = {}
            elif node._pre_hooks is not None or "_retain_hooks" in node.__dict__:
                buf = _run_pre_hooks(node, buf)

            if type(node) is AccumulateGrad:
                var = node._var()
                g = buf.pop(0, None)
                if var is None or g is None:
                    continue
                for h in var._hooks or ():
                    res = h(g)
                    if res is not None:
                        g = res
                if captures is None:
                    _accumulate(var, g, create_graph)
                    for h in var._post_acc_hooks or ():
                        h(var)
                else:
                    for i in captures.get((node, 0), ()):
                        results[i] = _sum_grads(results[i], g)
                continue

            if captures is not None:
                for nr, g in buf.items():
                    for i in captures.get((node, nr), ()):
                        results[i] = _sum_grads(results[i], g)
                if node not in needed:
                    continue

            if node._released:
                F._raise_freed(node)
            if isinstance(node, Primitive) and node.n_outputs == 1:
                # the common case of _run_node, inline
                g = buf.get(0)
                if g is None:
                    grads_in = (None,) * len(node._edges)
                else:
                    grads_in = node.backward(g)
                    if type(grads_in) is not tuple:
                        grads_in = (grads_in,)
            else:
                grads_in = _run_node(node, buf)
            if anomaly:
                _check_nan(node, grads_in)
            post = node._post_hooks
            if post:
                n_out = len(buf) and max(buf) + 1
                outs = tuple(buf.get(i) for i in range(n_out))
                for h in post:
                    res = h(grads_in, outs)
                    if res is not None:
                        grads_in = tuple(res)
            if not retain_graph:
                node._release()
            for (nxt, nr), g in zip(node._edges, grads_in):
                if nxt is None:
                    continue
                if g is not None:
                    nb = buffers.get(nxt)
                    if nb is None:
                        buffers[nxt] = {nr: g}
                    else:
                        old = nb.get(nr)
                        nb[nr] = g if old is None else old + g
                d = deps[nxt] - 1
                if d:
                    deps[nxt] = d
                else:
                    ready.append(nxt)
            # drop our references, so a leaf can take its gradient's buffer without a copy
            grads_in = g = None
    finally:
        STATE.enabled = prev

    if inputs is None:
        return None
    if accumulate:
        for t, g in zip(inputs, results):
            if g is not None:
                _accumulate(t, g, create_graph)
                if t.grad_fn is None:
                    for h in t._post_acc_hooks or ():
                        h(t)
        return None
    if not allow_unused:
        for i, r in enumerate(results):
            if r is None:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
    return tuple(results)


_sum_to = None


def _run_node(node, buf):
    """Call ``node``'s backward with its summed output gradients; return input grads."""
    if node._released:
        F._raise_freed(node)
    if isinstance(node, F.Primitive):
        if node.n_outputs == 1:
            g = buf.get(0)
            if g is None:
                return (None,) * len(node._edges)
            out = node.backward(g)
        else:
            grads = [buf.get(i) for i in range(node.n_outputs)]
            if all(g is None for g in grads):
                return (None,) * len(node._edges)
            out = node.backward(*grads)
        return out if type(out) is tuple else (out,)
    return _run_function(node, buf)


def _run_function(node, buf):
    """Backward of a custom ``Function``: materialize missing grads, call the user's
    backward, then check its gradients as torch does."""
    Tensor = F._Tensor
    grads = [buf.get(i) for i in range(node._n_outputs)]
    if node.materialize_grads:
        for i, g in enumerate(grads):
            meta = node._out_meta[i]
            if g is None and meta is not None:
                grads[i] = Tensor._wrap(Tensor._xp.zeros(meta[0], dtype=meta[1]))
    out = node._forward_cls._user_backward()(node, *grads)
    if not isinstance(out, tuple):
        out = (out,)
    n_in = len(node._edges)
    if len(out) != n_in:
        if len(out) > n_in and all(o is None for o in out[n_in:]):
            out = out[:n_in]
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of "
                               f"gradients (expected {n_in}, got {len(out)})")
    res = list(out)
    for i, g in enumerate(res):
        if g is None:
            continue
        meta = node._in_meta[i]
        if meta is None:
            if node._edges[i] is not F._NO_EDGE:
                raise RuntimeError(
                    f"function {node.name()} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Variable")
            res[i] = None
            continue
        if not isinstance(g, Tensor):
            raise TypeError(f"expected Tensor or None as the gradient at index {i} returned "
                            f"by {node.name()} (got {type(g).__name__})")
        shape, dtype = meta
        if g._data.shape != shape:
            try:
                ok = Tensor._xp.broadcast_shapes(shape, g._data.shape) == g._data.shape
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(g._data.shape)} but expected shape compatible with {list(shape)}")
            global _sum_to
            if _sum_to is None:
                from .._ops._util import sum_to as _sum_to
            g = _sum_to(g, shape)
        if g._data.dtype != dtype:
            g = g.to(_BY_NP[dtype])
        res[i] = g
    return res


def _check_nan(node, grads):
    xp = F._Tensor._xp
    for i, g in enumerate(grads):
        if g is not None and g.dtype.is_floating_point and bool(xp.isnan(g._data).any()):
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.")
