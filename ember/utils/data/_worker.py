"""What turns indices into batches, in the main process (``num_workers=0``) and in worker
processes: the fetchers, the worker loop, ``get_worker_info`` and the exception wrapper that
carries a worker's traceback back to the main process.

Results leave a worker already pickled: a batch that cannot be pickled becomes an error
for that batch in the main process, never a silently dropped message (which is what a
``multiprocessing.Queue`` does with an unpicklable object, leaving the reader waiting forever).
"""
from __future__ import annotations

import os
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..._backend import xp
from ..._tensor import Tensor
from ...autograd.grad_mode import STATE

__all__ = ["WorkerInfo", "get_worker_info"]

# How often (seconds) a waiting worker checks its parent, and the main process its workers.
STATUS_CHECK_INTERVAL = 0.5


@dataclass(frozen=True)
class WorkerInfo:
    """Describes the current worker: ``id`` (0 .. num_workers-1), ``num_workers``, ``seed``
    (the seed of ember's global generator in this worker) and ``dataset`` (this worker's own
    copy of the dataset)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: "WorkerInfo | None" = None


def get_worker_info() -> "WorkerInfo | None":
    """In a ``DataLoader`` worker process, its ``WorkerInfo``; in the main process, ``None``."""
    return _worker_info


class KeyErrorMessage(str):
    """A str whose repr is itself, so a re-raised KeyError shows a readable traceback."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception captured with its formatted traceback, to re-raise in another process."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            # The exception type cannot be built from one message: keep the text anyway.
            raise RuntimeError(msg) from None
        raise exc


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """Sent by a worker whose copy of an IterableDataset is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch (and echoed back)."""


# ---- fetchers ------------------------------------------------------------------------------
class _IterableDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last) -> None:
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


def _tensor_source(dataset):
    """``(tensors, index_map)`` when batches of ``dataset`` can be cut by indexing the
    tensors of a plain TensorDataset directly (possibly through plain Subsets, whose indices
    are composed into ``index_map``); otherwise ``None``."""
    from .dataset import Subset, TensorDataset
    maps = []
    while type(dataset) is Subset or (isinstance(dataset, Subset)
                                      and type(dataset).__getitems__ is Subset.__getitems__
                                      and type(dataset).__getitem__ is Subset.__getitem__):
        idx = dataset.indices
        if not (isinstance(idx, range) or (isinstance(idx, list)
                                           and all(type(i) is int for i in idx))):
            return None
        maps.append(xp.asarray(idx, dtype=xp.int64))
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset) or hasattr(dataset, "__getitems__") or \
            type(dataset).__getitem__ is not TensorDataset.__getitem__:
        return None
    if not all(isinstance(t, Tensor) and t.ndim >= 1 for t in dataset.tensors):
        return None
    index_map = None
    for m in reversed(maps):  # innermost subset first
        index_map = m if index_map is None else index_map[m]
    return dataset.tensors, index_map


class _MapDatasetFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last) -> None:
        from ._collate import default_collate
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.fast = None
        if auto_collation and collate_fn is default_collate:
            self.fast = _tensor_source(dataset)

    def _fast_fetch(self, indices):
        """One fancy-index per tensor: equal to stacking ``dataset[i]`` for each index."""
        tensors, index_map = self.fast
        if not indices or STATE.enabled and any(t._requires_grad for t in tensors):
            return None
        if type(indices) is not list or not all(type(i) is int for i in indices):
            return None
        idx = xp.asarray(indices, dtype=xp.int64)
        if index_map is not None:
            # Subset.indices is a list: out-of-range raises IndexError as list indexing does.
            if idx.max() >= len(index_map) or idx.min() < -len(index_map):
                raise IndexError("list index out of range")
            idx = index_map[idx]
        it = Tensor._wrap(idx)
        return [t[it] for t in tensors]

    def fetch(self, possibly_batched_index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[possibly_batched_index])
        if self.fast is not None:
            batch = self._fast_fetch(possibly_batched_index)
            if batch is not None:
                return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems:
            data = getitems(possibly_batched_index)
        else:
            data = [self.dataset[i] for i in possibly_batched_index]
        return self.collate_fn(data)


def create_fetcher(is_iterable: bool, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableDatasetFetcher if is_iterable else _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# ---- the worker process ------------------------------------------------------------------
def _seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed Python's ``random``, ember's global generator and NumPy's legacy global RNG the
    way torch seeds its workers (NumPy's state is torch's: SeedSequence of the same entropy)."""
    import numpy as np
    from ..._ops.random import manual_seed
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    ss = np.random.SeedSequence([worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0])
    np.random.seed(ss.generate_state(4))
    return seed


def _dumps(idx, data, worker_id: int) -> bytes:
    try:
        return bytes(ForkingPickler.dumps((idx, data)))
    except Exception:
        err = ExceptionWrapper(where=f"in DataLoader worker process {worker_id} while pickling "
                                     "a batch to send it to the main process (make what the "
                                     "dataset and collate_fn return picklable)")
        return bytes(ForkingPickler.dumps((idx, err)))


def worker_loop(is_iterable, dataset, index_conn, data_queue, done_event, auto_collation,
                collate_fn, drop_last, base_seed, init_fn, worker_id, num_workers) -> None:
    """Body of a worker process: receive ``(task_idx, indices)`` on ``index_conn`` (the read
    end of a pipe), put pickled ``(task_idx, batch or ExceptionWrapper)`` on ``data_queue``;
    ``None`` stops it, ``_ResumeIteration`` restarts the dataset for a new epoch (persistent
    workers).

    Indices come through a plain pipe rather than a ``multiprocessing.Queue``: a queue's
    background feeder thread is shut down by its finalizer when the loader iterator is
    garbage-collected in a reference cycle, which would swallow the stop message sent from
    the iterator's ``__del__``; a pipe write is synchronous."""
    global _worker_info
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn,
                                     drop_last)
        except Exception:
            init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:
            try:
                if not index_conn.poll(STATUS_CHECK_INTERVAL):
                    continue
                r = index_conn.recv()
            except EOFError:
                break
            if isinstance(r, _ResumeIteration):
                iteration_end = False
                try:
                    fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn,
                                             drop_last)
                except Exception:
                    init_error = ExceptionWrapper(
                        where=f"in DataLoader worker process {worker_id}")
                data_queue.put(_dumps(r, None, worker_id))
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index = r
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not is_iterable:
                        data = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            data_queue.put(_dumps(idx, data, worker_id))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
