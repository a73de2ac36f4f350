"""Neural-network primitives: linear (one GEMM + bias), activations, softmax/log_softmax,
embedding, pixel shuffle.

Smooth activations keep one derivative formula, written against a small math namespace so
that the same formula runs on NumPy arrays (the fast path, when no graph is being built) and
on Tensors (when ``create_graph=True``, so higher-order gradients are exact). Piecewise
linear activations multiply the gradient by a constant mask, which is exact to any order.
"""
from __future__ import annotations

import math

from .._backend import parallel, xp
from .._backend import dtypes as _dt
from .._tensor import Tensor, _SCALAR_TYPE
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from . import elementwise as _ew
from .special import erf_array
from ._util import SAME_SIZE_INT, select_bits
from .._backend.reduce import (sum_like_torch, torch_sum_outer, LANES as _LANES,
                               GRAIN_SIZE as _GRAIN)

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------------------
# Math namespaces: the same derivative formula on arrays (fast path) or Tensors (graph).
# ---------------------------------------------------------------------------------------
def _softplus_np(x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


class _NP:
    exp = staticmethod(xp.exp)
    tanh = staticmethod(xp.tanh)
    sigmoid = staticmethod(_ew.Sigmoid.fn)
    erf = staticmethod(erf_array)
    softplus = staticmethod(_softplus_np)

    @staticmethod
    def where(c, a, b):
        return xp.where(c, a, b)


class _EM:
    exp = staticmethod(_ew.exp)
    tanh = staticmethod(_ew.tanh)
    sigmoid = staticmethod(_ew.sigmoid)
    erf = staticmethod(_ew.erf)

    @staticmethod
    def softplus(x):
        return _ew.clamp_min(x, 0) + _ew.log1p(_ew.exp(-_ew.abs(x)))

    @staticmethod
    def where(c, a, b):
        return _ew.where(c, a, b)


def scalar_name(dtype) -> str:
    """torch's ScalarType name of an ember dtype (Float, Double, Long...)."""
    return _SCALAR_TYPE.get(dtype.name, dtype.name.capitalize())


def _check_float(x, kernel):
    if x.dtype.kind not in "fc":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{scalar_name(_dt._BY_NP[x.dtype])}'")


# ---------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------
class _Smooth(Primitive):
    """Pointwise ``y = f(x)`` whose derivative ``d(x, M, **p)`` is a formula on namespace M."""
    save_inputs = (0,)
    kernel = ""
    grad_name = ""

    def forward(self, x, **p):
        _check_float(x, self.kernel)
        self.p = p
        with xp.errstate(over="ignore"):      # exp overflow saturates, as in torch
            return self.f(x, **p)

    def backward(self, g):
        x, = self.saved_inputs
        if STATE.enabled:
            return g * self.d(x, _EM, **self.p)
        with xp.errstate(over="ignore", invalid="ignore"):
            return _wrap(g._data * self.d(x._data, _NP, **self.p))

    def name(self):
        return self.grad_name


class Elu(_Smooth):
    kernel, grad_name = "elu", "EluBackward0"

    @staticmethod
    def f(x, alpha, scale, input_scale, celu=False):
        return xp.where(x > 0, x * scale, xp.expm1(x * input_scale) * (alpha * scale))

    @staticmethod
    def d(x, M, alpha, scale, input_scale, celu=False):
        return M.where(x > 0, scale, M.exp(x * input_scale) * (alpha * scale * input_scale))

    def name(self):
        return "CeluBackward0" if self.p.get("celu") else "EluBackward0"


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_C = 0.044715


class Gelu(_Smooth):
    kernel, grad_name = "GeluKernelImpl", "GeluBackward0"

    @staticmethod
    def f(x, approximate):
        if approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x * x * x)))
        return 0.5 * x * (1 + erf_array(x * _SQRT_HALF))

    @staticmethod
    def d(x, M, approximate):
        if approximate == "tanh":
            x2 = x * x
            t = M.tanh(_SQRT_2_OVER_PI * (x + _GELU_C * x2 * x))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_SQRT_2_OVER_PI * (1 + 3 * _GELU_C * x2))
        return 0.5 * (1 + M.erf(x * _SQRT_HALF)) + x * M.exp(-0.5 * x * x) * _INV_SQRT_2PI


class Silu(_Smooth):
    kernel, grad_name = "silu", "SiluBackward0"

    @staticmethod
    def f(x):
        return x * _ew.Sigmoid.fn(x)

    @staticmethod
    def d(x, M):
        s = M.sigmoid(x)
        return s * (1 + x * (1 - s))


