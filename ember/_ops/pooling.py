"""Pooling: max_pool2d / avg_pool2d (1-d through 2-d, as torch does), adaptive pools.

Regular pools loop over the *kernel offsets*: each offset is one strided slice of the
(padded) input covering every output pixel at once, so there is no Python loop over batch
elements or output pixels. Each primitive's backward is another primitive (its adjoint), so
gradients are differentiable again.

Adaptive average pooling (and interpolation, in ``resize.py``) is separable: one small
averaging matrix per spatial dim, applied with a GEMM (``SeparableMap``).
"""
from __future__ import annotations

import itertools
import math
import numbers

from .._backend import parallel, pool, xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import SAME_SIZE_INT, select_bits
from .nn_ops import adjoint_pair, select_grad

_wrap = Tensor._wrap


class PoolGeom:
    __slots__ = ("kernel", "stride", "dilation", "pad", "pad_r", "in_sp", "out_sp")

    def __init__(self, kernel, stride, dilation, pad, pad_r, in_sp, out_sp):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.pad, self.pad_r, self.in_sp, self.out_sp = pad, pad_r, in_sp, out_sp

    def padded(self):
        return tuple(s + a + b for s, a, b in zip(self.in_sp, self.pad, self.pad_r))

    def offsets(self):
        """(flat offset index, slices into the padded input) for every kernel offset."""
        for n, k in enumerate(itertools.product(*(range(v) for v in self.kernel))):
            yield n, tuple(slice(k[i] * self.dilation[i],
                                 k[i] * self.dilation[i] + self.stride[i] * (self.out_sp[i] - 1)
                                 + 1, self.stride[i]) for i in range(2))

    def crop(self):
        return (Ellipsis,) + tuple(slice(p, p + s) for p, s in zip(self.pad, self.in_sp))


def _padded(x, geom: PoolGeom, fill):
    if not any(geom.pad) and not any(geom.pad_r):
        return x
    out = xp.full(x.shape[:-2] + geom.padded(), fill, dtype=x.dtype)
    out[geom.crop()] = x
    return out


def _scatter_offsets(g, sel, geom: PoolGeom):
    """Adjoint of reading the padded input at every kernel offset: out[offset k] += sel(k)."""
    out = xp.zeros(g.shape[:-2] + geom.padded(), dtype=g.dtype)
    for n, sl in geom.offsets():
        out[(Ellipsis,) + sl] += sel(n)
    return out[geom.crop()]


def _low_fill(dtype):
    return -xp.inf if dtype.kind in "fc" else xp.iinfo(dtype).min


# ---------------------------------------------------------------------------------------
# max_pool2d
# ---------------------------------------------------------------------------------------
class MaxPool2d(Primitive):
    n_outputs = 2
    nondiff_outputs = (1,)

    def forward(self, x, geom, want_indices):
        self.geom, self.in_shape = geom, x.shape
        tiles = _tiles(geom)
        if not self.requires_grad and not want_indices and x.dtype.kind == "f":
            # no graph and no indices: only the maxima. np.maximum propagates NaN, but not
            # torch's choice of NaN (the window's last), so a NaN result is redone.
            xpad = _padded(x, geom, _low_fill(x.dtype))
            if tiles and x.nbytes <= _PLANES_MAX_BYTES:
                views = list(_window_planes(x, geom))
            else:
                views = [xpad[(Ellipsis,) + sl] for _, sl in geom.offsets()]
            best = pool.empty(views[0].shape, x.dtype)
            xp.copyto(best, views[0])
            for v in views[1:]:
                _keep_first_max(best, v)
            if xp.isnan(best).any():
                best = _max_offsets(xpad, geom, nan_aware=True)[0]
            self.arg = None
            return best, xp.zeros((0,), dtype=xp.int64)
        best = None
        if tiles:
            best, arg = _max_tiles(x, geom)
        if best is None or (x.dtype.kind in "fc" and xp.isnan(best).any()):
            xpad = _padded(x, geom, _low_fill(x.dtype))
            best, arg = _max_offsets(xpad, geom, nan_aware=False)
            if x.dtype.kind in "fc" and xp.isnan(best).any():
                best, arg = _max_offsets(xpad, geom, nan_aware=True)
        self.arg = arg
        idx = _flat_indices(arg, geom) if want_indices else xp.zeros((0,), dtype=xp.int64)
        return best, idx

    def backward(self, g, _gi=None):
        if STATE.enabled:
            return _MaxScatter.apply(g, arg=self.arg, geom=self.geom)
        return _wrap(_max_scatter_np(g._data, self.arg, self.geom))

    def _release(self):
        super()._release()
        self.arg = None

    def name(self):
        return "MaxPool2DWithIndicesBackward0"


