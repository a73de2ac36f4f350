"""Shape and view ops against torch: values, dtypes, gradients, grad_fn names, view metadata
(shared memory, strides, offsets), in-place through views with autograd, and misuse."""
import numpy as np
import pytest
import torch

import ember
from helpers import check, check_raises, rand

F32, F64 = np.float32, np.float64


def gname(t):
    return None if t.grad_fn is None else t.grad_fn.name().replace("torch::autograd::", "")


# ---------------------------------------------------------------------------------------------
# Values, dtypes and gradients: one line per case, run in float32 and float64
# ---------------------------------------------------------------------------------------------
CASES = [  # (id, fn(M, *xs), input shapes)
    ("view", lambda M, x: x.view(3, 4), [(2, 6)]),
    ("view_infer", lambda M, x: x.view(-1, 2), [(2, 6)]),
    ("view_tuple", lambda M, x: x.view((4, -1)), [(2, 6)]),
    ("view_0d", lambda M, x: x.view(1, 1), [()]),
    ("view_empty", lambda M, x: x.view(-1, 3), [(0, 3)]),
    ("view_to_0d", lambda M, x: x.view(()), [(1,)]),
    ("view_as", lambda M, x, y: x.view_as(y), [(2, 6), (3, 4)]),
    ("reshape", lambda M, x: x.reshape(4, 3), [(2, 6)]),
    ("reshape_fn", lambda M, x: M.reshape(x, (-1,)), [(2, 3, 2)]),
    ("reshape_noncontig", lambda M, x: x.t().reshape(-1), [(3, 4)]),
    ("reshape_as", lambda M, x, y: x.reshape_as(y), [(2, 6), (4, 3)]),
    ("reshape_empty", lambda M, x: x.reshape(2, 0, 5), [(0, 10)]),
    ("flatten", lambda M, x: x.flatten(), [(2, 3, 4)]),
    ("flatten_range", lambda M, x: x.flatten(1, 2), [(2, 3, 4, 2)]),
    ("flatten_neg", lambda M, x: M.flatten(x, -2), [(2, 3, 4)]),
    ("flatten_0d", lambda M, x: x.flatten(), [()]),
    ("flatten_same", lambda M, x: x.flatten(1, 1), [(2, 3)]),
    ("unflatten", lambda M, x: x.unflatten(1, (2, 3)), [(4, 6)]),
    ("unflatten_infer", lambda M, x: x.unflatten(-1, (-1, 2)), [(4, 6)]),
    ("permute", lambda M, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute_tuple", lambda M, x: M.permute(x, (1, -1, 0)), [(2, 3, 4)]),
    ("permute_0d", lambda M, x: x.permute(()), [()]),
    ("transpose", lambda M, x: x.transpose(0, 2), [(2, 3, 4)]),
    ("transpose_neg", lambda M, x: M.transpose(x, -1, -2), [(2, 3, 4)]),
    ("transpose_1d", lambda M, x: x.transpose(0, -1), [(3,)]),
    ("swapaxes", lambda M, x: M.swapaxes(x, 0, 1), [(2, 3)]),
    ("t", lambda M, x: x.t(), [(2, 3)]),
    ("t_1d", lambda M, x: M.t(x), [(3,)]),
    ("t_0d", lambda M, x: x.t(), [()]),
    ("T", lambda M, x: x.T, [(2, 3)]),
    ("mT", lambda M, x: x.mT, [(4, 2, 3)]),
    ("movedim", lambda M, x: x.movedim(0, -1), [(2, 3, 4)]),
    ("movedim_multi", lambda M, x: M.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("squeeze", lambda M, x: x.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze_dim", lambda M, x: x.squeeze(2), [(1, 3, 1, 2)]),
    ("squeeze_dim_noop", lambda M, x: x.squeeze(1), [(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda M, x: x.squeeze((0, 2, 3)), [(1, 3, 1, 2)]),
    ("squeeze_0d", lambda M, x: x.squeeze(0), [()]),
    ("unsqueeze", lambda M, x: x.unsqueeze(1), [(2, 3)]),
    ("unsqueeze_neg", lambda M, x: M.unsqueeze(x, -1), [(2, 3)]),
    ("unsqueeze_0d", lambda M, x: x.unsqueeze(0), [()]),
    ("expand", lambda M, x: x.expand(4, 2, 3), [(2, 1)]),
    ("expand_keep", lambda M, x: x.expand(-1, 5), [(3, 1)]),
    ("expand_0d", lambda M, x: x.expand(2, 3), [()]),
    ("expand_same", lambda M, x: x.expand(2, 3), [(2, 3)]),
    ("expand_as", lambda M, x, y: x.expand_as(y), [(3, 1), (2, 3, 4)]),
    ("broadcast_to", lambda M, x: M.broadcast_to(x, (2, 3)), [(3,)]),
    ("broadcast_tensors", lambda M, x, y: M.broadcast_tensors(x, y), [(3, 1), (1, 4)]),
    ("repeat", lambda M, x: x.repeat(2, 3), [(2, 3)]),
    ("repeat_lead", lambda M, x: x.repeat(2, 1, 2), [(2, 3)]),
    ("repeat_0d", lambda M, x: x.repeat(3), [()]),
    ("repeat_zero", lambda M, x: x.repeat(0, 2), [(2, 3)]),
    ("tile", lambda M, x: x.tile((2,)), [(2, 3)]),
    ("tile_fn", lambda M, x: M.tile(x, (2, 1, 2)), [(2, 3)]),
    ("repeat_interleave", lambda M, x: x.repeat_interleave(2), [(2, 3)]),
    ("repeat_interleave_dim", lambda M, x: M.repeat_interleave(x, 3, dim=1), [(2, 3)]),
    ("repeat_interleave_t", lambda M, x: x.repeat_interleave(M.tensor([1, 0, 2]), dim=0),
     [(3, 2)]),
    ("contiguous", lambda M, x: x.t().contiguous(), [(2, 3)]),
    ("clone", lambda M, x: x.clone(), [(2, 3)]),
    ("clone_0d", lambda M, x: M.clone(x), [()]),
    ("cat", lambda M, x, y: M.cat([x, y]), [(2, 3), (4, 3)]),
    ("cat_dim1", lambda M, x, y: M.cat((x, y), dim=1), [(2, 3), (2, 1)]),
    ("cat_neg", lambda M, x, y, z: M.cat([x, y, z], -1), [(2, 3), (2, 1), (2, 0)]),
    ("cat_legacy_empty", lambda M, x, y: M.cat([x, y]), [(0,), (2, 3)]),
    ("concat", lambda M, x, y: M.concat([x, y], 0), [(1, 3), (2, 3)]),
    ("stack", lambda M, x, y: M.stack([x, y]), [(2, 3), (2, 3)]),
    ("stack_dim", lambda M, x, y: M.stack([x, y], dim=-1), [(2, 3), (2, 3)]),
    ("stack_0d", lambda M, x, y: M.stack([x, y]), [(), ()]),
    ("hstack", lambda M, x, y: M.hstack([x, y]), [(2, 3), (2, 2)]),
    ("hstack_1d", lambda M, x, y: M.hstack([x, y]), [(3,), (2,)]),
    ("vstack", lambda M, x, y: M.vstack([x, y]), [(3,), (2, 3)]),
    ("dstack", lambda M, x, y: M.dstack([x, y]), [(2, 3), (2, 3)]),
    ("column_stack", lambda M, x, y: M.column_stack([x, y]), [(3,), (3, 2)]),
    ("split", lambda M, x: x.split(2), [(5, 3)]),
    ("split_sizes", lambda M, x: M.split(x, [1, 3, 1]), [(5, 3)]),
    ("split_dim", lambda M, x: x.split(2, dim=1), [(2, 5)]),
    ("chunk", lambda M, x: x.chunk(3), [(5, 2)]),
    ("chunk_dim", lambda M, x: M.chunk(x, 2, -1), [(2, 4)]),
    ("chunk_empty", lambda M, x: x.chunk(3), [(0,)]),
    ("tensor_split", lambda M, x: x.tensor_split(3), [(5, 2)]),
    ("tensor_split_idx", lambda M, x: M.tensor_split(x, [1, 4], dim=0), [(5, 2)]),
    ("unbind", lambda M, x: x.unbind(), [(3, 2)]),
    ("unbind_dim", lambda M, x: M.unbind(x, 1), [(3, 2)]),
    ("narrow", lambda M, x: x.narrow(1, 1, 2), [(3, 4)]),
    ("narrow_neg", lambda M, x: M.narrow(x, 0, -2, 2), [(3, 4)]),
    ("select", lambda M, x: x.select(1, -1), [(3, 4)]),
    ("flip", lambda M, x: x.flip(0), [(3, 4)]),
    ("flip_dims", lambda M, x: M.flip(x, (0, -1)), [(2, 3, 4)]),
    ("fliplr", lambda M, x: M.fliplr(x), [(2, 3)]),
    ("flipud", lambda M, x: M.flipud(x), [(2, 3)]),
    ("roll", lambda M, x: x.roll(1), [(3, 4)]),
    ("roll_dim", lambda M, x: M.roll(x, -1, 1), [(3, 4)]),
    ("roll_dims", lambda M, x: M.roll(x, (1, 2), (0, 1)), [(3, 4)]),
    ("tril", lambda M, x: x.tril(), [(4, 3)]),
    ("tril_k", lambda M, x: M.tril(x, -1), [(2, 4, 3)]),
    ("triu", lambda M, x: x.triu(1), [(3, 4)]),
    ("triu_neg", lambda M, x: M.triu(x, -2), [(3, 4)]),
    ("diag_1d", lambda M, x: M.diag(x), [(3,)]),
    ("diag_1d_k", lambda M, x: M.diag(x, -1), [(3,)]),
    ("diag_2d", lambda M, x: x.diag(), [(3, 4)]),
    ("diag_2d_k", lambda M, x: M.diag(x, 2), [(3, 4)]),
    ("diag_2d_neg", lambda M, x: M.diag(x, -1), [(3, 4)]),
    ("diagonal", lambda M, x: M.diagonal(x, 1, 0, 2), [(3, 2, 4)]),
    ("diag_embed", lambda M, x: M.diag_embed(x, 1), [(2, 3)]),
    ("diag_embed_dims", lambda M, x: M.diag_embed(x, -1, 0, 2), [(2, 3)]),
    ("trace", lambda M, x: M.trace(x), [(3, 4)]),
    ("atleast_2d", lambda M, x: M.atleast_2d(x), [(3,)]),
    ("atleast_3d", lambda M, x: M.atleast_3d(x), [(2, 3)]),
    ("to_double", lambda M, x: x.to(M.float64), [(2, 3)]),
    ("to_float", lambda M, x: x.to(dtype=M.float32), [(2, 3)]),
    ("double", lambda M, x: x.double() * 2, [(2, 3)]),
    ("float", lambda M, x: x.float(), [(2, 3)]),
    ("half", lambda M, x: x.half(), [(2, 3)]),
    ("long", lambda M, x: x.long(), [(2, 3)]),
    ("int", lambda M, x: x.int(), [(2, 3)]),
    ("bool", lambda M, x: x.bool(), [(2, 3)]),
    ("type_str", lambda M, x: x.type("torch.DoubleTensor"), [(2, 3)]),
    ("type_dtype", lambda M, x: x.type(M.float64), [(2, 3)]),
]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("fn,shapes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_shape_op(fn, shapes, dt):
    check(fn, *[rand(*s, dtype=dt, seed=i) for i, s in enumerate(shapes)])


NONCONTIG = ["view_as", "reshape", "reshape_fn", "flatten_range", "permute", "transpose", "mT",
             "movedim", "squeeze", "unsqueeze", "expand", "repeat", "tile", "contiguous", "clone",
             "cat", "cat_dim1", "stack", "split", "chunk", "unbind", "narrow", "flip", "roll",
             "tril", "triu", "diag_2d", "to_double", "repeat_interleave_dim", "select"]


@pytest.mark.parametrize("name", NONCONTIG)
def test_shape_op_noncontiguous(name):
    fn, shapes = {c[0]: c[1:] for c in CASES}[name]
    fn_nc = fn if name not in ("view_as",) else (lambda M, x, y: x.reshape_as(y))
    check(fn_nc, *[rand(*s, seed=i) for i, s in enumerate(shapes)], noncontig=True)


def test_cat_promotes_dtypes():
    check(lambda M, a, b: M.cat([a, b]), rand(2, 3, dtype=F32), rand(1, 3, dtype=F64))
    check(lambda M, a, b: M.cat([a, b.long()]), rand(2, 3, dtype=F32), rand(1, 3))
    check(lambda M, a, b: M.stack([a, b]), rand(2, dtype=F32), rand(2, dtype=F64))


def test_integer_and_bool_inputs():
    i = np.arange(12).reshape(3, 4)
    for fn in (lambda M, x: x.t().reshape(-1), lambda M, x: M.cat([x, x], 1),
               lambda M, x: x.flip(1), lambda M, x: x.roll(1, 0), lambda M, x: x.tril(),
               lambda M, x: M.diag(x), lambda M, x: x.repeat(2, 1), lambda M, x: x.unbind(1),
               lambda M, x: (x > 5).expand(2, 3, 4), lambda M, x: x.float(),
               lambda M, x: M.stack([x, x > 2])):
        check(fn, i)


# ---------------------------------------------------------------------------------------------
# grad_fn names (users print them)
# ---------------------------------------------------------------------------------------------
NAMES = [
    lambda M, x: x.view(6), lambda M, x: x.reshape(3, 2), lambda M, x: x.t().reshape(6),
    lambda M, x: x.flatten(), lambda M, x: x.t(), lambda M, x: x.T, lambda M, x: x.mT,
    lambda M, x: x.transpose(0, 1), lambda M, x: x.permute(1, 0), lambda M, x: x.squeeze(),
    lambda M, x: x.squeeze(0), lambda M, x: x.squeeze((0, 1)), lambda M, x: x.unsqueeze(0),
    lambda M, x: x.expand(2, 2, 3), lambda M, x: x.narrow(0, 0, 1), lambda M, x: x.select(0, 1),
    lambda M, x: x.unbind()[0], lambda M, x: x.split(1)[0], lambda M, x: x.split([1, 1])[1],
    lambda M, x: x.chunk(2)[0], lambda M, x: x.movedim(0, 1), lambda M, x: x.clone(),
    lambda M, x: x.t().contiguous(), lambda M, x: M.cat([x, x]), lambda M, x: M.stack([x, x]),
    lambda M, x: x.flip(0), lambda M, x: x.roll(1), lambda M, x: x.tril(), lambda M, x: x.triu(),
    lambda M, x: M.diag(x), lambda M, x: M.diag(x[0]), lambda M, x: x.repeat(2, 1),
    lambda M, x: x.double(), lambda M, x: M.diagonal(x), lambda M, x: M.diag_embed(x),
    lambda M, x: x[0], lambda M, x: x[:, 1:], lambda M, x: x[None], lambda M, x: x[...],
    lambda M, x: x[:], lambda M, x: x[:, :], lambda M, x: x[None, 0], lambda M, x: x[0, None],
    lambda M, x: x[[0, 1]], lambda M, x: x[x > 0], lambda M, x: x[True],
    lambda M, x: x[0, [0, 1]],
]


@pytest.mark.parametrize("k", range(len(NAMES)))
def test_grad_fn_names(k):
    e, t = check(NAMES[k], rand(2, 3), grad=False)
    e = e[0] if isinstance(e, tuple) else e
    t = t[0] if isinstance(t, tuple) else t
    assert gname(e) == gname(t)


# ---------------------------------------------------------------------------------------------
# Views share memory and report torch's strides, offsets and contiguity
# ---------------------------------------------------------------------------------------------
VIEWS = [
    lambda x: x.view(4, 6), lambda x: x.view(-1), lambda x: x.reshape(6, 4),
    lambda x: x.flatten(1), lambda x: x.unflatten(2, (2, 2)), lambda x: x.permute(2, 0, 1),
    lambda x: x.transpose(0, 2), lambda x: x.mT, lambda x: x[0].t(), lambda x: x[0].T,
    lambda x: x.movedim(0, 2), lambda x: x.squeeze(), lambda x: x.unsqueeze(1),
    lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(0), lambda x: x.expand(5, 2, 3, 4),
    lambda x: x[:, :1].expand(2, 3, 4), lambda x: x.narrow(2, 1, 2), lambda x: x.select(1, 2),
    lambda x: x.unbind(1)[1], lambda x: x.split(2, 2)[1], lambda x: x.chunk(3, 1)[2],
    lambda x: x[1], lambda x: x[:, 1:], lambda x: x[..., ::2], lambda x: x[1, ::2, 1:3],
    lambda x: x[None], lambda x: x[:, None], lambda x: x[..., None], lambda x: x[1, None, 2],
    lambda x: x[:, :0], lambda x: x[..., :0], lambda x: x.view_as(x), lambda x: x.expand_as(x),
    lambda x: x[0, 0, 0], lambda x: x.tensor_split(2, 2)[1],
]


@pytest.mark.parametrize("transposed", [False, True], ids=["contig", "transposed"])
@pytest.mark.parametrize("k", range(len(VIEWS)))
def test_view_metadata(k, transposed):
    a = np.arange(24.0).reshape(2, 3, 4)
    xe, xt = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
    if transposed:
        xe, xt = xe.transpose(0, 2).contiguous().transpose(0, 2), \
            xt.transpose(0, 2).contiguous().transpose(0, 2)
    try:
        vt = VIEWS[k](xt)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            VIEWS[k](xe)
        return
    ve = VIEWS[k](xe)
    root = xe if xe._base is None else xe._base
    assert (ve._base is None) == (vt._base is None)
    if vt._base is None:          # a copy (reshape of a non-viewable layout)
        return
    assert tuple(ve.shape) == tuple(vt.shape)
    np.testing.assert_array_equal(ve.numpy(), vt.numpy())
    assert ve.stride() == vt.stride()
    assert ve.storage_offset() == vt.storage_offset()
    assert ve.is_contiguous() == vt.is_contiguous()
    assert ve.numel() == 0 or \
        ve.data_ptr() - root.data_ptr() == vt.data_ptr() - vt._base.data_ptr()
    assert ve._base is root
    if ve.numel() and ve._data.flags.writeable:   # writes go through to the base
        ve.fill_(-7.0)
        vt.fill_(-7.0)
        np.testing.assert_array_equal(xe.numpy(), xt.numpy())
    # the view shares the version counter
    v0 = xe._version_value
    xe.add_(1)
    assert ve._version_value == v0 + 1


def test_view_of_view_shares_root_base():
    x = ember.zeros(2, 3, 4)
    v = x[0].t()[1:]
    assert v._base is x
    v.fill_(5)
    assert float(x.sum()) == 5 * 3 * 3


def test_copies_do_not_share():
    x = ember.zeros(2, 3)
    for y in (x.clone(), x.t().contiguous(), x.t().reshape(-1), x.flip(0), x.repeat(1, 1),
              ember.cat([x]), x.roll(1), x.tril(), x[[0, 1]]):
        assert not np.shares_memory(y._data, x._data)
        assert y._base is None


def test_clone_preserves_layout():
    for f in (lambda m: m.zeros(2, 3).t(), lambda m: m.zeros(4, 3)[::2].t(),
              lambda m: m.zeros(2, 3, 4).permute(2, 0, 1)[:, :, ::2]):
        assert f(ember).clone().stride() == f(torch).clone().stride()
        assert f(ember).contiguous().stride() == f(torch).contiguous().stride()
        assert f(ember).double().stride() == f(torch).double().stride()


def test_contiguous_returns_self():
    x = ember.zeros(2, 3)
    assert x.contiguous() is x
    assert x.flatten(0, 0) is x


def test_empty_strides():
    for f in (lambda m: m.zeros(2, 0, 3), lambda m: m.zeros(0), lambda m: m.zeros(2, 3)[:, :0],
              lambda m: m.zeros(2, 3, 4)[..., :0]):
        assert f(ember).stride() == f(torch).stride()


# ---------------------------------------------------------------------------------------------
# In-place ops through views, with autograd (torch's CopySlices semantics)
# ---------------------------------------------------------------------------------------------
def _inplace_cases():
    def c1(M, x):
        y = x * 1
        y[0] += 5
        return y * y

    def c2(M, x):
        y = x * 1
        v = y[:, 1]
        v.mul_(2)
        return y * y, v

    def c3(M, x):
        y = x * 1
        v = y[:, 1]
        w = v[1:]
        w.mul_(3)
        return (y ** 2, v * v)

    def c4(M, x):
        y = x * 1
        y.t()[0].add_(x[0, 0])
        return y * y

    def c5(M, x, w):
        y = x * 1
        y[1] = w[0] * 2
        return y * y

    def c6(M, x, w):
        y = x * 1
        y[:, 0] = w[0, :3]
        return y.exp()

    def c7(M, x):
        y = x * 1
        y[[0, 0, 1], [1, 1, 2]] = M.tensor(3.0, dtype=x.dtype)
        return y * y

    def c8(M, x, w):
        y = M.zeros(3, 4, dtype=x.dtype)
        y[1:] = x[:2] * w[0]
        return y * 3

    def c9(M, x):
        y = x * 1
        v = y.view(-1)
        v[2:5].mul_(x[0, 0])
        return y

    def c10(M, x):
        y = x * 1
        y.unsqueeze(0).squeeze(0)[1].exp_()
        return y.sum(0)

    def c11(M, x):
        y = x * 1
        z = y[1:]
        y.mul_(2)            # base changed in place: the old view's graph must follow
        return z * z

    def c12(M, x):
        y = x * 2
        v = y.t()
        v[1:].zero_()
        return y

    def c13(M, x, w):
        y = x.clone()
        y[y > 0] = w[0, 0]
        return y * x

    def c14(M, x):
        y = x * 1
        y[0, 1:].copy_(x[1, :-1] * 4)
        return y

    def c15(M, x):
        y = x * 1
        v = y[1]
        v += 1                # in-place on a view through an operator
        v *= 3
        return y

    def c16(M, x, w):
        y = x * 1
        y[0].copy_(w[0])
        return y * y

    def c17(M, x):
        y = x * 1
        y[..., 1] = 0
        y[None, 0, 0] = 1
        return y * x

    def c18(M, x):
        y = x * 1
        y[:, 1:3].masked_fill_(y[:, 1:3] > 0, 0.5)
        return y

    return [c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18]


INPLACE = _inplace_cases()


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("k", range(len(INPLACE)))
def test_inplace_through_views(k, dt):
    fn = INPLACE[k]
    nargs = fn.__code__.co_argcount - 1
    check(fn, *[rand(3, 4, dtype=dt, seed=i) for i in range(nargs)])


SAVED_MODIFIED = [
    lambda M, x: (lambda y: (y.view(-1)[2:5].mul_(y.view(-1)[0]), y)[1])(x * 1),
    lambda M, x: (lambda y: (y.t()[1:].zero_(), y)[1])(x.exp()),
    lambda M, x: (lambda y: (y[1].mul_(y[1]), y)[1])(x * 1),
]


@pytest.mark.parametrize("k", range(len(SAVED_MODIFIED)))
def test_inplace_modifying_saved_tensor_raises(k):
    def run(M, a):
        x = M.tensor(a.tolist(), requires_grad=True)
        SAVED_MODIFIED[k](M, x).sum().backward()
    check_raises(run, rand(3, 4), match="modified by an inplace operation")


INPLACE_VIEW_OPS = [
    lambda M, x: (lambda y: (y.t_(), y * 2)[1])(x * 1),
    lambda M, x: (lambda y: (y.unsqueeze_(1), y * 2)[1])(x * 1),
    lambda M, x: (lambda y: (y.squeeze_(), y * 2)[1])(x[:1] * 1),
    lambda M, x: (lambda y: (y.transpose_(0, 1), y[0].mul_(3), y)[2])(x * 1),
    lambda M, x: (lambda y: (y[0].unsqueeze_(0), y[1].squeeze_(), y[0].mul_(2), y)[3])(x * 1),
    lambda M, x: (lambda v: (v.t_(), v.mul_(2), x * v.sum())[2])(x[1:] * 1),
]


@pytest.mark.parametrize("k", range(len(INPLACE_VIEW_OPS)))
def test_inplace_view_ops(k):
    e, t = check(INPLACE_VIEW_OPS[k], rand(3, 4, seed=k))
    e = e[0] if isinstance(e, tuple) else e
    t = t[0] if isinstance(t, tuple) else t
    assert gname(e) == gname(t)
    check_raises(lambda M, a: a.requires_grad_().t_(), rand(2, 3))


def test_inplace_view_op_names():
    for f in (lambda y: y.t_(), lambda y: y.unsqueeze_(0), lambda y: y.squeeze_(),
              lambda y: y.squeeze_(0), lambda y: y.squeeze_((0, 2)), lambda y: y.transpose_(0, 1)):
        names = []
        for M in (torch, ember):
            y = M.ones(1, 2, 1, requires_grad=True) * 1
            y = y[0] if f.__code__.co_names == ("t_",) else y
            f(y)
            names.append(gname(y))
        assert names[0] == names[1]


def test_inplace_view_grad_fn_and_leafness():
    for M in (torch, ember):
        x = M.ones(2, 3, requires_grad=True)
        y = x * 1
        y[0] += 5
        assert gname(y) == "CopySlices" and not y.is_leaf
        b = M.zeros(3)
        w = M.tensor(2.0, requires_grad=True)
        b[1] = w
        assert b.requires_grad and not b.is_leaf and gname(b) == "CopySlices"
        b.sum().backward()
        assert float(w.grad) == 1.0


def test_inplace_on_view_bumps_shared_version_and_saved_check():
    for M in (torch, ember):
        x = M.ones(3, requires_grad=True)
        y = x * 1
        z = y * y            # saves y
        y[0].mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


LEAF_MISUSE = [
    lambda M, x: x.__setitem__(0, 1.0),
    lambda M, x: x[0].mul_(2),
    lambda M, x: x.view(-1).add_(1),
    lambda M, x: x.t().zero_(),
    lambda M, x: x.mul_(2),
    lambda M, x: x.__setitem__([0], 1.0),
    lambda M, x: x[:, 1].copy_(M.ones(2)),
    lambda M, x: x[0].fill_(1.0),
    lambda M, x: x.unbind()[0].mul_(2),
]


@pytest.mark.parametrize("k", range(len(LEAF_MISUSE)))
def test_inplace_on_leaf_or_view_of_leaf_raises(k):
    def run(M, a):
        return LEAF_MISUSE[k](M, M.tensor(a.tolist(), requires_grad=True))
    e, t = check_raises(run, rand(2, 3))
    assert str(e) == str(t)


def test_inplace_on_leaf_ok_under_no_grad():
    for M in (torch, ember):
        x = M.ones(2, 3, requires_grad=True)
        with M.no_grad():
            x[0] = 5
            x[:, 1].mul_(2)
        assert x.tolist() == [[5.0, 10.0, 5.0], [1.0, 2.0, 1.0]] and x.is_leaf


def test_multi_view_and_no_grad_view_inplace_errors():
    for mk in (lambda y: y.unbind()[1], lambda y: y.split(2)[0], lambda y: y.split([1, 3])[1],
               lambda y: y.chunk(2)[1]):
        msgs = []
        for M in (torch, ember):
            y = M.ones(4, 3, requires_grad=True) * 1
            with pytest.raises(RuntimeError) as ei:
                mk(y).mul_(2)
            msgs.append(str(ei.value))
        assert msgs[0] == msgs[1]
    msgs = []
    for M in (torch, ember):
        x = M.ones(3, requires_grad=True)
        with M.no_grad():
            w = x[:2]
        assert w.requires_grad and w.is_leaf
        with pytest.raises(RuntimeError) as ei:
            w.mul_(2)
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1]
    # the same in-place ops are fine under no_grad, or on views of tensors without grad
    for M in (torch, ember):
        y = M.ones(4, 3, requires_grad=True) * 1
        with M.no_grad():
            y.unbind()[1].mul_(2)
        z = M.ones(4, 3)
        z.split(2)[1].mul_(3)
        assert float(z.sum()) == 24.0


def test_expanded_view_write_refused():
    check_raises(lambda M, a: a.expand(2, 3).add_(1), rand(3))


# ---------------------------------------------------------------------------------------------
# gradcheck (float64 finite differences) for every differentiable shape primitive
# ---------------------------------------------------------------------------------------------
GRADCHECK = [
    (lambda x: x.view(3, 2), (2, 3)), (lambda x: x.t().reshape(6), (2, 3)),
    (lambda x: x.permute(1, 0), (2, 3)), (lambda x: x.transpose(0, 1), (2, 3)),
    (lambda x: x.squeeze(0), (1, 3)), (lambda x: x.unsqueeze(1), (2, 3)),
    (lambda x: x.expand(2, 2, 3), (1, 3)), (lambda x: x.repeat(2, 2), (2, 2)),
    (lambda x: ember.cat([x, x * 2], 1), (2, 2)), (lambda x: ember.stack([x, x.exp()]), (3,)),
    (lambda x: x.narrow(1, 1, 2), (2, 3)), (lambda x: x.select(0, 1), (2, 3)),
    (lambda x: x.unbind(1), (2, 2)), (lambda x: x.split([1, 2], 1), (2, 3)),
    (lambda x: x.flip(0), (2, 3)), (lambda x: x.roll(1, 1), (2, 3)),
    (lambda x: x.tril(), (3, 3)), (lambda x: x.triu(1), (3, 3)), (lambda x: ember.diag(x), (3,)),
    (lambda x: ember.diag(x, 1), (2, 3)), (lambda x: ember.diag_embed(x, -1), (2, 2)),
    (lambda x: ember.diagonal(x, 0, 0, 2), (2, 2, 2)), (lambda x: x.clone(), (2, 2)),
    (lambda x: x.t().contiguous(), (2, 3)), (lambda x: x.repeat_interleave(2, 0), (2, 2)),
    (lambda x: x.to(ember.float32).to(ember.float64), (2,)),
]


@pytest.mark.parametrize("k", range(len(GRADCHECK)))
def test_gradcheck(k):
    fn, shape = GRADCHECK[k]
    x = ember.tensor(rand(*shape, seed=k), requires_grad=True)
    if k == len(GRADCHECK) - 1:
        fn = lambda x: x.double() * 1  # noqa: E731  (float32 round trip is not smooth enough)
    assert ember.autograd.gradcheck(fn, (x,))


def test_gradcheck_inplace_on_view():
    def f(x):
        y = x * 1
        y[0, 1:] = y[1, :2].exp()
        y.t()[2].mul_(x[0, 0])
        return y
    x = ember.tensor(rand(2, 3), requires_grad=True)
    assert ember.autograd.gradcheck(f, (x,))
    assert ember.autograd.gradgradcheck(f, (x,))


def test_gradgradcheck_views():
    x = ember.tensor(rand(2, 3), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda x: (x.t()[1:] ** 2).expand(2, 2, 2), (x,))
    assert ember.autograd.gradgradcheck(lambda x: ember.cat([x, x ** 2]).unbind(1)[0], (x,))


# ---------------------------------------------------------------------------------------------
# Misuse raises torch's exception class (and message where it names shapes)
# ---------------------------------------------------------------------------------------------
MISUSE = [
    (lambda M, x: x.t().view(6), (2, 3), "view size is not compatible"),
    (lambda M, x: x.view(4, 2), (2, 3), r"shape '\[4, 2\]' is invalid for input of size 6"),
    (lambda M, x: x.view(-1, -1), (2, 3), "only one dimension can be inferred"),
    (lambda M, x: x.reshape(-1, 0), (0, 3), "ambiguous"),
    (lambda M, x: x.view(2.0, 3), (2, 3), None),
    (lambda M, x: x.permute(0), (2, 3), r"input.dim\(\) = 2 is not equal to len\(dims\) = 1"),
    (lambda M, x: x.permute(0, 0), (2, 3), "duplicate dims"),
    (lambda M, x: x.transpose(0, 2), (2, 3), r"Dimension out of range \(expected to be in range "
                                              r"of \[-2, 1\], but got 2\)"),
    (lambda M, x: x.t(), (2, 3, 4), "t\\(\\) expects a tensor with <= 2 dimensions, but self is "
                                    "3D"),
    (lambda M, x: x.mT, (3,), None),
    (lambda M, x: x.squeeze(3), (2, 3), "Dimension out of range"),
    (lambda M, x: x.unsqueeze(3), (2, 3), "Dimension out of range"),
    (lambda M, x: x.expand(3, 4), (2, 1), r"The expanded size of the tensor \(3\) must match the "
                                          r"existing size \(2\) at non-singleton dimension 0.  "
                                          r"Target sizes: \[3, 4\].  Tensor sizes: \[2, 1\]"),
    (lambda M, x: x.expand(3), (2, 3), r"the number of sizes provided \(1\) must be greater or "
                                       r"equal to the number of dimensions in the tensor \(2\)"),
    (lambda M, x: x.expand(-1, 2, 3), (2, 3), "isn't allowed in a leading, non-existing "
                                              "dimension 0"),
    (lambda M, x: x.repeat(2), (2, 3), "Number of dimensions of repeat dims can not be smaller"),
    (lambda M, x: M.cat([x, x.t()]), (2, 3), r"Sizes of tensors must match except in dimension 0."
                                             r" Expected size 3 but got size 2 for tensor number "
                                             r"1 in the list."),
    (lambda M, x: M.cat([x, x[0]]), (2, 3), "Tensors must have same number of dimensions: got 2 "
                                            "and 1"),
    (lambda M, x: M.cat([x[0, 0], x[0, 0]]), (2, 3), "zero-dimensional tensor"),
    (lambda M, x: M.cat([]), (2, 3), None),
    (lambda M, x: M.cat(x), (2, 3), None),
    (lambda M, x: M.stack([x, x.t()]), (2, 3), r"stack expects each tensor to be equal size, but "
                                               r"got \[2, 3\] at entry 0 and \[3, 2\] at entry 1"),
    (lambda M, x: x.split([1, 1]), (3, 2), "split_with_sizes expects split_sizes to sum exactly "
                                           "to 3"),
    (lambda M, x: x.split(0), (3, 2), "split_size can only be 0 if dimension size is 0"),
    (lambda M, x: x.chunk(0), (3, 2), "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda M, x: x.narrow(0, 2, 2), (3, 2), r"start \(2\) \+ length \(2\) exceeds dimension size "
                                             r"\(3\)."),
    (lambda M, x: x.narrow(0, 5, 1), (3, 2), None),
    (lambda M, x: x.select(0, 3), (3, 2), r"select\(\): index 3 out of range for tensor of size "
                                          r"\[3, 2\] at dimension 0"),
    (lambda M, x: x.unbind(2), (3, 2), "Dimension out of range"),
    (lambda M, x: x.flip(0, 0), (3, 2), "dim 0 appears multiple times in the list of dims"),
    (lambda M, x: x.roll((1, 2), 0), (3, 2), "shifts and dimensions must align"),
    (lambda M, x: x.tril(), (3,), "tril: input tensor must have at least 2 dimensions"),
    (lambda M, x: M.diag(x), (2, 2, 2), "diag\\(\\): Supports 1D or 2D tensors. Got 3D"),
    (lambda M, x: x.movedim((0, 1), 0), (3, 2), None),
    (lambda M, x: x.unflatten(1, (3, 3)), (3, 2), "don't multiply up to the size of dim 1"),
    (lambda M, x: x.flatten(1, 0), (3, 2), "start_dim cannot come after end_dim"),
    (lambda M, x: x.repeat_interleave(M.tensor([1, 2]), dim=0), (3, 2), None),
    (lambda M, x: x.type("torch.NopeTensor"), (3, 2), None),
    (lambda M, x: x.view(M.float64, 2), (3, 2), None),
]


@pytest.mark.parametrize("k", range(len(MISUSE)))
def test_misuse(k):
    fn, shape, match = MISUSE[k]
    check_raises(fn, rand(*shape), match=match)