class Mish(_Smooth):
    kernel, grad_name = "mish", "MishBackward0"

    @staticmethod
    def f(x):
        return x * xp.tanh(_softplus_np(x))

    @staticmethod
    def d(x, M):
        t = M.tanh(M.softplus(x))
        return t + x * M.sigmoid(x) * (1 - t * t)


class Softplus(_Smooth):
    kernel, grad_name = "softplus", "SoftplusBackward0"

    @staticmethod
    def f(x, beta, threshold):
        z = x * beta
        return xp.where(z > threshold, x, _softplus_np(z) / beta)

    @staticmethod
    def d(x, M, beta, threshold):
        z = x * beta
        return M.where(z > threshold, 1.0, M.sigmoid(z))


class LogSigmoid(_Smooth):
    kernel, grad_name = "log_sigmoid", "LogSigmoidBackward0"

    @staticmethod
    def f(x):
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    @staticmethod
    def d(x, M):
        return M.sigmoid(-x)


class Hardswish(_Smooth):
    """Backward as torch's vectorized kernel: +0.0 for ``x <= -3`` (a select, whatever the
    sign of the incoming gradient), ``g`` for ``x >= 3``, else ``g * (x / 3 + 0.5)`` (so a
    NaN input gives NaN; torch's scalar tail loop, used for the last few elements of a
    tensor, passes ``g`` there instead)."""
    kernel, grad_name = "hardswish", "HardswishBackward0"

    @staticmethod
    def f(x):
        return x * xp.clip(x + 3, 0, 6) / 6

    @staticmethod
    def d(x, M):
        return M.where(x >= 3, 1.0, x / 3 + 0.5)

    def backward(self, g):
        x, = self.saved_inputs
        low = x.dtype.itemsize < 4        # half types compute in float32, as torch's kernel
        if STATE.enabled:
            if low:
                gx = (g.float() * self.d(x.float(), _EM)).to(g.dtype)
            else:
                gx = g * self.d(x, _EM)
            return _ew.where(x <= -3, 0.0, gx)
        xd, gd = x._data, g._data
        with xp.errstate(over="ignore", invalid="ignore"):
            if low:
                gx = (gd.astype(xp.float32) * self.d(xd.astype(xp.float32), _NP)).astype(gd.dtype)
            else:
                gx = gd * self.d(xd, _NP)
            return _wrap(select_grad(~(xd <= -3), gx))


def select_grad(mask, g):
    """``g`` where ``mask`` else +0.0, as torch's backward kernels do (a select: an inf/NaN
    in ``g`` outside the mask does not leak, and a negative ``g`` outside it gives +0.0, not
    the -0.0 of ``g * 0``). Real floats go through the bit-level select (``select_bits``,
    ~10x faster than ``where``)."""
    if g.dtype.kind == "f" and g.dtype.itemsize in SAME_SIZE_INT:
        return select_bits(mask, g)
    return xp.where(mask, g, 0).astype(g.dtype, copy=False)


class _Masked(Primitive):
    """Piecewise-linear activation: backward is the gradient times a constant mask."""
    kernel = ""
    grad_name = ""

    def forward(self, x, **p):
        _check_float(x, self.kernel)
        y, mask = self.f(x, **p)
        if self.requires_grad:
            self.mask = mask
        return y

    def backward(self, g):
        m = self.mask
        if m.dtype == xp.bool_:
            if STATE.enabled:
                return _ew.where(_wrap(m), g, 0.0)
            return _wrap(select_grad(m, g._data))
        return g * _wrap(m.astype(g._data.dtype, copy=False))

    def _release(self):
        super()._release()
        self.mask = None

    def name(self):
        return self.grad_name


class LeakyRelu(_Masked):
    kernel, grad_name = "leaky_relu", "LeakyReluBackward0"

    @staticmethod
    def f(x, slope):
        pos = x > 0
        return xp.where(pos, x, x * slope), xp.where(pos, 1, slope).astype(x.dtype)


class Hardtanh(_Masked):
    kernel, grad_name = "hardtanh", "HardtanhBackward0"

    @staticmethod
    def f(x, lo, hi):
        return xp.clip(x, lo, hi).astype(x.dtype, copy=False), (x > lo) & (x < hi)


class Threshold(_Masked):
    kernel, grad_name = "threshold", "ThresholdBackward0"

    @staticmethod
    def f(x, threshold, value):
        keep = x > threshold
        return xp.where(keep, x, value).astype(x.dtype, copy=False), keep


