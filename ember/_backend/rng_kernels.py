"""torch's CPU sampling kernels, reproduced bit for bit on NumPy.

Each function takes an :class:`~ember._backend.mt19937.MT19937` engine, draws exactly the
words torch's kernel draws (so the stream position advances identically) and returns the
values torch writes, as a flat array in the order torch's ``cpu_serial_kernel`` visits the
elements (see :func:`memory_order`). What each reproduces (all verified against torch 2.13
on x86-64; the checks live in ``tests/test_random_torch_stream.py``):

* uniform (``rand``/``uniform_``): float32/float16 take 24 bits of one ``random()``, float64
  53 bits of one ``random64()``; ``x * (to - from) + from`` is one fused multiply-add (torch's
  AVX2 build contracts it), emulated exactly; a result equal to ``to`` becomes ``from``.
* normal (``randn``/``normal_``), contiguous with >= 16 elements: torch's ``normal_fill``:
  uniforms for the whole tensor, Box-Muller 16 at a time (8 pairs), and for a ragged end the
  last 16 elements recomputed from 16 fresh uniforms. float32 (and float16 through a float
  buffer) uses the AVX2 kernel that torch dispatches to on AVX2/AVX512 machines: Cephes
  ``log``/``sincos`` polynomials in float32 with the compiler's fused multiply-adds, replayed
  here operation for operation (:func:`_normal_fill_f32`). float64 calls libm ``log`` and
  ``sincos``. Otherwise (fewer than 16 elements, or non-contiguous) the scalar
  ``normal_distribution<double>`` path: two 53-bit uniforms per pair, ``log1p``/``sin``/
  ``cos`` from libm, the sine sample cached in the engine for the next call.
* integers (``random_``/``randint``): ``random() % range`` below 2**28, ``random64() % range``
  from 2**28 up; ``random_()`` with no bounds by dtype (64-bit draws for int64/float64).
* ``randperm`` (n < 2**32 / 20): the Fisher-Yates swaps ``r[i] <-> r[i + random() % (n-i)]``.
* bernoulli: scalar ``p`` compares a 53-bit uniform; a tensor ``p`` of float64 compares a
  53-bit uniform, of float32/float16 a 24-bit float uniform.
* exponential: ``-1/lambda * log1p(-u)`` with a 53-bit ``u`` and libm ``log1p``; likewise
  geometric, log-normal and Cauchy follow their torch formulas.
* multinomial: with replacement, per row the float cumulative sum normalised in the input
  dtype, last entry forced to 1, a 53-bit uniform per sample and torch's binary search;
  without replacement (or one sample), ``argmax``/``topk`` of ``p / Exp(1)`` as torch does.

libm functions (``log``, ``log1p``, ``sin``, ``cos``) are called through Python's ``math``
module, one element at a time: that is the same C library torch calls, so the results agree
on any platform, at the price of speed on the float64 and scalar paths. Not reproduced: the
non-AVX2 (``ATEN_CPU_CAPABILITY=default``) and ARM normal kernels, and CUDA's Philox streams.
"""
from __future__ import annotations

import math

import numpy as np

from .mt19937 import MT19937

f32, f64 = np.float32, np.float64
_U24 = np.uint32((1 << 24) - 1)
_U53 = np.uint64((1 << 53) - 1)


# ---- exact fused multiply-add -----------------------------------------------------------------
_MID32 = np.int64(1 << 28)           # a float64 whose low 29 mantissa bits are 100..0 sits on
_LOW29 = np.int64((1 << 29) - 1)     # a float32 rounding midpoint


def _two_sum(a, b):
    s = a + b
    bv = s - a
    return s, (a - (s - bv)) + (b - bv)


def _nudge_odd(s: np.ndarray, err: np.ndarray) -> None:
    """Round-to-odd in place: where ``s`` is inexact (``err != 0``) and its last bit is even,
    step one ulp toward the exact value."""
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s[fix] = np.nextafter(s[fix], np.where(err[fix] > 0, np.inf, -np.inf))


def fma32(a, b, c) -> np.ndarray:
    """float32 ``a*b + c`` with a single rounding. Operands are float32 values (held in any
    float type, arrays or scalars). The product is exact in float64; rounding the float64 sum
    to float32 is wrong only when that sum lands exactly on a float32 midpoint, and those
    (rare) lanes are redone with the exact error term."""
    a, b, c = np.asarray(a, f64), np.asarray(b, f64), np.asarray(c, f64)
    s = np.asarray(a * b + c, f64)
    r = s.astype(f32)
    sus = (s.view(np.int64) & _LOW29) == _MID32
    if sus.any():
        shape = s.shape
        p = np.broadcast_to(a, shape)[sus] * np.broadcast_to(b, shape)[sus]
        ss, err = _two_sum(p, np.broadcast_to(c, shape)[sus])
        _nudge_odd(ss, err)
        r[sus] = ss.astype(f32)
    return r


