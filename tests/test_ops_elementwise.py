"""Elementwise ops against torch: values, dtypes, gradients, grad_fn names, promotion, misuse."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64

# ember installs this filter at import (its hot ops skip np.errstate); pytest resets filters
pytestmark = pytest.mark.filterwarnings(
    r"ignore:(divide by zero|overflow|invalid value) encountered:RuntimeWarning:"
    r"ember\._ops\.elementwise")


def pos(*shape, dtype=F64, seed=0):
    return rand(*shape, dtype=dtype, seed=seed, low=0.2, high=3.0)


def unit(*shape, dtype=F64, seed=0):
    return rand(*shape, dtype=dtype, seed=seed, low=-0.9, high=0.9)


def gt1(*shape, dtype=F64, seed=0):
    return rand(*shape, dtype=dtype, seed=seed, low=1.1, high=4.0)


def prob(*shape, dtype=F64, seed=0):
    return rand(*shape, dtype=dtype, seed=seed, low=0.05, high=0.95)


def ints(*shape, dtype=np.int64, seed=0, low=-5, high=6):
    return np.random.default_rng(seed).integers(low, high, size=shape).astype(dtype)


def grad_fn_name(t):
    return None if t.grad_fn is None else t.grad_fn.name()


def _edges(fn):
    return [f is not None for f, _ in fn.next_functions]


def same_grad_fn(fn, *inputs):
    """The grad_fn name of ``fn``'s output, and which of its next_functions are set, agree
    with torch's."""
    e, t = check(fn, *inputs, grad=False)
    e = e if isinstance(e, ember.Tensor) else e[0]
    t = t if isinstance(t, torch.Tensor) else t[0]
    assert grad_fn_name(e) == grad_fn_name(t)
    if t.grad_fn is not None:
        assert _edges(e.grad_fn) == _edges(t.grad_fn), grad_fn_name(t)


# ---------------------------------------------------------------------------------------
# Unary ops
# ---------------------------------------------------------------------------------------
UNARY = {  # name -> input generator (domain)
    "exp": rand, "exp2": rand, "expm1": rand, "log": pos, "log2": pos, "log10": pos,
    "log1p": pos, "sqrt": pos, "rsqrt": pos, "square": rand, "reciprocal": pos,
    "sin": rand, "cos": rand, "tan": unit, "asin": unit, "acos": unit, "atan": rand,
    "sinh": rand, "cosh": rand, "tanh": rand, "sigmoid": rand, "relu": rand, "erf": rand,
    "erfc": rand, "erfinv": unit, "abs": rand, "neg": rand, "sign": rand, "floor": rand,
    "ceil": rand, "round": rand, "trunc": rand, "frac": rand, "negative": rand,
    "absolute": rand, "arcsin": unit, "arccos": unit, "arctan": rand, "fix": rand,
    "asinh": rand, "acosh": gt1, "atanh": unit, "arcsinh": rand, "arccosh": gt1,
    "arctanh": unit, "deg2rad": rand, "rad2deg": rand, "logit": prob,
}
SHAPES = [(3, 4), (), (0, 3), (2, 1, 3)]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_unary(name, dtype, shape):
    x = UNARY[name](*shape, dtype=dtype)
    check(lambda M, a: getattr(M, name)(a), x)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_method_noncontig_and_name(name):
    x = UNARY[name](4, 5, seed=3)
    check(lambda M, a: getattr(a, name)(), x, noncontig=True)
    same_grad_fn(lambda M, a: getattr(M, name)(a), x)


INT_UNARY = ["exp", "log", "sqrt", "sin", "tanh", "sigmoid", "erf", "abs", "neg", "sign",
             "floor", "ceil", "round", "trunc", "square", "relu", "reciprocal", "exp2",
             "expm1", "log1p", "atan", "erfinv", "rsqrt", "asinh", "deg2rad", "rad2deg"]


@pytest.mark.parametrize("name", INT_UNARY)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_unary_integer_inputs(name, dtype):
    lo = 0 if dtype == np.uint8 else -4
    with np.errstate(all="ignore"):
        check(lambda M, a: getattr(M, name)(a), ints(2, 5, dtype=dtype, low=lo, high=5))


@pytest.mark.parametrize("name", ["exp", "sqrt", "sigmoid", "abs", "sign", "floor", "erf",
                                  "square", "trunc"])
def test_unary_bool_inputs(name):
    x = np.array([True, False, True])
    ok = True
    try:
        getattr(torch, name)(torch.from_numpy(x))
    except RuntimeError:
        ok = False
    if ok:
        check(lambda M, a: getattr(M, name)(a), x)
    else:
        check_raises(lambda M, a: getattr(M, name)(a), x)


def test_unary_float16():
    x = rand(3, 4, dtype=np.float16)
    for name in ["exp", "log1p", "sqrt", "tanh", "sigmoid", "abs", "erf", "sin"]:
        check(lambda M, a: getattr(M, name)(a.abs() if name == "sqrt" else a), x, grad=False)


def test_unary_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e300, 40.0, -40.0, 1.0, -1.0])
    for name in ["exp", "expm1", "sigmoid", "tanh", "erf", "erfc", "abs", "sign", "relu",
                 "floor", "round", "frac", "atan", "log1p", "sqrt", "erfinv"]:
        with np.errstate(all="ignore"):
            check(lambda M, a: getattr(M, name)(a), x, grad=False)


def test_relu_abs_grad_at_zero():
    x = np.array([-1.0, 0.0, 2.0, -0.0])
    for name in ["relu", "abs", "sign", "sigmoid", "sqrt", "floor"]:
        check(lambda M, a: getattr(M, name)(a), x)


def test_erf_accuracy():
    x = np.concatenate([np.linspace(-6, 6, 2001), [1e-12, -1e-8, 0.5, 0.46875, 4.0, 5.9, 26.0]])
    ref = np.array([math.erf(v) for v in x])
    refc = np.array([math.erfc(v) for v in x])
    e = ember.erf(ember.tensor(x)).numpy()
    ec = ember.erfc(ember.tensor(x)).numpy()
    np.testing.assert_allclose(e, ref, rtol=8e-16, atol=1e-300)
    np.testing.assert_allclose(ec, refc, rtol=4e-15, atol=1e-300)
    check(lambda M, a: M.erfc(a), x, grad=False)


