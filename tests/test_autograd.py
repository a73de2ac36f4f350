"""Autograd semantics against torch 2.13: each test runs one script with ``M = torch`` and
``M = ember`` (``parity.same``) and compares results, exception classes and messages."""
from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

import ember
from parity import same, leaf as T, graph_structure as _structure


# ---------------------------------------------------------------------------------------
# backward(): implicit gradient, accumulation, retain_graph, freeing
# ---------------------------------------------------------------------------------------
def test_scalar_backward_implicit_ones():
    def f(M):
        w = T(M, 2.0)
        z = 10 * w ** 2 + 25
        z.backward()
        return w.grad, z, z.grad_fn.name()
    same(f)


def test_single_element_nonscalar_backward():
    def f(M):
        x = T(M, [[1.5]])
        (x * 3).backward()
        return x.grad
    same(f)


def test_nonscalar_backward_needs_gradient():
    same(lambda M: (T(M, [1.0, 2.0]) * 2).backward())


def test_int_output_backward():
    same(lambda M: (T(M, [1.0, 2.0]) * 2).long().sum().backward())


def test_backward_on_tensor_without_grad():
    same(lambda M: M.ones(3).sum().backward())


def test_backward_explicit_gradient():
    def f(M):
        x = T(M, [1.0, 2.0, 3.0])
        y = x * x
        y.backward(gradient=M.tensor([1.0, 0.5, -1.0]))
        y2 = x * 2
        y2.backward(M.tensor([1.0, 1.0, 1.0], dtype=M.float64))   # cast to the output dtype
        return x.grad, x.grad.dtype
    same(f)


def test_backward_gradient_wrong_shape():
    same(lambda M: (T(M, [1.0, 2.0]) * 2).backward(M.ones(3)))


def test_backward_gradient_not_tensor():
    same(lambda M: (T(M, [1.0, 2.0]) * 2).backward([1.0, 3.0]))


def test_backward_several_roots_and_count_mismatch():
    def f(M):
        x = T(M, [1.0, 2.0])
        M.autograd.backward([(x * 2).sum(), (x ** 3).sum()])
        M.autograd.backward([x * 2, x * 3], [M.ones(2), M.full((2,), 2.0)])
        return x.grad
    same(f)
    same(lambda M: M.autograd.backward([T(M, [1.0]) * 2, T(M, [2.0]) * 3], [M.ones(1)]))


def test_grads_accumulate_until_zeroed():
    def f(M):
        x = T(M, [1.0, -2.0, 3.0])
        (x * x).sum().backward()
        first = x.grad.clone()
        g = x.grad
        (x * 3).sum().backward()
        same_object = g is x.grad          # accumulated in place
        second = x.grad.clone()
        x.grad.zero_()
        (x ** 3).sum().backward()
        third = x.grad.clone()
        x.grad = None
        (x * 2).sum().backward()
        return first, second, third, x.grad, same_object
    same(f)


def test_gradient_buffer_not_aliased_with_user_tensor():
    def f(M):
        x = T(M, [1.0, 2.0])
        g = M.tensor([3.0, 4.0])
        x.backward(g)           # a leaf as the root: its .grad must not alias g
        g.mul_(10)
        y = T(M, [1.0, 2.0])
        (y + 0).backward(g)
        g.mul_(10)
        return x.grad, y.grad
    same(f)


def test_two_leaves_same_incoming_gradient_not_aliased():
    def f(M):
        a, b = T(M, [1.0, 2.0]), T(M, [3.0, 4.0])
        (a + b).sum().backward()
        a.grad.add_(5)
        return a.grad, b.grad
    same(f)


def test_second_backward_through_freed_graph():
    def f(M):
        x = T(M, [1.0, 2.0])
        y = (x * x).sum()
        y.backward()
        y.backward()
    same(f)


def test_retain_graph_allows_second_backward():
    def f(M):
        x = T(M, [1.0, 2.0])
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        return x.grad
    same(f)


