"""Fused recurrent kernels: one primitive runs one direction of one RNN/LSTM/GRU layer.

``RecurrentLayer`` works on a whole sequence at once:

* forward: the input projection of every time step is one GEMM up front
  (``X @ W_ih^T``, ``X`` of shape ``(N, input_size)``); each step then adds one GEMM
  ``h @ W_hh^T`` for all gates together and applies the gate nonlinearities in place
  (the LSTM kernel works feature-major, see ``_lstm_forward``);
* backward: backpropagation through time is written by hand, one GEMM per step for the
  hidden-state gradient; the weight gradients and the input gradient are three GEMMs over
  the whole sequence after the loop (``dZ^T X``, ``dZ^T H_prev``, ``dZ X``), taking the
  kernels' ``(gates, N)`` gradients transposed, which BLAS does for free.

Sequences are processed in *packed* layout: ``x`` is ``(N, input_size)`` with the rows of
time step ``t`` at ``offsets[t]:offsets[t] + batch_sizes[t]`` and ``batch_sizes``
non-increasing (torch's ``PackedSequence``). A padded ``(T, B, input_size)`` input is the
special case where every step has ``B`` rows. The hidden state of a sequence that ended
stays in its row of the state array, so ``h_n`` holds each sequence's last state, as torch.

Gate order and formulas are torch's: LSTM ``i, f, g, o``; GRU ``r, z, n`` with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``. Internally the LSTM gate rows are
reordered to ``i, f, o, g`` and the sigmoid gates' rows pre-scaled by 1/2 so that a single
``tanh`` call evaluates every gate (``sigmoid(z) = (1 + tanh(z/2)) / 2``).

The backward is not itself differentiable (torch's cuDNN kernels have the same
limitation): it works with ``create_graph=True`` but differentiating its result again
raises a RuntimeError naming this op.
"""
from __future__ import annotations

from .._backend import xp
from .._backend.blas import transpose_copy
from .._tensor import Tensor
from ..autograd.function import Primitive
from ..autograd.grad_mode import STATE

__all__: list = []
TENSOR_METHODS: dict = {}

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _schedule(n_steps: int, batch: int, batch_sizes, reverse: bool):
    """``[(row_offset, rows), ...]`` of each time step in processing order, and N."""
    sizes = (batch,) * n_steps if batch_sizes is None else batch_sizes
    steps, off = [], 0
    for n in sizes:
        steps.append((off, n))
        off += n
    if reverse:
        steps.reverse()
    return steps, off


def _ifog_halved(w):
    """Torch's gate blocks ``i, f, g, o`` (rows of ``w``) as a new array in the order
    ``i, f, o, g`` with the sigmoid gates' blocks halved (block copies: a (1024, 256) weight
    takes 3x less time than a fancy-indexed row permutation)."""
    H = w.shape[0] // 4
    out = xp.empty(w.shape, w.dtype)
    xp.multiply(w[:2 * H], 0.5, out=out[:2 * H])
    xp.multiply(w[3 * H:], 0.5, out=out[2 * H:3 * H])
    out[3 * H:] = w[2 * H:3 * H]
    return out


def _mm_t(a, b, buf):
    """``b @ a.T`` computed as ``(a @ b.T).T`` into ``buf`` (returned as a transposed view).

    For one recurrent step ``b`` is skinny (batch rows) and ``a`` the gate weights; OpenBLAS
    runs the product 20-50% faster with the weights as the left operand (measured on the
    target machine), and reading the transposed result costs less than the difference."""
    rows, n = a.shape[0], b.shape[0]
    out = buf[:rows * n].reshape(rows, n)
    xp.matmul(a, b.T, out=out)
    return out.T


def _transposed(w):
    """``w.T`` as a C-contiguous array, by BLAS's blocked transposing copy (a (1024, 256)
    weight: 333 us as NumPy's one-call copy, 56 us here). Only ever multiplied afterwards,
    so the copy's quieting of signalling NaNs cannot show."""
    return transpose_copy(w)