def test_erfinv_accuracy():
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 4001), [1e-10, -1e-300, 0.5,
                                                                 1 - 1e-15, -1 + 1e-12]])
    x = ember.erfinv(ember.tensor(y)).numpy()
    back = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(back, y, rtol=2e-15, atol=1e-300)
    ti = torch.erfinv(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(x, ti, rtol=1e-12)
    edge = ember.erfinv(ember.tensor([1.0, -1.0, 1.5, np.nan])).numpy()
    np.testing.assert_array_equal(edge[:2], [np.inf, -np.inf])
    assert np.isnan(edge[2:]).all()


def test_round_decimals():
    x = rand(4, 5, seed=2) * 100
    for d in [0, 1, 2, -1, 3]:
        check(lambda M, a: M.round(a, decimals=d), x)
        check(lambda M, a: a.round(decimals=d), x.astype(F32))
    check(lambda M, a: M.round(a), np.array([0.5, 1.5, 2.5, -0.5, -1.5]))
    same_grad_fn(lambda M, a: M.round(a, decimals=2), x)
    check_raises(lambda M, a: M.round(a, decimals=1), ints(3, 4))


# ---------------------------------------------------------------------------------------
# Binary arithmetic
# ---------------------------------------------------------------------------------------
BINARY = {
    "add": lambda M, a, b: a + b, "sub": lambda M, a, b: a - b, "mul": lambda M, a, b: a * b,
    "div": lambda M, a, b: a / b, "pow": lambda M, a, b: a.abs() ** b,
    "maximum": lambda M, a, b: M.maximum(a, b), "minimum": lambda M, a, b: M.minimum(a, b),
    "fmod": lambda M, a, b: M.fmod(a, b), "remainder": lambda M, a, b: M.remainder(a, b),
    "atan2": lambda M, a, b: M.atan2(a, b), "floordiv": lambda M, a, b: a // b,
    "mod": lambda M, a, b: a % b, "add_alpha": lambda M, a, b: M.add(a, b, alpha=2.5),
    "sub_alpha": lambda M, a, b: M.sub(a, b, alpha=-3), "max2": lambda M, a, b: M.max(a, b),
    "min2": lambda M, a, b: M.min(a, b), "div_trunc": lambda M, a, b: M.div(a, b,
                                                                             rounding_mode="trunc"),
    "div_floor": lambda M, a, b: M.div(a, b, rounding_mode="floor"),
    "true_divide": lambda M, a, b: M.true_divide(a, b),
    "float_power": lambda M, a, b: M.float_power(a.abs(), b),
    "fmax": lambda M, a, b: M.fmax(a, b), "fmin": lambda M, a, b: M.fmin(a, b),
    "hypot_like": lambda M, a, b: M.sqrt(a * a + b * b),
}
BCAST = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((3, 1), ()),
         ((), ()), ((0, 3), (3,)), ((1, 0), (2, 1))]


NO_DERIVATIVE = {"floordiv"}   # torch records these but raises in backward


def _nz(b):
    return np.where(np.abs(b) < 0.3, 0.7, b).astype(b.dtype)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shapes", BCAST, ids=str)
def test_binary(name, dtype, shapes):
    a = rand(*shapes[0], dtype=dtype, seed=1)
    b = _nz(rand(*shapes[1], dtype=dtype, seed=2))
    check(BINARY[name], a, b, grad=name not in NO_DERIVATIVE)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_noncontig_and_name(name):
    a = rand(4, 5, seed=1)
    b = _nz(rand(4, 5, seed=2))
    check(BINARY[name], a, b, noncontig=True, grad=name not in NO_DERIVATIVE)
    same_grad_fn(BINARY[name], a, b)
    try:   # second input a number, where torch accepts one
        BINARY[name](torch, torch.ones(2), np.float64(1.5))
    except TypeError:
        check_raises(BINARY[name], a, np.float64(1.5))
        check_raises(BINARY[name], a, 1.5)
    else:
        same_grad_fn(BINARY[name], a, np.float64(1.5))


SCALARS = [2, -3, 2.5, 0.5, True, np.float64(1.5), np.int64(3), np.float32(2.0)]


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "//", "%"])
@pytest.mark.parametrize("s", SCALARS, ids=repr)
@pytest.mark.parametrize("dtype", [F32, F64, np.int64, np.int32, np.uint8, np.float16])
def test_scalar_operands(op, s, dtype):
    if isinstance(s, (bool, np.bool_)) and op == "-":
        return  # checked in test_misuse
    if dtype in (F32, F64, np.float16):
        x = pos(2, 3, dtype=dtype) + 0.25
    else:
        x = ints(2, 3, dtype=dtype, low=1, high=6)
    # torch has no derivative for //, and an internal assert for `x ** True` in backward
    grad = dtype != np.float16 and op != "//" and not (op == "**" and s is True)
    if op == "**" and isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s < 0 \
            and x.dtype.kind != "f":
        check_raises(lambda M, a: a ** s, x)
        return
    with np.errstate(all="ignore"):
        check(lambda M, a: eval(f"a {op} s", {"a": a, "s": s}), x, grad=grad)
        check(lambda M, a: eval(f"s {op} a", {"a": a, "s": s}), x, grad=grad and op != "%")


