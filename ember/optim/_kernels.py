"""In-place array kernels that reproduce torch's CPU arithmetic for optimizer updates.

torch's CPU kernels for ``add(alpha=)``, ``addcmul`` and ``lerp`` use a fused multiply-add
(one rounding for ``a + b * c``); NumPy rounds the product and the sum separately, which
moves float32 trajectories by an ulp per step and makes printed losses drift from torch's.
For float32 (and float16) arrays these kernels form the product and the sum in float64 —
the product of two float32 values is exact there — and round once to the array's dtype,
which gives torch's fused result (checked against torch element by element). ``add_`` with
a scalar ``alpha`` (and ``lerp_`` with a small weight) goes through the BLAS axpy instead
where it passed its self-test (ember/_backend/fma.py), which is fused in float64 too;
otherwise float64 arrays have no wider type to borrow and use plain NumPy arithmetic (an
ulp from torch at most per operation).

Scalars are rounded to float32 first for float32 arrays, as torch's kernels do with their
``opmath`` scalars. ``addcdiv``, scalar ``mul``/``div`` and ``sqrt`` round per operation in
torch too, so NumPy's arithmetic already matches them bit for bit.

Square roots are NumPy's, which are correctly rounded. torch's CPU ``sqrt`` runs MKL's
vectorized routine, which is not: about one float32 result in five (and a few float64
results in a hundred) is one ulp off the correctly rounded value — deterministic, but not
reproducible without MKL. So the optimizers that take square roots (Adam, AdamW, NAdam,
RAdam, Adagrad, Adadelta, RMSprop, SparseAdam) match torch's float32 trajectories to
rounding rather than bit for bit; every other operation here is bit-exact. All square roots
go through :func:`sqrt`, the one place to change if that is ever solved.

Every function updates ``out`` in place (or returns a new array) and allocates only
per-call temporaries of the array's size.
"""
from __future__ import annotations

from .._backend import xp
from .._backend.fma import LOW as _LOW, axpy_, fma   # _LOW: float32 and float16

_f32 = xp.float32


def real_view(a):
    """The array to update in place: a complex array viewed as real pairs (as torch's
    ``view_as_real``), and a 0-dim array as shape (1,) so NumPy keeps returning arrays."""
    if a.ndim == 0:
        a = a.reshape(1)
    if a.dtype.kind == "c":
        return a.view(a.real.dtype)
    return a


def like(a, ref):
    """``a`` (possibly a real view) viewed with ``ref``'s dtype, undoing :func:`real_view`."""
    return a.view(ref.dtype) if a.dtype != ref.dtype else a


def _fma(out, x, y, z):
    """``out <- x * y + z`` rounded once to ``out``'s dtype (see ember/_backend/fma.py)."""
    return fma(x, y, z, out.dtype, out=out)


def add_(out, other, alpha: float = 1.0) -> None:
    """``out.add_(other, alpha=alpha)``: out <- out + alpha * other, one rounding."""
    if alpha == 1:
        xp.add(out, other, out=out)
    elif out.dtype in _LOW:
        _fma(out, other, float(_f32(alpha)), out)
    elif not axpy_(out, other, float(alpha)):
        out += other * alpha


def add(a, other, alpha: float = 1.0):
    """``a.add(other, alpha=alpha)`` as a new array."""
    if alpha == 1:
        return a + other
    if a.shape == other.shape and a.dtype == other.dtype:
        out = a.copy()                    # fused through BLAS when it can (see add_)
        if axpy_(out, other, float(_f32(alpha)) if a.dtype in _LOW else float(alpha)):
            return out
    if a.dtype in _LOW:
        return _fma(xp.empty(xp.broadcast_shapes(a.shape, other.shape), dtype=a.dtype),
                    other, float(_f32(alpha)), a)
    return a + other * alpha


def addcmul_(out, t1, t2, value: float = 1.0) -> None:
    """``out.addcmul_(t1, t2, value=value)``: out <- out + (value * t1) * t2, one rounding
    for the final multiply-add (``value * t1`` is rounded first, as in torch)."""
    if out.dtype in _LOW:
        _fma(out, xp.multiply(t1, float(value), dtype=_f32) if value != 1 else t1, t2, out)
    else:
        t = t1 * value if value != 1 else t1 * 1.0
        t *= t2
        out += t


def addcdiv_(out, t1, t2, value: float = 1.0) -> None:
    """``out.addcdiv_(t1, t2, value=value)``: out <- out + (value * t1) / t2."""
    t = xp.multiply(t1, float(value), dtype=out.dtype) if value != 1 else t1.copy()
    t /= t2
    out += t


def sqrt(a, out=None):
    """Elementwise square root (correctly rounded; see the module docstring)."""
    return xp.sqrt(a, out=out)


def lerp_(out, end, weight: float) -> None:
    """``out.lerp_(end, weight)`` with torch's two-sided formula: for ``|w| < 0.5``
    ``out + w * (end - out)``, otherwise ``end + (w - 1) * (end - out)``."""
    d = end - out
    if out.dtype in _LOW:
        w = _f32(weight)
        if abs(w) < 0.5:
            _fma(out, d, float(w), out)
        else:
            _fma(out, d, float(w - _f32(1)), end)
    elif abs(weight) < 0.5:
        d *= weight
        out += d
    else:
        d *= weight - 1.0
        xp.add(end, d, out=out)


def param_and_grad(param, grad, maximize: bool):
    """The arrays an update works on: the parameter's data and its gradient (negated for
    ``maximize``), both through :func:`real_view`."""
    g = real_view(grad._data)
    return real_view(param._data), (-g if maximize else g)


def advance(step_t) -> float:
    """``step_t += 1`` on a 0-dim step tensor, in place; returns the new count."""
    a = step_t._data
    a += 1
    return float(a)
