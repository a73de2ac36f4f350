"""Base class for all optimizers: parameter groups, per-parameter state, checkpoints, hooks.

An optimizer never builds graph nodes: subclasses update ``param._data`` in place with the
kernels in ``ember.optim._kernels`` and bump ``param._version`` once per step, so a step
costs per-parameter temporaries only and parameters keep their identity and memory.

Differences from torch, by design:

* ``foreach`` and ``fused`` select torch's multi-tensor / fused kernels. ember has one
  implementation — torch's single-tensor arithmetic, which is what torch itself runs on CPU
  by default — so these flags are accepted and validated as torch does but do not change
  the math.
* ``differentiable=True`` (differentiating through the update) is not supported and raises
  ``NotImplementedError``; ``capturable=True`` needs CUDA graphs and raises torch's error.
"""
from __future__ import annotations

import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable
from copy import deepcopy
from typing import Any, TypeAlias

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

StateDict: TypeAlias = dict[str, Any]
ParamsT: TypeAlias = "Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]"


class _RequiredParameter:
    """Singleton marking an optimizer option that has no default."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class RemovableHandle:
    """Handle returned by the ``register_*_hook`` methods; ``remove()`` unregisters."""

    _next_id = 0

    def __init__(self, hooks_dict: dict) -> None:
        self._hooks = hooks_dict
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


_global_optimizer_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
_global_optimizer_post_hooks: "OrderedDict[int, Callable]" = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs) -> None or (args, kwargs)`` run before every
    optimizer's ``step``."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs)`` run after every optimizer's ``step``."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


# ---- helpers shared by the optimizers ----------------------------------------------------
def _to_scalar(x):
    """A hyperparameter as a Python number (a 1-element Tensor becomes its value)."""
    if isinstance(x, Tensor):
        return x.item()
    return x


def _scalar_np():
    """NumPy dtype torch uses for ``state['step']``: float64 iff that is the default dtype."""
    return xp.float64 if _dt.get_default_dtype() is _dt.float64 else xp.float32


def _step_tensor(value: float = 0.0) -> Tensor:
    """A 0-dim step counter, as torch keeps it (a CPU tensor of the default float dtype)."""
    return Tensor._wrap(xp.array(value, dtype=_scalar_np()))


def _zeros_like(p: Tensor) -> Tensor:
    return Tensor._wrap(xp.zeros_like(p._data))


def _check_lr(lr) -> None:
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check_betas(betas) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _check_nonneg(name: str, value) -> None:
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name}: {value}")


def _check_impl_flags(defaults: dict) -> None:
    """Validate the torch implementation-selection flags; refuse what ember cannot do."""
    if defaults.get("differentiable"):
        raise NotImplementedError(
            "differentiable=True (autograd through the optimizer step) is not supported by "
            "ember: updates are applied in place on parameter data without recording a graph")
    if defaults.get("fused") and defaults.get("foreach"):
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _check_functional_flags(differentiable=False, capturable=False, grad_scale=None,
                            found_inf=None) -> None:
    """Refuse the torch implementation options ember does not have (see module doc)."""
    if differentiable:
        _check_impl_flags({"differentiable": True})
    if capturable:
        raise AssertionError("If capturable=True, params and state_steps must be on supported "
                             "devices: ['cuda', 'xpu', 'hpu', 'privateuseone'].")
    if grad_scale is not None or found_inf is not None:
        raise NotImplementedError("grad_scale/found_inf (AMP gradient scaling inside fused "
                                  "optimizers) are not supported by ember")


def _hooked_step(step: Callable) -> Callable:
    """Wrap a subclass's ``step`` so registered step pre/post hooks run around it.

    With no hooks registered (the common case) the wrapper adds one dict check.
    """
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        if not (_global_optimizer_pre_hooks or self._optimizer_step_pre_hooks
                or self._optimizer_step_post_hooks or _global_optimizer_post_hooks) \
                or self.__dict__.get("_in_hooked_step"):
            return step(self, *args, **kwargs)
        self._in_hooked_step = True
        try:
            for pre in itertools.chain(_global_optimizer_pre_hooks.values(),
                                       self._optimizer_step_pre_hooks.values()):
                result = pre(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(f"{step} must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
            out = step(self, *args, **kwargs)
            for post in itertools.chain(self._optimizer_step_post_hooks.values(),
                                        _global_optimizer_post_hooks.values()):
                post(self, args, kwargs)
            return out
        finally:
            self._in_hooked_step = False
    wrapper.hooked = True
    return wrapper


def _closure_loss(closure):
    """Evaluate ``closure`` with grad enabled, as every optimizer's ``step`` does."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


