"""``ember.cuda``: present so that torch-style device checks run. ember has no CUDA backend
yet, so ``is_available()`` is False and moving to 'cuda' raises a clear error."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def synchronize(device=None) -> None:
    return None


def manual_seed(seed) -> None:
    return None


def manual_seed_all(seed) -> None:
    return None


def is_initialized() -> bool:
    return False


def empty_cache() -> None:
    return None
