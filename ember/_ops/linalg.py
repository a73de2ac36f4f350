"""Matrix products: matmul (1-D, 2-D, batched, broadcast), mm, bmm, mv, dot, outer, addmm,
einsum. Backward rules are matmuls/einsums themselves, so higher-order gradients work.

Shape errors carry torch's messages; for batched ``matmul`` they follow torch's dispatch
(fold a batched operand into a matrix, otherwise broadcast the batch and ``bmm``).
"""
from __future__ import annotations

from .._backend import xp
from .._backend import dtypes as _dt
from .._tensor import Tensor
from ..autograd.function import Primitive
from ._util import sum_to, SumToSize

_BY_NP = _dt._BY_NP


def _cap(t: Tensor) -> str:
    """torch's scalar-type name (Float, Double, Long...)."""
    from .creation import _NAME_OF
    return _NAME_OF.get(t.dtype, "torch.Tensor")[6:-6] or t.dtype.name.capitalize()


def _x(shape) -> str:
    return "x".join(str(v) for v in shape)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


class MatMul(Primitive):
    """``a @ b`` for any ranks >= 1 (NumPy's broadcasting rules are torch's).

    For a batched ``a`` times a matrix/vector ``b``, the gradient for ``b`` is one GEMM over
    the folded batch (no batch-sized temporary to sum)."""
    save_inputs = (0, 1)

    def forward(self, a, b, nm):
        self.sa, self.sb, self.nm = a.shape, b.shape, nm
        return xp.matmul(_blas_ready(a), _blas_ready(b))

    def backward(self, g):
        a, b = self.saved_inputs
        sa, sb = self.sa, self.sb
        need_a, need_b = self.needs_input_grad[0], self.needs_input_grad[1]
        ga = gb = None
        if len(sa) == 1 and len(sb) == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        if len(sa) >= 3 and len(sb) <= 2:
            k = sa[-1]
            if need_a:
                ga = matmul(g.unsqueeze(-1), b.unsqueeze(0)) if len(sb) == 1 else \
                    matmul(g, b.mT)
            if need_b:
                a2 = a.reshape(-1, k)
                gb = matmul(a2.mT, g.reshape(-1)) if len(sb) == 1 else \
                    matmul(a2.mT, g.reshape(-1, sb[-1]))
            return ga, gb
        a2 = a.unsqueeze(0) if len(sa) == 1 else a
        b2 = b.unsqueeze(-1) if len(sb) == 1 else b
        g2 = g
        if len(sa) == 1:
            g2 = g2.unsqueeze(-2)
        if len(sb) == 1:
            g2 = g2.unsqueeze(-1)
        if need_a:
            ga = matmul(g2, b2.mT)
            if len(sa) == 1:
                ga = ga.squeeze(-2)
            ga = sum_to(ga, sa)
        if need_b:
            gb = matmul(a2.mT, g2)
            if len(sb) == 1:
                gb = gb.squeeze(-1)
            gb = sum_to(gb, sb)
        return ga, gb

    def name(self):
        return self.nm


def _lhs_dims(sa, db) -> int:
    """torch treats a (1, n, k) left operand of a batched product as the matrix (n, k)."""
    return 2 if len(sa) == 3 and sa[0] == 1 and db >= 3 else len(sa)


def _blas_ready(x):
    """``x``, copied if its matrices are not BLAS-addressable: NumPy's matmul falls back to a
    loop 10-100x slower for, e.g., the stride-0 gradients that ``sum().backward()`` makes."""
    if x.ndim == 0:
        return x
    isz = x.itemsize
    if x.ndim == 1:
        ok = x.strides[0] == isz or x.shape[0] <= 1
    else:
        r, c = x.strides[-2], x.strides[-1]
        ok = (c == isz or x.shape[-1] <= 1) and r >= x.shape[-1] * isz or \
            (r == isz or x.shape[-2] <= 1) and c >= x.shape[-2] * isz
    return x if ok else xp.ascontiguousarray(x)


def _matmul_name(a: Tensor, b: Tensor) -> str:
    da, db = a._data.ndim, b._data.ndim
    if da <= 2 and db <= 2:
        return {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4",
                (2, 2): "MmBackward0"}[(da, db)]
    if _lhs_dims(a._data.shape, db) == 2 and db >= 3 and a._requires_grad:
        return "CloneBackward0"
    return "UnsafeViewBackward0"


