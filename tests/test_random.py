"""Random sampling. ember does not reproduce torch's random stream (see ember/_ops/random.py),
so these tests check what must agree: determinism under a seed, generator independence and
state round trips, shapes and dtypes (against torch), distribution moments, autograd
behaviour (zero gradients, leaf checks) and torch's errors for misuse."""
import numpy as np
import pytest
import torch

import ember
from helpers import check_raises


def _draws(M, gen=None):
    kw = {} if gen is None else {"generator": gen}
    x = M.zeros(5)
    return [M.rand(3, **kw), M.randn(2, 2, **kw), M.randint(0, 10, (4,), **kw),
            M.randperm(6, **kw), M.normal(0.0, 1.0, (3,), **kw),
            M.bernoulli(M.full((4,), 0.5), **kw), M.multinomial(M.ones(5), 3, **kw),
            x.uniform_(**kw).clone(), x.normal_(**kw).clone(), x.exponential_(**kw).clone(),
            x.random_(0, 7, **kw).clone(), x.bernoulli_(0.3, **kw).clone()]


def test_manual_seed_reproduces_every_sampler():
    ember.manual_seed(1234)
    a = _draws(ember)
    ember.manual_seed(1234)
    b = _draws(ember)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    c = _draws(ember)                               # the stream moved on
    assert any(not np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, c))
    ember.manual_seed(4321)
    d = _draws(ember)
    assert any(not np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, d))


def test_manual_seed_returns_generator_and_initial_seed():
    for M in (torch, ember):
        g = M.manual_seed(7)
        assert isinstance(g, M.Generator) and g is M.default_generator
        assert M.initial_seed() == 7
        assert M.manual_seed(-1).initial_seed() == 2 ** 64 - 1
        s = M.seed()
        assert isinstance(s, int) and M.initial_seed() == s
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()


