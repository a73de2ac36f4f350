"""Array kernels for the error function family: erf, erfc and erfinv.

NumPy has no error function, so these are built from backend array operations:

* ``erf_array``/``erfc_array``: W. J. Cody's rational Chebyshev approximations
  ("Rational Chebyshev approximations for the error function", Math. Comp. 23, 1969),
  the scheme behind netlib's CALERF, evaluated piecewise on ``|x| <= 0.46875``,
  ``0.46875 < |x| <= 4`` and ``|x| > 4``. Accurate to a few float64 ulps everywhere;
  erfc keeps its relative accuracy far into the tail (no ``1 - erf`` cancellation).
* ``erfinv_array``: M. Giles' approximation ("Approximating the erfinv function",
  GPU Computing Gems, 2011) as a starting point, refined by Newton steps on ``erf``
  (centre) or on ``erfc`` (tails, where ``1 - |y|`` is exact), which brings it to float64
  round-off.

Every kernel computes in float64 and returns the input's floating dtype; the Primitives
that make them differentiable live in ``elementwise.py``.
"""
from __future__ import annotations

import math

from .._backend import xp

_SQRT_PI_INV = 5.6418958354775628695e-1   # 1 / sqrt(pi)
_TWO_OVER_SQRT_PI = 2.0 * _SQRT_PI_INV

# Cody's coefficient sets (as published), highest-degree term handled by the loops below.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)

_SMALL = 0.46875
_XBIG = 27.3          # erfc(x) underflows to 0 (past the subnormals) beyond this
_SELECT_MIN = 4096    # arrays from this size evaluate both pieces everywhere and select
_CHUNK = 32768        # larger arrays are done in pieces of this many elements


def _horner(z, coefs, lead):
    """``(((lead*z + c0)*z + c1)*z ...)`` in place: ``lead*z`` then ``+c, *z`` per c."""
    acc = z * lead
    for c in coefs:
        acc += c
        acc *= z
    return acc


def _ratio(z, p, q):
    """Cody's rational form in ``z``: the numerator's leading coefficient is ``p[-1]`` and
    its constant term ``p[-2]``; the denominator is monic with constant term ``q[-1]``."""
    num = _horner(z, p[:-2], p[-1])
    num += p[-2]
    den = _horner(z, q[:-1], 1.0)
    den += q[-1]
    num /= den
    return num


def _erf_small(y):
    """erf(y) for |y| <= 0.46875 (odd function: works with the sign of y)."""
    r = _ratio(y * y, _A, _B)
    r *= y
    return r


def _exp_neg_sq(y, exact):
    """exp(-y*y). ``exact`` (float64 results) splits y*y as Cody does, so the rounding of
    y*y (relative error ~y**2 ulps) does not reach the result; float32/16 results do not
    need it and save an exp."""
    if not exact:
        r = y * y
        xp.negative(r, out=r)
        return xp.exp(r, out=r)
    ysq = xp.trunc(16.0 * y)
    ysq /= 16.0
    delta = (y - ysq) * (y + ysq)
    ysq *= ysq
    xp.negative(ysq, out=ysq)
    xp.negative(delta, out=delta)
    r = xp.exp(ysq, out=ysq)
    r *= xp.exp(delta, out=delta)
    return r


def _erfc_mid(y, exact):
    """erfc(y) for 0.46875 < y <= 4."""
    r = _ratio(y, _C, _D)
    r *= _exp_neg_sq(y, exact)
    return r


def _erfc_tail(y, exact):
    """erfc(y) for y > 4 (0 past the underflow point)."""
    y = xp.minimum(y, _XBIG)
    z = 1.0 / (y * y)
    r = _SQRT_PI_INV - z * _ratio(z, _P, _Q)
    r /= y
    r *= _exp_neg_sq(y, exact)
    r[y >= _XBIG] = 0.0
    return r


def _erfc_pos(y, exact):
    """erfc(y) for y >= 0.46875, piecewise on the subsets (y: float64, 1-d)."""
    mid = y <= 4.0
    if mid.all():
        return _erfc_mid(y, exact)
    out = xp.empty_like(y)
    with xp.errstate(all="ignore"):
        out[mid] = _erfc_mid(y[mid], exact)
        tail = ~mid
        out[tail] = _erfc_tail(y[tail], exact)
    return out


def _as_f64(x):
    return x.astype(xp.float64) if x.dtype != xp.float64 else x


