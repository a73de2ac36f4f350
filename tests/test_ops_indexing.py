"""Indexing against torch: __getitem__/__setitem__ (values, grads, torch's placement rules),
gather/scatter family, masked ops, take, nonzero, index_add_ and friends; misuse; hypothesis
tests over random index expressions."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

import ember
from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64


def I(M, v):  # noqa: E743  (an index tensor of the library under test)
    return M.tensor(v)


# ---------------------------------------------------------------------------------------------
# __getitem__
# ---------------------------------------------------------------------------------------------
GET = [
    lambda M, x: x[1], lambda M, x: x[-1], lambda M, x: x[1, 2], lambda M, x: x[1, -1, 0],
    lambda M, x: x[:, 1], lambda M, x: x[..., 2], lambda M, x: x[0, ..., 1],
    lambda M, x: x[1:], lambda M, x: x[::2], lambda M, x: x[:, ::2, 1:3],
    lambda M, x: x[-2:, :-1], lambda M, x: x[5:9], lambda M, x: x[:, 3:1],
    lambda M, x: x[None], lambda M, x: x[:, None, 1], lambda M, x: x[..., None],
    lambda M, x: x[...], lambda M, x: x[:], lambda M, x: x[True], lambda M, x: x[False],
    lambda M, x: x[[0, 1, 1]], lambda M, x: x[[2, 0]], lambda M, x: x[[-1, 0, -1]],
    lambda M, x: x[I(M, [1, 1, 0])], lambda M, x: x[I(M, [[0, 1], [1, 1]])],
    lambda M, x: x[:, [0, 0, 2]], lambda M, x: x[..., [1, 3, 1]],
    lambda M, x: x[[0, 1], [1, 2]], lambda M, x: x[[0, 1], :, [1, 3]],
    lambda M, x: x[[[0], [1]], [0, 2]], lambda M, x: x[0, :, [1, 2]],
    lambda M, x: x[:, 0, [1, 2]], lambda M, x: x[None, 0, :, [1, 2]],
    lambda M, x: x[1, [0, 0], [2, 3]], lambda M, x: x[[0, 1], 1:, None],
    lambda M, x: x[x > 0], lambda M, x: x[(x > 0)[:, :, 0]], lambda M, x: x[(x > 0)[0, :, 0]],
    lambda M, x: x[:, (x > 0)[0, :, 0]], lambda M, x: x[:, (x > 0)[0]],
    lambda M, x: x[I(M, [True, False, True])], lambda M, x: x[I(M, 1)],
    lambda M, x: x[I(M, 1), I(M, [0, 2])], lambda M, x: x[np.int64(1)],
    lambda M, x: x[[]], lambda M, x: x[:, []], lambda M, x: x[M.tensor([], dtype=M.int64)],
    lambda M, x: x[::3, [0, 2], ::2],
    lambda M, x: x[I(M, [0, 2]).int()], lambda M, x: x[[[0, 1], [1, 2]]],
]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("k", range(len(GET)))
def test_getitem(k, dt):
    check(GET[k], rand(3, 3, 4, dtype=dt, seed=k))


@pytest.mark.parametrize("k", [0, 4, 8, 9, 14, 20, 25, 27, 28, 30, 36, 37])
def test_getitem_noncontiguous(k):
    check(GET[k], rand(3, 3, 4, seed=k), noncontig=True)


def test_getitem_0d_and_empty():
    for fn in (lambda M, x: x[None], lambda M, x: x[...], lambda M, x: x[True],
               lambda M, x: x[None, None], lambda M, x: x[x > 0]):
        check(fn, rand())
    for fn in (lambda M, x: x[:, 1:], lambda M, x: x[[]],
               lambda M, x: x[x > 0], lambda M, x: x[:, [0, 1]]):
        check(fn, rand(0, 3))


def test_getitem_integer_and_bool_tensors():
    a = np.arange(24).reshape(2, 3, 4)
    check(lambda M, x: x[1, [0, 2], ::2], a)
    check(lambda M, x: (x > 3)[[1, 0]], a)
    check(lambda M, x: x[x % 2 == 0], a)


def test_getitem_views_share_memory():
    x = ember.arange(24.0).reshape(2, 3, 4).clone()
    for v in (x[1], x[:, 1:], x[..., ::2], x[None], x[1, 2, 3]):
        assert v._base is x and np.shares_memory(v._data, x._data)
    for c in (x[[0, 1]], x[x > 3], x[:, [0]]):
        assert c._base is None and not np.shares_memory(c._data, x._data)


def test_getitem_grad_accumulates_duplicates():
    check(lambda M, x: x[[0, 0, 0, 2]] * M.arange(4.0, dtype=x.dtype)[:, None], rand(3, 2))
    check(lambda M, x: x[[1, 1], [0, 0]], rand(3, 2))
    check(lambda M, x: x.flatten()[M.tensor([[0, 0], [5, 0]])], rand(3, 2))


# ---------------------------------------------------------------------------------------------
# __setitem__
# ---------------------------------------------------------------------------------------------
SET = [  # fn(M, x, v) -> tensor; x, v require grad in the graph tests
    lambda M, x, v: _set(x, 1, v[0, 0]),
    lambda M, x, v: _set(x, (slice(None), 1), v * 2),
    lambda M, x, v: _set(x, (Ellipsis, 2), v[:3, :3]),
    lambda M, x, v: _set(x, (0, slice(1, 3)), v[0, :4]),
    lambda M, x, v: _set(x, slice(None, None, 2), v[0]),
    lambda M, x, v: _set(x, [0, 2], v[:1]),
    lambda M, x, v: _set(x, ([0, 0, 2], [1, 1, 0]), v[0]),
    lambda M, x, v: _set(x, (M.tensor([2, 0]),), v[1, 0]),
    lambda M, x, v: _set(x, x.detach() > 0, v[1, 1]),
    lambda M, x, v: _set(x, (0, [1, 2], [0, 3]), v[2, :2]),
    lambda M, x, v: _set(x, (slice(None), [2, 0]), v[:2, :4]),
    lambda M, x, v: _set(x, None, v[0]),
    lambda M, x, v: _set(x, (1, None), v[:1]),
    lambda M, x, v: _set(x, ..., v[1, 1]),
    lambda M, x, v: _set(x, (1, 2, 3), v[0, 0]),
    lambda M, x, v: _set(x, True, v[0]),
]


def _set(x, idx, v):
    y = x * 1
    y[idx] = v
    return y * y


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("k", range(len(SET)))
def test_setitem_graph(k, dt):
    check(SET[k], rand(3, 3, 4, dtype=dt, seed=k), rand(3, 4, dtype=dt, seed=k + 1))


@pytest.mark.parametrize("k", range(len(SET)))
def test_setitem_constant_value_and_no_grad(k):
    def const(M, x, v):
        return SET[k](M, x, v.detach())
    check(const, rand(3, 3, 4, seed=k), rand(3, 4, seed=k + 1))

    def nograd(M, x, v):
        y = x.detach().clone()
        with M.no_grad():
            SET[k](M, y, v)
        return y
    check(nograd, rand(3, 3, 4, seed=k), rand(3, 4, seed=k + 1), grad=False)


def test_setitem_python_scalars_and_dtypes():
    def f(M, x):
        y = x.clone()
        y[0] = 2
        y[1, 1:] = 2.5
        y[y > 1] = -1
        y[:, 0] = M.tensor([7, 8, 9])        # int64 value into a float tensor
        return y
    check(f, rand(3, 4))
    check(f, rand(3, 4).astype(F32))

    def g(M, x):
        y = x.clone()
        y[0] = 2.7                           # float into int: truncated
        y[1] = M.tensor([1.5, 2.5, -3.5, 4.9])
        y[2, [0, 0]] = True
        return y
    check(g, np.arange(12).reshape(3, 4))


def test_setitem_through_view_writes_base():
    for M in (torch, ember):
        x = M.zeros(2, 3)
        x.t()[1] = M.tensor([5.0, 6.0])
        x[:, None, 2] = 4
        assert x.tolist() == [[0.0, 5.0, 4.0], [0.0, 6.0, 4.0]]
        assert x._version == 2


def test_setitem_value_requiring_grad_into_plain_tensor():
    for M in (torch, ember):
        w = M.tensor([1.0, 2.0], requires_grad=True)
        b = M.zeros(3, 2)
        b[1] = w * 3
        b[[0, 2]] = w
        assert b.requires_grad and not b.is_leaf
        (b * M.arange(6.0).reshape(3, 2)).sum().backward()
        assert w.grad.tolist() == [3 * 2 + 0 + 4, 3 * 3 + 1 + 5]


def test_setitem_leaf_errors_match_torch():
    for idx in (0, [0], (slice(None), 1), ..., None):
        def f(M, a, idx=idx):
            x = M.tensor(a.tolist(), requires_grad=True)
            x[x.detach() > 0 if idx is None else idx] = 1.0
        e, t = check_raises(f, rand(2, 3))
        assert str(e) == str(t)


# ---------------------------------------------------------------------------------------------
# gather / scatter / index ops
# ---------------------------------------------------------------------------------------------
IDX = np.array([[0, 1, 1, 0], [2, 0, 0, 1]])

OPS = [
    lambda M, x: x.gather(0, M.tensor(IDX)),
    lambda M, x: M.gather(x, 1, M.tensor([[3, 3], [0, 1], [2, 2]])),
    lambda M, x: x.gather(-1, M.tensor([[1], [0], [3]])),
    lambda M, x, s: x.scatter(0, M.tensor([[0, 1, 2], [2, 0, 1]]), s[:2]),
    lambda M, x, s: M.scatter(x, 1, M.tensor([[3, 0], [1, 2], [0, 1]]), s[:, :2]),
    lambda M, x: x.scatter(1, M.tensor([[3, 0], [1, 2], [0, 1]]), 2.5),
    lambda M, x: x.scatter(1, M.tensor([[3, 0], [1, 2], [0, 1]]), value=-1.0),
    lambda M, x, s: x.scatter_add(0, M.tensor(IDX[:, :3]), s[:2]),
    lambda M, x, s: M.scatter_add(x, 1, M.tensor([[3, 3, 3], [0, 1, 0], [2, 2, 2]]), s),
    lambda M, x: x.index_select(0, M.tensor([2, 0, 2])),
    lambda M, x: M.index_select(x, 1, M.tensor([3, 3, 1], dtype=M.int32)),
    lambda M, x: x.index_select(1, M.tensor(2)),
    lambda M, x: x.masked_fill(x > 0, 0.5),
    lambda M, x: M.masked_fill(x, M.tensor([True, False, True, False]), -2.0),
    lambda M, x, s: x.masked_fill(x < 0, s[0, 0]),
    lambda M, x: x.masked_select(x > 0),
    lambda M, x: M.masked_select(x, M.tensor([[True], [False], [True]])),
    lambda M, x: M.masked_select(x[0], (x > 0)),
    lambda M, x: x.take(M.tensor([0, 5, 5, 11])),
    lambda M, x: M.take(x, M.tensor([[-1, 0], [3, -12]])),
    lambda M, x: M.take_along_dim(x, M.tensor([[0], [2], [1]]), 1),
    lambda M, x: M.take_along_dim(x, M.tensor([3, 0])),
    lambda M, x, s: x.index_add(0, M.tensor([2, 0, 2]), s.repeat(1, 2)[:, :4]),
    lambda M, x, s: x.index_add(1, M.tensor([1, 1, 0]), s.t(), alpha=2),
    lambda M, x, s: x.index_copy(0, M.tensor([2, 0, 1]), s.repeat(1, 2)[:, 1:5]),
    lambda M, x: x.index_fill(1, M.tensor([0, 2]), 3.0),
    lambda M, x, s: x.masked_scatter(x > 0, s),
    lambda M, x, s: _inplace(x, lambda y: y.scatter_(0, M.tensor([[0, 1, 2], [1, 2, 0]]), s[:2])),
    lambda M, x, s: _inplace(x, lambda y: y.scatter_add_(1, M.tensor([[1, 1, 1]] * 3), s)),
    lambda M, x, s: _inplace(x, lambda y: y.index_add_(0, M.tensor([1, 1, 0]), s[:, :1] * x[0])),
    lambda M, x: _inplace(x, lambda y: y.masked_fill_(y > 0.5, 0.0)),
    lambda M, x: _inplace(x, lambda y: y.index_fill_(0, M.tensor([1]), -1.0)),
    lambda M, x, s: _inplace(x, lambda y: y.index_copy_(1, M.tensor([1, 0, 3]), s.t())),
]


def _inplace(x, f):
    y = x * 1
    r = f(y)
    assert r is y
    return y * y


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("k", range(len(OPS)))
def test_index_ops(k, dt):
    fn = OPS[k]
    xs = [rand(3, 4, dtype=dt, seed=k)]
    if fn.__code__.co_argcount == 3:
        xs.append(rand(3, 3, dtype=dt, seed=k + 7))
    check(fn, *xs)


@pytest.mark.parametrize("k", [0, 1, 4, 7, 9, 12, 15, 18, 22])
def test_index_ops_noncontiguous(k):
    fn = OPS[k]
    xs = [rand(3, 4, seed=k)] + ([rand(3, 3, seed=k + 7)] if fn.__code__.co_argcount == 3 else [])
    check(fn, *xs, noncontig=True)


def test_index_ops_0d_and_empty():
    check(lambda M, x: x.gather(0, M.tensor(0)), rand())
    check(lambda M, x: x.gather(0, M.tensor([0, 0])), rand())
    check(lambda M, x: x.index_select(0, M.tensor([0])), rand())
    check(lambda M, x: x.masked_fill(M.tensor(True), 1.0), rand())
    check(lambda M, x: x.take(M.tensor([0, 0])), rand())
    check(lambda M, x: x.gather(1, M.zeros(3, 0, dtype=M.int64)), rand(3, 4))
    check(lambda M, x: x.index_select(0, M.tensor([], dtype=M.int64)), rand(3, 4))
    check(lambda M, x: x.masked_select(x > 10), rand(3, 4))
    check(lambda M, x: x.scatter_add(0, M.zeros(0, 4, dtype=M.int64), x[:0]), rand(3, 4))


def test_nonzero():
    for a in (np.array([[0, 1.5, 0], [2, 0, 3]]), np.zeros((2, 0)), np.array(1.0), np.array(0),
              np.array([True, False, True])):
        check(lambda M, x: M.nonzero(x), a, grad=False)
        check(lambda M, x: x.nonzero(as_tuple=True), a, grad=False)
        check(lambda M, x: M.argwhere(x), a, grad=False)


def test_index_ops_integer_inputs():
    a = np.arange(12).reshape(3, 4)
    check(lambda M, x: x.gather(1, M.tensor([[0], [3], [1]])), a)
    check(lambda M, x: x.scatter_add(0, M.tensor([[1, 1, 1, 1]]), x[:1]), a)
    check(lambda M, x: x.index_add(0, M.tensor([0, 0]), x[1:]), a)
    check(lambda M, x: x.masked_fill(x > 5, 0), a)
    check(lambda M, x: x.index_select(1, M.tensor([0, 0])), a)


# ---------------------------------------------------------------------------------------------
# gradcheck for every differentiable indexing primitive
# ---------------------------------------------------------------------------------------------
GRADCHECK = [
    lambda x: x[1:, ::2], lambda x: x[None, 0], lambda x: x[[0, 0, 1]],
    lambda x: x[x > 0], lambda x: x[0, [1, 1]], lambda x: x.gather(1, ember.tensor([[0, 0]] * 2)),
    lambda x: x.scatter(0, ember.tensor([[1, 0, 1]]), x[:1] * 2),
    lambda x: x.scatter_add(1, ember.tensor([[0, 0], [2, 2]]), x[:, :2].exp()),
    lambda x: x.index_select(1, ember.tensor([2, 0, 2])), lambda x: x.masked_fill(x > 0, 1.0),
    lambda x: x.masked_select(x < 0.5), lambda x: x.take(ember.tensor([5, 0, 5])),
    lambda x: x.index_add(0, ember.tensor([1, 1]), x.exp()),
    lambda x: x.index_copy(1, ember.tensor([2, 0]), x[:, :2].sin()),
    lambda x: x.masked_scatter(x > 0, x.flatten().cos()),
    lambda x: _set(x, ([0, 1, 1], [2, 2, 0]), x[0, 0].exp()),
    lambda x: _set(x, (slice(None), 1), x[:, 2].sin()),
]


@pytest.mark.parametrize("k", range(len(GRADCHECK)))
def test_gradcheck(k):
    x = ember.tensor(rand(2, 3, seed=k), requires_grad=True)
    assert ember.autograd.gradcheck(GRADCHECK[k], (x,))


@pytest.mark.parametrize("k", [0, 2, 4, 5, 8, 11, 15])
def test_gradgradcheck(k):
    x = ember.tensor(rand(2, 3, seed=k), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda x: GRADCHECK[k](x) ** 2, (x,))


# ---------------------------------------------------------------------------------------------
# Misuse: torch's exception class and message
# ---------------------------------------------------------------------------------------------
MISUSE = [
    (lambda M, x: x[5], "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x[1, -5], "index -5 is out of bounds for dimension 1 with size 4"),
    (lambda M, x: x[[0, 5]], "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x[:, [0, 4]], "index 4 is out of bounds for dimension 0 with size 4"),
    (lambda M, x: x[[0, 1], [0, 9]], "index 9 is out of bounds for dimension 1 with size 4"),
    (lambda M, x: x[M.tensor([3])], "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x[0, 0, 0], "too many indices for tensor of dimension 2"),
    (lambda M, x: x[0.5], r"only integers, slices \(`:`\), ellipsis \(`...`\), None and long or "
                          r"byte Variables are valid indices \(got float\)"),
    (lambda M, x: x["a"], None),
    (lambda M, x: x[M.tensor([0.0])], "tensors used as indices must be long, int, byte or bool "
                                      "tensors"),
    (lambda M, x: x[M.tensor([True, False])], r"The shape of the mask \[2\] at index 0 does not "
                                              r"match the shape of the indexed tensor \[3, 4\] at "
                                              r"index 0"),
    (lambda M, x: x[::-1], "step must be greater than zero"),
    (lambda M, x: x[0, 0][0], "invalid index of a 0-dim tensor"),
    (lambda M, x: x[0, 0][:], r"slice\(\) cannot be applied to a 0-dim tensor."),
    (lambda M, x: x.__setitem__(7, 1.0), "index 7 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x.__setitem__([0, 7], 1.0), "index 7 is out of bounds"),
    (lambda M, x: x.__setitem__(0, M.ones(3)), r"The expanded size of the tensor \(4\) must match "
                                               r"the existing size \(3\) at non-singleton "
                                               r"dimension 0.  Target sizes: \[4\].  Tensor "
                                               r"sizes: \[3\]"),
    (lambda M, x: x.__setitem__(0, M.ones(2, 4, dtype=M.float64)),
     r"expand\(torch.DoubleTensor\{\[2, 4\]\}, size=\[4\]\)"),
    (lambda M, x: x.__setitem__([0], M.ones(3)), r"shape mismatch: value tensor of shape \[3\] "
                                                 r"cannot be broadcast to indexing result of "
                                                 r"shape \[1, 4\]"),
    (lambda M, x: x.__setitem__(0, [1.0, 2.0, 3.0, 4.0]), "can't assign a list to a "
                                                          "torch.DoubleTensor"),
    (lambda M, x: x.__setitem__(0, np.ones(4)), "can't assign a numpy.ndarray to a "
                                                "torch.DoubleTensor"),
    (lambda M, x: x.gather(0, M.tensor([[3, 0, 0, 0]])), "index 3 is out of bounds for "
                                                         "dimension 0 with size 3"),
    (lambda M, x: x.gather(0, M.tensor([[-1, 0, 0, 0]])), "index -1 is out of bounds for "
                                                          "dimension 0 with size 3"),
    (lambda M, x: x.gather(0, M.tensor([[0.0, 0]])), r"gather\(\): Expected dtype int32/int64 "
                                                     r"for index"),
    (lambda M, x: M.zeros(()).index_select(0, M.tensor([0, 0])), "Index to scalar can have only "
                                                                 "1 value, got 2 value"),
    (lambda M, x: x.index_add(0, M.tensor([2, 0, 2]), M.ones(3, 3, dtype=M.float64)),
     r"source tensor shape must match self tensor shape, excluding the specified dimension. Got "
     r"self.shape = \[3, 4\] source.shape = \[3, 3\]"),
    (lambda M, x: x.index_add(0, M.tensor([-1]), M.ones(1, 4, dtype=M.float64)),
     "index -1 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x.index_copy(0, M.tensor([5]), M.ones(1, 4, dtype=M.float64)),
     r"index_copy_\(\): index 5 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x.index_copy(0, M.tensor([1, 2]), M.ones(2, 3, dtype=M.float64)),
     r"index_copy_\(\): Source/destination tensor must have same slice shapes. Destination "
     r"slice shape: 4 at dimension 0 and source slice shape: 3 at dimension 0."),
    (lambda M, x: x.index_fill(0, M.tensor([5]), 1.0),
     "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda M, x: x.scatter(0, M.tensor([[0, 0, 0, 0, 0]]), 1.0),
     r"Expected index \[1, 5\] to be no larger than self \[3, 4\] apart from dimension 0"),
    (lambda M, x: x.scatter_add(0, M.tensor([[0, 1, 1, 0], [2, 0, 0, 1]]), M.ones(3, 3)),
     r"Expected index \[2, 4\] to be no larger than self \[3, 4\] apart from dimension 0 and to "
     r"be no larger size than src \[3, 3\]"),
    (lambda M, x: x.take(M.tensor([0], dtype=M.int32)), r"take\(\): Expected a long tensor for "
                                                        r"index, but got Int"),
    (lambda M, x: x.gather(0, M.tensor([0, 0])), "Index tensor must have the same number of "
                                                 "dimensions as input tensor"),
    (lambda M, x: x.gather(0, M.zeros(2, 5, dtype=M.int64)), "Size does not match at dimension 1"),
    (lambda M, x: x.scatter(0, M.tensor([[5, 0]]), 1.0), "index 5 is out of bounds for "
                                                         "dimension 0 with size 3"),
    (lambda M, x: x.scatter_add(0, M.tensor([[0, 0]]), M.ones(1, 2, dtype=M.float32)),
     "scatter_add"),
    (lambda M, x: x.index_select(0, M.tensor([3])), "index out of range in self"),
    (lambda M, x: x.index_select(0, M.tensor([-1])), "index out of range in self"),
    (lambda M, x: x.index_select(0, M.tensor([[0]])), "Index is supposed to be a vector"),
    (lambda M, x: x.index_select(0, M.tensor([0.0])), None),
    (lambda M, x: x.masked_fill(M.tensor([1, 0, 1, 0]), 1.0), "masked_fill_ only supports "
                                                              "boolean masks"),
    (lambda M, x: x.masked_fill(M.ones(2, 4, dtype=M.bool), 1.0), None),
    (lambda M, x: x.masked_fill(x > 0, M.ones(2)), "masked_fill_ only supports a 0-dimensional "
                                                   "value tensor, but got tensor with 1 "
                                                   "dimension"),
    (lambda M, x: x.masked_select(M.ones(2, 4, dtype=M.bool)), None),
    (lambda M, x: x.take(M.tensor([12])), r"out of range: tried to access index 12 on a tensor "
                                          r"of 12 elements."),
    (lambda M, x: x.take(M.tensor([-13])), "out of range: tried to access index -13"),
    (lambda M, x: x.index_add(0, M.tensor([0]), M.ones(2, 4, dtype=M.float64)),
     r"index_add_\(\): Number of indices \(1\) should be equal to source.size\(dim\): \(2\)"),
    (lambda M, x: x.index_add(0, M.tensor([5]), M.ones(1, 4, dtype=M.float64)), None),
]


@pytest.mark.parametrize("k", range(len(MISUSE)))
def test_misuse(k):
    fn, match = MISUSE[k]
    check_raises(fn, rand(3, 4), match=match)


# ---------------------------------------------------------------------------------------------
# Hypothesis: random index expressions (values, shapes and gradients agree with torch)
# ---------------------------------------------------------------------------------------------
@st.composite
def index_expr(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    items, dim, has_ellipsis, n_adv = [], 0, False, 0
    while dim < ndim and len(items) < 5:
        kind = draw(st.sampled_from(["int", "slice", "none", "ellipsis", "list", "tensor",
                                     "mask", "full"]))
        n = shape[dim]
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
            dim += 1
        elif kind == "slice":
            a = draw(st.none() | st.integers(-n - 1, n + 1))
            b = draw(st.none() | st.integers(-n - 1, n + 1))
            s = draw(st.none() | st.integers(1, 3))
            items.append(slice(a, b, s))
            dim += 1
        elif kind == "full":
            items.append(slice(None))
            dim += 1
        elif kind == "none":
            items.append(None)
        elif kind == "ellipsis" and not has_ellipsis:
            items.append(Ellipsis)
            has_ellipsis = True
            dim = ndim - draw(st.integers(0, ndim - dim)) if dim < ndim else dim
        elif kind in ("list", "tensor") and n_adv < 2:
            k = draw(st.integers(0, 3))
            vals = [draw(st.integers(-n, n - 1)) for _ in range(k)]
            items.append(("t", vals) if kind == "tensor" else vals)
            n_adv += 1
            dim += 1
        elif kind == "mask" and n_adv < 2:
            k = draw(st.integers(1, min(2, ndim - dim)))
            m = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape[dim:dim + k])),
                                       max_size=int(np.prod(shape[dim:dim + k]))))
                         ).reshape(shape[dim:dim + k])
            items.append(("m", m))
            n_adv += 1
            dim += k
    return shape, tuple(items)


def _materialize(M, items):
    out = []
    for it in items:
        if isinstance(it, tuple) and it[0] == "t":
            out.append(M.tensor(it[1], dtype=M.int64))
        elif isinstance(it, tuple) and it[0] == "m":
            out.append(M.tensor(it[1]))
        else:
            out.append(it)
    return tuple(out)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_expr())
def test_hypothesis_getitem(expr):
    shape, items = expr
    x = rand(*shape, seed=len(items))
    try:
        torch.zeros(shape)[_materialize(torch, items)]
    except (IndexError, RuntimeError, ValueError, TypeError):
        check_raises(lambda M, a: a[_materialize(M, items)], x)
        return
    check(lambda M, a: a[_materialize(M, items)], x)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_expr(), st.booleans())
def test_hypothesis_setitem(expr, scalar):
    shape, items = expr

    def f(M, a, v):
        y = a * 1
        idx = _materialize(M, items)
        target = y[idx]
        y[idx] = v[0, 0] if scalar else v.reshape(-1)[:target.numel()].reshape(target.shape)
        return y * 2

    x = rand(*shape, seed=1)
    v = rand(8, 8, seed=2)
    try:
        f(torch, torch.tensor(x), torch.tensor(v))
    except (IndexError, RuntimeError, ValueError, TypeError):
        check_raises(f, x, v)
        return
    check(f, x, v)


def test_range_index_as_in_seed004_nll():
    import numpy as np
    from helpers import check
    x = np.random.default_rng(3).standard_normal((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    check(lambda M, a, b: -a[range(b.shape[0]), b].mean(), x, t)
    check(lambda M, a: a[range(1, 4)], x)


@pytest.mark.parametrize("idx", [(slice(None, 0), None, None, Ellipsis, [1]),
                                 (slice(0, 0), [3]), (Ellipsis, slice(2, 2), [7])])
def test_out_of_range_index_on_empty_result(idx):
    """torch checks index bounds only when the result has elements (found by hypothesis)."""
    check(lambda M, a: a[idx], rand(1, 2, 1))

    def setitem(M, a):
        a = a.clone()
        a[idx] = 1.0
        return a
    check(setitem, rand(1, 2, 1))
    check_raises(lambda M, a: a[([5],)], rand(1, 2, 1))
