"""Text rendering of tensors, matching torch 2.13's ``repr``/``str`` output.

The only intended difference from torch is the dtype suffix, which names ``ember.int32``
where torch names ``torch.int32``.

This module touches nothing but a handful of tensor attributes (``_data``, ``dtype``,
``requires_grad``, ``grad_fn``) so it can be imported before the rest of the package.

How torch lays a tensor out (and therefore how this module does):

* One formatter is built for the whole tensor (two for complex: one for the real parts, one
  for the imaginary parts).  It looks only at the elements that will actually be shown, and
  fixes a single column width so that every element is right-aligned to it.
* Floating formatters pick one of three styles from the finite, nonzero values:
  scientific (``1.0000e-05``) when the largest/smallest magnitude ratio exceeds 1000, the
  largest exceeds 1e8 or the smallest is below 1e-4 (or when forced by ``sci_mode``);
  otherwise integer style (``3.``) when every such value is a whole number; otherwise fixed
  (``3.1416``).  nan/inf do not take part in choosing the width.
* Rows of a 1-D block wrap after as many elements as fit in ``linewidth`` minus the current
  indent; deeper dims are separated by ``dim - 1`` newlines.  Above ``threshold`` elements
  every dim longer than ``2 * edgeitems`` is cut down to its edges with ``...``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "tensor_repr"]


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Change how tensors are printed (same options and profiles as torch).

    ``profile`` ('default', 'short' or 'full') is applied first, then any explicit option
    overrides it.  As in torch, ``sci_mode`` is always assigned, so leaving it out resets it
    to automatic choice.
    """
    if profile is not None and profile in _PROFILES:
        for key, val in _PROFILES[profile].items():
            setattr(PRINT_OPTS, key, val)
    for key, val in (("precision", precision), ("threshold", threshold),
                     ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if val is not None:
            setattr(PRINT_OPTS, key, val)
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Temporarily change the print options inside a ``with`` block."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


# ---------------------------------------------------------------------------------------
# element formatting


def _extremes(vals: np.ndarray) -> list:
    """The few values whose rendering can be the widest.

    Correctly rounded decimal output is monotonic in the magnitude, so among values of one
    sign the longest fixed-point text comes from the largest magnitude, and the longest
    exponent from the largest or the smallest magnitude.
    """
    picks = []
    for part in (vals[vals > 0], vals[vals < 0]):
        if part.size:
            picks.append(part.min())
            picks.append(part.max())
    return [float(v) for v in picks]


class _Formatter:
    """Decides the style and column width for one (real-valued) block of numbers."""

    def __init__(self, data: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = data.reshape(-1)

        if not floating:
            if flat.size == 0:
                return
            if flat.dtype == np.bool_:
                self.max_width = 5 if not flat.all() else 4
            else:
                lo, hi = int(flat.min()), int(flat.max())
                self.max_width = max(1, len(str(lo)), len(str(hi)))
            return

        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        mags = np.abs(shown).astype(np.float64)
        smallest = float(mags.min())
        largest = float(mags.max())

        self.int_mode = bool(np.all(shown == np.ceil(shown)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = (largest / smallest > 1000.0 or largest > 1.0e8
                             or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        prec = PRINT_OPTS.precision
        candidates = _extremes(shown)
        if self.sci_mode:
            widths = [len(f"{v:.{prec}e}") for v in candidates]
        elif self.int_mode:
            # one extra column for the trailing '.' that marks a float
            widths = [len(f"{v:.0f}") + 1 for v in candidates]
        else:
            widths = [len(f"{v:.{prec}f}") for v in candidates]
        self.max_width = max([self.max_width] + widths)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating:
            prec = PRINT_OPTS.precision
            if self.sci_mode:
                text = f"{value:{self.max_width}.{prec}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if math.isfinite(value):
                    text += "."
            else:
                text = f"{value:.{prec}f}"
        else:
            text = f"{value}"
        return text.rjust(self.max_width)


def _element_text(value, real_fmt: _Formatter, imag_fmt: _Formatter | None) -> str:
    if imag_fmt is None:
        return real_fmt.format(value)
    real_text = real_fmt.format(value.real)
    imag_text = (imag_fmt.format(value.imag) + "j").lstrip()
    if imag_text[0] in "+-":
        return real_text + imag_text
    return real_text + "+" + imag_text


# ---------------------------------------------------------------------------------------
# layout


def _edges_only(data: np.ndarray) -> np.ndarray:
    """The elements that stay visible once a big tensor is summarized."""
    edge = PRINT_OPTS.edgeitems
    if data.ndim == 0:
        return data
    if data.ndim == 1:
        if data.shape[0] > 2 * edge:
            # with edge == 0, data[-0:] is everything: torch does the same
            return np.concatenate((data[:edge], data[-edge:]))
        return data
    if not edge:
        return data[(slice(0, 0),) * data.ndim]
    for axis, n in enumerate(data.shape):
        if n > 2 * edge:
            keep = list(range(edge)) + list(range(n - edge, n))
            data = np.take(data, keep, axis=axis)
    return data


def _row_text(data, indent, summarize, real_fmt, imag_fmt) -> str:
    per_item = real_fmt.width() + 2
    if imag_fmt is not None:
        per_item += imag_fmt.width() + 1
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / per_item))

    edge = PRINT_OPTS.edgeitems
    n = data.shape[0]
    if summarize and not edge:
        items = ["..."]
    elif summarize and n > 2 * edge:
        items = ([_element_text(v, real_fmt, imag_fmt) for v in data[:edge].tolist()]
                 + [" ..."]
                 + [_element_text(v, real_fmt, imag_fmt) for v in data[-edge:].tolist()])
    else:
        items = [_element_text(v, real_fmt, imag_fmt) for v in data.tolist()]

    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _block_text(data, indent, summarize, real_fmt, imag_fmt) -> str:
    if data.ndim == 0:
        return _element_text(data.item(), real_fmt, imag_fmt)
    if data.ndim == 1:
        return _row_text(data, indent, summarize, real_fmt, imag_fmt)

    edge = PRINT_OPTS.edgeitems
    n = data.shape[0]
    if summarize and n > 2 * edge:
        parts = ([_block_text(data[i], indent + 1, summarize, real_fmt, imag_fmt)
                  for i in range(edge)]
                 + ["..."]
                 + [_block_text(data[i], indent + 1, summarize, real_fmt, imag_fmt)
                    for i in range(n - edge, n)])
    else:
        parts = [_block_text(data[i], indent + 1, summarize, real_fmt, imag_fmt)
                 for i in range(n)]
    sep = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(parts) + "]"


def _contents(data: np.ndarray, floating: bool, is_complex: bool, indent: int) -> str:
    """The bracketed body of a non-empty tensor, as torch's ``_tensor_str`` renders it."""
    if data.size == 0:
        return "[]"
    summarize = data.size > PRINT_OPTS.threshold
    if is_complex:
        real, imag = data.real, data.imag
        real_fmt = _Formatter(_edges_only(real) if summarize else real, True)
        imag_fmt = _Formatter(_edges_only(imag) if summarize else imag, True)
        return _block_text(data, indent, summarize, real_fmt, imag_fmt)
    fmt = _Formatter(_edges_only(data) if summarize else data, floating)
    return _block_text(data, indent, summarize, fmt, None)


def _append_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    pieces = [text]
    line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            line_len += len(suffix) + 2
    pieces.append(")")
    return "".join(pieces)


def _default_float_name() -> str:
    try:
        from ember._backend.dtypes import get_default_dtype
    except Exception:  # package mid-construction: fall back to torch's default
        return "float32"
    return get_default_dtype().name


def _grad_fn_name(grad_fn) -> str:
    name = getattr(grad_fn, "name", None)
    if callable(name):
        return str(name()).rsplit("::", 1)[-1]
    return type(grad_fn).__name__


def tensor_repr(t, prefix: str = "tensor(") -> str:
    """``repr(t)`` exactly as torch would print it, with ``ember.`` dtype names."""
    data = np.asarray(t._data)
    dt = t.dtype
    indent = len(prefix)
    suffixes = []

    default_float = _default_float_name()
    default_complex = "complex128" if default_float == "float64" else "complex64"
    dtype_suffix = f"dtype=ember.{dt.name}"
    size_suffix = "size=" + str(tuple(int(n) for n in data.shape))

    if data.size == 0:
        # like NumPy, the shape is only spelled out when it is not (0,)
        if data.ndim != 1:
            suffixes.append(size_suffix)
        # nothing to infer an integer type from, so any non-default type is named
        if dt.name != default_float:
            suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(size_suffix)
        if dt.name not in (default_float, default_complex, "int64", "bool"):
            suffixes.append(dtype_suffix)
        body = _contents(data, bool(dt.is_floating_point), bool(dt.is_complex), indent)

    grad_fn = getattr(t, "grad_fn", None)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{_grad_fn_name(grad_fn)}>")
    elif getattr(t, "requires_grad", False):
        suffixes.append("requires_grad=True")

    return _append_suffixes(prefix + body, suffixes, indent)


def tensor_str(t, prefix: str = "tensor(") -> str:
    """Same as :func:`tensor_repr`: torch's ``str`` and ``repr`` agree."""
    return tensor_repr(t, prefix)