def test_graph_without_saved_tensors_can_run_twice():
    def f(M):
        x = T(M, [1.0, 2.0, 3.0])
        y = (x + 1).view(3, 1).expand(3, 4).mean()
        y.backward()
        y.backward()           # nothing was saved, so nothing was freed
        return x.grad
    same(f)


def test_backward_frees_saved_tensors():
    x = ember.randn(1000, requires_grad=True)
    a = x * 2
    y = a.sin()                 # Sin saves its input ``a``
    ref = weakref.ref(a)
    node = y.grad_fn
    del a
    gc.collect()
    assert ref() is not None
    y.sum().backward()
    gc.collect()
    assert ref() is None, "backward kept the saved input alive"
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        node.saved_inputs


def test_retain_graph_keeps_saved_tensors():
    x = ember.randn(10, requires_grad=True)
    a = x * 2
    y = a.sin()
    ref = weakref.ref(a)
    del a
    y.sum().backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    out = y.grad_fn.saved_inputs[0]
    np.testing.assert_allclose(out.detach().numpy(), 2 * x.detach().numpy())


def test_saved_output_freed():
    x = ember.randn(10, requires_grad=True)
    y = x.exp()                 # Exp saves its output (as data)
    node = y.grad_fn
    assert node.saved_output is not None
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        node.saved_output


def test_dynamic_graph_control_flow():
    def f(M):
        x = T(M, [0.5, -1.5, 2.0], dtype="float64")
        y = x
        steps = 0
        while y.norm() < 50:
            y = y * 2 if steps % 2 == 0 else y + y.abs()
            steps += 1
        out = y[0] if y.sum() > 0 else y[1]
        out.backward()
        return x.grad, steps
    same(f)


def test_diamond_gradient_summed_once_before_node_runs():
    def f(M):
        calls = []
        x = T(M, [1.0, 2.0])
        h = x * 3
        h.register_hook(lambda g: calls.append(g.clone()))
        y = (h.sin() + h.cos() + h * h).sum()
        y.backward()
        return x.grad, calls
    same(f, rtol=1e-5)


def test_backward_inputs_restricts_accumulation():
    def f(M):
        x, w = T(M, [1.0, 2.0]), T(M, [3.0, 4.0])
        y = x * 2
        z = (y * w).sum()
        z.backward(inputs=[y, w])        # non-leaf inputs get .grad too
        return y.grad, w.grad, x.grad
    same(f)
    same(lambda M: (T(M, [1.0]) * 2).sum().backward(inputs=[]))
    same(lambda M: (T(M, [1.0]) * 2).sum().backward(inputs=[M.ones(1)]))


def test_backward_inputs_as_dict():
    def f(M):
        x = T(M, [1.0, 2.0])
        (x * 2).sum().backward(inputs={"x": x})
        return x.grad
    same(f)


# ---------------------------------------------------------------------------------------
# grad modes
# ---------------------------------------------------------------------------------------
def test_grad_mode_context_managers_and_calls():
    def f(M):
        r = []
        x = T(M, [1.0, 2.0])
        with M.no_grad():
            y = x * 2
            r.append((M.is_grad_enabled(), y.requires_grad, y.grad_fn))
            with M.enable_grad():
                r.append((M.is_grad_enabled(), (x * 2).requires_grad))
            with M.set_grad_enabled(True):
                r.append(M.is_grad_enabled())
            r.append(M.is_grad_enabled())
        r.append(M.is_grad_enabled())
        M.set_grad_enabled(False)
        r.append(((x * 2).requires_grad, M.is_grad_enabled()))
        with M.enable_grad():
            r.append(M.is_grad_enabled())
        r.append(M.is_grad_enabled())
        M.set_grad_enabled(True)
        with M.set_grad_enabled(False):
            r.append(M.is_grad_enabled())
        r.append(M.is_grad_enabled())
        with M.inference_mode():
            r.append((M.is_grad_enabled(), M.is_inference_mode_enabled(), (x * 2).requires_grad))
        with M.inference_mode(False):
            r.append((M.is_grad_enabled(), M.is_inference_mode_enabled()))
        r.append((M.is_grad_enabled(), M.is_inference_mode_enabled()))
        return r
    same(f)


