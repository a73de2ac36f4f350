"""Reductions: sum, mean, prod, max/min (with indices), var/std, logsumexp, norm, cumsum...

``dim`` may be None, an int, a tuple or negative; ``keepdim`` keeps reduced axes as size 1.
"""
from __future__ import annotations

import collections
import numbers

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import normalize_dims, wrap_dim, as_tensor_arg
from .elementwise import where, zeros_like_t

_BY_NP = _dt._BY_NP


def _expand_back(g: Tensor, in_shape, axes, keepdim) -> Tensor:
    """Broadcast a reduced gradient back to the input's shape (differentiably)."""
    from ._util import ExpandTo
    if not keepdim and axes:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        g = g.reshape(tuple(shape))
    return ExpandTo.apply(g, shape=tuple(in_shape))


def _acc_dtype(x, dtype):
    """Sum/prod of bool and ints accumulate in int64, as torch does."""
    if dtype is not None:
        return _dt.to_numpy_dtype(dtype)
    if x.dtype.kind in "biu":
        return xp.dtype(xp.int64)
    return x.dtype


class Sum(Primitive):
    def forward(self, x, axes, keepdim, npd):
        self.in_shape, self.axes, self.keepdim, self.in_dtype = x.shape, axes, keepdim, x.dtype
        return xp.sum(x, axis=axes, keepdims=keepdim, dtype=npd)

    def backward(self, g):
        g = _expand_back(g, self.in_shape, self.axes, self.keepdim)
        if g._data.dtype != self.in_dtype:
            from ._util import ToDtype
            g = ToDtype.apply(g, dtype=self.in_dtype)
        return g

    def name(self):
        return "SumBackward0" if len(self.axes) == len(self.in_shape) and not self.keepdim \
            else "SumBackward1"


class Mean(Sum):
    def forward(self, x, axes, keepdim, npd):
        self.in_shape, self.axes, self.keepdim, self.in_dtype = x.shape, axes, keepdim, x.dtype
        n = 1
        for a in axes:
            n *= x.shape[a]
        self.n = n
        return xp.mean(x, axis=axes, keepdims=keepdim, dtype=npd)

    def backward(self, g):
        return Sum.backward(self, g / self.n if self.n else g * float("nan"))

    def name(self):
        return "MeanBackward0" if len(self.axes) == len(self.in_shape) and not self.keepdim \
            else "MeanBackward1"


def _dims_arg(input, dim):
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(input._data.ndim))
    return normalize_dims(dim, input._data.ndim)


def sum(input, dim=None, keepdim=False, *, dtype=None):
    axes = _dims_arg(input, dim)
    return Sum.apply(input, axes=axes, keepdim=keepdim, npd=_acc_dtype(input._data, dtype))


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return sum(where(isnan_t(input), zeros_like_t(input), input), dim, keepdim, dtype=dtype)


def isnan_t(x):
    return Tensor._wrap(xp.isnan(x._data))


def mean(input, dim=None, keepdim=False, *, dtype=None):
    if dtype is None and not (input.dtype.is_floating_point or input.dtype.is_complex):
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name.capitalize()}")
    axes = _dims_arg(input, dim)
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype
    return Mean.apply(input, axes=axes, keepdim=keepdim, npd=npd)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    notnan = (~isnan_t(input)).to(input.dtype)
    return nansum(input, dim, keepdim) / notnan.sum(dim=dim, keepdim=keepdim) \
        if dim is not None else nansum(input) / notnan.sum()


class Prod(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axis, keepdim, npd):
        self.axis, self.keepdim, self.in_shape, self.in_dtype = axis, keepdim, x.shape, x.dtype
        return xp.prod(x, axis=axis, keepdims=keepdim, dtype=npd)

    def backward(self, g):
        x, = self.saved_inputs
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        y = self.saved_output
        gy = _expand_back(g * 1, self.in_shape, axes, self.keepdim)
        yy = _expand_back(y, self.in_shape, axes, self.keepdim)
        # exact for zeros: product of the others = cumprod from both sides
        if bool(xp.any(x._data == 0)):
            ax = self.axis if self.axis is not None else None
            if ax is None:
                flat = x.reshape(-1)
                others = _prod_others(flat, 0).reshape(x.shape)
            else:
                others = _prod_others(x, ax)
            return gy * others
        return gy * yy / x

    def name(self):
        return "ProdBackward0" if self.axis is None else "ProdBackward1"


def _prod_others(x: Tensor, dim: int) -> Tensor:
    """Product of all elements but the one at each position, along ``dim`` (no division)."""
    from .shape import cat, narrow
    n = x.shape[dim]
    ones_shape = list(x.shape)
    ones_shape[dim] = 1
    one = Tensor._wrap(xp.ones(ones_shape, dtype=x._data.dtype))
    left = cat([one, cumprod(narrow(x, dim, 0, n - 1), dim)], dim) if n > 1 else one
    rev = x.flip(dim)
    right = cat([one, cumprod(narrow(rev, dim, 0, n - 1), dim)], dim).flip(dim) if n > 1 else one
    return left * right