def test_generators_are_independent_and_checkpointable():
    g1 = ember.Generator().manual_seed(3)
    g2 = ember.Generator().manual_seed(3)
    assert g1.manual_seed(3) is g1
    ember.manual_seed(0)
    a = _draws(ember, g1)
    ember.rand(100)                                  # the default generator is separate
    b = _draws(ember, g2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    state = g1.get_state()
    assert state.dtype is ember.uint8 and state.ndim == 1
    first = ember.randn(5, generator=g1)
    ember.randn(3, generator=g1)
    g1.set_state(state)
    np.testing.assert_array_equal(ember.randn(5, generator=g1).numpy(), first.numpy())
    g3 = ember.Generator()
    g3.set_state(state)                              # a state moves between generators
    np.testing.assert_array_equal(ember.randn(5, generator=g3).numpy(), first.numpy())
    assert g3.initial_seed() == 3
    st = ember.get_rng_state()
    u = ember.rand(4)
    ember.set_rng_state(st)
    np.testing.assert_array_equal(ember.rand(4).numpy(), u.numpy())


SHAPES_DTYPES = [
    lambda M: M.rand(2, 3), lambda M: M.rand((2, 3)), lambda M: M.rand(()),
    lambda M: M.rand(0, 2), lambda M: M.rand(2, dtype=M.float64), lambda M: M.randn(4),
    lambda M: M.randn([2, 2], dtype=M.float64), lambda M: M.randn(2, requires_grad=True),
    lambda M: M.rand(3, requires_grad=True), lambda M: M.randint(5, (3,)),
    lambda M: M.randint(2, 5, (2, 2)), lambda M: M.randint(0, 3, size=(4,), dtype=M.int32),
    lambda M: M.randint(3, (2,), dtype=M.float32), lambda M: M.randint(-5, -2, ()),
    lambda M: M.randperm(5), lambda M: M.randperm(0), lambda M: M.randperm(4, dtype=M.int32),
    lambda M: M.normal(2.0, 3.0, (2, 3)), lambda M: M.normal(0.0, 1.0, size=(2,)),
    lambda M: M.normal(M.zeros(3), 1.0), lambda M: M.normal(0.0, M.ones(2, 1)),
    lambda M: M.normal(M.zeros(3, dtype=M.float64), M.ones(2, 1, dtype=M.float64)),
    lambda M: M.normal(2.0, 1.0, (3,), requires_grad=True),
    lambda M: M.bernoulli(M.full((3,), 0.5)), lambda M: M.bernoulli(M.rand(2, 2, dtype=M.float64)),
    lambda M: M.bernoulli(M.zeros(3), p=0.3), lambda M: M.ones(4).bernoulli(),
    lambda M: M.multinomial(M.tensor([0.2, 0.8]), 4, replacement=True),
    lambda M: M.multinomial(M.ones(3, 5), 2), lambda M: M.ones(2, 5).multinomial(5),
    lambda M: M.rand_like(M.ones(2, 3, dtype=M.float64)), lambda M: M.randn_like(M.ones(2)),
    lambda M: M.rand_like(M.ones(2), dtype=M.float64), lambda M: M.randn_like(M.ones(2),
                                                                            requires_grad=True),
    lambda M: M.randint_like(M.ones(3), 5), lambda M: M.randint_like(M.ones(3, dtype=M.int64),
                                                                      2, 6),
    lambda M: M.zeros(3).uniform_(), lambda M: M.zeros(3, dtype=M.float64).normal_(2, 3),
    lambda M: M.zeros(3).exponential_(2.0), lambda M: M.zeros(3, dtype=M.int64).random_(),
    lambda M: M.zeros(3, dtype=M.uint8).random_(), lambda M: M.zeros(3).random_(5),
    lambda M: M.zeros(3, dtype=M.bool).random_(), lambda M: M.zeros(3).bernoulli_(0.5),
    lambda M: M.zeros(3, dtype=M.int64).bernoulli_(M.full((3,), 0.5)),
    lambda M: M.zeros(2, 3).t().uniform_(-1, 1), lambda M: M.zeros(3, dtype=M.float16).normal_(),
]


@pytest.mark.parametrize("k", range(len(SHAPES_DTYPES)))
def test_shapes_dtypes_and_flags_match_torch(k):
    e, t = SHAPES_DTYPES[k](ember), SHAPES_DTYPES[k](torch)
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dtype.name == str(t.dtype)[6:]
    assert e.requires_grad == t.requires_grad and e.is_leaf == t.is_leaf
    assert e.stride() == t.stride()


def _moments(x):
    a = x.numpy().astype(np.float64).ravel()
    return a.mean(), a.std()


def test_distribution_moments():
    ember.manual_seed(0)
    n = 200_000
    m, s = _moments(ember.rand(n))
    assert abs(m - 0.5) < 0.005 and abs(s - (1 / 12) ** 0.5) < 0.005
    r = ember.rand(n).numpy()
    assert r.min() >= 0 and r.max() < 1
    m, s = _moments(ember.randn(n))
    assert abs(m) < 0.01 and abs(s - 1) < 0.01
    m, s = _moments(ember.normal(2.0, 3.0, (n,)))
    assert abs(m - 2) < 0.03 and abs(s - 3) < 0.03
    m, s = _moments(ember.normal(ember.full((n,), -1.0), ember.full((n,), 0.5)))
    assert abs(m + 1) < 0.01 and abs(s - 0.5) < 0.01
    m, s = _moments(ember.empty(n).uniform_(-2, 4))
    assert abs(m - 1) < 0.03 and abs(s - 6 / 12 ** 0.5) < 0.03
    m, s = _moments(ember.empty(n).normal_(5, 0.1))
    assert abs(m - 5) < 0.002 and abs(s - 0.1) < 0.002
    m, s = _moments(ember.empty(n).exponential_(4.0))
    assert abs(m - 0.25) < 0.005 and abs(s - 0.25) < 0.005
    m, _ = _moments(ember.bernoulli(ember.full((n,), 0.3)))
    assert abs(m - 0.3) < 0.005
    m, _ = _moments(ember.empty(n).bernoulli_(0.8))
    assert abs(m - 0.8) < 0.005
    ri = ember.randint(3, 9, (n,)).numpy()
    assert ri.min() == 3 and ri.max() == 8 and abs(ri.mean() - 5.5) < 0.02
    rr = ember.empty(n, dtype=ember.int64).random_(0, 4).numpy()
    assert set(np.unique(rr)) == {0, 1, 2, 3}
    assert sorted(ember.randperm(50).tolist()) == list(range(50))


def test_multinomial_distribution():
    ember.manual_seed(1)
    p = ember.tensor([[0.1, 0.0, 0.6, 0.3], [0.0, 0.0, 0.0, 2.0]])
    s = ember.multinomial(p, 20000, replacement=True).numpy()
    freq = np.bincount(s[0], minlength=4) / s.shape[1]
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.015)
    assert (s[1] == 3).all()
    w = ember.multinomial(ember.tensor([1.0, 0.0, 5.0, 2.0]), 3)       # without replacement
    assert sorted(w.tolist()) == [0, 2, 3]
    # first draws without replacement follow the weights
    firsts = ember.multinomial(ember.tensor([[1.0, 2.0, 7.0]]).expand(20000, 3), 2)[:, 0].numpy()
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 20000, [0.1, 0.2, 0.7],
                               atol=0.015)
    rows = ember.multinomial(ember.rand(50, 10) + 0.01, 10).numpy()
    assert all(sorted(r) == list(range(10)) for r in rows)