def test_grad_mode_restored_after_exception():
    def f(M):
        try:
            with M.no_grad():
                raise KeyError("boom")
        except KeyError:
            pass
        return M.is_grad_enabled()
    same(f)


def test_grad_mode_decorators():
    def f(M):
        x = T(M, [1.0])
        r = []

        @M.no_grad()
        def a():
            return M.is_grad_enabled(), (x * 2).requires_grad

        @M.no_grad
        def b():
            return M.is_grad_enabled()

        @M.enable_grad()
        def c():
            return M.is_grad_enabled()

        @M.enable_grad
        def c2():
            return M.is_grad_enabled()

        @M.set_grad_enabled(False)
        def d():
            return M.is_grad_enabled()

        @M.inference_mode()
        def e():
            return M.is_grad_enabled(), M.is_inference_mode_enabled()

        @M.inference_mode
        def e2():
            return M.is_grad_enabled()

        r.append(a())
        r.append(b())
        with M.no_grad():
            r.append((c(), c2()))
        r.append((d(), M.is_grad_enabled()))   # decorating did not switch grad off here
        r.append(e())
        r.append(e2())
        r.append((a.__name__, b.__name__, d.__name__))
        return r
    same(f)


def test_grad_mode_decorates_generators():
    def f(M):
        @M.no_grad()
        def gen(n):
            for _ in range(n):
                got = yield M.is_grad_enabled()
                assert got is None or got == 5
            return "done"

        g = gen(2)
        r = [next(g), M.is_grad_enabled(), g.send(5), M.is_grad_enabled()]
        try:
            next(g)
        except StopIteration as stop:
            r.append(stop.value)
        return r
    same(f)


# ---------------------------------------------------------------------------------------
# requires_grad_, detach, retain_grad, hooks
# ---------------------------------------------------------------------------------------
def test_requires_grad_():
    def f(M):
        a = M.ones(2)
        r = [a.requires_grad_() is a, a.requires_grad, a.is_leaf,
             a.requires_grad_(False).requires_grad]
        b = T(M, [1.0]) * 2
        r.append(b.requires_grad_(True) is b)
        return r
    same(f)


@pytest.mark.parametrize("case", [
    lambda M: M.tensor([1, 2]).requires_grad_(),
    lambda M: setattr(M.tensor([1, 2]), "requires_grad", True),
    lambda M: M.tensor([1, 2], requires_grad=True),
    lambda M: M.zeros(2, dtype=M.int64, requires_grad=True),
    lambda M: M.arange(3, requires_grad=True),
    lambda M: M.ones(2).requires_grad_(1),
    lambda M: setattr(M.ones(2), "requires_grad", None),
    lambda M: (T(M, [1.0]) * 2).requires_grad_(False),
    lambda M: setattr(T(M, [1.0]) * 2, "requires_grad", False),
])
def test_requires_grad_errors(case):
    same(case)


def test_detach_shares_memory_and_version():
    def f(M):
        x = T(M, [1.0, 2.0, 3.0])
        y = x * 2
        d = y.detach()
        d.add_(1)                              # visible through y, bumps the shared version
        return y, d, d.requires_grad, d.is_leaf, d.grad_fn, int(y._version), int(d._version)
    same(f)


def test_detach_then_backward_through_modified():
    def f(M):
        x = T(M, [1.0, 2.0, 3.0])
        y = x * 2
        z = y * y
        y.detach().zero_()
        z.sum().backward()
    same(f, prefix="one of the variables needed for gradient computation has been modified by "
                   "an inplace operation: [ember.FloatTensor [3]], which is output 0 of Mul, is "
                   "at version 1; expected version 0 instead.")


def test_detach_():
    def f(M):
        x = T(M, [1.0, 2.0])
        y = x * 2
        r = y.detach_()
        return r is y, y.requires_grad, y.grad_fn, y.is_leaf
    same(f)
    same(lambda M: T(M, [1.0, 2.0])[1:].detach_(),
         prefix="Can't detach views in-place. Use detach() instead.")
    same(lambda M: (T(M, [1.0, 2.0]) * 2).view(2).detach_(),
         prefix="Can't detach views in-place. Use detach() instead.")


