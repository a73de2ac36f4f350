"""Recurrent layers, cells and sequence packing against torch 2.13.

Every differential test builds the layer in torch, loads its state_dict into ember, runs
the same inputs through both and compares outputs, final states and the gradients of the
inputs, the initial states and every parameter.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn.modules import rnn as ER
from ember.nn.utils import rnn as EU
from ember._ops.rnn import RecurrentLayer
from helpers import assert_close, check_raises
from seq_helpers import compare, load_from_torch

TU = torch.nn.utils.rnn
DT = {np.float32: (torch.float32, ember.float32), np.float64: (torch.float64, ember.float64)}
MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU", "LSTM_PROJ"]

warnings.filterwarnings("ignore", message="LSTM with projections is not supported")


def _classes(mode):
    kw = {}
    if mode.startswith("RNN"):
        kw["nonlinearity"] = "relu" if mode == "RNN_RELU" else "tanh"
        return torch.nn.RNN, ER.RNN, kw
    if mode == "LSTM_PROJ":
        kw["proj_size"] = 3
    return (torch.nn.LSTM, ER.LSTM, kw) if mode.startswith("LSTM") else \
        (torch.nn.GRU, ER.GRU, kw)


def make_pair(mode, np_dtype, input_size=4, hidden_size=5, **kw):
    tcls, ecls, extra = _classes(mode)
    kw = {**extra, **kw}
    torch.manual_seed(0)
    tdt, edt = DT[np_dtype]
    tm = tcls(input_size, hidden_size, **kw).to(tdt)
    em = ecls(input_size, hidden_size, dtype=edt, **kw)
    load_from_torch(em, tm)
    return tm, em


def _states(mode, D_L, B, H, P, rng, np_dtype, batched=True):
    shape = (D_L, B) if batched else (D_L,)
    h = rng.standard_normal(shape + (P,)).astype(np_dtype)
    if mode.startswith("LSTM"):
        c = rng.standard_normal(shape + (H,)).astype(np_dtype)
        return (torch.from_numpy(h).requires_grad_(), torch.from_numpy(c).requires_grad_()), \
            (ember.from_numpy(h.copy()).requires_grad_(), ember.from_numpy(c.copy()).requires_grad_())
    return torch.from_numpy(h).requires_grad_(), ember.from_numpy(h.copy()).requires_grad_()


# ---------------------------------------------------------------------------------------
# Full layers, padded input
# ---------------------------------------------------------------------------------------
CONFIGS = [
    dict(num_layers=1),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(num_layers=3, bidirectional=True),
    dict(num_layers=2, bias=False, batch_first=True),
]


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
@pytest.mark.parametrize("with_hx", [False, True])
def test_layer_matches_torch(mode, np_dtype, cfg, with_hx):
    kw = CONFIGS[cfg]
    tm, em = make_pair(mode, np_dtype, **kw)
    rng = np.random.default_rng(cfg)
    T, B = 6, 3
    shape = (B, T, 4) if kw.get("batch_first") else (T, B, 4)
    x = rng.standard_normal(shape).astype(np_dtype)
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.from_numpy(x.copy()).requires_grad_()
    t_in, e_in = [tx], [ex]
    if with_hx:
        D_L = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        th, eh = _states(mode, D_L, B, 5, 3 if mode == "LSTM_PROJ" else 5, rng, np_dtype)
        t_in.append(th)
        e_in.append(eh)
    e_out, t_out = compare(tm, em, t_in, e_in)
    assert e_out[0].stride() == t_out[0].stride()


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input(mode):
    tm, em = make_pair(mode, np.float64, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    th, eh = _states(mode, 4, None, 5, 3 if mode == "LSTM_PROJ" else 5, rng, np.float64,
                     batched=False)
    compare(tm, em, [torch.from_numpy(x).requires_grad_(), th],
            [ember.from_numpy(x.copy()).requires_grad_(), eh])
    compare(tm, em, [torch.from_numpy(x).requires_grad_()],
            [ember.from_numpy(x.copy()).requires_grad_()])


def test_lstm_lm_shaped_step_float32():
    """The benchmark's shapes (scaled down in time): 2 layers, hidden 64, batch 8."""
    tm, em = make_pair("LSTM", np.float32, input_size=16, hidden_size=64, num_layers=2)
    x = np.random.default_rng(3).standard_normal((20, 8, 16)).astype(np.float32)
    compare(tm, em, [torch.from_numpy(x).requires_grad_()],
            [ember.from_numpy(x.copy()).requires_grad_()])


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_dropout_between_layers(mode):
    # p=1 zeroes the input of layer 2 exactly in both libraries: deterministic comparison
    tm, em = make_pair(mode, np.float64, num_layers=2, dropout=1.0)
    x = np.random.default_rng(0).standard_normal((4, 2, 4))
    compare(tm, em, [torch.from_numpy(x).requires_grad_()],
            [ember.from_numpy(x.copy()).requires_grad_()])
    # p=0.5: training mode is random, eval mode is deterministic and equals torch's
    tm, em = make_pair(mode, np.float64, num_layers=2, dropout=0.5)
    ex = ember.from_numpy(x.copy())
    a, b = em(ex)[0], em(ex)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    tm.eval()
    em.eval()
    compare(tm, em, [torch.from_numpy(x).requires_grad_()],
            [ember.from_numpy(x.copy()).requires_grad_()])