# ---------------------------------------------------------------------------------------
# Forward kernels. Each returns (y, h_n[, c_n]) and fills ``S`` (a dict) with what its
# backward needs when ``save`` is set.
# ---------------------------------------------------------------------------------------
def _lstm_forward(X, h0, c0, w_ih, w_hh, bias, w_hr, steps, reverse, save, S):
    """LSTM over the schedule, in the *feature-major* layout: per step the gates are a
    ``(4H, n)`` array (one row block per gate, one column per sequence) and the states are
    ``(P, n)`` / ``(H, n)`` column blocks.

    Why feature-major: the recurrent product ``W_hh @ h^T`` has the weights as the left
    operand (the fast one in OpenBLAS for a skinny right operand) and its result is already
    in this layout, so no step transposes anything; each gate is a contiguous row block, so
    the elementwise passes run on contiguous memory. The input projection of all steps is
    one GEMM ``W_ih X^T`` of shape ``(4H, N)`` whose step columns are added to the
    recurrent product (per-step input GEMMs measured slower in total).

    No state is copied per step: step outputs are written into the columns of ``HT``
    ``(P, N + B)`` that hold ``h0`` next to them (before them, or after them in a reverse
    pass), so each step reads its previous state, and the backward reads ``H_prev^T``, as a
    view; ``c`` lives in ``CB`` ``(T + 1, H, B)``, block ``k`` holding the state before
    processed step ``k`` (``c0`` first). Arrays indexed by processed step are padded to
    ``B`` columns so the backward can treat them as whole-sequence arrays; for a packed
    sequence the unused columns are zero-filled so they stay finite.

    Gate blocks are reordered to i, f, o, g with the sigmoid rows' weights and bias halved,
    so one ``tanh`` evaluates every gate (``sigmoid(z) = (1 + tanh(z/2)) / 2``)."""
    H = w_hh.shape[0] // 4
    H2, H3 = 2 * H, 3 * H
    N, B, P = X.shape[0], h0.shape[0], h0.shape[1]
    T = len(steps)
    dt = X.dtype
    wih = _ifog_halved(w_ih)
    whh = _ifog_halved(w_hh)
    GT = wih @ X.T                     # (4H, N): input-side pre-activations of every step
    if bias is not None:
        GT += _ifog_halved(bias)[:, None]
    uniform = all(n == B for _, n in steps)
    alloc = xp.empty if uniform else xp.zeros
    out0, h0col = (0, N) if reverse else (B, 0)   # HT columns of row 0 of the output / h0
    HT = xp.empty((P, N + B), dt)
    HT[:, h0col:h0col + B] = h0.T
    CB = alloc((T + 1, H, B), dt)
    CB[0] = c0.T
    h_n = xp.empty((B, P), dt)
    c_n = xp.empty((B, H), dt)
    nb = T if save else 1
    A = alloc((nb, 4 * H, B), dt)      # gate activations i, f, o, g
    TC = alloc((nb, H, B), dt)         # tanh(c)
    HP = None if uniform or not save else xp.empty((P, N), dt)
    M = xp.empty((H, N), dt) if w_hr is not None and save else None
    mb = xp.empty((H, B), dt) if w_hr is not None and not save else None
    ig = xp.empty((H, B), dt)
    mul, tanh, matmul = xp.multiply, xp.tanh, xp.matmul
    for k, (s, n) in enumerate(steps):
        e = s + n
        if k == 0:
            hp = HT[:, h0col:h0col + n]
        else:
            ps, pn = steps[k - 1]
            if n <= pn:
                hp = HT[:, out0 + ps:out0 + ps + n]
            else:   # reverse pass over a packed batch: sequences pn..n start here
                hp = xp.concatenate((HT[:, out0 + ps:out0 + ps + pn],
                                     HT[:, h0col + pn:h0col + n]), axis=1)
                CB[k, :, pn:n] = CB[0, :, pn:n]
        if HP is not None:
            HP[:, s:e] = hp
        j = k if save else 0
        a = A[j, :, :n]
        matmul(whh, hp, out=a)
        a += GT[:, s:e]
        tanh(a, out=a)
        sg = a[:H3]
        sg *= 0.5
        sg += 0.5
        cn = CB[k + 1, :, :n]
        mul(CB[k, :, :n], a[H:H2], out=cn)        # c = f * c + i * g
        igp = ig[:, :n]
        mul(a[:H], a[H3:], out=igp)
        cn += igp
        tc = TC[j, :, :n]
        tanh(cn, out=tc)
        hout = HT[:, out0 + s:out0 + e]
        if w_hr is not None:
            m = M[:, s:e] if save else mb[:, :n]
            mul(a[H2:H3], tc, out=m)               # h = W_hr (o * tanh(c))
            matmul(w_hr, m, out=hout)
        else:
            mul(a[H2:H3], tc, out=hout)            # h = o * tanh(c)
        nxt = steps[k + 1][1] if k + 1 < T else 0
        if nxt < n:                                # sequences nxt..n end here
            h_n[nxt:n] = hout[:, nxt:].T
            c_n[nxt:n] = cn[:, nxt:].T
    if save:
        if HP is None:
            HP = HT[:, B:] if reverse else HT[:, :N]
        S.update(A=A, CB=CB, TC=TC, HprevT=HP, M=M)
    # the outputs, (N, P): the states are computed (never copied) values, so the BLAS
    # transpose's NaN quieting cannot show (222 -> 37 us for (1120, 256))
    return transpose_copy(HT[:, out0:out0 + N]), h_n, c_n