def test_retain_grad():
    def f(M):
        a = T(M, [1.0, 2.0, 3.0])
        b = a * 2
        b.retain_grad()
        c = b * b
        c.retain_grad()
        a.retain_grad()                        # no-op on a leaf
        c.sum().backward()
        return b.grad, c.grad, a.grad, b.retains_grad, a.retains_grad, b.is_leaf
    same(f)
    same(lambda M: M.ones(2).retain_grad())


def test_nonleaf_grad_access_warns():
    def f(M):
        b = T(M, [1.0]) * 2
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            g = b.grad
        c = T(M, [1.0]) * 2
        c.retain_grad()
        with warnings.catch_warnings(record=True) as w2:
            warnings.simplefilter("always")
            c.grad
        return g, [x.category.__name__ for x in w], len(w2)
    same(f)


def test_hooks_replace_gradient_and_remove():
    def f(M):
        a = T(M, [1.0, 2.0, 3.0])
        b = a * 2
        log = []
        a.register_hook(lambda g: log.append(g.clone()))
        h2 = b.register_hook(lambda g: g * 10)         # replaces b's gradient
        h3 = a.register_hook(lambda g: g + 1)          # replaces a's gradient
        (b * b).sum().backward(retain_graph=True)
        first = a.grad.clone()
        h2.remove()
        h3.remove()
        a.grad = None
        (b * b).sum().backward()
        return first, a.grad, log
    same(f)


def test_hook_order_with_retain_grad():
    def f(M):
        a = T(M, [1.0, 2.0])
        b = a * 2
        b.retain_grad()
        b.register_hook(lambda g: g * 100)   # registered later, runs before retain_grad
        b.sum().backward()
        return b.grad, a.grad
    same(f)


def test_hook_errors():
    same(lambda M: M.ones(2).register_hook(lambda g: g))


def test_hooks_fire_for_autograd_grad_inputs():
    def f(M):
        x = T(M, [1.0, 2.0])
        x.register_hook(lambda g: g * 2)
        g, = M.autograd.grad((x * 3).sum(), x)
        return g, x.grad
    same(f)


def test_post_accumulate_grad_hook():
    def f(M):
        x = T(M, [1.0, 2.0])
        seen = []
        x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        return seen
    same(f)
    same(lambda M: (T(M, [1.0]) * 2).register_post_accumulate_grad_hook(lambda t: None))