def test_dropout_single_layer_warns():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ER.LSTM(3, 4, dropout=0.2)


def test_long_sequence_no_recursion():
    tm, em = make_pair("GRU", np.float64, input_size=2, hidden_size=3)
    x = np.random.default_rng(0).standard_normal((1500, 1, 2)) * 0.1
    compare(tm, em, [torch.from_numpy(x).requires_grad_()],
            [ember.from_numpy(x.copy()).requires_grad_()])


# ---------------------------------------------------------------------------------------
# Packed sequences
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_input(mode, np_dtype, batch_first):
    tm, em = make_pair(mode, np_dtype, num_layers=2, bidirectional=True,
                       batch_first=batch_first)
    rng = np.random.default_rng(5)
    lengths = [4, 7, 1, 5]
    T, B = max(lengths), len(lengths)
    x = rng.standard_normal((B, T, 4) if batch_first else (T, B, 4)).astype(np_dtype)
    th, eh = _states(mode, 4, B, 5, 3 if mode == "LSTM_PROJ" else 5, rng, np_dtype)

    def call(m, x, h):
        U = TU if isinstance(x, torch.Tensor) else EU
        packed = U.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                        enforce_sorted=False)
        out, hn = m(packed, h)
        padded, lens = U.pad_packed_sequence(out, batch_first=batch_first, total_length=T + 1)
        assert lens.tolist() == lengths
        return padded, hn, out.data

    compare(tm, em, [torch.from_numpy(x).requires_grad_(), th],
            [ember.from_numpy(x.copy()).requires_grad_(), eh], call=call)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_pack_sequence_sorted_without_hx(mode):
    tm, em = make_pair(mode, np.float64)
    rng = np.random.default_rng(2)
    seqs = [rng.standard_normal((n, 4)) for n in (5, 3, 3, 2)]
    ts = [torch.from_numpy(s).requires_grad_() for s in seqs]
    es = [ember.from_numpy(s.copy()).requires_grad_() for s in seqs]

    def call(m, *xs):
        U = TU if isinstance(xs[0], torch.Tensor) else EU
        out, hn = m(U.pack_sequence(list(xs)))
        assert out.sorted_indices is None
        return out.data, hn
    compare(tm, em, ts, es, call=call)


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------
CELLS = [("RNNCell", dict(nonlinearity="tanh")), ("RNNCell", dict(nonlinearity="relu")),
         ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", range(len(CELLS)))
@pytest.mark.parametrize("variant", ["hx", "no_hx", "unbatched", "no_bias"])
def test_cells(cell, np_dtype, variant):
    name, kw = CELLS[cell]
    if variant == "no_bias":
        kw = {**kw, "bias": False}
    tdt, edt = DT[np_dtype]
    torch.manual_seed(0)
    tm = getattr(torch.nn, name)(4, 5, **kw).to(tdt)
    em = getattr(ER, name)(4, 5, dtype=edt, **kw)
    load_from_torch(em, tm)
    rng = np.random.default_rng(cell)
    shape = (4,) if variant == "unbatched" else (3, 4)
    xs = [rng.standard_normal(shape).astype(np_dtype) for _ in range(3)]
    t_in = [torch.from_numpy(x).requires_grad_() for x in xs]
    e_in = [ember.from_numpy(x.copy()).requires_grad_() for x in xs]
    lstm = name == "LSTMCell"
    if variant != "no_hx":
        hshape = shape[:-1] + (5,)
        hs = [rng.standard_normal(hshape).astype(np_dtype) for _ in range(2 if lstm else 1)]
        t_in.append(tuple(torch.from_numpy(h).requires_grad_() for h in hs))
        e_in.append(tuple(ember.from_numpy(h.copy()).requires_grad_() for h in hs))

    def unroll(m, x0, x1, x2, *h):     # three steps, state fed back
        st = (h[0] if lstm else h[0][0]) if h else None
        outs = []
        for x in (x0, x1, x2):
            st = m(x, st)
            outs.extend(st if lstm else [st])
        return outs
    compare(tm, em, t_in, e_in, call=unroll)


def test_cell_errors():
    for name, args in [("LSTMCell", lambda M: (M.randn(2, 5),)),
                       ("GRUCell", lambda M: (M.randn(2, 3), M.randn(3, 4))),
                       ("GRUCell", lambda M: (M.randn(2, 3), M.randn(2, 5))),
                       ("RNNCell", lambda M: (M.randn(2, 2, 3),)),
                       ("LSTMCell", lambda M: (M.randn(2, 3), (M.randn(2, 4), M.randn(2, 5))))]:
        def f(M, name=name, args=args):
            mod = getattr(M.nn, name)(3, 4) if M is torch else getattr(ER, name)(3, 4)
            return mod(*args(M))
        e, t = check_raises(f)
        assert str(e) == str(t)


# ---------------------------------------------------------------------------------------
# Construction, state dicts, repr, errors
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_parameters_names_shapes_init(mode):
    tcls, ecls, kw = _classes(mode)
    args = dict(num_layers=2, bidirectional=True, **kw)
    t, e = tcls(3, 6, **args), ecls(3, 6, **args)
    assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in t.named_parameters()]
    assert e._flat_weights_names == t._flat_weights_names
    assert [[tuple(p.shape) for p in ws] for ws in e.all_weights] == \
        [[tuple(p.shape) for p in ws] for ws in t.all_weights]
    assert repr(e) == repr(t)
    bound = 1 / np.sqrt(6)
    a = np.concatenate([p.detach().numpy().ravel() for p in e.parameters()])
    assert a.dtype == np.float32 and np.abs(a).max() <= bound
    assert abs(a.std() - bound / np.sqrt(3)) < 0.1 * bound     # U(-b, b) has std b/sqrt(3)


