"""ember._tensor_str must print exactly what torch 2.13 prints (save ``torch.`` -> ``ember.``).

Each case builds a small stand-in tensor around a NumPy array, renders it with
``tensor_repr`` and compares with ``repr(torch.from_numpy(arr.copy()))``.
"""
import importlib
import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def _load_module():
    try:
        return importlib.import_module("ember._tensor_str")
    except Exception:
        # the package may be half-written while others edit it: load the file directly
        path = pathlib.Path(__file__).resolve().parents[1] / "ember" / "_tensor_str.py"
        spec = importlib.util.spec_from_file_location("_ember_tensor_str_standalone", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod


ts = _load_module()


# ---------------------------------------------------------------------------------------
# stand-ins


class FakeDtype:
    def __init__(self, np_dtype):
        np_dtype = np.dtype(np_dtype)
        self.name = "bool" if np_dtype == np.bool_ else np_dtype.name
        self.is_floating_point = np_dtype.kind == "f"
        self.is_complex = np_dtype.kind == "c"


class FakeGradFn:
    def __init__(self, name):
        self._name = name

    def name(self):
        return self._name


class FakeTensor:
    def __init__(self, arr, requires_grad=False, grad_fn=None):
        self._data = arr
        self.dtype = FakeDtype(arr.dtype)
        self.requires_grad = requires_grad or grad_fn is not None
        self.grad_fn = FakeGradFn(grad_fn) if grad_fn is not None else None
        self.is_leaf = grad_fn is None


def ours(arr, **kw):
    return ts.tensor_repr(FakeTensor(arr, **kw))


def theirs(arr):
    return repr(torch.from_numpy(np.array(arr, copy=True))).replace("torch.", "ember.")


def check(arr):
    expected = theirs(arr)
    got = ours(arr)
    assert got == expected, f"\n--- ember:\n{got}\n--- torch:\n{expected}"


pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


@pytest.fixture(autouse=True)
def _reset_printoptions():
    ts.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")
    yield
    ts.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


def both_set(**kw):
    ts.set_printoptions(**kw)
    torch.set_printoptions(**kw)


RNG = np.random.default_rng(1234)
FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.uint8, np.int8, np.int16, np.int32, np.int64]
COMPLEX = [np.complex64, np.complex128]


# ---------------------------------------------------------------------------------------
# the seed strings


def test_seed_strings():
    assert ours(np.array([4517.2969, 82.6], np.float32)) == "tensor([4517.2969,   82.6000])"
    assert (ours(np.array([0.95483, -0.000826], np.float32), requires_grad=True)
            == "tensor([ 9.5483e-01, -8.2600e-04], requires_grad=True)")
    assert (ours(np.array([5.3671, -17.3012], np.float32), requires_grad=True)
            == "tensor([  5.3671, -17.3012], requires_grad=True)")
    assert (ours(np.array(173.0244, np.float32), grad_fn="MseLossBackward0")
            == "tensor(173.0244, grad_fn=<MseLossBackward0>)")


def test_seed_strings_match_torch():
    assert theirs(np.array([4517.2969, 82.6], np.float32)) == "tensor([4517.2969,   82.6000])"
    x = torch.tensor([0.95483, -0.000826], requires_grad=True)
    assert repr(x) == "tensor([ 9.5483e-01, -8.2600e-04], requires_grad=True)"
    w = torch.tensor([5.3671, -17.3012], requires_grad=True)
    assert repr(w) == "tensor([  5.3671, -17.3012], requires_grad=True)"
    y = torch.tensor(173.0244)
    assert ours(y.numpy(), grad_fn="MseLossBackward0") == "tensor(173.0244, grad_fn=<MseLossBackward0>)"


# ---------------------------------------------------------------------------------------
# floats


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("scale", [1e-6, 1e-4, 1e-2, 1.0, 10.0, 1e3, 1e5, 1e8, 1e10])
def test_random_floats_at_scale(dtype, scale):
    arr = (RNG.standard_normal(7) * scale).astype(dtype)
    check(arr)
    check(np.abs(arr))