def test_no_derivative_ops_raise_in_backward():
    # torch records floor division and number % tensor, but has no derivative for them
    for f, op in [(lambda M, a: a // 2, "floor_divide"), (lambda M, a: a // a, "floor_divide"),
                  (lambda M, a: 2 // a, "floor_divide"), (lambda M, a: 5 % a, "remainder")]:
        same_grad_fn(f, rand(3))
        check_raises(lambda M, a: f(M, a.requires_grad_()).sum().backward(), rand(3),
                     match=f"derivative for aten::{op} is not implemented")


def test_reflected_grad_fn_names():
    x = rand(3)
    for f in [lambda M, a: 2 - a, lambda M, a: 2 / a, lambda M, a: 2 ** a, lambda M, a: a ** 2,
              lambda M, a: -a, lambda M, a: 2 * a, lambda M, a: a + 1, lambda M, a: a - 1,
              lambda M, a: a / 3, lambda M, a: 1 + a, lambda M, a: a.pow(a),
              lambda M, a: M.tensor(2.0) ** a, lambda M, a: a % 2, lambda M, a: a // 2,
              lambda M, a: 5 % a, lambda M, a: M.fmod(a, 2)]:
        same_grad_fn(f, x)


def test_numpy_scalar_left_operand():
    # NumPy scalars on the left must defer to ember, not produce NumPy arrays
    x = rand(3, dtype=F32)
    for s in [np.float64(2.0), np.int64(2), np.float32(3.0)]:
        e, _ = check(lambda M, a: s * a, x)
        assert isinstance(e, ember.Tensor)
        check(lambda M, a: s - a, x)
        check(lambda M, a: s / a, x)
        check(lambda M, a: s ** a, x)


# ---- type promotion -------------------------------------------------------------------
DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, F32, F64]


def _sample(dtype, shape=(2, 3), seed=0):
    if dtype == np.bool_:
        return np.random.default_rng(seed).integers(0, 2, size=shape).astype(bool)
    if np.dtype(dtype).kind in "iu":
        return ints(*shape, dtype=dtype, seed=seed, low=1, high=6)
    return pos(*shape, dtype=dtype, seed=seed)


@pytest.mark.parametrize("da", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("db", DTYPES, ids=lambda d: np.dtype(d).name)
def test_promotion_matrix(da, db):
    a, b = _sample(da, seed=1), _sample(db, seed=2)
    b0 = _sample(db, shape=(), seed=3)
    for f in [lambda M, x, y: x + y, lambda M, x, y: x * y, lambda M, x, y: x / y,
              lambda M, x, y: M.maximum(x, y), lambda M, x, y: M.where(x > 2, x, y),
              lambda M, x, y: x == y, lambda M, x, y: M.atan2(x, y)]:
        for bb in (b, b0):
            try:
                f(torch, torch.from_numpy(a), torch.from_numpy(bb))
            except RuntimeError:
                check_raises(f, a, bb)
                continue
            check(f, a, bb, grad=False)
    if da != np.bool_ and db != np.bool_:
        check(lambda M, x, y: x - y, a, b, grad=False)
        check(lambda M, x, y: x % y, a, b, grad=False)
        check(lambda M, x, y: x // y, a, b, grad=False)


def test_promotion_examples():
    i = np.array([1, 2, 3])
    assert (ember.tensor([1, 2]) / ember.tensor([2, 2])).dtype is ember.float32
    assert (ember.tensor([1, 2]) * 2.5).dtype is ember.float32
    h = ember.tensor([1.0], dtype=ember.float16) + ember.tensor(2.0, dtype=ember.float64)
    assert h.dtype is ember.float16
    assert (ember.tensor([1], dtype=ember.uint8) + ember.tensor([1], dtype=ember.int8)).dtype \
        is ember.int16
    assert (ember.ones(2) * 1e300).dtype is ember.float32          # no upcast from scalars
    assert (ember.ones(2) + np.float64(1.0)).dtype is ember.float32
    assert (ember.tensor([True]) + True).dtype is ember.bool
    check(lambda M, a: a + 1.5, i)
    check(lambda M, a: a * True, i)
    check(lambda M, a: a / 2, i)
    check(lambda M, a: (a > 1) + (a > 2), i)
    check(lambda M, a: (a > 1) * 3, i)
    check(lambda M, a: (a > 1) * 3.0, i)
    with ember.no_grad():
        pass
    old = ember.get_default_dtype()
    try:
        ember.set_default_dtype(ember.float64)
        assert (ember.tensor([1, 2]) / 2).dtype is ember.float64
        assert ember.exp(ember.tensor([1])).dtype is ember.float64
    finally:
        ember.set_default_dtype(old)


def test_integer_division_semantics():
    a = np.array([7, -7, 7, -7, 0, 5])
    b = np.array([2, 2, -2, -2, 3, 5])
    for f in [lambda M, x, y: x % y, lambda M, x, y: M.fmod(x, y),
              lambda M, x, y: M.div(x, y, rounding_mode="trunc"),
              lambda M, x, y: M.div(x, y, rounding_mode="floor"), lambda M, x, y: x / y,
              lambda M, x, y: M.remainder(x, y), lambda M, x, y: x ** M.abs(y),
              lambda M, x, y: x // y]:
        check(f, a, b, grad=False)
        check(f, a.astype(np.int8), b.astype(np.int8))
        check(f, a.astype(F32), b.astype(F32), grad=False)
        check(f, a.astype(F64) + 0.5, b.astype(F64), grad=False)
    check_raises(lambda M, x, y: x // y, a, np.zeros(6, dtype=np.int64))
    check_raises(lambda M, x, y: x % y, a, np.zeros(6, dtype=np.int64))
    with np.errstate(all="ignore"):
        check(lambda M, x, y: x / y, a, np.zeros(6, dtype=np.int64))
        check(lambda M, x, y: x % y, a.astype(F64), np.zeros(6))
        check(lambda M, x, y: M.fmod(x, y), a.astype(F64), np.zeros(6))


def test_pow_cases():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    check(lambda M, a: a ** 2, x)
    check(lambda M, a: a ** 3, x)
    check(lambda M, a: a ** 0, x)
    check(lambda M, a: a ** 0.5, np.abs(x))
    check(lambda M, a: a ** -1, x[x != 0])
    check(lambda M, a: 2 ** a, x)
    check(lambda M, a: 0 ** a, np.abs(x))
    check(lambda M, a, b: a ** b, np.abs(x), x)
    check(lambda M, a, b: a ** b, np.array([0.0, 0.0, 0.0]), np.array([0.0, 1.0, 2.0]))
    check(lambda M, a: M.pow(a, 2), x)
    check(lambda M, a: M.pow(2.0, a), x)
    check(lambda M, a: a.pow(M.tensor(2.0)), x)
    check(lambda M, a: M.tensor([2, 3]) ** 2, np.zeros(1))
    check(lambda M, a: M.tensor([2, 3]) ** 2.5, np.zeros(1))
    check(lambda M, a: M.tensor([2, 3]) ** M.tensor([1, 2]), np.zeros(1))
    check(lambda M, a: M.tensor([2, 3, 1, -1, -1, 0]) ** M.tensor([-1, 2, -3, -3, -2, -1]),
          np.zeros(1))
    check(lambda M, a: 2 ** M.tensor([-1, 2]), np.zeros(1))
    check_raises(lambda M, a: M.tensor([2, 3]) ** -1, np.zeros(1))
    check_raises(lambda M, a: M.tensor([2, 3], dtype=M.uint8) ** -1, np.zeros(1))
    check_raises(lambda M, a: M.tensor([True]) ** M.tensor([True]), np.zeros(1))
    check(lambda M, a: M.tensor([True, False]) ** 2, np.zeros(1))
    check(lambda M, a: M.square(a), np.array([1, -2, 3]))


def test_maximum_ties_split_gradient():
    a = np.array([1.0, 2.0, 3.0, 2.0])
    b = np.array([1.0, 1.0, 4.0, 2.0])
    check(lambda M, x, y: M.maximum(x, y), a, b)
    check(lambda M, x, y: M.minimum(x, y), a, b)
    check(lambda M, x, y: M.max(x, y), a, b)
    check(lambda M, x, y: M.maximum(x, y), a, np.array([np.nan, 1.0, 5.0, 2.0]))
    check(lambda M, x, y: M.fmax(x, y), a, np.array([np.nan, 1.0, 5.0, 2.0]), grad=False)
    check(lambda M, x, y: M.fmin(x, y), np.array([np.nan, 1.0]), np.array([3.0, np.nan]),
          grad=False)
    check(lambda M, x, y: M.maximum(x, y), np.array([1, 5]), np.array([3, 2]))


# ---------------------------------------------------------------------------------------
# Mixing ops: lerp, addcmul, addcdiv, where, clamp
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64])
def test_lerp(dtype):
    a, b, w = rand(3, 4, dtype=dtype, seed=1), rand(4, dtype=dtype, seed=2), rand(3, 1,
                                                                                 dtype=dtype)
    check(lambda M, x, y: M.lerp(x, y, 0.3), a, b)
    check(lambda M, x, y: M.lerp(x, y, 0.7), a, b)
    check(lambda M, x, y, z: M.lerp(x, y, z), a, b, w)
    check(lambda M, x, y, z: x.lerp(y, z), a, b, w, noncontig=True)
    check(lambda M, x, y, z: M.lerp(x, y, z), rand(2, dtype=dtype), rand(2, dtype=dtype),
          rand(dtype=dtype))
    check(lambda M, x, y: M.lerp(x, y, 0.5), rand(0, 2, dtype=dtype), rand(2, dtype=dtype))
    same_grad_fn(lambda M, x, y: M.lerp(x, y, 0.3), a, b)
    same_grad_fn(lambda M, x, y, z: M.lerp(x, y, z), a, b, w)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addc(dtype, op):
    a, b, c = rand(3, 4, dtype=dtype, seed=1), rand(4, dtype=dtype, seed=2), _nz(rand(
        3, 1, dtype=dtype, seed=3))
    check(lambda M, x, y, z: getattr(M, op)(x, y, z), a, b, c)
    check(lambda M, x, y, z: getattr(M, op)(x, y, z, value=-0.5), a, b, c)
    check(lambda M, x, y, z: getattr(x, op)(y, z, value=2), a, b, c, noncontig=True)
    check(lambda M, x, y, z: getattr(M, op)(x, y, z), rand(dtype=dtype), rand(dtype=dtype),
          _nz(rand(dtype=dtype)))
    same_grad_fn(lambda M, x, y, z: getattr(M, op)(x, y, z), a, b, c)


def test_addc_integer():
    a, b, c = ints(3, 4, seed=1), ints(3, 4, seed=2), ints(3, 4, seed=3, low=1)
    check(lambda M, x, y, z: M.addcmul(x, y, z, value=2), a, b, c)
    check_raises(lambda M, x, y, z: M.addcdiv(x, y, z), a, b, c)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_where(dtype):
    c = rand(3, 4, seed=5) > 0
    a, b = rand(3, 4, dtype=dtype, seed=1), rand(4, dtype=dtype, seed=2)
    check(lambda M, cc, x, y: M.where(cc, x, y), c, a, b)
    check(lambda M, cc, x, y: M.where(cc, x, y), c, a, b, noncontig=True)
    check(lambda M, cc, x: M.where(cc, x, 0.0), c, a)
    check(lambda M, cc, x: M.where(cc, 1.5, x), c, a)
    check(lambda M, cc, x: x.where(cc, -1), c, a)
    check(lambda M, cc, x, y: M.where(cc, x, y), np.array(True), a, b)
    check(lambda M, cc, x, y: M.where(cc, x, y), np.zeros((0, 4), bool), rand(0, 1, dtype=dtype),
          b)
    check(lambda M, cc, x, y: M.where(cc, x, y), c, ints(3, 4), b)
    check(lambda M, cc: M.where(cc, 1, 0), c)
    check(lambda M, cc: M.where(cc, 1.0, 0), c)
    same_grad_fn(lambda M, cc, x, y: M.where(cc, x, y), c, a, b)
    check(lambda M, cc: M.where(cc), c)
    check_raises(lambda M, x, y: M.where(x, x, y), a, b)
    check_raises(lambda M, cc, x, y: M.where(cc, x, y), c, rand(2, 4), b)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_clamp(dtype):
    x = rand(3, 4, dtype=dtype, seed=1)
    lo, hi = rand(4, dtype=dtype, seed=2) - 1, rand(3, 1, dtype=dtype, seed=3) + 1
    check(lambda M, a: M.clamp(a, -0.5, 0.5), x)
    check(lambda M, a: M.clamp(a, min=0.0), x)
    check(lambda M, a: M.clamp(a, max=0.2), x)
    check(lambda M, a: a.clamp(-1, 1), x, noncontig=True)
    check(lambda M, a: M.clip(a, -1, 1), x)
    check(lambda M, a: M.clamp(a, 1.0, -1.0), x)   # min > max: everything becomes max
    check(lambda M, a, l, h: M.clamp(a, l, h), x, lo, hi)
    check(lambda M, a, l, h: M.clamp(a, l, h), x, hi, lo)
    check(lambda M, a, l: M.clamp(a, min=l), x, lo)
    check(lambda M, a, h: M.clamp(a, max=h), x, hi)
    check_raises(lambda M, a, l: a.clamp(l, 0.5), x, lo)   # torch: no Tensor/number mix
    check(lambda M, a: M.clamp(a, 0, 1), rand(dtype=dtype))
    check(lambda M, a: M.clamp(a, 0, 1), rand(0, 4, dtype=dtype))
    check(lambda M, a: M.clamp_min(a, 0.1), x)
    check(lambda M, a: M.clamp_max(a, 0.1), x)
    check(lambda M, a: M.clamp(a, -1, 1), x.round())
    for f in [lambda M, a: M.clamp(a, -0.5, 0.5), lambda M, a: M.clamp(a, min=0.0),
              lambda M, a: M.clamp(a, max=M.tensor(0.5, dtype=a.dtype))]:
        same_grad_fn(f, x)
    same_grad_fn(lambda M, a, l, h: M.clamp(a, l, h), x, lo, hi)


def test_clamp_dtypes():
    i = ints(3, 4)
    check(lambda M, a: M.clamp(a, -2, 2), i)
    check(lambda M, a: M.clamp(a, -2.5, 2), i)
    check(lambda M, a: M.clamp(a, M.tensor(0.5), None), i)
    check(lambda M, a: M.clamp(a, 0, 1), i.astype(np.uint8))
    check(lambda M, a: M.clamp(a, max=np.nan), rand(3))
    check(lambda M, a: M.clamp(a, -1, 1), np.array([np.nan, 2.0, -3.0]))
    check_raises(lambda M, a: M.clamp(a), rand(3))


# ---------------------------------------------------------------------------------------
# Comparisons, logical, bitwise, predicates
# ---------------------------------------------------------------------------------------
CMP = ["==", "!=", "<", "<=", ">", ">="]


@pytest.mark.parametrize("op", CMP)
def test_comparisons(op):
    a, b = rand(3, 4, seed=1).round(), rand(4, seed=2).round()
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a, b)
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a, b, noncontig=True)
    check(lambda M, x: eval(f"x {op} 1", {"x": x}), a)
    check(lambda M, x: eval(f"1 {op} x", {"x": x}), a)
    check(lambda M, x: eval(f"x {op} 0.5", {"x": x}), ints(3))
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), ints(3), a[0, :3])
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a[:0], b)
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), np.array(1.0), b)
    name = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[op]
    check(lambda M, x, y: getattr(M, name)(x, y), a, b)
    check(lambda M, x, y: getattr(x, name)(y), a, b)
    check(lambda M, x: getattr(M, name)(x, 0.0), a)
    check(lambda M, x: getattr(x.detach().clone(), name + "_")(0.0), a)
    check_raises(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a, rand(3))