def _same_dtype(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{a.dtype.name if a.dtype.name != 'float32' else 'float'} != "
                           f"{b.dtype.name if b.dtype.name != 'float32' else 'float'}"
                           .replace("float64", "double").replace("int64", "long int"))


def _dot_error(n1, n2):
    raise RuntimeError(f"inconsistent tensor size, expected tensor [{n1}] and src [{n2}] to have "
                       f"the same number of elements, but got {n1} and {n2} elements "
                       "respectively")


def _mv_error(mat, n):
    raise RuntimeError(f"size mismatch, got input ({mat[0]}), mat ({_x(mat)}), vec ({n})")


def _mm_error(s1, s2):
    raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_x(s1)} and {_x(s2)})")


def _foldable(t: Tensor) -> bool:
    a = t._data
    if a.size == 0:
        return True
    st, sh = a.strides, a.shape
    return all(st[i] == st[i + 1] * sh[i + 1] for i in range(a.ndim - 2))


def _matmul_shape_error(a: Tensor, b: Tensor) -> None:
    """Raise torch's error for incompatible ``a @ b`` (called only on a mismatch)."""
    sa, sb = a._data.shape, b._data.shape
    da, db = len(sa), len(sb)
    if da == 1 and db == 1:
        _dot_error(sa[0], sb[0])
    if da == 2 and db == 1:
        _mv_error(sa, sb[0])
    if da == 1 and db == 2:
        _mm_error((1, sa[0]), sb)
    if da == 2 and db == 2:
        _mm_error(sa, sb)
    if da >= 3 and db <= 2 and (b._requires_grad or _foldable(a)):
        rows = (_prod(sa[:-1]), sa[-1])
        _mv_error(rows, sb[0]) if db == 1 else _mm_error(rows, sb)
    if db >= 3 and _lhs_dims(sa, db) <= 2 and a._requires_grad:
        rows = (_prod(sb[:-2]) * sb[-1], sb[-2])      # b.mT folded
        _mv_error(rows, sa[0]) if da == 1 else _mm_error(rows, sa[:-3:-1])
    ba, bb = sa[:-2], sb[:-2]
    n = max(len(ba), len(bb))
    pa, pb = (1,) * (n - len(ba)) + ba, (1,) * (n - len(bb)) + bb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            raise RuntimeError(f"The size of tensor a ({pa[i]}) must match the size of tensor b "
                               f"({pb[i]}) at non-singleton dimension {i}")
    batch = _prod(max(x, y) for x, y in zip(pa, pb))
    k2 = sb[-2] if db >= 2 else sb[0]
    raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{batch}, {sa[-1]}] but got: [{batch}, {k2}].")


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """``input @ other`` with torch's rules for 1-D, 2-D and batched (broadcast) operands."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        bad = input if not isinstance(input, Tensor) else other
        pos = 1 if bad is input else 2
        raise TypeError(f"matmul(): argument '{'input' if pos == 1 else 'other'}' (position "
                        f"{pos}) must be Tensor, not {type(bad).__name__}")
    sa, sb = input._data.shape, other._data.shape
    if len(sa) == 0 or len(sb) == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(sa)}D and {len(sb)}D")
    _same_dtype(input, other)
    kb = sb[-2] if len(sb) > 1 else sb[0]
    if sa[-1] != kb:
        _matmul_shape_error(input, other)
    if len(sa) > 2 or len(sb) > 2:
        try:
            xp.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            _matmul_shape_error(input, other)
    return MatMul.apply(input, other, nm=_matmul_name(input, other))


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _same_dtype(input, mat2)
    if input._data.shape[1] != mat2._data.shape[0]:
        _mm_error(input._data.shape, mat2._data.shape)
    return MatMul.apply(input, mat2, nm="MmBackward0")


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    s1, s2 = input._data.shape, mat2._data.shape
    if s1[0] != s2[0] or s1[2] != s2[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{s1[0]}, {s1[2]}] but got: [{s2[0]}, {s2[1]}].")
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"expected scalar type {_cap(input)} but found {_cap(mat2)}")
    return MatMul.apply(input, mat2, nm="BmmBackward0")


def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input._data.ndim}, "
                           f"{vec._data.ndim}")
    if input._data.shape[1] != vec._data.shape[0]:
        _mv_error(input._data.shape, vec._data.shape[0])
    if input._data.dtype != vec._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_cap(vec)}, {_cap(input)}, and {_cap(vec)}")
    return MatMul.apply(input, vec, nm="MvBackward0")


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and "
                           f"{other._data.ndim}D tensors")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_cap(input)} and {_cap(other)}")
    if input._data.shape[0] != other._data.shape[0]:
        _dot_error(input._data.shape[0], other._data.shape[0])
    return MatMul.apply(input, other, nm="DotBackward0")


vdot = dot


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum-product over the last dims (``dot`` for vectors)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    if input._data.ndim == 1 and other._data.ndim == 1:
        return dot(input, other)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return matmul(input, other.movedim(-1, 0).reshape(other.shape[-1], -1)).reshape(
        tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    if input._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input._data.ndim}-D")
    if vec2._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2._data.ndim}-D")
    return input.reshape(-1, 1) * vec2


ger = outer


class Addmm(Primitive):
    """``beta * input + alpha * (mat1 @ mat2)`` in one node (torch's ``addmm``/linear)."""
    save_inputs = (1, 2)

    def forward(self, c, a, b, beta, alpha):
        self.sc, self.beta, self.alpha = c.shape, beta, alpha
        out = xp.matmul(_blas_ready(a), _blas_ready(b))
        if alpha != 1:
            out *= alpha
        if beta != 0:
            out += c if beta == 1 else beta * c
        return out

    def backward(self, g):
        a, b = self.saved_inputs
        need = self.needs_input_grad
        gc = ga = gb = None
        if need[0]:
            gc = sum_to(g if self.beta == 1 else g * self.beta, self.sc)
        ga_g = g if self.alpha == 1 else g * self.alpha
        if need[1]:
            ga = matmul(ga_g, b.mT)
        if need[2]:
            gb = matmul(a.mT, ga_g)
        return gc, ga, gb

    def name(self):
        return "AddmmBackward0"


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    if mat1._data.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1._data.ndim}-D tensor")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2._data.ndim}-D tensor")
    if mat1._data.shape[1] != mat2._data.shape[0]:
        _mm_error(mat1._data.shape, mat2._data.shape)
    dts = {input._data.dtype, mat1._data.dtype, mat2._data.dtype}
    if len(dts) != 1:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_cap(input)} and "
                           f"{_cap(mat2)}")
    out_shape = (mat1._data.shape[0], mat2._data.shape[1])
    try:
        ok = xp.broadcast_shapes(input._data.shape, out_shape) == out_shape
    except ValueError:
        ok = False
    if not ok:
        from .shape import expand
        expand(input, out_shape)    # raises torch's expand error
    return Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    r = mv(mat, vec)
    r = r if alpha == 1 else r * alpha
    return r if beta == 0 else (input if beta == 1 else input * beta) + r


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    r = bmm(batch1, batch2).sum(0)
    r = r if alpha == 1 else r * alpha
    return r if beta == 0 else (input if beta == 1 else input * beta) + r


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    r = bmm(batch1, batch2)
    r = r if alpha == 1 else r * alpha
    return r if beta == 0 else (input if beta == 1 else input * beta) + r


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    r = outer(vec1, vec2)
    r = r if alpha == 1 else r * alpha
    return r if beta == 0 else (input if beta == 1 else input * beta) + r


