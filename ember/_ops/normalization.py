"""Fused normalization primitives: batch_norm, layer_norm, group_norm (and instance_norm on
top of batch_norm, as torch builds it).

All three are one primitive, ``_Normalize``: the input is viewed in a working layout, the
statistics are taken over ``axes`` and the affine weight/bias broadcast with ``wshape``:

* batch norm: ``(N, C, L)``, stats over (0, 2), weight ``(1, C, 1)``
* layer norm: ``(M, K)``, stats over (1,), weight ``(1, K)``
* group norm: ``(N, G, C/G, L)``, stats over (2, 3), weight ``(1, G, C/G, 1)``

Backward uses the closed form ``invstd * (gxhat - mean(gxhat) - xhat * mean(gxhat * xhat))``
on arrays, or the same formula in Tensor ops when ``create_graph=True``.
"""
from __future__ import annotations

import math
import numbers

from .._backend import xp
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE
from ._util import sum_to

_wrap = Tensor._wrap


class _Normalize(Primitive):
    save_inputs = (0, 1)
    grad_name = ""

    def forward(self, x, w, b, work, axes, wshape, eps, running=None, momentum=0.0,
                use_running=False):
        if x.dtype.kind not in "fc":
            raise RuntimeError(f"expected scalar type Float but found "
                               f"{str(x.dtype).capitalize()}")
        self.x_shape, self.work, self.axes, self.wshape = x.shape, work, axes, wshape
        self.has_b, self.eps = b is not None, eps
        self.use_running = use_running
        xw = x.reshape(work)
        if use_running:
            mean = running[0]._data.reshape(wshape).astype(x.dtype, copy=False)
            var = running[1]._data.reshape(wshape).astype(x.dtype, copy=False)
            xc = xw - mean
            out = xc
        else:
            n = xw.size // max(math.prod(xw.shape[a] for a in range(xw.ndim)
                                         if a not in axes), 1)
            mean = _mean(xw, axes, n)
            xc = xw - mean
            out = xp.square(xc)
            var = _mean(out, axes, n)
            if running is not None:
                self._update_running(running, mean, var, n, momentum)
        invstd = 1 / xp.sqrt(var + eps)
        if self.requires_grad:
            self.mean, self.invstd = mean, invstd
        scale = invstd if w is None else invstd * w.reshape(wshape)
        xp.multiply(xc, scale, out=out)       # one pass: (x - mean) * invstd * w
        if b is not None:
            out += b.reshape(wshape)
        return out.reshape(x.shape)

    @staticmethod
    def _update_running(running, mean, var, n, momentum):
        rm, rv = running
        with xp.errstate(divide="ignore", invalid="ignore"):
            unbiased = var * (n / (n - 1)) if n > 1 else var * xp.inf
        rm._data *= 1 - momentum
        rm._data += (momentum * mean).reshape(rm._data.shape).astype(rm._data.dtype)
        rv._data *= 1 - momentum
        rv._data += (momentum * unbiased).reshape(rv._data.shape).astype(rv._data.dtype)
        rm._version.v += 1
        rv._version.v += 1

    def _release(self):
        super()._release()
        self.mean = self.invstd = None

    def backward(self, g):
        x, w = self.saved_inputs
        need_x = self.next_functions[0][0] is not None
        need_w = w is not None and self.next_functions[1][0] is not None
        need_b = self.has_b and self.next_functions[2][0] is not None
        if STATE.enabled:
            return self._backward_graph(g, x, w, need_x, need_w, need_b)
        work, axes, wshape = self.work, self.axes, self.wshape
        gd = g._data.reshape(work)
        n = gd.size // self.invstd.size
        xhat = x._data.reshape(work) - self.mean
        xhat *= self.invstd
        gx = gwt = gbt = None
        # reductions over the non-affine axes (shared by weight/bias grads and, for batch
        # norm, whose stats axes are those same axes, by the input grad)
        gb = _reduce_to(gd, wshape) if (need_b or need_x) else None
        t = gd * xhat
        gw = _reduce_to(t, wshape)
        wshape_param = w.shape if w is not None else self._b_shape()
        if need_w:
            gwt = _wrap(gw.reshape(w.shape))
        if need_b:
            gbt = _wrap(gb.reshape(wshape_param))
        if need_x:
            wb = w._data.reshape(wshape) if w is not None else None
            if self.use_running:
                gx = gd * (self.invstd if wb is None else self.invstd * wb)
            elif _same_axes(axes, wshape):
                # batch norm: mean(gxhat) = w*gb/n and mean(gxhat*xhat) = w*gw/n
                xp.multiply(xhat, gw / n, out=t)
                xp.subtract(gd, t, out=t)
                t -= gb / n
                t *= self.invstd if wb is None else self.invstd * wb
                gx = t
            else:
                gxhat = gd * wb if wb is not None else gd
                s1 = _mean(gxhat, axes, n)
                xp.multiply(gxhat, xhat, out=t)
                s2 = _mean(t, axes, n)
                xp.multiply(xhat, s2, out=t)
                t += s1
                xp.subtract(gxhat, t, out=t)
                t *= self.invstd
                gx = t
            gx = _wrap(gx.reshape(self.x_shape))
        return gx, gwt, gbt

    def _b_shape(self):
        return tuple(s for s in self.wshape if s != 1) or (1,)

    def _backward_graph(self, g, x, w, need_x, need_w, need_b):
        work, axes, wshape = self.work, self.axes, self.wshape
        gw_ = g.reshape(work)
        xw = x.reshape(work)
        if self.use_running:
            invstd = _wrap(self.invstd)
            xhat = (xw - _wrap(self.mean)) * invstd
        else:
            mean = xw.mean(axes, keepdim=True)
            xc = xw - mean
            invstd = ((xc * xc).mean(axes, keepdim=True) + self.eps).rsqrt()
            xhat = xc * invstd
        gx = gwt = gbt = None
        if need_w:
            gwt = sum_to(gw_ * xhat, wshape).reshape(w.shape)
        if need_b:
            gbt = sum_to(gw_, wshape).reshape(w.shape if w is not None else self._b_shape())
        if need_x:
            gxhat = gw_ * w.reshape(wshape) if w is not None else gw_
            if self.use_running:
                gx = gxhat * invstd
            else:
                gx = invstd * (gxhat - gxhat.mean(axes, keepdim=True)
                               - xhat * (gxhat * xhat).mean(axes, keepdim=True))
            gx = gx.reshape(self.x_shape)
        return gx, gwt, gbt

    def name(self):
        return self.grad_name


