"""Padding (constant, reflect, replicate, circular) and interpolation (nearest, nearest-exact,
linear/bilinear/trilinear, area).

Constant padding is its own adjoint with negated pads (a crop). The other pad modes gather
each padded axis through an index vector; their backward adds contiguous runs of that vector
back (a handful of slice-adds per axis). Interpolation is separable: one weight matrix per
spatial dim (``pooling.SeparableMap``), with torch's source-index arithmetic reproduced in
torch's precision (float32 for float32 inputs).
"""
from __future__ import annotations

import math

from .._backend import xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from .nn_ops import adjoint_pair
from .pooling import SeparableMap, adaptive_avg_pool2d

_wrap = Tensor._wrap


# ---------------------------------------------------------------------------------------
# Constant padding
# ---------------------------------------------------------------------------------------
class ConstantPadNd(Primitive):
    """``pads``: one (left, right) pair per padded dim, last dim first (torch's order)."""

    def forward(self, x, pads, value):
        self.pads = pads
        nd = x.ndim
        out_shape = list(x.shape)
        src, dst = [slice(None)] * nd, [slice(None)] * nd
        for i, (lo, hi) in enumerate(pads):
            d = nd - 1 - i
            n = x.shape[d]
            out_shape[d] = n + lo + hi
            src[d] = slice(max(-lo, 0), n - max(-hi, 0))
            dst[d] = slice(max(lo, 0), max(lo, 0) + max(n - max(-lo, 0) - max(-hi, 0), 0))
        out = xp.full(tuple(out_shape), value, dtype=x.dtype)
        out[tuple(dst)] = x[tuple(src)]
        return out

    def backward(self, g):
        return ConstantPadNd.apply(g, pads=tuple((-lo, -hi) for lo, hi in self.pads), value=0)

    def name(self):
        return "ConstantPadNdBackward0"


# ---------------------------------------------------------------------------------------
# Index-vector padding (reflect / replicate / circular)
# ---------------------------------------------------------------------------------------
def _runs(idx):
    """Split an index vector into runs (out_start, length, in_first, step), step in -1/0/1."""
    runs = []
    i, n = 0, len(idx)
    while i < n:
        step = int(idx[i + 1] - idx[i]) if i + 1 < n else 1
        if step not in (-1, 0, 1):
            step = 1
        j = i + 1
        while j < n and idx[j] - idx[j - 1] == step:
            j += 1
        runs.append((i, j - i, int(idx[i]), step))
        i = j
    return runs


def _scatter_axis(g, axis, idx, n_in):
    """Adjoint of ``take(x, idx, axis)``."""
    shape = list(g.shape)
    shape[axis] = n_in
    out = xp.zeros(tuple(shape), dtype=g.dtype)
    pre = (slice(None),) * axis
    for o, length, first, step in _runs(idx):
        src = g[pre + (slice(o, o + length),)]
        if step == 1:
            out[pre + (slice(first, first + length),)] += src
        elif step == -1:
            out[pre + (slice(first - length + 1, first + 1),)] += xp.flip(src, axis)
        else:
            out[pre + (slice(first, first + 1),)] += src.sum(axis=axis, keepdims=True)
    return out


def _take_axes(x, maps, sizes, grad_name):
    for axis, idx in maps:
        x = xp.take(x, idx, axis=axis)
    return x


def _scatter_axes(g, maps, sizes, grad_name):
    for (axis, idx), n in zip(reversed(maps), reversed(sizes)):
        g = _scatter_axis(g, axis, idx, n)
    return g


IndexPad, _IndexPadAdjoint = adjoint_pair(
    "IndexPad", _take_axes, lambda p: p["grad_name"],
    "IndexPadAdjoint", _scatter_axes, lambda p: p["grad_name"].replace("Backward0",
                                                                        "BackwardBackward0"))


def _pad_index(n, lo, hi, mode, dim, shape):
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({lo}, {hi}) at dimension "
                               f"{dim} of input {list(shape)}")
        return xp.concatenate([xp.arange(lo, 0, -1), xp.arange(n), xp.arange(n - 2, n - 2 - hi,
                                                                              -1)])
    if mode == "replicate":
        if n == 0:
            raise RuntimeError("padding: input tensor must have non-zero size")
        return xp.concatenate([xp.zeros(lo, dtype=xp.int64), xp.arange(n),
                               xp.full(hi, n - 1, dtype=xp.int64)])
    if lo > n or hi > n:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    return xp.concatenate([xp.arange(n - lo, n), xp.arange(n), xp.arange(0, hi)])