# ---- einsum ----------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation: str, shapes) -> tuple:
    """Expand ``...`` into letters and make the output explicit: ``(terms, out)``."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    for c in eq:
        if not (c in _LETTERS or c in ",.->"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the "
                               f"equation string, subscripts must be in [a-zA-Z]")
    free = [c for c in _LETTERS if c not in eq]
    n_ell = 0
    for t, shp in zip(terms, shapes):
        n_letters = len(t.replace("...", ""))
        if "..." in t:
            n_ell = max(n_ell, len(shp) - n_letters)
        elif n_letters != len(shp):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({n_letters}) does not match the number of dimensions "
                               f"({len(shp)}) for operand {terms.index(t)} and no ellipsis was "
                               "given")
    ell = "".join(free[:n_ell])
    new_terms = []
    for t, shp in zip(terms, shapes):
        if "..." in t:
            k = len(shp) - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k:] if k else "")
        new_terms.append(t)
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(new_terms)
        out = ell + "".join(sorted((c for c in set(letters) if letters.count(c) == 1
                                    and c not in ell), key=lambda c: (c.isupper(), c)))
    return new_terms, out


class Einsum(Primitive):
    """einsum whose backward is one einsum per operand (plus diagonal embedding and
    un-broadcasting where the operand's subscripts need it)."""

    def forward(self, *ops, terms, out):
        self.terms, self.out, self.shapes = terms, out, [o.shape for o in ops]
        self.save_inputs = tuple(range(len(ops)))
        return xp.einsum(",".join(terms) + "->" + out, *ops, optimize=len(ops) > 2)

    def backward(self, g):
        ops = self.saved_inputs
        grads = []
        for i, term in enumerate(self.terms):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(self.terms) if j != i]
            other_ops = [o for j, o in enumerate(ops) if j != i]
            uniq = "".join(dict.fromkeys(term))
            avail = set(self.out) | set("".join(others))
            keep = "".join(c for c in uniq if c in avail)
            gk = Einsum.apply(g, *other_ops, terms=[self.out] + others, out=keep)
            shape = self.shapes[i]
            want = tuple(shape[term.index(c)] for c in uniq)
            for pos, c in enumerate(uniq):       # letters summed out in forward: broadcast
                if c not in keep:
                    gk = gk.unsqueeze(pos)
            have = tuple(gk.shape)
            if have != want:
                reduced = tuple(1 if w == 1 else h for w, h in zip(want, have))
                if reduced != have:              # operand dims of size 1 that broadcast
                    gk = SumToSize.apply(gk, shape=reduced)
                if reduced != want:
                    gk = gk.expand(want)
            if uniq != term:
                gk = _EinsumDiagEmbed.apply(gk, term=term, uniq=uniq, shape=shape)
            grads.append(gk)
        return tuple(grads)

    def name(self):
        return "EinsumBackward0"


