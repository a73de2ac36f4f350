"""Convolution as GEMM: conv / conv_transpose (1-, 2- and 3-d), unfold (im2col), fold (col2im).

Forward: the (padded) input is viewed through ``as_strided`` as ``(N, C, *K, *O)`` windows,
laid out as ``col = (groups, C/g * prod(K), N * prod(O))`` (the one copy), and multiplied by
the weight in one GEMM per group. Backward: the weight gradient is one GEMM against ``col``,
the input gradient one GEMM followed by col2im, a loop over the *kernel offsets* (not over
pixels or batch elements) that adds strided slices.

Three primitives are mutually adjoint, so every gradient is itself differentiable:
``ConvNd`` (y = conv(x, w)), ``ConvTransposeNd`` (its input-gradient, i.e. the transposed
convolution) and ``ConvWeight`` (its weight-gradient).
"""
from __future__ import annotations

import itertools
import math
import numbers

from .._backend import parallel, pool, xp
from .._backend.blas import transpose_copy
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from .nn_ops import adjoint_pair

_wrap = Tensor._wrap
_as_strided = xp.lib.stride_tricks.as_strided

# Keep the im2col matrix for backward when it is at most this large; otherwise rebuild it
# from the saved input (one extra copy) instead of holding it for the whole step.
_COL_CACHE_BYTES = 64 << 20


class Geom:
    """Geometry of one convolution: x (N, C, *in_sp) -> y (N, O, *out_sp).

    ``batch_last`` picks the column layout: ``(.., prod(O), N)`` (batch innermost) when the
    output rows are short and the batch is large, else ``(.., N, prod(O))``. The strided
    copies of im2col/col2im then always move long contiguous runs; measured 1.5-3x faster
    for the small late layers of a CNN, slower for large images."""
    __slots__ = ("nd", "kernel", "stride", "dilation", "pad_l", "pad_r", "groups", "in_sp",
                 "out_sp", "batch_last")

    def __init__(self, kernel, stride, dilation, pad_l, pad_r, groups, in_sp, out_sp,
                 batch=1):
        self.nd = len(kernel)
        self.kernel, self.stride, self.dilation = tuple(kernel), tuple(stride), tuple(dilation)
        self.pad_l, self.pad_r, self.groups = tuple(pad_l), tuple(pad_r), groups
        self.in_sp, self.out_sp = tuple(in_sp), tuple(out_sp)
        self.batch_last = batch >= 16 and self.out_sp[-1] <= 8

    @property
    def padded(self):
        return tuple(s + a + b for s, a, b in zip(self.in_sp, self.pad_l, self.pad_r))


def _pad(x, geom: Geom):
    if not any(geom.pad_l) and not any(geom.pad_r):
        return x
    out = xp.zeros(x.shape[:2] + geom.padded, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(
        slice(a, a + s) for a, s in zip(geom.pad_l, geom.in_sp))] = x
    return out


def _to_batch_last(a):
    """``a (N, *rest)`` as a C-contiguous ``(*rest, N)`` copy: one blocked transposing copy
    of the ``(N, prod(rest))`` matrix (3-5x faster than NumPy's strided copy)."""
    N = a.shape[0]
    rest = a.shape[1:]
    t = transpose_copy(xp.ascontiguousarray(a).reshape(N, -1))
    return t.reshape(rest + (N,))


def _from_batch_last(a):
    """``a (*rest, N)`` as a C-contiguous ``(N, *rest)`` copy (see ``_to_batch_last``)."""
    N = a.shape[-1]
    rest = a.shape[:-1]
    t = transpose_copy(xp.ascontiguousarray(a).reshape(-1, N))
    return t.reshape((N,) + rest)