_SPLIT = f64(134217729.0)            # 2**27 + 1 (Veltkamp splitting)


def _two_prod(a, b):
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def fma64(a, b, c) -> np.ndarray:
    """float64 ``a*b + c`` with a single rounding: exact product (Dekker), exact sum, and the
    low part rounded to odd before the final addition (Boldo & Melquiond 2008)."""
    a, b, c = np.broadcast_arrays(np.asarray(a, f64), np.asarray(b, f64), np.asarray(c, f64))
    hi, lo = _two_prod(a, b)
    th, tl = _two_sum(c, hi)
    v, err = _two_sum(tl, lo)
    v = np.array(v, f64, ndmin=1)
    _nudge_odd(v, np.array(err, f64, ndmin=1))
    return (th + v.reshape(th.shape)).astype(f64)


def cast(values: np.ndarray, npd) -> np.ndarray:
    """Convert kernel values to the tensor dtype as C++ does: ``c10::Half`` is built from a
    float, so wider values go through float32 first (double rounding included)."""
    npd = np.dtype(npd)
    if npd == np.float16 and values.dtype != np.float16:
        values = values.astype(f32)
    return values.astype(npd, copy=False)


def _libm(fn, x: np.ndarray) -> np.ndarray:
    """Apply a libm function (via ``math``) element by element: torch calls the same one."""
    return np.fromiter(map(fn, x.ravel().tolist()), dtype=f64, count=x.size).reshape(x.shape)


# ---- uniforms ---------------------------------------------------------------------------------
def uniform24(eng: MT19937, n: int) -> np.ndarray:
    """``uniform_real_distribution<float>(0, 1)``: 24 bits of ``random()`` times 2**-24."""
    return (eng.random(n) & _U24).astype(f32) * f32(2.0 ** -24)


def uniform53(eng: MT19937, n: int) -> np.ndarray:
    """``uniform_real_distribution<double>(0, 1)``: 53 bits of ``random64()`` times 2**-53."""
    return (eng.random64(n) & _U53).astype(f64) * (2.0 ** -53)