def test_node_hooks():
    def f(M):
        x = T(M, [1.0, 2.0])
        y = x * 3
        z = y.exp()
        seen = []
        z.grad_fn.register_prehook(lambda gout: seen.append(("pre", gout[0].clone())))
        z.grad_fn.register_hook(lambda gin, gout: seen.append(("post", gin[0].clone())))
        h = y.grad_fn.register_hook(lambda gin, gout: (gin[0] * 0 + 1, None))
        z.sum().backward(retain_graph=True)
        first = x.grad.clone()
        h.remove()
        x.grad = None
        z.sum().backward()
        return seen, first, x.grad
    same(f, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# grad_fn names and next_functions
# ---------------------------------------------------------------------------------------
GRAPH_CASES = {
    "add": lambda M, a, b, c: a + c,
    "add_scalar": lambda M, a, b, c: a + 1,
    "radd_scalar": lambda M, a, b, c: 2 + a,
    "add_nograd_tensor": lambda M, a, b, c: a + a.detach(),
    "sub": lambda M, a, b, c: a - c,
    "mul": lambda M, a, b, c: a * c,
    "mul_scalar": lambda M, a, b, c: a * 2,
    "rmul_scalar": lambda M, a, b, c: 2 * a,
    "div": lambda M, a, b, c: a / c,
    "div_scalar": lambda M, a, b, c: a / 2,
    "neg": lambda M, a, b, c: -a,
    "sum": lambda M, a, b, c: a.sum(),
    "sum_dim": lambda M, a, b, c: a.sum(1),
    "mean": lambda M, a, b, c: a.mean(),
    "mean_dim": lambda M, a, b, c: a.mean(0, keepdim=True),
    "pow_scalar": lambda M, a, b, c: a ** 2,
    "rpow": lambda M, a, b, c: 2 ** a,
    "pow_tensor": lambda M, a, b, c: a ** c,
    "matmul_2d": lambda M, a, b, c: a @ b,
    "mm": lambda M, a, b, c: M.mm(a, b),
    "mv": lambda M, a, b, c: a @ c,
    "dot": lambda M, a, b, c: c.dot(c),
    "view": lambda M, a, b, c: a.view(6),
    "view_chain": lambda M, a, b, c: (a.view(3, 2) * 2).sum(),
    "reshape": lambda M, a, b, c: a.reshape(3, 2),
    "exp": lambda M, a, b, c: a.exp(),
    "tanh": lambda M, a, b, c: a.tanh(),
    "sigmoid": lambda M, a, b, c: a.sigmoid(),
    "relu": lambda M, a, b, c: a.relu(),
    "transpose": lambda M, a, b, c: a.transpose(0, 1),
    "permute": lambda M, a, b, c: a.permute(1, 0),
    "expand": lambda M, a, b, c: a.expand(2, 2, 3),
    "clamp": lambda M, a, b, c: a.clamp(0, 1),
    "where": lambda M, a, b, c: M.where(a > 0, a, c),
    "where_scalar": lambda M, a, b, c: M.where(a > 0, a, 0.0),
    "cat": lambda M, a, b, c: M.cat([a, a]),
    "clone": lambda M, a, b, c: a.clone(),
    "to_double": lambda M, a, b, c: a.double(),
    "slice": lambda M, a, b, c: a[:, 1:],
    "chain": lambda M, a, b, c: ((a * c).sum(1) + 1).mean(),
}


@pytest.mark.parametrize("name", sorted(GRAPH_CASES))
def test_grad_fn_names_and_next_functions(name):
    fn = GRAPH_CASES[name]

    def f(M):
        a = M.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
        b = M.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        c = M.tensor([0.5, 1.5, -2.0], requires_grad=True)
        out = fn(M, a, b, c)
        return _structure(out.grad_fn), repr(out.grad_fn).split(" object")[0]
    same(f)


def test_accumulate_grad_node():
    def f(M):
        a = T(M, [1.0, 2.0])
        acc = (a * 2).grad_fn.next_functions[0][0]
        return acc.name(), acc.variable is a, acc.next_functions, type(acc).__name__, \
            repr(acc).split(" object")[0], (a * 3).grad_fn.next_functions[0][0] is acc
    same(f)


def test_node_metadata_dict():
    def f(M):
        y = T(M, [1.0]) * 2
        y.grad_fn.metadata["k"] = 3
        return dict(y.grad_fn.metadata)
    same(f)


def test_leaf_and_nograd_grad_fn():
    def f(M):
        a = T(M, [1.0])
        with M.no_grad():
            b = a * 2
        return a.grad_fn, b.grad_fn, (M.ones(1) * 2).grad_fn, a.is_leaf, b.is_leaf
    same(f)


# ---------------------------------------------------------------------------------------
# autograd.grad and higher-order gradients
# ---------------------------------------------------------------------------------------
def test_autograd_grad_basics():
    def f(M):
        x, y = T(M, [1.0, 2.0, 3.0]), T(M, [4.0, 5.0, 6.0])
        z = (x * y).sum()
        gx, = M.autograd.grad(z, x, retain_graph=True)
        gxy = M.autograd.grad([z], [x, y])
        return gx, gxy, x.grad, y.grad
    same(f)


def test_autograd_grad_options():
    def f(M):
        x, y = T(M, [1.0, 2.0]), T(M, [4.0, 5.0])
        r = [M.autograd.grad((x * 2).sum(), [x, y], allow_unused=True),
             M.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True),
             M.autograd.grad(x * x, x, grad_outputs=M.tensor([1.0, -2.0])),
             M.autograd.grad((x * x).sum(), {"a": x, "b": x}),
             M.autograd.grad([(x * x).sum(), (x * y).sum()], [x, y])]
        h = x * 3
        r.append(M.autograd.grad((h * h).sum(), h))      # w.r.t. a non-leaf
        return r
    same(f)


