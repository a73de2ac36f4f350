"""ember's random numbers are torch's, bit for bit.

Each test seeds ember and torch alike (an explicit torch.Generator, or torch's default
generator inside ``fork_rng``), makes the same calls and compares the results byte for byte
(dtype and shape included) and the generator states after each call, so the stream position
must advance exactly as torch's does.
"""
import pickle
from fractions import Fraction

import numpy as np
import pytest
import torch

import ember
from ember._backend.mt19937 import MT19937, DEFAULT_SEED, STATE_SIZE
from ember._backend import rng_kernels as rk

SEEDS = [0, 1, 1234, 2 ** 40 + 5]
SIZES = [(), (1,), (2, 3)] + [(n,) for n in range(4, 41)] + [(100,), (1000,), (7, 9, 13)]


def same(e, t):
    """Byte-identical values, same dtype name and shape."""
    a = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    b = t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), (a, b)


def state_bytes(g):
    return g.get_state().numpy().tobytes()


def gens(seed):
    return ember.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


@pytest.fixture
def default_gens():
    """Both default generators, restored afterwards."""
    saved = ember.get_rng_state()
    with torch.random.fork_rng():
        yield
    ember.set_rng_state(saved)


# ---- the engine -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 5489, 2 ** 32 + 7, 2 ** 64 - 1, DEFAULT_SEED])
def test_seeded_state_bytes_equal_torch(seed):
    e, t = gens(seed)
    assert len(state_bytes(e)) == STATE_SIZE == len(state_bytes(t))
    assert state_bytes(e) == state_bytes(t)
    assert e.initial_seed() == t.initial_seed() == seed


def test_fresh_generator_matches_torch_default_seed():
    e, t = ember.Generator(), torch.Generator()
    assert e.initial_seed() == t.initial_seed() == 67280421310721
    assert state_bytes(e) == state_bytes(t)
    same(ember.rand(5, generator=e), torch.rand(5, generator=t))


@pytest.mark.parametrize("seed", [-1, -5, -(2 ** 63)])
def test_negative_seeds_wrap_like_torch(seed):
    e, t = gens(seed)
    assert e.initial_seed() == t.initial_seed()
    same(ember.randn(20, generator=e), torch.randn(20, generator=t))


def test_raw_words_in_chunks_cross_twists():
    """Draw counts that end exactly on, just before and after the 624-word refill."""
    e = MT19937(7)
    t = torch.Generator().manual_seed(7)
    for n in [1, 3, 620, 1, 2000, 624, 0, 5, 623, 1]:
        # random_(0, 2**32) on int64 takes the low word of each random64()
        want = torch.empty(n, dtype=torch.int64).random_(0, 2 ** 32, generator=t).numpy()
        got = (e.random64(n) & np.uint64(0xFFFFFFFF)).astype(np.int64)
        assert np.array_equal(want, got)
        assert e.get_state() == state_bytes(t)


# ---- state round trips ------------------------------------------------------------------------
def test_state_crosses_between_torch_and_ember():
    e, t = gens(3)
    torch.randn(3, generator=t)                    # leaves a cached normal in the state
    e.set_state(ember.tensor(t.get_state().numpy()))
    assert state_bytes(e) == state_bytes(t)
    same(ember.randn(5, generator=e), torch.randn(5, generator=t))
    ember.rand(1001, generator=e)
    t.set_state(torch.from_numpy(e.get_state().numpy()))
    same(ember.randn(33, generator=e), torch.randn(33, generator=t))
    assert state_bytes(e) == state_bytes(t)


def test_hand_edited_state_is_honoured_like_torch():
    """left + next != 625: torch emits state[next:next+left-1] before twisting."""
    t = torch.Generator().manual_seed(3)
    torch.rand(10, generator=t)
    a = t.get_state().numpy().copy()
    a[8:12] = np.frombuffer(np.int32(5).tobytes(), np.uint8)     # left
    a[16:24] = np.frombuffer(np.uint64(3).tobytes(), np.uint8)   # next
    t.set_state(torch.from_numpy(a))
    e = ember.Generator().set_state(ember.tensor(a))
    for n in [2, 1, 1, 3, 700]:
        same(ember.rand(n, generator=e), torch.rand(n, generator=t))
        assert state_bytes(e) == state_bytes(t)


