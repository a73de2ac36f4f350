"""Loss primitives: the fused cross_entropy (log_softmax + nll in one pass), nll_loss, and the
pointwise losses whose grad_fn torch names (MseLoss, SmoothL1Loss, HuberLoss,
BinaryCrossEntropy, BinaryCrossEntropyWithLogits, SoftMarginLoss).

Pointwise losses compute the forward on arrays and the backward with Tensor ops, so they are
differentiable to any order; gradients flow to the target too, as in torch.
"""
from __future__ import annotations

from .._backend import parallel, xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from . import elementwise as _ew
from ._util import sum_to
from .._backend.reduce import sum_like_torch

_wrap = Tensor._wrap


def _sum_all(a):
    """Full sum in torch's CPU summation order (bit-identical float32 losses)."""
    r = sum_like_torch(a, tuple(range(a.ndim)), False) if a.dtype.kind == "f" else None
    return r if r is not None else a.sum()


def _reduce_np(l, reduction):
    if reduction == "none":
        return l
    if reduction == "sum":
        return _sum_all(l)
    if not l.size:
        return xp.asarray(xp.nan, dtype=l.dtype)
    return xp.asarray(_sum_all(l) / l.dtype.type(l.size), dtype=l.dtype)


class _Pointwise(Primitive):
    """loss(x, y) reduced; subclasses give ``loss`` (arrays) and ``grads`` (Tensors)."""
    save_inputs = (0, 1)
    grad_name = ""

    def forward(self, x, y, reduction, **p):
        self.reduction, self.p = reduction, p
        l = self.loss(x, y, **p)
        self.n = l.size
        self.full = l.shape
        return _reduce_np(l, reduction)

    def backward(self, g):
        x, y = self.saved_inputs
        norm = 1.0 / self.n if self.reduction == "mean" else 1.0
        need_x = self.next_functions[0][0] is not None
        need_y = self.next_functions[1][0] is not None
        gx, gy = self.grads(x, y, g, norm, need_x, need_y, **self.p)
        gx = sum_to(gx, x._data.shape) if need_x else None
        gy = sum_to(gy, y._data.shape) if need_y else None
        return gx, gy

    def name(self):
        return self.grad_name


class _DiffLoss(_Pointwise):
    """A loss of ``d = x - y``: ``grad_x = dloss(d) * (factor * norm) * grad = -grad_y``
    (torch's multiplication order, so float32 gradients match bit for bit)."""
    factor = 1.0

    @classmethod
    def grads(cls, x, y, g, norm, need_x, need_y, **p):
        gx = cls.dloss(x - y, **p) * (cls.factor * norm) * g
        return gx, (-gx if need_y else None)


class MseLoss(_DiffLoss):
    grad_name = "MseLossBackward0"
    factor = 2.0

    @staticmethod
    def loss(x, y):
        d = x - y
        d *= d
        return d

    @staticmethod
    def dloss(d):
        return d


class SmoothL1Loss(_DiffLoss):
    grad_name = "SmoothL1LossBackward0"

    @staticmethod
    def loss(x, y, beta):
        d = xp.abs(x - y)
        if beta == 0:
            return d
        return xp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)

    @staticmethod
    def dloss(d, beta):
        return _ew.sign(d) if beta == 0 else _ew.clamp(d / beta, -1, 1)


class HuberLoss(_DiffLoss):
    grad_name = "HuberLossBackward0"

    @staticmethod
    def loss(x, y, delta):
        d = xp.abs(x - y)
        return xp.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))

    @staticmethod
    def dloss(d, delta):
        return _ew.clamp(d, -delta, delta)


class BinaryCrossEntropy(_Pointwise):
    grad_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def loss(x, y, weight):
        with xp.errstate(divide="ignore", invalid="ignore"):
            lx = xp.maximum(xp.log(x), -100)
            l1x = xp.maximum(xp.log1p(-x), -100)
        l = -(y * lx + (1 - y) * l1x)
        return l * weight if weight is not None else l

    @staticmethod
    def grads(x, y, g, norm, need_x, need_y, weight):
        w = _wrap(weight) if weight is not None else None
        dx = dy = None
        if need_x:
            dx = (x - y) / _ew.clamp_min((1 - x) * x, 1e-12) * g
            dx = (dx * w if w is not None else dx) * norm
        if need_y:
            dy = (_ew.clamp_min(_ew.log1p(-x), -100) - _ew.clamp_min(_ew.log(x), -100)) * g
            dy = (dy * w if w is not None else dy) * norm
        return dx, dy