@pytest.mark.parametrize("case", [
    lambda M: M.autograd.grad((T(M, [1.0]) * 2).sum(), [T(M, [1.0])]),
    lambda M: M.autograd.grad((T(M, [1.0]) * 2).sum(), [M.ones(1)]),
    lambda M: M.autograd.grad((T(M, [1.0]) * 2).sum(), []),
    lambda M: M.autograd.grad(T(M, [1.0, 2.0]) * 2, T(M, [1.0])),
    lambda M: M.autograd.grad(M.ones(1).sum(), T(M, [1.0])),
    lambda M: M.autograd.grad((T(M, [1.0]) * 2), T(M, [1.0]), grad_outputs=M.ones(2)),
    lambda M: M.autograd.grad((T(M, [1.0]) * 2).sum(), T(M, [1.0]), allow_unused=False,
                              materialize_grads=True),
])
def test_autograd_grad_errors(case):
    same(case)


def test_autograd_grad_frees_graph():
    def f(M):
        x = T(M, [1.0, 2.0])
        z = (x * x).sum()
        M.autograd.grad(z, x)
        M.autograd.grad(z, x)
    same(f)


def _nth_derivatives(M, fn, x0, n=3, dtype="float64"):
    x = M.tensor(x0, requires_grad=True, dtype=getattr(M, dtype))
    y = fn(M, x)
    out = []
    g = y.sum()
    for k in range(n):
        g, = M.autograd.grad(g, x, create_graph=k < n - 1)
        out.append(g)
        g = g.sum()
    return out


@pytest.mark.parametrize("fn", [
    lambda M, x: x ** 3 + 2 * x ** 2 - x,
    lambda M, x: (x ** 4 - 3 * x).sum() * x,
    lambda M, x: x.tanh(),
    lambda M, x: x.exp() * x.sin(),
    lambda M, x: x.tanh().exp(),
    lambda M, x: (x.sigmoid() + 1).log() / (x * x + 1),
    lambda M, x: x.abs().sqrt() + x.cos() ** 2,
], ids=["poly", "poly2", "tanh", "exp_sin", "tanh_exp", "sigmoid_log_div", "sqrt_cos"])
def test_higher_order_elementwise(fn):
    same(lambda M: _nth_derivatives(M, fn, [0.5, -1.2, 2.0]), rtol=1e-9, atol=1e-10)


def test_higher_order_matmul_chain():
    A0 = [[0.5, -1.2], [2.0, 0.3]]
    B0 = [[1.5, 0.2], [-0.7, 0.9]]

    def f(M):
        A = M.tensor(A0, requires_grad=True, dtype=M.float64)
        B = M.tensor(B0, requires_grad=True, dtype=M.float64)
        y = (A @ B @ A).tanh().sum()
        gA, gB = M.autograd.grad(y, [A, B], create_graph=True)
        h = M.autograd.grad((gA ** 2).sum() + gB.sum(), [A, B], create_graph=True)
        h3 = M.autograd.grad(h[0].sum(), [A, B])
        return gA, gB, h, h3
    same(f, rtol=1e-9, atol=1e-10)


def test_backward_create_graph_then_differentiate_grad():
    def f(M):
        x = T(M, [1.0, 2.0], dtype="float64")
        (x ** 3).sum().backward(create_graph=True)
        g = x.grad
        r = g.requires_grad
        x.grad = None
        g.sum().backward()
        return r, g.detach(), x.grad
    same(f)