def test_comparison_with_out_of_range_int():
    # torch converts the number to the tensor's dtype first (wrapping), as in arithmetic
    u = np.array([1, 200], dtype=np.uint8)
    for f in [lambda M, a: a > -1, lambda M, a: a == 300, lambda M, a: a < 256,
              lambda M, a: a.to(M.int8) == 257, lambda M, a: a == 1.0, lambda M, a: a > 1.5,
              lambda M, a: (a > 1) == 1, lambda M, a: (a > 1) < 0.5]:
        check(f, u)


def test_comparison_aliases_and_equal():
    a, b = rand(2, 3).round(), rand(2, 3, seed=4).round()
    for n in ["greater", "greater_equal", "less", "less_equal", "not_equal"]:
        check(lambda M, x, y: getattr(M, n)(x, y), a, b)
    assert ember.equal(ember.tensor(a), ember.tensor(a)) is True
    assert ember.equal(ember.tensor(a), ember.tensor(b)) is False
    assert ember.equal(ember.ones(2), ember.ones(3)) is False
    assert (ember.tensor([1.0]) == None) is False  # noqa: E711
    assert (ember.tensor([1.0]) != "x") is True
    check(lambda M, x: M.isclose(x, x + 1e-9), a)
    assert ember.allclose(ember.tensor(a), ember.tensor(a + 1e-9))