class Hardsigmoid(_Masked):
    """Backward ``g * (1/6)`` inside (-3, 3), +0.0 outside (torch's select). As in torch,
    1/6 is the float32 constant for every dtype, and half types multiply in float32."""
    kernel, grad_name = "hardsigmoid", "HardsigmoidBackward0"

    @staticmethod
    def f(x):
        return (xp.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False), (x > -3) & (x < 3)

    def backward(self, g):
        gd = g._data
        sixth = xp.float32(1 / 6)
        if STATE.enabled:
            scaled = g * float(sixth) if gd.dtype.itemsize >= 4 else \
                (g.float() * float(sixth)).to(g.dtype)
            return _ew.where(_wrap(self.mask), scaled, 0.0)
        if gd.dtype.itemsize < 4:
            scaled = (gd.astype(xp.float32) * sixth).astype(gd.dtype)
        else:
            scaled = gd * gd.dtype.type(sixth)
        return _wrap(select_grad(self.mask, scaled))


class Hardshrink(_Masked):
    kernel, grad_name = "hardshrink_cpu", "HardshrinkBackward0"

    @staticmethod
    def f(x, lambd):
        keep = (x > lambd) | (x < -lambd)
        return xp.where(keep, x, 0).astype(x.dtype, copy=False), keep


class Softshrink(_Masked):
    kernel, grad_name = "softshrink_cpu", "SoftshrinkBackward0"

    @staticmethod
    def f(x, lambd):
        keep = (x > lambd) | (x < -lambd)
        out = xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, 0))
        return out.astype(x.dtype, copy=False), keep


class Prelu(Primitive):
    """PReLU; ``wb_shape`` is the weight's shape broadcast against the input's channel dim."""
    save_inputs = (0, 1)

    def forward(self, x, w, wb_shape):
        _check_float(x, "prelu")
        self.w_shape, self.wb_shape = w.shape, wb_shape
        return xp.where(x > 0, x, x * w.reshape(wb_shape))

    def backward(self, g):
        x, w = self.saved_inputs
        pos = _wrap(x._data > 0)
        gx = gw = None
        if self.next_functions[0][0] is not None:
            gx = _ew.where(pos, g, g * w.reshape(self.wb_shape))
        if self.next_functions[1][0] is not None:
            from ._util import sum_to
            gw = sum_to(_ew.where(pos, 0.0, g * x), self.wb_shape).reshape(self.w_shape)
        return gx, gw

    def name(self):
        return "PreluKernelBackward0"


# ---------------------------------------------------------------------------------------
# Softmax family
# ---------------------------------------------------------------------------------------
class Softmax(Primitive):
    save_output = True

    def forward(self, x, dim):
        _check_float(x, "softmax_kernel_impl")
        self.dim = dim
        if x.size == 0:
            return x.copy()
        e = x - x.max(axis=dim, keepdims=True)
        xp.exp(e, out=e)
        e /= e.sum(axis=dim, keepdims=True)
        return e

    def backward(self, g):
        y = self.saved_output
        d = self.dim
        if STATE.enabled:
            return y * (g - (g * y).sum(d, keepdim=True))
        yd, gd = y._data, g._data
        t = gd * yd
        s = t.sum(axis=d, keepdims=True)
        xp.subtract(gd, s, out=t)
        t *= yd
        return _wrap(t)

    def name(self):
        return "SoftmaxBackward0"


class LogSoftmax(Primitive):
    save_output = True

    def forward(self, x, dim):
        _check_float(x, "log_softmax_kernel_impl")
        self.dim = dim
        if x.size == 0:
            return x.copy()
        s = x - x.max(axis=dim, keepdims=True)
        with xp.errstate(divide="ignore"):
            s -= xp.log(xp.exp(s).sum(axis=dim, keepdims=True))
        return s

    def backward(self, g):
        y = self.saved_output
        d = self.dim
        if STATE.enabled:
            return g - _ew.exp(y) * g.sum(d, keepdim=True)
        e = xp.exp(y._data)
        e *= g._data.sum(axis=d, keepdims=True)
        xp.subtract(g._data, e, out=e)
        return _wrap(e)

    def name(self):
        return "LogSoftmaxBackward0"


