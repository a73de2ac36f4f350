"""Reductions against torch: values, dtypes, gradients, grad_fn names, dims, keepdim, misuse."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64

# torch and ember both warn when a var/std has no degrees of freedom (checked once below);
# the gradient there is inf * 0 in both
pytestmark = [pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]


def ints(*shape, dtype=np.int64, seed=0, low=-5, high=6):
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(dtype)


def same_grad_fn(fn, *inputs):
    """grad_fn names (and next_functions arity) of every output agree with torch's."""
    e, t = check(fn, *inputs, grad=False)
    es = [e] if isinstance(e, ember.Tensor) else list(e)
    ts = [t] if isinstance(t, torch.Tensor) else list(t)
    for eo, to in zip(es, ts):
        en = None if eo.grad_fn is None else eo.grad_fn.name()
        tn = None if to.grad_fn is None else to.grad_fn.name()
        assert en == tn
        if to.grad_fn is not None:
            assert len(eo.grad_fn.next_functions) == len(to.grad_fn.next_functions)


# dims to try for a 3-d input
DIMS = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


def _kw(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


@pytest.mark.parametrize("name", ["sum", "mean", "nansum", "nanmean", "amax", "amin",
                                  "logsumexp", "var", "std", "count_nonzero", "all", "any"])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_multi_dim_reductions(name, dim, keepdim):
    x = rand(2, 3, 4, seed=1)
    if name == "logsumexp" and dim is None:
        dim = (0, 1, 2)
    if name in ("count_nonzero",):
        kw = {} if dim is None else {"dim": dim}
        x = x.round()
    else:
        kw = _kw(dim, keepdim)
    if name in ("all", "any") and isinstance(dim, tuple):
        kw = {"dim": dim, "keepdim": keepdim}
    check(lambda M, a: getattr(M, name)(a, **kw), x)
    check(lambda M, a: getattr(a, name)(**kw), x.astype(F32))
    check(lambda M, a: getattr(M, name)(a, **kw), x, noncontig=True)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "amin", "logsumexp", "var",
                                  "std", "norm", "nansum", "nanmean", "max", "min", "argmax",
                                  "argmin", "cumsum", "cumprod", "median", "all", "any",
                                  "count_nonzero", "logcumsumexp"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_zero_dim_and_empty(name, dtype):
    needs_dim = name in ("logsumexp", "cumsum", "cumprod", "logcumsumexp")
    f = (lambda M, a: getattr(M, name)(a, 0)) if needs_dim else (lambda M, a: getattr(M, name)(a))
    check(f, rand(dtype=dtype))                         # 0-d
    check(lambda M, a: getattr(M, name)(a, 0), rand(dtype=dtype))
    check(lambda M, a: getattr(M, name)(a, -1), rand(dtype=dtype))
    empty = rand(0, 3, dtype=dtype)
    for g in [lambda M, a: getattr(M, name)(a, 1), f]:
        try:
            g(torch, torch.from_numpy(empty))
        except (RuntimeError, IndexError):
            check_raises(g, empty)
            continue
        check(g, empty)


def test_sum_mean_dtypes():
    for dt in [np.bool_, np.uint8, np.int8, np.int32, np.int64]:
        x = ints(3, 4, dtype=dt, low=0 if dt in (np.bool_, np.uint8) else -5, high=2 if
                 dt == np.bool_ else 6)
        check(lambda M, a: M.sum(a), x)
        check(lambda M, a: a.sum(1, keepdim=True), x)
        check(lambda M, a: M.sum(a, dtype=M.float32), x)
        check(lambda M, a: M.prod(a), x)
        check(lambda M, a: M.prod(a, 0), x)
        check(lambda M, a: M.cumsum(a, 1), x)
        check(lambda M, a: M.cumprod(a, 0), x)
        check(lambda M, a: M.mean(a, dtype=M.float64), x)
        check_raises(lambda M, a: M.mean(a), x, match="could not infer output dtype")
        check(lambda M, a: M.amax(a, 1), x)
        check(lambda M, a: M.max(a), x)
        check(lambda M, a: M.max(a, 0), x)
        if dt == np.bool_:
            check_raises(lambda M, a: M.argmin(a, 1), x, match="does not support bool")
        else:
            check(lambda M, a: M.argmin(a, 1), x)
        check(lambda M, a: M.count_nonzero(a, 0), x)
        check(lambda M, a: M.all(a, 1), x)
        check(lambda M, a: M.any(a), x)
    x = rand(3, 4, dtype=F32)
    check(lambda M, a: M.sum(a, dtype=M.float64), x)
    check(lambda M, a: M.mean(a, 0, dtype=M.float64), x)
    check(lambda M, a: a.sum(dim=(0, 1)), x)
    check(lambda M, a: M.sum(a, ()), x)
    check(lambda M, a: M.sum(a, []), x)
    check(lambda M, a: M.mean(a, ()), x)
    check(lambda M, a: M.prod(a, dtype=M.float64), x)
    check(lambda M, a: M.cumsum(a, 0, dtype=M.float64), x)
    check(lambda M, a: M.sum(a, dim=-2), rand(2, 3, 4, dtype=np.float16), grad=False)


def test_grad_fn_names():
    x = rand(3, 4, seed=2)
    for f in [lambda M, a: a.sum(), lambda M, a: a.sum(0), lambda M, a: a.sum((0, 1)),
              lambda M, a: a.sum(0, keepdim=True), lambda M, a: a.sum(dtype=M.float32),
              lambda M, a: a.mean(), lambda M, a: a.mean(1), lambda M, a: a.prod(),
              lambda M, a: a.prod(1), lambda M, a: a.max(), lambda M, a: a.max(1),
              lambda M, a: a.min(), lambda M, a: a.min(0), lambda M, a: a.amax(),
              lambda M, a: a.amin(1), lambda M, a: a.var(), lambda M, a: a.std(1),
              lambda M, a: a.logsumexp(1), lambda M, a: a.norm(), lambda M, a: a.norm(1),
              lambda M, a: a.norm(3, dim=0), lambda M, a: a.norm(float("inf")),
              lambda M, a: a.cumsum(0), lambda M, a: a.cumprod(1), lambda M, a: a.nansum(),
              lambda M, a: a.logcumsumexp(1), lambda M, a: a.cummax(0),
              lambda M, a: a.cummin(1), lambda M, a: M.aminmax(a),
              lambda M, a: M.var_mean(a, 1), lambda M, a: M.std_mean(a),
              lambda M, a: a.max(a * 2), lambda M, a: a.argmax(), lambda M, a: a.all(),
              lambda M, a: a.nanmean()]:
        same_grad_fn(f, x)


# ---- max / min -----------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["max", "min"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_max_min(fn, dtype):
    x = rand(3, 4, 5, dtype=dtype, seed=3)
    check(lambda M, a: getattr(M, fn)(a), x)
    for dim in [0, 1, -1, 2]:
        for keepdim in [False, True]:
            e, t = check(lambda M, a: getattr(M, fn)(a, dim, keepdim), x)
            assert e.values is e[0] and e.indices is e[1]
            check(lambda M, a: getattr(a, fn)(dim=dim, keepdim=keepdim).values, x,
                  noncontig=True)
    check(lambda M, a, b: getattr(M, fn)(a, b), x, rand(5, dtype=dtype))
    check(lambda M, a, b: getattr(a, fn)(b), x, rand(4, 1, dtype=dtype))
    # ties: whole-tensor max splits the gradient evenly, dim-max picks the first index
    t = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=dtype)
    check(lambda M, a: getattr(M, fn)(a), t)
    check(lambda M, a: getattr(M, fn)(a, 1), t)
    check(lambda M, a: getattr(M, fn)(a, 0), t)
    nan = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, np.nan]], dtype=dtype)
    check(lambda M, a: getattr(M, fn)(a, 1), nan)
    check(lambda M, a: getattr(M, fn)(a), nan, grad=False)