def _pad_batch_last(x, geom: Geom):
    """``x (N, C, *S)`` as a padded ``(C, *S_padded, N)`` copy."""
    t = _to_batch_last(x)
    if not any(geom.pad_l) and not any(geom.pad_r):
        return t
    out = xp.zeros((x.shape[1],) + geom.padded + (x.shape[0],), dtype=x.dtype)
    out[(slice(None),) + tuple(slice(a, a + s) for a, s in zip(geom.pad_l, geom.in_sp))] = t
    return out


def _windows(xpad, geom: Geom, lead=2, trail=0):
    """Read-only view ``lead + K + O + trail`` of all kernel windows of ``xpad``
    (laid out ``lead + S_padded + trail``)."""
    st = xpad.strides
    nd = geom.nd
    sp = st[lead:lead + nd]
    shape = xpad.shape[:lead] + geom.kernel + geom.out_sp + xpad.shape[lead + nd:]
    strides = st[:lead] + tuple(sp[i] * geom.dilation[i] for i in range(nd)) + tuple(
        sp[i] * geom.stride[i] for i in range(nd)) + st[lead + nd:]
    return _as_strided(xpad, shape, strides, writeable=False)


def _offset_slices(geom: Geom):
    """For each kernel offset, the strided slices of the padded input it touches."""
    for k in itertools.product(*(range(n) for n in geom.kernel)):
        yield k, tuple(slice(k[i] * geom.dilation[i],
                             k[i] * geom.dilation[i] + geom.stride[i] * (geom.out_sp[i] - 1) + 1,
                             geom.stride[i]) for i in range(geom.nd))


def _col2im(cols, k_axis, lead_shape, geom: Geom, dtype, trail_shape=()):
    """Sum window columns back into an image ``lead + in_sp + trail`` (col2im): the
    kernel-offset dims of ``cols`` start at ``k_axis``; removing them leaves
    ``lead + O + trail``. One strided add per kernel offset."""
    out = xp.zeros(tuple(lead_shape) + geom.padded + tuple(trail_shape), dtype=dtype)
    lead = (slice(None),) * len(lead_shape)
    pre = (slice(None),) * k_axis
    for k, sl in _offset_slices(geom):
        out[lead + sl] += cols[pre + k]
    crop = lead + tuple(slice(a, a + s) for a, s in zip(geom.pad_l, geom.in_sp))
    return out[crop]


