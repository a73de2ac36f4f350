"""Tensor attributes and conversions against torch 2.13 (same script, both libraries)."""
from __future__ import annotations

import operator
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from parity import same


def _views(M):
    a = M.arange(24, dtype=M.float32).reshape(2, 3, 4)
    return {
        "contiguous": a,
        "transposed": a.transpose(0, 2),
        "sliced": a[:, 1],
        "stepped": a[:, ::2, 1:],
        "scalar": M.tensor(3.5),
        "empty": M.zeros(0, 3),
        "expanded": a[None].expand(2, 2, 3, 4),
        "int64": M.tensor([[1, 2], [3, 4]]),
        "bool": M.tensor([True, False]),
        "float64_col": M.ones(3, 1, dtype=M.float64),
    }


@pytest.mark.parametrize("kind", sorted(_views(ember)))
def test_shape_attributes(kind):
    def f(M):
        x = _views(M)[kind]
        r = [x.shape, x.size(), x.dim(), x.ndim, x.ndimension(), x.numel(), x.nelement(),
             x.stride(), x.is_contiguous(), x.element_size(), x.itemsize, x.nbytes, x.dtype,
             str(x.device), x.device.type, x.is_leaf, x.requires_grad, x.grad, x.grad_fn,
             x.storage_offset(), x.is_floating_point(), x.is_complex(), x.get_device(),
             x.is_cuda, x.name if hasattr(x, "name") else None]
        if x.dim():
            r += [x.size(0), x.size(-1), x.stride(0), x.stride(-1), len(x)]
        return r
    same(f)


@pytest.mark.parametrize("case", [
    lambda M: M.ones(2, 3).size(2),
    lambda M: M.ones(2, 3).size(-3),
    lambda M: M.ones(2, 3).stride(2),
    lambda M: M.tensor(1.0).size(0),
    lambda M: M.ones(3).mT,
])
def test_shape_attribute_errors(case):
    same(case)


def test_transposes():
    def f(M):
        a = M.arange(24.0).reshape(2, 3, 4)
        m = M.arange(6.0).reshape(2, 3)
        return (a.mT.shape, a.mT.stride(), a.mH.shape, m.T, m.T.stride(), M.ones(3).T.shape,
                M.tensor(2.0).T, m.mT, m.H)
    same(f)


def test_name_is_none():
    def f(M):
        x = M.ones(2)
        return x.name if hasattr(x, "name") else None
    # torch tensors have no ``name`` (it is None for ember): the spec asks for None
    assert ember.ones(2).name is None
    same(f)


def test_autograd_attributes():
    def f(M):
        a = M.tensor([1.0, 2.0], requires_grad=True)
        b = a * 2
        (b.sum()).backward()
        return (a.is_leaf, b.is_leaf, a.requires_grad, b.requires_grad, a.grad, a.grad_fn,
                b.grad_fn.name(), b.data, b.data.requires_grad, b.data.is_leaf,
                b.data.grad_fn, a.data.requires_grad)
    same(f)


def test_data_shares_memory_not_version():
    def f(M):
        a = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        d = a.data
        d[0] = 5
        return a, int(d._version), int(a._version), d.requires_grad
    same(f)


def test_data_setter():
    def f(M):
        a = M.ones(3, requires_grad=True)
        a.data = M.zeros(2, 2, dtype=M.float64)
        return a, a.shape, a.dtype, a.requires_grad, a.is_leaf
    same(f)


def test_item_and_tolist():
    def f(M):
        a = M.tensor([[1.5, 2.0], [3.0, 4.0]])
        s, i, b = M.tensor(2.5), M.tensor(7), M.tensor(True)
        h = M.tensor([1.5], dtype=M.float16)
        return (a.tolist(), s.tolist(), s.item(), i.item(), type(i.item()).__name__, b.item(),
                type(b.item()).__name__, M.tensor([[9]]).item(), h.item(), M.ones(0).tolist(),
                M.tensor([1, 2], dtype=M.uint8).tolist(), M.tensor(2.0, requires_grad=True).item())
    same(f)


