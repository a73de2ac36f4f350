"""erf/erfc/erfinv on large arrays take faster evaluation orders (both pieces then a select;
cache-sized chunks); they must give the bits of the piecewise subset evaluation, and
torch's values."""
import numpy as np
import pytest
import torch

from ember._ops import special as S

BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _slow(fn, v, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(S, "_SELECT_MIN", 1 << 62)
        m.setattr(S, "_CHUNK", 1 << 62)
        return fn(v)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("scale", [0.1, 0.7, 3.0, 30.0])
@pytest.mark.parametrize("fn", [S.erf_array, S.erfc_array, S.erfinv_array])
def test_fast_orders_same_bits(dtype, scale, fn, monkeypatch):
    rng = np.random.default_rng(int(scale * 10))
    for n in (5000, 70001):
        v = (rng.standard_normal(n) * scale).astype(dtype)
        if fn is S.erfinv_array:
            v = np.tanh(v).astype(dtype)
        v[::101], v[1::103], v[2::107], v[3::109] = np.nan, np.inf, -np.inf, -0.0
        got, want = fn(v), _slow(fn, v, monkeypatch)
        it = BITS[np.dtype(dtype).itemsize]
        assert got.dtype == want.dtype and np.array_equal(got.view(it), want.view(it))


def test_large_erf_matches_torch_and_keeps_shape():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((300, 400)).astype(np.float32).T     # non-contiguous, 120,000
    got = S.erf_array(v)
    assert got.shape == (400, 300) and got.dtype == np.float32
    np.testing.assert_allclose(got, torch.erf(torch.from_numpy(v.copy())).numpy(),
                               rtol=3e-7, atol=1e-7)
