"""Grad mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``,
and anomaly detection.

Each works as a context manager and as a decorator (of functions and generators);
``no_grad``, ``enable_grad`` and ``inference_mode`` also decorate without parentheses.
As in torch, grad mode and inference mode belong to the thread that sets them (a new
thread starts with gradients enabled), while anomaly detection is process-wide.
"""
from __future__ import annotations

import functools
import inspect
import threading
import warnings


class _Anomaly:
    __slots__ = ("anomaly", "check_nan")

    def __init__(self):
        self.anomaly = False
        self.check_nan = True


_ANOMALY = _Anomaly()


def _shared(name):
    return property(lambda self: getattr(_ANOMALY, name),
                    lambda self, value: setattr(_ANOMALY, name, value))


class _State(threading.local):
    """``enabled``/``inference`` per thread (``__init__`` runs once in each thread that reads
    them); ``anomaly``/``check_nan`` shared by all threads."""

    anomaly = _shared("anomaly")
    check_nan = _shared("check_nan")

    def __init__(self):
        self.enabled = True
        self.inference = False


STATE = _State()


def is_grad_enabled() -> bool:
    """Whether operations are recorded for autograd right now."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """Base: a context manager that also decorates functions and generator functions."""

    def __call__(self, func):
        if inspect.isclass(func):
            raise RuntimeError(f"{type(self).__name__} cannot decorate a class; decorate its "
                               "methods instead")
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def _wrap_generator(self, func):
        @functools.wraps(func)
        def gen_wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as e:
                return e.value
        return gen_wrapper

    def clone(self):
        return type(self)()

    def __enter__(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def __exit__(self, *exc):  # pragma: no cover - overridden
        raise NotImplementedError


class _NoParamDecoratorContextManager(_DecoratorContextManager):
    """Allows ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):
    """Disable gradient tracking inside the block: results do not require grad."""

    def __enter__(self) -> None:
        self.prev = STATE.enabled
        STATE.enabled = False

    def __exit__(self, *exc) -> bool:
        STATE.enabled = self.prev
        return False


class enable_grad(_NoParamDecoratorContextManager):
    """Enable gradient tracking inside the block, even within ``no_grad``."""

    def __enter__(self) -> None:
        self.prev = STATE.enabled
        STATE.enabled = True

    def __exit__(self, *exc) -> bool:
        STATE.enabled = self.prev
        return False


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode to ``mode``. Takes effect at construction, as in torch, so it also works
    as a plain function call ``set_grad_enabled(False)``."""

    def __init__(self, mode: bool):
        self.prev = STATE.enabled
        self.mode = bool(mode)
        STATE.enabled = self.mode

    def __call__(self, func):
        STATE.enabled = self.prev
        return super().__call__(func)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> bool:
        STATE.enabled = self.prev
        return False

    def clone(self):
        return set_grad_enabled(self.mode)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad`` (``inference_mode(False)`` changes nothing).

    Differs from torch: tensors made inside are ordinary tensors, not "inference tensors",
    so using them later in autograd or in-place is allowed rather than an error."""

    def __new__(cls, mode_or_orig_func=True):
        if isinstance(mode_or_orig_func, bool) or mode_or_orig_func is None:
            return super().__new__(cls)
        return cls()(mode_or_orig_func)

    def __init__(self, mode: bool = True):
        if not isinstance(mode, bool):   # used as a bare decorator: __new__ did the work
            return
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = (STATE.enabled, STATE.inference)
        if self.mode:
            STATE.enabled = False
            STATE.inference = True

    def __exit__(self, *exc) -> bool:
        STATE.enabled, STATE.inference = self.prev
        return False

    def clone(self):
        return inference_mode(self.mode)


class detect_anomaly(_DecoratorContextManager):
    """Check every backward output for NaN and name the op that produced it.

    Differs from torch: the forward traceback of the failing op is not recorded."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self.prev = (STATE.anomaly, STATE.check_nan)
        STATE.anomaly, STATE.check_nan = True, self.check_nan

    def __exit__(self, *exc) -> bool:
        STATE.anomaly, STATE.check_nan = self.prev
        return False

    def clone(self):
        new = object.__new__(detect_anomaly)
        new.check_nan = self.check_nan
        return new


class set_detect_anomaly:
    """Turn anomaly detection on or off; works as a call and as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (STATE.anomaly, STATE.check_nan)
        STATE.anomaly, STATE.check_nan = bool(mode), bool(check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> bool:
        STATE.anomaly, STATE.check_nan = self.prev
        return False


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``torch.set_anomaly_enabled``)."""
    STATE.anomaly, STATE.check_nan = bool(enabled), bool(check_nan)


def is_anomaly_enabled() -> bool:
    return STATE.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return STATE.check_nan
