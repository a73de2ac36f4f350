"""Floating-point sums in the same order as PyTorch's CPU kernel, so results match bit for bit.

Float addition is not associative: NumPy's pairwise summation and torch's cascade summation
round differently, and a training loop that prints ``float(loss)`` shows it in the last
digits. torch (aten/native/cpu/SumKernel.cpp) reduces a contiguous row like this:

* the row is read as vectors of ``LANES`` elements; whole vectors are summed lane-wise by
  ``row_sum``, the remaining scalars are added one by one into a scalar accumulator, and then
  the lanes are added into it in order;
* ``row_sum`` interleaves consecutive vectors over 4 accumulators (instruction-level
  parallelism), each accumulated by ``multi_row_sum``: blocks of ``2**p`` items are summed
  sequentially, and block sums cascade through 3 further levels that flush every ``2**p``
  blocks (``p = max(4, ceil(log2(n)) // 4)``);
* rows shorter than one vector use the same ``row_sum`` on scalars.

This module reproduces that order with whole-array operations (no per-element Python loops).
It applies to reductions over the innermost contiguous axis (which includes full reductions)
and over all leading axes, up to ``GRAIN_SIZE`` elements (beyond that torch's own result
depends on how many threads it runs); other reductions use NumPy directly.
"""
from __future__ import annotations

import numpy as _np

xp = _np

# Vector width torch's CPU sum uses (elements per vector); measured against torch 2.13.
LANES = {_np.dtype(_np.float32): 8, _np.dtype(_np.float64): 4}
# Above this many elements torch splits a reduction across its threads, so its rounding
# depends on the thread count; there NumPy's (pairwise, more accurate) sum is used instead.
GRAIN_SIZE = 32768
_NUM_LEVELS = 4
_ILP = 4


def _seq(a, axis=0):
    """Strictly sequential sum along ``axis``. add.accumulate never reassociates; add.reduce
    does (pairwise) only along the innermost axis, so over an outer axis with a row of at
    least 8 elements after it, reduce is used: sequential too, and without the cumulative
    copy (43 -> ~10 us for a (64, 128) bias gradient)."""
    if a.shape[axis] == 0:
        return xp.zeros(a.shape[:axis] + a.shape[axis + 1:], dtype=a.dtype)
    inner = 1
    for n in a.shape[axis + 1:]:
        inner *= n
    if inner >= 8 and a.flags.c_contiguous:
        return xp.add.reduce(a, axis=axis, dtype=a.dtype)
    return xp.add.accumulate(a, axis=axis, dtype=a.dtype).take(-1, axis=axis)


def _ceil_log2(n: int) -> int:
    return 0 if n <= 1 else int(n - 1).bit_length()