@pytest.mark.parametrize("fn", ["logical_and", "logical_or", "logical_xor"])
def test_logical(fn):
    a, b = rand(3, 4, seed=1).round(), ints(4, seed=2, low=0, high=2)
    check(lambda M, x, y: getattr(M, fn)(x, y), a, b)
    check(lambda M, x, y: getattr(x, fn)(y), a > 0, b > 0)
    check(lambda M, x, y: getattr(M, fn)(x, y), a, b, noncontig=True)
    check(lambda M, x: getattr(x.detach().clone(), fn + "_")(x > 0), a)
    check(lambda M, x: M.logical_not(x), a)
    check(lambda M, x: M.logical_not(x), b.astype(bool))
    check(lambda M, x: x.logical_not(), b)


@pytest.mark.parametrize("op", ["&", "|", "^"])
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8, np.int32, np.int64])
def test_bitwise(op, dtype):
    a, b = _sample(dtype, (3, 4), 1), _sample(dtype, (4,), 2)
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a, b)
    check(lambda M, x: eval(f"x {op} 3", {"x": x}), a)
    check(lambda M, x: eval(f"3 {op} x", {"x": x}), a)
    check(lambda M, x: eval(f"x {op} True", {"x": x}), a)
    check(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a, b.astype(np.int16))
    check(lambda M, x: ~x, a)
    check_raises(lambda M, x, y: eval(f"x {op} y", {"x": x, "y": y}), a, rand(4))
    check_raises(lambda M, x: eval(f"x {op} 1.5", {"x": x}), a)
    name = {"&": "bitwise_and", "|": "bitwise_or", "^": "bitwise_xor"}[op]
    check(lambda M, x, y: getattr(M, name)(x, y), a, b)


def test_bitwise_on_float_raises():
    check_raises(lambda M, x: ~x, rand(3), match="only implemented on integer and Boolean")
    for f in [lambda M, x: x & x, lambda M, x: x | 1, lambda M, x: M.bitwise_not(x),
              lambda M, x: M.bitwise_xor(x, x)]:
        check_raises(f, rand(3, dtype=F32), match="not implemented for 'Float'")
        check_raises(f, rand(3, dtype=F64), match="not implemented for 'Double'")


