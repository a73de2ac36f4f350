"""``nn.Parameter`` and ``nn.Buffer``: tensors that a Module registers on assignment."""
from __future__ import annotations

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor

__all__ = ["Parameter", "Buffer", "is_lazy"]


def _storage_of(data) -> Tensor:
    if data is None:
        return Tensor._wrap(xp.empty((0,), dtype=_dt.default_float_np()))
    if not isinstance(data, Tensor):
        raise TypeError(f"Parameter.__new__(): argument 'data' (position 1) must be Tensor, "
                        f"not {type(data).__name__}")
    return data


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning it as a Module attribute registers it.

    ``Parameter(data)`` shares ``data``'s memory (and version counter) and is a fresh leaf
    that requires grad unless ``requires_grad=False``. Operations on a Parameter return plain
    Tensors, as in torch.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        data = _storage_of(data)
        self = object.__new__(cls)
        self._init(data._data)
        self._version = data._version
        if requires_grad:
            if not (data.dtype.is_floating_point or data.dtype.is_complex):
                raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                                   "gradients")
            self._requires_grad = True
        return self

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (Tensor._wrap(self._data), self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)(Tensor._wrap(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            new._grad = Tensor._wrap(self._grad._data.copy())
        memo[id(self)] = new
        return new


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """``nn.Buffer(data, persistent=True)``: a tensor that registers itself as a buffer when
    assigned to a Module attribute. It shares ``data``'s memory and never requires grad."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        data = _storage_of(data)
        self = object.__new__(cls)
        self._init(data._data)
        self._version = data._version
        self.persistent = persistent
        return self

    def __reduce_ex__(self, proto):
        return (Buffer, (Tensor._wrap(self._data),), {"persistent": self.persistent})


def is_lazy(param) -> bool:
    """ember has no lazy (uninitialized) parameters."""
    return False