def _im2col(x, geom: Geom):
    """The windows of ``x`` as a matrix (a copy). With ``geom.batch_last`` it is one matrix
    ``(G, C/G * prod(K), prod(O) * N)``; otherwise one per sample, ``(N, G, C/G * prod(K),
    prod(O))``, so that batched GEMMs write NCHW outputs directly and backward needs no
    transposed copies of the gradient."""
    N, C = x.shape[:2]
    G = geom.groups
    rows = (C // G) * math.prod(geom.kernel)
    if geom.batch_last:
        v = _windows(_pad_batch_last(x, geom), geom, lead=1, trail=1)
        return v.reshape(G, rows, math.prod(geom.out_sp) * N)
    win = _windows(_pad(x, geom), geom)
    shape = (N, G, rows, math.prod(geom.out_sp))
    if win.size * win.itemsize < pool.MIN_BYTES:
        return win.reshape(shape)
    col = pool.empty(shape, x.dtype)     # above glibc's mmap threshold: reuse, don't re-fault
    col.reshape(win.shape)[...] = win
    return col


def _gmat(g, geom: Geom):
    """Output gradient ``(N, O, *O)`` in the im2col layout: ``(G, O/G, prod(O) * N)`` (batch
    last, a copy) or ``(N, G, O/G, prod(O))`` (a view)."""
    N, O = g.shape[:2]
    G = geom.groups
    L = math.prod(g.shape[2:])
    if geom.batch_last:
        return _to_batch_last(g.reshape(N, O, L)).reshape(G, O // G, L * N)
    return g.reshape(N, G, O // G, L)


def _apply_w(w, col, N, geom: Geom):
    """``w @ col`` -> contiguous ``(N, O, *O)``."""
    G = geom.groups
    O = w.shape[0]
    out = xp.matmul(w.reshape(G, O // G, -1), col)
    if not geom.batch_last:
        return out.reshape((N, O) + geom.out_sp)
    return _from_batch_last(out.reshape((O,) + geom.out_sp + (N,)))


def _conv_forward(x, w, b, geom: Geom):
    """Forward keeping the columns for the weight gradient: ``(out, col)``."""
    if not geom.batch_last and _col_bytes(x, geom) >= _BLOCK_MIN_BYTES:
        return _forward_in_blocks(x, w, b, geom, keep_cols=True)
    col = _im2col(x, geom)
    out = _apply_w(w, col, x.shape[0], geom)
    if b is not None:
        out += b.reshape((-1,) + (1,) * geom.nd)
    return out, col


_BLOCK_BYTES = 8 << 20          # no-grad forward: columns of this many bytes at a time
# Blocks that stay in cache between the GEMM and the copies around it (training forward,
# stride-1 col2im); columns below _BLOCK_MIN_BYTES are made in one go.
_CACHE_BLOCK_BYTES = 2 << 20
_BLOCK_MIN_BYTES = 4 << 20


def _col_bytes(x, geom: Geom) -> int:
    return (x.shape[0] * x.shape[1] * math.prod(geom.kernel) * math.prod(geom.out_sp)
            * x.itemsize)


def _forward_in_blocks(x, w, b, geom: Geom, keep_cols: bool):
    """im2col, GEMM and bias interleaved over blocks of samples, so each GEMM reads columns
    that were just written and the bias is added to outputs still in cache (inference at
    batch 1000: the separate bias pass over both convs' outputs took 16 ms of 241).

    ``keep_cols``: the blocks are slices of one full ``(N, G, C/G * prod(K), prod(O))``
    column matrix, returned for the weight gradient (training; MNIST net's second conv
    10.0 -> 9.1 ms against copying all columns first). Otherwise the columns go through one
    reused ~8 MB buffer and are dropped (inference: at batch 1000 the full matrix is 663 MB
    for that conv, and page-faulting it in dominated). Returns ``(out, col or None)``."""
    N, C = x.shape[:2]
    G = geom.groups
    O = w.shape[0]
    rows = (C // G) * math.prod(geom.kernel)
    L = math.prod(geom.out_sp)
    sample = max(1, rows * G * L * x.itemsize)
    win = _windows(_pad(x, geom), geom)                      # (N, C, *K, *O) view
    per = max(1, (_CACHE_BLOCK_BYTES if keep_cols else _BLOCK_BYTES) // sample)
    col = pool.empty((N, G, rows, L), x.dtype) if keep_cols else None
    wm = w.reshape(G, O // G, rows)
    bias = None if b is None else b.reshape((-1,) + (1,) * geom.nd)
    out = pool.empty((N, O) + geom.out_sp, xp.result_type(x, w))

    def run(lo, hi):
        buf = None if keep_cols else xp.empty((min(per, hi - lo), G, rows, L), dtype=x.dtype)
        for s in range(lo, hi, per):
            e = min(hi, s + per)
            cb = col[s:e] if keep_cols else buf[:e - s]
            cb.reshape(win[s:e].shape)[...] = win[s:e]
            xp.matmul(wm, cb, out=out[s:e].reshape(e - s, G, O // G, L))
            if bias is not None:
                out[s:e] += bias
    parallel.blocks(N, run, N * O * rows * L >= parallel.GEMM_SPLIT_MNK)
    return out, col


def _conv_forward_blocked(x, w, b, geom: Geom):
    """Forward without keeping the columns (no graph, or columns too large to keep)."""
    return _forward_in_blocks(x, w, b, geom, keep_cols=False)[0]


def _conv_input_grad(g, w, geom: Geom, C):
    """Transposed convolution: output gradient ``g (N, O, *O)`` -> ``(N, C, *in_sp)``."""
    G = geom.groups
    O = w.shape[0]
    N = g.shape[0]
    wt = xp.ascontiguousarray(w.reshape(G, O // G, -1).transpose(0, 2, 1))
    if not geom.batch_last and geom.nd == 2 and geom.stride == (1, 1) \
            and geom.dilation == (1, 1):
        return _conv_input_grad_flat(g, wt, geom, C)
    gcol = xp.matmul(wt, _gmat(g, geom))
    if geom.batch_last:
        gcol = gcol.reshape((C,) + geom.kernel + geom.out_sp + (N,))
        return _from_batch_last(_col2im(gcol, 1, (C,), geom, g.dtype, (N,)))
    gcol = gcol.reshape((N, C) + geom.kernel + geom.out_sp)
    return xp.ascontiguousarray(_col2im(gcol, 2, (N, C), geom, g.dtype))


def _conv_input_grad_flat(g, wt, geom: Geom, C):
    """Stride-1 2-D col2im on flattened images. With the gradient's rows widened (zeros) to
    the padded input width ``Wp``, kernel offset ``(i, j)`` adds its whole column block to
    the flat input at ``i * Wp + j``: one long strided add per offset instead of one small
    loop per output row (9x fewer NumPy inner loops of 20x the length for a 3x3 kernel).

    The columns are made and summed a few samples at a time, in one ~2 MB buffer that stays
    in cache between the GEMM that writes it and the adds that read it (MNIST net's second
    conv: 16.5 -> 11.5 ms, against one 42 MB column matrix); so are the widened gradient
    and the cropped result (12.0 -> 11.7 ms). Same adds, same order, so the result is
    identical."""
    N, O, oh, ow = g.shape
    G = geom.groups
    kh, kw = geom.kernel
    Hp, Wp = geom.padded
    rows = wt.shape[1]                                   # C/G * kh * kw
    span = oh * Wp
    dt = xp.result_type(wt, g)
    per = max(1, _CACHE_BLOCK_BYTES // max(1, G * rows * span * dt.itemsize))
    (t, l), (H, W) = geom.pad_l, geom.in_sp
    res = xp.empty((N, C, H, W), dtype=g.dtype)

    def run(lo, hi):
        n0 = min(per, hi - lo)
        buf = xp.empty((n0, G, rows, span), dtype=dt)
        # per block: the gradient widened to Wp (its pad columns are zeroed once and stay
        # zero), the flat image sums, and the cropped result, all in cache
        gwb = xp.zeros((n0, O, oh, Wp), dtype=g.dtype)
        ob_buf = xp.empty((n0, C, Hp * Wp + kw), dtype=g.dtype)
        for s in range(lo, hi, per):
            e = min(hi, s + per)
            gw = gwb[:e - s]
            gw[..., :ow] = g[s:e]
            cb = buf[:e - s]
            xp.matmul(wt, gw.reshape(e - s, G, O // G, span), out=cb)   # (n, G, C/G*kh*kw, span)
            gcol = cb.reshape(e - s, C, kh, kw, span)
            ob = ob_buf[:e - s]
            ob[...] = 0        # (not a copy of the first offset: 0 + -0.0 is +0.0, as torch)
            for i in range(kh):
                for j in range(kw):
                    o = i * Wp + j
                    ob[:, :, o:o + span] += gcol[:, :, i, j]
            res[s:e] = ob[:, :, :Hp * Wp].reshape(e - s, C, Hp, Wp)[:, :, t:t + H, l:l + W]
    parallel.blocks(N, run, N * O * rows * span >= parallel.GEMM_SPLIT_MNK)
    return res


def _conv_weight_grad(col, g, wshape, geom: Geom):
    gm = _gmat(g, geom)
    if geom.batch_last:
        return xp.matmul(gm, col.transpose(0, 2, 1)).reshape(wshape)
    # one GEMM per sample, summed: avoids transposed copies of g and col
    colt = col.transpose(0, 1, 3, 2)
    per_sample = xp.empty(gm.shape[:3] + colt.shape[3:], dtype=xp.result_type(gm, col))

    def run(lo, hi):
        xp.matmul(gm[lo:hi], colt[lo:hi], out=per_sample[lo:hi])
    parallel.blocks(gm.shape[0], run, gm.size * colt.shape[-1] >= parallel.GEMM_SPLIT_MNK)
    return per_sample.sum(axis=0).reshape(wshape)


def _bias_grad_axes(nd):
    return (0,) + tuple(range(2, 2 + nd))


_GEMV_SUM_MIN = 1 << 16


def _bias_grad(gd, nd):
    """Sum of the output gradient over the batch and the spatial dims. Large ones are one
    GEMV against ones for the spatial sums (BLAS's blocked accumulators: the MNIST net's
    (64, 64, 24, 24) gradient 0.40 -> 0.07 ms against NumPy's sum over non-innermost axes),
    then NumPy's sum over the batch."""
    N, O = gd.shape[:2]
    L = gd.size // max(1, N * O)
    if gd.size < _GEMV_SUM_MIN or L < 8 or not gd.flags.c_contiguous:
        return gd.sum(axis=_bias_grad_axes(nd))
    return (gd.reshape(N * O, L) @ xp.ones(L, gd.dtype)).reshape(N, O).sum(axis=0)


class ConvNd(Primitive):
    """y = conv(x, w) + b."""
    save_inputs = (0, 1)

    def forward(self, x, w, b=None, *, geom):
        self.geom, self.has_bias = geom, b is not None
        if not geom.batch_last and (not self.requires_grad or _col_bytes(x, geom) >
                                    _COL_CACHE_BYTES):
            self.col = None
            return _conv_forward_blocked(x, w, b, geom)
        out, col = _conv_forward(x, w, b, geom)
        self.col = col if self.requires_grad and col.nbytes <= _COL_CACHE_BYTES else None
        return out

    def backward(self, g):
        x, w = self.saved_inputs
        geom = self.geom
        need = [n is not None for n, _ in self.next_functions]
        gx = gw = gb = None
        if STATE.enabled:
            if need[0]:
                gx = ConvTransposeNd.apply(g, w, geom=geom, C=x.shape[1])
            if need[1]:
                gw = ConvWeight.apply(x, g, geom=geom, wshape=tuple(w.shape))
            if self.has_bias and need[2]:
                gb = g.sum(_bias_grad_axes(geom.nd))
        else:
            gd = g._data
            if need[0]:
                gx = _wrap(_conv_input_grad(gd, w._data, geom, x._data.shape[1]))
            if need[1]:
                col = self.col if self.col is not None else _im2col(x._data, geom)
                gw = _wrap(_conv_weight_grad(col, gd, w._data.shape, geom))
            if self.has_bias and need[2]:
                gb = _wrap(_bias_grad(gd, geom.nd))
        return (gx, gw, gb) if self.has_bias else (gx, gw)

    def _release(self):
        super()._release()
        self.col = None              # a pooled buffer is free again once nothing holds it

    def name(self):
        return "ConvolutionBackward0"


class ConvTransposeNd(Primitive):
    """x = conv_transpose(y, w) + b: the adjoint of ConvNd in its input (C channels out)."""
    save_inputs = (0, 1)

    def forward(self, y, w, b=None, *, geom, C):
        self.geom, self.has_bias, self.C = geom, b is not None, C
        out = _conv_input_grad(y, w, geom, C)
        if b is not None:
            out += b.reshape((C,) + (1,) * geom.nd)
        return out

    def backward(self, g):
        y, w = self.saved_inputs
        geom = self.geom
        need = [n is not None for n, _ in self.next_functions]
        gy = gw = gb = None
        if STATE.enabled:
            if need[0]:
                gy = ConvNd.apply(g, w, geom=geom)
            if need[1]:
                gw = ConvWeight.apply(g, y, geom=geom, wshape=tuple(w.shape))
            if self.has_bias and need[2]:
                gb = g.sum(_bias_grad_axes(geom.nd))
        else:
            gd = g._data
            col = _im2col(gd, geom) if (need[0] or need[1]) else None
            if need[0]:
                gy = _wrap(_apply_w(w._data, col, gd.shape[0], geom))
            if need[1]:
                gw = _wrap(_conv_weight_grad(col, y._data, w._data.shape, geom))
            if self.has_bias and need[2]:
                gb = _wrap(_bias_grad(gd, geom.nd))
        return (gy, gw, gb) if self.has_bias else (gy, gw)

    def name(self):
        return "ConvolutionBackward0"


class ConvWeight(Primitive):
    """gw = weight-gradient of conv(x, .) against output gradient gy (bilinear in x, gy)."""
    save_inputs = (0, 1)

    def forward(self, x, gy, *, geom, wshape):
        self.geom = geom
        return _conv_weight_grad(_im2col(x, geom), gy, wshape, geom)

    def backward(self, gw):
        x, gy = self.saved_inputs
        need = [n is not None for n, _ in self.next_functions]
        gx = ConvTransposeNd.apply(gy, gw, geom=self.geom, C=x.shape[1]) if need[0] else None
        ggy = ConvNd.apply(x, gw, geom=self.geom) if need[1] else None
        return gx, ggy

    def name(self):
        return "ConvolutionBackwardBackward0"


# ---------------------------------------------------------------------------------------
# unfold / fold
# ---------------------------------------------------------------------------------------
def _im2col_np(x, geom):
    """(N, C, *S) -> (N, C * prod(K), L)."""
    N, C = x.shape[:2]
    v = _windows(_pad(x, geom), geom)
    return v.reshape(N, C * math.prod(geom.kernel), math.prod(geom.out_sp))


def _col2im_np(cols, geom):
    """(N, C * prod(K), L) -> (N, C, *S), summing overlapping windows."""
    N, CK = cols.shape[:2]
    C = CK // math.prod(geom.kernel)
    c = cols.reshape((N, C) + geom.kernel + geom.out_sp)
    return xp.ascontiguousarray(_col2im(c, 2, (N, C), geom, cols.dtype))


Im2Col, Col2Im = adjoint_pair("Im2Col", _im2col_np, "Im2ColBackward0",
                              "Col2Im", _col2im_np, "Col2ImBackward0")


# ---------------------------------------------------------------------------------------
# Tensor-level functions with torch's argument handling and error messages
# ---------------------------------------------------------------------------------------
def ntuple(v, n: int, name: str = "") -> tuple:
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    t = tuple(int(a) for a in v)
    if len(t) == 1 and n > 1:
        return t * n
    if len(t) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(t)}")
    return t


def _shape_list(s) -> str:
    return "[" + ", ".join(str(v) for v in s) + "]"


def _same_pad(kernel, dilation):
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    left = [t // 2 for t in total]
    return left, [t - lft for t, lft in zip(total, left)]


def _check_dtypes(input, weight, bias):
    from .nn_ops import scalar_name
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({scalar_name(input.dtype).lower()}) and bias type "
                           f"({scalar_name(bias.dtype).lower()}) should be the same")
    if input.dtype is not weight.dtype:
        raise RuntimeError(f"Input type ({scalar_name(input.dtype).lower()}) and weight type "
                           f"({scalar_name(weight.dtype).lower()}) should be the same")


def _conv_common(nd, input, weight, bias, transposed):
    name = f"conv{'_transpose' if transposed else ''}{nd}d"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, ...)")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {_shape_list(input.shape)}")
    if weight.dim() != nd + 2:
        raise RuntimeError("weight should have at least three dimensions" if weight.dim() < 3
                           else f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional "
                           f"input {_shape_list(input.shape)}, but got {weight.dim()}-dimensional "
                           f"weight of size {_shape_list(weight.shape)} instead")
    _check_dtypes(input, weight, bias)
    return input.dim() == nd + 1


def conv_nd(nd: int, input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
            padding=0, dilation=1, groups: int = 1) -> Tensor:
    """conv1d/conv2d/conv3d."""
    unbatched = _conv_common(nd, input, weight, bias, False)
    x = input.unsqueeze(0) if unbatched else input
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    kernel = tuple(weight.shape[2:])
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if isinstance(padding, str):
        if padding == "valid":
            pad_l = pad_r = (0,) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pad_l, pad_r = _same_pad(kernel, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pad_l = pad_r = ntuple(padding, nd, "padding")
        if any(p < 0 for p in pad_l):
            raise RuntimeError("negative padding is not supported")
    O, Cg = weight.shape[0], weight.shape[1]
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if O % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{_shape_list(weight.shape)}] "
                           "instead")
    if x.shape[1] != Cg * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_list(weight.shape)}, "
                           f"expected input{_shape_list(x.shape)} to have {Cg * groups} channels, "
                           f"but got {x.shape[1]} channels instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != O):
        raise RuntimeError(f"Given weight of size {_shape_list(weight.shape)}, expected bias to "
                           f"be 1-dimensional with {O} elements, but got bias of size "
                           f"{_shape_list(bias.shape)} instead")
    in_sp = tuple(x.shape[2:])
    padded = [s + a + b for s, a, b in zip(in_sp, pad_l, pad_r)]
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(str(p) for p in padded)}). "
            f"Kernel size: ({' x '.join(str(e) for e in eff)}). Kernel size can't be greater "
            "than actual input size")
    out_sp = tuple((p - e) // s + 1 for p, e, s in zip(padded, eff, stride))
    geom = Geom(kernel, stride, dilation, pad_l, pad_r, groups, in_sp, out_sp, x.shape[0])
    args = (x, weight) if bias is None else (x, weight, bias)
    out = ConvNd.apply(*args, geom=geom)
    return out.squeeze(0) if unbatched else out


def conv_transpose_nd(nd: int, input: Tensor, weight: Tensor, bias: Tensor | None = None,
                      stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1,
                      output_size=None) -> Tensor:
    """conv_transpose1d/2d/3d (``output_size`` picks the output_padding, as the module's
    forward does)."""
    unbatched = _conv_common(nd, input, weight, bias, True)
    x = input.unsqueeze(0) if unbatched else input
    if isinstance(padding, str):
        raise RuntimeError(f"conv_transpose{nd}d: padding must be an int or tuple, not a string")
    stride = ntuple(stride, nd, "stride")
    padding = ntuple(padding, nd, "padding")
    dilation = ntuple(dilation, nd, "dilation")
    output_padding = ntuple(output_padding, nd, "output_padding")
    kernel = tuple(weight.shape[2:])
    Cin, Cg = weight.shape[0], weight.shape[1]
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if x.shape[1] != Cin:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_list(weight.shape)}, "
                           f"expected input{_shape_list(x.shape)} to have {Cin} channels, but "
                           f"got {x.shape[1]} channels instead")
    if Cin % groups != 0:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {_shape_list(weight.shape)} "
                           "instead")
    C = Cg * groups
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != C):
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_list(weight.shape)}, "
                           f"expected bias to be 1-dimensional with {C} elements, but got bias "
                           f"of size {_shape_list(bias.shape)} instead")
    y_sp = tuple(x.shape[2:])
    base = [(y - 1) * s - 2 * p + d * (k - 1) + 1
            for y, s, p, d, k in zip(y_sp, stride, padding, dilation, kernel)]
    if output_size is not None:
        osz = list(output_size)[-nd:]
        output_padding = tuple(o - b for o, b in zip(osz, base))
        for o, b, s, d in zip(osz, base, stride, dilation):
            if not (b <= o < b + max(s, d)):
                raise ValueError(f"requested an output size of {osz}, but valid sizes range from "
                                 f"{base} to {[b + max(s, d) - 1 for b, s, d in zip(base, stride, dilation)]} "
                                 f"(for an input of {list(y_sp)})")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding: {list(output_padding)} stride: "
                               f"{list(stride)} dilation: {list(dilation)}")
    x_sp = tuple(b + op for b, op in zip(base, output_padding))
    if any(s <= 0 for s in x_sp):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, y_sp))}). "
                           f"Calculated output size per channel: "
                           f"({' x '.join(map(str, x_sp))}). Output size is too small")
    geom = Geom(kernel, stride, dilation, padding, padding, groups, x_sp, y_sp, x.shape[0])
    args = (x, weight) if bias is None else (x, weight, bias)
    out = ConvTransposeNd.apply(*args, geom=geom, C=C)
    return out.squeeze(0) if unbatched else out