def _gru_forward(X, h0, w_ih, w_hh, b_ih, b_hh, steps, save, S):
    H = w_hh.shape[1]
    H2 = 2 * H
    N, B = X.shape[0], h0.shape[0]
    dt = X.dtype
    wih = w_ih.copy()
    wih[:H2] *= 0.5
    whh = w_hh.copy()
    whh[:H2] *= 0.5
    GX = X @ wih.T                     # (N, 3H): r, z, n (activations after the loop)
    if b_ih is not None:
        bi = b_ih.copy()
        bi[:H2] *= 0.5
        GX += bi
        bh = b_hh.copy()
        bh[:H2] *= 0.5
    Y = xp.empty((N, H), dt)
    h = h0.copy()
    gh = xp.empty((B, 3 * H), dt)
    ghb = xp.empty(B * 3 * H, dt)
    t1 = xp.empty((B, H), dt)
    if save:
        Hprev = xp.empty((N, H), dt)
        GHN = xp.empty((N, H), dt)
    mul, tanh = xp.multiply, xp.tanh
    for s, n in steps:
        e = s + n
        hp = h[:n]
        gx = GX[s:e]
        ghs = gh[:n]
        if b_ih is not None:
            xp.add(_mm_t(whh, hp, ghb), bh, out=ghs)
        else:
            ghs[...] = _mm_t(whh, hp, ghb)
        rz = gx[:, :H2]
        rz += ghs[:, :H2]
        tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        ghn = ghs[:, H2:]
        if save:
            Hprev[s:e] = hp
            GHN[s:e] = ghn
        nn = gx[:, H2:]
        tt = t1[:n]
        mul(gx[:, :H], ghn, out=tt)
        nn += tt
        tanh(nn, out=nn)
        xp.subtract(hp, nn, out=tt)     # h' = n + z * (h - n)
        tt *= gx[:, H:H2]
        xp.add(nn, tt, out=Y[s:e])
        hp[...] = Y[s:e]
    if save:
        S.update(GX=GX, HprevT=Hprev.T, GHN=GHN)
    return Y, h


def _rnn_forward(X, h0, w_ih, w_hh, bias, relu, steps, save, S):
    N, B, H = X.shape[0], h0.shape[0], h0.shape[1]
    dt = X.dtype
    Y = X @ w_ih.T                     # pre-activations, then the outputs
    if bias is not None:
        Y += bias
    h = h0.copy()
    tmp = xp.empty(B * H, dt)
    if save:
        Hprev = xp.empty((N, H), dt)
    for s, n in steps:
        e = s + n
        hp = h[:n]
        y = Y[s:e]
        y += _mm_t(w_hh, hp, tmp)
        if relu:
            xp.maximum(y, 0, out=y)
        else:
            xp.tanh(y, out=y)
        if save:
            Hprev[s:e] = hp
        hp[...] = y
    if save:
        S.update(HprevT=Hprev.T)
    return Y, h


# ---------------------------------------------------------------------------------------
# Backward kernels: BPTT. Each returns (dZx, dZh, dh0, dc0, extras) where dZx / dZh are
# the gradients of the input-side / hidden-side pre-activations, *transposed* ((gates, N);
# the same array except GRU), in torch's gate order.
# ---------------------------------------------------------------------------------------
def _bptt(steps, dh, dY):
    """Walk the steps backwards; yield ``(s, e, n, dh[:n])`` with the output gradient of the
    step already added into the running hidden-state gradient."""
    for s, n in reversed(steps):
        e = s + n
        dhp = dh[:n]
        if dY is not None:
            dhp += dY[s:e]
        yield s, e, n, dhp