def test_state_dict_round_trip_both_ways():
    t = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    e = ER.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    assert_close(e(ember.from_numpy(x))[0], t(torch.from_numpy(x))[0])


def test_repr_variants():
    for kw in [dict(), dict(nonlinearity="relu", bias=False, dropout=0.5, num_layers=3),
               dict(batch_first=True, bidirectional=True)]:
        assert repr(ER.RNN(2, 3, **kw)) == repr(torch.nn.RNN(2, 3, **kw))
    assert repr(ER.GRUCell(2, 3, bias=False)) == repr(torch.nn.GRUCell(2, 3, bias=False))
    assert repr(ER.RNNCell(2, 3, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(2, 3, nonlinearity="relu"))


@pytest.mark.parametrize("kw", [dict(dropout=1.5), dict(dropout=True), dict(bias=1),
                                dict(batch_first="yes"), dict(num_layers=0),
                                dict(proj_size=-1), dict(proj_size=9), dict(hidden_size=0),
                                dict(input_size=2.0), dict(nonlinearity="sigmoid"),
                                dict(proj_size=2, mode="GRU")])
def test_constructor_errors(kw):
    kw = dict(kw)
    mode = kw.pop("mode", "LSTM" if "proj_size" in kw else "RNN")
    args = {"input_size": kw.pop("input_size", 3), "hidden_size": kw.pop("hidden_size", 4)}
    if "nonlinearity" in kw and mode != "RNN":
        mode = "RNN"

    def f(M):
        cls = getattr(M.nn, mode) if M is torch else getattr(ER, mode)
        return cls(**args, **kw)
    e, t = check_raises(f)
    assert str(e) == str(t)


def test_forward_errors():
    def mk(M, cls="LSTM", **kw):
        return (getattr(torch.nn, cls) if M is torch else getattr(ER, cls))(3, 4, **kw)
    cases = [
        lambda M: mk(M)(M.randn(5, 2, 2)),                                # input size
        lambda M: mk(M)(M.randn(5, 2, 3), (M.randn(1, 3, 4), M.randn(1, 3, 4))),
        lambda M: mk(M)(M.randn(5, 2, 3), (M.randn(1, 2, 4), M.randn(1, 2, 5))),
        lambda M: mk(M)(M.randn(5, 2, 3), (M.randn(2, 4), M.randn(2, 4))),
        lambda M: mk(M, "GRU")(M.randn(5, 2, 3), M.randn(2, 4)),
        lambda M: mk(M, "RNN")(M.randn(5, 3), M.randn(1, 1, 4)),
        lambda M: mk(M, "RNN")(M.randn(2, 5, 2, 3)),
        lambda M: mk(M, "GRU")(M.randn(5, 2, 3), M.randn(2, 2, 4)),
        lambda M: mk(M, "GRU")(M.randn(5, 2, 3, dtype=M.float64)),
    ]
    for case in cases:
        e, t = check_raises(case)
        assert str(e).replace("ember", "torch") == str(t)


# ---------------------------------------------------------------------------------------
# The fused primitive: gradcheck and the once-differentiable contract
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU", "LSTM_PROJ"])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_fused_layer(mode, packed, reverse):
    rng = np.random.default_rng(7)
    proj = mode == "LSTM_PROJ"
    m = "LSTM" if proj else mode
    G = {"LSTM": 4, "GRU": 3}.get(m, 1)
    I, H, P = 2, 3, (2 if proj else 3)

    def t(*shape, scale=0.6):
        a = rng.standard_normal(shape) * scale
        if m == "RNN_RELU":
            a = np.abs(a) + 0.1     # stay away from relu's kink
        return ember.from_numpy(a).requires_grad_()
    if packed:
        batch_sizes = (3, 2, 2, 1)
        x = t(sum(batch_sizes), I)
        B = 3
    else:
        batch_sizes = None
        x = t(4, 2, I)
        B = 2
    inputs = [x, t(B, P)] + ([t(B, H)] if m == "LSTM" else [])
    inputs += [t(G * H, I), t(G * H, P), t(G * H), t(G * H)] + ([t(P, H)] if proj else [])

    def f(*args):
        return RecurrentLayer.apply(*args, mode=m, batch_sizes=batch_sizes, reverse=reverse,
                                    bias=True, proj=proj)
    assert ember.autograd.gradcheck(f, tuple(inputs), eps=1e-6, atol=1e-5)


def test_create_graph_then_double_backward_raises():
    em = ER.LSTM(2, 3)
    x = ember.randn(4, 1, 2, requires_grad=True)
    out, _ = em(x)
    (g,) = ember.autograd.grad(out.sum(), x, create_graph=True)
    assert g.requires_grad          # first-order gradient is fine
    with pytest.raises(RuntimeError, match="not differentiable"):
        g.sum().backward()


def test_inplace_change_of_weight_before_backward_raises():
    em = ER.GRU(2, 3)
    out, _ = em(ember.randn(4, 1, 2))
    with ember.no_grad():
        em.weight_hh_l0.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# ---------------------------------------------------------------------------------------
# nn.utils.rnn
# ---------------------------------------------------------------------------------------
def _pair_seqs(lengths, trailing=(3,), seed=0, grad=True):
    rng = np.random.default_rng(seed)
    seqs = [rng.standard_normal((n,) + trailing) for n in lengths]
    return ([torch.from_numpy(s).requires_grad_(grad) for s in seqs],
            [ember.from_numpy(s.copy()).requires_grad_(grad) for s in seqs])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2, 3)])
