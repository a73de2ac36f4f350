"""Stochastic Weight Averaging and EMA of model weights (torch.optim.swa_utils).

* :class:`AveragedModel` keeps a copy of a model whose parameters (and, with
  ``use_buffers=True``, buffers) are a running average of the trained model's: the equal
  weight SWA average by default, an exponential moving average with
  ``multi_avg_fn=get_ema_multi_avg_fn(decay)``, or any ``avg_fn``/``multi_avg_fn``.
* :class:`SWALR` anneals each group's lr to a constant ``swa_lr``.
* :func:`update_bn` recomputes BatchNorm running statistics for the averaged weights.

Averaging arithmetic follows torch's CPU path operation for operation (SWA:
``avg + (cur - avg) / (n + 1)``; EMA: ``lerp(avg, cur, 1 - decay)``).
"""
from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any, Literal

from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.module import Module
from . import _kernels as K
from .lr_scheduler import LRScheduler, _format_param
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]

PARAM_LIST = "tuple[Tensor, ...] | list[Tensor]"


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def _is_float(t: Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def _lerp_all(averaged: PARAM_LIST, current: PARAM_LIST, weight: float) -> None:
    for a, c in zip(averaged, current):
        K.lerp_(K.real_view(a._data), K.real_view(c._data), weight)
        a._version.v += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """EMA update for lists of tensors: ``ema ← decay · ema + (1 - decay) · current``
    (in place, as one lerp for floating tensors)."""
    _check_decay(decay)

    def ema_update(ema_param_list: PARAM_LIST, current_param_list: PARAM_LIST, _) -> None:
        if _is_float(ema_param_list[0]):
            _lerp_all(ema_param_list, current_param_list, 1 - decay)
            return
        with no_grad():
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """Equal-weight running average for lists of tensors: ``avg ← avg + (cur - avg)/(n+1)``
    (in place, as a lerp with weight ``1/(n+1)`` for floating tensors)."""
    def swa_update(averaged_param_list: PARAM_LIST, current_param_list: PARAM_LIST,
                   num_averaged: Tensor | int) -> None:
        with no_grad():
            if _is_float(averaged_param_list[0]):
                weight = 1 / (num_averaged + 1)
                _lerp_all(averaged_param_list, current_param_list, float(weight))
                return
            for a, c in zip(averaged_param_list, current_param_list):
                if isinstance(num_averaged, Tensor):
                    a.addcdiv_(c - a, num_averaged + 1)
                else:
                    a.add_(c - a, alpha=1.0 / (num_averaged + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """EMA for one tensor: returns ``decay · ema + (1 - decay) · current``."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable:
    """Equal-weight running average for one tensor: returns ``avg + (cur - avg)/(n + 1)``."""
    def swa_update(averaged_param: Tensor, current_param: Tensor,
                   num_averaged: Tensor | int) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def _copy_into(dst: Tensor, src: Tensor) -> None:
    """``dst.detach().copy_(src)`` on the data, without graph bookkeeping."""
    with no_grad():
        dst.detach().copy_(src)


class AveragedModel(Module):
    """A deep copy of ``model`` whose weights are averaged by :meth:`update_parameters`.

    Args:
        model: the model to average (it is deep-copied).
        device: accepted for compatibility; ember runs on the CPU only.
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> Tensor`` per parameter.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)`` updating in
            place (e.g. :func:`get_ema_multi_avg_fn`). Default: the SWA equal average.
        use_buffers: average buffers too (otherwise buffers are copied from ``model``).

    ``n_averaged`` (a long buffer) counts the updates; the first update copies ``model``.
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        from .._ops.creation import tensor
        self.register_buffer("n_averaged", tensor(0, dtype=_dt.int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        """Run the averaged copy of the model."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average."""
        if self.use_buffers:
            self_param = itertools.chain(self.module.parameters(), self.module.buffers())
            model_param = itertools.chain(model.parameters(), model.buffers())
        else:
            self_param, model_param = self.parameters(), model.parameters()
        averaged, current = [], []
        copy_param = int(self.n_averaged) == 0
        for p_averaged, p_model in zip(self_param, model_param):
            p_model_ = p_model.detach()
            averaged.append(p_averaged.detach())
            current.append(p_model_)
            if copy_param:
                _copy_into(p_averaged, p_model_)

        if int(self.n_averaged) > 0:
            if self.multi_avg_fn is not None or self.avg_fn is None:
                groups: dict[Any, tuple[list, list]] = {}
                for a, c in zip(averaged, current):
                    g = groups.setdefault(a.dtype, ([], []))
                    g[0].append(a)
                    g[1].append(c)
                for avg_list, cur_list in groups.values():
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(avg_list, cur_list, self.n_averaged)
                    else:
                        swa = get_swa_avg_fn()
                        for a, c in zip(avg_list, cur_list):
                            _copy_into(a, swa(a, c, self.n_averaged))
            else:
                for a, c in zip(averaged, current):
                    _copy_into(a, self.avg_fn(a, c, self.n_averaged))

        if not self.use_buffers:
            # the averaged model keeps the trained model's buffers (e.g. BN statistics)
            for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                _copy_into(b_swa, b_model.detach())
        self.n_averaged._data += 1
        self.n_averaged._version.v += 1


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` with one pass over
    ``loader`` (batches, or ``(input, ...)`` tuples whose first element is the input), as a
    cumulative average. The model's training mode is restored afterwards."""
    from ..nn.modules.normalization import _BatchNorm
    with no_grad():
        momenta = {}
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
        for bn_module in momenta:
            bn_module.momentum = momenta[bn_module]
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its current value to ``swa_lr`` over ``anneal_epochs``
    epochs (cosine or linear), then keep it at ``swa_lr``."""

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float],
                 anneal_epochs: int = 10, anneal_strategy: Literal["cos", "linear"] = "cos",
                 last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