def test_bitwise_inplace():
    a = ints(3, 4)
    check(lambda M, x: x.clone().__iand__(3), a)
    check(lambda M, x: x.clone().__ior__(3), a)
    check(lambda M, x: x.clone().__ixor__(3), a)
    check(lambda M, x: x.clone().bitwise_and_(x), a)


def test_predicates_and_nan_to_num():
    x = np.array([1.0, np.nan, np.inf, -np.inf, -0.0, 3e38])
    for n in ["isnan", "isinf", "isfinite", "isposinf", "isneginf"]:
        check(lambda M, a: getattr(M, n)(a), x)
        check(lambda M, a: getattr(a, n)(), x.astype(F32))
        check(lambda M, a: getattr(M, n)(a), ints(3))
    check(lambda M, a: M.nan_to_num(a), x)
    check(lambda M, a: M.nan_to_num(a), x.astype(F32))
    check(lambda M, a: M.nan_to_num(a, nan=1.5, posinf=9.0, neginf=-9.0), x)
    check(lambda M, a: a.nan_to_num(0.0, 1.0), x.astype(F32))
    with np.errstate(over="ignore"):
        x16 = x.astype(np.float16)
    check(lambda M, a: M.nan_to_num(a), x16, grad=False)
    check(lambda M, a: M.nan_to_num(a), ints(3))
    check(lambda M, a: a.clone().nan_to_num_(), x)
    same_grad_fn(lambda M, a: M.nan_to_num(a), x)


# ---------------------------------------------------------------------------------------
# In-place ops
# ---------------------------------------------------------------------------------------
INPLACE = ["add_", "sub_", "mul_", "div_", "pow_", "clamp_", "relu_", "sigmoid_", "exp_",
           "neg_", "abs_", "sqrt_", "tanh_", "log_", "floor_", "round_", "sin_", "fmod_",
           "remainder_", "lerp_", "addcmul_", "addcdiv_", "atan2_", "square_",
           "reciprocal_", "erf_", "erfinv_", "frac_", "sign_", "trunc_", "clamp_min_"]


def _inplace_call(x, name, M):
    other = x.detach() * 0.5 + 1.0
    args = {"add_": (other,), "sub_": (other,), "mul_": (other,), "div_": (other,),
            "pow_": (2,), "clamp_": (-0.5, 0.5), "fmod_": (0.7,), "remainder_": (0.7,),
            "maximum_": (other,), "lerp_": (other, 0.3), "addcmul_": (other, other),
            "addcdiv_": (other, other), "atan2_": (other,), "clamp_min_": (0.1,)}.get(name, ())
    return getattr(x, name)(*args)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace(name):
    def f(M, a):
        y = a * 1.0 if name not in ("sqrt_", "log_") else a.abs() + 0.1
        if name == "erfinv_":
            y = a * 0.4
        r = _inplace_call(y, name, M)
        assert r is y
        return y
    check(f, rand(3, 4, seed=1))
    check(f, rand(3, 4, seed=1, dtype=F32))
    same_grad_fn(f, rand(3, 4, seed=1))


def test_inplace_operators():
    def f(M, a, b):
        y = a * 1
        y += b
        y -= 2
        y *= b
        y /= 3
        return y
    check(f, rand(3, 4), rand(4))
    check(f, rand(3, 4, dtype=F32), rand(4, dtype=F32))
    same_grad_fn(f, rand(3, 4), rand(4))

    def g(M, a):
        y = a.clone()
        y += 1
        y *= 2
        y //= 3
        y %= 4
        y **= 2
        return y
    check(g, ints(3, 4))
    check(lambda M, a: a.clone().add_(a, alpha=2), rand(3))
    check(lambda M, a: a.clone().sub_(1, alpha=2), rand(3))


def test_inplace_rules():
    check_raises(lambda M, a: a.__iadd__(1.5), ints(3), match="result type Float can't be cast")
    check_raises(lambda M, a: a.add_(1.5), ints(3), match="can't be cast")
    check_raises(lambda M, a: a.__itruediv__(2), ints(3), match="can't be cast")
    check_raises(lambda M, a, b: a.add_(b), rand(3), rand(2, 3))      # would need broadcast
    check_raises(lambda M, a, b: a.mul_(b), rand(3), rand(4))
    check_raises(lambda M, a: a.requires_grad_().add_(1), rand(3))     # leaf requires grad
    # ok cases: float16 += float64 tensor, float32 += int, int += bool
    check(lambda M, a, b: a.clone().add_(b), rand(3, dtype=F32), rand(3))
    check(lambda M, a: a.clone().add_(M.tensor([1, 2, 3])), rand(3, dtype=F32))
    check(lambda M, a: a.clone().add_(True), ints(3))
    check(lambda M, a: a.clone().mul_(M.tensor(2.5)), ints(3).astype(F32))
    check_raises(lambda M, a: a.clone().mul_(M.tensor(2.5)), ints(3))

    def saved_modified(M, a):
        y = a.exp()
        y.add_(1)
        y.sum().backward()
    check_raises(saved_modified, rand(3))

    def leaf_under_nograd(M, a):
        a.requires_grad_()
        with M.no_grad():
            a.mul_(2)
        return a.detach()
    check(leaf_under_nograd, rand(3), grad=False)


def test_inplace_graph_matches_torch():
    # y.op_(...) records the op's node with the pre-update y as its input, as torch does
    for f in [lambda M, a, b: (a * 1).mul_(b), lambda M, a, b: (a * 1).div_(b),
              lambda M, a, b: (a * 1).pow_(2), lambda M, a, b: (a * 1).clamp_(-0.5, 0.5),
              lambda M, a, b: (a * 1).add_(b, alpha=2), lambda M, a, b: (a * 1).exp_(),
              lambda M, a, b: (a * 1).addcmul_(b, b), lambda M, a, b: (a * 1).lerp_(b, 0.3)]:
        e, t = check(f, rand(3, 4), rand(4) + 3)
        assert e.grad_fn.name() == t.grad_fn.name()
        assert [n is not None and n.name() for n, _ in e.grad_fn.next_functions] == \
            [n is not None and n.name() for n, _ in t.grad_fn.next_functions]