def test_pad_sequence(batch_first, side, trailing):
    ts, es = _pair_seqs([3, 5, 1], trailing)

    def call(M, *seqs):
        U = TU if M is torch else EU
        return U.pad_sequence(list(seqs), batch_first=batch_first, padding_value=-1.5,
                              padding_side=side)
    t, e = call(torch, *ts), call(ember, *es)
    assert_close(e, t)
    g = np.random.default_rng(1).standard_normal(tuple(t.shape))
    t.backward(torch.from_numpy(g))
    e.backward(ember.from_numpy(g.copy()))
    for a, b in zip(es, ts):
        assert_close(a.grad, b.grad)


def test_pad_sequence_integer_and_errors():
    a, b = [1, 2, 3], [4, 5]
    assert_close(EU.pad_sequence([ember.tensor(a), ember.tensor(b)], True, 7),
                 TU.pad_sequence([torch.tensor(a), torch.tensor(b)], True, 7))
    for case in [lambda U, M: U.pad_sequence([]),
                 lambda U, M: U.pad_sequence([M.zeros(3, 2), M.zeros(2, 3)]),
                 lambda U, M: U.pad_sequence([M.zeros(3)], padding_side="up")]:
        e, t = check_raises(lambda M, c=case: c(TU if M is torch else EU, M))
        assert str(e) == str(t)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_pack_pad_round_trip(batch_first, enforce_sorted):
    lengths = [5, 3, 3, 1] if enforce_sorted else [2, 5, 1, 4]
    T, B = 6, 4
    x = np.random.default_rng(0).standard_normal((B, T, 2) if batch_first else (T, B, 2))
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.from_numpy(x.copy()).requires_grad_()
    tp = TU.pack_padded_sequence(tx, torch.tensor(lengths), batch_first, enforce_sorted)
    ep = EU.pack_padded_sequence(ex, ember.tensor(lengths), batch_first, enforce_sorted)
    for a, b in zip(ep, tp):
        if b is None:
            assert a is None
        else:
            assert_close(a, b)
    assert repr(EU.PackedSequence(ember.tensor([1, 2]), ember.tensor([1, 1]))) == \
        repr(TU.PackedSequence(torch.tensor([1, 2]), torch.tensor([1, 1])))
    tpad, tl = TU.pad_packed_sequence(tp, batch_first, padding_value=9.0)
    epad, el = EU.pad_packed_sequence(ep, batch_first, padding_value=9.0)
    assert_close(epad, tpad)
    assert_close(el, tl)
    g = np.random.default_rng(1).standard_normal(tuple(tpad.shape))
    tpad.backward(torch.from_numpy(g))
    epad.backward(ember.from_numpy(g.copy()))
    assert_close(ex.grad, tx.grad)
    for a, b in zip(EU.unpack_sequence(ep), TU.unpack_sequence(tp)):
        assert_close(a, b)
    for a, b in zip(EU.unpad_sequence(epad, el, batch_first),
                    TU.unpad_sequence(tpad.detach().clone(), tl, batch_first)):
        assert_close(a, b)


