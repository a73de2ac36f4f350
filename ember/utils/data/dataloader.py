"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Behaves as ``torch.utils.data.DataLoader`` (same arguments, defaults, validation messages,
``len()`` rules and batch order). With ``num_workers > 0`` real processes (``multiprocessing``)
fetch batches: each worker gets whole batches of indices, in round-robin order, and the main
process hands batches out in sampler order, so the batches are exactly those of
``num_workers=0``. An exception in a worker is re-raised in the main process as the same
exception class, with the worker's traceback in its message; a worker that dies raises
``RuntimeError`` within about half a second, and ``timeout`` bounds the wait for any batch.

Differences from torch: ``pin_memory=True`` only warns (there is no accelerator to pin for);
batches travel between processes pickled (torch uses shared memory), which is fine for the
small images ember trains on. A plain ``TensorDataset`` (or a ``Subset`` of one) with the
default ``collate_fn`` is batched by indexing each tensor once per batch: the same batches,
without a Python loop over samples.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import time
import warnings
import weakref
from typing import Any, Callable, Generic, Iterable, TypeVar

from . import _worker
from ._collate import default_collate, default_convert
from ._worker import (ExceptionWrapper, STATUS_CHECK_INTERVAL, _IterableDatasetStopIteration,
                      _ResumeIteration, create_fetcher, get_worker_info)
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]

T_co = TypeVar("T_co", covariant=True)


class _InfiniteConstantSampler(Sampler):
    """The "sampler" of an IterableDataset: ``None`` forever (the dataset decides the end)."""

    def __iter__(self):
        while True:
            yield None


