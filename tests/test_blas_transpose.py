"""ember/_backend/blas.py's transposing copy (convolution's and the LSTM's layout changes):
the same values as NumPy's ``a.T`` copy for every shape, stride and dtype it accepts, and a
fallback for the rest."""
import numpy as np
import pytest

from ember._backend import blas


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 3136), (3136, 64), (1, 5000), (5000, 1), (37, 211),
                                   (3, 4), (0, 7000)])
def test_transpose_copy_matches_numpy(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape).astype(dtype)
    a.reshape(-1)[::97] = np.array([-0.0, np.inf, -np.inf, 1e-310 if dtype == np.float64
                                    else 1e-40], dtype)[:1]
    out = blas.transpose_copy(a)
    assert out.flags.c_contiguous and out.shape == shape[::-1] and out.dtype == dtype
    it = np.int32 if dtype == np.float32 else np.int64
    assert np.array_equal(out.view(it), np.ascontiguousarray(a.T).view(it))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_copy_strided_rows_and_out(dtype):
    rng = np.random.default_rng(0)
    big = rng.standard_normal((256, 1152)).astype(dtype)
    v = big[:, 32:1152]                        # row stride 1152, 1120 columns
    assert np.array_equal(blas.transpose_copy(v), v.T)
    out = np.empty((1120, 256), dtype)
    assert blas.transpose_copy(v, out=out) is out and np.array_equal(out, v.T)
    w = big[:, ::2]                             # strided columns: NumPy's copy
    assert np.array_equal(blas.transpose_copy(w), w.T)
    r = big[::-1]                               # negative row stride: NumPy's copy
    assert np.array_equal(blas.transpose_copy(r), r.T)


@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.complex64, np.bool_])
def test_transpose_copy_other_dtypes(dtype):
    a = (np.arange(80 * 90) % 7).astype(dtype).reshape(80, 90)
    assert np.array_equal(blas.transpose_copy(a), a.T)


def test_omatcopy_selftest_rejects_a_wrong_kernel():
    def copy_without_transposing(order, trans, rows, cols, alpha, a, lda, b, ldb):
        import ctypes
        n = rows * cols
        src = np.ctypeslib.as_array((ctypes.c_float * n).from_address(a))
        dst = np.ctypeslib.as_array((ctypes.c_float * n).from_address(b))
        dst[:] = src
    assert blas._omat_selftest({np.dtype(np.float32): copy_without_transposing}) == {}
    fns = blas.find("omatcopy", blas._omat_argtypes)
    if fns:     # NumPy's OpenBLAS has it: the real one passes
        assert set(blas._omat_selftest(fns)) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transpose_copy_broadcast_and_overlapping_rows(dtype):
    """Rows with stride 0 (an expanded parameter) or overlapping rows take NumPy's copy."""
    row = np.arange(300, dtype=dtype)
    b = np.broadcast_to(row, (64, 300))
    assert np.array_equal(blas.transpose_copy(b), b.T)
    base = np.arange(70000, dtype=dtype)
    ov = np.lib.stride_tricks.as_strided(base, (100, 600), (base.itemsize * 7, base.itemsize))
    assert np.array_equal(blas.transpose_copy(ov), ov.T)