def _lstm_backward(S, dY, dh, dc, w_hh, w_hr, steps):
    """BPTT in the forward's feature-major layout. The factors that turn the state
    gradients into gate gradients do not depend on the recurrence, so they are computed for
    the whole sequence first; each step then costs five elementwise passes and one GEMM.
    The gate gradients are written in torch's gate order (i, f, g, o), so the weight
    gradients need no reordering."""
    A, CB, TC, M = S["A"], S["CB"], S["TC"], S["M"]
    T, H4, B = A.shape
    H = H4 // 4
    N = S["HprevT"].shape[1]
    dt = A.dtype
    mul, sub, matmul = xp.multiply, xp.subtract, xp.matmul
    A4 = A.reshape(T, 4, H, B)                 # activations i, f, o, g
    SD = sub(1, A4[:, :3])
    SD *= A4[:, :3]                            # sigmoid' of i, f, o
    K3 = xp.empty((T, 3, H, B), dt)            # dc -> pre-activation of i, f, g
    mul(A4[:, 3], SD[:, 0], out=K3[:, 0])      # g * i'
    mul(CB[:T], SD[:, 1], out=K3[:, 1])        # c_prev * f'
    gd = K3[:, 2]
    mul(A4[:, 3], A4[:, 3], out=gd)
    sub(1, gd, out=gd)
    gd *= A4[:, 0]                             # i * tanh'(g)
    KO = mul(TC, SD[:, 2])                     # dh -> o pre-activation: tanh(c) * o'
    KC = mul(TC, TC)
    sub(1, KC, out=KC)
    KC *= A4[:, 2]                             # dh -> dc: o * tanh'(c)
    dZT = xp.empty((4 * H, N), dt)             # gate gradients, torch order i, f, g, o
    dZ4 = dZT.reshape(4, H, N)
    dhT = xp.ascontiguousarray(dh.T)
    dcT = xp.ascontiguousarray(dc.T)
    t1b = xp.empty((H, B), dt)
    whhT = _transposed(w_hh)                   # contiguous: the per-step GEMM runs ~10% faster
    if w_hr is not None:
        dHT = xp.empty((w_hr.shape[0], N), dt)
        dmb = xp.empty((H, B), dt)
        w_hrT = w_hr.T
    for k in range(T - 1, -1, -1):
        s, n = steps[k]
        e = s + n
        dhp = dhT[:, :n]
        dcp = dcT[:, :n]
        if dY is not None:
            dhp += dY[s:e].T
        if w_hr is not None:
            dHT[:, s:e] = dhp
            dm = dmb[:, :n]
            matmul(w_hrT, dhp, out=dm)
        else:
            dm = dhp
        t1 = t1b[:, :n]
        mul(dm, KC[k, :, :n], out=t1)
        dcp += t1                                  # dc += dh * o * tanh'(c)
        mul(dm, KO[k, :, :n], out=dZ4[3, :, s:e])  # d o
        mul(dcp, K3[k, :, :, :n], out=dZ4[:3, :, s:e])   # d i, d f, d g
        dcp *= A4[k, 1, :, :n]                     # dc_prev = dc * f
        matmul(whhT, dZT[:, s:e], out=dhp)
    extra = {}
    if w_hr is not None:
        extra["w_hr"] = dHT @ M.T
    return dZT, dZT, xp.ascontiguousarray(dhT.T), xp.ascontiguousarray(dcT.T), extra