def test_pack_errors_and_helpers():
    cases = [lambda U, M: U.pack_padded_sequence(M.zeros(4, 3, 2), [4, 2, 3]),
             lambda U, M: U.pack_padded_sequence(M.zeros(4, 3, 2), [4, 2, 0]),
             lambda U, M: U.pack_padded_sequence(M.zeros(4, 3, 2), [4, 2]),
             lambda U, M: U.pad_packed_sequence(U.pack_sequence([M.zeros(3, 1)]),
                                                total_length=2)]
    for case in cases:
        e, t = check_raises(lambda M, c=case: c(TU if M is torch else EU, M))
        assert str(e) == str(t)
    perm = [2, 0, 3, 1]
    assert EU.invert_permutation(ember.tensor(perm)).tolist() == \
        TU.invert_permutation(torch.tensor(perm)).tolist()
    p = EU.pack_sequence([ember.tensor([1.0, 2.0]), ember.tensor([3.0])])
    assert p.double().data.dtype is ember.float64 and p.to(ember.float64).batch_sizes is \
        p.batch_sizes
    assert p.to(ember.float32) is p


def test_no_grad_and_frozen_weights():
    tm, em = make_pair("LSTM", np.float64, num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((5, 2, 4))
    with torch.no_grad():
        t = tm(torch.from_numpy(x))
    with ember.no_grad():
        e = em(ember.from_numpy(x.copy()))
    assert not e[0].requires_grad and e[0].grad_fn is None
    assert_close(e[0], t[0])
    assert_close(e[1][1], t[1][1])
    tm.requires_grad_(False)
    em.requires_grad_(False)
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.from_numpy(x.copy()).requires_grad_()
    tm(tx)[0].sum().backward()
    em(ex)[0].sum().backward()
    assert_close(ex.grad, tx.grad)
    assert all(p.grad is None for p in em.parameters())


def test_deepcopy_and_pickle_round_trip():
    import copy
    import pickle
    em = ER.GRU(3, 4, num_layers=2)
    x = ember.randn(5, 2, 3)
    for clone in (copy.deepcopy(em), pickle.loads(pickle.dumps(em))):
        np.testing.assert_array_equal(clone(x)[0].detach().numpy(), em(x)[0].detach().numpy())
        assert clone.weight_hh_l1 is not em.weight_hh_l1


@pytest.mark.parametrize("mode", ["LSTM", "LSTM_PROJ", "GRU"])
@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_packed_no_grad_and_states_not_modified(mode, np_dtype):
    # the inference path of the fused kernels (nothing saved) on a packed batch, both
    # directions (the reverse pass starts sequences mid-way); the initial states, including
    # a single-sequence batch whose transposed state is already contiguous, stay untouched
    tm, em = make_pair(mode, np_dtype, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(7)
    P = 3 if mode == "LSTM_PROJ" else 5
    for lengths in ([4, 7, 1, 5], [3]):
        T, B = max(lengths), len(lengths)
        x = rng.standard_normal((T, B, 4)).astype(np_dtype)
        th, eh = _states(mode, 4, B, 5, P, rng, np_dtype)
        before = [s.detach().numpy().copy() for s in (eh if isinstance(eh, tuple) else (eh,))]
        with torch.no_grad():
            t_out, t_h = tm(TU.pack_padded_sequence(torch.from_numpy(x), lengths,
                                                    enforce_sorted=False), th)
        with ember.no_grad():
            e_out, e_h = em(EU.pack_padded_sequence(ember.from_numpy(x.copy()), lengths,
                                                    enforce_sorted=False), eh)
        assert_close(e_out.data, t_out.data)
        for a, b in zip(flat_states(e_h), flat_states(t_h)):
            assert_close(a, b)
        em(ember.from_numpy(x.copy()).requires_grad_(), eh)[0].sum().backward()
        after = [s.detach().numpy() for s in (eh if isinstance(eh, tuple) else (eh,))]
        for a, b in zip(after, before):
            np.testing.assert_array_equal(a, b)


def flat_states(h):
    return list(h) if isinstance(h, tuple) else [h]
