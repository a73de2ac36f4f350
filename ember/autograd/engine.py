"""The backward engine: an iterative reverse-topological walk of the graph.

1. Count, for every node reachable from the roots, how many edges point at it.
2. Run nodes whose count has dropped to zero; each one's gradients have then all arrived
   and are summed once, before its backward runs.
3. Leaves receive their gradient through AccumulateGrad (``backward``) or have it captured
   (``autograd.grad``).

No recursion, so a 10,000-step chain does not hit Python's recursion limit.
"""
from __future__ import annotations

import sys

from . import function as F
from .grad_mode import STATE

_getrefcount = sys.getrefcount


def _sum_grads(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _collect(roots):
    """Dependency counts of every node reachable from ``roots`` (iterative DFS)."""
    deps: dict = {}
    seen = set()
    stack = [r for r in roots if r is not None]
    for r in stack:
        seen.add(r)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps, seen


def _needed(seen, targets):
    """Nodes from which some target node can be reached (only those need to run)."""
    parents: dict = {}
    for node in seen:
        for nxt, _ in node.next_functions:
            if nxt is not None:
                parents.setdefault(nxt, []).append(node)
    needed = set(targets)
    stack = list(targets)
    while stack:
        n = stack.pop()
        for p in parents.get(n, ()):
            if p not in needed:
                needed.add(p)
                stack.append(p)
    return needed


def _accumulate(var, g, create_graph):
    """Add gradient ``g`` into ``var.grad`` as torch does."""
    Tensor = F._Tensor
    old = var._grad
    if old is None:
        if create_graph:
            var._grad = g
            return
        arr = g._data
        # Steal the buffer when nothing else can see it; otherwise copy.
        if (g._requires_grad or g.grad_fn is not None or _getrefcount(g) > 3
                or _getrefcount(arr) > 2 or arr.base is not None or not arr.flags.writeable
                or arr.shape != var._data.shape):
            arr = arr.copy() if arr.shape == var._data.shape else \
                F._Tensor._broadcast_copy(arr, var._data.shape)
        var._grad = Tensor._wrap(arr)
        return
    if create_graph or old._requires_grad:
        var._grad = old + g
    else:
        old._data += g._data
        old._version.v += 1


def run_backward(roots, grad_roots, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False, accumulate: bool = True):
    """Backpropagate ``grad_roots`` from ``roots`` (Tensors).

    With ``accumulate`` (``Tensor.backward``), leaf gradients go to ``.grad`` (only into
    ``inputs`` if given). Without it (``autograd.grad``), gradients w.r.t. ``inputs`` are
    returned and nothing is accumulated.
    """
    root_edges = []
    for t in roots:
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        root_edges.append(F._edge(t))

    deps, seen = _collect([n for n, _ in root_edges])

    # capture points: (node, output_nr) -> index in ``inputs``
    captures = None
    only_leaves = None
    if inputs is not None:
        captures = {}
        for i, t in enumerate(inputs):
            if not t._requires_grad:
                raise RuntimeError(f"One of the differentiated Tensors does not require grad "
                                   f"(input {i})")
            captures.setdefault(F._edge(t), []).append(i)
        if accumulate:
            only_leaves = {id(t) for t in inputs}
    results = [None] * (len(inputs) if inputs is not None else 0)

    needed = None
    if not accumulate:
        needed = _needed(seen, [n for n, _ in captures])

    buffers: dict = {}
    for (node, nr), g in zip(root_edges, grad_roots):
        buf = buffers.setdefault(node, {})
        buf[nr] = _sum_grads(buf.get(nr), g)

    ready = [n for n, _ in root_edges if deps.get(n, 0) == 0]
    ready = list(dict.fromkeys(ready))
    prev = STATE.enabled
    STATE.enabled = create_graph
    anomaly = STATE.anomaly
    try:
        while ready:
            node = ready.pop()
            buf = buffers.pop(node, {})
            if needed is not None and node not in needed:
                continue
            # tensor hooks (register_hook / retain_grad) on this node's outputs
            pre = getattr(node, "_pre_hooks", None)
            if pre:
                for nr, hooks in pre.items():
                    if nr < 0 or nr not in buf:
                        continue
                    for h in list(hooks):
                        res = h(buf[nr])
                        if res is not None:
                            buf[nr] = res
            rh = node.__dict__.get("_retain_hooks") if type(node) is not F.AccumulateGrad else None
            if rh:
                for nr, h in rh.items():
                    if nr in buf:
                        h(buf[nr])
            if pre:
                for h in list(pre.get(-1, ())):
                    res = h(tuple(buf.get(i) for i in range(max(buf) + 1 if buf else 0)))
                    if res is not None:
                        buf = dict(enumerate(res))
            if captures is not None:
                for nr, g in buf.items():
                    for i in captures.get((node, nr), ()):
                        results[i] = _sum_grads(results[i], g)

            if type(node) is F.AccumulateGrad:
                var = node._var()
                g = buf.get(0)
                if var is None or g is None:
                    continue
                for h in var._hooks or ():
                    res = h(g)
                    if res is not None:
                        g = res
                if accumulate and (only_leaves is None or id(var) in only_leaves):
                    _accumulate(var, g, create_graph)
                    for h in var._post_acc_hooks or ():
                        h(var)
                continue
            grads_in = _run_node(node, buf)
            if anomaly:
                _check_nan(node, grads_in)
            post = getattr(node, "_post_hooks", None)
            if post:
                for h in post:
                    res = h(grads_in, tuple(buf.get(i) for i in range(len(buf))))
                    if res is not None:
                        grads_in = res
            if not retain_graph:
                node._release()
            for (nxt, nr), g in zip(node.next_functions, grads_in):
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
                deps[nxt] = d
                if d == 0:
                    ready.append(nxt)
    finally:
        STATE.enabled = prev

    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior.")
        return tuple(results)
    return None


def _run_node(node, buf):
    if node._released:
        F._raise_freed(node)
    if isinstance(node, F.Primitive):
        n_out = getattr(node, "n_outputs", 1)
        if n_out == 1:
            g = buf.get(0)
            if g is None:
                return (None,) * len(node.next_functions)
            out = node.backward(g)
        else:
            grads = [buf.get(i) for i in range(n_out)]
            if all(g is None for g in grads):
                return (None,) * len(node.next_functions)
            out = node.backward(*grads)
    else:  # custom Function
        n_out = node._n_outputs
        grads = [buf.get(i) for i in range(n_out)]
        if node.materialize_grads:
            grads = [g if g is not None else _zeros_for(node, i) for i, g in enumerate(grads)]
        out = node.apply_backward(grads)
        n_in = len(node.next_functions)
        if not isinstance(out, tuple):
            out = (out,)
        if len(out) != n_in:
            if len(out) > n_in and all(o is None for o in out[n_in:]):
                out = out[:n_in]
            else:
                raise RuntimeError(
                    f"function {node.name()} returned an incorrect number of gradients "
                    f"(expected {n_in}, got {len(out)})")
        return out
    if type(out) is not tuple:
        return (out,)
    return out


def _zeros_for(node, i):
    # shape of a missing output grad is unknown for custom Functions; torch materializes
    # zeros of the output's shape. We keep the shape in metadata when available.
    shapes = getattr(node, "_out_shapes", None)
    if shapes is None:
        return None
    from .. import _tensor
    return _tensor.Tensor._wrap(_tensor.xp.zeros(shapes[i][0], dtype=shapes[i][1]))


def _check_nan(node, grads):
    xp = F._Tensor._xp
    for i, g in enumerate(grads):
        if g is not None and g.dtype.is_floating_point and bool(xp.isnan(g._data).any()):
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.")
