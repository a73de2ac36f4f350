"""Linear algebra against torch: matmul/@ for every rank combination (batched, broadcast),
mm, bmm, mv, dot, outer, einsum, addmm (and friends); dtypes, gradients, grad_fn names,
torch's shape-mismatch messages; hypothesis over broadcast batch dimensions."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

import ember
from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((5, 2, 3), (3,)), ((5, 2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)), ((7, 1, 2, 3), (5, 3, 4)), ((7, 5, 2, 3), (3, 4)),
    ((2, 1, 2, 3), (1, 4, 3, 2)), ((0, 3), (3, 2)), ((2, 0), (0, 4)), ((4, 0, 3), (3,)),
    ((1, 1), (1, 1)), ((1,), (1, 5)), ((1, 2, 3), (3,)),
]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb, dt):
    a, b = rand(*sa, dtype=dt, seed=1), rand(*sb, dtype=dt, seed=2)
    check(lambda M, x, y: x @ y, a, b)
    check(lambda M, x, y: M.matmul(x, y), a, b, noncontig=True)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:12], ids=str)
def test_matmul_grad_fn_name(sa, sb):
    for rg in ((True, True), (True, False), (False, True)):
        names = []
        for M in (torch, ember):
            a = M.tensor(rand(*sa), requires_grad=rg[0])
            b = M.tensor(rand(*sb), requires_grad=rg[1])
            names.append((a @ b).grad_fn.name())
        assert names[0] == names[1]


def test_matmul_one_side_requires_grad():
    check(lambda M, x, y: x @ y.detach(), rand(5, 2, 3), rand(3, 4))
    check(lambda M, x, y: x.detach() @ y, rand(5, 2, 3), rand(3, 4))
    check(lambda M, x, y: x.detach() @ y, rand(3), rand(5, 3, 4))


def test_matmul_integer():
    a = np.arange(6).reshape(2, 3)
    check(lambda M, x: x @ x.t(), a)
    check(lambda M, x: M.mm(x, x.t()), a.astype(np.int32))
    check(lambda M, x: M.dot(x[0], x[1]), a)


TWO = [
    (lambda M, x, y: M.mm(x, y), (2, 3), (3, 4)),
    (lambda M, x, y: x.mm(y), (1, 3), (3, 1)),
    (lambda M, x, y: M.bmm(x, y), (4, 2, 3), (4, 3, 5)),
    (lambda M, x, y: x.bmm(y), (0, 2, 3), (0, 3, 5)),
    (lambda M, x, y: M.mv(x, y), (2, 3), (3,)),
    (lambda M, x, y: x.mv(y), (0, 3), (3,)),
    (lambda M, x, y: M.dot(x, y), (3,), (3,)),
    (lambda M, x, y: x.dot(y), (0,), (0,)),
    (lambda M, x, y: M.outer(x, y), (3,), (4,)),
    (lambda M, x, y: x.outer(y), (3,), (0,)),
    (lambda M, x, y: M.inner(x, y), (2, 3), (4, 3)),
    (lambda M, x, y: M.vdot(x, y), (3,), (3,)),
    (lambda M, x, y: M.ger(x, y), (2,), (3,)),
]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("k", range(len(TWO)))
def test_products(k, dt):
    fn, sa, sb = TWO[k]
    check(fn, rand(*sa, dtype=dt, seed=k), rand(*sb, dtype=dt, seed=k + 1))
    check(fn, rand(*sa, dtype=dt, seed=k), rand(*sb, dtype=dt, seed=k + 1), noncontig=True)


ADD = [
    (lambda M, c, a, b: M.addmm(c, a, b), (2, 4), (2, 3), (3, 4)),
    (lambda M, c, a, b: M.addmm(c, a, b), (4,), (2, 3), (3, 4)),
    (lambda M, c, a, b: M.addmm(c, a, b, beta=0.5, alpha=2.0), (2, 1), (2, 3), (3, 4)),
    (lambda M, c, a, b: c.addmm(a, b, beta=0, alpha=-1), (2, 4), (2, 3), (3, 4)),
    (lambda M, c, a, b: M.addmm(c, a, b), (), (2, 3), (3, 4)),
    (lambda M, c, a, b: M.addmv(c, a, b[:, 0], beta=2), (2,), (2, 3), (3, 4)),
    (lambda M, c, a, b: M.addbmm(c, a.expand(5, 2, 3), b.expand(5, 3, 4)), (2, 4), (2, 3),
     (3, 4)),
    (lambda M, c, a, b: M.baddbmm(c, a.expand(5, 2, 3), b.expand(5, 3, 4), alpha=0.5), (2, 4),
     (2, 3), (3, 4)),
    (lambda M, c, a, b: M.addr(c, a[:, 0], b[0], alpha=3), (2, 4), (2, 3), (3, 4)),
]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("k", range(len(ADD)))
def test_add_products(k, dt):
    fn, *shapes = ADD[k]
    check(fn, *[rand(*s, dtype=dt, seed=i + k) for i, s in enumerate(shapes)])


def test_addmm_grad_fn_and_noncontig():
    e, t = check(lambda M, c, a, b: M.addmm(c, a, b), rand(4), rand(2, 3), rand(3, 4),
                 noncontig=True)
    assert e.grad_fn.name() == t.grad_fn.name() == "AddmmBackward0"
    e, t = check(lambda M, a, b: M.mm(a, b), rand(2, 3), rand(3, 4))
    assert e.grad_fn.name() == t.grad_fn.name()
    e, t = check(lambda M, a, b: M.bmm(a, b), rand(2, 2, 3), rand(2, 3, 4))
    assert e.grad_fn.name() == t.grad_fn.name()


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(5, 2, 3),
                                                                                 (5, 3, 4)]),
    ("i,i->", [(3,), (3,)]), ("i,j->ij", [(3,), (4,)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]), ("ijk->kj", [(2, 3, 4)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]), ("...ij,...jk->...ik", [(2, 1, 2, 3), (5, 3, 4)]),
    ("bi,bi->b", [(4, 3), (4, 3)]), ("ij,kj->ik", [(2, 3), (4, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("bij,bjk->bik", [(5, 2, 3), (1, 3, 4)]),
    ("iij->j", [(3, 3, 2)]), ("i,i,i->i", [(3,), (3,), (3,)]), ("ab,cd->abcd", [(2, 1), (1, 3)]),
    ("i...->...", [(2, 3, 4)]), ("Ij,jK->IK", [(2, 3), (3, 2)]), (" ij , jk -> ik ",
                                                               [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum(eq, shapes, dt):
    xs = [rand(*s, dtype=dt, seed=i) for i, s in enumerate(shapes)]
    check(lambda M, *ts: M.einsum(eq, *ts), *xs)
    check(lambda M, *ts: M.einsum(eq, list(ts)), *xs)


def test_einsum_noncontig_and_integer():
    check(lambda M, x, y: M.einsum("ij,jk->ik", x, y), rand(2, 3), rand(3, 4), noncontig=True)
    check(lambda M, x: M.einsum("ij,ij->i", x, x), np.arange(6).reshape(2, 3))


# ---------------------------------------------------------------------------------------------
# gradcheck / gradgradcheck
# ---------------------------------------------------------------------------------------------
GRADCHECK = [
    (lambda a, b: a @ b, (2, 3), (3, 2)), (lambda a, b: a @ b, (3,), (3,)),
    (lambda a, b: a @ b, (2, 3), (3,)), (lambda a, b: a @ b, (3,), (3, 2)),
    (lambda a, b: a @ b, (2, 2, 3), (3, 2)), (lambda a, b: a @ b, (2, 2, 3), (3,)),
    (lambda a, b: a @ b, (3,), (2, 3, 2)), (lambda a, b: a @ b, (2, 1, 2, 3), (2, 3, 1)),
    (lambda a, b: ember.bmm(a, b), (2, 2, 3), (2, 3, 2)),
    (lambda a, b: ember.addmm(a[0, :2], a, b, beta=0.5, alpha=1.5), (2, 3), (3, 2)),
    (lambda a, b: ember.outer(a, b), (2,), (3,)),
    (lambda a, b: ember.einsum("ij,jk->ik", a, b), (2, 3), (3, 2)),
    (lambda a, b: ember.einsum("ii,ij->j", a, b), (2, 2), (2, 3)),
    (lambda a, b: ember.einsum("bij,bjk->bik", a, b), (2, 2, 3), (1, 3, 2)),
    (lambda a, b: ember.einsum("...i,i->...", a, b), (2, 3), (3,)),
    (lambda a, b: ember.einsum("ij,k->ijk", a, b), (2, 1), (2,)),
]


@pytest.mark.parametrize("k", range(len(GRADCHECK)))
def test_gradcheck(k):
    fn, sa, sb = GRADCHECK[k]
    a = ember.tensor(rand(*sa, seed=k), requires_grad=True)
    b = ember.tensor(rand(*sb, seed=k + 1), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (a, b))


@pytest.mark.parametrize("k", [0, 4, 6, 9, 12, 13])
def test_gradgradcheck(k):
    fn, sa, sb = GRADCHECK[k]
    a = ember.tensor(rand(*sa, seed=k), requires_grad=True)
    b = ember.tensor(rand(*sb, seed=k + 1), requires_grad=True)
    assert ember.autograd.gradgradcheck(fn, (a, b))


# ---------------------------------------------------------------------------------------------
# Misuse: torch's exception class and message
# ---------------------------------------------------------------------------------------------
MISUSE = [
    (lambda M, a, b: a @ b, (64, 784), (128, 10),
     r"mat1 and mat2 shapes cannot be multiplied \(64x784 and 128x10\)"),
    (lambda M, a, b: M.mm(a, b), (2, 3), (4, 5),
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    (lambda M, a, b: a @ b, (3,), (4,), r"inconsistent tensor size, expected tensor \[3\] and src "
                                        r"\[4\] to have the same number of elements, but got 3 "
                                        r"and 4 elements respectively"),
    (lambda M, a, b: M.dot(a, b), (3,), (4,), "inconsistent tensor size"),
    (lambda M, a, b: a @ b, (2, 3), (4,), r"size mismatch, got input \(2\), mat \(2x3\), vec "
                                          r"\(4\)"),
    (lambda M, a, b: M.mv(a, b), (2, 3), (4,), r"size mismatch, got input \(2\), mat \(2x3\), "
                                               r"vec \(4\)"),
    (lambda M, a, b: a @ b, (3,), (4, 5), r"mat1 and mat2 shapes cannot be multiplied \(1x3 and "
                                          r"4x5\)"),
    (lambda M, a, b: a @ b, (2, 2, 3), (4, 5), r"\(4x3 and 4x5\)"),
    (lambda M, a, b: a @ b, (2, 2, 3), (4,), r"size mismatch, got input \(4\), mat \(4x3\), vec "
                                             r"\(4\)"),
    (lambda M, a, b: a @ b, (2, 3), (2, 4, 5), r"Expected size for first two dimensions of batch2 "
                                               r"tensor to be: \[2, 3\] but got: \[2, 4\]."),
    (lambda M, a, b: a @ b, (4,), (2, 3, 4), r"Expected size for first two dimensions of batch2 "
                                             r"tensor to be: \[2, 4\] but got: \[2, 3\]."),
    (lambda M, a, b: a @ b, (2, 2, 3), (3, 3, 5), r"The size of tensor a \(2\) must match the "
                                                  r"size of tensor b \(3\) at non-singleton "
                                                  r"dimension 0"),
    (lambda M, a, b: a @ b, (2, 5, 2, 3), (3, 3, 5), r"The size of tensor a \(5\) must match "
                                                     r"the size of tensor b \(3\) at "
                                                     r"non-singleton dimension 1"),
    (lambda M, a, b: a @ b, (2, 5, 2, 3), (5, 4, 5), r"\[10, 3\] but got: \[10, 4\]"),
    (lambda M, a, b: M.matmul(a[0, 0], b), (2, 3), (3,), "both arguments to matmul need to be "
                                                         "at least 1D, but they are 0D and 1D"),
    (lambda M, a, b: M.mm(a[0], b), (2, 3), (3, 4), "self must be a matrix"),
    (lambda M, a, b: M.mm(a, b[0]), (2, 3), (3, 4), "mat2 must be a matrix"),
    (lambda M, a, b: M.bmm(a, b), (2, 2, 3), (2, 4, 5), r"Expected size for first two dimensions "
                                                        r"of batch2 tensor to be: \[2, 3\] but "
                                                        r"got: \[2, 4\]."),
    (lambda M, a, b: M.bmm(a, b), (2, 2, 3), (3, 3, 5), r"\[2, 3\] but got: \[3, 3\]"),
    (lambda M, a, b: M.bmm(a[0], b), (2, 2, 3), (2, 3, 5), "batch1 must be a 3D tensor"),
    (lambda M, a, b: M.bmm(a, b[0]), (2, 2, 3), (2, 3, 5), "batch2 must be a 3D tensor"),
    (lambda M, a, b: M.mv(a, b), (2, 3), (2, 3), r"vector \+ matrix @ vector expected, got 1, 2, "
                                                 r"2"),
    (lambda M, a, b: M.dot(a, b), (3, 1), (3,), "1D tensors expected, but got 2D and 1D tensors"),
    (lambda M, a, b: M.dot(a, b.float()), (3,), (3,), "dot : expected both vectors to have same "
                                                      "dtype, but found Double and Float"),
    (lambda M, a, b: M.mm(a, b.float()), (2, 3), (3, 4), "expected m1 and m2 to have the same "
                                                         "dtype, but got: double != float"),
    (lambda M, a, b: a @ b.float(), (2, 3), (3, 4), "expected m1 and m2 to have the same dtype"),
    (lambda M, a, b: M.bmm(a, b.float()), (2, 2, 3), (2, 3, 5), "expected scalar type Double but "
                                                                "found Float"),
    (lambda M, a, b: M.mv(a, b.float()), (2, 3), (3,), "addmv input tensors must have the same "
                                                       "dtype, but got Float, Double, and Float"),
    (lambda M, a, b: M.outer(a, b), (3,), (2, 2), "outer: Expected 1-D argument vec2, but got 2-D"),
    (lambda M, a, b: M.addmm(a[:, :2], a, b), (2, 3), (4, 5), r"\(2x3 and 4x5\)"),
    (lambda M, a, b: M.addmm(b[:3, :2], a, b[:, :2]), (2, 3), (3, 4),
     r"The expanded size of the tensor \(2\) must match the existing size \(3\) at "
     r"non-singleton dimension 0.  Target sizes: \[2, 2\].  Tensor sizes: \[3, 2\]"),
    (lambda M, a, b: M.addmm(a.float(), a, b), (2, 3), (3, 3), "self and mat2 must have the same "
                                                               "dtype, but got Float and Double"),
    (lambda M, a, b: M.einsum("ij,jk", a, b), (2, 3), (4, 5), "einsum"),
    (lambda M, a, b: M.einsum("ii->i", a), (2, 3), (4, 5), r"subscript i is repeated for "
                                                           r"operand 0 but the sizes don't "
                                                           r"match, 3 != 2"),
    (lambda M, a, b: M.einsum("ij,jk->ik", a), (2, 3), (4, 5), "fewer operands were provided"),
    (lambda M, a, b: M.einsum("ij,jk->ik", a, b[0]), (2, 3), (4, 5), "the number of subscripts "
                                                                     "in the equation"),
    (lambda M, a, b: M.einsum("ij,jk->ik", a, b.float()), (2, 3), (3, 4), "expected scalar type "
                                                                          "Double but found "
                                                                          "Float"),
    (lambda M, a, b: M.matmul(a, b.numpy()), (2, 3), (3, 4), None),
]


@pytest.mark.parametrize("k", range(len(MISUSE)))
def test_misuse(k):
    fn, sa, sb, match = MISUSE[k]
    check_raises(fn, rand(*sa), rand(*sb), match=match)


def test_shape_error_with_requires_grad_follows_torch_fold():
    for sa, sb in (((2, 3), (2, 4, 5)), ((3,), (2, 4, 5)), ((1, 2, 3), (5, 4, 5)),
                   ((1, 1, 2, 3), (5, 4, 5)), ((1, 3), (5, 4, 5))):
        msgs = []
        for M in (torch, ember):
            a = M.zeros(*sa, requires_grad=True)
            with pytest.raises(RuntimeError) as ei:
                a @ M.zeros(*sb)
            msgs.append(str(ei.value))
        assert msgs[0] == msgs[1]


# ---------------------------------------------------------------------------------------------
# Hypothesis: broadcasting of matmul batch dimensions
# ---------------------------------------------------------------------------------------------
@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    nb = draw(st.integers(0, 3))
    batch = [draw(st.integers(1, 3)) for _ in range(nb)]

    def side():
        keep = draw(st.integers(0, nb))
        return [draw(st.sampled_from([b, 1])) for b in batch[nb - keep:]]
    a = side() + [n, k] if draw(st.booleans()) or nb else [k]
    b = side() + [k, m] if draw(st.booleans()) or nb else [k]
    if len(a) == 1 and len(b) == 1 and draw(st.booleans()):
        b = [k, m]
    return tuple(a), tuple(b)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matmul_shapes(), st.sampled_from([F32, F64]))
def test_hypothesis_matmul_broadcast(shapes, dt):
    sa, sb = shapes
    check(lambda M, x, y: x @ y, rand(*sa, dtype=dt, seed=1), rand(*sb, dtype=dt, seed=2))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matmul_shapes(), st.integers(1, 3))
def test_hypothesis_matmul_mismatch(shapes, extra):
    sa, sb = shapes
    sb = sb[:-2] + (sb[-2] + extra, sb[-1]) if len(sb) >= 2 else (sb[0] + extra,)
    check_raises(lambda M, x, y: x @ y, rand(*sa), rand(*sb))
    e, t = check_raises(lambda M, x, y: x @ y, rand(*sa), rand(*sb))
    assert str(e) == str(t)
