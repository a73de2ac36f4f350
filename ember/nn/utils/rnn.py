"""Packing and padding of variable-length sequences (``torch.nn.utils.rnn``).

A :class:`PackedSequence` stores the time steps of a batch of sorted sequences one after
another: ``data`` is ``(sum(lengths), *)`` and ``batch_sizes[t]`` says how many sequences
are still running at step ``t``. The recurrent layers (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``)
accept it directly and skip the padding.

Every function here is differentiable with respect to the sequence data: packing and
padding are row gathers (``index_select``) on the data.

Differs from torch: with ``enforce_sorted=False``, sequences of equal length keep their
input order (a stable sort); torch's unstable sort may order ties differently, which
changes the row order of ``data`` but nothing after ``pad_packed_sequence``.
``unpad_sequence`` does not transpose its argument in place (torch's does, as a side
effect, when ``batch_first=False``).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..._tensor import Tensor
from ..._backend import dtypes as _dt
from ..._ops.creation import tensor as _tensor, full as _full
from ..._ops.indexing import index_select as _index_select
from ..._ops.shape import cat as _cat

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]


def _long(values) -> Tensor:
    return _tensor(list(values), dtype=_dt.int64)


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(PackedSequence_):
    """Holds the packed ``data`` and ``batch_sizes`` of a batch of sequences (plus the
    permutation that sorted them by length). Build one with :func:`pack_padded_sequence`
    or :func:`pack_sequence`, not by hand."""

    def __new__(cls, data, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> "PackedSequence":
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data: Tensor) -> "PackedSequence":
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """Convert ``data`` (dtype/device) as ``Tensor.to``; the indices stay int64."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cpu(self, *args, **kwargs) -> "PackedSequence":
        return self._with_data(self.data.cpu())

    def cuda(self, *args, **kwargs) -> "PackedSequence":
        return self._with_data(self.data.cuda(*args, **kwargs))

    def pin_memory(self) -> "PackedSequence":
        return self

    def double(self) -> "PackedSequence":
        return self.to(dtype=_dt.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=_dt.float32)

    def half(self) -> "PackedSequence":
        return self.to(dtype=_dt.float16)

    def long(self) -> "PackedSequence":
        return self.to(dtype=_dt.int64)

    def int(self) -> "PackedSequence":
        return self.to(dtype=_dt.int32)

    def short(self) -> "PackedSequence":
        return self.to(dtype=_dt.int16)

    def char(self) -> "PackedSequence":
        return self.to(dtype=_dt.int8)

    def byte(self) -> "PackedSequence":
        return self.to(dtype=_dt.uint8)

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation given as a 1-D int64 tensor (None stays None)."""
    if permutation is None:
        return None
    perm = [int(i) for i in permutation.tolist()]
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return _long(inv)


def _lengths_list(lengths) -> list:
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex:
            return [int(v) for v in lengths.tolist()]
        return [int(v) for v in lengths.reshape(-1).tolist()]
    return [int(v) for v in lengths]


def _batch_sizes(sorted_lengths: list) -> list:
    """Per time step, how many of the (decreasing) lengths are still running."""
    sizes, b = [], len(sorted_lengths)
    for t in range(sorted_lengths[0]):
        while sorted_lengths[b - 1] <= t:
            b -= 1
        sizes.append(b)
    return sizes


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` if ``batch_first``) of sequences
    with the given ``lengths``. Unless ``enforce_sorted=False``, lengths must be
    decreasing."""
    lens = _lengths_list(lengths)
    batch_dim = 0 if batch_first else 1
    sorted_indices = None
    if not enforce_sorted:
        order = sorted(range(len(lens)), key=lambda i: -lens[i])   # stable
        sorted_indices = _long(order)
        lens = [lens[i] for i in order]
        input = _index_select(input, batch_dim, sorted_indices)
    elif any(a < b for a, b in zip(lens, lens[1:])):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
            "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
            "pack_sequence to sidestep this requirement if you do not need ONNX "
            "exportability.")
    if input.dim() < 2:
        raise RuntimeError(f"pack_padded_sequence(): expected a padded input with at least "
                           f"2 dimensions (time and batch), got {input.dim()}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0],
                                                                  input.shape[1])
    if len(lens) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={B})")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if lens and lens[0] > T:
        raise RuntimeError(f"pack_padded_sequence(): a length ({lens[0]}) exceeds the padded "
                           f"sequence length {T}")
    sizes = _batch_sizes(lens)
    if batch_first:
        rows = [b * T + t for t, n in enumerate(sizes) for b in range(n)]
    else:
        rows = [t * B + b for t, n in enumerate(sizes) for b in range(n)]
    flat = input.reshape((T * B,) + tuple(input.shape[2:]))
    data = _index_select(flat, 0, _long(rows))
    return PackedSequence(data, _long(sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`pack_padded_sequence`: returns the padded batch (in the original
    order of the sequences) and their lengths (int64)."""
    data = sequence.data
    sizes = [int(v) for v in sequence.batch_sizes.tolist()]
    T = len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
        T = total_length
    B = sizes[0]
    N = data.shape[0]
    offsets, o = [], 0
    for n in sizes:
        offsets.append(o)
        o += n
    lengths_sorted = [sum(1 for n in sizes if n > b) for b in range(B)]
    unsorted = sequence.unsorted_indices
    col = list(range(B)) if unsorted is None else [int(i) for i in unsorted.tolist()]
    src = []
    for t in range(T):
        base = offsets[t] if t < len(sizes) else 0
        n = sizes[t] if t < len(sizes) else 0
        src.extend(base + b if b < n else N for b in col)
    if batch_first:
        src = [src[t * B + j] for j in range(B) for t in range(T)]
    pad_row = _full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype)
    padded = _index_select(_cat([data, pad_row], 0), 0, _long(src))
    shape = (B, T) if batch_first else (T, B)
    padded = padded.reshape(shape + tuple(data.shape[1:]))
    return padded, _long(lengths_sorted[b] for b in col)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack variable-length sequences ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` if
    ``batch_first``), padding with ``padding_value`` on the ``padding_side``."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    first = sequences[0]
    rest = tuple(first.shape[1:])
    for s in sequences[1:]:
        if tuple(s.shape[1:]) != rest:
            d = next((i for i, (a, b) in enumerate(zip(s.shape[1:], rest)) if a != b), 0)
            if s.dim() != first.dim():
                raise RuntimeError(f"pad_sequence: all sequences must have the same number of "
                                   f"dimensions, got {first.dim()} and {s.dim()}")
            raise RuntimeError(f"The size of tensor a ({rest[d]}) must match the size of "
                               f"tensor b ({s.shape[1 + d]}) at non-singleton dimension {1 + d}")
    lens = [s.shape[0] for s in sequences]
    T, B = max(lens), len(sequences)
    starts, o = [], 0
    for n in lens:
        starts.append(o)
        o += n
    pad = o
    src = []
    for t in range(T):
        for b in range(B):
            k = t if padding_side == "right" else t - (T - lens[b])
            src.append(starts[b] + k if 0 <= k < lens[b] else pad)
    if batch_first:
        src = [src[t * B + b] for b in range(B) for t in range(T)]
    pieces = [s if s.dtype is first.dtype else s.to(first.dtype) for s in sequences]
    pieces.append(_full((1,) + rest, padding_value, dtype=first.dtype))
    out = _index_select(_cat(pieces, 0), 0, _long(src))
    return out.reshape(((B, T) if batch_first else (T, B)) + rest)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False
                   ) -> list[Tensor]:
    """Split a padded batch back into a list of its sequences (``lengths`` as a tensor or
    list)."""
    lens = _lengths_list(lengths)
    seqs = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [seqs[b, :n] for b, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences ``(L_i, *)`` (decreasing lengths unless
    ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Inverse of :func:`pack_sequence`: the list of sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
