"""Sorting and selection ops against torch: values, indices, gradients, names, ties, NaN."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64


def ints(*shape, dtype=np.int64, seed=0, low=-3, high=4):
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(dtype)


def same_grad_fn(fn, *inputs):
    e, t = check(fn, *inputs, grad=False)
    e = e if isinstance(e, ember.Tensor) else e[0]
    t = t if isinstance(t, torch.Tensor) else t[0]
    assert (e.grad_fn and e.grad_fn.name()) == (t.grad_fn and t.grad_fn.name())


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("descending", [False, True])
def test_sort(dtype, descending):
    x = rand(3, 4, 5, dtype=dtype, seed=1)
    for dim in [0, 1, -1]:
        check(lambda M, a: tuple(M.sort(a, dim, descending)), x)
        check(lambda M, a: tuple(a.sort(dim=dim, descending=descending, stable=True)), x,
              noncontig=True)
        check(lambda M, a: M.argsort(a, dim, descending), x)
        check(lambda M, a: a.argsort(dim=dim, descending=descending, stable=True), x)
    check(lambda M, a: tuple(M.sort(a, descending=descending)), rand(dtype=dtype))
    check(lambda M, a: tuple(M.sort(a, 0, descending)), rand(0, 3, dtype=dtype))
    check(lambda M, a: tuple(M.sort(a, 1, descending)), rand(0, 3, dtype=dtype))
    check(lambda M, a: M.argsort(a, descending=descending), rand(dtype=dtype))


def test_sort_ties_nan_ints():
    t = np.array([[2.0, 1.0, 2.0, 1.0, np.nan, 0.0], [np.nan, 3.0, np.nan, 3.0, 3.0, -1.0]])
    for desc in [False, True]:
        check(lambda M, a: tuple(M.sort(a, stable=True, descending=desc)), t)
        check(lambda M, a: M.argsort(a, dim=0, stable=True, descending=desc), t)
    for dt in [np.int64, np.int32, np.uint8, np.int8]:
        x = ints(4, 6, dtype=dt, low=0 if dt == np.uint8 else -3)
        check(lambda M, a: tuple(M.sort(a, stable=True)), x)
        check(lambda M, a: tuple(M.sort(a, dim=0, descending=True, stable=True)), x)
    b = np.array([True, False, True, False])
    check(lambda M, a: tuple(M.sort(a, stable=True)), b)


def test_msort():
    x = rand(4, 3, seed=2)
    check(lambda M, a: M.msort(a), x)
    check(lambda M, a: a.msort(), x, noncontig=True)
    same_grad_fn(lambda M, a: M.msort(a), x)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_topk(dtype):
    x = rand(3, 5, 4, dtype=dtype, seed=3)
    for k in [0, 1, 3]:
        for dim in [0, 1, -1]:
            if k > x.shape[dim]:
                continue
            for largest in [True, False]:
                check(lambda M, a: tuple(M.topk(a, k, dim, largest)), x)
                check(lambda M, a: tuple(a.topk(k, dim=dim, largest=largest, sorted=True)), x,
                      noncontig=True)
    check(lambda M, a: tuple(M.topk(a, 2)), np.array([1.0, 3.0, 3.0, 2.0], dtype=dtype))
    check(lambda M, a: tuple(M.topk(a, 2, largest=False)), np.array([1.0, 3.0, 1.0, 2.0]))
    check(lambda M, a: tuple(M.topk(a, 2)), np.array([1.0, np.nan, 5.0]))
    check(lambda M, a: tuple(M.topk(a, 1)), rand(dtype=dtype))
    check(lambda M, a: tuple(M.topk(a, 2)), ints(3, 5))
    check_raises(lambda M, a: M.topk(a, 6), rand(5), match="selected index k out of range")
    check_raises(lambda M, a: M.topk(a, 1, 2), rand(5))


def test_kthvalue_median_mode():
    x = rand(3, 5, 4, seed=4)
    for dim in [0, 1, -1]:
        for keepdim in [False, True]:
            check(lambda M, a: tuple(M.kthvalue(a, 2, dim, keepdim)), x)
            check(lambda M, a: tuple(M.median(a, dim, keepdim)), x)
            check(lambda M, a: tuple(M.nanmedian(a, dim, keepdim)), x)
            check(lambda M, a: tuple(a.mode(dim, keepdim)), x.round())
    check(lambda M, a: M.median(a), x)
    check(lambda M, a: a.median(), x.astype(F32))
    check(lambda M, a: M.nanmedian(a), x)
    t = np.array([[1.0, 2.0, 2.0, 2.0], [3.0, 1.0, 3.0, 1.0], [4.0, np.nan, 1.0, 2.0]])
    check(lambda M, a: tuple(M.median(a, 1)), t)
    check(lambda M, a: tuple(M.nanmedian(a, 1)), t)
    check(lambda M, a: M.median(a), t)
    check(lambda M, a: M.nanmedian(a), t)
    check(lambda M, a: M.median(a), t[:2])                   # ties share the gradient
    check(lambda M, a: tuple(M.kthvalue(a, 2, 1)), t[:2])
    check(lambda M, a: tuple(M.mode(a)), t[:2])
    check(lambda M, a: tuple(M.mode(a, 0)), t[:2])
    check(lambda M, a: tuple(M.mode(a)), np.array([1, 2, 2, 3, 3, 1]))
    check(lambda M, a: tuple(M.mode(a, 1)), ints(4, 9, low=0, high=3))
    check(lambda M, a: tuple(M.mode(a, 0)), ints(9, 4, low=0, high=3, seed=5))
    check(lambda M, a: tuple(M.median(a, 0)), ints(5, 3))
    check(lambda M, a: tuple(M.kthvalue(a, 1)), rand())
    check(lambda M, a: tuple(M.median(a, 0)), rand())
    check(lambda M, a: tuple(M.mode(a, -1)), rand())
    check_raises(lambda M, a: M.kthvalue(a, 6), rand(5))
    check_raises(lambda M, a: M.kthvalue(a, 0), rand(5))
    for f in [lambda M, a: a.median(), lambda M, a: a.median(1), lambda M, a: a.kthvalue(1),
              lambda M, a: a.mode(), lambda M, a: a.sort(), lambda M, a: a.topk(2),
              lambda M, a: a.nanmedian(), lambda M, a: a.nanmedian(0)]:
        same_grad_fn(f, x[0])


def test_unique():
    x = ints(4, 5, low=0, high=4)
    check(lambda M, a: M.unique(a), x)
    check(lambda M, a: M.unique(a, return_inverse=True), x)
    check(lambda M, a: M.unique(a, return_counts=True), x)
    check(lambda M, a: a.unique(sorted=True, return_inverse=True, return_counts=True), x)
    check(lambda M, a: M.unique(a, dim=0, return_inverse=True, return_counts=True),
          np.array([[1, 2], [1, 2], [0, 1], [1, 0]]))
    check(lambda M, a: M.unique(a, dim=1), np.array([[1, 1, 0], [2, 2, 1]]))
    check(lambda M, a: M.unique(a), np.array([1.0, np.nan, 2.0, np.nan, 1.0]), grad=False)
    check(lambda M, a: M.unique(a, return_inverse=True), rand(3, 3).round(), grad=False)
    check(lambda M, a: M.unique(a), np.array([True, False, True]))
    check(lambda M, a: M.unique(a), np.zeros((0,)), grad=False)
    check(lambda M, a: M.unique(a, return_inverse=True), np.array(3))
    r = ember.unique(ember.tensor([1.0, 2.0], requires_grad=True))
    assert not r.requires_grad


# ---- gradcheck -------------------------------------------------------------------------------
def _t(arr):
    return ember.tensor(arr, dtype=ember.float64, requires_grad=True)


@pytest.mark.parametrize("fn", [
    lambda a: a.sort(1)[0], lambda a: a.sort(0, descending=True)[0], lambda a: a.topk(2)[0],
    lambda a: a.kthvalue(2, 0)[0], lambda a: a.median(), lambda a: a.median(1)[0],
    lambda a: a.msort(), lambda a: a.nanmedian(0)[0]])
def test_gradcheck(fn):
    x = _t(rand(3, 4, seed=6))
    assert ember.autograd.gradcheck(fn, (x,))
    assert ember.autograd.gradgradcheck(fn, (x,))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_hypothesis_sort_topk(shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    k = data.draw(st.integers(0, shape[dim]))
    x = rand(*shape, seed=7)
    desc = data.draw(st.booleans())
    check(lambda M, a: tuple(M.sort(a, dim, desc)), x)
    check(lambda M, a: tuple(M.topk(a, k, dim, desc)), x)
    if k:
        check(lambda M, a: tuple(M.kthvalue(a, k, dim)), x)
