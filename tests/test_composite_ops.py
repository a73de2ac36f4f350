"""ravel, diff, rot90, kron, tensordot, cdist, logaddexp/logaddexp2 against torch: values,
dtypes, gradients (float32/float64, 0-d/empty/non-contiguous where they apply), errors."""
import numpy as np
import pytest

from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64


@pytest.mark.parametrize("dtype", [F32, F64])
def test_ravel_and_methods(dtype):
    check(lambda M, a: M.ravel(a), rand(3, 4, dtype=dtype), noncontig=True)
    check(lambda M, a: a.ravel(), rand(2, 3, 2, dtype=dtype))
    check(lambda M, a: M.ravel(a), rand(dtype=dtype))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("n,dim", [(1, -1), (2, 0), (3, 1), (0, 1), (5, 1)])
def test_diff(dtype, n, dim):
    check(lambda M, a: M.diff(a, n=n, dim=dim), rand(4, 5, dtype=dtype))
    check(lambda M, a, p, q: M.diff(a, n=n, dim=dim, prepend=p, append=q),
          rand(4, 5, dtype=dtype), rand(4, 5, dtype=dtype, seed=1),
          rand(4, 5, dtype=dtype, seed=2))


def test_diff_bool_int_and_errors():
    check(lambda M, a: M.diff(a), np.array([True, False, False, True]), grad=False)
    check(lambda M, a: a.diff(dim=0), np.arange(12).reshape(3, 4), grad=False)
    check_raises(lambda M, a: M.diff(a), np.array(3.0))
    check_raises(lambda M, a: M.diff(a, n=-1), np.ones(3))


@pytest.mark.parametrize("k", [-3, -1, 0, 1, 2, 3, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, 0), (1, 2)])
def test_rot90(k, dims):
    check(lambda M, a: M.rot90(a, k, dims), rand(2, 3, 4, dtype=F32))


def test_rot90_errors():
    for dims in [(0,), (0, 0), (0, 3), (-4, 1)]:
        check_raises(lambda M, a: M.rot90(a, 1, dims), rand(2, 3, 4))
    check_raises(lambda M, a: M.rot90(a), rand(3))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (2, 2)), ((2, 1, 3), (2, 2)),
                                   ((), (3,)), ((0, 2), (2, 2))])
def test_kron(dtype, sa, sb):
    check(lambda M, a, b: M.kron(a, b), rand(*sa, dtype=dtype), rand(*sb, dtype=dtype, seed=1))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0),
    ((3, 4, 5), (4, 3, 2), ([0, 1], [1, 0])), ((2, 3, 4), (4, 2), ([2, 0], [0, 1])),
    ((3,), (3,), 1)])
def test_tensordot(dtype, sa, sb, dims):
    check(lambda M, a, b: M.tensordot(a, b, dims=dims), rand(*sa, dtype=dtype),
          rand(*sb, dtype=dtype, seed=1), rtol=1e-5 if dtype == F32 else None)


def test_tensordot_errors():
    check_raises(lambda M, a, b: M.tensordot(a, b, dims=([0], [0])), rand(2, 3), rand(3, 2))
    check_raises(lambda M, a, b: M.tensordot(a, b, dims=([0, 1], [0])), rand(2, 3), rand(2, 3))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), 0.5])
def test_cdist(dtype, p):
    check(lambda M, a, b: M.cdist(a, b, p=p), rand(5, 3, dtype=dtype),
          rand(4, 3, dtype=dtype, seed=1), rtol=1e-5 if dtype == F32 else 1e-10)
    check(lambda M, a, b: M.cdist(a, b, p=p), rand(2, 5, 3, dtype=dtype),
          rand(2, 4, 3, dtype=dtype, seed=1), rtol=1e-5 if dtype == F32 else 1e-10)


def test_cdist_errors():
    check_raises(lambda M, a, b: M.cdist(a, b), rand(3), rand(3))
    check_raises(lambda M, a, b: M.cdist(a, b), rand(3, 2), rand(3, 4))


