r"""Muon (Keller Jordan, 2024): momentum whose update is orthogonalized by a Newton–Schulz
iteration, for 2-D parameters (the weight matrices of hidden layers).

Algorithm (torch's, each step, for each A×B parameter θ with gradient g)::

    b ← lerp(b, g, 1 - μ)                       (= μ · b + (1 - μ) · g, as torch's code;
                                                 its docs write μ · b + g)
    u ← lerp(g, b, μ)  if nesterov, else u ← b
    X ← bf16(u), transposed if A > B            (the iteration runs in bfloat16)
    X ← X / max(‖X‖_F, eps)
    repeat ns_steps times, with (a, b, c) = ns_coefficients:
        G ← X Xᵀ
        X ← a · X + (b · G + c · G G) X
    O ← X, transposed back if A > B
    θ ← θ · (1 - lr · λ)
    θ ← θ - lr · s · O      s = sqrt(max(1, A / B))   (adjust_lr_fn None or "original")
                            s = 0.2 · sqrt(max(A, B)) (adjust_lr_fn "match_rms_adamw")

State per parameter: ``momentum_buffer`` (b). Parameters that are not 2-D are refused when
the optimizer is built (use e.g. AdamW for biases and embeddings, as torch advises).

bfloat16: NumPy has none, so the iteration keeps float32 arrays holding bfloat16 values,
rounding to nearest-even after every operation as torch's CPU kernels do (each op computes
in float32 and rounds once). Matrix products reproduce torch's CPU summation order (float32
products summed into four interleaved partial sums; ``addmm`` ends with
``fma(beta, C, alpha · dot)``), so for products with m·n·k ≤ 4096 the update is
bit-identical to torch's. Larger products go to oneDNN in torch, whose float32 summation
order ember does not reproduce; ember sums those in float64, and about one element in 10⁴
then differs from torch's by one bfloat16 ulp.
"""
from __future__ import annotations

import math

from .._backend import xp
from .._tensor import Tensor
from . import _kernels as K
from .adafactor import _check_dense_real, _check_lr_nonneg
from .optimizer import Optimizer, ParamsT, _closure_loss, _to_scalar, _zeros_like

__all__ = ["Muon", "muon"]

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5

_f32 = xp.float32
_f64 = xp.float64
_SMALL_GEMM = 16 * 16 * 16   # torch's CPU bfloat16 matmul uses oneDNN above this m·n·k


def _bf16(a):
    """Round (a float32 copy of) ``a`` to bfloat16, nearest-even; returned as float32."""
    x = xp.ascontiguousarray(a, dtype=_f32)
    u = x.view(xp.uint32)
    u = (u + (((u >> 16) & 1) + xp.uint32(0x7FFF))) & xp.uint32(0xFFFF0000)
    out = u.view(_f32)
    nan = xp.isnan(x)
    if nan.any():
        out[nan] = xp.nan
    return out


def _dot(a, b):
    """``a @ b`` of bfloat16-valued float32 matrices, unrounded float32 sums (see module
    docstring for the order)."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k > _SMALL_GEMM:
        return (a.astype(_f64) @ b.astype(_f64)).astype(_f32)
    partial = xp.zeros((4, m, n), dtype=_f32)
    full = k - k % 4
    for l in range(k):
        partial[l % 4 if l < full else 0] += xp.multiply.outer(a[:, l], b[l])
    acc = partial[0]
    for j in (1, 2, 3):
        acc += partial[j]
    return acc


def _addmm(c, a, b, beta: float, alpha: float = 1.0):
    """``torch.addmm(c, a, b, beta=beta, alpha=alpha)`` on bfloat16 values."""
    t = _dot(a, b)
    t *= _f32(alpha)
    return _bf16(xp.multiply(c, float(_f32(beta)), dtype=_f64) + t)   # fused: one rounding


def _zeropower_via_newtonschulz(grad, ns_coefficients: tuple[float, float, float],
                                ns_steps: int, eps: float):
    """The orthogonalized update for a 2-D gradient array (bfloat16 values in float32)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.shape[0] > grad.shape[1]
    x = _bf16(grad.T if tall else grad)
    norm = _bf16(xp.sqrt(_f32(xp.sum(xp.square(x, dtype=_f64)))))
    norm = _bf16(xp.maximum(norm, _f32(eps)))
    x = _bf16(x / norm)
    for _ in range(ns_steps):
        gram = _bf16(_dot(x, x.T))
        update = _addmm(gram, gram, gram, b, c)
        x = _addmm(x, update, x, a)
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    """``lr`` scaled so the orthogonalized update's RMS suits an A×B matrix."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    return lr


class Muon(Optimizer):
    """Muon; see the module docstring for the update.

    Args: ``lr`` (1e-3), ``weight_decay`` (0.1, decoupled), ``momentum`` (0.95),
    ``nesterov`` (True), ``ns_coefficients`` ((3.4445, -4.7750, 2.0315)), ``eps`` (1e-7),
    ``ns_steps`` (5), ``adjust_lr_fn`` (None = ``"original"``, or ``"match_rms_adamw"``).
    Every parameter must be 2-D.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B,
                                                                DEFAULT_C),
                 eps: float = EPS, ns_steps: int = DEFAULT_NS_STEPS,
                 adjust_lr_fn: str | None = None) -> None:
        _check_lr_nonneg(lr)
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                        nesterov=nesterov, ns_coefficients=ns_coefficients, eps=eps,
                        ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    @staticmethod
    def _new_state(p: Tensor, group: dict) -> dict:
        return {"momentum_buffer": _zeros_like(p._grad)}

    def step(self, closure=None):
        """Perform a single optimization step; ``closure`` re-evaluates the loss."""
        loss = _closure_loss(closure)
        for group in self.param_groups:
            _check_dense_real(group, "Muon")
            params, grads, s = self._gather(group, self._new_state, ("momentum_buffer",))
            muon(params, grads, s["momentum_buffer"], lr=group["lr"],
                 weight_decay=group["weight_decay"], momentum=group["momentum"],
                 nesterov=group["nesterov"], ns_coefficients=group["ns_coefficients"],
                 eps=group["eps"], ns_steps=group["ns_steps"],
                 adjust_lr_fn=group["adjust_lr_fn"], has_complex=False)
        return loss


def muon(params: list[Tensor], grads: list[Tensor], muon_momentum_bufs: list[Tensor], *,
         foreach: bool | None = None, lr: float | Tensor, weight_decay: float,
         momentum: float, nesterov: bool, ns_coefficients: tuple[float, float, float],
         ns_steps: int, eps: float, adjust_lr_fn: str | None, has_complex: bool) -> None:
    """Functional Muon: update ``params`` and their momentum buffers in place."""
    if foreach:
        raise RuntimeError("Foreach is not supported for Muon yet")
    if has_complex:
        raise ValueError("Complex parameters are not supported")
    lr = float(_to_scalar(lr))
    for i, param in enumerate(params):
        g = grads[i]._data
        if g.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        buf = muon_momentum_bufs[i]._data
        K.lerp_(buf, g, 1 - momentum)
        if nesterov:
            u = g.copy()
            K.lerp_(u, buf, momentum)
        else:
            u = buf
        ortho = _zeropower_via_newtonschulz(u, ns_coefficients, ns_steps, eps)
        p = param._data
        p *= 1 - lr * weight_decay
        K.add_(p, ortho.astype(p.dtype, copy=False), -_adjust_lr(lr, adjust_lr_fn, p.shape))
        param._version.v += 1