def test_return_types_pickle():
    import pickle
    r = ember.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1)
    r2 = pickle.loads(pickle.dumps(r))
    assert type(r2) is ember.return_types.max and r2.indices.tolist() == [1, 0]


def test_max_result_type_repr():
    e = ember.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1)
    assert type(e).__name__ == "max"
    assert repr(e) == ("ember.return_types.max(\nvalues=tensor([5., 3.]),\n"
                       "indices=tensor([1, 0]))")
    v, i = e
    assert v.tolist() == [5.0, 3.0] and i.dtype is ember.int64


@pytest.mark.parametrize("fn", ["amax", "amin"])
def test_amax_amin_ties(fn):
    t = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for dim in [(), 0, 1, (0, 1)]:
        check(lambda M, a: getattr(M, fn)(a, dim), t)
        check(lambda M, a: getattr(M, fn)(a, dim, True), t)
    check(lambda M, a: getattr(M, fn)(a, 1), np.array([[np.nan, 1.0], [2.0, 1.0]]))


@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_argmax_argmin(fn):
    x = rand(3, 4, 5, seed=4)
    check(lambda M, a: getattr(M, fn)(a), x)
    check(lambda M, a: getattr(M, fn)(a, keepdim=True), x)
    for dim in [0, 1, -1]:
        check(lambda M, a: getattr(M, fn)(a, dim), x)
        check(lambda M, a: getattr(a, fn)(dim, True), x, noncontig=True)
    check(lambda M, a: getattr(M, fn)(a), np.array([1.0, np.nan, 3.0, np.nan]))
    check(lambda M, a: getattr(M, fn)(a, 0), np.array([[1.0, 5.0], [5.0, 1.0], [5.0, 1.0]]))
    check(lambda M, a: getattr(M, fn)(a), ints(7))
    check_raises(lambda M, a: getattr(M, fn)(a), np.zeros((0, 3)))
    check(lambda M, a: getattr(M, fn)(a, 1), np.zeros((0, 3)))


