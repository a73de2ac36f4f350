"""``ember.utils``: data loading (``ember.utils.data``) and other helpers.

Submodules load on first attribute access (``ember.utils.data``), so importing ``ember.utils``
costs nothing.
"""
from __future__ import annotations

import importlib as _importlib


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
    try:
        mod = _importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'ember.utils' has no attribute '{name}'") from None
    globals()[name] = mod
    return mod