def test_hessian_vector_product():
    def f(M):
        x = T(M, [0.3, -0.8, 1.1], dtype="float64")
        v = M.tensor([1.0, 2.0, -1.0], dtype=M.float64)
        y = (x.sin() * x.roll(1)).sum() + (x ** 2).prod()
        g, = M.autograd.grad(y, x, create_graph=True)
        hv, = M.autograd.grad(g, x, grad_outputs=v)
        return g.detach(), hv
    same(f, rtol=1e-9)


# ---------------------------------------------------------------------------------------
# version counters and in-place ops
# ---------------------------------------------------------------------------------------
_MODIFIED = ("one of the variables needed for gradient computation has been modified by an "
             "inplace operation: ")


@pytest.mark.parametrize("case,prefix", [
    (lambda M: _saved_input_modified(M), "[ember.FloatTensor [3]], which is output 0 of Add, "
                                         "is at version 1; expected version 0 instead."),
    (lambda M: _saved_output_modified(M), "[ember.FloatTensor [3]], which is output 0 of Exp, "
                                          "is at version 1; expected version 0 instead."),
    (lambda M: _saved_leaf_modified(M), "[ember.DoubleTensor [2, 2]] is at version 1; "
                                        "expected version 0 instead."),
    (lambda M: _self_times_self(M), "[ember.FloatTensor [3]], which is output 0 of Mul, is at "
                                    "version 1; expected version 0 instead."),
])
def test_modified_saved_tensor_raises(case, prefix):
    same(case, prefix=_MODIFIED + prefix)


def _saved_input_modified(M):
    x = T(M, [1.0, 2.0, 3.0])
    y = x * 2
    z = y * y
    y.add_(1)
    z.sum().backward()


def _saved_output_modified(M):
    x = T(M, [1.0, 2.0, 3.0])
    y = x.exp()
    y.add_(1)
    y.sum().backward()


def _saved_leaf_modified(M):
    w = M.ones(2, 2, dtype=M.float64, requires_grad=True)
    z = w * w
    with M.no_grad():
        w.mul_(2)
    z.sum().backward()


def _self_times_self(M):
    x = T(M, [1.0, 2.0, 3.0])
    y = x * 1
    y *= y
    y.sum().backward()


@pytest.mark.parametrize("op", [
    lambda y: y.mul_(3), lambda y: y.mul_(y.detach() + 1), lambda y: y.pow_(2),
    lambda y: y.div_(y.detach() + 1), lambda y: y.clamp_(0, 2.5), lambda y: y.sigmoid_(),
    lambda y: y.exp_(), lambda y: y.relu_(), lambda y: y.sub_(1), lambda y: y.neg_(),
], ids=["mul_scalar", "mul_tensor", "pow", "div", "clamp", "sigmoid", "exp", "relu", "sub",
        "neg"])
def test_inplace_on_nonleaf_gradients(op):
    def f(M):
        x = T(M, [1.0, -2.0, 3.0], dtype="float64")
        w = T(M, [0.5, 1.5, 2.0], dtype="float64")
        y = x * w
        r = op(y)
        s = (r * w).sum()
        s.backward()
        return r is y, int(y._version), y.grad_fn.name(), x.grad, w.grad
    same(f)


def test_inplace_with_tensor_operand_requiring_grad():
    def f(M):
        x, w = T(M, [1.0, 2.0, 3.0]), T(M, [2.0, 3.0, 4.0])
        y = x * 2
        y.mul_(w)
        y.sum().backward()
        return x.grad, w.grad
    same(f)


def test_inplace_on_leaf_refused_outside_no_grad():
    same(lambda M: T(M, [1.0]).add_(1))

    def iadd(M):
        x = T(M, [1.0])
        x += 1
    same(iadd)

    def allowed(M):
        x = T(M, [1.0, 2.0])
        with M.no_grad():
            x += 1
            x.mul_(2)
        return x, int(x._version), x.is_leaf, x.requires_grad
    same(allowed)


def test_version_counter_values():
    def f(M):
        x = M.ones(3)
        v = x[1:]
        r = [int(x._version)]
        x.add_(1)
        r.append(int(v._version))
        v.mul_(2)
        r.append(int(x._version))
        r.append(x._version == 2)
        return r
    same(f)