_PAD_NAMES = {"reflect": "ReflectionPad{}DBackward0", "replicate": "ReplicationPad{}DBackward0",
              "circular": "CopySlices"}


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """torch.nn.functional.pad: ``pad`` lists (left, right) pairs starting from the last dim."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 != 0:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{input.dim()}")
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2))
    if mode == "constant":
        for i, (lo, hi) in enumerate(pairs):
            d = input.dim() - 1 - i
            if input.shape[d] + lo + hi < 0:
                raise RuntimeError(f"The input size {input.shape[d]}, plus negative padding {lo} "
                                   f"and {hi} resulted in a negative output size, which is "
                                   f"invalid. Check dimension {d} of your input.")
        return ConstantPadNd.apply(input, pads=pairs, value=0 if value is None else value)
    if mode not in _PAD_NAMES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    k = len(pairs)
    if k > 3 or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError("Only 2D, 3D, 4D, 5D padding with non-constant padding are "
                                  "supported for now")
    maps = []
    for i, (lo, hi) in enumerate(pairs):
        d = input.dim() - 1 - i
        if lo < 0 or hi < 0:
            raise NotImplementedError(f"ember.nn.functional.pad: negative padding is only "
                                      f"supported in 'constant' mode (got {pad} with '{mode}')")
        maps.append((d, _pad_index(input.shape[d], lo, hi, mode, d, input.shape)))
    return IndexPad.apply(input, maps=tuple(maps), sizes=tuple(input.shape[a] for a, _ in maps),
                          grad_name=_PAD_NAMES[mode].format(k))


# ---------------------------------------------------------------------------------------
# Interpolation
# ---------------------------------------------------------------------------------------
def _opmath(dtype):
    return xp.float64 if dtype == xp.float64 else xp.float32


def _scale_value(n_in, n_out, scale, ft):
    if scale is not None and scale > 0:
        return ft(1.0 / scale)
    return ft(n_in) / ft(n_out)


def _nearest_index(n_in, n_out, scale, exact):
    ft = xp.float32
    o = xp.arange(n_out)
    if n_out == n_in and not exact:
        return o
    if n_out == 2 * n_in and not exact:
        return o >> 1
    s = _scale_value(n_in, n_out, scale, ft)
    src = (o.astype(ft) + ft(0.5)) * s if exact else o.astype(ft) * s
    return xp.minimum(xp.floor(src).astype(xp.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    ft = _opmath(dtype)
    if align_corners:
        s = ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    else:
        s = _scale_value(n_in, n_out, scale, ft)
    o = xp.arange(n_out).astype(ft)
    src = s * o if align_corners else xp.maximum(s * (o + ft(0.5)) - ft(0.5), ft(0))
    i0 = src.astype(xp.int64)
    i1 = i0 + (i0 < n_in - 1)
    lam1 = src - i0.astype(ft)
    lam0 = ft(1) - lam1
    M = xp.zeros((n_out, n_in), dtype=ft)
    rows = xp.arange(n_out)
    xp.add.at(M, (rows, i0), lam0)      # small (n_out x n_in) matrix, built once per call
    xp.add.at(M, (rows, i1), lam1)
    # the two taps of each output, zero weights included, as torch's kernel reads them
    taps = (xp.stack([i0, i1], 1), xp.stack([lam0, lam1], 1), xp.ones((n_out, 2), bool),
            None)
    return M, taps


_LINEAR_MODES = {"linear": 1, "bilinear": 2, "trilinear": 3}
_INTERP_NAMES = {"nearest": "UpsampleNearest{}D", "nearest-exact": "UpsampleNearestExact{}D",
                 "linear": "UpsampleLinear1D", "bilinear": "UpsampleBilinear2D",
                 "trilinear": "UpsampleTrilinear3D"}


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims (all dims after the first two)."""
    nd = input.dim() - 2
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("ember.nn.functional.interpolate: antialias=True is not "
                                  "supported")
    if nd < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                         f"{input.dim()}D) for the modes: nearest | linear | bilinear | bicubic "
                         f"| trilinear | area | nearest-exact (got {mode})")
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    in_sp = tuple(input.shape[2:])
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(in_sp)} and output size of {list(size)}. Please provide "
                                 "input tensor in (N, C, d1, d2, ...,dK) format and output size "
                                 "in (o1, o2, ...,oK) format.")
            out_sp = tuple(int(s) for s in size)
        else:
            out_sp = (int(size),) * nd
        scales = (None,) * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(f"Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(in_sp)} and scale_factor of shape {list(scale_factor)}. "
                                 "Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                                 "and scale_factor in (s1, s2, ...,sK) format.")
            sfs = tuple(float(s) for s in scale_factor)
        else:
            sfs = (float(scale_factor),) * nd
        out_sp = tuple(int(math.floor(float(n) * s)) for n, s in zip(in_sp, sfs))
        scales = (None,) * nd if recompute_scale_factor else sfs
    else:
        raise ValueError("either size or scale_factor should be defined")
    if mode == "area":
        if nd == 2:
            return adaptive_avg_pool2d(input, out_sp)
        if nd == 1:
            return adaptive_avg_pool2d(input.unsqueeze(-2), (1, out_sp[0])).squeeze(-2)
        raise NotImplementedError("ember.nn.functional.interpolate: mode='area' supports 3-D "
                                  "and 4-D inputs")
    if mode in _LINEAR_MODES:
        if _LINEAR_MODES[mode] != nd:
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                      f"{_LINEAR_MODES[mode] + 2}D input")
    elif mode not in ("nearest", "nearest-exact"):
        if mode in ("bicubic",):
            raise NotImplementedError("ember.nn.functional.interpolate: mode='bicubic' is not "
                                      "supported")
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D) for the modes: nearest | linear | bilinear | "
                                  f"bicubic | trilinear | area | nearest-exact (got {mode})")
    if nd > 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D)")
    if any(o <= 0 for o in out_sp):
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({', '.join(map(str, in_sp))}) and output "
                           f"({', '.join(map(str, out_sp))})")
    dtype = input._data.dtype
    maps = []
    for i, (n_in, n_out, sc) in enumerate(zip(in_sp, out_sp, scales)):
        axis = 2 + i
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n_in, n_out, sc, mode == "nearest-exact")
            M = xp.zeros((n_out, n_in), dtype=dtype)
            M[xp.arange(n_out), idx] = 1
            taps = (idx[:, None], xp.ones((n_out, 1), dtype), xp.ones((n_out, 1), bool), None)
            maps.append((axis, M, idx, taps))
        else:
            M, taps = _linear_matrix(n_in, n_out, sc, align_corners, dtype)
            maps.append((axis, M, None, taps))
    return SeparableMap.apply(input, maps=tuple(maps), transpose=False,
                              grad_name=_INTERP_NAMES[mode].format(nd))