def _reduce_to(a, shape):
    """Sum ``a`` over the axes where ``shape`` has size 1 (keepdims)."""
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and a.shape[i] != 1)
    return _sum(a, axes) if axes else a


def _sum(a, axes):
    """keepdims sum; the trailing contiguous axes are reduced first (much faster in NumPy
    than one strided multi-axis reduction)."""
    for ax in sorted(axes, reverse=True):
        a = a.sum(axis=ax, keepdims=True)
    return a


def _mean(a, axes, n):
    return _sum(a, axes) / a.dtype.type(n)


def _same_axes(axes, wshape):
    return tuple(i for i, s in enumerate(wshape) if s == 1) == tuple(axes)


class NativeBatchNorm(_Normalize):
    grad_name = "NativeBatchNormBackward0"


class NativeLayerNorm(_Normalize):
    grad_name = "NativeLayerNormBackward0"


class NativeGroupNorm(_Normalize):
    grad_name = "NativeGroupNormBackward0"


# ---------------------------------------------------------------------------------------
# Tensor-level functions (torch.nn.functional signatures and checks)
# ---------------------------------------------------------------------------------------
def _size_str(shape) -> str:
    return f"ember.Size([{', '.join(str(s) for s in shape)}])"


def _check_same_dtype(x, *others):
    for o in others:
        if o is not None and o.dtype is not x.dtype:
            raise RuntimeError(f"expected scalar type {x.dtype.name.capitalize()} but found "
                               f"{o.dtype.name.capitalize()}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over dim 1 (torch.nn.functional.batch_norm)."""
    shape = input.shape
    if input.dim() < 2:
        raise ValueError(f"Expected 2D or more dimensional input (got {input.dim()}D input)")
    C = shape[1]
    if training:
        n = shape[0]
        for s in shape[2:]:
            n *= s
        if n == 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {_size_str(shape)}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {C} elements not {t.numel()}")
    _check_same_dtype(input, weight, bias)
    L = input.numel() // (shape[0] * C) if shape[0] * C else 0
    use_running = not training
    if use_running and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    running = (running_mean, running_var) if running_mean is not None else None
    return NativeBatchNorm.apply(input, weight, bias, work=(shape[0], C, L), axes=(0, 2),
                                 wshape=(1, C, 1), eps=eps, running=running,
                                 momentum=momentum if momentum is not None else 0.0,
                                 use_running=use_running)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the trailing ``normalized_shape`` dims."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    ns = tuple(int(s) for s in normalized_shape)
    shape = tuple(input.shape)
    if len(ns) == 0 or len(shape) < len(ns) or shape[len(shape) - len(ns):] != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
                           f"{list(shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(ns)}")
    _check_same_dtype(input, weight, bias)
    K = math.prod(ns)
    M = input.numel() // K if K else 0
    return NativeLayerNorm.apply(input, weight, bias, work=(M, K), axes=(1,), wshape=(1, K),
                                 eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalization: channels split into ``num_groups`` groups."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    shape = tuple(input.shape)
    N, C = shape[0], shape[1]
    if num_groups <= 0 or C % num_groups != 0:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, "
                           f"but got input of shape {list(shape)} and num_groups={num_groups}")
    G = num_groups
    vshape = [N * C // G, G] + list(shape[2:])
    if math.prod(vshape[2:]) * vshape[0] == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input size "
                         f"{_size_str(vshape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != C):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} and "
                               f"input of shape {list(shape)}")
    _check_same_dtype(input, weight, bias)
    L = math.prod(shape[2:])
    return NativeGroupNorm.apply(input, weight, bias, work=(N, G, C // G, L), axes=(2, 3),
                                 wshape=(1, G, C // G, 1), eps=eps)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization: batch_norm on the input viewed as ``(1, N*C, ...)``, with the
    running statistics averaged back over the batch (torch's construction)."""
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensional input (got {input.dim()}D input)")
    shape = tuple(input.shape)
    if use_input_stats and math.prod(shape[2:]) == 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{_size_str(shape)}")
    N, C = shape[0], shape[1]
    from .shape import repeat

    def rep(t):
        return None if t is None else repeat(t, N)
    rm, rv = rep(running_mean), rep(running_var)
    x = input.contiguous().view((1, N * C) + shape[2:])
    out = batch_norm(x, rm, rv, rep(weight), rep(bias), use_input_stats, momentum, eps)
    for src, dst in ((rm, running_mean), (rv, running_var)):
        if dst is not None:
            dst._data[...] = src._data.reshape(N, C).mean(axis=0)
            dst._version.v += 1
    return out.view(shape)