def uniform(eng: MT19937, n: int, npd, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``uniform_(low, high)`` for a float dtype (float16/32/64); bounds already checked."""
    npd = np.dtype(npd)
    if npd == np.float64:
        x = uniform53(eng, n)
        v = x if (low, high) == (0.0, 1.0) else fma64(x, high - low, low)
        to_s, from_s = f64(high), f64(low)
    else:
        x = uniform24(eng, n)
        lo, hi = f32(low), f32(high)
        v = x if (low, high) == (0.0, 1.0) else fma32(x, hi - lo, lo)
        v = v.astype(npd)
        to_s, from_s = npd.type(f32(high)), npd.type(f32(low))
    return np.where(v == to_s, from_s, v).astype(npd, copy=False)


# ---- normal: torch's AVX2 normal_fill_16 for float ------------------------------------------
def _c(bits: int):
    return np.array([bits], dtype=np.uint32).view(f32)[0]


# avx_mathfun.h (Cephes) single-precision constants, by bit pattern
_LOG_P = [_c(h) for h in (0x3D9021BB, 0xBDEBD1B8, 0x3DEF251A, 0xBDFE5D4F, 0x3E11E9BF,
                          0xBE2AAE50, 0x3E4CCEAC, 0xBE7FFFFC, 0x3EAAAAAA)]
_LOG_Q1, _LOG_Q2, _SQRTHF = _c(0xB95E8083), _c(0x3F318000), _c(0x3F3504F3)
_DP = (_c(0xBF490000), _c(0xB97DA000), _c(0xB3222169))        # -pi/4 split in three
_COS_P = (_c(0x37CCF5CE), _c(0xBAB6061A), _c(0x3D2AAAA5))
_SIN_P = (_c(0xB94CA1F9), _c(0x3C08839E), _c(0xBE2AAAA3))
_FOPI, _TWO_PI, _MIN_NORM = _c(0x3FA2F983), _c(0x40C90FDB), _c(0x00800000)
_ONE, _HALF, _ZERO = f32(1.0), f32(0.5), f32(0.0)


def _log_avx(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` as compiled in torch's AVX2 kernel (which operations are fused was read
    off the machine code)."""
    invalid = x <= 0
    x = np.maximum(x, _MIN_NORM)
    bits = x.view(np.uint32)
    e = ((bits >> np.uint32(23)).astype(np.int32) - 127).astype(f32) + _ONE
    m = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(f32)   # mantissa in [.5,1)
    small = m < _SQRTHF
    x = (m - _ONE) + np.where(small, m, _ZERO)
    e = e - np.where(small, _ONE, _ZERO)
    x64 = x.astype(f64)
    y = fma32(_LOG_P[0], x64, _LOG_P[1])
    for p in _LOG_P[2:]:
        y = fma32(y, x64, p)
    z = x * x
    y = fma32(y * x, z, e * _LOG_Q1)
    y = y - z * _HALF
    r = fma32(e, _LOG_Q2, x + y)
    r[invalid] = np.nan
    return r


def _sincos_avx(theta: np.ndarray):
    """``sincos256_ps`` as compiled in torch's AVX2 kernel; returns (sin, cos)."""
    bits = theta.view(np.uint32)
    xa = (bits & np.uint32(0x7FFFFFFF)).view(f32)
    j = (xa * _FOPI).astype(np.int32) + 1               # truncation, as cvttps2dq
    jeven = j & ~1
    yf = jeven.astype(f64)
    sign_sin = (bits & np.uint32(0x80000000)) ^ ((j & 4).astype(np.uint32) << np.uint32(29))
    sign_cos = ((~(jeven - 2)) & 4).astype(np.uint32) << np.uint32(29)
    use_sin_poly = (j & 2) == 0
    x = fma32(yf, _DP[0], xa)                            # extended-precision range reduction
    x = fma32(_DP[1], yf, x)
    x = fma32(yf, _DP[2], x)
    z = x * x
    z64 = z.astype(f64)
    yc = fma32(fma32(_COS_P[0], z64, _COS_P[1]), z64, _COS_P[2])
    yc = fma32(z64, z * yc, -(z * _HALF)) + _ONE
    ys = fma32(fma32(_SIN_P[0], z64, _SIN_P[1]), z64, _SIN_P[2])
    ys = fma32(x, z * ys, x)
    pick_s = np.where(use_sin_poly, ys, _ZERO)
    pick_c = np.where(use_sin_poly, _ZERO, yc)
    s = pick_c + pick_s
    c = (ys - pick_s) + (yc - pick_c)
    return (s.view(np.uint32) ^ sign_sin).view(f32), (c.view(np.uint32) ^ sign_cos).view(f32)


def _normal_fill_16_f32(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Box-Muller on blocks of 16 float32 uniforms (shape (k, 16)): element j pairs with j+8."""
    radius = np.sqrt(_log_avx(_ONE - u[:, :8]) * f32(-2.0))
    s, c = _sincos_avx(_TWO_PI * u[:, 8:])
    out = np.empty_like(u)
    m, sd = f32(mean), f32(std)
    if (m, sd) == (0.0, 1.0):                            # fma(x, 1, 0) == x
        np.multiply(radius, c, out=out[:, :8])
        np.multiply(radius, s, out=out[:, 8:])
    else:
        out[:, :8] = fma32(radius * c, sd, m)
        out[:, 8:] = fma32(radius * s, sd, m)
    return out


def _normal_fill_16_f64(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    radius = np.sqrt(_libm(math.log, 1.0 - u[:, :8]) * -2.0)
    theta = u[:, 8:] * (2.0 * math.pi)
    n1 = radius * _libm(math.cos, theta)
    n2 = radius * _libm(math.sin, theta)
    if (mean, std) != (0.0, 1.0):
        n1, n2 = fma64(n1, std, mean), fma64(n2, std, mean)
    return np.concatenate([n1, n2], axis=1)


def _normal_fill(eng: MT19937, n: int, npd, mean: float, std: float) -> np.ndarray:
    """torch's ``normal_fill`` (n >= 16, contiguous)."""
    wide = np.dtype(npd) == np.float64
    draw = uniform53 if wide else uniform24
    fill16 = _normal_fill_16_f64 if wide else _normal_fill_16_f32
    full, rem = divmod(n, 16)
    if np.dtype(npd) in (np.float32, np.float64):
        u = draw(eng, n)                                 # uniforms for every element first
    else:                                                # reduced precision: a float buffer
        u = draw(eng, full * 16)                         # per block, no uniforms for the tail
    blocks = u[:full * 16].reshape(full, 16)
    # chunks of 2048 blocks keep the temporaries small and in cache (3x faster than whole)
    out = np.concatenate([fill16(blocks[i:i + 2048], mean, std).reshape(-1)
                          for i in range(0, full, 2048)])
    if rem:
        tail = fill16(draw(eng, 16).reshape(1, 16), mean, std).reshape(-1)
        out = np.concatenate([out[:n - 16], tail])
    return out.astype(npd, copy=False)


def _normal_scalar(eng: MT19937, n: int, mean: float, std: float) -> np.ndarray:
    """``normal_distribution<double>`` n times (float64 results), using and leaving the
    engine's cached sine sample as torch does."""
    out = np.empty(n, f64)
    k = 0
    if n and eng.next_double_normal is not None:
        out[0] = fma64(eng.next_double_normal, std, mean)
        eng.next_double_normal = None
        k = 1
    pairs = (n - k + 1) // 2
    if pairs:
        u = uniform53(eng, 2 * pairs).reshape(pairs, 2)
        r = np.sqrt(-2.0 * _libm(math.log1p, -u[:, 1]))
        theta = (2.0 * math.pi) * u[:, 0]
        both = np.stack([r * _libm(math.cos, theta), r * _libm(math.sin, theta)], 1).ravel()
        if (n - k) % 2:
            eng.next_double_normal = float(both[-1])
        both = both[:n - k]
        out[k:] = both if (mean, std) == (0.0, 1.0) else fma64(both, std, mean)
    return out


def normal(eng: MT19937, n: int, npd, mean: float = 0.0, std: float = 1.0,
           contiguous: bool = True) -> np.ndarray:
    """``normal_(mean, std)`` on ``n`` elements of a float dtype."""
    if n >= 16 and contiguous:
        return _normal_fill(eng, n, npd, mean, std)
    return cast(_normal_scalar(eng, n, mean, std), npd)


# ---- integers ---------------------------------------------------------------------------------
def random_from_to(eng: MT19937, n: int, npd, range_: int, base: int) -> np.ndarray:
    """``random_(from, to)``: ``(draw % range) + from``, 64-bit draws from 2**28 up."""
    v = eng.random64(n) if range_ >= 1 << 28 else eng.random(n).astype(np.uint64)
    v = (v % np.uint64(range_)) + np.uint64(base & 0xFFFF_FFFF_FFFF_FFFF)
    return cast(v.view(np.int64), npd)


def random_full_64(eng: MT19937, n: int, npd) -> np.ndarray:
    """``random_(from=int64 min, to=None)``: a whole ``random64()`` as int64."""
    return cast(eng.random64(n).view(np.int64), npd)


def random_default(eng: MT19937, n: int, npd) -> np.ndarray:
    """``random_()``: [0, 2**mantissa_bits] for floats, [0, max] for integers, bit 0 for
    bool; 64-bit draws for int64 and float64."""
    npd = np.dtype(npd)
    if npd == np.bool_:
        return (eng.random(n) & np.uint32(1)).astype(bool)
    if npd.kind == "f":
        mod = (1 << (np.finfo(npd).nmant + 1)) + 1
    else:
        mod = int(np.iinfo(npd).max) + 1
    v = eng.random64(n) if npd in (np.int64, np.float64) else eng.random(n).astype(np.uint64)
    return (v % np.uint64(mod)).astype(npd)


RANDPERM_LIMIT = (2 ** 32 - 1) // 20


def randperm(eng: MT19937, n: int) -> np.ndarray:
    """torch's CPU ``randperm`` for n < 2**32/20: identity, then swap ``r[i]`` with
    ``r[i + random() % (n - i)]`` for i = 0..n-2 (one 32-bit draw each)."""
    if n >= RANDPERM_LIMIT:
        raise NotImplementedError(
            f"randperm of n >= {RANDPERM_LIMIT} (torch's 64-bit inside-out shuffle) is not "
            "implemented")
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    offs = (eng.random(n - 1) % np.arange(n, 1, -1, dtype=np.uint32)).tolist()
    r = list(range(n))
    for i, z in enumerate(offs):                   # each swap depends on the previous ones
        j = i + z
        r[i], r[j] = r[j], r[i]
    return np.array(r, dtype=np.int64)


# ---- bernoulli, exponential, multinomial ----------------------------------------------------
def bernoulli_scalar(eng: MT19937, n: int, p: float) -> np.ndarray:
    """``bernoulli_(p)`` with a Python-number ``p``: 53-bit uniform < p (bool array)."""
    return uniform53(eng, n) < p


def bernoulli_tensor(eng: MT19937, p: np.ndarray) -> np.ndarray:
    """``bernoulli_(p_tensor)``: ``p`` already expanded and flat in iteration order. float64
    probabilities use a 53-bit uniform, other float types a 24-bit float uniform."""
    if p.dtype == np.float64:
        return uniform53(eng, p.size) < p
    return uniform24(eng, p.size) < p.astype(f32)


def exponential(eng: MT19937, n: int, lambd: float) -> np.ndarray:
    """``exponential_(lambd)`` values in float64 (callers cast): -1/lambd * log1p(-u)."""
    return (-1.0 / lambd) * _libm(math.log1p, -uniform53(eng, n))


def geometric(eng: MT19937, n: int, p: float) -> np.ndarray:
    """``geometric_(p)`` values in float64: ``ceil(log(u) / log1p(-p))``."""
    return np.ceil(_libm(math.log, uniform53(eng, n)) / math.log1p(-p))


def log_normal(eng: MT19937, n: int, mean: float, std: float) -> np.ndarray:
    """``log_normal_(mean, std)`` values in float64: ``exp`` of the scalar normal path (for
    every size: torch's log-normal kernel never uses ``normal_fill``)."""
    return _libm(math.exp, _normal_scalar(eng, n, mean, std))


def cauchy(eng: MT19937, n: int, median: float, sigma: float) -> np.ndarray:
    """``cauchy_(median, sigma)`` values in float64: ``median + sigma * tan(pi * (u - .5))``
    with the multiply-add fused, as compiled."""
    return fma64(sigma, _libm(math.tan, math.pi * (uniform53(eng, n) - 0.5)), median)


def multinomial_with_replacement(eng: MT19937, rows: np.ndarray, n_sample: int) -> np.ndarray:
    """torch's CPU kernel: per row, the running sum in the row's float type divided by the
    total, last bucket forced to 1; then one 53-bit uniform per sample (row-major) and the
    first bucket whose cumulative value is >= the uniform."""
    acc = f64 if rows.dtype == np.float64 else f32
    cum = np.cumsum(rows.astype(acc), axis=1, dtype=acc)   # sequential, like the kernel
    cum = cum / cum[:, -1:]
    cum[:, -1] = 1
    u = uniform53(eng, rows.shape[0] * n_sample).reshape(rows.shape[0], n_sample)
    cum = cum.astype(f64)
    return np.stack([np.searchsorted(c, uu, side="left") for c, uu in zip(cum, u)]
                    ).astype(np.int64).reshape(rows.shape[0], n_sample)


def multinomial_without_replacement(eng: MT19937, probs: np.ndarray, n_sample: int
                                    ) -> np.ndarray:
    """torch's fast path (no replacement, or a single sample): ``q ~ Exp(1)`` in the input's
    dtype, then the ``n_sample`` largest of ``p / q`` along the last dim (argmax for one)."""
    q = exponential(eng, probs.size, 1.0).astype(probs.dtype).reshape(probs.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        key = probs / q
    if n_sample == 1:
        return np.argmax(key, axis=-1)[..., None].astype(np.int64)
    return np.argsort(-key, axis=-1, kind="stable")[..., :n_sample].astype(np.int64)


# ---- element order ----------------------------------------------------------------------------
def memory_order(arr: np.ndarray):
    """The axis permutation that visits ``arr``'s elements in memory order (outermost axis =
    largest stride), which is the order torch's TensorIterator fills a strided output.
    Returns None when that is plain C order."""
    if arr.ndim < 2 or arr.flags.c_contiguous:
        return None
    perm = sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d]) if arr.shape[d] > 1
                  else 0)
    return None if perm == list(range(arr.ndim)) else perm


def dense_memory_order(arr: np.ndarray):
    """:func:`memory_order` when ``arr`` is dense (a permutation of a C-contiguous block), else
    None: the layout torch's ``empty_like`` (preserve format) gives a ``*_like`` result."""
    perm = memory_order(arr)
    return perm if perm is not None and arr.transpose(perm).flags.c_contiguous else None


def to_layout(values: np.ndarray, shape, perm) -> np.ndarray:
    """Arrange flat ``values`` (generated in iteration order) into ``shape`` given the
    permutation from :func:`memory_order`."""
    if perm is None:
        return values.reshape(shape)
    inv = np.argsort(perm)
    return values.reshape([shape[d] for d in perm]).transpose(inv)