class BinaryCrossEntropyWithLogits(_Pointwise):
    grad_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def loss(x, y, weight, pos_weight):
        sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))   # softplus(-x)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
        l = (1 - y) * x + lw * sp
        return l * weight if weight is not None else l

    @staticmethod
    def grads(x, y, g, norm, need_x, need_y, weight, pos_weight):
        pw = _wrap(pos_weight) if pos_weight is not None else None
        w = _wrap(weight) if weight is not None else None
        dx = dy = None
        if need_x:
            s = _ew.sigmoid(-x)
            dx = (1 - y) - (s if pw is None else (1 + (pw - 1) * y) * s)
        if need_y:
            dy = -x if pw is None else \
                (pw - 1) * (_ew.clamp_min(-x, 0) + _ew.log1p(_ew.exp(-_ew.abs(x)))) - x
        dx, dy = ((d * g * norm if w is None else d * w * g * norm) if d is not None else None
                  for d in (dx, dy))
        return dx, dy


class SoftMarginLoss(_Pointwise):
    """torch's formulas as written: loss log1p(exp(-x y)) (inf once exp overflows), input
    gradient ((y z) * -norm) / (1 + z) * g with z = exp(-y x) (NaN where z is inf)."""
    grad_name = "SoftMarginLossBackward0"

    @staticmethod
    def loss(x, y):
        with xp.errstate(over="ignore"):
            return xp.log1p(xp.exp(-x * y))

    @staticmethod
    def grads(x, y, g, norm, need_x, need_y):
        gx = gy = None
        if need_x:
            z = _ew.exp(-y * x)
            gx = (y * z) * (-norm) / (z + 1) * g
        if need_y:
            gy = -x * (_ew.sigmoid(-y * x) * g * norm)
        return gx, gy


# ---------------------------------------------------------------------------------------
# nll_loss and the fused cross_entropy
# ---------------------------------------------------------------------------------------
def _rows(x):
    """View the class dim (1, or 0 for an unbatched input) as the last axis of 2-D rows."""
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return xp.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(g2, shape):
    if len(shape) == 1:
        return g2[0]
    if len(shape) == 2:
        return g2
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.moveaxis(g2.reshape(moved), -1, 1)


