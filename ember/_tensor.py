"""The Tensor: data on a backend array, autograd metadata, and thin operator overloads.

Math lives in ``ember._ops``; each op family registers its Tensor methods in a
``TENSOR_METHODS`` table that ``ember/__init__.py`` installs here. This file keeps only what
is about the tensor itself: attributes, conversions, autograd entry points, in-place
plumbing.
"""
from __future__ import annotations

import numbers

import numpy as _np

from ._backend import xp, CPU, canonical_device, device as _device
from ._backend import dtypes as _dt
from .autograd import function as _fn
from .autograd.function import VersionCounter
from .autograd.grad_mode import STATE

_ndarray = _np.ndarray
_BY_NP = _dt._BY_NP


class Size(tuple):
    """``tensor.shape``: a tuple that prints as ``ember.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"ember.Size([{', '.join(str(int(s)) for s in self)}])"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __reduce__(self):
        return (Size, (tuple(self),))


def _leaf_inplace_check(t):
    if STATE.enabled and t._requires_grad:
        b = t._base
        if b is not None:   # a view: torch checks the view rules first (ember._ops.indexing)
            from ._ops.indexing import _view_rebase_check
            _view_rebase_check(t)
            if b.grad_fn is None:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used "
                                   "in an in-place operation.")
        elif t.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")


class Tensor:
    """A multi-dimensional array with reverse-mode autograd.

    ``ember.Tensor(...)`` is torch's legacy constructor: ``Tensor(2, 3)`` is an uninitialised
    float tensor of that size; ``Tensor([1, 2])`` copies data into the default float dtype.
    Prefer ``ember.tensor``.
    """

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_version",
                 "_base", "_hooks", "_post_acc_hooks", "_retains_grad", "_accum", "_view_fn",
                 "__weakref__")

    _xp = xp
    __array_priority__ = 1000
    __array_ufunc__ = None   # numpy defers to our reflected operators

    # ---- construction ------------------------------------------------------------------
    def __new__(cls, *args, device=None, **kwargs):
        self = object.__new__(cls)
        canonical_device(device)
        if kwargs:
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"unexpected keyword(s) {sorted(kwargs)}")
        if len(args) == 1 and isinstance(args[0], Tensor):
            arr = args[0]._data                     # torch aliases the tensor, any dtype
        elif len(args) == 1 and isinstance(args[0], Size) or \
                all(isinstance(a, numbers.Integral) for a in args):
            from ._ops._util import parse_size    # Tensor(2, 3), Tensor(Size), Tensor()
            shape = parse_size(tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size)
                               else args or (0,))
            arr = xp.zeros(shape, dtype=_dt.default_float_np())
        elif len(args) == 1 and isinstance(args[0], (list, tuple, _ndarray, str)):
            from ._ops.creation import _array_from_data
            arr = _array_from_data(args[0], _dt.get_default_dtype())
        elif len(args) == 1:
            raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
        else:
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        self._init(arr)
        return self

    def __init__(self, *args, **kwargs):
        pass

    def _init(self, arr, grad_fn=None, output_nr=0):
        self._data = arr
        self._requires_grad = grad_fn is not None
        self._grad = None
        self.grad_fn = grad_fn
        self._output_nr = output_nr
        self._version = VersionCounter()
        self._base = None
        self._hooks = None
        self._post_acc_hooks = None
        self._retains_grad = False
        self._accum = None
        self._view_fn = None

    @staticmethod
    def _wrap(arr, grad_fn=None, output_nr=0) -> "Tensor":
        """Internal constructor: wrap a backend array (no copy)."""
        if type(arr) is not _ndarray:
            arr = xp.asarray(arr)
        t = object.__new__(Tensor)
        t._data = arr
        t._requires_grad = grad_fn is not None
        t._grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version = VersionCounter()
        t._base = None
        t._hooks = None
        t._post_acc_hooks = None
        t._retains_grad = False
        t._accum = None
        t._view_fn = None
        return t

    @staticmethod
    def _broadcast_copy(arr, shape):
        return xp.array(xp.broadcast_to(arr, shape))

    # ---- basic attributes --------------------------------------------------------------
    @property
    def dtype(self) -> _dt.dtype:
        return _BY_NP[self._data.dtype]

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    def _wrap_dim(self, dim: int) -> int:
        n = self._data.ndim
        lo, hi = (-1, 0) if n == 0 else (-n, n - 1)
        try:
            d = int(dim)
        except TypeError:
            raise TypeError(f"dim must be an int, got {type(dim).__name__}") from None
        if n == 0:   # size()/stride() of a 0-d tensor: no dimension to name
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        if d < lo or d > hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                             f"but got {dim})")
        return d % n if n else 0

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None):
        isz = self._data.itemsize
        st = tuple(s // isz for s in self._data.strides)
        if self._data.size == 0 and not any(st):   # NumPy gives fresh empty arrays 0 strides
            st = _contig_strides(self._data.shape)
        if dim is None:
            return st
        return st[self._wrap_dim(dim)]

    def storage_offset(self) -> int:
        base = self._data
        while hasattr(base.base, "__array_interface__"):   # through as_strided's wrappers too
            base = base.base
        if self._data.size == 0:
            return 0
        return int((self._data.__array_interface__["data"][0]
                    - base.__array_interface__["data"][0]) // self._data.itemsize)

    def is_contiguous(self, memory_format=None) -> bool:
        a = self._data
        if a.flags.c_contiguous:
            return True
        # numpy is strict about strides of size-1 dims; torch ignores them
        expected = 1
        for n, s in zip(reversed(a.shape), reversed(a.strides)):
            if n != 1 and s != expected * a.itemsize:
                return False
            expected *= n
        return True

    @property
    def device(self) -> _device:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    is_sparse = False
    is_quantized = False
    is_meta = False
    is_mkldnn = False
    is_nested = False
    layout = "strided"

    @property
    def name(self):
        return None

    @property
    def names(self):
        return (None,) * self._data.ndim

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def get_device(self) -> int:
        return -1

    def data_ptr(self) -> int:
        return int(self._data.__array_interface__["data"][0])

    # ---- autograd attributes ------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if not isinstance(value, bool):
            raise RuntimeError("requires_grad must be a bool")
        self._set_requires_grad(value, "only Tensors of floating point and complex dtype can "
                                       "require gradients")

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only; floating dtypes only) and return self."""
        if not isinstance(requires_grad, bool):
            raise TypeError("requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {type(requires_grad).__name__}")
        return self._set_requires_grad(requires_grad, "only Tensors of floating point dtype can "
                                                      "require gradients")

    def _set_requires_grad(self, requires_grad: bool, dtype_msg: str = "Only Tensors of floating "
                           "point and complex dtype can require gradients") -> "Tensor":
        """The checks behind ``requires_grad_``, the setter and factories' requires_grad=True
        (each has its own message for a non-float dtype in torch)."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError(dtype_msg)
        self._requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            import warnings
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() "
                "on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
                "you access the leaf Tensor instead.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_CPP_TYPE[value.dtype.name]}'"
                    f" to a tensor with grad_dtype '{_SCALAR_TYPE[self.dtype.name]}'. The "
                    "gradient must match the tensor's grad_dtype (defaults to the tensor's "
                    "dtype).")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                    f"of size '{list(self.shape)}'. Please ensure that the gradient and the "
                    "tensor are the same size")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version_value(self) -> int:
        return self._version.v

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    @property
    def data(self) -> "Tensor":
        t = Tensor._wrap(self._data)
        return t

    @data.setter
    def data(self, value: "Tensor"):
        if not isinstance(value, Tensor):
            raise TypeError("data must be a Tensor")
        self._data = value._data

    def detach(self) -> "Tensor":
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    def detach_(self) -> "Tensor":
        """Detach in place: this tensor becomes a leaf that does not require grad."""
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead. (A view "
                               "shares its base's autograd history; detach() gives a new "
                               "tensor that does not.)")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        import weakref
        ref = weakref.ref(self)

        def hook(g):
            t = ref()
            if t is not None:
                if t._grad is None:
                    t._grad = g.detach() if not STATE.enabled else g
                    if not STATE.enabled:
                        t._grad = Tensor._wrap(g._data.copy())
                else:
                    t._grad = t._grad + g
        node = self.grad_fn
        if "_retain_hooks" not in node.__dict__:
            node._retain_hooks = {}
        node._retain_hooks[self._output_nr] = hook   # run after the user's hooks

    def register_hook(self, hook):
        """Register ``hook(grad) -> Tensor or None``, run when this tensor's gradient is
        computed; a returned tensor replaces the gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _fn.RemovableHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = []
        self._post_acc_hooks.append(hook)
        return _fn.RemovableHandle(self._post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves (see ``autograd.backward``)."""
        from .autograd import backward as _backward
        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ---- conversions ---------------------------------------------------------------------
    def numpy(self, *, force: bool = False):
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               "Scalar")
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        n = self._data.size
        if n != 1:
            raise RuntimeError("Boolean value of Tensor with " + (
                "no values" if n == 0 else "more than one value") + " is ambiguous")
        return bool(self._data.reshape(-1)[0])

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._requires_grad:
            _warn_scalar_requires_grad()
        return float(self._data.reshape(-1)[0])

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self._data.reshape(-1)[0])

    def __complex__(self) -> complex:
        return complex(self._data.reshape(-1)[0])

    def __index__(self) -> int:
        if self._data.size != 1 or self.dtype.is_floating_point or self.dtype.is_complex:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.reshape(-1)[0])

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if dtype is None:
            return self._data.copy() if copy else self._data
        return self._data.astype(dtype, copy=bool(copy))

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self, *, tensor_contents=None) -> str:
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        from .serialization import _reduce_tensor
        return _reduce_tensor(self)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.  If you were attempting to "
                               "deepcopy a module, this may be because of a torch.nn.utils."
                               "weight_norm usage, see https://github.com/pytorch/pytorch/pull/"
                               "103001")
        new = type(self).__new__(type(self), Tensor._wrap(self._data.copy())) \
            if type(self) is not Tensor else Tensor._wrap(self._data.copy())
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        import copy as _copy
        for k, v in getattr(self, "__dict__", {}).items():
            setattr(new, k, _copy.deepcopy(v, memo))
        memo[id(self)] = new
        return new

    # ---- device / dtype movement ----------------------------------------------------------
    def cpu(self, memory_format=None) -> "Tensor":
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        canonical_device(device if device is not None else "cuda")

    def pin_memory(self, device=None) -> "Tensor":
        return self

    def is_pinned(self, device=None) -> bool:
        return False

    def share_memory_(self) -> "Tensor":
        return self

    def is_shared(self) -> bool:
        return False

    # ---- in-place plumbing ------------------------------------------------------------------
    def _inplace_from(self, result: "Tensor") -> "Tensor":
        """Make ``self`` hold ``result`` in place: same memory, result's graph position."""
        _leaf_inplace_check(self)
        if result._data.dtype != self._data.dtype:
            if not _dt.can_cast(result.dtype, self.dtype):
                raise RuntimeError(f"result type {result.dtype.name.capitalize()} can't be cast "
                                   f"to the desired output type "
                                   f"{self.dtype.name.capitalize()}")
        if self._data.shape != result._data.shape:
            try:
                xp.broadcast_shapes(result._data.shape, self._data.shape)
                ok = xp.broadcast_shapes(result._data.shape, self._data.shape) == self._data.shape
            except ValueError:
                ok = False
            if not ok:
                raise RuntimeError(
                    f"output with shape {list(self._data.shape)} doesn't match the broadcast "
                    f"shape {list(result._data.shape)}")
        if not self._data.flags.writeable:
            raise RuntimeError("unsupported operation: the tensor is a read-only (expanded or "
                               "broadcast) view; more than one element of the written-to tensor "
                               "refers to a single memory location. Please clone() the tensor "
                               "before performing the operation.")
        needs_graph = STATE.enabled and (result._requires_grad or self._requires_grad)
        if needs_graph and result.grad_fn is not None:
            # the op saved ``self`` for backward, but ``self`` is about to change
            _fn.snapshot_saved_self(result.grad_fn, self)
        if needs_graph and self._base is not None and (self._base._requires_grad
                                                      or result._requires_grad):
            from ._ops.indexing import inplace_on_view
            return inplace_on_view(self, result)
        self._data[...] = result._data
        self._version.v += 1
        if needs_graph:
            self.grad_fn = result.grad_fn
            self._output_nr = result._output_nr
            self._requires_grad = result._requires_grad
            if result.grad_fn is not None:
                _fn.rebind_saved_output(result.grad_fn, self)
        return self


_warned_scalar = False


def _warn_scalar_requires_grad():
    """torch warns once per process when float() is applied to a tensor requiring grad."""
    global _warned_scalar
    if not _warned_scalar:
        _warned_scalar = True
        import warnings
        warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                      "unexpected behavior.\nConsider using tensor.detach() first.",
                      UserWarning, stacklevel=3)


def _contig_strides(shape):
    st = []
    acc = 1
    for s in reversed(shape):
        st.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(st))


# torch's names for dtypes in autograd messages: C++ type names and ScalarType names
_CPP_TYPE = {"float32": "float", "float64": "double", "float16": "c10::Half",
             "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
             "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
             "bool": "bool", "complex64": "c10::complex<float>",
             "complex128": "c10::complex<double>"}
_SCALAR_TYPE = {"float32": "Float", "float64": "Double", "float16": "Half",
                "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
                "complex128": "ComplexDouble"}
_fn._Tensor = Tensor
