"""Reductions: sum, mean, prod, max/min (with indices), amax/amin, argmax/argmin, all/any,
var/std, logsumexp, norm, and the cumulative ops (cumsum, cumprod, logcumsumexp, cummax...).

``dim`` may be None, an int, a tuple or negative; ``keepdim`` keeps reduced axes as size 1.
Integer and bool inputs sum/prod/cumsum to int64, as in torch. Backward formulas follow
torch's ``derivatives.yaml`` (ties in max/amax/norm-inf share the gradient evenly, max along a
dim sends it to the chosen index) and are written with Tensor ops, so double backward works.
"""
from __future__ import annotations

import builtins
import collections
import math
import warnings

from .._backend import xp
from .._backend.reduce import sum_like_torch
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import normalize_dims, wrap_dim, ExpandTo, ToDtype
from .elementwise import (where, zeros_like_t, _masked, _const, _tname, exp, log,
                          abs as _abs, sign as _sign, isnan as _isnan)

_BY_NP = _dt._BY_NP


# ---------------------------------------------------------------------------------------
# Helpers: dims, result types, gradient broadcasting
# ---------------------------------------------------------------------------------------
def _axes(input: Tensor, dim) -> tuple:
    """Reduced axes for ``dim`` (None, (), [] mean all); validated, sorted, no repeats."""
    nd = input._data.ndim
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(nd))
    axes = normalize_dims(dim, nd)
    return axes if nd else ()


def _axis(input: Tensor, dim) -> int | None:
    """One reduced axis (None for a 0-d input, where dim 0 and -1 are accepted)."""
    nd = input._data.ndim
    d = wrap_dim(dim, nd)
    return d if nd else None


def _expand_back(g: Tensor, in_shape, axes, keepdim) -> Tensor:
    """Broadcast a reduced gradient back to the input's shape (differentiably)."""
    if not keepdim and axes:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        g = g.reshape(tuple(shape))
    if tuple(g.shape) == tuple(in_shape):
        return g
    return ExpandTo.apply(g, shape=tuple(in_shape))


def _acc_dtype(x, dtype):
    """Sum/prod/cumsum accumulate bool and integers in int64, as torch does."""
    if dtype is not None:
        return _dt.to_numpy_dtype(dtype)
    if x.dtype.kind in "biu":
        return xp.dtype(xp.int64)
    return x.dtype


def _cast_input(input: Tensor, npd) -> Tensor:
    """``input`` in the dtype the op computes in (differentiably, so grads come back in the
    input's dtype)."""
    return input if input._data.dtype == npd else ToDtype.apply(input, dtype=npd)


def _require_float(input: Tensor, msg: str):
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(msg.format(_tname(input._data.dtype)))


def _return_type(name: str, fields=("values", "indices")):
    """A torch.return_types-like named tuple (``values, indices = x.max(1)``)."""
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"ember.return_types.{name}(\n{body})"
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "ember.return_types",
                                "__qualname__": name})


MaxResult = _return_type("max")
MinResult = _return_type("min")
AminmaxResult = _return_type("aminmax", ("min", "max"))
CummaxResult = _return_type("cummax")
CumminResult = _return_type("cummin")


# ---------------------------------------------------------------------------------------
# sum, mean, nansum, prod
# ---------------------------------------------------------------------------------------
class Sum(Primitive):
    def forward(self, x, axes, keepdim, npd, full=True):
        self.in_shape, self.axes, self.keepdim, self.in_dtype = x.shape, axes, keepdim, x.dtype
        self.full = full
        r = sum_like_torch(x, axes, keepdim) if npd == x.dtype else None
        return r if r is not None else xp.sum(x, axis=axes, keepdims=keepdim, dtype=npd)

    def backward(self, g):
        g = _expand_back(g, self.in_shape, self.axes, self.keepdim)
        if g._data.dtype != self.in_dtype:
            g = ToDtype.apply(g, dtype=self.in_dtype)
        return g

    def name(self):
        return "SumBackward0" if self.full else "SumBackward1"