def _max_offsets(xpad, geom: PoolGeom, nan_aware: bool):
    """Running max over the kernel offsets and the (first) winning offset. With
    ``nan_aware`` a NaN wins and stays, like torch's ``val > max || isnan(val)``."""
    kk = math.prod(geom.kernel)
    best = arg = None
    for n, sl in geom.offsets():
        v = xpad[(Ellipsis,) + sl]
        if best is None:
            best = v.copy()
            arg = xp.zeros(best.shape, dtype=_arg_dtype(kk))
            continue
        m = v > best
        if nan_aware:
            m |= xp.isnan(v)
            xp.copyto(best, v, where=m)
        else:
            _keep_first_max(best, v)
        # offsets come in increasing order, so the winner index only grows:
        # arg += m * (n - arg) records n where m holds (40x faster than a masked copyto)
        arg += m * (arg.dtype.type(n) - arg)
    return best, arg


def _tiles(geom: PoolGeom) -> bool:
    """The windows tile the input from its top-left corner (stride == kernel, no padding,
    dilation 1; a ragged bottom/right edge is left out, as torch floors): every input
    element is in at most one window, so the backward writes each one once."""
    return (geom.stride == geom.kernel and geom.dilation == (1, 1) and not any(geom.pad)
            and not any(geom.pad_r))


# Above this input size the planes would be fresh memory (beyond glibc's 32 MB mmap
# threshold) that page-faults in on every call: inference at batch 1000 (147 MB input)
# measured 41 ms with planes against 31 ms reading the strided views directly.
_PLANES_MAX_BYTES = 32 << 20


def _window_planes(x, geom: PoolGeom):
    """One contiguous plane per kernel offset, (kh*kw, ..., oh, ow). Strided NumPy ufuncs
    run ~7x slower than contiguous ones here, so reading each offset once (a copy) and
    comparing contiguous planes beats comparing the strided views directly."""
    planes = xp.empty((math.prod(geom.kernel),) + x.shape[:-2] + geom.out_sp, dtype=x.dtype)
    for n, sl in geom.offsets():
        planes[n] = x[(Ellipsis,) + sl]
    return planes


_TIE_SECOND = {}


def _keep_first_max(best, v):
    """``best = max(best, v)`` in place, keeping ``best`` on ties (torch keeps the first
    maximum: its value is -0.0 for a window [-0.0, 0.0]). Which argument ``np.maximum``
    returns on equal values differs by dtype (float16 vs float32/64), so it is probed."""
    second = _TIE_SECOND.get(best.dtype)
    if second is None:
        a = xp.full(67, -0.0, dtype=best.dtype)
        b = xp.zeros(67, dtype=best.dtype)
        second = _TIE_SECOND[best.dtype] = bool(xp.signbit(xp.maximum(b, a)).all())
    return xp.maximum(v, best, out=best) if second else xp.maximum(best, v, out=best)


def _max_planes(planes, best=None, arg=None):
    """Max over the kernel-offset planes and the first winning offset (NaN-unaware: a NaN
    result is redone by the caller with ``_max_offsets``); mirrors ``_max_offsets``. Into
    ``best``/``arg`` if given."""
    kk = planes.shape[0]
    if best is None:
        best = planes[0].copy()
        arg = xp.zeros(best.shape, dtype=_arg_dtype(kk))
    else:
        best[...] = planes[0]
        arg[...] = 0
    for n in range(1, kk):
        v = planes[n]
        m = xp.greater(v, best)
        _keep_first_max(best, v)
        # offsets only grow, so the last strict improvement is the first maximum
        xp.maximum(arg, xp.multiply(m, arg.dtype.type(n)), out=arg)
    return best, arg


