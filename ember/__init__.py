"""ember: PyTorch's training API (tensors, autograd, nn, optim, data) on NumPy.

Write the same code you would write against ``torch``; ember gives the same numbers. The
heavy submodules (``nn``, ``optim``, ``utils``, ``vision``) load on first use, so
``import ember`` stays fast.
"""
from __future__ import annotations

import importlib as _importlib

__version__ = "0.1.0"

from ._backend import (  # noqa: F401
    device, dtype, float16, float32, float64, half, float, double, bfloat16, int8, int16,
    int32, int64, uint8, bool_ as bool, short, int_ as int, long, complex64, complex128,
    cfloat, cdouble, get_default_dtype, set_default_dtype, promote_types, can_cast,
)
from ._tensor import Tensor, Size  # noqa: F401
from .autograd.grad_mode import (  # noqa: F401
    no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
    is_inference_mode_enabled, is_anomaly_enabled, is_anomaly_check_nan_enabled,
    set_anomaly_enabled,
)
from ._tensor_str import set_printoptions, get_printoptions  # noqa: F401
from ._ops import elementwise as _ew, reduction as _red, shape as _shp, indexing as _idx, \
    linalg as _la, creation as _cr, random as _rnd, sorting as _srt, nn_ops as _nno

for _mod in (_ew, _red, _shp, _idx, _la, _cr, _rnd, _srt, _nno):
    for _n in _mod.__all__:
        globals()[_n] = getattr(_mod, _n)
    for _n, _f in _mod.TENSOR_METHODS.items():
        setattr(Tensor, _n, _f)
del _mod, _n, _f

from ._ops.creation import range_ as range  # noqa: E402,F401
from ._ops._util import result_dtype as _result_dtype  # noqa: E402
from . import autograd  # noqa: E402,F401
from .autograd import Function as _Function  # noqa: E402,F401


def result_type(tensor1, tensor2):
    """torch.result_type: the dtype an op on these two operands produces."""
    return _result_dtype(tensor1, tensor2)


def is_storage(obj) -> bool:
    return False


def typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type()
    return type(obj).__name__


def compile(model=None, **kwargs):
    """Accepted for source compatibility: returns ``model`` unchanged (ember runs eagerly)."""
    if model is None:
        return lambda m: m
    return model


_LAZY = {"nn", "optim", "utils", "vision", "examples", "cuda", "serialization", "backends",
         "testing", "linalg", "special", "distributions", "return_types", "hub", "jit"}


def __getattr__(name):
    if name in _LAZY:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | _LAZY | {"save", "load"})
