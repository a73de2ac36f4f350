"""ember.utils.data against torch.utils.data: datasets, samplers, collation, DataLoader (single-
and multi-process). Random orders differ from torch by design (different RNG streams), so for
random samplers the tests check lengths, permutation properties and reproducibility instead.
"""
from __future__ import annotations

import collections
import contextlib
import gc
import os
import signal
import time
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import ember
import ember.utils.data as eud

MODS = ((eud, ember), (tud, torch))


# ---- helpers -----------------------------------------------------------------------------
@contextlib.contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging the suite) if the block takes longer than ``seconds``."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"exceeded {seconds}s: the DataLoader hung")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def same(e, t, where="out"):
    """ember result ``e`` equals torch result ``t``: container types, dtypes, shapes, values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{where}: {type(e)} is not an ember.Tensor"
        assert e.dtype.name == str(t.dtype).replace("torch.", ""), \
            f"{where}: dtype {e.dtype} vs {t.dtype}"
        assert tuple(e.shape) == tuple(t.shape), f"{where}: shape {e.shape} vs {t.shape}"
        np.testing.assert_array_equal(e.numpy(), t.numpy(), err_msg=where)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t), f"{where}: {e!r} vs {t!r}"
        for k in t:
            same(e[k], t[k], f"{where}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert type(e) is type(t), f"{where}: {type(e).__name__} vs {type(t).__name__}"
        assert len(e) == len(t), f"{where}: len {len(e)} vs {len(t)}"
        for i, (a, b) in enumerate(zip(e, t)):
            same(a, b, f"{where}[{i}]")
    else:
        assert type(e) is type(t) and e == t, f"{where}: {e!r} vs {t!r}"


def raises_alike(fn, match_message=True):
    """``fn(data_module, lib)`` raises the same exception class (and message) in both."""
    excs = []
    for mod, lib in MODS:
        with pytest.raises(Exception) as info:
            fn(mod, lib)
        excs.append(info.value)
    e, t = excs
    assert type(e) is type(t), f"ember {type(e).__name__}: {e}; torch {type(t).__name__}: {t}"
    if match_message:
        assert str(e) == str(t), f"ember: {e}\ntorch: {t}"
    return e


def to_lib(lib, arr):
    return lib.from_numpy(np.array(arr))


def batches_np(loader):
    return [[np.asarray(x.numpy()) for x in b] for b in loader]


class Squares(eud.Dataset):
    """A map-style dataset of (float vector, int label), independent of any library."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full(3, i * i, dtype=np.float32), i % 3


class Rows(eud.Dataset):
    """The samples of a TensorDataset, fetched the generic way (no fast path)."""

    def __init__(self, *tensors):
        self.tensors = tensors

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)