@pytest.mark.parametrize("dtype", FLOATS)
def test_mixed_magnitudes(dtype):
    check(np.array([1e-5, 1e5], dtype))
    check(np.array([1.0, 1000.0], dtype))
    check(np.array([1.0, 1001.0], dtype))
    check(np.array([0.5, 2000.5, -3.25], dtype))
    check(np.array([1e-3, 0.9], dtype))
    check(np.array([1.5e-4, 0.1], dtype))
    check(np.array([0.0, 1e-7, -0.0], dtype))
    if dtype != np.float16:
        check(np.array([1e8, 1.5], dtype))
        check(np.array([123456789.0, 2.0], dtype))
        check(np.array([1e-30, 1e30], dtype))
        check(np.array([9.99999e99, 1e100, -1e-100], np.float64))


@pytest.mark.parametrize("dtype", FLOATS)
def test_integer_valued_floats(dtype):
    check(np.array([1.0, 2.0, 3.0], dtype))
    check(np.array([-1.0, 20.0, 300.0], dtype))
    check(np.array([[1.0, -2.0], [3.0, 400.0]], dtype))
    check(np.array(7.0, dtype))
    check(np.array(-0.0, dtype))
    check(np.array([0.0, -0.0], dtype))
    check(np.array([-0.0, 5.0], dtype))
    check(np.array([0.0, 0.0, 0.0], dtype))
    check(np.arange(12, dtype=dtype).reshape(3, 4))
    if dtype != np.float16:
        check(np.array([1e9, 2.0], dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_inf(dtype):
    nan, inf = np.nan, np.inf
    check(np.array([nan], dtype))
    check(np.array([inf, -inf, nan], dtype))
    check(np.array([1.0, nan, inf], dtype))
    check(np.array([1.5, nan, -inf, 0.0], dtype))
    check(np.array([1e-6, nan, 2.0], dtype))
    check(np.array([-0.0, nan], dtype))
    check(np.array(nan, dtype))
    check(np.array(-inf, dtype))
    check(np.array([[nan, 1.0], [2.0, inf]], dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_rounding_edges(dtype):
    check(np.array([9.99996, 0.5], dtype))
    check(np.array([99999.99999, 1.0], dtype))
    check(np.array([-9.99996, 0.5], dtype))
    check(np.array([0.00999999, 1.0], dtype))
    check(np.array([0.125, 0.375, 2.5], dtype))


# ---------------------------------------------------------------------------------------
# integers, bools, complex


@pytest.mark.parametrize("dtype", INTS)
def test_integers(dtype):
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -10 ** 6), min(info.max, 10 ** 6)
    check(RNG.integers(lo, hi, size=5, endpoint=True).astype(dtype))
    check(RNG.integers(lo, hi, size=(3, 4), endpoint=True).astype(dtype))
    check(np.array([info.min, info.max, 0], dtype))
    check(np.array(5, dtype))
    check(np.zeros((2, 2), dtype))


def test_bools():
    check(np.array([True, False, True]))
    check(np.array([True, True]))
    check(np.array([[False], [False]]))
    check(np.array(True))
    check(np.array(False))
    check(RNG.random((4, 30)) > 0.5)
    check(RNG.random(2000) > 0.5)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_complex(dtype):
    check(np.array([1 + 2j, -3.5 - 0.25j], dtype))
    check(np.array([1 + 1j, 2 - 3j], dtype))
    check(np.array([0j, complex(0.0, -0.0), complex(-0.0, 0.0)], dtype))
    check(np.array([complex(1e-6, 1e6), complex(3, 0)], dtype))
    check(np.array([complex(np.nan, 1), complex(np.inf, -np.inf)], dtype))
    check(np.array(2.5 - 1j, dtype))
    check(np.array(-0.0 - 0.0j, dtype))
    check((RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4)) * 1e4).astype(dtype))
    check((RNG.standard_normal(40) + 1j * RNG.standard_normal(40)).astype(dtype))
    check((RNG.standard_normal((40, 40)) + 1j * RNG.standard_normal((40, 40))).astype(dtype))


# ---------------------------------------------------------------------------------------
# shapes


@pytest.mark.parametrize("dtype", FLOATS + INTS + COMPLEX + [np.bool_])
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4), (3, 0)])
def test_empty(dtype, shape):
    check(np.zeros(shape, dtype))