def _gru_backward(S, dY, dh, w_hh, steps):
    GX, Hprev, GHN = S["GX"], S["HprevT"].T, S["GHN"]
    N = GX.shape[0]
    H = GX.shape[1] // 3
    H2 = 2 * H
    B = dh.shape[0]
    dt = GX.dtype
    DGH = xp.empty((N, 3 * H), dt)
    DXN = xp.empty((N, H), dt)
    t1b = xp.empty((B, H), dt)
    t2b = xp.empty((B, H), dt)
    hbuf = xp.empty(B * H, dt)
    whhT = _transposed(w_hh)
    mul, sub = xp.multiply, xp.subtract
    for s, e, n, dhp in _bptt(steps, dh, dY):
        gx = GX[s:e]
        r, z, nn = gx[:, :H], gx[:, H:H2], gx[:, H2:]
        hp = Hprev[s:e]
        dgh = DGH[s:e]
        dxn = DXN[s:e]
        t1, t2 = t1b[:n], t2b[:n]
        sub(hp, nn, out=t1)
        t1 *= dhp
        sub(1, z, out=t2)
        t1 *= t2
        mul(t1, z, out=dgh[:, H:H2])             # dz_pre = dh (h - n) z (1 - z)
        mul(dhp, t2, out=dxn)
        mul(nn, nn, out=t1)
        sub(1, t1, out=t1)
        dxn *= t1                                # dn_pre = dh (1 - z) (1 - n^2)
        mul(dxn, r, out=dgh[:, H2:])             # d(W_hn h + b_hn) = dn_pre * r
        sub(1, r, out=t1)
        t1 *= r
        t1 *= GHN[s:e]
        mul(dxn, t1, out=dgh[:, :H])             # dr_pre = dn_pre (W_hn h + b_hn) r (1 - r)
        dhp *= z
        dhp += _mm_t(whhT, dgh, hbuf)
    DGX = DGH.copy()
    DGX[:, H2:] = DXN
    return DGX.T, DGH.T, dh, None, {}


def _rnn_backward(Y, S, dY, dh, w_hh, relu, steps):
    N, H = Y.shape
    B = dh.shape[0]
    dZ = xp.empty((N, H), Y.dtype)
    t1b = xp.empty((B, H), Y.dtype)
    hbuf = xp.empty(B * H, Y.dtype)
    whhT = _transposed(w_hh)
    for s, e, n, dhp in _bptt(steps, dh, dY):
        y = Y[s:e]
        dz = dZ[s:e]
        if relu:
            xp.multiply(dhp, y > 0, out=dz)
        else:
            t1 = t1b[:n]
            xp.multiply(y, y, out=t1)
            xp.subtract(1, t1, out=t1)
            xp.multiply(dhp, t1, out=dz)
        dhp[...] = _mm_t(whhT, dz, hbuf)
    return dZ.T, dZ.T, dh, None, {}