def _log_softmax_rows(x2, ts, want_probs):
    """For logits ``x2 (R, C)``: ``s = exp(x - rowmax)`` (divided by its row sums if
    ``want_probs``), the shifted logit ``x - rowmax`` of each row's target, and the row
    sums. Row by row, so large inputs are split over ember's workers by rows (the same
    arithmetic per row, so the same bits)."""
    R, C = x2.shape
    if not C:
        return x2.copy(), x2[xp.arange(R), ts], xp.add.reduce(x2, axis=1)
    s = xp.empty((R, C), dtype=x2.dtype)
    picked = xp.empty(R, dtype=x2.dtype)
    se = xp.empty(R, dtype=x2.dtype)

    def rows(lo, hi):
        ss = s[lo:hi]
        xp.subtract(x2[lo:hi], xp.maximum.reduce(x2[lo:hi], axis=1, keepdims=True), out=ss)
        picked[lo:hi] = ss[xp.arange(hi - lo), ts[lo:hi]]
        xp.exp(ss, out=ss)
        xp.add.reduce(ss, axis=1, out=se[lo:hi])
        if want_probs:
            ss /= se[lo:hi, None]
    if R * C >= parallel.FLAT_MIN and R > 1:
        parallel.flat(R, rows, max(1, parallel.FLAT_PIECE // C), align=1, split=True)
    else:
        rows(0, R)
    return s, picked, se


class _ClassLoss(Primitive):
    """nll_loss (``logits=False``, input = log-probabilities) or cross_entropy
    (``logits=True``: log_softmax fused in) with class-index targets."""
    save_inputs = (0,)
    logits = False

    def forward(self, x, target, weight, reduction, ignore_index, all_valid=False):
        """``all_valid``: the caller has checked that no target equals ``ignore_index``."""
        x2 = _rows(x)
        t = target.reshape(-1)
        R, C = x2.shape
        # every target counted with weight 1 (the usual case): no masking, and the weight sum
        # is the row count (exact in float32/float64 below 2**24); the weights then stay None
        # (a vector of ones, which multiplies nothing away)
        plain = (weight is None and x.dtype.kind == "f" and x.dtype.itemsize >= 4
                 and R < (1 << 24))
        valid = None
        if plain and not all_valid:
            valid = t != ignore_index
            plain = xp.count_nonzero(valid) == R
        if plain:
            ts, wt, valid = t.copy(), None, None
        else:
            if valid is None:
                valid = t != ignore_index
            ts = xp.where(valid, t, 0)
            wt = valid.astype(x.dtype)
            if weight is not None:
                wt = xp.where(valid, weight[ts], 0).astype(x.dtype, copy=False)
        ar = self.ar = xp.arange(R)
        if self.logits:
            s, picked, se = _log_softmax_rows(x2, ts, self.requires_grad)
            if self.requires_grad:
                self.probs = s
            # log(se) - picked == -(picked - log(se)) bit for bit (rounding is symmetric)
            loss = xp.log(se)
            loss -= picked
            if not plain:
                loss *= wt
        else:
            picked = x2[ar, ts]
            loss = -picked if plain else -picked * wt     # x * 1 == x, bit for bit
        self.x_shape, self.t_shape, self.reduction = x.shape, target.shape, reduction
        self.ts, self.wt, self.valid = ts, wt, valid
        if reduction == "none":
            return loss.reshape(target.shape)
        total = xp.add.reduce(loss, axis=None)
        if reduction == "sum":
            return total
        if plain:
            # a nonzero divisor (R > 0): no divide-by-zero/invalid flags for errstate to silence
            self.wsum = x.dtype.type(R)
            if R:
                return xp.asarray(total / self.wsum, dtype=x.dtype)
        else:
            self.wsum = wt.sum()
        with xp.errstate(invalid="ignore", divide="ignore"):
            return xp.asarray(total / self.wsum, dtype=x.dtype)

    def _coef(self, g):
        """Per-row gradient scale: a Tensor when building a graph (``g`` a Tensor), else an
        array, which is a scalar for plain targets."""
        wt = self.wt
        graph = isinstance(g, Tensor)
        if graph:   # the graph reshapes the scale to a column: a vector of ones, not None
            wt = _wrap(xp.ones(self.ts.size, dtype=g._data.dtype) if wt is None else wt)
        if self.reduction == "none":
            g = g.reshape(-1)
            return g if wt is None else g * wt
        if self.reduction == "mean":
            if self.wsum == 0:              # everything ignored: torch's gradient is zero
                return g * 0 if wt is None else g * 0 * wt
            g = g / (float(self.wsum) if graph else self.wsum)
        return g if wt is None else g * wt

    def backward(self, g):
        # Zero signs as torch's kernels: ignored rows (and, through the softmax, entries
        # whose probability underflowed) get +0.0, which p * coef would make -0.0 for a
        # negative (or -0.0) coefficient; adding +0.0 fixes that and changes no other value.
        R = self.ts.size
        C = self.x_shape[1] if len(self.x_shape) > 1 else self.x_shape[0]
        ar, ts, valid = self.ar, self.ts, self.valid
        rows = (ar, ts) if valid is None or valid.all() else (ar[valid], ts[valid])
        if STATE.enabled:
            onehot = xp.zeros((R, C), dtype=g._data.dtype)
            onehot[rows] = 1
            oh = _wrap(_unrows(onehot, self.x_shape))
            coef = self._coef(g)
            cshape = list(self.x_shape)
            cshape[1 if len(cshape) > 1 else 0] = 1
            coef = coef.reshape(tuple(cshape))
            if self.logits:
                x, = self.saved_inputs
                from .nn_ops import Softmax
                p = Softmax.apply(x, dim=1 if x.dim() > 1 else 0)
                gx = (p - oh) * coef
                return gx + 0.0 if xp.signbit(coef._data).any() else gx
            return _ew.where(oh != 0, -coef, 0.0)
        coef = self._coef(g._data)
        if self.logits:
            gx2 = self.probs * (coef[:, None] if xp.ndim(coef) else coef)
            gx2[ar, ts] -= coef
            if xp.signbit(coef).any():
                gx2 += 0.0
        else:
            gx2 = xp.zeros((R, C), dtype=g._data.dtype)
            gx2[rows] = -(coef if rows[0] is ar or not xp.ndim(coef) else coef[valid])
        return _wrap(_unrows(gx2, self.x_shape))

    def _release(self):
        super()._release()
        self.probs = None

    def name(self):
        return "NllLoss2DBackward0" if len(self.x_shape) >= 3 else "NllLossBackward0"


class NllLoss(_ClassLoss):
    logits = False
    save_inputs = ()


class CrossEntropyFused(_ClassLoss):
    logits = True
