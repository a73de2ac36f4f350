"""Custom ``autograd.Function``, ``gradcheck``/``gradgradcheck`` and
``autograd.functional`` against torch 2.13 (``parity.same``: one script, both libraries)."""
from __future__ import annotations

import warnings

import pytest

import ember
from parity import same, leaf as T, graph_structure as _structure

# ---------------------------------------------------------------------------------------
# custom Function
# ---------------------------------------------------------------------------------------
def _mul_k(M):
    class MulK(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, k, y):
            ctx.save_for_backward(x, y)
            ctx.k = k
            return x * k * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * ctx.k * y, None, g * ctx.k * x
    return MulK


def test_function_basics():
    def f(M):
        F = _mul_k(M)
        x, y = T(M, [1.0, 2.0]), M.tensor([3.0, 4.0])
        out = F.apply(x, 3, y)
        s = _structure(out.grad_fn)
        out.sum().backward()
        return s, x.grad, type(out.grad_fn).__name__, repr(out), out.is_leaf
    same(f)


def test_function_needs_input_grad():
    def f(M):
        seen = []

        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x, y, k):
                seen.append(ctx.needs_input_grad)
                return x * y * k

            @staticmethod
            def backward(ctx, g):
                seen.append(ctx.needs_input_grad)
                return g, g, None
        F.apply(T(M, [1.0, 2.0]), M.tensor([1.0, 2.0]), 2).sum().backward()
        with M.no_grad():
            F.apply(T(M, [1.0]), M.ones(1), 2)
        return seen
    same(f)


def test_function_non_differentiable_and_integer_outputs():
    def f(M):
        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                idx = x.argmax()
                twice = x * 2
                ctx.mark_non_differentiable(twice)
                return x * 3, twice, idx

            @staticmethod
            def backward(ctx, g1, g2, g3):
                # undefined gradients arrive as zeros (materialize_grads)
                return g1 * 3 + g2 * 100 + g3 * 1000
        x = T(M, [1.0, 5.0, 2.0])
        a, b, i = F.apply(x)
        r = (a.requires_grad, b.requires_grad, i.requires_grad, i.dtype, b.grad_fn)
        a.sum().backward()
        return r, x.grad
    same(f)


def test_function_set_materialize_grads_false():
    def f(M):
        seen = []

        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                seen.append(g2)
                return g1 * 2
        x = T(M, [1.0, 2.0])
        a, _ = F.apply(x)
        a.sum().backward()
        return x.grad, seen
    same(f)