class Mean(Sum):
    def forward(self, x, axes, keepdim, npd, full=True):
        self.in_shape, self.axes, self.keepdim, self.in_dtype = x.shape, axes, keepdim, x.dtype
        self.full = full
        n = 1
        for a in axes:
            n *= x.shape[a]
        self.n = n
        r = sum_like_torch(x, axes, keepdim) if npd == x.dtype else None
        if r is not None:
            return r / x.dtype.type(n)      # torch's mean is sum / n
        with xp.errstate(all="ignore"):     # empty: 0 / 0 = nan, silently as in torch
            return xp.asarray(xp.sum(x, axis=axes, keepdims=keepdim, dtype=npd) / npd.type(n))

    def backward(self, g):
        return Sum.backward(self, g / self.n if self.n else g)

    def name(self):
        return "MeanBackward0" if self.full else "MeanBackward1"


def sum(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dims if None or empty). bool/int inputs give int64."""
    return Sum.apply(input, axes=_axes(input, dim), keepdim=keepdim,
                     npd=_acc_dtype(input._data, dtype), full=dim is None)


def mean(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Mean over ``dim``; integer inputs need ``dtype=`` (as in torch)."""
    if dtype is None and input._data.dtype.kind not in "fc":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_tname(input._data.dtype)}")
    npd = _dt.to_numpy_dtype(dtype) if dtype is not None else input._data.dtype
    if npd != input._data.dtype:
        input = ToDtype.apply(input, dtype=npd)
    return Mean.apply(input, axes=_axes(input, dim), keepdim=keepdim, npd=npd,
                      full=dim is None)


class NanSum(Sum):
    save_inputs = (0,)

    def forward(self, x, axes, keepdim, npd, full=True):
        if x.dtype.kind in "fc":
            x = xp.where(xp.isnan(x), 0, x)
        return Sum.forward(self, x, axes, keepdim, npd, full)

    def backward(self, g):
        # torch: grad * self.isnan().logical_not() (a product: a negative gradient gives
        # -0.0 at the NaNs)
        x, = self.saved_inputs
        gx = Sum.backward(self, g)
        return gx * _const((~xp.isnan(x._data)).astype(gx._data.dtype))

    def name(self):
        return "NansumBackward0"