@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3), (2, 3, 4), (2, 1, 3, 2), (1, 1, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.complex64])
def test_shapes(shape, dtype):
    arr = RNG.standard_normal(shape) * 10
    if np.dtype(dtype).kind == "c":
        arr = arr + 1j * RNG.standard_normal(shape)
    check(np.asarray(arr).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int8, np.complex128, np.bool_, np.float16])
def test_long_rows_wrap(dtype):
    arr = RNG.standard_normal((3, 45)) * 100
    if np.dtype(dtype).kind == "c":
        arr = arr + 1j * arr[::-1]
    arr = arr.astype(dtype)
    check(arr)
    check(arr[0])
    check(arr.reshape(3, 3, 15))
    check(arr.reshape(5, 3, 3, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.complex64, np.float16])
@pytest.mark.parametrize("shape", [(1001,), (2000,), (40, 30), (11, 10, 10), (7, 7, 7, 7), (1001, 1), (1, 1001), (4, 300)])
def test_summarized(dtype, shape):
    arr = RNG.standard_normal(shape) * 50
    if np.dtype(dtype).kind == "c":
        arr = arr + 1j * RNG.standard_normal(shape)
    check(arr.astype(dtype))


def test_summary_uses_only_visible_values():
    # the huge value is hidden by the summary, so it must not force scientific notation
    arr = np.ones(2000, np.float32) * 1.5
    arr[1000] = 1e12
    check(arr)
    arr2 = np.ones((50, 50), np.float32)
    arr2[25, 25] = np.nan
    arr2[0, 25] = 1e-9
    check(arr2)


def test_non_contiguous():
    base = (RNG.standard_normal((6, 8)) * 10).astype(np.float32)
    check(base.T)
    check(base[::2, 1::3])
    check(base[:, ::-1])
    check(base[3])
    check(base[:, 2])
    big = RNG.integers(-50, 50, size=(60, 40))
    check(big.T)
    check(big[::-1, ::2])
    cplx = (base + 1j * base[::-1]).astype(np.complex64)
    check(cplx.T)


def test_int_width_includes_sign():
    check(np.array([-100, 5, 99], np.int64))
    check(np.array([[1, -1], [1000, 3]], np.int32))


# ---------------------------------------------------------------------------------------
# autograd suffixes


def test_requires_grad_suffix():
    for values in ([1.0, 2.0, 3.0], [0.5, -0.25], 3.5, [[1e-6, 1.0]], []):
        x = torch.tensor(values, requires_grad=True)
        got = ours(x.detach().numpy(), requires_grad=True)
        assert got == repr(x)


def test_grad_fn_suffix():
    x = torch.tensor([[1.5, -2.0], [3.0, 4.25]], requires_grad=True)
    for y, name in ((x * 2, "MulBackward0"), (x + 1, "AddBackward0"),
                    (x.sum(), "SumBackward0"), (x.t(), "TBackward0"),
                    (torch.nn.functional.mse_loss(x, torch.zeros(2, 2)), "MseLossBackward0")):
        assert type(y.grad_fn).__name__ == name
        assert ours(y.detach().numpy(), grad_fn=name) == repr(y)


def test_suffix_wraps_to_new_line():
    x = (torch.arange(20, dtype=torch.float64) * 1.25).requires_grad_()
    y = x * 3
    assert ours(y.detach().numpy(), grad_fn="MulBackward0") == repr(y).replace("torch.", "ember.")
    z = torch.arange(18, dtype=torch.int32)
    assert ours(z.numpy()) == repr(z).replace("torch.", "ember.")
    for n in range(1, 30):
        w = (torch.arange(n, dtype=torch.float64) + 0.5).requires_grad_()
        assert ours(w.detach().numpy(), requires_grad=True) == repr(w).replace("torch.", "ember.")


def test_custom_prefix():
    arr = (RNG.standard_normal((3, 30))).astype(np.float32)
    out = ts.tensor_repr(FakeTensor(arr), prefix="tensor(")
    assert out == theirs(arr)
    p = torch.nn.Parameter(torch.from_numpy(arr.copy()))
    assert "Parameter containing:\n" + ts.tensor_repr(FakeTensor(arr, requires_grad=True)) == repr(p)


# ---------------------------------------------------------------------------------------
# print options