class _EinsumDiagEmbed(Primitive):
    """Zeros of ``shape`` (subscripts ``term`` with repeats) with the diagonal given by ``g``
    (subscripts ``uniq``): the gradient of reading a diagonal in einsum."""

    def forward(self, g, term, uniq, shape):
        self.term, self.uniq = term, uniq
        out = xp.zeros(shape, dtype=g.dtype)
        n = len(uniq)
        idx = []
        for c in term:
            k = uniq.index(c)
            r = xp.arange(g.shape[k]).reshape((1,) * k + (-1,) + (1,) * (n - k - 1))
            idx.append(r)
        out[tuple(idx)] = g
        return out

    def backward(self, gg):
        return Einsum.apply(gg, terms=[self.term], out=self.uniq)

    def name(self):
        return "EinsumBackward0"


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation (torch's rules: same dtypes, ``...`` broadcasting, implicit output
    of the letters that appear once, in alphabetical order)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for o in operands:
        if not isinstance(o, Tensor):
            raise TypeError(f"einsum(): operands must be Tensors, got {type(o).__name__}")
    terms, out = _parse_einsum(equation, [o._data.shape for o in operands])
    first = operands[0]
    for o in operands[1:]:
        if o._data.dtype != first._data.dtype:
            raise RuntimeError(f"expected scalar type {_cap(first)} but found {_cap(o)}")
    sizes: dict = {}
    for i, (t, o) in enumerate(zip(terms, operands)):
        own: dict = {}
        for c, s in zip(t, o._data.shape):
            if c in own and own[c] != s:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the "
                                   f"sizes don't match, {s} != {own[c]}")
            own[c] = s
            if c in sizes and s != sizes[c] and 1 not in (s, sizes[c]):
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes "
                                   f"(original->remapped): subscript {c} has size {s} for "
                                   f"operand {i} which does not broadcast with previously seen "
                                   f"size {sizes[c]}")
            sizes[c] = max(s, sizes.get(c, 1))
    for c in out:
        if c not in sizes:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                               "for any input operand")
    return Einsum.apply(*operands, terms=terms, out=out)


__all__ = ["matmul", "mm", "bmm", "mv", "dot", "inner", "vdot", "outer", "ger", "addmm",
           "addmv", "addbmm", "baddbmm", "addr", "einsum"]
TENSOR_METHODS = {n: globals()[n] for n in __all__ if n != "einsum"}
TENSOR_METHODS.update({
    "__matmul__": lambda s, o: matmul(s, o) if isinstance(o, Tensor) else NotImplemented,
    "__rmatmul__": lambda s, o: matmul(o, s) if isinstance(o, Tensor) else NotImplemented,
})