@pytest.mark.parametrize("case", [
    lambda M: M.ones(2).item(),
    lambda M: M.ones(0).item(),
    lambda M: float(M.ones(2)),
    lambda M: int(M.ones(2)),
    lambda M: bool(M.ones(2)),
    lambda M: bool(M.ones(0)),
    lambda M: [1, 2, 3][M.tensor(1.0)],
    lambda M: operator.index(M.tensor([1, 2])),
    lambda M: len(M.tensor(1.0)),
    lambda M: iter(M.tensor(1.0)),
    lambda M: f"{M.ones(2):.2f}",
])
def test_conversion_errors(case):
    same(case)


def test_python_number_conversions():
    def f(M):
        s, i = M.tensor(2.5), M.tensor(7)
        return (float(s), int(s), int(i), float(i), bool(s), bool(M.tensor(0.0)),
                bool(M.tensor([1.0])), bool(M.tensor([[0]])), complex(s),
                [1, 2, 3, 4, 5, 6, 7, 8][i], operator.index(M.tensor([3])), round(float(s)),
                abs(s).item(), int(M.tensor(-2.7)), range(10)[M.tensor(2)])
    same(f)


def test_format():
    def f(M):
        s, i = M.tensor(2.5), M.tensor(7)
        return (f"{s:.4f}", f"{i:5d}", f"{s}", format(s, ""), f"{M.tensor(1 / 3):.3e}",
                f"{M.ones(2)}", format(M.ones(2, dtype=M.int64)), f"{M.tensor(True)}",
                f"{M.tensor(2.0, requires_grad=True):.2f}")
    same(f)


def test_len_and_iter():
    def f(M):
        a = M.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
        rows = list(a)
        (rows[0] * 2 + rows[2]).sum().backward()
        return len(a), len(M.zeros(0, 2)), [r for r in rows], a.grad, \
            [x.item() for x in M.tensor([1, 2, 3])], list(M.zeros(0))
    same(f)


def test_numpy_shares_memory():
    def f(M):
        a = M.zeros(3)
        n = a.numpy()
        n[0] = 5
        a[1] = 7
        t = M.arange(6.0).reshape(2, 3).t()
        nt = t.numpy()
        return (a, n.tolist(), np.shares_memory(n, a.numpy()), nt.shape, nt.strides,
                np.shares_memory(nt, t.numpy()), n.dtype.name)
    same(f)


@pytest.mark.parametrize("case", [
    lambda M: M.ones(2, requires_grad=True).numpy(),
    lambda M: (M.ones(2, requires_grad=True) * 2).numpy(),
    lambda M: np.asarray(M.ones(2, requires_grad=True)),
    lambda M: np.array(M.ones(2, requires_grad=True)),
])
def test_numpy_refused_when_requires_grad(case):
    same(case)


def test_numpy_force_and_detach():
    def f(M):
        a = M.ones(3, requires_grad=True)
        n = a.detach().numpy()
        n[0] = 9
        return a, a.numpy(force=True).tolist()
    same(f)


def test_array_protocol():
    def f(M):
        a = M.tensor([[1.0, 2.0], [3.0, 4.0]])
        arr = np.asarray(a)
        arr64 = np.array(a, dtype=np.float64)
        arr[0, 0] = 10                       # np.asarray shares memory
        return (a, arr64.dtype.name, arr64.tolist(), np.sum(a).item(),
                np.asarray(M.tensor(3)).shape)
    same(f)


def test_hash_by_identity():
    def f(M):
        a, b = M.ones(2), M.ones(2)
        d = {a: 1, b: 2}
        s = {a, b, a}
        return len(d), len(s), d[a], d[b], a in s, hash(a) == hash(a), hash(a) == id(a)
    same(f)


def test_float_of_requires_grad_tensor_warns_once():
    code = ("import warnings, {m}\n"
            "warnings.simplefilter('always')\n"
            "x = {m}.tensor(2.0, requires_grad=True)\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    float(x * 2); float(x); int(x); x.item(); bool(x)\n"
            "print(len(w), str(w[0].message).split(' (Triggered')[0] if w else '')\n")
    root = Path(__file__).resolve().parents[1]
    outs = [subprocess.run([sys.executable, "-c", code.format(m=m)], capture_output=True,
                           text=True, check=True, cwd=root).stdout for m in ("torch", "ember")]
    assert outs[0] == outs[1], outs
    assert outs[1].startswith("1 Converting a tensor with requires_grad=True to a scalar")