# ---------------------------------------------------------------------------------------
# detect_anomaly
# ---------------------------------------------------------------------------------------
def _anomaly(M, make, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = M.zeros(1, requires_grad=True)
        with M.autograd.detect_anomaly(**kw):
            make(M, x).sum().backward()
        return x.grad


@pytest.mark.parametrize("make", [
    lambda M, x: x / x,
    lambda M, x: (x / M.zeros(1)) * 0,        # "DivBackward0 ... in its 0th output"
    lambda M, x: x.sqrt() * 0,
    lambda M, x: (x * 0).log() * 0,
], ids=["div", "div_0th", "sqrt", "log"])
def test_detect_anomaly_names_op(make):
    same(lambda M: _anomaly(M, make))


def test_nan_passes_without_anomaly_mode_or_check_nan():
    def f(M):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = M.zeros(1, requires_grad=True)
            (x / x).sum().backward()
            r = [x.grad, M.is_anomaly_enabled()]
            r.append(_anomaly(M, lambda M, x: x / x, check_nan=False))
            M.autograd.set_detect_anomaly(True)
            r.append(M.is_anomaly_enabled())
            M.autograd.set_detect_anomaly(False)
            r.append(M.is_anomaly_enabled())
        return r
    same(f)


def test_detect_anomaly_warns():
    def f(M):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with M.autograd.detect_anomaly():
                pass
        return [str(x.message) for x in w]
    same(f)


# ---------------------------------------------------------------------------------------
# deep graphs
# ---------------------------------------------------------------------------------------
def test_deep_chain_backward_no_recursion_error():
    def f(M):
        x = M.tensor(1.0, requires_grad=True)
        y = x
        for _ in range(10_000):
            y = y * 1.0001
        y.backward()
        z = x
        for _ in range(10_000):
            z = z + x * 1e-4
        g, = M.autograd.grad(z, x)
        return x.grad, g
    same(f, rtol=1e-5)


def test_deep_chain_second_order():
    def f(M):
        x = M.tensor(0.5, requires_grad=True, dtype=M.float64)
        y = x
        for _ in range(1500):
            y = (y * 0.999).sin() + x * 1e-3
        g, = M.autograd.grad(y, x, create_graph=True)
        g2, = M.autograd.grad(g, x)
        return g, g2
    same(f, rtol=1e-9)


def _modes_seen_by_threads(M):
    """Grad/inference/anomaly modes as a new thread and the main thread see them while the
    other one has changed its own."""
    import threading
    seen = []

    def look():
        seen.append((M.is_grad_enabled(), M.is_inference_mode_enabled(),
                     M.is_anomaly_enabled()))
    for ctx in (M.no_grad, M.inference_mode, M.enable_grad):
        with ctx():
            t = threading.Thread(target=look)
            t.start()
            t.join()
    M.set_anomaly_enabled(True)
    try:
        t = threading.Thread(target=look)
        t.start()
        t.join()
    finally:
        M.set_anomaly_enabled(False)
    inside, release = threading.Event(), threading.Event()

    def hold_no_grad():
        with M.no_grad():
            x = M.ones(2, requires_grad=True)
            seen.append(("thread result requires grad", (x * 2).requires_grad))
            inside.set()
            release.wait(10)
    t = threading.Thread(target=hold_no_grad)
    t.start()
    inside.wait(10)
    y = M.ones(2, requires_grad=True) * 2      # main thread: still recording
    seen.append(("main", M.is_grad_enabled(), y.requires_grad))
    release.set()
    t.join()
    M.set_grad_enabled(False)                  # as a call: this thread only
    t = threading.Thread(target=look)
    t.start()
    t.join()
    seen.append(("after call", M.is_grad_enabled()))
    M.set_grad_enabled(True)
    return seen


def test_grad_mode_is_per_thread_as_torch():
    seen = same(_modes_seen_by_threads)
    assert ("main", True, True) in seen and ("after call", False) in seen