def _erf_family(x, complement):
    if x.size <= _CHUNK:
        return _erf_family_flat(x.reshape(-1), complement).reshape(x.shape)
    # large arrays a cache-sized piece at a time: the ~40 float64 temporaries of each piece
    # stay in cache (2.4M float32 arguments: 56 -> ~32 ms); elementwise, so the same bits
    xf = x.reshape(-1)
    out = xp.empty(xf.shape, x.dtype)
    for i in range(0, xf.size, _CHUNK):
        out[i:i + _CHUNK] = _erf_family_flat(xf[i:i + _CHUNK], complement)
    return out.reshape(x.shape)


def _erf_family_flat(x, complement):
    """erf / erfc of a 1-d array."""
    x64 = _as_f64(x)
    y = xp.abs(x64)
    small = y <= _SMALL
    if small.all():
        out = _erf_small(x64)
        if complement:
            out = 1.0 - out
    elif small.sum() * 8 < small.size or x64.size < _SELECT_MIN:
        # mostly large arguments (or few elements): evaluate each piece on its subset
        out = xp.empty_like(x64)
        e = _erf_small(x64[small])
        out[small] = 1.0 - e if complement else e
        big = ~(small | xp.isnan(y))
        xb = x64[big]
        c = _erfc_pos(y[big], x.dtype == xp.float64)
        if complement:
            out[big] = xp.where(xb < 0, 2.0 - c, c)
        else:
            out[big] = xp.copysign(1.0 - c, xb)
        nan = xp.isnan(y)
        out[nan] = x64[nan]
    else:
        # both pieces over the whole array, then a select: gathering and scattering a mixed
        # subset with boolean masks costs ~5 ns an element each way, more than the pieces'
        # arithmetic (2.4M float32 arguments: 77 -> 56 ms). Same formulas per element, so
        # the same bits.
        with xp.errstate(all="ignore"):
            e = _erf_small(x64)
            c = _erfc_pos(xp.clip(y, _SMALL, None), x.dtype == xp.float64)
            if complement:
                out = xp.where(small, 1.0 - e, xp.where(x64 < 0, 2.0 - c, c))
            else:
                out = xp.where(small, e, xp.copysign(1.0 - c, x64))
        nan = xp.isnan(y)
        if nan.any():
            out[nan] = x64[nan]
    return out.astype(x.dtype, copy=False)


def erf_array(x):
    """erf of a floating array (computed in float64, returned in ``x.dtype``)."""
    return _erf_family(x, False)


def erfc_array(x):
    """erfc of a floating array (computed in float64, returned in ``x.dtype``)."""
    return _erf_family(x, True)


def _giles(y):
    """Giles' single-precision erfinv approximation (relative error ~1e-7) for |y| < 1."""
    w = -xp.log((1.0 - y) * (1.0 + y))
    c = w - 2.5
    p1 = 2.81022636e-08
    for k in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p1 = k + p1 * c
    t = xp.sqrt(w) - 3.0
    p2 = -0.000200214257
    for k in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        p2 = k + p2 * t
    return xp.where(w < 5.0, p1, p2) * y


def erfinv_array(x):
    """erfinv of a floating array: ±inf at ±1, NaN outside [-1, 1]."""
    y64 = _as_f64(x).reshape(-1)
    a = xp.abs(y64)
    out = xp.full_like(y64, math.nan)
    with xp.errstate(all="ignore"):
        # centre: Giles' start (~1e-7) and two Newton steps on erf (quadratic convergence)
        centre = a <= 0.5
        yc = a[centre]
        r = _giles(yc)
        for _ in range(2):
            r -= (erf_array(r) - yc) / (_TWO_OVER_SQRT_PI * xp.exp(-r * r))
        out[centre] = r
        # tails: Newton on log(erfc(r)) = log(1 - |y|); 1 - |y| is exact for |y| >= 0.5 and
        # the log makes the function nearly quadratic, so the steps converge quickly even
        # from Giles' rough start close to |y| = 1.
        tail = (a > 0.5) & (a < 1.0)
        yt = a[tail]
        log_q = xp.log(1.0 - yt)
        r = _giles(yt)
        for _ in range(4):
            c = erfc_array(r)
            r += (xp.log(c) - log_q) * c / (_TWO_OVER_SQRT_PI * xp.exp(-r * r))
        out[tail] = r
        out[a == 1.0] = math.inf
        out = xp.copysign(out, y64)
        nan = xp.isnan(y64)
        out[nan] = y64[nan]
    return out.reshape(x.shape).astype(x.dtype, copy=False)