@pytest.mark.parametrize("fn", ["logaddexp", "logaddexp2"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_logaddexp(fn, dtype):
    check(lambda M, a, b: getattr(M, fn)(a, b), rand(3, 4, dtype=dtype) * 5,
          rand(4, dtype=dtype, seed=1) * 5)
    check(lambda M, a, b: getattr(M, fn)(a, b), rand(dtype=dtype), rand(2, dtype=dtype, seed=2))
    x = np.array([-np.inf, np.inf, -np.inf, 1.0, np.nan, 1e30], dtype)
    y = np.array([-np.inf, np.inf, 2.0, np.inf, 1.0, 1e30], dtype)
    check(lambda M, a, b: getattr(M, fn)(a, b), x, y, grad=False)


def ints(*shape, seed=0, low=0, high=8):
    return np.random.default_rng(seed).integers(low, high, size=shape)


def test_isin():
    check(lambda M, a, b: M.isin(a, b), ints(3, 4), ints(5, seed=1), grad=False)
    check(lambda M, a, b: M.isin(a, b, invert=True), ints(3, 4), ints(5, seed=1), grad=False)
    check(lambda M, a, b: M.isin(a, b), np.array([1.0, np.nan, 2.0]), np.array([np.nan, 2.0]),
          grad=False)
    check(lambda M, b: M.isin(2, b), ints(4), grad=False)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_and_bucketize(right):
    seq = np.array([1, 3, 3, 5, 7])
    check(lambda M, s, v: M.searchsorted(s, v, right=right), seq, ints(3, 4, high=9),
          grad=False)
    check(lambda M, s, v: M.searchsorted(s, v, side="right" if right else "left",
                                         out_int32=True), seq, ints(6, high=9), grad=False)
    seq2 = np.sort(ints(2, 5, high=9), axis=1)
    check(lambda M, s, v: M.searchsorted(s, v, right=right), seq2, ints(2, 3, high=9),
          grad=False)
    check(lambda M, s: M.searchsorted(s, 4, right=right), seq.astype(float), grad=False)
    check(lambda M, v, b: M.bucketize(v, b, right=right), ints(3, 4, high=9), seq, grad=False)
    check_raises(lambda M, v, b: M.bucketize(v, b), ints(3), np.ones((2, 2)))
    check_raises(lambda M, s, v: M.searchsorted(s, v), np.ones((2, 3)), np.ones((3, 1)))


def test_bincount():
    check(lambda M, a: M.bincount(a), ints(20), grad=False)
    check(lambda M, a: a.bincount(minlength=12), ints(20), grad=False)
    check(lambda M, a, w: M.bincount(a, w), ints(20), rand(20, dtype=F32), grad=False)
    check(lambda M, a, w: M.bincount(a, weights=w, minlength=3), ints(20),
          rand(20, dtype=F64), grad=False)
    check(lambda M, a: M.bincount(a), np.zeros(0, np.int64), grad=False)
    for bad in (np.array([-1, 2]), np.ones((2, 2), np.int64), np.ones(3), np.array([True])):
        check_raises(lambda M, a: M.bincount(a), bad)


@pytest.mark.parametrize("fn", ["hypot", "copysign", "xlogy"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_float_binaries(fn, dtype):
    b = rand(4, dtype=dtype, seed=1)
    a = rand(3, 4, dtype=dtype)
    if fn == "xlogy":
        b = np.abs(b) + 0.1
        a[0, :2] = 0.0
    check(lambda M, x, y: getattr(M, fn)(x, y), a, b)
    check(lambda M, x, y: getattr(M, fn)(x, y), rand(dtype=dtype), b)
    x = np.array([0.0, -0.0, 1.0, -2.0, 0.0, 3.0, np.inf, 0.0], dtype)
    y = np.array([0.5, -1.0, 0.0, 3.0, 0.0, np.nan, 2.0, -1.0], dtype)
    check(lambda M, p, q: getattr(M, fn)(p, q), x, y, grad=False)
    check(lambda M, p: getattr(M, fn)(p, 2.0) if fn != "hypot" else p, x, grad=False)


@pytest.mark.parametrize("fn", ["logaddexp", "logaddexp2", "hypot", "copysign", "xlogy"])
def test_new_binary_primitives_gradcheck(fn):
    import ember
    rng = np.random.default_rng(3)
    a = ember.tensor(rng.uniform(0.3, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4)),
                     dtype=ember.float64, requires_grad=True)
    b = ember.tensor(rng.uniform(0.3, 2.0, (4,)), dtype=ember.float64, requires_grad=True)
    f = getattr(ember, fn)
    assert ember.autograd.gradcheck(lambda x, y: f(x, y), (a, b))