class Optimizer:
    r"""Base class for all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts defining
            parameter groups (each with a ``'params'`` entry and optional per-group options).
        defaults: default values of the optimization options, used when a group does not
            specify them.

    Parameters must be given in a deterministic order (a list, not a set): ``state_dict``
    refers to them by position.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()

        if isinstance(params, Tensor):
            from .. import typename
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + typename(params))

        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ---- pickling / printing ------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    #: Group options a state pickled by an older version may lack, filled in by
    #: ``__setstate__`` (each optimizer lists its own, as torch's do; ``None``: nothing to
    #: restore), and the per-parameter state entries older torch versions stored as Python
    #: numbers, turned into the 0-dim tensors used now.
    _restore_options: dict | None = None
    _restore_scalars: tuple = ("step",)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)
        if self._restore_options is not None:
            self._restore_defaults(self._restore_options, self._restore_scalars)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"

    # ---- parameter groups ---------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``'params'`` and optional options) — e.g. to
        start training layers that were frozen."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names

        for param in tensors:
            if not isinstance(param, Tensor):
                from .. import typename
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + typename(param))
            if not self.defaults.get("differentiable", None) and not (
                    param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        if len(tensors) != len(set(tensors)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        param_set: set = set()
        for group in self.param_groups:
            param_set.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if not param_set.isdisjoint(tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- helpers for subclasses ------------------------------------------------------------
    def _gather(self, group: dict, new_state: Callable[[Tensor, dict], dict],
                keys: Iterable[str], sparse_error: str | None = None):
        """The group's parameters that have a gradient, their gradients, and for each of
        ``keys`` the list of those parameters' state entries; a parameter's state is created
        by ``new_state(p, group)`` on its first step. ``sparse_error`` is the message for a
        sparse gradient (for optimizers that need dense ones)."""
        params, grads = [], []
        lists = {k: [] for k in keys}
        state = self.state
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if sparse_error is not None and g.is_sparse:
                raise RuntimeError(sparse_error)
            params.append(p)
            grads.append(g)
            st = state[p]
            if len(st) == 0:
                st.update(new_state(p, group))
            for k, lst in lists.items():
                lst.append(st[k])
        return params, grads, lists

    def _restore_defaults(self, group_defaults: dict, scalar_keys=("step",)) -> None:
        """After unpickling/loading an older state: fill missing group options and turn
        Python-number scalar state (old torch format) into the 0-dim tensors used now."""
        for group in self.param_groups:
            for k, v in group_defaults.items():
                group.setdefault(k, v)
            for p in group["params"]:
                s = self.state.get(p, {})
                for key in scalar_keys:
                    if key in s and not isinstance(s[key], Tensor):
                        s[key] = _step_tensor(float(s[key]))

    # ---- stepping -------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to ``None`` (default, and
        optimizers then skip those parameters) or, with ``set_to_none=False``, to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                if g._data.flags.writeable:
                    g._data.fill(0)
                else:
                    g._data = xp.zeros_like(g._data)
                g._version.v += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step (subclasses implement it)."""
        raise NotImplementedError

    # ---- hooks ------------------------------------------------------------------------------
    @staticmethod
    def _add_hook(hooks: OrderedDict, hook, prepend: bool = False) -> RemovableHandle:
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)`` before step."""
        return self._add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after step."""
        return self._add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False
                                     ) -> RemovableHandle:
        """``hook(optimizer)`` before ``state_dict`` builds its result."""
        return self._add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False
                                      ) -> RemovableHandle:
        """``hook(optimizer, state_dict) -> state_dict or None`` after ``state_dict``."""
        return self._add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False
                                          ) -> RemovableHandle:
        """``hook(optimizer, state_dict) -> state_dict or None`` before loading."""
        return self._add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False
                                           ) -> RemovableHandle:
        """``hook(optimizer)`` after ``load_state_dict``."""
        return self._add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """The optimizer state as ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Parameters are replaced by their position across all groups; the per-parameter
        state dicts (and their tensors) are the live ones, as in torch — copy or save them
        before training on.
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        param_mappings: dict[int, int] = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start_index):
                param_mappings.setdefault(id(p), i)
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param: Tensor, value: Tensor, param_id,
                                                 param_groups, key: Hashable = None) -> Tensor:
        # floating state follows the parameter's dtype; ``step`` keeps its own
        if key == "step":
            return value
        if param.is_floating_point() and value.dtype is not param.dtype:
            return value.to(dtype=param.dtype)
        return value

    def load_state_dict(self, state_dict: StateDict) -> None:
        """Load a state produced by :meth:`state_dict` (of an optimizer over parameters of
        the same shapes, in the same order). Tensors in the loaded state that already have
        the parameter's dtype are used as they are, not copied (as torch does)."""
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(itertools.chain.from_iterable(g["params"] for g in saved_groups),
                          itertools.chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, param_id=None, key=None):
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, state_dict["param_groups"], key)
            if isinstance(value, dict):
                return {k: cast(param, v, param_id, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, param_id) for v in value)
            return value

        state: defaultdict[Any, dict] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v, param_id=k)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)
