"""``x * y + z`` rounded once, as the fused multiply-add in torch's CPU kernels
(``add(alpha=)``, ``addcmul``, ``lerp``, optimizer updates).

NumPy rounds the product and the sum separately, which moves float32 results by an ulp. For
float32 the product of two float32 values is exact in float64, so forming ``x * y + z``
there and rounding once gives the fused result. float16 rounds through float32, as torch's
half kernels compute in float32. float64 has no wider type here: it rounds twice (at most an
ulp from torch).
"""
from __future__ import annotations

import numpy as _np

xp = _np
_f32, _f64 = xp.dtype(xp.float32), xp.dtype(xp.float64)
LOW = (_f32, xp.dtype(xp.float16))
_CHUNK = 1 << 15   # float64 scratch of 256 KB: stays in cache, allocated once per call


def fma(x, y, z, dtype, out=None):
    """``x * y + z`` in ``dtype`` with one rounding (float32/float16), into ``out`` if given.

    ``x`` is an array; ``y`` and ``z`` are arrays or Python floats. With ``out``, large
    contiguous operands go through one cache-sized float64 scratch buffer in chunks, so
    the detour costs no big allocations.
    """
    dtype = xp.dtype(dtype)
    if dtype not in LOW:
        r = xp.add(xp.multiply(x, y), z)
        if out is None:
            return r
        xp.copyto(out, r, casting="unsafe")
        return out
    ops = (x, y, z)
    if (out is None or out.size <= _CHUNK or not out.flags.c_contiguous
            or any(isinstance(v, xp.ndarray) and (v.shape != out.shape
                                                  or not v.flags.c_contiguous) for v in ops)):
        t = xp.multiply(x, y, dtype=_f64)
        # in place when z cannot widen t (a same-shape array or a scalar: the usual case),
        # so no broadcast_shapes call (~3 us) is needed to find out
        if isinstance(t, xp.ndarray) and (not isinstance(z, xp.ndarray) and xp.ndim(z) == 0
                                          or z.shape == t.shape):
            xp.add(t, z, out=t)
        else:
            t = xp.add(t, z)
        if out is not None and out.dtype == _f32:
            xp.copyto(out, t, casting="unsafe")     # one float64 -> float32 rounding
            return out
        t = t.astype(_f32)
        if out is None:
            return t if dtype == _f32 else t.astype(dtype)
        xp.copyto(out, t, casting="unsafe")
        return out
    o = out.reshape(-1)
    fx, fy, fz = (v.reshape(-1) if isinstance(v, xp.ndarray) else v for v in ops)
    buf = xp.empty(_CHUNK, dtype=_f64)
    for i in range(0, out.size, _CHUNK):
        j = min(i + _CHUNK, out.size)
        t = buf[:j - i]
        xp.multiply(fx[i:j], fy[i:j] if isinstance(fy, xp.ndarray) else fy, out=t, dtype=_f64)
        xp.add(t, fz[i:j] if isinstance(fz, xp.ndarray) else fz, out=t)
        xp.copyto(o[i:j], t, casting="unsafe")
    return out