def nansum(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """sum treating NaN as zero."""
    return NanSum.apply(input, axes=_axes(input, dim), keepdim=keepdim,
                        npd=_acc_dtype(input._data, dtype))


def nanmean(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """mean over the non-NaN elements (NaN where all are NaN)."""
    _require_float(input, "nanmean(): expected input to have floating point or complex dtype "
                          "but got {}")
    count = sum(~_isnan(input), dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


class Prod(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axis, keepdim, npd):
        self.axis, self.keepdim, self.in_shape = axis, keepdim, x.shape
        return xp.prod(x, axis=axis, keepdims=keepdim, dtype=npd)

    def backward(self, g):
        # torch's prod_backward: (g * y) / x for the full product, g * (y / x) along a dim;
        # with zeros, the product of the others; two or more zeros in a full product give
        # zeros outright (unless a graph is recorded), whatever else (inf, NaN) is there
        x, = self.saved_inputs
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis,)
        ge = _expand_back(g, self.in_shape, axes, self.keepdim)
        zeros = int(xp.count_nonzero(x._data == 0))
        if zeros == 0:
            y = _expand_back(self.saved_output, self.in_shape, axes, self.keepdim)
            return ge * y / x if self.axis is None else ge * (y / x)
        if self.axis is None:
            if zeros > 1 and not STATE.enabled:
                return zeros_like_t(x)
            return ge * _prod_others(x.reshape(-1), 0).reshape(tuple(x.shape))
        return ge * _prod_others(x, self.axis)

    def name(self):
        return "ProdBackward0" if self.axis is None else "ProdBackward1"


def _exclusive_cumprod(x: Tensor, dim: int) -> Tensor:
    """[1, x0, x0*x1, ...] along ``dim`` (differentiable)."""
    from .shape import cat, narrow
    n = x.shape[dim]
    one_shape = list(x.shape)
    one_shape[dim] = 1
    one = Tensor._wrap(xp.ones(one_shape, dtype=x._data.dtype))
    if n <= 1:
        return one.expand(tuple(x.shape)) if n else x
    return cat([one, cumprod(narrow(x, dim, 0, n - 1), dim)], dim)


def _prod_others(x: Tensor, dim: int) -> Tensor:
    """Product of all elements but the one at each position, along ``dim`` (no division)."""
    return _exclusive_cumprod(x, dim) * _exclusive_cumprod(x.flip(dim), dim).flip(dim)


def prod(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Product over all elements, or along one ``dim`` (an int, as in torch)."""
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod() received an invalid combination of arguments - got (Tensor, "
                        f"{type(dim).__name__}): dim must be an int")
    axis = None if dim is None else _axis(input, dim)
    input = _cast_input(input, _acc_dtype(input._data, dtype))
    if dim is not None and axis is None:      # 0-d input with dim 0 / -1
        keepdim = False
    return Prod.apply(input, axis=axis, keepdim=keepdim, npd=input._data.dtype)


# ---------------------------------------------------------------------------------------
# max / min / amax / amin / argmax / argmin / aminmax
# ---------------------------------------------------------------------------------------
def _evenly_distribute(g: Tensor, x, y) -> Tensor:
    """torch's evenly_distribute_backward (max()/min()/median() of all elements): g / count
    written where the input equals the result (the NaNs if the result is NaN), +0.0
    elsewhere."""
    mask = xp.isnan(x) if x.dtype.kind == "f" and bool(xp.isnan(y)) else x == y
    return _masked(mask, g / int(xp.count_nonzero(mask)), True)


def _scale_by_count(g: Tensor, mask, axes) -> Tensor:
    """torch's scale_grad_by_count (amax/amin and the inf-norm): (g / count) * mask."""
    d = g._data.dtype
    count = mask.sum(axis=axes, keepdims=True).astype(d)
    return (g / _const(count)) * _const(mask.astype(d))


class MaxAll(Primitive):
    """max()/min() over all elements: the gradient is split evenly among ties."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, is_max):
        if x.size == 0:
            raise RuntimeError(
                f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
        self.is_max = is_max
        r = xp.max(x) if is_max else xp.min(x)
        return xp.asarray(r)

    def backward(self, g):
        x, = self.saved_inputs
        return _evenly_distribute(g, x._data, self.saved_output._data)

    def name(self):
        return "MaxBackward1" if self.is_max else "MinBackward1"


def _arg_along(x, axis, is_max):
    """argmax/argmin along ``axis`` (keepdims), with NaN winning as in torch."""
    idx = (xp.argmax if is_max else xp.argmin)(x, axis=axis, keepdims=True)
    if x.dtype.kind == "f":
        nan = xp.isnan(x)
        if nan.any():
            idx = xp.where(nan.any(axis=axis, keepdims=True),
                           xp.argmax(nan, axis=axis, keepdims=True), idx)
    return idx


class MaxDim(Primitive):
    """max/min along a dim: (values, indices); the gradient goes to the chosen index."""
    n_outputs = 2
    nondiff_outputs = (1,)
    release_attrs = ("idx",)

    def forward(self, x, dim, keepdim, is_max):
        self.in_shape, self.dim, self.keepdim, self.is_max = x.shape, dim, keepdim, is_max
        if dim is None:         # 0-d input
            self.idx = None
            return x.copy(), xp.zeros((), dtype=xp.int64)
        if x.shape[dim] == 0:
            raise IndexError(f"{'max' if is_max else 'min'}(): Expected reduction dim {dim} to "
                             "have non-zero size.")
        idx = _arg_along(x, dim, is_max)
        vals = xp.take_along_axis(x, idx, axis=dim)
        self.idx = idx
        if not keepdim:
            vals, idx = vals.squeeze(dim), idx.squeeze(dim)
        return vals, idx.astype(xp.int64, copy=False)

    def backward(self, g, _gi=None):
        if self.idx is None:
            return g
        return _index_backward(g, self.dim, self.idx, self.in_shape, self.keepdim)

    def name(self):
        return "MaxBackward0" if self.is_max else "MinBackward0"


def _index_backward(g: Tensor, dim: int, idx, in_shape, keepdim=True) -> Tensor:
    """Scatter ``g`` (values selected at ``idx`` along ``dim``) back into zeros(in_shape)."""
    from .indexing import scatter_grad
    gk = g if keepdim else g.unsqueeze(dim)
    return scatter_grad(gk, dim, idx, in_shape)


def _max_min(input, dim, keepdim, is_max, other):
    if isinstance(dim, Tensor) or other is not None:
        from .elementwise import maximum, minimum
        return (maximum if is_max else minimum)(input, dim if other is None else other)
    if dim is None:
        if keepdim:
            raise TypeError(f"{'max' if is_max else 'min'}() received an invalid combination "
                            "of arguments: keepdim needs dim")
        return MaxAll.apply(input, is_max=is_max)
    v, i = MaxDim.apply(input, dim=_axis(input, dim), keepdim=keepdim, is_max=is_max)
    return (MaxResult if is_max else MinResult)(v, i)


def max(input, dim=None, keepdim=False, *, other=None):
    """max(x): the largest element; max(x, dim): (values, indices); max(x, y): maximum."""
    return _max_min(input, dim, keepdim, True, other)


def min(input, dim=None, keepdim=False, *, other=None):
    """min(x): the smallest element; min(x, dim): (values, indices); min(x, y): minimum."""
    return _max_min(input, dim, keepdim, False, other)


def _check_nonempty(x, axes, name):
    if x.size == 0 and len(axes) == x.ndim:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                           "input.numel() == 0. Specify the reduction dim with the 'dim' "
                           "argument.")
    for a in axes:
        if x.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


class Amax(Primitive):
    """amax/amin over dims: ties share the gradient evenly."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axes, keepdim, is_max):
        self.axes, self.keepdim, self.is_max, self.in_shape = axes, keepdim, is_max, x.shape
        _check_nonempty(x, axes, "amax" if is_max else "amin")
        return xp.asarray((xp.max if is_max else xp.min)(x, axis=axes, keepdims=keepdim))

    def backward(self, g):
        x, = self.saved_inputs
        y = self.saved_output._data
        if not self.keepdim:
            y = xp.expand_dims(y, self.axes)
        ge = _expand_back(g, self.in_shape, self.axes, self.keepdim)
        return _scale_by_count(ge, x._data == y, self.axes)

    def name(self):
        return "AmaxBackward0" if self.is_max else "AminBackward0"


def amax(input, dim=(), keepdim=False) -> Tensor:
    return Amax.apply(input, axes=_axes(input, dim), keepdim=keepdim, is_max=True)


def amin(input, dim=(), keepdim=False) -> Tensor:
    return Amax.apply(input, axes=_axes(input, dim), keepdim=keepdim, is_max=False)


class Aminmax(Primitive):
    """aminmax: (min, max) from one node, each backward like amin/amax."""
    n_outputs = 2
    save_inputs = (0,)
    release_attrs = ("lo", "hi")

    def forward(self, x, axes, keepdim):
        self.axes, self.keepdim, self.in_shape = axes, keepdim, x.shape
        _check_nonempty(x, axes, "aminmax")
        self.lo = xp.asarray(xp.min(x, axis=axes, keepdims=True))
        self.hi = xp.asarray(xp.max(x, axis=axes, keepdims=True))
        if keepdim:
            return self.lo, self.hi
        return self.lo.reshape(_drop(x.shape, axes)), self.hi.reshape(_drop(x.shape, axes))

    def backward(self, g_min, g_max):
        x, = self.saved_inputs
        out = None
        for g, y in ((g_min, self.lo), (g_max, self.hi)):
            if g is not None:
                part = _scale_by_count(_expand_back(g, self.in_shape, self.axes,
                                                    self.keepdim), x._data == y, self.axes)
                out = part if out is None else out + part
        return out

    def name(self):
        return "AminmaxBackward0"


def _drop(shape, axes):
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over all elements or along ``dim``."""
    axes = _axes(input, dim)
    lo, hi = Aminmax.apply(input, axes=axes, keepdim=keepdim)
    return AminmaxResult(lo, hi)


def _arg(input, dim, keepdim, is_max):
    x = input._data
    name = "argmax" if is_max else "argmin"
    if x.dtype == xp.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        r = _arg_along(x.reshape(-1), 0, is_max).reshape(())
        r = r.astype(xp.int64, copy=False)
        return Tensor._wrap(r.reshape((1,) * x.ndim) if keepdim else r)
    axis = _axis(input, dim)
    if axis is None:
        return Tensor._wrap(xp.zeros((), dtype=xp.int64))
    if x.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
    idx = _arg_along(x, axis, is_max)
    return Tensor._wrap((idx if keepdim else idx.squeeze(axis)).astype(xp.int64, copy=False))


def argmax(input, dim=None, keepdim=False) -> Tensor:
    return _arg(input, dim, keepdim, True)


def argmin(input, dim=None, keepdim=False) -> Tensor:
    return _arg(input, dim, keepdim, False)


# ---------------------------------------------------------------------------------------
# all / any / count_nonzero (not differentiable)
# ---------------------------------------------------------------------------------------
def _logical_reduce(fn, input, dim, keepdim):
    x = input._data
    axes = _axes(input, dim)
    r = xp.asarray(fn(x, axis=axes, keepdims=keepdim))
    # torch keeps uint8 for uint8 inputs; everything else gives bool
    return Tensor._wrap(r.astype(xp.uint8) if x.dtype == xp.uint8 else r)


def all(input, dim=None, keepdim=False) -> Tensor:
    return _logical_reduce(xp.all, input, dim, keepdim)


def any(input, dim=None, keepdim=False) -> Tensor:
    return _logical_reduce(xp.any, input, dim, keepdim)


def count_nonzero(input, dim=None) -> Tensor:
    axes = _axes(input, dim)
    return Tensor._wrap(xp.asarray(xp.count_nonzero(input._data, axis=axes), dtype=xp.int64))


# ---------------------------------------------------------------------------------------
# var / std (and var_mean / std_mean)
# ---------------------------------------------------------------------------------------
def _var_args(dim, unbiased, keepdim, correction):
    """torch's overloads: var(x, unbiased), var(x, dim, unbiased, keepdim), correction=."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    if correction is not None and unbiased is not None:
        raise RuntimeError("Cannot specify both unbiased and correction")
    c = correction if correction is not None else (0 if unbiased is False else 1)
    return dim, c, keepdim


class VarStd(Primitive):
    """var/std (``std=True``) with a correction; ``with_mean`` also returns the mean
    (var_mean/std_mean)."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axes, correction, keepdim, std, with_mean):
        self.axes, self.c, self.keepdim, self.std = axes, correction, keepdim, std
        self.with_mean = with_mean
        self.n_outputs = 2 if with_mean else 1
        n = 1
        for a in axes:
            n *= x.shape[a]
        self.n = n
        dof = n - correction
        if dof <= 0:
            warnings.warn(f"{'std' if std else 'var'}(): degrees of freedom is <= 0. Correction "
                          "should be strictly less than the reduction factor (input numel "
                          "divided by output numel).", UserWarning, stacklevel=4)
        with xp.errstate(all="ignore"):
            mu = xp.sum(x, axis=axes, keepdims=True) / x.dtype.type(n)
            d = x - mu
            v = xp.sum(d * d, axis=axes, keepdims=keepdim) / x.dtype.type(builtins.max(0, dof))
            r = xp.sqrt(v) if std else v
        r = xp.asarray(r, dtype=x.dtype)
        if with_mean:
            return r, (mu if keepdim else mu.reshape(_drop(x.shape, axes))).astype(x.dtype)
        return r

    def backward(self, g, g_mean=None):
        x, = self.saved_inputs
        gx = None
        if g is not None:
            if self.std:
                r = self.saved_output
                g = _masked(r._data != 0, g / (r * 2))
            ge = _expand_back(g, x.shape, self.axes, self.keepdim)
            scale = 2.0 / (self.n - self.c) if self.n != self.c else math.inf
            gx = (scale * ge) * (x - mean(x, self.axes, keepdim=True))
        if g_mean is not None:
            gm = _expand_back(g_mean, x.shape, self.axes, self.keepdim) / self.n
            gx = gm if gx is None else gx + gm
        return gx

    def name(self):
        base = "Std" if self.std else "Var"
        return f"{base}MeanBackward0" if self.with_mean else f"{base}Backward0"


def _var_std(input, dim, unbiased, keepdim, correction, std, with_mean):
    _require_float(input, "std and var only support floating point and complex dtypes")
    dim, c, keepdim = _var_args(dim, unbiased, keepdim, correction)
    out = VarStd.apply(input, axes=_axes(input, dim), correction=c, keepdim=keepdim, std=std,
                       with_mean=with_mean)
    return tuple(out) if with_mean else out


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
    """Variance; ``correction`` (default 1) is subtracted from the element count
    (``unbiased=False`` means 0)."""
    return _var_std(input, dim, unbiased, keepdim, correction, False, False)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Tensor:
    """Standard deviation (see ``var``); the gradient is 0 where std is 0, as in torch."""
    return _var_std(input, dim, unbiased, keepdim, correction, True, False)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_std(input, dim, unbiased, keepdim, correction, False, True)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_std(input, dim, unbiased, keepdim, correction, True, True)


# ---------------------------------------------------------------------------------------
# logsumexp, norm
# ---------------------------------------------------------------------------------------
class LogSumExp(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, axes, keepdim):
        if x.dtype.kind in "biu":
            x = x.astype(_dt.default_float_np())
        self.axes, self.keepdim, self.in_shape = axes, keepdim, x.shape
        with xp.errstate(all="ignore"):
            if x.size == 0:
                return xp.asarray(xp.log(xp.sum(xp.exp(x), axis=axes, keepdims=keepdim)))
            m = xp.max(x, axis=axes, keepdims=True)
            m = xp.where(xp.isfinite(m), m, 0)
            r = xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m
        return r if keepdim else r.reshape(_drop(x.shape, axes))

    def backward(self, g):
        x, = self.saved_inputs
        y = _expand_back(self.saved_output, self.in_shape, self.axes, self.keepdim)
        return _expand_back(g, self.in_shape, self.axes, self.keepdim) * exp(x - y)

    def name(self):
        return "LogsumexpBackward0"


def logsumexp(input, dim, keepdim=False) -> Tensor:
    """log(sum(exp(input))) over ``dim``, computed stably."""
    return LogSumExp.apply(input, axes=_axes(input, dim), keepdim=keepdim)


class VectorNorm(Primitive):
    """The p-norm over ``axes`` (torch's linalg.vector_norm), with torch's subgradients:
    0 at the origin for p >= 1, ties sharing the gradient for p = ±inf."""
    save_inputs = (0,)
    save_output = True

    def forward(self, x, p, axes, keepdim):
        self.p, self.axes, self.keepdim, self.in_shape = p, axes, keepdim, x.shape
        a = xp.abs(x)
        with xp.errstate(all="ignore"):
            if p == 2:
                r = xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdim))
            elif p == 1:
                r = xp.sum(a, axis=axes, keepdims=keepdim)
            elif p == math.inf:
                r = xp.max(a, axis=axes, keepdims=keepdim, initial=0)
            elif p == -math.inf:
                r = xp.min(a, axis=axes, keepdims=keepdim, initial=math.inf)
            elif p == 0:
                r = xp.sum(a != 0, axis=axes, keepdims=keepdim, dtype=x.dtype)
            else:
                r = xp.sum(a ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)
        return xp.asarray(r, dtype=x.dtype)

    def backward(self, g):
        x, = self.saved_inputs
        p = self.p
        ge = _expand_back(g, self.in_shape, self.axes, self.keepdim)
        if p == 0:
            return zeros_like_t(x)
        if p == 1:
            return _sign(x) * ge
        norm = _expand_back(self.saved_output, self.in_shape, self.axes, self.keepdim)
        at_zero = norm._data == 0
        if p == 2:         # torch: grad * (self / norm).masked_fill_(norm == 0, 0)
            return ge * _masked(at_zero, x / norm, False)
        if math.isinf(p):  # torch: sgn(self) * ((grad / count) * mask), NaNs in the mask
            ax = xp.abs(x._data)
            return _sign(x) * _scale_by_count(ge, (ax == norm._data) | xp.isnan(ax), self.axes)
        if p < 1:
            return _sign(x) * (_abs(x) / norm) ** (p - 1) * ge
        return _masked(at_zero, x * _abs(x) ** (p - 2) * ge / norm ** (p - 1), False)

    def name(self):
        return "LinalgVectorNormBackward0"


def norm(input, p="fro", dim=None, keepdim=False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all dims by default); ``'fro'`` is the 2-norm.

    Differs from torch: ``p='nuc'`` (nuclear norm) is not supported."""
    if isinstance(p, str):
        if p == "nuc":
            raise NotImplementedError("ember.norm: p='nuc' (nuclear norm, a matrix norm) is not "
                                      "supported; use p='fro' or a numeric p")
        if p != "fro":
            raise RuntimeError(f"norm(): unsupported norm type {p}")
        p = 2
    if p is None:
        p = 2
    if input._data.dtype.kind not in "fc":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_tname(input._data.dtype)}")
    if dtype is not None:
        input = ToDtype.apply(input, dtype=_dt.to_numpy_dtype(dtype))
    return VectorNorm.apply(input, p=float(p), axes=_axes(input, dim), keepdim=keepdim)


# ---------------------------------------------------------------------------------------
# Cumulative ops
# ---------------------------------------------------------------------------------------
def _rev_cumsum(t: Tensor, dim: int) -> Tensor:
    """sum over k >= i along ``dim`` (differentiable)."""
    return t.flip(dim).cumsum(dim).flip(dim)


class CumSum(Primitive):
    def forward(self, x, dim, npd):
        self.dim = dim
        out = xp.cumsum(x, axis=dim, dtype=npd) if dim is not None else x.astype(npd)
        if out.dtype.kind in "fc":
            # torch accumulates from +0.0, so a leading run of -0.0 sums to +0.0 (NumPy
            # starts from the first element); adding +0.0 changes exactly those
            out += 0.0
        return out

    def backward(self, g):
        return g if self.dim is None else _rev_cumsum(g, self.dim)

    def name(self):
        return "CumsumBackward0"


def _cumulative(cls, input, dim, dtype):
    input = _cast_input(input, _acc_dtype(input._data, dtype))
    return cls.apply(input, dim=_axis(input, dim), npd=input._data.dtype)


def cumsum(input, dim, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim`` (bool/int inputs give int64)."""
    return _cumulative(CumSum, input, dim, dtype)


class CumProd(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, dim, npd):
        self.dim = dim
        return xp.cumprod(x, axis=dim, dtype=npd) if dim is not None else x.astype(npd)

    def backward(self, g):
        x, = self.saved_inputs
        if self.dim is None:
            return g
        return _cumprod_grad(x, self.saved_output, g, self.dim)

    def name(self):
        return "CumprodBackward0"


def _cumprod_grad(x: Tensor, y: Tensor, g: Tensor, d: int) -> Tensor:
    """Gradient of y = cumprod(x) along ``d``: grad_i = sum_{k>=i} g_k prod_{j<=k, j!=i} x_j,
    in O(n) Tensor ops (differentiable), exact with zeros:

    * before the first zero z of a line: the usual revcumsum(g * y) / x (x is nonzero there);
    * at z: cumprod(x[:z]) * sum_{k>=z} g_k prod(x[z+1..k]);
    * after z: x_z times the same gradient for x with x_z set to 1. Its value is 0, so it is
      only built when a graph is being recorded (create_graph), where its derivative
      matters; the later zeros are handled the same way, one level per zero."""
    if not (x._data == 0).any():
        return _rev_cumsum(g * y, d) / x
    nd = x._data.ndim
    n = x._data.shape[d]
    pos = xp.arange(n).reshape([-1 if i == d else 1 for i in range(nd)])
    ones = _const(xp.ones_like(x._data))
    grad = factor = region = None
    while True:
        zero = x._data == 0
        first = xp.where(zero.any(axis=d, keepdims=True), xp.argmax(zero, axis=d, keepdims=True),
                         n)
        before, at, after = pos < first, pos == first, pos > first
        x_before = where(_const(before), x, ones)
        part = _masked(before if region is None else before & region,
                       _rev_cumsum(g * y, d) / x_before)
        w = where(_const(after), x, ones).cumprod(d)          # prod of x over (z, k]
        s = _rev_cumsum(_masked(before, g * w, False), d)
        part = part + _masked(at, _exclusive_cumprod(x_before, d) * s)
        if factor is not None:
            part = part * factor
        grad = part if grad is None else grad + part
        region = after if region is None else after & region
        if not STATE.enabled or not region.any():
            return grad
        x_z = _masked(at, x).sum(d, keepdim=True)
        factor = x_z if factor is None else factor * x_z
        x = where(_const(at), ones, x)
        y = x.cumprod(d)


def cumprod(input, dim, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim`` (bool/int inputs give int64); exact gradients with
    zeros."""
    return _cumulative(CumProd, input, dim, dtype)


class LogCumSumExp(Primitive):
    save_inputs = (0,)
    save_output = True

    def forward(self, x, dim):
        self.dim = dim
        if x.dtype.kind in "biu":
            x = x.astype(_dt.default_float_np())
        if dim is None:
            return x.copy()
        with xp.errstate(all="ignore"):
            return xp.logaddexp.accumulate(x, axis=dim)

    def backward(self, g):
        d = self.dim
        if d is None:
            return g
        x, = self.saved_inputs
        y = self.saved_output
        # grad_i = sum_{k>=i} g_k exp(x_i - y_k), in log space for the positive and the
        # negative parts of g separately (as torch does), so nothing overflows. Where
        # x_i = -inf the gradient is 0; y_k = -inf only occurs with such x_i, so both are
        # replaced by 0 before use (no -inf - -inf) and masked out after.
        xd, gd = x._data, g._data
        x_ninf = xd == -math.inf
        zeros = _const(xp.zeros_like(xd))
        x_safe = where(_const(x_ninf), zeros, x)
        y_safe = where(_const(y._data == -math.inf), zeros, y)
        ninf = _const(xp.full(gd.shape, -math.inf, dtype=gd.dtype))
        ones = _const(xp.ones_like(gd))

        def part(mask, val):
            lg = where(_const(mask), log(where(_const(mask), val, ones)), ninf)
            r = logcumsumexp((lg - y_safe).flip(d), d).flip(d)
            return exp(r + x_safe)
        return _masked(x_ninf, part(gd > 0, g) - part(gd < 0, -g), False)

    def name(self):
        return "LogcumsumexpBackward0"


def logcumsumexp(input, dim) -> Tensor:
    """log(cumsum(exp(input))) along ``dim``, computed stably (log-add-exp scan)."""
    return LogCumSumExp.apply(input, dim=_axis(input, dim))


class CumMax(Primitive):
    """cummax/cummin: (values, indices); ties and NaN take the latest index, as in torch."""
    n_outputs = 2
    nondiff_outputs = (1,)
    release_attrs = ("idx",)

    def forward(self, x, dim, is_max):
        self.dim, self.is_max, self.in_shape = dim, is_max, x.shape
        if dim is None:
            self.idx = None
            return x.copy(), xp.zeros((), dtype=xp.int64)
        acc = xp.maximum if is_max else xp.minimum
        vals = acc.accumulate(x, axis=dim) if x.size else x.copy()
        n = x.shape[dim]
        pos = xp.arange(n).reshape([-1 if i == dim else 1 for i in range(x.ndim)])
        hit = x == vals
        if x.dtype.kind == "f":
            hit |= xp.isnan(x)
        idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=dim) if x.size else \
            xp.zeros(x.shape, dtype=xp.int64)
        self.idx = idx
        return vals, idx.astype(xp.int64, copy=False)

    def backward(self, g, _gi=None):
        if self.idx is None:
            return g
        return _index_backward(g, self.dim, self.idx, self.in_shape)

    def name(self):
        return "CummaxBackward0" if self.is_max else "CumminBackward0"


def cummax(input, dim):
    v, i = CumMax.apply(input, dim=_axis(input, dim), is_max=True)
    return CummaxResult(v, i)


def cummin(input, dim):
    v, i = CumMax.apply(input, dim=_axis(input, dim), is_max=False)
    return CumminResult(v, i)


def _cumsum_(self, dim, *, dtype=None):
    return self._inplace_from(cumsum(self, dim, dtype=dtype))


def _cumprod_(self, dim, *, dtype=None):
    return self._inplace_from(cumprod(self, dim, dtype=dtype))


__all__ = ["sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin",
           "aminmax", "argmax", "argmin", "all", "any", "count_nonzero", "var", "std",
           "var_mean", "std_mean", "logsumexp", "norm", "cumsum", "cumprod", "logcumsumexp",
           "cummax", "cummin"]
TENSOR_METHODS = {n: globals()[n] for n in __all__ if n not in ("var_mean", "std_mean")}
TENSOR_METHODS["cumsum_"] = _cumsum_
TENSOR_METHODS["cumprod_"] = _cumprod_
