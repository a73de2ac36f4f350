"""Grad mode switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator. The state is process-wide (torch keeps
it per thread); ember's ops run in one thread, and DataLoader workers are processes.
"""
from __future__ import annotations

import functools
import inspect


class _State:
    __slots__ = ("enabled", "inference", "anomaly")

    def __init__(self):
        self.enabled = True
        self.inference = False
        self.anomaly = False


STATE = _State()


def is_grad_enabled() -> bool:
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _DecoratorContextManager:
    """Base: subclasses define ``_enter_value``; usable with ``with`` and as ``@decorator``."""

    def __call__(self, func):
        if inspect.isclass(func):
            raise TypeError(f"{type(self).__name__} cannot decorate a class")
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def gen_wrapper(*args, **kwargs):
                gen = func(*args, **kwargs)
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as e:
                        with self.clone():
                            response = gen.throw(e)
                    else:
                        with self.clone():
                            response = gen.send(request)
            return gen_wrapper

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_DecoratorContextManager):
    """Disable gradient tracking inside the block."""

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = False

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class enable_grad(_DecoratorContextManager):
    """Enable gradient tracking inside the block, even within ``no_grad``."""

    def __enter__(self):
        self.prev = STATE.enabled
        STATE.enabled = True

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode to ``mode``. Takes effect at construction, as in torch, so it also works
    as a plain function call ``set_grad_enabled(False)``."""

    def __init__(self, mode: bool):
        self.prev = STATE.enabled
        self.mode = bool(mode)
        STATE.enabled = self.mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        STATE.enabled = self.prev
        return False

    def clone(self):
        return set_grad_enabled(self.mode)

    def __call__(self, func):
        STATE.enabled = self.prev
        return super().__call__(func)


class inference_mode(_DecoratorContextManager):
    """Like ``no_grad``; tensors made inside are ordinary tensors that do not require grad.

    Differs from torch: ember does not mark such tensors as inference tensors."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = (STATE.enabled, STATE.inference)
        if self.mode:
            STATE.enabled = False
            STATE.inference = True

    def __exit__(self, *exc):
        STATE.enabled, STATE.inference = self.prev
        return False

    def clone(self):
        return inference_mode(self.mode)


class detect_anomaly(_DecoratorContextManager):
    """Check every backward output for NaN and name the op that produced it."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self.prev = STATE.anomaly
        STATE.anomaly = self.check_nan

    def __exit__(self, *exc):
        STATE.anomaly = self.prev
        return False

    def clone(self):
        return detect_anomaly(self.check_nan)


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(mode and check_nan)
        self.__enter__()

    def clone(self):
        return set_detect_anomaly(self.check_nan)


def is_anomaly_enabled() -> bool:
    return STATE.anomaly