def _multi_row_sum(items):
    """torch's multi_row_sum over axis 0 of ``items`` (shape (size, *lanes))."""
    size = items.shape[0]
    p = max(4, _ceil_log2(size) // _NUM_LEVELS)
    step = 1 << p
    nblocks = size // step
    if nblocks == 0:     # torch adds the items into a zeroed accumulator: never -0.0
        return _seq(items) + 0.0
    blocks = _seq(items[:nblocks * step].reshape((nblocks, step) + items.shape[1:]), axis=1)
    if nblocks < step:
        # one block level (up to 256 items for p = 4), the usual case for bias gradients:
        # the levels above hold zeros, and adding them only turns -0.0 into +0.0
        acc1 = _seq(blocks) if nblocks > 1 else blocks[0]
        if size % step:
            return (_seq(items[nblocks * step:]) + acc1) + 0.0
        return acc1 + 0.0
    zero = xp.zeros(items.shape[1:], dtype=items.dtype)
    tail = _seq(items[nblocks * step:]) if size % step else zero
    # level 1 keeps summing block sums, flushing to level 2 after every `step` blocks, etc.
    g1 = nblocks // step
    acc1 = _seq(blocks[g1 * step:]) if nblocks % step else zero
    acc2 = acc3 = zero
    if g1:
        l1 = _seq(blocks[:g1 * step].reshape((g1, step) + blocks.shape[1:]), axis=1)
        g2 = g1 // step
        acc2 = _seq(l1[g2 * step:]) if g1 % step else zero
        if g2:
            l2 = _seq(l1[:g2 * step].reshape((g2, step) + l1.shape[1:]), axis=1)
            acc3 = _seq(l2)
    return ((tail + acc1) + acc2) + acc3


def _row_sum(items):
    """torch's row_sum: items interleaved over 4 accumulators, tail into the first."""
    size = items.shape[0]
    n_ilp = size // _ILP
    if n_ilp:
        parts = _multi_row_sum(items[:n_ilp * _ILP].reshape((n_ilp, _ILP) + items.shape[1:]))
        acc = parts[0]
    else:
        parts = None
        acc = xp.zeros(items.shape[1:], dtype=items.dtype)
    if size % _ILP:
        acc = _seq(xp.concatenate([acc[None], items[n_ilp * _ILP:]]))
    if parts is not None:
        for k in range(1, _ILP):
            acc = acc + parts[k]
    return acc


def torch_sum_lastaxis(x):
    """Sum over the last axis of ``x`` (any leading shape) in torch's order."""
    n = x.shape[-1]
    lead = x.shape[:-1]
    rows = x.reshape(-1, n)
    lanes = LANES[x.dtype]
    if n < lanes:
        # scalar path: row_sum over scalars, done for all rows at once (rows become lanes)
        return _row_sum(xp.ascontiguousarray(rows.T)).reshape(lead)
    nv = n // lanes
    vecs = rows[:, :nv * lanes].reshape(rows.shape[0], nv, lanes).transpose(1, 0, 2)
    vacc = _row_sum(vecs)                                   # (R, lanes)
    rest = rows[:, nv * lanes:]
    # final = 0, + scalar tail in order, + each lane in order
    seq = xp.concatenate([xp.zeros((rows.shape[0], 1), dtype=x.dtype), rest, vacc], axis=1)
    return _seq(seq, axis=1).reshape(lead)


def torch_sum_outer(x):
    """Sum over axis 0 of a C-contiguous (m, n) array in torch's order (``vectorized_outer_sum``
    for n >= one vector, ``scalar_outer_sum`` below that)."""
    m, n = x.shape
    lanes = LANES[x.dtype]
    width = _ILP * lanes if n >= lanes else _ILP
    j = (n // width) * width
    if j == n:           # one segment: no output buffer to assemble
        return _multi_row_sum(x)
    # the columns left over (whole vectors, then scalars) are each reduced by row_sum; the
    # columns are independent, so both kinds go through one call
    if not j:
        return _row_sum(x)
    out = xp.empty(n, dtype=x.dtype)
    out[:j] = _multi_row_sum(x[:, :j])
    out[j:] = _row_sum(x[:, j:])
    return out


def sum_like_torch(x, axes, keepdims: bool):
    """``x.sum(axes)`` with torch's rounding where torch's kernels are reproduced here, else None.

    Size-1 axes are dropped first (torch's iterator coalesces them); then a reduction over
    everything, over the last axis, or over all but the last axis is done in torch's order.
    """
    if x.dtype not in LANES or x.size == 0 or x.ndim == 0 or not x.flags.c_contiguous \
            or x.size > GRAIN_SIZE:
        return None
    keep = [i for i in range(x.ndim) if x.shape[i] != 1]
    red = [i for i in keep if i in axes]
    if not red:
        return None
    core = x.reshape([x.shape[i] for i in keep])
    pos = [keep.index(i) for i in red]
    nd = core.ndim
    if len(pos) == nd:
        r = torch_sum_lastaxis(core.reshape(-1))
    elif pos == [nd - 1]:
        r = torch_sum_lastaxis(core)
    elif pos == list(range(nd - 1)):
        r = torch_sum_outer(core.reshape(-1, core.shape[-1]))
    else:
        return None
    out_shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keepdims else \
        tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return r.reshape(out_shape)