def test_get_set_state_round_trip_replays(default_gens):
    ember.manual_seed(11)
    ember.randn(3)
    st = ember.get_rng_state()
    a = ember.randn(40), ember.randint(0, 9, (6,)), ember.rand(2)
    ember.set_rng_state(st)
    b = ember.randn(40), ember.randint(0, 9, (6,)), ember.rand(2)
    for x, y in zip(a, b):
        same(x, y)


def test_clone_state_and_pickle():
    e, _ = gens(9)
    ember.randn(3, generator=e)
    c = e.clone_state()
    p = pickle.loads(pickle.dumps(e))
    for g in (c, p):
        assert state_bytes(g) == state_bytes(e)
    same(ember.randn(7, generator=c), ember.randn(7, generator=e))


def test_state_errors_match_torch():
    e, t = gens(0)
    with pytest.raises(TypeError, match="ByteTensor"):
        e.set_state(ember.zeros(STATE_SIZE))
    with pytest.raises(TypeError, match="ByteTensor"):
        e.set_state([1, 2])
    with pytest.raises(RuntimeError, match="size 5056 but found the input RNG state size to be 10"):
        e.set_state(ember.zeros(10, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        e.set_state(ember.zeros(STATE_SIZE, dtype=ember.uint8))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        t.set_state(torch.zeros(STATE_SIZE, dtype=torch.uint8))
    for bad in (2 ** 64, -(2 ** 63) - 1):
        with pytest.raises(ValueError, match="Overflow"):
            e.manual_seed(bad)
        with pytest.raises(ValueError, match="Overflow"):
            t.manual_seed(bad)
    with pytest.raises(RuntimeError, match="manual_seed expected a long"):
        e.manual_seed(1.5)


# ---- factories --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rand_randn_all_sizes(seed, dtype):
    e, t = gens(seed)
    ed, td = getattr(ember, dtype), getattr(torch, dtype)
    for size in SIZES:
        same(ember.rand(size, generator=e, dtype=ed), torch.rand(size, generator=t, dtype=td))
        same(ember.randn(size, generator=e, dtype=ed), torch.randn(size, generator=t, dtype=td))
    assert state_bytes(e) == state_bytes(t)


def test_half_and_complex_follow_torch():
    e, t = gens(2)
    for n in [3, 16, 17, 40]:
        same(ember.randn(n, generator=e, dtype=ember.float16),
             torch.randn(n, generator=t, dtype=torch.float16))
        same(ember.rand(n, generator=e, dtype=ember.float16),
             torch.rand(n, generator=t, dtype=torch.float16))
        same(ember.randn(n, generator=e, dtype=ember.complex64),
             torch.randn(n, generator=t, dtype=torch.complex64))
        same(ember.rand(n, generator=e, dtype=ember.complex128),
             torch.rand(n, generator=t, dtype=torch.complex128))
    assert state_bytes(e) == state_bytes(t)


def test_large_randn_float32_and_float64():
    e, t = gens(11)
    same(ember.randn(200_003, generator=e), torch.randn(200_003, generator=t))
    same(ember.randn(20_001, generator=e, dtype=ember.float64),
         torch.randn(20_001, generator=t, dtype=torch.float64))


@pytest.mark.parametrize("seed", SEEDS)
def test_randint_ranges_and_dtypes(seed):
    e, t = gens(seed)
    for low, high in [(0, 10), (-5, 7), (0, 2 ** 28 - 1), (0, 2 ** 28), (3, 2 ** 28 + 1),
                      (-2 ** 40, 2 ** 40), (0, 2 ** 62), (-2 ** 63, 2 ** 63 - 1)]:
        for size in [(), (1,), (17,), (3, 5)]:
            same(ember.randint(low, high, size, generator=e),
                 torch.randint(low, high, size, generator=t))
    same(ember.randint(10, (4,), generator=e), torch.randint(10, (4,), generator=t))
    for ed, td in [(ember.int32, torch.int32), (ember.uint8, torch.uint8),
                   (ember.float32, torch.float32), (ember.float64, torch.float64)]:
        same(ember.randint(0, 100, (9,), generator=e, dtype=ed),
             torch.randint(0, 100, (9,), generator=t, dtype=td))
    assert state_bytes(e) == state_bytes(t)


@pytest.mark.parametrize("seed", SEEDS)
def test_randperm(seed):
    e, t = gens(seed)
    for n in [0, 1, 2, 3, 5, 10, 16, 17, 100, 1000, 60000]:
        same(ember.randperm(n, generator=e), torch.randperm(n, generator=t))
    same(ember.randperm(9, generator=e, dtype=ember.float32),
         torch.randperm(9, generator=t, dtype=torch.float32))
    assert state_bytes(e) == state_bytes(t)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_normal_with_numbers_and_tensors(seed):
    e, t = gens(seed)
    rng = np.random.default_rng(seed)
    for shape in [(5,), (16,), (33,), (4, 7)]:
        m = rng.standard_normal(shape).astype(np.float32)
        s = rng.random(shape).astype(np.float32) * 3
        em, tm = ember.tensor(m), torch.from_numpy(m)
        es, ts = ember.tensor(s), torch.from_numpy(s)
        same(ember.normal(em, es, generator=e), torch.normal(tm, ts, generator=t))
        same(ember.normal(em, 0.5, generator=e), torch.normal(tm, 0.5, generator=t))
        same(ember.normal(-2.0, es, generator=e), torch.normal(-2.0, ts, generator=t))
        same(ember.normal(em[:1], es, generator=e), torch.normal(tm[:1], ts, generator=t))
        same(ember.normal(1.5, 2.5, shape, generator=e),
             torch.normal(1.5, 2.5, shape, generator=t))
    assert state_bytes(e) == state_bytes(t)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_bernoulli_tensor_and_scalar(seed):
    e, t = gens(seed)
    rng = np.random.default_rng(seed)
    for shape in [(1,), (7,), (40,), (3, 11)]:
        for npd in (np.float32, np.float64):
            p = rng.random(shape).astype(npd)
            same(ember.bernoulli(ember.tensor(p), generator=e),
                 torch.bernoulli(torch.from_numpy(p), generator=t))
            same(ember.bernoulli(ember.tensor(p), 0.3, generator=e),
                 torch.bernoulli(torch.from_numpy(p), 0.3, generator=t))
    assert state_bytes(e) == state_bytes(t)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_multinomial(seed):
    e, t = gens(seed)
    rng = np.random.default_rng(seed)
    for npd in (np.float32, np.float64):
        for shape in [(5,), (3, 7), (2, 100)]:
            p = rng.random(shape).astype(npd)
            p[..., 1] = 0
            ep, tp = ember.tensor(p), torch.from_numpy(p)
            same(ember.multinomial(ep, 6, True, generator=e),
                 torch.multinomial(tp, 6, True, generator=t))
            same(ember.multinomial(ep, 1, generator=e), torch.multinomial(tp, 1, generator=t))
            same(ember.multinomial(ep, 3, generator=e), torch.multinomial(tp, 3, generator=t))
            same(ember.multinomial(ep, 1, True, generator=e),
                 torch.multinomial(tp, 1, True, generator=t))
    assert state_bytes(e) == state_bytes(t)


# ---- *_like: the result keeps the input's layout --------------------------------------------
def test_like_functions_fill_in_memory_order():
    e, t = gens(5)
    x = np.zeros((6, 5), np.float32)
    for ex, tx in [(ember.tensor(x), torch.from_numpy(x)),
                   (ember.tensor(x).t(), torch.from_numpy(x).t())]:
        for n in range(2):
            same(ember.rand_like(ex, generator=e), torch.rand_like(tx, generator=t))
            same(ember.randn_like(ex, generator=e), torch.randn_like(tx, generator=t))
            same(ember.randint_like(ex, 3, 9, generator=e),
                 torch.randint_like(tx, 3, 9, generator=t))
    assert state_bytes(e) == state_bytes(t)


# ---- in-place samplers ------------------------------------------------------------------------
def _pairs(shape, dtype="float32"):
    return (ember.empty(shape, dtype=getattr(ember, dtype)),
            torch.empty(shape, dtype=getattr(torch, dtype)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_normal_exponential_inplace(dtype):
    e, t = gens(21)
    for shape in [(), (5,), (16,), (17,), (40,), (8, 9)]:
        a, b = _pairs(shape, dtype)
        same(a.uniform_(-0.3, 0.45, generator=e), b.uniform_(-0.3, 0.45, generator=t))
        same(a.uniform_(generator=e), b.uniform_(generator=t))
        same(a.normal_(0.25, 3.0, generator=e), b.normal_(0.25, 3.0, generator=t))
        same(a.normal_(generator=e), b.normal_(generator=t))
        same(a.exponential_(0.7, generator=e), b.exponential_(0.7, generator=t))
        same(a.geometric_(0.3, generator=e), b.geometric_(0.3, generator=t))
        same(a.log_normal_(0.5, 1.5, generator=e), b.log_normal_(0.5, 1.5, generator=t))
        same(a.cauchy_(0.1, 0.3, generator=e), b.cauchy_(0.1, 0.3, generator=t))
    assert state_bytes(e) == state_bytes(t)


def test_inplace_on_non_contiguous_views_follow_memory_order():
    e, t = gens(4)
    a, b = _pairs((20, 4))
    for ea, ta in [(a.t(), b.t()), (a[:, 1], b[:, 1]), (a[::2], b[::2])]:
        same(ea.normal_(generator=e), ta.normal_(generator=t))          # scalar path
        same(ea.uniform_(-1.7, 2.2, generator=e), ta.uniform_(-1.7, 2.2, generator=t))
        same(ea.bernoulli_(0.4, generator=e), ta.bernoulli_(0.4, generator=t))
        same(ea.random_(0, 7, generator=e), ta.random_(0, 7, generator=t))
    same(a, b)
    assert state_bytes(e) == state_bytes(t)


def test_bernoulli_inplace_scalar_and_tensor_p():
    e, t = gens(8)
    rng = np.random.default_rng(0)
    p32 = rng.random((3, 5)).astype(np.float32)
    for dtype in ["float32", "float64", "int64", "bool"]:
        a, b = _pairs((3, 5), dtype)
        same(a.bernoulli_(0.3, generator=e), b.bernoulli_(0.3, generator=t))
        same(a.bernoulli_(ember.tensor(p32), generator=e),
             b.bernoulli_(torch.from_numpy(p32), generator=t))
        same(a.bernoulli_(ember.tensor(p32[0]), generator=e),          # broadcast p
             b.bernoulli_(torch.from_numpy(p32[0]), generator=t))
        same(a.bernoulli_(ember.tensor(p32.astype(np.float64)), generator=e),
             b.bernoulli_(torch.from_numpy(p32.astype(np.float64)), generator=t))
    assert state_bytes(e) == state_bytes(t)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool",
                                   "float32", "float64", "float16"])
def test_random_variants_per_dtype(dtype):
    e, t = gens(13)
    a, b = _pairs((25,), dtype)
    same(a.random_(generator=e), b.random_(generator=t))
    same(a.random_(2, generator=e), b.random_(2, generator=t))
    same(a.random_(0, 2, generator=e), b.random_(0, 2, generator=t))
    if dtype != "bool":
        same(a.random_(5, None, generator=e), b.random_(5, None, generator=t))
        same(a.random_(3, 100, generator=e), b.random_(3, 100, generator=t))
    if dtype in ("int64", "float32", "float64"):
        same(a.random_(-2 ** 63, None, generator=e), b.random_(-2 ** 63, None, generator=t))
    assert state_bytes(e) == state_bytes(t)


def test_random_and_uniform_errors_match_torch():
    cases = [
        (lambda m: m.empty(3, dtype=m.int8).random_(0, 300), "to - 1 is out of bounds for signed char"),
        (lambda m: m.empty(3, dtype=m.uint8).random_(-1, 3), "from is out of bounds for unsigned char"),
        (lambda m: m.empty(3).random_(5, 3), "expects 'from' to be less than 'to'"),
        (lambda m: m.empty(3, dtype=m.int32).random_(-2 ** 63, None), "random_full_64_bits"),
        (lambda m: m.empty(3).uniform_(2, 1), r"found from=2 > to=1"),
        (lambda m: m.empty(3).uniform_(-1e39, 1), "from is out of bounds for float"),
        (lambda m: m.empty(3).uniform_(-3e38, 3e38), "to-from to exceed the limit"),
        (lambda m: m.randperm(2 ** 25, dtype=m.float16), "n cannot be greater than 2049 for Half"),
        (lambda m: m.empty(3).geometric_(1.5), r"geometric_ expects p to be in \(0, 1\)"),
        (lambda m: m.empty(3).cauchy_(0, -1), "cauchy_ expects sigma > 0.0"),
        (lambda m: m.empty(3).log_normal_(0, 0), "log_normal_ expects std > 0.0"),
    ]
    for fn, msg in cases:
        for mod in (torch, ember):
            with pytest.raises(RuntimeError, match=msg):
                fn(mod)


def test_refused_inplace_call_draws_nothing():
    e, _ = gens(1)
    before = state_bytes(e)
    w = ember.zeros(4, requires_grad=True)
    with pytest.raises(RuntimeError):
        w.uniform_(generator=e)
    assert state_bytes(e) == before


# ---- the default generator and interleaving ---------------------------------------------------
def test_interleaved_calls_on_default_generators(default_gens):
    for seed in (0, 77):
        ember.manual_seed(seed)
        torch.manual_seed(seed)
        steps = [
            lambda m: m.randn(3),
            lambda m: m.rand(17),
            lambda m: m.randn(1),
            lambda m: m.randint(0, 5, (4,)),
            lambda m: m.randn(2, 2, dtype=m.float64),
            lambda m: m.randperm(7),
            lambda m: m.empty(33).normal_(1.0, 0.5),
            lambda m: m.bernoulli(m.full((6,), 0.5)),
            lambda m: m.randn(5),
            lambda m: m.empty(3, dtype=m.int64).random_(),
            lambda m: m.multinomial(m.tensor([0.2, 0.3, 0.5]), 4, True),
            lambda m: m.empty(9).exponential_(),
            lambda m: m.normal(m.zeros(3), 1.0),
            lambda m: m.randn(1),
        ]
        for step in steps * 2:
            same(step(ember), step(torch))
            assert state_bytes(ember.default_generator) == torch.get_rng_state().numpy().tobytes()


def test_linear_style_init_matches_torch(default_gens):
    """kaiming_uniform_(a=sqrt(5)) is uniform_(-1/sqrt(fan_in), 1/sqrt(fan_in)): drawing it
    with the tensor method gives torch.nn.Linear's numbers."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 4)
    ember.manual_seed(0)
    bound = 1 / 3 ** 0.5
    w = ember.empty(4, 3).uniform_(-bound, bound)
    b = ember.empty(4).uniform_(-bound, bound)
    same(w, lin.weight)
    same(b, lin.bias)


# ---- exact arithmetic helpers -----------------------------------------------------------------
def _round_f32(v):
    """The float32 nearest the rational ``v`` (ties to even)."""
    f = np.float32(float(v))
    cands = [f, np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))]
    return min(cands, key=lambda x: (abs(Fraction(float(x)) - v),
                                     int(np.array(x).view(np.int32)) & 1))


def _midpoint_cases():
    """float32 a, b, c with a*b exactly on a float32 midpoint and c tiny: the float64 sum
    rounds back onto the midpoint, so a plain double computation rounds the wrong way."""
    out = []
    for k in range(1, 400):
        num = (1 << 24) + 2 * k + 1                   # 1 + k ulps + half an ulp, times 2**24
        for f in range(3, 4096, 2):
            if num % f == 0 and num // f < 1 << 24:
                a, b = np.float32(f), np.float32(num // f) * np.float32(2.0 ** -24)
                for c in (2.0 ** -70, -(2.0 ** -70)):
                    out.append((a, b, np.float32(c)))
                break
    return out


def test_fma_emulation_rounds_once():
    rng = np.random.default_rng(0)
    n = 3000
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    c = rng.standard_normal(n).astype(np.float32)
    c2 = (-(a.astype(np.float64) * b)).astype(np.float32)            # heavy cancellation
    mids = _midpoint_cases()
    assert len(mids) > 20
    ma, mb, mc = (np.array(x, np.float32) for x in zip(*mids))
    for x, y, z in [(a, b, c), (a, b, c2), (ma, mb, mc)]:
        got = rk.fma32(x, y, z)
        want = [_round_f32(Fraction(float(p)) * Fraction(float(q)) + Fraction(float(r)))
                for p, q, r in zip(x, y, z)]
        assert got.tobytes() == np.array(want, np.float32).tobytes()
    # the midpoint cases really need the repair: plain double arithmetic gets them wrong
    naive = (ma.astype(np.float64) * mb + mc).astype(np.float32)
    assert (naive != rk.fma32(ma, mb, mc)).sum() == len(mids) // 2
    a64 = rng.standard_normal(n)
    b64 = rng.standard_normal(n) * 2.0 ** rng.integers(-20, 20, n)
    for c64 in (rng.standard_normal(n) * 2.0 ** rng.integers(-60, 60, n), -(a64 * b64)):
        got = rk.fma64(a64, b64, c64)
        want = [float(Fraction(p) * Fraction(q) + Fraction(r)) for p, q, r in
                zip(a64.tolist(), b64.tolist(), c64.tolist())]
        assert got.tobytes() == np.array(want).tobytes()
