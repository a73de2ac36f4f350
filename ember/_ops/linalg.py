"""Matrix products: matmul (1-D, 2-D, batched, broadcast), mm, bmm, mv, dot, outer, addmm,
einsum. Backward rules are matmuls themselves, so higher-order gradients work.
"""
from __future__ import annotations

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import sum_to

_BY_NP = _dt._BY_NP


def _dtype_check(a, b, name="mm"):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype.name} != {b.dtype.name}" if name == "mm" else
                           f"expected scalar type {a.dtype.name.capitalize()} but found "
                           f"{b.dtype.name.capitalize()}")


def _shape_str(s):
    return "x".join(str(v) for v in s)


class MatMul(Primitive):
    """General matmul with NumPy's (== torch's) broadcasting rules."""
    save_inputs = (0, 1)

    def forward(self, a, b):
        self.sa, self.sb = a.shape, b.shape
        return xp.matmul(a, b)

    def backward(self, g):
        a, b = self.saved_inputs
        sa, sb = self.sa, self.sb
        ga = gb = None
        if len(sa) == 1 and len(sb) == 1:
            ga = g * b if self.needs(0) else None
            gb = g * a if self.needs(1) else None
            return ga, gb
        # promote 1-D operands to matrices, as matmul does
        a2 = a.unsqueeze(0) if len(sa) == 1 else a
        b2 = b.unsqueeze(-1) if len(sb) == 1 else b
        g2 = g
        if len(sa) == 1:
            g2 = g2.unsqueeze(-2)
        if len(sb) == 1:
            g2 = g2.unsqueeze(-1)
        if self.needs(0):
            ga = matmul(g2, b2.mT)
            if len(sa) == 1:
                ga = ga.squeeze(-2)
            ga = sum_to(ga, sa)
        if self.needs(1):
            gb = matmul(a2.mT, g2)
            if len(sb) == 1:
                gb = gb.squeeze(-1)
            gb = sum_to(gb, sb)
        return ga, gb

    def needs(self, i):
        n = self.next_functions[i][0]
        return n is not None

    def name(self):
        if len(self.sa) == 2 and len(self.sb) == 2:
            return "MmBackward0"
        if len(self.sa) == 1 and len(self.sb) == 1:
            return "DotBackward0"
        if len(self.sa) == 2 and len(self.sb) == 1:
            return "MvBackward0"
        if len(self.sa) == 3 and len(self.sb) == 3:
            return "BmmBackward0"
        return "MmBackward0" if len(self.sb) == 2 else "UnsafeViewBackward0"


def matmul(input, other):
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    sa, sb = input._data.shape, other._data.shape
    if len(sa) == 0 or len(sb) == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(sa)}D and {len(sb)}D")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{input.dtype.name} != {other.dtype.name}")
    ka = sa[-1]
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if ka != kb:
        if len(sa) == 1 and len(sb) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src "
                               f"[{sb[0]}] to have the same number of elements, but got {sa[0]} "
                               f"and {sb[0]} elements respectively")
        if len(sb) == 1:
            raise RuntimeError(f"size mismatch, got input ({sa[0] if len(sa) == 2 else sa}), "
                               f"mat ({_shape_str(sa)}), vec ({sb[0]})")
        a2 = sa if len(sa) > 1 else (1,) + sa
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(_flat2(a2))} "
                           f"and {_shape_str(sb[-2:])})")
    if len(sa) > 2 or len(sb) > 2:
        try:
            xp.broadcast_shapes(sa[:-2] if len(sa) > 1 else (), sb[:-2] if len(sb) > 1 else ())
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({sa[-3] if len(sa) > 2 else 1}) must match "
                               f"the size of tensor b ({sb[-3] if len(sb) > 2 else 1}) at "
                               "non-singleton dimension 0") from None
    return MatMul.apply(input, other)


def _flat2(s):
    if len(s) <= 2:
        return s
    n = 1
    for v in s[:-1]:
        n *= v
    return (n, s[-1])


def mm(input, mat2):
    if input._data.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    return matmul(input, mat2)


def bmm(input, mat2):
    if input._data.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError(f"batch2 must be a 3D tensor")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input._data.shape[0]}, {input._data.shape[2]}] but got: "
                           f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}].")
    return matmul(input, mat2)


def mv(input, vec):
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {vec._data.ndim}, "
                           f"{input._data.ndim}, {vec._data.ndim}")
    return matmul(input, vec)


def dot(input, other):
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and "
                           f"{other._data.ndim}D tensors")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{input.dtype.name.capitalize()} and {other.dtype.name.capitalize()}")
    return matmul(input, other)


inner = dot
vdot = dot


def outer(input, vec2):
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    p = mm(mat1, mat2)
    if alpha != 1:
        p = p * alpha
    if beta == 0:
        return p
    return (input * beta if beta != 1 else input) + p


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return input * beta + alpha * mv(mat, vec)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return input * beta + alpha * bmm(batch1, batch2).sum(0)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return input * beta + alpha * bmm(batch1, batch2)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    return input * beta + alpha * outer(vec1, vec2)


class Einsum(Primitive):
    """einsum with a backward made of einsums (one per operand)."""

    def forward(self, *ops, eq):
        self.eq = eq
        return xp.einsum(eq, *ops, optimize=len(ops) > 2)

    def backward(self, g):
        ins, out = self.eq.split("->")
        terms = ins.split(",")
        ops = self._ops
        grads = []
        for i, term in enumerate(terms):
            if self.next_functions[i][0] is None:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != i]
            other_ops = [o for j, o in enumerate(ops) if j != i]
            # letters of this operand not present in output or other operands are summed out:
            # their gradient is broadcast back
            avail = set(out) | set("".join(others))
            keep = "".join(c for c in term if c in avail)
            eq = ",".join([out] + others) + "->" + keep
            gk = einsum(eq, g, *other_ops)
            if keep != term:
                gk = _expand_letters(gk, keep, term, ops[i].shape)
            grads.append(gk)
        return tuple(grads)

    def name(self):
        return "EinsumBackward0"


def _expand_letters(t, have, want, shape):
    """Insert/broadcast axes for letters summed out (repeated letters are diagonals)."""
    if len(set(want)) != len(want):
        raise NotImplementedError("einsum backward with a repeated index in one operand (a "
                                  "diagonal) is not supported")
    for pos, c in enumerate(want):
        if c not in have:
            t = t.unsqueeze(pos)
            have = have[:pos] + c + have[pos:]
    return t.expand(tuple(shape))


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    if "..." in eq:
        raise NotImplementedError("ember.einsum does not support '...' (ellipsis) yet")
    if "->" not in eq:
        ins = eq.split(",")
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        eq = eq + "->" + out
    from ._util import result_dtype
    d = result_dtype(*operands)
    ops = [o if o._data.dtype == d.np else o.to(d) for o in operands]
    node_out = Einsum.apply(*ops, eq=eq)
    if node_out.grad_fn is not None:
        node_out.grad_fn._ops = ops
    return node_out


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "inner", "vdot", "outer", "ger", "addmm",
           "addmv", "addbmm", "baddbmm", "addr", "einsum"]
TENSOR_METHODS = {n: globals()[n] for n in __all__ if n != "einsum"}
TENSOR_METHODS.update({
    "__matmul__": lambda s, o: matmul(s, o) if isinstance(o, Tensor) else NotImplemented,
    "__rmatmul__": lambda s, o: matmul(o, s) if isinstance(o, Tensor) else NotImplemented,
})