def _fold_geom(kernel_size, dilation, padding, stride, in_sp, what):
    k = ntuple(kernel_size, 2, "kernel_size")
    d = ntuple(dilation, 2, "dilation")
    p = ntuple(padding, 2, "padding")
    s = ntuple(stride, 2, "stride")
    for name, v in (("kernel", k), ("dilation", d), ("stride", s)):
        if any(a <= 0 for a in v):
            raise RuntimeError(f"{what}: {name} should be greater than zero, but got "
                               f"{name}_height: {v[0]} {name}_width: {v[1]}")
    if any(a < 0 for a in p):
        raise RuntimeError(f"{what}: padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")
    out_sp = tuple((i + 2 * pp - (dd * (kk - 1) + 1)) // ss + 1
                   for i, pp, dd, kk, ss in zip(in_sp, p, d, k, s))
    return Geom(k, s, d, p, p, 1, in_sp, out_sp)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks: (N, C, H, W) -> (N, C*kh*kw, L) (im2col)."""
    if input.dim() < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-max(input.dim(), 1)}, {max(input.dim(), 1) - 1}], but got 2)")
    if input.dim() > 4:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    geom = _fold_geom(kernel_size, dilation, padding, stride, tuple(x.shape[2:]), "im2col")
    if any(o <= 0 for o in geom.out_sp):
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), "
                           f"kernel_size={list(geom.kernel)}, dilation={list(geom.dilation)}, "
                           f"padding={list(geom.pad_l)}, calculated shape of the array of sliding "
                           f"blocks as ({geom.out_sp[0]}, {geom.out_sp[1]}), but its components "
                           "must be at least one.")
    out = Im2Col.apply(x, geom=geom)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Combine sliding local blocks into a tensor: (N, C*kh*kw, L) -> (N, C, H, W) (col2im)."""
    if input.dim() not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    osz = ntuple(output_size, 2, "output_size")
    geom = _fold_geom(kernel_size, dilation, padding, stride, osz, "col2im")
    kk = math.prod(geom.kernel)
    if x.shape[1] % kk != 0:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size=({geom.kernel[0]}, {geom.kernel[1]})")
    L = math.prod(geom.out_sp)
    if x.shape[2] != L:
        raise RuntimeError(f"Given output_size=({osz[0]}, {osz[1]}), kernel_size=("
                           f"{geom.kernel[0]}, {geom.kernel[1]}), dilation=({geom.dilation[0]}, "
                           f"{geom.dilation[1]}), padding=({geom.pad_l[0]}, {geom.pad_l[1]}), "
                           f"stride=({geom.stride[0]}, {geom.stride[1]}), expected size of input's "
                           f"dimension 2 to match the calculated number of sliding blocks "
                           f"{geom.out_sp[0]} * {geom.out_sp[1]} = {L}, but got "
                           f"input.size(2)={x.shape[2]}.")
    out = Col2Im.apply(x, geom=geom)
    return out.squeeze(0) if unbatched else out