def test_aminmax():
    x = rand(3, 4, seed=5)
    check(lambda M, a: tuple(M.aminmax(a)), x)
    check(lambda M, a: tuple(M.aminmax(a, dim=1)), x)
    check(lambda M, a: tuple(a.aminmax(dim=0, keepdim=True)), x)
    r = ember.aminmax(ember.tensor(x))
    assert r.min.shape == () and r.max.shape == ()


# ---- prod ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64])
def test_prod(dtype):
    x = rand(3, 4, dtype=dtype, seed=6)
    check(lambda M, a: M.prod(a), x)
    check(lambda M, a: M.prod(a, 1), x)
    check(lambda M, a: M.prod(a, 0, keepdim=True), x)
    check(lambda M, a: a.prod(-1), x, noncontig=True)
    z = x.copy()
    z[0, 1] = 0.0
    check(lambda M, a: M.prod(a), z)
    check(lambda M, a: M.prod(a, 1), z)
    z[0, 3] = 0.0
    check(lambda M, a: M.prod(a, 1), z)
    check(lambda M, a: M.prod(a), z)
    check(lambda M, a: M.prod(a, 0), z)
    check_raises(lambda M, a: M.prod(a, (0, 1)), x)


# ---- var / std -------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["var", "std"])
def test_var_std(fn):
    x = rand(3, 4, 5, seed=7)
    for kw in [{}, {"unbiased": False}, {"correction": 0}, {"correction": 2},
               {"dim": 1}, {"dim": (0, 2), "unbiased": False}, {"dim": -1, "keepdim": True},
               {"dim": 1, "correction": 0, "keepdim": True}, {"dim": None, "correction": 3}]:
        check(lambda M, a: getattr(M, fn)(a, **kw), x)
        check(lambda M, a: getattr(a, fn)(**kw), x.astype(F32))
    check(lambda M, a: getattr(M, fn)(a, 1, True), x)           # positional unbiased
    check(lambda M, a: getattr(M, fn)(a, 1, False, True), x)
    check(lambda M, a: getattr(M, fn)(a, False), x)              # var(input, unbiased)
    check(lambda M, a: getattr(M, fn)(a), rand(1))               # n - 1 == 0 -> nan
    with pytest.warns(UserWarning, match=fn + r"\(\): degrees of freedom is <= 0"):
        getattr(ember, fn)(ember.ones(1))
    check(lambda M, a: getattr(M, fn)(a, 0), rand(2, 3), noncontig=True)
    const = np.ones((2, 3))
    check(lambda M, a: getattr(M, fn)(a, 1), const)              # std 0: grad 0 (not nan)
    check_raises(lambda M, a: getattr(M, fn)(a), ints(3), match="floating point")
    r = getattr(ember, fn + "_mean")(ember.tensor(x), 1)
    t = getattr(torch, fn + "_mean")(torch.from_numpy(x), 1)
    np.testing.assert_allclose(r[0].numpy(), t[0].numpy())
    np.testing.assert_allclose(r[1].numpy(), t[1].numpy())
    check(lambda M, a: getattr(M, fn + "_mean")(a, (0, 1), correction=0), x)


