"""MultiheadAttention and the Transformer layers against torch 2.13.

Each module is built in torch, its state_dict loaded into ember, and outputs, attention
weights and the gradients of the inputs and of every parameter are compared (dropout 0,
so training mode is deterministic), in float32 and float64.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from helpers import assert_close, check_raises
from seq_helpers import compare, load_from_torch

DT = {np.float32: (torch.float32, ember.float32), np.float64: (torch.float64, ember.float64)}
warnings.filterwarnings("ignore", message="enable_nested_tensor is True")


def _t(a, grad=True):
    return torch.from_numpy(a.copy()).requires_grad_(grad and a.dtype.kind == "f")


def _e(a, grad=True):
    return ember.from_numpy(a.copy()).requires_grad_(grad and a.dtype.kind == "f")


def mha_pair(np_dtype, E=8, heads=2, **kw):
    torch.manual_seed(0)
    tdt, edt = DT[np_dtype]
    tm = torch.nn.MultiheadAttention(E, heads, **kw).to(tdt)
    em = ember.nn.MultiheadAttention(E, heads, dtype=edt, **kw)
    with torch.no_grad():          # torch zero-initialises the biases: make them count
        for name, p in tm.named_parameters():
            if "bias" in name:
                p.normal_()
    load_from_torch(em, tm)
    return tm, em


# ---------------------------------------------------------------------------------------
# MultiheadAttention
# ---------------------------------------------------------------------------------------
L, S, N, E = 4, 5, 3, 8


def _masks(kind, rng, np_dtype, L=L, S=S):
    """(attn_mask, key_padding_mask) as numpy arrays for a named masking scheme."""
    kpm = np.zeros((N, S), dtype=bool)
    kpm[0, -2:] = True
    kpm[2, -1] = True
    bool_attn = rng.random((L, S)) < 0.3
    bool_attn[:, 0] = False                      # every query sees at least one key
    if kind == "none":
        return None, None
    if kind == "bool_attn":
        return bool_attn, None
    if kind == "float_attn":
        return rng.standard_normal((L, S)).astype(np_dtype), None
    if kind == "attn_3d":
        return rng.standard_normal((N * 2, L, S)).astype(np_dtype), None
    if kind == "key_padding":
        return None, kpm
    if kind == "float_key_padding":
        return None, np.where(kpm, -1e4, 0.0).astype(np_dtype)
    if kind == "both_bool":
        return bool_attn, kpm
    raise ValueError(kind)


MASKS = ["none", "bool_attn", "float_attn", "attn_3d", "key_padding", "float_key_padding",
         "both_bool"]


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False),
                                                  (False, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention(np_dtype, mask, need_weights, average, batch_first):
    tm, em = mha_pair(np_dtype, batch_first=batch_first)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, S, E) if batch_first else (S, N, E)).astype(np_dtype)
    am, kpm = _masks(mask, rng, np_dtype, L=S, S=S)

    def call(m, x, am, kpm):
        return m(x, x, x, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
                 average_attn_weights=average)
    t_in = [_t(x), None if am is None else _t(am, False), None if kpm is None else _t(kpm, False)]
    e_in = [_e(x), None if am is None else _e(am, False), None if kpm is None else _e(kpm, False)]
    e_out, t_out = compare(tm, em, t_in, e_in, call=lambda m, *a: [o for o in call(m, *a)
                                                                    if o is not None])
    assert len(e_out) == (2 if need_weights else 1)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", ["cross", "kdim_vdim", "no_bias", "bias_kv",
                                     "zero_attn", "bias_kv_zero_attn"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_variants(np_dtype, variant, need_weights):
    kw = {"kdim_vdim": dict(kdim=6, vdim=7), "no_bias": dict(bias=False),
          "bias_kv": dict(add_bias_kv=True), "zero_attn": dict(add_zero_attn=True),
          "bias_kv_zero_attn": dict(add_bias_kv=True, add_zero_attn=True)}.get(variant, {})
    tm, em = mha_pair(np_dtype, **kw)
    rng = np.random.default_rng(1)
    q = rng.standard_normal((L, N, E)).astype(np_dtype)
    k = rng.standard_normal((S, N, kw.get("kdim", E))).astype(np_dtype)
    v = rng.standard_normal((S, N, kw.get("vdim", E))).astype(np_dtype)
    am, kpm = _masks("both_bool", rng, np_dtype)

    def call(m, q, k, v, am, kpm):
        if variant == "cross":          # key is value: torch's packed k/v projection path
            v = k
        out = m(q, k, v, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)
        return [o for o in out if o is not None]
    compare(tm, em, [_t(q), _t(k), _t(v), _t(am, False), _t(kpm, False)],
            [_e(q), _e(k), _e(v), _e(am, False), _e(kpm, False)], call=call)


def test_mha_state_dict_keys_and_repr():
    for kw in [{}, dict(kdim=3, vdim=5), dict(bias=False, add_bias_kv=True)]:
        t = torch.nn.MultiheadAttention(8, 4, **kw)
        e = ember.nn.MultiheadAttention(8, 4, **kw)
        assert list(e.state_dict()) == list(t.state_dict())
        assert [(n, tuple(p.shape)) for n, p in e.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in t.named_parameters()]
        assert repr(e) == repr(t)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched(need_weights):
    tm, em = mha_pair(np.float64)
    rng = np.random.default_rng(2)
    q, k = rng.standard_normal((L, E)), rng.standard_normal((S, E))
    kpm = np.array([False, False, True, False, True])

    def call(m, q, k, kpm):
        return [o for o in m(q, k, k, key_padding_mask=kpm, need_weights=need_weights)
                if o is not None]
    compare(tm, em, [_t(q), _t(k), _t(kpm, False)], [_e(q), _e(k), _e(kpm, False)], call=call)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_is_causal(np_dtype, need_weights):
    tm, em = mha_pair(np_dtype, batch_first=True)
    x = np.random.default_rng(3).standard_normal((N, S, E)).astype(np_dtype)

    def call(m, x):
        M = torch if isinstance(x, torch.Tensor) else ember
        mask = M.nn.Transformer.generate_square_subsequent_mask(S, dtype=x.dtype)
        out = m(x, x, x, attn_mask=mask, is_causal=True, need_weights=need_weights)
        return [o for o in out if o is not None]
    compare(tm, em, [_t(x)], [_e(x)], call=call)


def test_mha_dropout_training_vs_eval():
    tm, em = mha_pair(np.float64, dropout=0.5)
    x = np.random.default_rng(4).standard_normal((S, N, E))
    ex = _e(x, False)
    w1, w2 = em(ex, ex, ex)[1], em(ex, ex, ex)[1]
    assert not np.allclose(w1.detach().numpy(), w2.detach().numpy())
    tm.eval()
    em.eval()
    compare(tm, em, [_t(x)], [_e(x)], call=lambda m, x: list(m(x, x, x)))


def test_mha_errors_and_warnings():
    def mk(M, *a, **kw):
        return M.nn.MultiheadAttention(*a, **kw)
    cases = [
        lambda M: mk(M, 8, 3),
        lambda M: mk(M, 0, 2),
        lambda M: mk(M, 8, 2)(M.zeros(4, 2, 8), M.zeros(4, 2, 8), M.zeros(4, 2, 8),
                              is_causal=True),
        lambda M: mk(M, 8, 2)(M.zeros(4, 2, 8), M.zeros(4, 2, 8), M.zeros(4, 2, 8),
                              attn_mask=M.zeros(3, 4)),
        lambda M: mk(M, 8, 2)(M.zeros(4, 2, 8), M.zeros(4, 2, 8), M.zeros(4, 2, 8),
                              attn_mask=M.zeros(4, 4, dtype=M.int64)),
        lambda M: mk(M, 8, 2)(M.zeros(4, 2, 8), M.zeros(4, 8), M.zeros(4, 8)),
        lambda M: mk(M, 8, 2)(M.zeros(4, 2, 6), M.zeros(4, 2, 6), M.zeros(4, 2, 6)),
    ]
    for case in cases:
        e, t = check_raises(case)
        assert str(e).replace("ember", "torch") == str(t)
    x = ember.zeros(4, 2, 8)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and "
                                         "attn_mask is deprecated"):
        ember.nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=ember.zeros(4, 4),
                                          key_padding_mask=ember.zeros(2, 4, dtype=ember.bool))


# ---------------------------------------------------------------------------------------
# Transformer layers
# ---------------------------------------------------------------------------------------
D_MODEL, NHEAD, FF = 8, 2, 16


def _activation(name):
    if name == "callable":      # a user function: each library gets its own
        return lambda M: (lambda x: M.nn.functional.silu(x) * 0.5)
    return lambda M: name


def layer_pair(kind, np_dtype, activation="relu", **kw):
    tdt, edt = DT[np_dtype]
    torch.manual_seed(0)
    act = _activation(activation)
    tm = getattr(torch.nn, kind)(D_MODEL, NHEAD, FF, dropout=0.0, activation=act(torch),
                                 **kw).to(tdt)
    em = getattr(ember.nn, kind)(D_MODEL, NHEAD, FF, dropout=0.0, activation=act(ember),
                                 dtype=edt, **kw)
    load_from_torch(em, tm)
    return tm, em


def _seq(rng, T, batch_first, np_dtype):
    shape = (N, T, D_MODEL) if batch_first else (T, N, D_MODEL)
    return rng.standard_normal(shape).astype(np_dtype)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer(np_dtype, norm_first, activation, batch_first):
    tm, em = layer_pair("TransformerEncoderLayer", np_dtype, activation,
                        norm_first=norm_first, batch_first=batch_first)
    rng = np.random.default_rng(0)
    src = _seq(rng, S, batch_first, np_dtype)
    am, kpm = _masks("both_bool", rng, np_dtype, L=S, S=S)

    def call(m, src, am, kpm):
        return m(src, src_mask=am, src_key_padding_mask=kpm)
    compare(tm, em, [_t(src), _t(am, False), _t(kpm, False)],
            [_e(src), _e(am, False), _e(kpm, False)], call=call)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer(np_dtype, norm_first, batch_first):
    tm, em = layer_pair("TransformerDecoderLayer", np_dtype, "gelu", norm_first=norm_first,
                        batch_first=batch_first)
    rng = np.random.default_rng(1)
    tgt, mem = _seq(rng, L, batch_first, np_dtype), _seq(rng, S, batch_first, np_dtype)
    causal = np.triu(np.full((L, L), -np.inf, dtype=np_dtype), 1)
    mem_kpm = _masks("key_padding", rng, np_dtype)[1]

    def call(m, tgt, mem, causal, mem_kpm):
        return m(tgt, mem, tgt_mask=causal, memory_key_padding_mask=mem_kpm,
                 tgt_is_causal=True)
    compare(tm, em, [_t(tgt), _t(mem), _t(causal, False), _t(mem_kpm, False)],
            [_e(tgt), _e(mem), _e(causal, False), _e(mem_kpm, False)], call=call)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_full_transformer(np_dtype, batch_first, norm_first):
    tdt, edt = DT[np_dtype]
    torch.manual_seed(0)
    kw = dict(d_model=D_MODEL, nhead=NHEAD, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=FF, dropout=0.0, batch_first=batch_first, norm_first=norm_first)
    tm = torch.nn.Transformer(**kw).to(tdt)
    em = ember.nn.Transformer(dtype=edt, **kw)
    load_from_torch(em, tm)
    rng = np.random.default_rng(2)
    src, tgt = _seq(rng, S, batch_first, np_dtype), _seq(rng, L, batch_first, np_dtype)
    src_kpm = _masks("key_padding", rng, np_dtype)[1]

    def call(m, src, tgt, kpm):
        M = torch if isinstance(src, torch.Tensor) else ember
        tgt_mask = M.nn.Transformer.generate_square_subsequent_mask(L, dtype=src.dtype)
        return m(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=kpm,
                 memory_key_padding_mask=kpm)
    compare(tm, em, [_t(src), _t(tgt), _t(src_kpm, False)],
            [_e(src), _e(tgt), _e(src_kpm, False)], call=call)


def test_encoder_stack_with_causal_detection_and_final_norm():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0)
    e_layer = ember.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0)
    tm = torch.nn.TransformerEncoder(t_layer, 3, norm=torch.nn.LayerNorm(D_MODEL))
    em = ember.nn.TransformerEncoder(e_layer, 3, norm=ember.nn.LayerNorm(D_MODEL))
    load_from_torch(em, tm)
    x = np.random.default_rng(5).standard_normal((S, N, D_MODEL)).astype(np.float32)

    def call(m, x):
        M = torch if isinstance(x, torch.Tensor) else ember
        return m(x, mask=M.nn.Transformer.generate_square_subsequent_mask(S))
    compare(tm, em, [_t(x)], [_e(x)], call=call)


@pytest.mark.parametrize("left_aligned", [True, False])
def test_encoder_eval_no_grad_padding_matches_torch_nested_path(left_aligned):
    """torch's inference path zeroes padded positions; ember reproduces it."""
    torch.manual_seed(0)
    kw = dict(d_model=D_MODEL, nhead=NHEAD, dim_feedforward=FF, batch_first=True)
    tm = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**kw), 2).eval()
    em = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(**kw), 2).eval()
    load_from_torch(em, tm)
    x = np.random.default_rng(6).standard_normal((N, S, D_MODEL)).astype(np.float32)
    kpm = np.zeros((N, S), dtype=bool)
    kpm[0, 3:] = True
    kpm[1, 4:] = True
    if not left_aligned:
        kpm[2, 1] = True
    with torch.no_grad():
        t = tm(torch.from_numpy(x), src_key_padding_mask=torch.from_numpy(kpm))
    with ember.no_grad():
        e = em(ember.from_numpy(x), src_key_padding_mask=ember.from_numpy(kpm))
    assert_close(e, t)
    assert (not left_aligned) or np.all(t.numpy()[0, 3:] == 0)


