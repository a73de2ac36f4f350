"""Run the same script against torch and ember and compare what happens.

``same(fn)`` calls ``fn(torch)`` and ``fn(ember)``. If torch raises, ember must raise the
same exception class, and its message must equal torch's (with ``torch.`` read as
``ember.``), start with ``prefix`` when given, or match ``match``. Otherwise the results
are compared structurally: tensors by shape, dtype, values and requires_grad; Size, dtype
and strings by their text; numbers with a tolerance.
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

import ember


def norm_text(s: str) -> str:
    return s.replace("torch.", "ember.")


def _run(fn, M):
    try:
        return True, fn(M)
    except Exception as ex:  # noqa: BLE001 - the exception is what is compared
        return False, ex


def compare(e, t, rtol=1e-6, atol=1e-9, what="result"):
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{what}: expected an ember.Tensor, got {e!r}"
        assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), \
            f"{what}: dtype {e.dtype} != {t.dtype}"
        assert e.requires_grad == t.requires_grad, \
            f"{what}: requires_grad {e.requires_grad} != {t.requires_grad}"
        ea, ta = e.detach().numpy(), t.detach().numpy()
        if ta.dtype.kind in "fc":
            np.testing.assert_allclose(ea, ta, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(ea, ta, err_msg=what)
    elif isinstance(t, torch.Size):
        assert isinstance(e, ember.Size) and tuple(e) == tuple(t), f"{what}: {e!r} != {t!r}"
    elif isinstance(t, torch.dtype):
        assert str(e) == norm_text(str(t)), f"{what}: {e} != {t}"
    elif isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), f"{what}: {e!r} != {t!r}"
        assert type(e) is type(t) or not (type(t) in (tuple, list)), \
            f"{what}: {type(e).__name__} != {type(t).__name__}"
        for i, (x, y) in enumerate(zip(e, t)):
            compare(x, y, rtol, atol, f"{what}[{i}]")
    elif isinstance(t, dict):
        assert isinstance(e, dict) and list(e) == list(t), f"{what}: keys {list(e)} != {list(t)}"
        for k in t:
            compare(e[k], t[k], rtol, atol, f"{what}[{k!r}]")
    elif isinstance(t, str):
        assert e == norm_text(t), f"{what}: {e!r} != {norm_text(t)!r}"
    elif isinstance(t, float):
        assert isinstance(e, float), f"{what}: {e!r} is not a float"
        assert (math.isnan(e) and math.isnan(t)) or math.isclose(e, t, rel_tol=rtol,
                                                                  abs_tol=atol), f"{what}: {e} != {t}"
    else:
        assert type(e) is type(t) and e == t, f"{what}: {e!r} != {t!r}"


def leaf(M, data, rg: bool = True, dtype: str | None = None):
    """``M.tensor(data, requires_grad=rg)``, with ``dtype`` given by name."""
    return M.tensor(data, requires_grad=rg, dtype=getattr(M, dtype) if dtype else None)


def graph_structure(fn, depth: int = 2):
    """``(name, ((child structure, output_nr), ...))`` of a grad_fn, ``depth`` levels deep."""
    if fn is None:
        return None
    if depth == 0:
        return fn.name()
    return fn.name(), tuple((graph_structure(n, depth - 1), nr) for n, nr in fn.next_functions)


def same(fn, *, prefix: str | None = None, match: str | None = None, rtol=1e-6, atol=1e-9):
    """Assert ``fn(ember)`` behaves as ``fn(torch)``; returns ember's result/exception."""
    t_ok, t_res = _run(fn, torch)
    e_ok, e_res = _run(fn, ember)
    if not t_ok:
        assert not e_ok, (f"torch raised {type(t_res).__name__}: {t_res}; ember returned "
                          f"{e_res!r}")
        assert isinstance(e_res, type(t_res)) or (
            type(e_res).__name__ == type(t_res).__name__
            and isinstance(e_res, type(t_res).__mro__[1])), (
            f"ember raised {type(e_res).__name__}: {e_res}; torch raised "
            f"{type(t_res).__name__}: {t_res}")
        msg, tmsg = str(e_res), norm_text(str(t_res))
        if match is not None:
            assert re.search(match, msg), f"ember message {msg!r} does not match {match!r}"
            assert re.search(match, tmsg), f"torch message {tmsg!r} does not match {match!r}"
        elif prefix is not None:
            assert msg.startswith(prefix), f"ember message {msg!r} lacks prefix {prefix!r}"
            assert tmsg.startswith(prefix), f"torch message {tmsg!r} lacks prefix {prefix!r}"
        else:
            assert msg == tmsg, f"messages differ:\n ember: {msg}\n torch: {tmsg}"
        return e_res
    if not e_ok:
        raise AssertionError(f"torch returned {t_res!r} but ember raised") from e_res
    compare(e_res, t_res, rtol, atol)
    return e_res