# ---- logsumexp, norm -----------------------------------------------------------------------
def test_logsumexp():
    x = rand(3, 4, seed=8) * 30
    check(lambda M, a: M.logsumexp(a, 1), x)
    check(lambda M, a: M.logsumexp(a, (0, 1), keepdim=True), x)
    check(lambda M, a: a.logsumexp(0), x.astype(F32))
    big = np.array([[1000.0, 1000.0], [-np.inf, -np.inf], [np.inf, 1.0]])
    check(lambda M, a: M.logsumexp(a, 1), big, grad=False)
    check(lambda M, a: M.logsumexp(a, 1), big[:1])
    check(lambda M, a: M.logsumexp(a, 1), ints(3, 4))


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, 0, float("inf"), float("-inf"), "fro", -1.5])
@pytest.mark.parametrize("dim", [None, 1, (0, 1), -1])
def test_norm(p, dim):
    x = rand(3, 4, seed=9)
    kw = {} if dim is None else {"dim": dim}
    check(lambda M, a: M.norm(a, p, **kw), x)
    check(lambda M, a: a.norm(p, **kw, keepdim=True) if dim is not None else a.norm(p), x,
          noncontig=True)
    check(lambda M, a: M.norm(a, p, **kw), x.astype(F32))
    z = x.copy()
    z[1] = 0.0
    if p not in (0.5, -1.5):   # p < 1: torch's gradient at 0 is inf/nan by design
        check(lambda M, a: M.norm(a, p, dim=1), z)


def test_norm_misc():
    x = rand(3, 4, seed=9)
    check(lambda M, a: M.norm(a), x)
    check(lambda M, a: a.norm(p=2), np.zeros((2, 2)))              # grad 0 at origin
    check(lambda M, a: M.norm(a, dim=()), x)
    check(lambda M, a: M.norm(a, float("inf")), np.array([1.0, -3.0, 3.0]))  # ties
    check_raises(lambda M, a: M.norm(a), ints(3), match="floating point")
    with pytest.raises(NotImplementedError):
        ember.norm(ember.ones(2, 2), p="nuc")


# ---- cumulative -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64])
def test_cumulative(dtype):
    x = rand(3, 4, dtype=dtype, seed=10)
    for dim in [0, 1, -1]:
        check(lambda M, a: M.cumsum(a, dim), x)
        check(lambda M, a: a.cumprod(dim), x, noncontig=True)
        check(lambda M, a: M.logcumsumexp(a, dim), x * 50)
        check(lambda M, a: tuple(M.cummax(a, dim)), x)
        check(lambda M, a: tuple(a.cummin(dim)), x)
    check(lambda M, a: M.cumsum(a, dim=1), x)
    check(lambda M, a: a.clone().cumsum_(1), x)
    check(lambda M, a: M.logcumsumexp(a, 0), np.array([-1000.0, 0.0, -np.inf, 1000.0]))


def test_cumprod_with_zeros():
    x = rand(4, 6, seed=11)
    x[0, 2] = 0.0
    x[1, 0] = 0.0
    x[1, 4] = 0.0
    x[3, 5] = 0.0
    for dim in [0, 1]:
        check(lambda M, a: M.cumprod(a, dim), x)
    check(lambda M, a: M.cumprod(a, 0), np.array([0.0, 0.0, 2.0]))
    g = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: ember.cumprod(a, 1), (g,))
    assert ember.autograd.gradgradcheck(lambda a: ember.cumprod(a, 1), (g,))


def test_cummax_ties_and_nan():
    x = np.array([1.0, 3.0, 3.0, np.nan, 2.0, np.nan])
    check(lambda M, a: tuple(M.cummax(a, 0)), x)
    check(lambda M, a: tuple(M.cummin(a, 0)), x)
    check(lambda M, a: tuple(M.cummin(a, 0)), np.array([3.0, 1.0, 1.0, 0.0]))
    check(lambda M, a: tuple(M.cummax(a, 0)), ints(6))