def _softmax_like(cls, input, dim, dtype):
    from ._util import wrap_dim
    if dtype is not None:
        input = input.to(dtype)
    dim = wrap_dim(dim, input.dim())
    if input.dim() == 0:
        return cls.apply(input.reshape(1), dim=0).reshape(())
    return cls.apply(input, dim=dim)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``torch.softmax`` / ``Tensor.softmax``: exp(x) / sum(exp(x)) along ``dim``
    (computed in ``dtype`` when given)."""
    return _softmax_like(Softmax, input, dim, dtype)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``torch.log_softmax`` / ``Tensor.log_softmax``."""
    return _softmax_like(LogSoftmax, input, dim, dtype)


__all__ = ["softmax", "log_softmax"]
TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}


# ---------------------------------------------------------------------------------------
# Linear: one GEMM plus bias
# ---------------------------------------------------------------------------------------
_SEQ_LIMIT = 1 << 22


def _gemm(a, b, small_out_sequential=False):
    """``a @ b`` for 2-D arrays. Tiny problems are summed sequentially over K, which is what
    torch's CPU kernels do there, so tutorial-sized models (``Linear(1, 1)``) give
    bit-identical float32 results; everything else goes to BLAS. ``small_out_sequential``
    also covers outputs with a side <= 3 (torch's transposed-A kernel, i.e. weight grads)."""
    m, k = a.shape
    n = b.shape[1]
    if 0 < k <= 3:
        out = a[:, 0:1] * b[0:1, :]
        for i in range(1, k):
            out += a[:, i:i + 1] * b[i:i + 1, :]
        return out
    if small_out_sequential and 0 < min(m, n) <= 3 and m * n * k <= _SEQ_LIMIT:
        # numpy reduces a leading axis row by row, i.e. sequentially
        return xp.add.reduce(a.T[:, :, None] * b[:, None, :], axis=0)
    return parallel.gemm(a, b)


class Linear(Primitive):
    """``y = x @ w.T + b`` for x of any rank >= 1 (leading dims are flattened into one GEMM)."""
    save_inputs = (0, 1)

    def forward(self, x, w, b=None):
        self.x_shape = x.shape
        self.has_bias = b is not None
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = _gemm(x2, w.T)
        if b is not None:
            out += b
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        x, w = self.saved_inputs
        # all inputs are Tensors, so _edges lines up with next_functions (and is cheaper)
        edges = self._edges
        need_x = edges[0][0] is not None
        need_w = edges[1][0] is not None
        need_b = self.has_bias and edges[2][0] is not None
        xs = self.x_shape
        if STATE.enabled:
            g2 = g.reshape(-1, g.shape[-1])
            gx = (g2 @ w).reshape(xs) if need_x else None
            gw = g2.t() @ x.reshape(-1, xs[-1]) if need_w else None
            gb = g2.sum(0) if need_b else None
        else:
            gd = g._data
            g2 = gd.reshape(-1, gd.shape[-1])
            gx = _wrap(_gemm(g2, w._data).reshape(xs)) if need_x else None
            gw = _wrap(_gemm(g2.T, x._data.reshape(-1, xs[-1]), True)) if need_w else None
            gb = _wrap(_sum0(g2)) if need_b else None
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    def name(self):
        if len(self.x_shape) == 2:
            return "AddmmBackward0" if self.has_bias else "MmBackward0"
        return "ViewBackward0" if self.has_bias else "UnsafeViewBackward0"


def _sum0(a):
    """Bias gradient: the column sums of a 2-D ``a`` in torch's order where reproduced."""
    m, n = a.shape
    if m > 1 and n > 1 and a.dtype in _LANES and m * n <= _GRAIN and a.flags.c_contiguous:
        return torch_sum_outer(a)       # what sum_like_torch does here, minus its dispatch
    r = sum_like_torch(a, (0,), False) if a.dtype.kind == "f" else None
    return r if r is not None else a.sum(axis=0)


# ---------------------------------------------------------------------------------------
# Embedding
# ---------------------------------------------------------------------------------------
_MAX_RANK_PASSES = 16