# ---------------------------------------------------------------------------------------
# The primitive
# ---------------------------------------------------------------------------------------
class RecurrentLayer(Primitive):
    """One direction of one recurrent layer over a whole (packed or padded) sequence.

    ``RecurrentLayer.apply(x, h0, [c0,] w_ih, w_hh, [b_ih, b_hh,] [w_hr,] mode=...,
    batch_sizes=None, reverse=False, bias=True, proj=False)``

    ``x``: ``(T, B, input_size)`` (``batch_sizes=None``) or packed ``(N, input_size)``
    with ``batch_sizes`` a tuple of ints. Returns ``(y, h_n)`` or, for LSTM,
    ``(y, h_n, c_n)``; ``y`` has ``x``'s layout.
    """

    def forward(self, x, h0, *rest, mode, batch_sizes=None, reverse=False, bias=True,
                proj=False):
        lstm = mode == "LSTM"
        self.mode = mode
        rest = list(rest)
        c0 = rest.pop(0) if lstm else None
        w_ih, w_hh = rest[0], rest[1]
        b_ih, b_hh = (rest[2], rest[3]) if bias else (None, None)
        w_hr = rest[-1] if proj else None
        if batch_sizes is None:
            T, B = x.shape[0], x.shape[1]
            X = x.reshape(T * B, x.shape[2])
        else:
            T, B = len(batch_sizes), batch_sizes[0]
            X = x
        steps, N = _schedule(T, B, batch_sizes, reverse)
        save = self.requires_grad
        S: dict = {}
        if lstm:
            b = b_ih + b_hh if bias else None
            Y, h, c = _lstm_forward(X, h0, c0, w_ih, w_hh, b, w_hr, steps, reverse, save, S)
            outs = (Y, h, c)
        elif mode == "GRU":
            Y, h = _gru_forward(X, h0, w_ih, w_hh, b_ih, b_hh, steps, save, S)
            outs = (Y, h)
        else:
            b = b_ih + b_hh if bias else None
            Y, h = _rnn_forward(X, h0, w_ih, w_hh, b, mode == "RNN_RELU", steps, save, S)
            outs = (Y, h)
            self.save_output = True       # backward reads y; catches in-place edits of it
        self.n_outputs = len(outs)
        if batch_sizes is None:
            outs = (Y.reshape(T, B, Y.shape[1]),) + outs[1:]
        if save:
            self.steps, self.S, self.X, self.B = steps, S, X, B
            self.x_shape = x.shape
            self.has_bias, self.has_proj = bias, proj
            # version-checked in backward: x and the weights
            first_w = 3 if lstm else 2
            self.save_inputs = (0,) + tuple(range(first_w, first_w + len(rest)))
        return outs

    release_attrs = ("S", "X")

    def backward(self, *grads):
        saved = self.saved_inputs          # checks x and the weights for in-place edits
        ws = [t._data for t in saved[1:]]
        w_ih, w_hh = ws[0], ws[1]
        w_hr = ws[-1] if self.has_proj else None
        mode, steps, S, X = self.mode, self.steps, self.S, self.X
        lstm = mode == "LSTM"
        gy = grads[0]
        dY = None
        if gy is not None:
            dY = gy._data
            if dY.ndim == 3:
                dY = dY.reshape(-1, dY.shape[2])
        B, P = self.B, w_hh.shape[1]
        dt = X.dtype
        dh = grads[1]._data.copy() if grads[1] is not None else xp.zeros((B, P), dt)
        if lstm:
            H = w_hh.shape[0] // 4
            dc = grads[2]._data.copy() if grads[2] is not None else xp.zeros((B, H), dt)
            dZx, dZh, dh0, dc0, extra = _lstm_backward(S, dY, dh, dc, w_hh, w_hr, steps)
        elif mode == "GRU":
            dZx, dZh, dh0, dc0, extra = _gru_backward(S, dY, dh, w_hh, steps)
        else:
            Y = self.saved_output._data.reshape(-1, P)
            dZx, dZh, dh0, dc0, extra = _rnn_backward(Y, S, dY, dh, w_hh,
                                                      mode == "RNN_RELU", steps)
        # dZx, dZh are (gates, N): the products below take them (and Hprev^T) transposed,
        # which BLAS does for free
        need = self.needs_input_grad
        k = 3 if lstm else 2                      # position of w_ih among the inputs
        res = [None, dh0 if need[1] else None]
        if lstm:
            res.append(dc0 if need[2] else None)
        if need[0]:
            res[0] = (dZx.T @ w_ih).reshape(self.x_shape)
        res.append(dZx @ X if need[k] else None)
        res.append(dZh @ S["HprevT"].T if need[k + 1] else None)
        if self.has_bias:
            # the bias gradients (row sums of dZ^T) as GEMVs: several times faster than
            # numpy's sum over the contiguous axis of a (gates, N) array
            ones = xp.ones(dZx.shape[1], dt)
            db_ih = dZx @ ones if need[k + 2] else None
            db_hh = (dZh @ ones if dZh is not dZx or db_ih is None else db_ih.copy()) \
                if need[k + 3] else None
            res += [db_ih, db_hh]
        if self.has_proj:
            res.append(extra["w_hr"] if need[-1] else None)
        return tuple(_grad_tensor(a) for a in res)

    def name(self) -> str:
        return {"LSTM": "LstmLayerBackward0", "GRU": "GruLayerBackward0",
                "RNN_TANH": "RnnTanhLayerBackward0",
                "RNN_RELU": "RnnReluLayerBackward0"}[self.mode]


def _grad_tensor(a):
    if a is None:
        return None
    t = Tensor._wrap(a)
    if STATE.enabled:              # create_graph=True: mark the result once-differentiable
        t._requires_grad = True
        t = _NotTwiceDifferentiable.apply(t)
    return t


class _NotTwiceDifferentiable(Primitive):
    """Identity whose backward raises: wraps the results of the fused RNN backward when a
    graph of the gradient is recorded (``create_graph=True``)."""

    def forward(self, x):
        return x

    def backward(self, g):
        raise RuntimeError(
            "ember's fused RNN/LSTM/GRU backward is not differentiable: double backward "
            "(differentiating a gradient that flowed through nn.RNN, nn.LSTM, nn.GRU or their "
            "cells, e.g. a gradient penalty) is not supported")

    def name(self) -> str:
        return "NotTwiceDifferentiableBackward"