def _arg_dtype(kk):
    return xp.uint8 if kk < 256 else xp.int32


# Pieces of the parallel tiled max-pool: this many input bytes each (fewer NumPy calls beat
# cache-sized pieces: the workers take turns at the GIL between calls)
_PIECE_BYTES = 16 << 20


def _planes_split(x):
    """``x`` as ``(planes, H, W)`` and the planes per piece, if the tiled max-pool should be
    split over ember's workers (contiguous and large), else None."""
    if not x.flags.c_contiguous or x.size < parallel.FLAT_MIN or x.ndim < 3:
        return None
    xr = x.reshape((-1,) + x.shape[-2:])
    return xr, max(1, _PIECE_BYTES // max(1, xr[0].nbytes))


def _max_tiles(x, geom: PoolGeom):
    """``_max_planes(_window_planes(x))``, split by planes over ember's workers for large
    inputs (the same comparisons per element, so the same result)."""
    split = _planes_split(x)
    if split is None:
        return _max_planes(_window_planes(x, geom))
    xr, per = split
    R = xr.shape[0]
    best = pool.empty((R,) + geom.out_sp, x.dtype)
    arg = xp.empty((R,) + geom.out_sp, dtype=_arg_dtype(math.prod(geom.kernel)))

    def piece(lo, hi):
        _max_planes(_window_planes(xr[lo:hi], geom), best[lo:hi], arg[lo:hi])
    parallel.flat(R, piece, per, align=1, split=True)
    lead = x.shape[:-2]
    return best.reshape(lead + geom.out_sp), arg.reshape(lead + geom.out_sp)


def _flat_indices(arg, geom: PoolGeom):
    kw = geom.kernel[1]
    ki, kj = arg // kw, arg % kw
    oh = xp.arange(geom.out_sp[0])[:, None] * geom.stride[0] - geom.pad[0]
    ow = xp.arange(geom.out_sp[1])[None, :] * geom.stride[1] - geom.pad[1]
    h = oh + ki.astype(xp.int64) * geom.dilation[0]
    w = ow + kj.astype(xp.int64) * geom.dilation[1]
    return h * geom.in_sp[1] + w


def _max_scatter_np(g, arg, geom):
    if _tiles(geom) and g.dtype.kind == "f" and g.dtype.itemsize in SAME_SIZE_INT:
        return _scatter_tiles(g, arg, geom)
    return _scatter_offsets(g, lambda n: select_grad(arg == n, g), geom)


def _scatter_tiles(g, arg, geom):
    """Backward of tiling windows: each input element gets ``0.0 + g`` of its window if it
    was the winner (torch accumulates into zeros, so -0.0 becomes +0.0), else +0.0, written
    once per offset (no zero fill, no accumulate), selected on the bits (``select_bits``:
    inf/NaN cannot leak into unselected positions)."""
    ragged = any(o * k != n for o, k, n in zip(geom.out_sp, geom.kernel, geom.in_sp))
    out = (xp.zeros if ragged else pool.empty)(g.shape[:-2] + geom.in_sp, dtype=g.dtype)

    def scatter(g, arg, out):
        g = xp.add(g, 0.0, dtype=g.dtype)
        for n, sl in geom.offsets():
            select_bits(xp.equal(arg, n), g, out=out[(Ellipsis,) + sl])
    split = _planes_split(out) if g.flags.c_contiguous and arg.flags.c_contiguous \
        else None
    if split is None:
        scatter(g, arg, out)
        return out
    outr, per = split
    gr = g.reshape((-1,) + g.shape[-2:])
    argr = arg.reshape(gr.shape)
    parallel.flat(outr.shape[0], lambda lo, hi: scatter(gr[lo:hi], argr[lo:hi], outr[lo:hi]),
                  per, align=1, split=True)
    return out


def _max_gather_np(z, arg, geom):
    zpad = _padded(z, geom, 0)
    out = None
    for n, sl in geom.offsets():
        v = xp.where(arg == n, zpad[(Ellipsis,) + sl], 0)
        out = v if out is None else out + v
    return out


_MaxScatter, _MaxGather = adjoint_pair(
    "MaxPoolScatter", _max_scatter_np, "MaxPool2DWithIndicesBackwardBackward0",
    "MaxPoolGather", _max_gather_np, "MaxPool2DWithIndicesBackward0")


# ---------------------------------------------------------------------------------------
# avg_pool2d
# ---------------------------------------------------------------------------------------
def _avg_divisor(geom: PoolGeom, count_include_pad, divisor_override, dtype):
    if divisor_override:
        return dtype.type(divisor_override)
    per_dim = []
    for i in range(2):
        start = xp.arange(geom.out_sp[i]) * geom.stride[i] - geom.pad[i]
        end = xp.minimum(start + geom.kernel[i], geom.in_sp[i] + geom.pad[i])
        size = end - start
        if not count_include_pad:
            size = xp.minimum(end, geom.in_sp[i]) - xp.maximum(start, 0)
        per_dim.append(size)
    return (per_dim[0][:, None] * per_dim[1][None, :]).astype(dtype)


def _avg_pool_np(x, geom, div):
    xpad = _padded(x, geom, 0)
    out = None
    for n, sl in geom.offsets():
        v = xpad[(Ellipsis,) + sl]
        if out is None:
            out = v + 0.0          # torch sums from +0.0: a window of -0.0 averages to +0.0
        else:
            out += v
    out /= div
    return out


def _avg_scatter_np(g, geom, div):
    gd = g / div
    return _scatter_offsets(gd, lambda n: gd, geom)


AvgPool2d, _AvgScatter = adjoint_pair("AvgPool2d", _avg_pool_np, "AvgPool2DBackward0",
                                      "AvgPoolScatter", _avg_scatter_np,
                                      "AvgPool2DBackwardBackward0")


# ---------------------------------------------------------------------------------------
# Separable linear maps (adaptive average pooling, interpolation)
# ---------------------------------------------------------------------------------------
def _apply_map(x, axis, M):
    if axis == x.ndim - 1:
        return x @ M.T
    y = xp.tensordot(M, x, axes=([1], [axis]))
    return xp.ascontiguousarray(xp.moveaxis(y, 0, axis))


def _apply_taps(x, axis, taps, transpose, n_in):
    """The map as torch applies it, tap by tap: ``out[o] = sum_k w[o, k] x[idx[o, k]]`` over
    the valid taps, or for windows (``count`` given) their sum from +0.0 over ``count``
    (``transpose``: the scatter-add adjoint into ``n_in`` positions). Used for
    inputs with inf/NaN, which a GEMM with the dense map would spread to every output (its
    zero entries give 0 * inf = NaN); torch's kernels only touch each output's own taps."""
    tidx, tw, tvalid, count = taps
    xm = xp.moveaxis(x, axis, -1)
    w = tw.astype(x.dtype, copy=False)
    if not transpose:
        # weighted taps (interpolation), or windows summed from +0.0 and divided by count
        terms = xm[..., tidx] * w if count is None else xm[..., tidx]   # (..., n_out, K)
        if not tvalid.all():
            terms = xp.where(tvalid, terms, 0)
        out = terms[..., 0] if count is None else terms[..., 0] + 0.0
        for k in range(1, terms.shape[-1]):
            out = out + terms[..., k]
        if count is not None:
            out = out / count.astype(x.dtype)
        return xp.ascontiguousarray(xp.moveaxis(out, -1, axis))
    terms = xm[..., :, None] * w                       # (..., n_out, K)
    if not tvalid.all():
        terms = xp.where(tvalid, terms, 0)
    lead = xm.shape[:-1]
    res = xp.zeros((n_in,) + lead, dtype=x.dtype)
    xp.add.at(res, tidx.reshape(-1), xp.moveaxis(terms.reshape(lead + (-1,)), -1, 0))
    return xp.ascontiguousarray(xp.moveaxis(res, 0, axis))


def window_taps(n_in: int, n_out: int):
    """Taps ``(idx, weight, valid, count)`` of the adaptive-average windows (see
    _apply_taps): the forward sums a window from +0.0 and divides by its count, as torch."""
    o = xp.arange(n_out)
    start = (o * n_in) // n_out
    end = ((o + 1) * n_in + n_out - 1) // n_out
    k = xp.arange(int((end - start).max()))
    valid = k[None, :] < (end - start)[:, None]
    idx = xp.minimum(start[:, None] + k[None, :], end[:, None] - 1)
    w = xp.broadcast_to(1.0 / (end - start)[:, None], idx.shape)   # for the adjoint
    return idx, w, valid, end - start


class SeparableMap(Primitive):
    """Apply ``M_d`` (out_d x in_d) along each listed axis; ``transpose`` applies ``M_d.T``.
    Entries are ``(axis, M, idx[, taps])``; ``idx`` (nearest modes) gathers exactly instead;
    ``taps`` (see ``_apply_taps``) replace the GEMM when the array holds inf/NaN."""

    def forward(self, x, maps, transpose, grad_name):
        self.maps, self.transpose, self.grad_name = maps, transpose, grad_name
        exact = x.dtype.kind == "f" and not bool(xp.isfinite(x).all())
        for axis, M, idx, *taps in maps:
            if exact and taps and (transpose or idx is None):
                x = _apply_taps(x, axis, taps[0], transpose, M.shape[1])
            elif transpose:
                x = _apply_map(x, axis, M.T.astype(x.dtype, copy=False))
            elif idx is not None:
                x = xp.take(x, idx, axis=axis)
            else:
                x = _apply_map(x, axis, M.astype(x.dtype, copy=False))
        return x

    def backward(self, g):
        return SeparableMap.apply(g, maps=self.maps, transpose=not self.transpose,
                                  grad_name=self.grad_name)

    def name(self):
        return self.grad_name + ("BackwardBackward0" if self.transpose else "Backward0")


def adaptive_avg_matrix(n_in: int, n_out: int):
    o = xp.arange(n_out)
    start = (o * n_in) // n_out
    end = ((o + 1) * n_in + n_out - 1) // n_out
    i = xp.arange(n_in)
    inside = (i[None, :] >= start[:, None]) & (i[None, :] < end[:, None])
    return inside / (end - start)[:, None]


# ---------------------------------------------------------------------------------------
# Adaptive max pooling: gather each (variable-size) window, padded by repeating its last
# element, then an argmax; backward scatters through flat indices.
# ---------------------------------------------------------------------------------------
def _adaptive_index(n_in: int, n_out: int):
    o = xp.arange(n_out)
    start = (o * n_in) // n_out
    end = ((o + 1) * n_in + n_out - 1) // n_out
    kmax = int((end - start).max())
    return xp.minimum(start[:, None] + xp.arange(kmax)[None, :], end[:, None] - 1)


class AdaptiveMaxPool2d(Primitive):
    n_outputs = 2
    nondiff_outputs = (1,)

    def forward(self, x, out_sp):
        H, W = x.shape[-2:]
        ih = _adaptive_index(H, out_sp[0])
        iw = _adaptive_index(W, out_sp[1])
        win = x[..., ih[:, :, None, None], iw[None, None, :, :]]    # (..., OH, kh, OW, kw)
        nd = win.ndim
        win = xp.moveaxis(win, nd - 3, nd - 2)                      # (..., OH, OW, kh, kw)
        flat = win.reshape(win.shape[:-2] + (-1,))
        a = xp.argmax(flat, axis=-1)
        out = xp.take_along_axis(flat, a[..., None], axis=-1)[..., 0]
        kw = iw.shape[1]
        rows = ih[xp.arange(ih.shape[0])[:, None], a // kw]
        cols = iw[xp.arange(iw.shape[0])[None, :], a % kw]
        idx = rows * W + cols
        self.idx, self.in_shape = idx, x.shape
        return out, idx.astype(xp.int64, copy=False)

    def backward(self, g, _gi=None):
        return _FlatScatter.apply(g, idx=self.idx, in_shape=self.in_shape)

    def name(self):
        return "AdaptiveMaxPool2DBackward0"


def _flat_scatter_np(g, idx, in_shape):
    HW = in_shape[-1] * in_shape[-2]
    B = math.prod(in_shape[:-2])
    base = (xp.arange(B) * HW).reshape(idx.shape[:-2] + (1, 1)) if B else 0
    out = xp.bincount((idx + base).reshape(-1), weights=g.reshape(-1), minlength=B * HW)
    return out.astype(g.dtype, copy=False).reshape(in_shape)


def _flat_gather_np(z, idx, in_shape):
    flat = z.reshape(z.shape[:-2] + (-1,))
    return xp.take_along_axis(flat, idx.reshape(idx.shape[:-2] + (-1,)), axis=-1).reshape(
        idx.shape)


_FlatScatter, _FlatGather = adjoint_pair(
    "FlatScatter", _flat_scatter_np, "AdaptiveMaxPool2DBackwardBackward0",
    "FlatGather", _flat_gather_np, "AdaptiveMaxPool2DBackward0")


# ---------------------------------------------------------------------------------------
# Tensor-level functions
# ---------------------------------------------------------------------------------------
def _pair(v, name):
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    t = tuple(int(a) for a in v)
    if len(t) == 1:
        return t * 2
    if len(t) != 2:
        raise RuntimeError(f"max_pool2d: {name} must either be a single int, or a tuple of two "
                           "ints")
    return t


def _out_size(n, k, p, s, d, ceil_mode):
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_geom(x, kernel_size, stride, padding, dilation, ceil_mode):
    if x.dim() not in (3, 4) or any(s == 0 for s in x.shape[1:]):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0) \
        else _pair(stride, "stride")
    p = _pair(padding, "padding")
    d = _pair(dilation, "dilation")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: "
                           f"{k[1]}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[1]}")
    for pp, kk, dd in zip(p, k, d):
        if pp < 0 or pp > kk // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    H, W = x.shape[-2:]
    out = tuple(_out_size(n, kk, pp, ss, dd, ceil_mode)
                for n, kk, pp, ss, dd in zip((H, W), k, p, s, d))
    if any(o < 1 for o in out):
        C = x.shape[-3]
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                           f"({C}x{out[0]}x{out[1]}). Output size is too small")
    pad_r = tuple(max(0, (o - 1) * ss + dd * (kk - 1) + 1 - n - pp)
                  for o, ss, dd, kk, n, pp in zip(out, s, d, k, (H, W), p))
    return PoolGeom(k, s, d, p, pad_r, (H, W), out)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    geom = _pool_geom(input, kernel_size, stride, padding, dilation, ceil_mode)
    out, idx = MaxPool2d.apply(input, geom=geom, want_indices=return_indices)
    return (out, idx) if return_indices else out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    if input.dtype.is_floating_point is False:
        raise RuntimeError(f'"avg_pool2d" not implemented for '
                           f"'{input.dtype.name.capitalize()}'")
    geom = _pool_geom(input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    div = _avg_divisor(geom, count_include_pad, divisor_override, input._data.dtype)
    return AvgPool2d.apply(input, geom=geom, div=div)


def _adaptive_sizes(input, output_size, nd, name):
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(input.shape)}")
    for i in range(1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    if isinstance(output_size, numbers.Integral):
        output_size = (output_size,) * nd
    out = tuple(input.shape[-nd + i] if o is None else int(o) for i, o in enumerate(output_size))
    if len(out) != nd:
        raise RuntimeError(f"{name}: output_size must be {nd}")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    out = _adaptive_sizes(input, output_size, 2, "adaptive_avg_pool2d")
    if out == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    H, W = input.shape[-2:]
    nd = input.dim()
    maps = []
    if out[0] != H:
        maps.append((nd - 2, adaptive_avg_matrix(H, out[0]), None, window_taps(H, out[0])))
    if out[1] != W:
        maps.append((nd - 1, adaptive_avg_matrix(W, out[1]), None, window_taps(W, out[1])))
    if not maps:
        maps.append((nd - 1, xp.eye(W), None, window_taps(W, W)))
    return SeparableMap.apply(input, maps=tuple(maps), transpose=False,
                              grad_name="AdaptiveAvgPool2D")


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    out = _adaptive_sizes(input, output_size, 2, "adaptive_max_pool2d")
    res, idx = AdaptiveMaxPool2d.apply(input, out_sp=out)
    return (res, idx) if return_indices else res