def prod(input, dim=None, keepdim=False, *, dtype=None):
    npd = _acc_dtype(input._data, dtype)
    axis = None if dim is None else wrap_dim(dim, input._data.ndim)
    return Prod.apply(input, axis=axis, keepdim=keepdim, npd=npd)


# ---- max / min ---------------------------------------------------------------------------
_values_indices = collections.namedtuple("values_indices", ["values", "indices"])


def _result_type(name):
    t = type(f"torch.return_types.{name}", (_values_indices,), {"__slots__": ()})
    t.__repr__ = lambda self, _n=name: (f"ember.return_types.{_n}(\nvalues={self.values!r},\n"
                                        f"indices={self.indices!r})")
    return t


MaxResult = _result_type("max")
MinResult = _result_type("min")
SortResult = _result_type("sort")
TopkResult = _result_type("topk")
ModeResult = _result_type("mode")
MedianResult = _result_type("median")
KthResult = _result_type("kthvalue")


class MaxAll(Primitive):
    """max()/min() over all elements: gradient split evenly among ties."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, is_max):
        if x.size == 0:
            raise RuntimeError(
                "max(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                "the reduction dim with the 'dim' argument." if is_max else
                "min(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                "the reduction dim with the 'dim' argument.")
        self.is_max = is_max
        return xp.max(x) if is_max else xp.min(x)

    def backward(self, g):
        x, = self.saved_inputs
        y = self.saved_output
        mask = (x._data == y._data).astype(g._data.dtype)
        mask /= mask.sum()
        return g * Tensor._wrap(mask)

    def name(self):
        return "MaxBackward1" if self.is_max else "MinBackward1"


class MaxDim(Primitive):
    """max/min along a dim: returns values and indices; gradient to the chosen index."""
    nondiff_outputs = (1,)
    n_outputs = 2

    def forward(self, x, dim, keepdim, is_max):
        if x.shape[dim] == 0 if x.ndim else False:
            raise IndexError(f"{'max' if is_max else 'min'}(): Expected reduction dim {dim} to "
                             "have non-zero size.")
        self.in_shape, self.dim, self.keepdim, self.is_max = x.shape, dim, keepdim, is_max
        if x.ndim == 0:
            idx = xp.zeros((), dtype=xp.int64)
            return x.copy(), idx
        idx = (xp.argmax if is_max else xp.argmin)(x, axis=dim, keepdims=True)
        if x.dtype.kind == "f":
            nanpos = xp.isnan(x)
            if nanpos.any():
                has = nanpos.any(axis=dim, keepdims=True)
                idx = xp.where(has, xp.argmax(nanpos, axis=dim, keepdims=True), idx)
        vals = xp.take_along_axis(x, idx, axis=dim)
        self.idx = idx
        if not keepdim:
            vals = vals.squeeze(dim)
            idx = idx.squeeze(dim)
        return vals, idx.astype(xp.int64)

    def backward(self, g, _gi=None):
        if len(self.in_shape) == 0:
            return g
        from .indexing import scatter_grad
        gk = g if self.keepdim else g.unsqueeze(self.dim)
        return scatter_grad(gk, self.dim, self.idx, self.in_shape)

    def name(self):
        return "MaxBackward0" if self.is_max else "MinBackward0"


def _max_min(input, dim, keepdim, is_max, other=None):
    if isinstance(dim, Tensor):
        from .elementwise import maximum, minimum
        return (maximum if is_max else minimum)(input, dim)
    if other is not None:
        from .elementwise import maximum, minimum
        return (maximum if is_max else minimum)(input, other)
    if dim is None:
        return MaxAll.apply(input, is_max=is_max)
    d = wrap_dim(dim, input._data.ndim)
    v, i = MaxDim.apply(input, dim=d, keepdim=keepdim, is_max=is_max)
    return (MaxResult if is_max else MinResult)(v, i)


def max(input, dim=None, keepdim=False, *, other=None):
    return _max_min(input, dim, keepdim, True, other)


def min(input, dim=None, keepdim=False, *, other=None):
    return _max_min(input, dim, keepdim, False, other)


class Amax(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axes, keepdim, is_max):
        self.axes, self.keepdim, self.is_max, self.in_shape = axes, keepdim, is_max, x.shape
        if x.size == 0 and any(x.shape[a] == 0 for a in axes):
            raise IndexError(f"{'amax' if is_max else 'amin'}(): Expected reduction dim "
                             f"{axes[0]} to have non-zero size.")
        return (xp.max if is_max else xp.min)(x, axis=axes, keepdims=keepdim)

    def backward(self, g):
        x, = self.saved_inputs
        y = _expand_back(self.saved_output, self.in_shape, self.axes, self.keepdim)
        mask = Tensor._wrap((x._data == y._data).astype(g._data.dtype))
        count = mask.sum(dim=self.axes, keepdim=True)
        return _expand_back(g, self.in_shape, self.axes, self.keepdim) * mask / count

    def name(self):
        return "AmaxBackward0" if self.is_max else "AminBackward0"


def amax(input, dim=(), keepdim=False):
    return Amax.apply(input, axes=_dims_arg(input, dim), keepdim=keepdim, is_max=True)


def amin(input, dim=(), keepdim=False):
    return Amax.apply(input, axes=_dims_arg(input, dim), keepdim=keepdim, is_max=False)


def aminmax(input, *, dim=None, keepdim=False):
    r = collections.namedtuple("aminmax", ["min", "max"])
    if dim is None:
        return r(amin(input, (), keepdim), amax(input, (), keepdim))
    return r(amin(input, dim, keepdim), amax(input, dim, keepdim))


def _arg(input, dim, keepdim, is_max):
    x = input._data
    f = xp.argmax if is_max else xp.argmin
    if dim is None:
        if x.size == 0:
            raise RuntimeError(f"{'argmax' if is_max else 'argmin'}(): Expected reduction dim to "
                               "be specified for input.numel() == 0.")
        flat = x.reshape(-1)
        i = f(flat)
        if flat.dtype.kind == "f" and xp.isnan(flat).any():
            i = xp.argmax(xp.isnan(flat))
        r = xp.asarray(i, dtype=xp.int64)
        if keepdim:
            r = r.reshape((1,) * x.ndim)
        return Tensor._wrap(r)
    return _max_min(input, dim, keepdim, is_max).indices


def argmax(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, True)


def argmin(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, False)


def all(input, dim=None, keepdim=False):
    axes = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(xp.asarray(xp.all(input._data, axis=axes, keepdims=keepdim)))


def any(input, dim=None, keepdim=False):
    axes = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(xp.asarray(xp.any(input._data, axis=axes, keepdims=keepdim)))


def count_nonzero(input, dim=None):
    axes = None if dim is None else normalize_dims(dim, input._data.ndim)
    return Tensor._wrap(xp.asarray(xp.count_nonzero(input._data, axis=axes), dtype=xp.int64))


# ---- variance family -----------------------------------------------------------------------
def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    c = _correction(unbiased, correction)
    axes = _dims_arg(input, dim)
    n = 1
    for a in axes:
        n *= input._data.shape[a]
    mu = mean(input, axes, keepdim=True)
    d = input - mu
    return sum(d * d, axes, keepdim=keepdim) / (n - c) if n - c > 0 else \
        sum(d * d, axes, keepdim=keepdim) / float("nan") * float("nan") if n - c == 0 and False \
        else sum(d * d, axes, keepdim=keepdim) * (1.0 / (n - c) if n != c else float("inf"))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    from .elementwise import sqrt
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


class LogSumExp(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axes, keepdim):
        if x.dtype.kind in "biu":
            x = x.astype(_dt.default_float_np())
        self.axes, self.keepdim, self.in_shape = axes, keepdim, x.shape
        if x.size == 0:
            return xp.log(xp.sum(xp.exp(x), axis=axes, keepdims=keepdim))
        m = xp.max(x, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        with xp.errstate(divide="ignore"):
            r = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        return r if keepdim else r.squeeze(axis=axes)

    def backward(self, g):
        x, = self.saved_inputs
        y = _expand_back(self.saved_output, self.in_shape, self.axes, self.keepdim)
        from .elementwise import exp
        return _expand_back(g, self.in_shape, self.axes, self.keepdim) * exp(x - y)

    def name(self):
        return "LogsumexpBackward0"


def logsumexp(input, dim, keepdim=False):
    return LogSumExp.apply(input, axes=_dims_arg(input, dim), keepdim=keepdim)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    from .elementwise import abs as _abs, sqrt
    if isinstance(p, str):
        if p == "fro":
            return sqrt(sum(input * input, dim, keepdim))
        if p == "nuc":
            raise NotImplementedError("ember.norm: p='nuc' (nuclear norm) is not supported")
        raise RuntimeError(f"norm(): unsupported norm type {p}")
    if p is None:
        p = 2
    if p == float("inf"):
        return amax(_abs(input), dim if dim is not None else (), keepdim)
    if p == float("-inf"):
        return amin(_abs(input), dim if dim is not None else (), keepdim)
    if p == 0:
        return sum((input != 0).to(input.dtype), dim, keepdim)
    if p == 2:
        return _Norm2.apply(input, axes=_dims_arg(input, dim), keepdim=keepdim)
    if p == 1:
        return sum(_abs(input), dim, keepdim)
    return sum(_abs(input) ** p, dim, keepdim) ** (1.0 / p)


class _Norm2(Primitive):
    """2-norm with torch's subgradient 0 at the origin."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axes, keepdim):
        self.axes, self.keepdim, self.in_shape = axes, keepdim, x.shape
        return xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdim))

    def backward(self, g):
        x, = self.saved_inputs
        y = _expand_back(self.saved_output, self.in_shape, self.axes, self.keepdim)
        ge = _expand_back(g, self.in_shape, self.axes, self.keepdim)
        safe = where(y == 0, Tensor._wrap(xp.ones_like(y._data)), y)
        r = ge * x / safe
        return where(y == 0, zeros_like_t(r), r)

    def name(self):
        return "NormBackward1"