def test_fused_multiply_add_bit_exact_float32():
    # torch's CPU add(alpha=), sub(alpha=), addcmul and lerp round once (fused multiply-add)
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(1000).astype(F32) for _ in range(3))
    for f in [lambda M, x, y, z: M.add(x, y, alpha=-0.01),
              lambda M, x, y, z: M.sub(x, y, alpha=0.3),
              lambda M, x, y, z: M.addcmul(x, y, z, value=-0.01),
              lambda M, x, y, z: M.addcmul(x, y, z),
              lambda M, x, y, z: M.addcdiv(x, y, M.abs(z) + 0.1, value=0.5),
              lambda M, x, y, z: M.lerp(x, y, 0.3), lambda M, x, y, z: M.lerp(x, y, 0.7),
              lambda M, x, y, z: M.lerp(x, y, M.abs(z) / (M.abs(z) + 1)),
              lambda M, x, y, z: x * y + z, lambda M, x, y, z: x / (M.abs(y) + 1) - z]:
        e = f(ember, *(ember.from_numpy(v) for v in (a, b, c))).numpy()
        t = f(torch, *(torch.from_numpy(v) for v in (a, b, c))).numpy()
        np.testing.assert_array_equal(e, t)


def test_out_argument():
    for f in [lambda M, a, b: M.add(a, b, out=M.empty(3, 4)),
              lambda M, a, b: M.mul(a, b, out=M.empty(0)),
              lambda M, a, b: M.div(a, b, out=M.zeros(3, 4, dtype=M.float64)),
              lambda M, a, b: M.exp(a, out=M.empty(3, 4)),
              lambda M, a, b: M.clamp(a, -0.5, 0.5, out=M.empty(3, 4)),
              lambda M, a, b: M.eq(a, b, out=M.empty(3, 4, dtype=M.bool))]:
        check(f, rand(3, 4, dtype=F32), rand(4, dtype=F32), grad=False)
    check_raises(lambda M, a: M.add(a, 1.5, out=M.empty(3, dtype=M.int64)), ints(3))
    check_raises(lambda M, a: M.exp(a.requires_grad_(), out=M.empty(3)), rand(3),
                 match="out=... arguments don't support automatic differentiation")
    out = ember.empty(3)
    r = ember.add(ember.ones(3), 1, out=out)
    assert r is out and out.tolist() == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------------------------
# Misuse
# ---------------------------------------------------------------------------------------
def test_broadcast_errors_name_sizes():
    msg = r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton " \
          r"dimension 1"
    a, b = rand(2, 3), rand(2, 4)
    for f in [lambda M, x, y: x + y, lambda M, x, y: x * y, lambda M, x, y: x - y,
              lambda M, x, y: x / y, lambda M, x, y: x ** y, lambda M, x, y: M.maximum(x, y),
              lambda M, x, y: M.atan2(x, y), lambda M, x, y: x // y, lambda M, x, y: x % y,
              lambda M, x, y: M.fmod(x, y), lambda M, x, y: x == y, lambda M, x, y: x < y,
              lambda M, x, y: M.lerp(x, y, 0.5), lambda M, x, y: M.addcmul(x, x, y),
              lambda M, x, y: M.logical_and(x, y), lambda M, x, y: M.where(x > 0, x, y),
              lambda M, x, y: M.div(x, y, rounding_mode="floor"),
              lambda M, x, y: M.clamp(x, y, None)]:
        check_raises(f, a, b, match=msg)
    check_raises(lambda M, x, y: x & y, ints(2, 3), ints(2, 4), match=msg)
    check_raises(lambda M, x, y: x + y, rand(5, 1, 3), rand(2, 4, 3),
                 match=r"tensor a \(5\) must match the size of tensor b \(2\) at non-singleton "
                       r"dimension 0")


def test_misuse():
    b = np.array([True, False])
    check_raises(lambda M, x: x - x, b, match="Subtraction, the `-` operator, with a bool")
    check_raises(lambda M, x: x - True, rand(2), match="Subtraction")
    check_raises(lambda M, x: -x, b, match="Negation, the `-` operator, on a bool tensor")
    check_raises(lambda M, x: M.div(x, x, rounding_mode="round"), rand(2))
    check_raises(lambda M, x: M.maximum(x, 1.0), rand(2))
    check_raises(lambda M, x: x + "a", rand(2))
    check_raises(lambda M, x: M.add(x, x, alpha=1.5), ints(2))
    check_raises(lambda M, x: M.round(x, decimals=1.5), rand(2))


def test_unary_neg_on_int_and_abs():
    check(lambda M, x: -x, ints(3))
    check(lambda M, x: abs(x), ints(3))
    check(lambda M, x: +x, rand(3))
    check(lambda M, x: abs(x), rand(3))
    check_raises(lambda M, x: M.abs(x), np.array([True, False]))
    check(lambda M, x: M.sign(x), np.array([True, False]))
    check_raises(lambda M, x: M.frac(x), ints(3))
    check_raises(lambda M, x: M.relu(x), np.array([True, False]))


# ---------------------------------------------------------------------------------------
# gradcheck: every differentiable elementwise primitive, float64, tiny inputs
# ---------------------------------------------------------------------------------------
def _t(arr):
    return ember.tensor(arr, dtype=ember.float64, requires_grad=True)


GRADCHECK_UNARY = sorted(UNARY)   # rounding ops: zero gradient away from integers


@pytest.mark.parametrize("name", GRADCHECK_UNARY)
def test_gradcheck_unary(name):
    x = _t(UNARY[name](2, 2, seed=7))
    assert ember.autograd.gradcheck(getattr(ember, name), (x,))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "fmod",
                                  "remainder", "atan2", "add_alpha", "float_power", "minimum",
                                  "fmax", "fmin", "sub_alpha", "div_floor", "div_trunc"])
def test_gradcheck_binary(name):
    a, b = _t(rand(2, 3, seed=1)), _t(_nz(rand(3, seed=2)))
    f = BINARY[name]
    assert ember.autograd.gradcheck(lambda x, y: f(ember, x, y), (a, b))


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "erf", "erfinv", "log", "sin",
                                  "sqrt", "reciprocal", "atan"])