# ---- argument handling and misuse --------------------------------------------------------
def test_misuse():
    x = rand(2, 3)
    check_raises(lambda M, a: M.sum(a, 2), x, match=r"Dimension out of range \(expected to be "
                                                     r"in range of \[-2, 1\], but got 2\)")
    check_raises(lambda M, a: M.sum(a, (0, 0)), x, match="appears multiple times")
    check_raises(lambda M, a: M.mean(a, -3), x)
    check_raises(lambda M, a: M.max(a, 5), x)
    check_raises(lambda M, a: M.max(a, 1.5), x)
    check_raises(lambda M, a: M.cumsum(a, 2), x)
    check_raises(lambda M, a: M.max(a), np.zeros((0,)))
    check_raises(lambda M, a: M.max(a, 0), np.zeros((0,)))
    check_raises(lambda M, a: M.amax(a, 0), np.zeros((0, 3)))
    check_raises(lambda M, a: M.logsumexp(a, 2), x)
    check_raises(lambda M, a: M.var(a, 3), x)


def test_all_any_dtypes():
    check(lambda M, a: M.all(a), np.array([1, 0], dtype=np.uint8))
    check(lambda M, a: M.any(a, 0), np.array([1, 0], dtype=np.uint8))
    check(lambda M, a: M.all(a), np.array([1.0, np.nan]))
    check(lambda M, a: a.any(), np.zeros((0, 2)))
    check(lambda M, a: a.all(), np.zeros((0, 2)))


# ---- gradcheck ------------------------------------------------------------------------------
def _t(arr):
    return ember.tensor(arr, dtype=ember.float64, requires_grad=True)


GRADCHECK = {
    "sum": lambda a: a.sum(), "sum1": lambda a: a.sum(1, keepdim=True),
    "mean": lambda a: a.mean((0, 1)), "prod": lambda a: a.prod(), "prod1": lambda a: a.prod(0),
    "max": lambda a: a.max(), "max1": lambda a: a.max(1)[0], "amax": lambda a: a.amax(0),
    "amin": lambda a: a.amin(), "var": lambda a: a.var(1), "std": lambda a: a.std(),
    "logsumexp": lambda a: a.logsumexp(1), "norm2": lambda a: a.norm(),
    "norm1": lambda a: a.norm(1, dim=0), "norm3": lambda a: a.norm(3),
    "norminf": lambda a: a.norm(float("inf"), dim=1), "cumsum": lambda a: a.cumsum(0),
    "cumprod": lambda a: a.cumprod(1), "logcumsumexp": lambda a: a.logcumsumexp(1),
    "cummax": lambda a: a.cummax(1)[0], "nansum": lambda a: a.nansum(1),
    "nanmean": lambda a: a.nanmean(), "min1": lambda a: a.min(0).values,
    "aminmax": lambda a: ember.aminmax(a, dim=1), "var_mean": lambda a: ember.var_mean(a, 0),
    "std_mean": lambda a: ember.std_mean(a, correction=0),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    x = _t(rand(2, 3, seed=12))
    assert ember.autograd.gradcheck(GRADCHECK[name], (x,))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "var", "std", "logsumexp", "norm2",
                                  "norm3", "cumsum", "cumprod", "logcumsumexp", "max1"])
def test_gradgradcheck(name):
    x = _t(rand(2, 3, seed=13))
    assert ember.autograd.gradgradcheck(GRADCHECK[name], (x,))


# ---- hypothesis: random shapes, dims and keepdim ----------------------------------------
@st.composite
def shape_and_dims(draw):
    nd = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    dims = draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda
                         d: d % nd))
    return shape, tuple(dims)


@settings(max_examples=60, deadline=None)
@given(shape_and_dims(), st.booleans(),
       st.sampled_from(["sum", "mean", "amax", "amin", "logsumexp", "var", "std", "norm"]))
def test_hypothesis_dims(sd, keepdim, name):
    shape, dims = sd
    x = rand(*shape, seed=14)
    if name == "norm":
        check(lambda M, a: M.norm(a, 2, dims, keepdim), x)
    else:
        check(lambda M, a: getattr(M, name)(a, dims, keepdim=keepdim), x)
    d = dims[0]
    check(lambda M, a: tuple(M.max(a, d, keepdim)), x)
    check(lambda M, a: M.cumsum(a, d), x)