def _draw_seed(generator) -> int:
    from ..._backend import int64
    from ..._ops.creation import empty
    return int(empty((), dtype=int64).random_(generator=generator).item())


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches.

    Args mirror torch: ``batch_size`` (``None`` disables batching), ``shuffle``, ``sampler``,
    ``batch_sampler``, ``num_workers``, ``collate_fn``, ``pin_memory`` (accepted; a no-op on
    CPU), ``drop_last``, ``timeout`` (seconds to wait for a batch from the workers, 0 = no
    limit), ``worker_init_fn(worker_id)``, ``multiprocessing_context``, ``generator``
    (``ember.Generator`` for shuffling and worker seeds), ``prefetch_factor`` (batches in
    flight per worker, default 2), ``persistent_workers``, ``pin_memory_device``,
    ``in_order``.
    """

    _initialized = False

    def __init__(self, dataset: Dataset[T_co], batch_size: "int | None" = 1,
                 shuffle: "bool | None" = None, sampler: "Sampler | Iterable | None" = None,
                 batch_sampler: "Sampler | Iterable | None" = None, num_workers: int = 0,
                 collate_fn: "Callable | None" = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: "Callable[[int], None] | None" = None,
                 multiprocessing_context=None, generator=None, *,
                 prefetch_factor: "int | None" = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in (False, None):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None
        self.check_worker_number_rationality()

    # ---- attributes ----------------------------------------------------------------------
    @property
    def multiprocessing_context(self):
        return self._mp_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx) -> None:
        if ctx is not None:
            if self.num_workers <= 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 "loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(ctx, str):
                methods = multiprocessing.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError("multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={ctx!r}")
                ctx = multiprocessing.get_context(ctx)
            if not isinstance(ctx, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context "
                                "object or a string specifying the start method, but got "
                                f"multiprocessing_context={ctx}")
        object.__setattr__(self, "_mp_context", ctx)

    def __setattr__(self, attr, val) -> None:
        if self._initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                          "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    # ---- iteration -----------------------------------------------------------------------
    def _get_iterator(self) -> "_BaseDataLoaderIter":
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self) -> "_BaseDataLoaderIter":
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._is_iterable:
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else \
                    -(-length // self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self) -> None:
        if not self.num_workers:
            return
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()
        if cpus is None or self.num_workers > cpus:
            suggestion = (f"Our suggested max number of worker in current system is {cpus}, "
                          "which is smaller than what this DataLoader is going to create."
                          if cpus is not None else
                          "DataLoader is not able to compute a suggested max number of worker "
                          "in current system.")
            warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in "
                          f"total. {suggestion} Please be aware that excessive worker creation "
                          "might get DataLoader running slow or even freeze, lower the worker "
                          "number to avoid potential slowness/freeze if necessary.",
                          stacklevel=2)


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        # Drawn even without workers, as torch does, so the global RNG advances the same way.
        self._base_seed = _draw_seed(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self) -> "_BaseDataLoaderIter":
        return self

    def _reset(self, loader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self) -> Any:
        data = self._next_data()
        self._num_yielded += 1
        if self._is_iterable and self._IterableDataset_len_called is not None and \
                self._num_yielded > self._IterableDataset_len_called:
            msg = (f"Length of IterableDataset {self._dataset} was reported to be "
                   f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                   f"{self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly "
                        "configuring the IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data."
                        "IterableDataset for examples.")
            warnings.warn(msg, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader) -> None:
        super().__init__(loader)
        if self._timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0 (timeout "
                                 "only applies to num_workers > 0)")
        self._fetcher = create_fetcher(self._is_iterable, self._dataset, self._auto_collation,
                                       self._collate_fn, self._drop_last)

    def _next_data(self):
        index = self._next_index()
        return self._fetcher.fetch(index)


def _stop_workers(owner_pid: int, workers: list, senders: list, done_event,
                  result_queue) -> None:
    """Stop the worker processes of one iterator: ask each to exit, give them half a second,
    then terminate the stragglers.

    Runs from a ``weakref.finalize`` that owns these objects, so it also works when the
    iterator dies in a reference cycle (the pipes and processes are still intact then) and at
    interpreter exit, before ``multiprocessing`` reaps its children. A forked child that
    inherited the iterator does nothing.
    """
    if os.getpid() != owner_pid:
        return
    done_event.set()
    for conn in senders:
        try:
            conn.send(None)
        except (OSError, ValueError):  # that worker has already exited
            pass
    deadline = time.monotonic() + STATUS_CHECK_INTERVAL
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    for w in workers:
        if w.is_alive():
            w.terminate()
    for w in workers:
        w.join(timeout=STATUS_CHECK_INTERVAL)
    for conn in senders:
        conn.close()
    result_queue.cancel_join_thread()
    result_queue.close()


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Index-based dispatch to worker processes with in-order reassembly.

    Task ``k`` (the k-th batch of indices) goes to worker ``k % num_workers`` (skipping
    finished workers); at most ``prefetch_factor * num_workers`` tasks are in flight. Results
    come back in any order on one queue; those that arrive early wait in ``_task_info`` until
    their turn. While waiting, the main process checks every half second that the workers are
    alive.
    """

    def __init__(self, loader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        if self._prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for "
                                 "MultiProcessingDataLoaderIter")
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._owner_pid = os.getpid()  # a forked child inheriting this object must not touch it
        self._shutdown = False
        self._worker_result_queue = ctx.Queue()
        self._data_queue = self._worker_result_queue
        self._workers_done_event = ctx.Event()
        self._index_senders = []  # write ends of one pipe per worker
        self._workers = []
        try:
            for i in range(self._num_workers):
                reader, sender = ctx.Pipe(duplex=False)
                w = ctx.Process(
                    target=_worker.worker_loop, daemon=True,
                    args=(self._is_iterable, self._dataset, reader, self._worker_result_queue,
                          self._workers_done_event, self._auto_collation, self._collate_fn,
                          self._drop_last, self._base_seed, loader.worker_init_fn, i,
                          self._num_workers))
                self._index_senders.append(sender)
                w.start()
                reader.close()
                self._workers.append(w)
        except BaseException:
            _stop_workers(self._owner_pid, self._workers, self._index_senders,
                          self._workers_done_event, self._worker_result_queue)
            raise
        self._stopper = weakref.finalize(self, _stop_workers, self._owner_pid, self._workers,
                                         self._index_senders, self._workers_done_event,
                                         self._worker_result_queue)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0          # next task to send
        self._rcvd_idx = 0          # next task to hand out
        self._task_info = {}        # task -> (worker_id,) or (worker_id, data)
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._workers_num_tasks = [0] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers: restart each worker's dataset; results of an unfinished
            # previous epoch arrive before the acknowledgements and are dropped.
            for wid in range(self._num_workers):
                self._send(wid, _ResumeIteration())
            pending = self._num_workers
            while pending > 0:
                idx, _ = self._get_data()
                if isinstance(idx, _ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    # ---- receiving -----------------------------------------------------------------------
    def _check_workers_alive(self, cause=None) -> None:
        failed = [(wid, w) for wid, w in enumerate(self._workers)
                  if self._workers_status[wid] and not w.is_alive()]
        if failed:
            for wid, _ in failed:
                self._mark_worker_as_unavailable(wid)
            desc = ", ".join(f"{w.pid} (exit code {w.exitcode})" for _, w in failed)
            raise RuntimeError(f"DataLoader worker (pid(s) {desc}) exited unexpectedly") \
                from cause

    def _try_get_data(self, timeout: float):
        try:
            raw = self._data_queue.get(timeout=timeout)
        except queue.Empty:
            self._check_workers_alive()
            return False, None
        except Exception as e:
            self._check_workers_alive(e)
            raise
        return True, pickle.loads(raw)

    def _get_data(self):
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            ok, data = self._try_get_data(wait)
            if ok:
                return data
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _next_data(self):
        while True:
            # Skip tasks that will never produce data (their worker has finished).
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2:
                del self._task_info[self._rcvd_idx]
                self._rcvd_idx += 1
                return self._process_data(info[1], info[0])
            if self._shutdown or self._tasks_outstanding <= 0:
                raise AssertionError("Invalid iterator state: shutdown or no outstanding tasks "
                                     "when fetching next data")
            idx, data = self._get_data()
            self._tasks_outstanding -= 1
            if self._is_iterable and isinstance(data, _IterableDatasetStopIteration):
                if self._persistent_workers:
                    self._workers_status[data.worker_id] = False
                else:
                    self._mark_worker_as_unavailable(data.worker_id)
                self._try_put_index()
                continue
            if idx == self._rcvd_idx or not self._in_order:
                worker_id = self._task_info.pop(idx)[0]
                if idx == self._rcvd_idx:
                    self._rcvd_idx += 1
                return self._process_data(data, worker_id)
            self._task_info[idx] += (data,)

    def _process_data(self, data, worker_id: int):
        self._workers_num_tasks[worker_id] -= 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    # ---- sending -------------------------------------------------------------------------
    def _send(self, wid: int, message) -> None:
        try:
            self._index_senders[wid].send(message)
        except OSError as e:  # the read end is closed: that worker has exited
            self._workers[wid].join(timeout=STATUS_CHECK_INTERVAL)
            self._check_workers_alive(e)
            raise RuntimeError(f"DataLoader worker {wid} (pid {self._workers[wid].pid}) "
                               "stopped accepting work") from e

    def _try_put_index(self) -> None:
        max_tasks = self._prefetch_factor * self._num_workers
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = next(self._worker_queue_idx_cycle)
            if self._workers_status[wid] and (
                    self._in_order or
                    self._workers_num_tasks[wid] < max_tasks // sum(self._workers_status)):
                break
        else:
            return
        self._send(wid, (self._send_idx, index))
        self._task_info[self._send_idx] = (wid,)
        self._workers_num_tasks[wid] += 1
        self._tasks_outstanding += 1
        self._send_idx += 1

    # ---- shutdown ------------------------------------------------------------------------
    def _mark_worker_as_unavailable(self, worker_id: int) -> None:
        self._workers_status[worker_id] = False
        try:
            self._index_senders[worker_id].send(None)
        except OSError:  # the worker is gone and its pipe with it
            pass

    def _shutdown_workers(self) -> None:
        self._shutdown = True
        self._stopper()  # runs once; later calls (and garbage collection) do nothing