def test_gradgradcheck_unary(name):
    x = _t(UNARY[name](3, seed=7))
    assert ember.autograd.gradgradcheck(getattr(ember, name), (x,))


def test_gradcheck_mixing():
    a, b, c = _t(rand(2, 2, seed=1)), _t(rand(2, seed=2)), _t(_nz(rand(2, 1, seed=3)))
    gc = ember.autograd.gradcheck
    assert gc(lambda x, y, z: ember.lerp(x, y, z), (a, b, c))
    assert gc(lambda x, y: ember.lerp(x, y, 0.3), (a, b))
    assert gc(lambda x, y, z: ember.addcmul(x, y, z, value=0.5), (a, b, c))
    assert gc(lambda x, y, z: ember.addcdiv(x, y, z, value=-2), (a, b, c))
    assert gc(lambda x, y: ember.where(x > 0, x, y), (a, b))
    assert gc(lambda x: ember.clamp(x, -0.5, 0.5), (a,))
    assert gc(lambda x, y, z: ember.clamp(x, y - 1, z + 1), (a, b, c))
    assert gc(lambda x: ember.nan_to_num(x), (a,))
    assert gc(lambda x: x ** 3, (a,))
    assert gc(lambda x: 2.0 ** x, (a,))
    assert gc(lambda x: ember.square(x), (a,))
    assert ember.autograd.gradgradcheck(lambda x, y: x ** y, (a.abs().detach().requires_grad_(),
                                                              b))
    assert ember.autograd.gradgradcheck(lambda x, y: x / y, (a, c))


# ---------------------------------------------------------------------------------------
# Hypothesis: random broadcastable shape pairs
# ---------------------------------------------------------------------------------------
@st.composite
def broadcastable_pair(draw):
    nd = draw(st.integers(0, 4))
    base = draw(st.lists(st.integers(0, 3), min_size=nd, max_size=nd))
    sa, sb = [], []
    for s in base:
        sa.append(draw(st.sampled_from([s, 1])))
        sb.append(draw(st.sampled_from([s, 1])))
    sa = sa[draw(st.integers(0, len(sa))):]
    sb = sb[draw(st.integers(0, len(sb))):]
    return tuple(sa), tuple(sb)


@settings(max_examples=60, deadline=None)
@given(broadcastable_pair(), st.sampled_from(["add", "sub", "mul", "div", "maximum", "pow",
                                              "atan2", "remainder"]),
       st.sampled_from([F32, F64]), st.booleans())
def test_hypothesis_broadcast(shapes, name, dtype, swap):
    sa, sb = shapes[::-1] if swap else shapes
    a = rand(*sa, dtype=dtype, seed=1)
    b = _nz(rand(*sb, dtype=dtype, seed=2))
    check(BINARY[name], a, b)


@settings(max_examples=40, deadline=None)
@given(broadcastable_pair(), st.sampled_from(DTYPES), st.sampled_from(DTYPES))
def test_hypothesis_broadcast_mixed_dtypes(shapes, da, db):
    a, b = _sample(da, shapes[0], 1), _sample(db, shapes[1], 2)
    check(lambda M, x, y: x * y + x, a, b, grad=False)
    check(lambda M, x, y: M.where(x > y, x, y), a, b, grad=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3),
       st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_hypothesis_incompatible_shapes_raise(sa, sb):
    try:
        np.broadcast_shapes(tuple(sa), tuple(sb))
        return
    except ValueError:
        pass
    check_raises(lambda M, x, y: x + y, rand(*sa), rand(*sb),
                 match="must match the size of tensor b")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_special_values_bitwise(dtype):
    """relu and its backward bit for bit as torch: NaN passes its gradient
    (threshold_backward tests y <= 0), inf/NaN gradients do not leak into masked positions,
    -0.0 gradients keep their sign; also under create_graph. One documented difference:
    relu(-0.0) is +0.0 in ember (torch: -0.0), because NumPy's maximum keeps the sign only
    in its scalar-first form, which runs at half the speed (README, differences)."""
    rng = np.random.default_rng(5)
    special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 1e-3, -1e-3]
    for n in (1, 5, 300):
        x = rng.choice(special, size=(n, 3)).astype(dtype)
        g = rng.choice(special, size=(n, 3)).astype(dtype)
        h = rng.standard_normal((n, 3)).astype(dtype)
        res = []
        for M in (ember, torch):
            a = M.from_numpy(np.ascontiguousarray(x.T)).t().requires_grad_(True)
            y = M.relu(a)
            (ga,) = M.autograd.grad(y, a, M.from_numpy(g.copy()))
            gg = M.from_numpy(g.copy()).requires_grad_(True)
            (gc,) = M.autograd.grad(M.relu(a), a, gg, create_graph=True)
            (g2,) = M.autograd.grad(gc, gg, M.from_numpy(h.copy()))
            res.append([np.ascontiguousarray(t.detach().numpy()) for t in (y, ga, gc, g2)])
        neg_zero = (x == 0) & np.signbit(x)
        for e, t, what in zip(res[0], res[1], ("relu", "grad", "grad(create_graph)", "ggrad")):
            u = f"u{e.itemsize}"
            assert e.dtype == t.dtype, what
            if what == "relu":
                assert (e[neg_zero] == 0).all() and (t[neg_zero] == 0).all()
                e, t = e[~neg_zero], t[~neg_zero]
            np.testing.assert_array_equal(e.view(u), t.view(u), err_msg=what)


@pytest.mark.parametrize("eps", [None, 0.1, 0.3])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_logit_eps_and_outside(eps, dtype):
    x = np.array([-0.5, 0.0, 0.05, 0.2, 0.5, 0.8, 0.95, 1.0, 1.5, np.nan], dtype)
    check(lambda M, a: M.logit(a, eps=eps), x)


def test_signbit():
    for x in (np.array([-0.0, 0.0, -1.5, 2.0, -np.inf, np.nan], np.float32),
              np.array([-3, 0, 4], np.int64), np.array([True, False]),
              np.array([0, 200], np.uint8)):
        check(lambda M, a: M.signbit(a), x, grad=False)
