"""``ember.nn``: modules, parameters, functional forms, initialisers (mirrors torch.nn)."""
from .parameter import Parameter, Buffer  # noqa: F401
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _module_names
from . import functional, init, utils  # noqa: F401
from . import modules  # noqa: F401

__all__ = ["Parameter", "Buffer", "functional", "init", "utils", "modules"] + list(_module_names)


def __getattr__(name):
    from ._unsupported import MODULES, missing
    missing("ember.nn", MODULES, name)