def _add_rows_in_order(V, idx, rows):
    """``out = zeros((V, D)); out[idx[k]] += rows[k]`` for k in order: each output row sums
    its rows in the order they occur, as ``np.add.at`` and torch's embedding backward do
    (so the result is bit-identical to both). ``np.add.at`` runs ~1 ms for a 1120-token
    batch of 128-wide rows; here the k-th occurrences of all indices are added in one
    fancy-indexed pass (no index repeats within a pass), one pass per occurrence rank:
    ~0.3 ms. Indices that repeat more than ``_MAX_RANK_PASSES`` times (a small vocabulary)
    go to ``np.add.at``, as do batches of at most 64 rows."""
    out = xp.zeros((V,) + rows.shape[1:], dtype=rows.dtype)
    n = idx.size
    if n <= 64:                    # too few rows for the sort to pay off
        xp.add.at(out, idx, rows)
        return out
    order = xp.argsort(idx, kind="stable")           # equal indices keep their order
    s = idx[order]
    first = xp.empty(n, dtype=bool)
    first[0] = True
    xp.not_equal(s[1:], s[:-1], out=first[1:])
    starts = xp.flatnonzero(first)
    rank = xp.arange(n) - xp.repeat(starts, xp.diff(xp.append(starts, n)))
    passes = int(rank.max()) + 1
    if passes > _MAX_RANK_PASSES:
        xp.add.at(out, idx, rows)
        return out
    for r in range(passes):
        sel = order[rank == r]
        out[idx[sel]] += rows[sel]
    return out


class Embedding(Primitive):
    """Row lookup ``weight[idx]``; the weight gradient accumulates rows (dense)."""

    def forward(self, w, idx, padding_idx, scale_grad_by_freq):
        self.idx, self.padding_idx, self.scale = idx, padding_idx, scale_grad_by_freq
        self.wshape = w.shape
        return w[idx]

    def backward(self, g):
        V, D = self.wshape
        flat = self.idx.reshape(-1)
        keep = None if self.padding_idx is None or self.padding_idx < 0 else \
            flat != self.padding_idx
        scale = None
        if self.scale:
            counts = xp.bincount(flat, minlength=V)
            scale = (1.0 / counts[flat]).astype(g._data.dtype)
        if STATE.enabled:
            g2 = g.reshape(-1, D)
            if scale is not None:
                g2 = g2 * _wrap(scale[:, None])
            if keep is not None:
                g2 = g2 * _wrap(keep[:, None].astype(g._data.dtype))
            from .creation import zeros
            from .indexing import index_add
            return index_add(zeros(V, D, dtype=g.dtype), 0, _wrap(flat), g2)
        g2 = g._data.reshape(-1, D)
        if scale is not None:
            g2 = g2 * scale[:, None]
        if keep is not None:
            flat, g2 = flat[keep], g2[keep]
        return _wrap(_add_rows_in_order(V, flat, g2))

    def _release(self):
        super()._release()
        self.idx = None

    def name(self):
        return "EmbeddingBackward0"


# ---------------------------------------------------------------------------------------
# Linear maps in adjoint pairs
# ---------------------------------------------------------------------------------------
def adjoint_pair(name_a, fn_a, grad_a, name_b, fn_b, grad_b):
    """Two primitives for a linear map ``fn_a(x, **params)`` and its adjoint (transpose)
    ``fn_b``: each one's backward applies the other with the same params, so gradients are
    differentiable to any order. ``grad_a``/``grad_b`` are grad_fn names, or callables of
    the params giving them."""
    def make(name, fn, grad):
        def forward(self, x, **params):
            self.params = params
            return fn(x, **params)

        def backward(self, g):
            return other[name].apply(g, **self.params)

        def grad_name(self):
            return grad(self.params) if callable(grad) else grad
        return type(name, (Primitive,), {"forward": forward, "backward": backward,
                                         "name": grad_name, "__module__": __name__})
    a, b = make(name_a, fn_a, grad_a), make(name_b, fn_b, grad_b)
    other = {name_a: b, name_b: a}
    return a, b


# ---------------------------------------------------------------------------------------
# Pixel shuffle
# ---------------------------------------------------------------------------------------
def _pixel_shuffle_np(x, r):
    *lead, C, H, W = x.shape
    oc = C // (r * r)
    y = x.reshape(tuple(lead) + (oc, r, r, H, W))
    n = len(lead)
    perm = tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2)
    return y.transpose(perm).reshape(tuple(lead) + (oc, H * r, W * r))


def _pixel_unshuffle_np(x, r):
    *lead, C, H, W = x.shape
    oh, ow = H // r, W // r
    y = x.reshape(tuple(lead) + (C, oh, r, ow, r))
    n = len(lead)
    perm = tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3)
    return y.transpose(perm).reshape(tuple(lead) + (C * r * r, oh, ow))


PixelShuffle, PixelUnshuffle = adjoint_pair(
    "PixelShuffle", _pixel_shuffle_np, "PixelShuffleBackward0",
    "PixelUnshuffle", _pixel_unshuffle_np, "PixelUnshuffleBackward0")