def test_transformer_misc():
    t = torch.nn.Transformer.generate_square_subsequent_mask(4)
    e = ember.nn.Transformer.generate_square_subsequent_mask(4)
    assert_close(e, t)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
              dim_feedforward=16)
    tm, em = torch.nn.Transformer(**kw), ember.nn.Transformer(**kw)
    assert list(em.state_dict()) == list(tm.state_dict())
    assert repr(em) == repr(tm)
    for name, p in em.named_parameters():       # xavier for matrices
        if p.dim() > 1:
            fan_in, fan_out = p.shape[1], p.shape[0]
            assert np.abs(p.detach().numpy()).max() <= np.sqrt(6 / (fan_in + fan_out)), name
    for case in [lambda M: M.nn.Transformer(**kw)(M.zeros(3, 2, 8), M.zeros(3, 1, 8)),
                 lambda M: M.nn.Transformer(**kw)(M.zeros(3, 2, 8), M.zeros(3, 2, 6)),
                 lambda M: M.nn.TransformerEncoderLayer(8, 2, activation="tanh")]:
        e, t = check_raises(case)
        assert str(e) == str(t)
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but "
                                         "self.use_nested_tensor is False because "
                                         "encoder_layer.norm_first was True"):
        ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(8, 2, norm_first=True), 1)
