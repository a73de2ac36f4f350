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
    linalg as _la, creation as _cr, random as _rnd, sorting as _srt, nn_ops as _nno, \
    composite as _cmp

for _mod in (_ew, _red, _shp, _idx, _la, _cr, _rnd, _srt, _nno, _cmp):
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


def set_num_threads(num: int) -> None:
    """Set the number of threads ember's matrix products use. Differs from torch: this is the
    thread count of the BLAS NumPy ships with (OpenBLAS; every process using NumPy shares it);
    ember's other ops run on one thread. Without a controllable BLAS it does nothing."""
    import operator as _operator
    try:
        n = _operator.index(num)
    except TypeError:
        raise RuntimeError(f"set_num_threads expects an int, but got {type(num).__name__}") \
            from None
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    from ._backend import blas as _blas
    setter = _blas.threads_setter()
    if setter is not None:
        setter(n)


def get_num_threads() -> int:
    """The number of threads ember's matrix products use (NumPy's BLAS; see
    :func:`set_num_threads`); the CPU count if the BLAS cannot tell."""
    from ._backend import blas as _blas
    getter = _blas.threads_getter()
    if getter is not None:
        return getter()              # (restype c_int: a Python int)
    import os as _os
    return _os.cpu_count() or 1


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
    from ._unsupported import FUNCTIONS
    from .nn._unsupported import missing
    missing("ember", FUNCTIONS, name)      # NotImplementedError for torch's names, else
    #                                        AttributeError


def __dir__():
    return sorted(set(globals()) | _LAZY | {"save", "load"})