def test_printoptions_defaults_and_profiles():
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    for profile in ("short", "full", "default"):
        both_set(profile=profile)
        assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    both_set(precision=6, sci_mode=True, linewidth=100, edgeitems=1, threshold=10)
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    with ts.printoptions(precision=1):
        assert ts.get_printoptions()["precision"] == 1
    assert ts.get_printoptions()["precision"] == 6


def _assorted():
    return [
        (RNG.standard_normal(10) * 100).astype(np.float32),
        (RNG.standard_normal((4, 5)) * 1e-3).astype(np.float64),
        np.array([1.0, 2.0, 1e-9], np.float32),
        np.array([1.0, 2.0, 3.0], np.float32),
        np.array([0.0, -0.0], np.float32),
        np.array([np.nan, 1.5], np.float16),
        np.arange(60, dtype=np.int64).reshape(3, 20),
        (RNG.standard_normal((30, 40))).astype(np.float32),
        (RNG.standard_normal(25) + 1j * RNG.standard_normal(25)).astype(np.complex64),
        np.array(3.14159, np.float32),
        RNG.random((5, 6)) > 0.5,
        np.zeros((0, 2), np.float32),
    ]


@pytest.mark.parametrize("opts", [
    dict(precision=2), dict(precision=0), dict(precision=8), dict(sci_mode=True),
    dict(sci_mode=False), dict(profile="full"), dict(profile="short"),
    dict(threshold=5), dict(threshold=5, edgeitems=1), dict(threshold=5, edgeitems=0),
    dict(linewidth=40), dict(linewidth=200), dict(precision=2, sci_mode=True),
])
def test_printoptions_render(opts):
    both_set(**opts)
    for arr in _assorted():
        check(arr)


def test_full_profile_big():
    both_set(profile="full")
    check((RNG.standard_normal(1500) * 10).astype(np.float32))
    check(np.arange(1200, dtype=np.int64).reshape(40, 30))


def test_default_dtype_float64():
    try:
        from ember._backend import dtypes
    except Exception:
        pytest.skip("ember._backend.dtypes not importable right now")
    old_t, old_e = torch.get_default_dtype(), dtypes.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        dtypes.set_default_dtype(dtypes.float64)
        for arr in (np.array([1.5, 2.0]), np.array([1.5, 2.0], np.float32),
                    np.array([1 + 1j], np.complex128), np.array([1 + 1j], np.complex64),
                    np.zeros((0,), np.float64), np.zeros((0,), np.float32),
                    np.zeros((0,), np.int64)):
            check(arr)
    finally:
        torch.set_default_dtype(old_t)
        dtypes.set_default_dtype(old_e)


# ---------------------------------------------------------------------------------------
# randomized


_DTYPES = st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int32, np.int64,
                           np.uint8, np.bool_, np.complex64, np.complex128])


@st.composite
def _arrays(draw):
    dtype = np.dtype(draw(_DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=7))
    size = int(np.prod(shape))

    def floats():
        scale = draw(st.sampled_from([1e-7, 1e-4, 1e-2, 1.0, 37.0, 1e4, 1e9]))
        elems = st.one_of(
            st.floats(-4.0, 4.0, width=16).map(lambda v: v * scale),
            st.integers(-3000, 3000).map(float),
            st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 0.5, 1e-5]),
        )
        return np.array(draw(st.lists(elems, min_size=size, max_size=size)), np.float64)

    with np.errstate(over="ignore"):
        if dtype.kind == "f":
            arr = floats().astype(dtype).reshape(shape)
        elif dtype.kind == "c":
            real = floats().astype(dtype.type(0).real.dtype)
            imag = floats().astype(real.dtype)
            arr = np.empty(size, dtype)
            arr.real, arr.imag = real, imag
            arr = arr.reshape(shape)
        else:
            arr = draw(hnp.arrays(dtype, shape))
    if arr.ndim >= 2 and draw(st.booleans()):
        arr = arr.T
    return arr


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_arrays(), st.sampled_from([None, dict(precision=2), dict(sci_mode=True),
                                   dict(threshold=20, edgeitems=2), dict(linewidth=50)]))
def test_randomized(arr, opts):
    try:
        if opts:
            both_set(**opts)
        check(arr)
    finally:
        both_set(profile="default")