def _double_in_place(M):
    class Double(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2
    return Double


def test_function_mark_dirty():
    def f(M):
        x = T(M, [1.0, 2.0])
        y = x.clone()
        z = _double_in_place(M).apply(y)
        r = (z is y, z.grad_fn.name(), int(y._version))
        z.sum().backward()
        return r, x.grad
    same(f)
    same(lambda M: _double_in_place(M).apply(T(M, [1.0])))   # a leaf: refused


def test_function_returning_input_and_saved_output():
    def f(M):
        class Ident(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 5

        class Exp(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x.exp()
                ctx.save_for_backward(out)
                return out

            @staticmethod
            def backward(ctx, g):
                out, = ctx.saved_tensors
                return g * out
        x = T(M, [1.0, 2.0])
        y = Ident.apply(x)
        r = (y is x, y.grad_fn.name())
        z = Exp.apply(y)
        z.sum().backward()
        w = Exp.apply(x * 1)
        w.add_(1)                 # the saved output was modified in place
        try:
            w.sum().backward()
        except RuntimeError as err:
            r += (str(err).split(" Hint")[0],)
        return r, x.grad
    same(f, rtol=1e-5)


def test_function_gradient_checks():
    def make(M, grad_fn, n_in=1):
        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x, *rest):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return grad_fn(M, g)
        return F

    def run(grad_fn, extra=()):
        def f(M):
            x = T(M, [1.0, 2.0])
            make(M, grad_fn).apply(x, *extra).sum().backward()
            return x.grad, x.grad.dtype
        return f
    same(run(lambda M, g: g[:1]))                         # wrong shape
    same(run(lambda M, g: g.sum()))                       # 0-d is not expandable to [2]
    same(run(lambda M, g: g.expand(3, 2)))                # broadcast: summed back
    same(run(lambda M, g: g.double()))                    # cast back to float32
    same(run(lambda M, g: (g, g)))                        # too many
    same(run(lambda M, g: (g, None)))                     # trailing None is fine
    same(run(lambda M, g: (g, g), extra=(3,)))            # gradient for a non-tensor


def test_function_once_differentiable():
    def make(M):
        class Sq(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 2

            @staticmethod
            @M.autograd.function.once_differentiable
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 2 * x * g
        return Sq

    def first(M):
        x = T(M, [1.0, 2.0])
        make(M).apply(x).sum().backward()
        return x.grad
    same(first)

    def twice(M):
        x = T(M, [1.0, 2.0])
        y = make(M).apply(x)
        g, = M.autograd.grad(y, x, grad_outputs=T(M, [1.0, 1.0]), create_graph=True)
        r = g.requires_grad
        try:
            g.sum().backward()
        except RuntimeError as err:
            return r, str(err)
    same(twice)


def test_function_higher_order_and_setup_context():
    def f(M):
        class Cube(M.autograd.Function):
            @staticmethod
            def forward(x):
                return x ** 3

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return 3 * x ** 2 * g
        x = T(M, [1.0, 2.0], dtype="float64")
        g, = M.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
        g2, = M.autograd.grad(g.sum(), x)
        return g, g2
    same(f)


def test_function_vjp_spelling():
    def f(M):
        class Twice(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def vjp(ctx, g):
                return g * 2
        x = T(M, [1.0])
        Twice.apply(x).sum().backward()
        return x.grad
    same(f)


def test_function_saved_tensors_checks():
    def freed(M):
        F = _mul_k(M)
        out = F.apply(T(M, [1.0]), 2, M.ones(1))
        out.sum().backward()
        return out.grad_fn.saved_tensors
    same(freed)

    def modified(M):
        F = _mul_k(M)
        x = T(M, [1.0, 2.0])
        x2 = x * 1
        out = F.apply(x2, 2, M.ones(2))
        x2.add_(1)
        out.sum().backward()
    same(modified, prefix="one of the variables needed for gradient computation has been "
                          "modified by an inplace operation: [ember.FloatTensor [2]], which is "
                          "output 0 of Add, is at version 1; expected version 0 instead.")

    def bad_save(M):
        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x * 1
        F.apply(T(M, [1.0]))
    same(bad_save)


def test_function_missing_methods():
    def no_forward(M):
        class F(M.autograd.Function):
            pass
        F.apply(T(M, [1.0]))

    def no_backward(M):
        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2
        F.apply(T(M, [1.0])).sum().backward()
    same(no_forward)
    same(no_backward)


def test_function_forward_runs_without_grad():
    def f(M):
        class F(M.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                inner = x * 2
                return inner, M.is_grad_enabled(), inner.requires_grad

            @staticmethod
            def backward(ctx, g, *rest):
                return g
        y, enabled, inner_rg = F.apply(T(M, [1.0]))
        return y.requires_grad, enabled, inner_rg
    same(f)


def test_variable_alias():
    def f(M):
        from_ = M.autograd.Variable
        a = M.tensor([1.0, 2.0])
        v = from_(a, requires_grad=True)
        (v * v).sum().backward()
        w = from_(a)
        w[0] = 7.0                              # shares memory with ``a``
        return (type(v).__name__, v is a, a.requires_grad, v.grad, isinstance(a, from_),
                isinstance(3, from_), a)
    same(f)
    same(lambda M: M.autograd.Variable([1, 2]))


# ---------------------------------------------------------------------------------------
# gradcheck / gradgradcheck
# ---------------------------------------------------------------------------------------
def _power(M, p, backward):
    class Power(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** p

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return backward(x, g)
    return Power


def _wrong_square(M):
    return _power(M, 2, lambda x, g: 3 * x * g)            # should be 2 * x * g


def _detached_cube(M):
    # right first derivative, but not differentiable itself
    return _power(M, 3, lambda x, g: 3 * x.detach() ** 2 * g)


X64 = [[0.3, -1.1], [0.7, 1.9], [-0.4, 0.8]]
W64 = [[0.5, -0.2, 1.3, 0.1], [-0.9, 0.6, 0.2, 1.1]]


def test_gradcheck_passes_on_correct_gradients():
    def f(M):
        x = M.tensor(X64, dtype=M.float64, requires_grad=True)
        w = M.tensor(W64, dtype=M.float64, requires_grad=True)

        def fn(a, b):
            return (a @ b).tanh(), (a.exp() * 2).sum(1)
        return (M.autograd.gradcheck(fn, (x, w)), M.autograd.gradgradcheck(fn, (x, w)),
                M.autograd.gradcheck(fn, (x, w), fast_mode=True),
                M.autograd.gradcheck(lambda a: a.sin(), x.detach().t().requires_grad_()))
    same(f)


def test_gradcheck_fails_on_wrong_backward():
    def f(M):
        x = M.tensor([0.5, -1.5, 2.0], dtype=M.float64, requires_grad=True)
        F = _wrong_square(M)
        return (M.autograd.gradcheck(F.apply, (x,), raise_exception=False),
                M.autograd.gradcheck(F.apply, (x,), raise_exception=False, fast_mode=True))
    same(f)

    def raises(M):
        x = M.tensor([0.5, -1.5, 2.0], dtype=M.float64, requires_grad=True)
        M.autograd.gradcheck(_wrong_square(M).apply, (x,))
    err = same(raises, prefix="Jacobian mismatch for output 0 with respect to input 0,\n"
                              "numerical:tensor([[")
    assert isinstance(err, ember.autograd.GradcheckError)
    assert "analytical:tensor([[ 1.5000" in str(err)


def test_gradgradcheck_fails_on_non_differentiable_backward():
    def f(M):
        x = M.tensor([0.5, -1.5, 2.0], dtype=M.float64, requires_grad=True)
        F = _detached_cube(M)
        return (M.autograd.gradcheck(F.apply, (x,)),
                M.autograd.gradgradcheck(F.apply, (x,), raise_exception=False))
    same(f)


def test_gradcheck_input_errors():
    same(lambda M: M.autograd.gradcheck(lambda a: a.exp(), (M.ones(2, dtype=M.float64),)))

    def f32(M):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            M.autograd.gradcheck(lambda a: a * 2, (M.ones(2, requires_grad=True),),
                                 raise_exception=False)
        return [str(x.message)[:60] for x in w]
    same(f32)


# ---------------------------------------------------------------------------------------
# autograd.functional
# ---------------------------------------------------------------------------------------
def _x(M, data=(0.5, -1.0, 2.0)):
    return M.tensor(list(data), dtype=M.float64)


FUNCTIONAL_CASES = {
    "jacobian": lambda M: M.autograd.functional.jacobian(lambda x: x.exp() * x[0], _x(M)),
    "jacobian_tuples": lambda M: M.autograd.functional.jacobian(
        lambda a, b: (a.sum() * b, a * b[:2]), (_x(M, (0.5, -1.0)), _x(M, (1.5, 2.0, 3.0)))),
    "jacobian_constant": lambda M: M.autograd.functional.jacobian(
        lambda x: M.ones(2, dtype=M.float64), _x(M)),
    "jacobian_strict": lambda M: M.autograd.functional.jacobian(
        lambda x: M.ones(2, dtype=M.float64), _x(M), strict=True),
    "hessian": lambda M: M.autograd.functional.hessian(lambda x: (x ** 3).sum() * x[0], _x(M)),
    "hessian_tuples": lambda M: M.autograd.functional.hessian(
        lambda a, b: (a * b * b).sum(), (_x(M, (0.5, -1.0)), _x(M, (1.5, 2.0)))),
    "hessian_not_scalar": lambda M: M.autograd.functional.hessian(lambda x: x * 2, _x(M)),
    "vjp": lambda M: M.autograd.functional.vjp(lambda x: x.exp() * x[0], _x(M),
                                                M.ones(3, dtype=M.float64)),
    "vjp_scalar": lambda M: M.autograd.functional.vjp(lambda x: x.exp().sum(), _x(M)),
    "vjp_v_required": lambda M: M.autograd.functional.vjp(lambda x: x.exp(), _x(M)),
    "jvp": lambda M: M.autograd.functional.jvp(lambda x: x.exp() * x[0], _x(M),
                                                M.ones(3, dtype=M.float64)),
    "hvp": lambda M: M.autograd.functional.hvp(lambda x: (x ** 3).sum() * x[0], _x(M),
                                                _x(M, (1.0, -2.0, 0.5))),
    "vhp": lambda M: M.autograd.functional.vhp(lambda x: (x ** 3).sum() * x[0], _x(M),
                                                _x(M, (1.0, -2.0, 0.5))),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL_CASES))
def test_autograd_functional(name):
    same(FUNCTIONAL_CASES[name], rtol=1e-9)


def test_functional_create_graph_keeps_graph():
    def f(M):
        x = M.tensor([0.5, -1.0, 2.0], dtype=M.float64, requires_grad=True)
        j = M.autograd.functional.jacobian(lambda x: x ** 3, x, create_graph=True)
        g, = M.autograd.grad(j.sum(), x)
        return j.requires_grad, g, x.grad
    same(f)