def test_samples_carry_zero_gradients_like_torch():
    for M in (torch, ember):
        m = M.zeros(3, requires_grad=True)
        s = M.ones(3, requires_grad=True)
        r = M.normal(m, s)
        assert r.requires_grad and not r.is_leaf
        (r * 2).sum().backward()
        assert m.grad.tolist() == [0.0] * 3 and s.grad.tolist() == [0.0] * 3
        b = M.bernoulli(m)
        assert b.requires_grad
        y = m * 1
        y.uniform_()
        y.sum().backward()
        assert m.grad.tolist() == [0.0] * 3
        assert not M.rand_like(m).requires_grad


def test_inplace_sampling_checks_leaves_and_views():
    for fn in (lambda x: x.uniform_(), lambda x: x.normal_(), lambda x: x.bernoulli_(),
               lambda x: x.exponential_(), lambda x: x.random_(), lambda x: x[0].uniform_()):
        e, t = check_raises(lambda M: fn(M.ones(2, 3, requires_grad=True)))
        assert str(e) == str(t)
    for M in (torch, ember):
        w = M.ones(2, 3, requires_grad=True)
        with M.no_grad():                            # how nn.init initialises parameters
            w.normal_(0, 0.01)
            w[0].uniform_(-1, 1)
        assert w.is_leaf and w.requires_grad
        v = M.zeros(2, 3)
        v[:, 1].fill_(1).uniform_(5, 6)              # through a view, into the base
        assert (v.numpy()[:, 1] >= 5).all() and (v.numpy()[:, 0] == 0).all()


MISUSE = [
    lambda M: M.rand(2, dtype=M.int64), lambda M: M.randn(2, dtype=M.int64),
    lambda M: M.rand(-1), lambda M: M.randn(2, -1), lambda M: M.randint(5, 2, (3,)),
    lambda M: M.randint(5), lambda M: M.randint(0, 2, (2,), requires_grad=True),
    lambda M: M.randperm(-1), lambda M: M.normal(0.0, -1.0, (2,)),
    lambda M: M.normal(M.zeros(2), -M.ones(2)), lambda M: M.normal(M.zeros(2, dtype=M.int64), 1.0),
    lambda M: M.bernoulli(M.tensor([1.5])), lambda M: M.multinomial(M.tensor([0.0, 1.0]), 3),
    lambda M: M.multinomial(M.tensor([0.0, 0.0]), 1), lambda M: M.multinomial(M.tensor([-1.0, 1]),
                                                                               1),
    lambda M: M.multinomial(M.ones(2, 2, 2), 1), lambda M: M.multinomial(M.tensor([1, 2]), 1),
    lambda M: M.zeros(3).exponential_(-1), lambda M: M.zeros(3, dtype=M.int64).uniform_(),
    lambda M: M.zeros(3, dtype=M.int64).normal_(), lambda M: M.zeros(3).random_(5, 2),
    lambda M: M.zeros(3).bernoulli_(1.5), lambda M: M.zeros(3).uniform_(2, 1),
    lambda M: M.zeros(3).normal_(0, -1), lambda M: M.Generator().manual_seed(2 ** 64),
    lambda M: M.Generator().set_state(M.zeros(3)), lambda M: M.rand_like(M.ones(2, dtype=M.int64)),
]


@pytest.mark.parametrize("k", range(len(MISUSE)))
def test_misuse(k):
    e, t = check_raises(lambda M: MISUSE[k](M))
    if k not in (5,):      # argument-parsing messages differ in wording
        assert str(e).split(" (Could")[0].rstrip() == str(t).split(" (Could")[0].rstrip()


def test_set_state_rejects_foreign_bytes():
    with pytest.raises(RuntimeError, match="Expected a CPUGeneratorImplState of size 5056"):
        ember.Generator().set_state(ember.zeros(10, dtype=ember.uint8))


def test_float32_samplers_draw_float32_directly():
    g = ember.Generator().manual_seed(5)
    for t in (ember.rand(1000, generator=g), ember.randn(10, generator=g),
              ember.empty(5).normal_(generator=g), ember.empty(5).exponential_(generator=g)):
        assert t.dtype is ember.float32 and t._data.dtype == np.float32


def test_multinomial_without_replacement_exhausts_nonzero_first():
    for M in (torch, ember):
        for _ in range(10):
            r = M.multinomial(M.tensor([0.0, 1.0, 0.0, 0.0]), 3).tolist()
            assert r[0] == 1 and len(set(r)) == 3


def test_default_generator_starts_non_deterministically_like_torch():
    import subprocess, sys, os
    code = "import {m}; print({m}.initial_seed())"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for m in ("ember", "torch"):
        seeds = {subprocess.run([sys.executable, "-c", code.format(m=m)], capture_output=True,
                                text=True, env=dict(os.environ, PYTHONPATH=root)).stdout
                 for _ in range(3)}
        assert len(seeds) == 3, (m, seeds)