class Stream(eud.IterableDataset):
    """range(start, end), sharded across DataLoader workers."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = eud.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        return iter(range(self.start + info.id, self.end, info.num_workers))

    def __len__(self):
        return self.end - self.start


class Failing(eud.Dataset):
    def __init__(self, bad=13, exc=ValueError):
        self.bad, self.exc = bad, exc

    def __len__(self):
        return 20

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"sample {i} is corrupt")
        return i


class Dying(eud.Dataset):
    def __len__(self):
        return 20

    def __getitem__(self, i):
        if i == 9:
            os._exit(7)
        return i


class Sleepy(eud.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(5)
        return i


class WhoAmI(eud.Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = eud.get_worker_info()
        return i, info.id, info.num_workers, os.getpid(), ember.randint(0, 10**9, ()).item()


Point = collections.namedtuple("Point", ["x", "y"])


# ---- datasets ------------------------------------------------------------------------------
def test_tensor_dataset_indexing_and_size_check():
    x = ember.arange(12.0).reshape(6, 2)
    y = ember.arange(6)
    ds = eud.TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert a.tolist() == [8.0, 9.0] and b.item() == 4
    xs, ys = ds[1:3]  # the seed slices datasets
    assert xs.tolist() == [[2.0, 3.0], [4.0, 5.0]] and ys.tolist() == [1, 2]
    raises_alike(lambda m, lib: m.TensorDataset(lib.zeros(3, 2), lib.zeros(4)))


def test_subset_concat_chain_stack_match_torch():
    a, b = list(range(5)), list(range(10, 13))
    e_res, t_res = [], []
    for (mod, lib), res in zip(MODS, (e_res, t_res)):
        cat = mod.ConcatDataset([a, b])
        sub = mod.Subset(cat, [7, 0, 3])
        res += [len(cat), [cat[i] for i in range(len(cat))], cat[-1], cat[-8],
                cat.cumulative_sizes, len(sub), [sub[i] for i in range(3)],
                sub.__getitems__([2, 1])]
    assert e_res == t_res
    raises_alike(lambda m, lib: m.ConcatDataset([a, b])[-9])
    raises_alike(lambda m, lib: m.ConcatDataset([a, b])[8])
    raises_alike(lambda m, lib: m.ConcatDataset([]))
    raises_alike(lambda m, lib: m.ConcatDataset([a, m.ChainDataset([])]))
    raises_alike(lambda m, lib: m.Subset(a, [0, 9])[1])


def test_dataset_add_and_chain():
    x = eud.TensorDataset(ember.arange(3))
    both = x + x
    assert isinstance(both, eud.ConcatDataset) and len(both) == 6
    s = Stream(0, 3) + Stream(10, 12)
    assert isinstance(s, eud.ChainDataset)
    assert list(s) == [0, 1, 2, 10, 11] and len(s) == 5
    raises_alike(lambda m, lib: list(m.ChainDataset([[1, 2]])))
    raises_alike(lambda m, lib: len(m.ChainDataset([[1, 2]])))


def test_stack_dataset():
    a, b = list("abc"), [1, 2, 3]
    for mod, lib in MODS:
        assert mod.StackDataset(a, b)[1] == ("b", 2)
        assert mod.StackDataset(x=a, y=b)[2] == {"x": "c", "y": 3}
        assert mod.StackDataset(a, b).__getitems__([0, 2]) == [("a", 1), ("c", 3)]
        assert mod.StackDataset(x=a, y=b).__getitems__([1]) == [{"x": "b", "y": 2}]
    raises_alike(lambda m, lib: m.StackDataset(a, y=b))
    raises_alike(lambda m, lib: m.StackDataset())
    raises_alike(lambda m, lib: m.StackDataset(a, [1]))


def test_subset_subclass_must_override_getitems():
    def make(m):
        class Mine(m.Subset):
            def __getitem__(self, i):
                return 0
        return Mine([1, 2], [0])
    raises_alike(lambda m, lib: make(m))


@pytest.mark.parametrize("n,fracs", [(10, [0.3, 0.3, 0.4]), (7, [0.5, 0.5]), (5, [0.1, 0.9]),
                                     (11, [1 / 3, 1 / 3, 1 / 3]), (3, [0.25, 0.25, 0.25, 0.25]),
                                     (100, [0.8, 0.2])])
def test_random_split_fractions_follow_torch_lengths(n, fracs):
    with warnings.catch_warnings(record=True) as ew:
        warnings.simplefilter("always")
        e = eud.random_split(range(n), fracs, generator=ember.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as tw:
        warnings.simplefilter("always")
        t = tud.random_split(range(n), fracs, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in e] == [len(s) for s in t]
    assert [str(w.message) for w in ew] == [str(w.message) for w in tw]
    assert sorted(i for s in e for i in s) == list(range(n))


def test_random_split_lengths_reproducible_and_errors():
    g = lambda: ember.Generator().manual_seed(5)  # noqa: E731
    s1 = eud.random_split(range(20), [15, 5], generator=g())
    s2 = eud.random_split(range(20), [15, 5], generator=g())
    assert [list(s) for s in s1] == [list(s) for s in s2]
    assert sorted(list(s1[0]) + list(s1[1])) == list(range(20))
    assert list(s1[0]) != list(range(15))
    ember.manual_seed(3)
    d1 = [list(s) for s in eud.random_split(range(20), [10, 10])]
    ember.manual_seed(3)
    assert d1 == [list(s) for s in eud.random_split(range(20), [10, 10])]
    raises_alike(lambda m, lib: m.random_split(range(10), [3, 3]))
    raises_alike(lambda m, lib: m.random_split(range(10), [1.5, -0.5]))


# ---- samplers ------------------------------------------------------------------------------
@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False),
                                       (2, 5, True), (0, 2, False)])
def test_sequential_and_batch_sampler_match_torch(n, bs, drop):
    e = eud.BatchSampler(eud.SequentialSampler(range(n)), bs, drop)
    t = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop)
    assert list(e) == list(t) and len(e) == len(t)
    assert list(eud.SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n)))


@pytest.mark.parametrize("bad", [
    lambda m, lib: m.BatchSampler(range(3), 0, False),
    lambda m, lib: m.BatchSampler(range(3), True, False),
    lambda m, lib: m.BatchSampler(range(3), 2, 1),
    lambda m, lib: m.RandomSampler(range(3), replacement=1),
    lambda m, lib: m.RandomSampler(range(3), num_samples=0),
    lambda m, lib: m.RandomSampler([]),
    lambda m, lib: m.WeightedRandomSampler([1.0, 2.0], 0),
    lambda m, lib: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=0),
    lambda m, lib: m.WeightedRandomSampler([[1.0, 2.0]], 2),
])
def test_sampler_errors_match_torch(bad):
    raises_alike(bad)


def test_weighted_sampler_without_replacement_too_many_matches_torch():
    raises_alike(lambda m, lib: list(m.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)),
                 match_message=False)


def test_random_sampler():
    g = ember.Generator().manual_seed(0)
    s = eud.RandomSampler(range(10), generator=g)
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    assert len(s) == 10
    # more samples than items without replacement: whole permutations, then a partial one
    s = eud.RandomSampler(range(5), num_samples=12, generator=ember.Generator().manual_seed(1))
    draws = list(s)
    assert len(draws) == len(s) == 12
    assert sorted(draws[:5]) == sorted(draws[5:10]) == list(range(5))
    assert len(set(draws[10:])) == 2
    s = eud.RandomSampler(range(4), replacement=True, num_samples=70,
                          generator=ember.Generator().manual_seed(2))
    draws = list(s)
    assert len(draws) == 70 and set(draws) == {0, 1, 2, 3}
    # without a generator the order follows ember.manual_seed
    ember.manual_seed(11)
    a = list(eud.RandomSampler(range(30)))
    ember.manual_seed(11)
    assert a == list(eud.RandomSampler(range(30)))


def test_subset_and_weighted_samplers():
    idx = [3, 8, 1, 6]
    s = eud.SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0))
    assert len(s) == 4 and sorted(s) == sorted(idx)
    w = eud.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200,
                                  generator=ember.Generator().manual_seed(0))
    draws = list(w)
    assert len(w) == len(draws) == 200 and set(draws) == {1, 3}
    assert 120 < draws.count(3) < 180
    w = eud.WeightedRandomSampler([1.0, 5.0, 2.0, 0.5], 4, replacement=False)
    assert sorted(w) == [0, 1, 2, 3]


# ---- collation -----------------------------------------------------------------------------
COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0],
    "int_then_float": [1, 2.5],
    "bools": [True, False],
    "np_float32_arrays": [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
    "np_uint8_arrays": [np.arange(3, dtype=np.uint8), np.arange(3, 6, dtype=np.uint8)],
    "np_0d_arrays": [np.array(1.5), np.array(2.5)],
    "np_scalars_f32": [np.float32(1), np.float32(2)],
    "np_scalars_i64": [np.int64(4), np.int64(5)],
    "np_scalars_bool": [np.bool_(True), np.bool_(False)],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "tuples": [(1, 2.0, "x"), (3, 4.0, "y")],
    "lists": [[1, 2], [3, 4]],
    "dicts": [{"a": 1, "b": np.ones(2)}, {"a": 2, "b": np.zeros(2)}],
    "ordered_dict": [collections.OrderedDict(z=1, a=2.0), collections.OrderedDict(z=3, a=4.0)],
    "namedtuples": [Point(1, np.float64(2)), Point(3, np.float64(4))],
    "nested": [{"p": (np.ones(2, np.int32), [1.0, "s"])},
               {"p": (np.zeros(2, np.int32), [2.0, "t"])}],
}

TENSOR_CASES = {
    "tensors": [np.arange(6.0).reshape(2, 3), np.ones((2, 3))],
    "int_tensors": [np.arange(3), np.arange(3, 6)],
    "scalar_tensors": [np.array(1.0, np.float32), np.array(2.0, np.float32)],
    "tensor_pairs": [(np.ones(2, np.float32), np.array(1)), (np.zeros(2, np.float32), np.array(0))],
}


def _with_lib(obj, lib):
    if isinstance(obj, np.ndarray):
        return lib.from_numpy(obj.copy())
    if isinstance(obj, tuple):
        return tuple(_with_lib(o, lib) for o in obj)
    return obj


@pytest.mark.parametrize("name", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(name):
    batch = COLLATE_CASES[name]
    same(eud.default_collate(batch), tud.default_collate(batch))


@pytest.mark.parametrize("name", sorted(TENSOR_CASES))
def test_default_collate_tensors_match_torch(name):
    batch = TENSOR_CASES[name]
    same(eud.default_collate([_with_lib(b, ember) for b in batch]),
         tud.default_collate([_with_lib(b, torch) for b in batch]))


def test_default_collate_keeps_grad_and_errors_match_torch():
    a = ember.ones(2, requires_grad=True)
    out = eud.default_collate([a, a * 2])
    assert out.requires_grad and out.grad_fn is not None
    out.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]
    raises_alike(lambda m, lib: m.default_collate([[1, 2], [3]]))
    raises_alike(lambda m, lib: m.default_collate([object(), object()]), match_message=False)
    raises_alike(lambda m, lib: m.default_collate([np.array(["a"]), np.array(["b"])]))
    raises_alike(lambda m, lib: m.default_collate([lib.zeros(2), lib.zeros(3)]))
    e = raises_alike(lambda m, lib: m.default_collate([Point, Point]), match_message=False)
    assert "default_collate: batch must contain tensors" in str(e)


@pytest.mark.parametrize("data", [
    np.arange(3), np.float32(2.5), (np.ones(2), 3), [np.zeros(2), "s"], {"k": np.ones(1)},
    Point(np.array(1), 2), "text", 7, np.array(["x", "y"]),
])
def test_default_convert_matches_torch(data):
    e, t = eud.default_convert(data), tud.default_convert(data)
    if isinstance(t, np.ndarray):
        assert e is data
    else:
        same(e, t)


# ---- DataLoader: single process ------------------------------------------------------------
@pytest.mark.parametrize("n,bs", [(10, 3), (9, 3), (2, 5), (64, 64), (50000, 64)])
def test_loader_lengths_match_torch(n, bs):
    for drop in (False, True):
        e = eud.DataLoader(range(n), batch_size=bs, drop_last=drop)
        t = tud.DataLoader(range(n), batch_size=bs, drop_last=drop)
        assert len(e) == len(t)
    if n < 100:
        e = eud.DataLoader(range(n), batch_size=bs, drop_last=True)
        assert len(list(e)) == len(e)
        assert [len(b) for b in eud.DataLoader(range(n), batch_size=bs)] == \
            [len(b) for b in tud.DataLoader(range(n), batch_size=bs)]


def test_loader_batches_match_torch_for_tensor_and_generic_datasets():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 4)).astype(np.float32)
    y = rng.integers(0, 10, 23)
    for kw in ({"batch_size": 5}, {"batch_size": 5, "drop_last": True}, {"batch_size": 1},
               {"batch_size": None}):
        e = list(eud.DataLoader(eud.TensorDataset(to_lib(ember, x), to_lib(ember, y)), **kw))
        t = list(tud.DataLoader(tud.TensorDataset(to_lib(torch, x), to_lib(torch, y)), **kw))
        same(e, t)
        same(list(eud.DataLoader(Squares(11), **kw)), list(tud.DataLoader(Squares(11), **kw)))


def test_tensor_fast_path_equals_generic_path():
    x = ember.randn(37, 3, 2)
    y = ember.randint(0, 5, (37,), dtype=ember.int32)
    fast = eud.TensorDataset(x, y)
    slow = Rows(x, y)
    for kw in ({"batch_size": 8}, {"batch_size": 8, "drop_last": True},
               {"batch_size": 8, "shuffle": True}):
        gen = lambda: ember.Generator().manual_seed(4)  # noqa: E731
        a = batches_np(eud.DataLoader(fast, generator=gen(), **kw))
        b = batches_np(eud.DataLoader(slow, generator=gen(), **kw))
        assert len(a) == len(b)
        for u, v in zip(a, b):
            for p, q in zip(u, v):
                assert p.dtype == q.dtype and p.shape == q.shape
                np.testing.assert_array_equal(p, q)
    # through (nested) Subsets, as random_split produces them
    sub = eud.Subset(eud.Subset(fast, list(range(30, 2, -1))), [0, 5, 5, -1, 2])
    got = next(iter(eud.DataLoader(sub, batch_size=5)))
    want = [x[[30, 25, 25, 3, 28]], y[[30, 25, 25, 3, 28]]]
    assert isinstance(got, list)
    for g_, w_ in zip(got, want):
        np.testing.assert_array_equal(g_.numpy(), w_.numpy())
    with pytest.raises(IndexError):
        next(iter(eud.DataLoader(fast, sampler=[[0, 99]], batch_size=None, collate_fn=None)))
    with pytest.raises(IndexError):
        list(eud.DataLoader(eud.Subset(fast, [1, 2]), batch_sampler=[[0, 2]]))


def test_fast_path_batches_without_per_sample_indexing(monkeypatch):
    """A TensorDataset is batched by one fancy index per tensor, never sample by sample
    (50,000 samples as in seed 004; the speed itself is a benchmark, not a test)."""
    ds = eud.TensorDataset(ember.arange(50000.).reshape(-1, 1), ember.arange(50000))
    calls = []
    orig = eud.TensorDataset.__getitem__
    monkeypatch.setattr(eud.TensorDataset, "__getitem__",
                        lambda self, i: calls.append(i) or orig(self, i))
    batches = list(eud.DataLoader(ds, batch_size=64, shuffle=True))
    assert len(batches) == 782 and not calls
    xs = ember.cat([b[0].reshape(-1) for b in batches])
    assert sorted(int(v) for v in xs.tolist()) == list(range(50000))
    assert all(bool((b[0].reshape(-1) == b[1].float()).all()) for b in batches)


def test_shuffle_reproducible_and_each_epoch_a_permutation():
    ds = eud.TensorDataset(ember.arange(50))

    def epoch_orders(loader, epochs=3):
        return [np.concatenate([b[0].numpy() for b in loader]).tolist() for _ in range(epochs)]

    a = epoch_orders(eud.DataLoader(ds, batch_size=7, shuffle=True,
                                    generator=ember.Generator().manual_seed(123)))
    b = epoch_orders(eud.DataLoader(ds, batch_size=7, shuffle=True,
                                    generator=ember.Generator().manual_seed(123)))
    assert a == b
    for order in a:
        assert sorted(order) == list(range(50))
    assert a[0] != a[1] != a[2] and a[0] != list(range(50))
    ember.manual_seed(9)
    c = epoch_orders(eud.DataLoader(ds, batch_size=7, shuffle=True), 2)
    ember.manual_seed(9)
    assert c == epoch_orders(eud.DataLoader(ds, batch_size=7, shuffle=True), 2)


def test_custom_sampler_batch_sampler_collate_and_no_batching():
    ds = Squares(6)
    out = list(eud.DataLoader(ds, sampler=[5, 0, 3], batch_size=2))
    assert [b[1].tolist() for b in out] == [[2, 0], [0]]
    out = list(eud.DataLoader(ds, batch_sampler=[[1, 2], [4]]))
    assert [b[1].tolist() for b in out] == [[1, 2], [1]]
    out = list(eud.DataLoader(ds, batch_size=3, collate_fn=lambda b: len(b)))
    assert out == [3, 3]
    e = list(eud.DataLoader(ds, batch_size=None))
    t = list(tud.DataLoader(ds, batch_size=None))
    same(e, t)


def test_iterable_dataset_loading():
    e = list(eud.DataLoader(Stream(0, 10), batch_size=4))
    assert [b.tolist() for b in e] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    e = eud.DataLoader(Stream(0, 10), batch_size=4, drop_last=True)
    assert len(e) == 2
    assert [b.tolist() for b in e] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(eud.DataLoader(Stream(0, 10), batch_size=4)) == 3
    assert list(eud.DataLoader(Stream(0, 3), batch_size=None)) == [0, 1, 2]
    with pytest.warns(UserWarning, match="was reported to be 3"):
        class Liar(Stream):
            def __len__(self):
                return 3
        loader = eud.DataLoader(Liar(0, 5), batch_size=None)
        len(loader)
        list(loader)


def _stream(m):
    class S(m.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    return S()


@pytest.mark.parametrize("bad", [
    lambda m, lib: m.DataLoader(range(3), num_workers=-1),
    lambda m, lib: m.DataLoader(range(3), timeout=-1),
    lambda m, lib: m.DataLoader(range(3), prefetch_factor=2),
    lambda m, lib: m.DataLoader(range(3), num_workers=1, prefetch_factor=-1),
    lambda m, lib: m.DataLoader(range(3), persistent_workers=True),
    lambda m, lib: m.DataLoader(range(3), sampler=[0], shuffle=True),
    lambda m, lib: m.DataLoader(range(3), batch_sampler=[[0]], batch_size=2),
    lambda m, lib: m.DataLoader(range(3), batch_sampler=[[0]], drop_last=True),
    lambda m, lib: m.DataLoader(range(3), batch_size=None, drop_last=True),
    lambda m, lib: m.DataLoader(_stream(m), shuffle=True),
    lambda m, lib: m.DataLoader(_stream(m), sampler=[0]),
    lambda m, lib: m.DataLoader(_stream(m), batch_sampler=[[0]]),
    lambda m, lib: len(m.DataLoader(_stream(m))),
    lambda m, lib: m.DataLoader(range(3), multiprocessing_context="fork"),
    lambda m, lib: m.DataLoader(range(3), num_workers=1, multiprocessing_context="nope"),
    lambda m, lib: setattr(m.DataLoader(range(3)), "batch_size", 4),
    lambda m, lib: iter(m.DataLoader(range(3), timeout=1)),
])
def test_loader_misuse_matches_torch(bad):
    raises_alike(bad, match_message=False)


def test_loader_misuse_messages():
    e = raises_alike(lambda m, lib: m.DataLoader(range(3), sampler=[0], shuffle=True))
    assert "mutually exclusive" in str(e)
    raises_alike(lambda m, lib: m.DataLoader(range(3), num_workers=-1))
    raises_alike(lambda m, lib: setattr(m.DataLoader(range(3)), "sampler", None))


def test_pin_memory_accepted():
    with pytest.warns(UserWarning, match="pin_memory"):
        out = list(eud.DataLoader(range(4), batch_size=2, pin_memory=True))
    assert [b.tolist() for b in out] == [[0, 1], [2, 3]]


# ---- DataLoader: worker processes ----------------------------------------------------------
def test_workers_give_the_same_batches_as_main_process():
    rng = np.random.default_rng(1)
    x = ember.from_numpy(rng.standard_normal((101, 5)).astype(np.float32))
    y = ember.from_numpy(rng.integers(0, 9, 101))
    with deadline(60):
        for ds in (eud.TensorDataset(x, y), Squares(45)):
            for kw in ({"batch_size": 8, "shuffle": True}, {"batch_size": 8, "drop_last": True},
                       {"batch_size": 3, "prefetch_factor": 1}):
                base = dict(kw)
                base.pop("prefetch_factor", None)
                ref = batches_np(eud.DataLoader(ds, generator=ember.Generator().manual_seed(7),
                                                **base))
                got = batches_np(eud.DataLoader(ds, num_workers=2,
                                                generator=ember.Generator().manual_seed(7), **kw))
                assert len(ref) == len(got)
                for u, v in zip(ref, got):
                    for p, q in zip(u, v):
                        assert p.dtype == q.dtype
                        np.testing.assert_array_equal(p, q)


def test_worker_info_seeds_and_init_fn():
    assert eud.get_worker_info() is None
    seen = []

    def init(worker_id):
        info = eud.get_worker_info()
        assert info.id == worker_id and info.num_workers == 2
        assert isinstance(info.dataset, WhoAmI)

    with deadline(60):
        loader = eud.DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=init,
                                generator=ember.Generator().manual_seed(0))
        for idx, wid, nw, pid, r in loader:
            seen += list(zip(idx.tolist(), wid.tolist(), nw.tolist(), pid.tolist(), r.tolist()))
    assert [s[0] for s in seen] == list(range(12))
    assert [s[1] for s in seen] == [0, 0, 1, 1] * 3  # batch k goes to worker k % 2
    assert {s[2] for s in seen} == {2}
    assert os.getpid() not in {s[3] for s in seen} and len({s[3] for s in seen}) == 2
    assert len({s[4] for s in seen}) == 12  # workers are seeded differently
    with deadline(60):
        again = [r for b in eud.DataLoader(WhoAmI(), batch_size=2, num_workers=2,
                                           generator=ember.Generator().manual_seed(0))
                 for r in b[4].tolist()]
    assert again == [s[4] for s in seen]  # ... and reproducibly


def test_worker_exception_is_reraised_with_traceback():
    with deadline(60):
        loader = eud.DataLoader(Failing(), batch_size=4, num_workers=2)
        got = []
        with pytest.raises(ValueError) as info:
            for b in loader:
                got.append(b.tolist())
    msg = str(info.value)
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]  # nothing lost before the error
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "Traceback (most recent call last)" in msg and "sample 13 is corrupt" in msg
    assert "__getitem__" in msg
    with deadline(60):
        with pytest.raises(KeyError, match="sample 2 is corrupt"):
            list(eud.DataLoader(Failing(2, KeyError), batch_size=4, num_workers=2))


def test_worker_init_error_and_unpicklable_batch_are_reported():
    def bad_init(worker_id):
        raise RuntimeError(f"init failed in {worker_id}")

    with deadline(60):
        with pytest.raises(RuntimeError, match="init failed in 0"):
            list(eud.DataLoader(range(8), batch_size=2, num_workers=2, worker_init_fn=bad_init))
        with pytest.raises(Exception, match="while pickling a batch"):
            list(eud.DataLoader(range(8), batch_size=2, num_workers=2,
                                collate_fn=lambda b: (lambda: b)))


def test_dead_worker_and_timeout_raise_instead_of_hanging():
    with deadline(60):
        with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) .*exited "
                                               r"unexpectedly"):
            list(eud.DataLoader(Dying(), batch_size=2, num_workers=2))
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
            list(eud.DataLoader(Sleepy(), batch_size=2, num_workers=2, timeout=0.5))
        assert time.monotonic() - t0 < 4


def test_iterable_dataset_with_workers():
    with deadline(60):
        out = [b.tolist() for b in eud.DataLoader(Stream(0, 11), batch_size=2, num_workers=2)]
    flat = sorted(v for b in out for v in b)
    assert flat == list(range(11))
    assert out[0] == [0, 2] and out[1] == [1, 3]  # worker 0 then worker 1


def test_persistent_workers_reuse_processes_and_restart_cleanly():
    ds = WhoAmI()
    with deadline(60):
        loader = eud.DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True)
        first = [b for b in loader]
        it = iter(loader)
        next(it)  # abandon this epoch early
        second = [b for b in loader]
    assert [b[0].tolist() for b in first] == [b[0].tolist() for b in second] == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert {p for b in first for p in b[3].tolist()} == {p for b in second for p in b[3].tolist()}
    loader._iterator._shutdown_workers()


def test_out_of_order_delivery_keeps_every_batch():
    with deadline(60):
        out = [b.tolist() for b in eud.DataLoader(range(20), batch_size=3, num_workers=2,
                                                  in_order=False)]
    assert sorted(v for b in out for v in b) == list(range(20))


def test_abandoned_iterators_stop_their_workers_promptly():
    with deadline(60):
        it = iter(eud.DataLoader(range(20), batch_size=2, num_workers=2))
        next(it)
        workers = list(it._workers)
        cycle = [it]
        cycle.append(cycle)  # only the cyclic garbage collector can free it
        del it, cycle
        gc.collect()
        # the workers were asked to stop and exited cleanly (exit code 0), rather than being
        # terminated (-SIGTERM) after the grace period because the stop message was lost
        assert not any(w.is_alive() for w in workers)
        assert [w.exitcode for w in workers] == [0, 0]


def test_spawn_context_workers():
    ds = eud.TensorDataset(ember.arange(20.0).reshape(10, 2), ember.arange(10))
    with deadline(60):
        got = batches_np(eud.DataLoader(ds, batch_size=3, num_workers=2,
                                        multiprocessing_context="spawn"))
    want = batches_np(eud.DataLoader(ds, batch_size=3))
    assert len(got) == len(want) == 4
    for u, v in zip(got, want):
        for p, q in zip(u, v):
            np.testing.assert_array_equal(p, q)