class CumSum(Primitive):
    def forward(self, x, dim, npd):
        self.dim = dim
        self.in_dtype = x.dtype
        return xp.cumsum(x, axis=dim, dtype=npd) if x.ndim else x.astype(npd)

    def backward(self, g):
        if g.ndim == 0:
            return g
        return g.flip(self.dim).cumsum(self.dim).flip(self.dim)

    def name(self):
        return "CumsumBackward0"


def cumsum(input, dim, *, dtype=None):
    d = wrap_dim(dim, input._data.ndim)
    return CumSum.apply(input, dim=d, npd=_acc_dtype(input._data, dtype))


class CumProd(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, dim, npd):
        self.dim = dim
        return xp.cumprod(x, axis=dim, dtype=npd) if x.ndim else x.astype(npd)

    def backward(self, g):
        x, = self.saved_inputs
        if x.ndim == 0:
            return g
        y = self.saved_output
        d = self.dim
        if not bool(xp.any(x._data == 0)):
            return (g * y).flip(d).cumsum(d).flip(d) / x
        # general (zeros present): sum_{k>=i} g_k * prod_{j<=k, j!=i} x_j, column by column
        from .shape import stack
        n = x.shape[d]
        cols = []
        for i in range(n):
            xi = x.narrow(d, i, 1)
            ones = Tensor._wrap(xp.ones_like(xi._data))
            xr = x.narrow(d, 0, i).cumprod(d) if i else None
            left = xr.narrow(d, i - 1, 1) if i else ones
            tail = x.narrow(d, i + 1, n - i - 1)
            from .shape import cat
            seq = cat([ones, tail.cumprod(d)], d) if n - i - 1 else ones
            cols.append((g.narrow(d, i, n - i) * seq * left).sum(d))
        del xi
        return stack(cols, d)

    def name(self):
        return "CumprodBackward0"


