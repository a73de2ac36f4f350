"""Functions torch builds from other ops (most in ``torch/functional.py``), built the same
way here from ember's primitives, so autograd comes with them: ravel, diff, rot90, kron,
tensordot, cdist."""
from __future__ import annotations

import numbers

from .._backend import dtypes as _dt
from .._tensor import Tensor
from . import elementwise as _ew
from .shape import cat, flip, narrow
from ._util import wrap_dim

__all__ = ["ravel", "diff", "rot90", "kron", "tensordot", "cdist"]


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-D tensor (a view when the layout allows, as ``reshape``)."""
    return input.reshape(-1)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """n-th forward difference along ``dim`` (``!=`` for bool), after concatenating
    ``prepend``/``append``."""
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input.dim())
    if n == 0:                      # torch returns a copy of input (prepend/append unused)
        return input.clone()
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = _ew.ne(hi, lo) if x.dtype is _dt.bool_ else hi - lo
    return x


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards
    the second)."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    nd = input.dim()
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    if dims[0] == dims[1]:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    dims = [wrap_dim(d, nd) for d in dims]      # IndexError for out-of-range dims, as torch
    k %= 4
    if k == 1:
        return flip(input, dims[1]).transpose(dims[0], dims[1])
    if k == 2:
        return flip(input, *dims)
    if k == 3:
        return flip(input, dims[0]).transpose(dims[0], dims[1])
    return input.clone()


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product; the shorter shape is padded with leading ones."""
    nd = max(input.dim(), other.dim())
    a = input.reshape((1,) * (nd - input.dim()) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.dim()) + tuple(other.shape))
    a_ix = []
    b_ix = []
    for i in range(nd):
        a_ix += [a.shape[i], 1]
        b_ix += [1, b.shape[i]]
    out = a.reshape(tuple(a_ix)) * b.reshape(tuple(b_ix))
    return out.reshape(tuple(a.shape[i] * b.shape[i] for i in range(nd)))


def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Sum over the last ``dims`` dims of ``a`` and the first of ``b`` (or the listed pairs
    ``([a dims], [b dims])``), as one matrix product."""
    if isinstance(dims, numbers.Integral) or (isinstance(dims, Tensor) and dims.dim() == 0):
        k = int(dims)
        if k < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={k}")
        da = list(range(a.dim() - k, a.dim()))
        db = list(range(k))
    else:
        da, db = dims
        da = [da] if isinstance(da, numbers.Integral) else list(da)
        db = [db] if isinstance(db, numbers.Integral) else list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    da = [wrap_dim(d, a.dim()) for d in da]
    db = [wrap_dim(d, b.dim()) for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in "
                               f"dim {y}")
    fa = [d for d in range(a.dim()) if d not in da]
    fb = [d for d in range(b.dim()) if d not in db]
    ka = 1
    for d in da:
        ka *= a.shape[d]
    ma = a.permute(*(fa + da)).reshape(-1, ka) if a.dim() else a.reshape(1, 1)
    mb = b.permute(*(db + fb)).reshape(ka, -1) if b.dim() else b.reshape(1, 1)
    r = (ma @ mb).reshape(tuple(a.shape[d] for d in fa) + tuple(b.shape[d] for d in fb))
    if out is not None:
        out.copy_(r)
        return out
    return r


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """p-norm distances between the rows of ``x1`` (``(*, P, M)``) and ``x2``
    (``(*, R, M)``). Differs from torch: always from the differences (torch switches to a
    matrix-product formula for p = 2 above 25 rows, which loses accuracy for close points)."""
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    d = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return d.norm(p, dim=-1)


TENSOR_METHODS = {"ravel": ravel, "diff": diff, "rot90": rot90, "kron": kron}