def cumprod(input, dim, *, dtype=None):
    d = wrap_dim(dim, input._data.ndim)
    return CumProd.apply(input, dim=d, npd=_acc_dtype(input._data, dtype))


def logcumsumexp(input, dim):
    m = amax(input.detach(), dim, keepdim=True) if input.numel() else input.detach()
    from .elementwise import exp, log
    return log(cumsum(exp(input - m), dim)) + m


def cummax(input, dim):
    d = wrap_dim(dim, input._data.ndim)
    x = input._data
    vals = xp.maximum.accumulate(x, axis=d) if x.ndim else x.copy()
    idx = _cum_idx(x, vals, d)
    from .indexing import gather
    return collections.namedtuple("cummax", ["values", "indices"])(
        gather(input, d, Tensor._wrap(idx)), Tensor._wrap(idx))


def cummin(input, dim):
    d = wrap_dim(dim, input._data.ndim)
    x = input._data
    vals = xp.minimum.accumulate(x, axis=d) if x.ndim else x.copy()
    idx = _cum_idx(x, vals, d)
    from .indexing import gather
    return collections.namedtuple("cummin", ["values", "indices"])(
        gather(input, d, Tensor._wrap(idx)), Tensor._wrap(idx))


def _cum_idx(x, vals, d):
    if x.ndim == 0:
        return xp.zeros((), dtype=xp.int64)
    n = x.shape[d]
    ar = xp.arange(n).reshape([-1 if i == d else 1 for i in range(x.ndim)])
    hit = xp.where(x == vals, ar, 0)
    return xp.maximum.accumulate(hit, axis=d).astype(xp.int64)


__all__ = ["sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin",
           "aminmax", "argmax", "argmin", "all", "any", "count_nonzero", "var", "std",
           "var_mean", "std_mean", "logsumexp", "norm", "cumsum", "cumprod", "logcumsumexp",
           "cummax", "cummin"]
TENSOR_METHODS = {n: globals()[n] for n in __all__ if n not in ("var_mean", "std_mean")}
TENSOR_METHODS["cumsum_"] = lambda self, dim: self._inplace_from(cumsum(self, dim))
