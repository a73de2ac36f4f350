"""The CPU random engine: torch's ``at::mt19937`` (the state behind ``torch.Generator``).

torch's CPU generator is a 32-bit Mersenne Twister (MT19937) seeded with the classic
``init_genrand`` recurrence from the low 32 bits of the 64-bit seed. Its outputs are the
standard MT19937 stream, so NumPy's ``MT19937`` bit generator (same recurrence and tempering)
produces them in bulk in C; this module only translates between the two state
representations:

* torch keeps ``(state[624], left, next)``: each draw does ``if --left == 0: twist`` and
  returns ``temper(state[next++])``. After a twist ``left + next == 625``; right after
  seeding ``left == 1, next == 0`` (a twist is pending).
* NumPy keeps ``(key[624], pos)`` and twists when ``pos == 624``.

A consistent torch state maps to ``pos = next`` (or ``pos = 624`` when ``left == 1``). States
edited by hand with ``left + next != 625`` are honoured as torch honours them: the
``left - 1`` words ``state[next:]`` are emitted (tempered) before the twist.

``random64`` is torch's ``random64()``: two 32-bit draws, the first in the high half.

``get_state``/``set_state`` use torch's 5056-byte ``CPUGeneratorImplState`` layout (little
endian, zero padding), so ``torch.get_rng_state()`` bytes load here and ours load in torch.
The cached second Box-Muller sample (``next_double_normal_sample``) and the float one are part
of that state, as in torch.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MT19937", "DEFAULT_SEED", "STATE_SIZE"]

DEFAULT_SEED = 67280421310721          # at::default_rng_seed_val
_N = 624
_U32 = np.uint32

# torch's CPUGeneratorImplState (CPUGeneratorImplStateLegacy + float normal cache).
_STATE_DTYPE = np.dtype([
    ("the_initial_seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"),
    ("state", "<u8", (_N,)),
    ("normal_x", "<f8"), ("normal_y", "<f8"), ("normal_rho", "<f8"),
    ("normal_is_valid", "<i4"), ("_pad0", "V4"),
    ("next_float_normal_sample", "<f4"), ("is_next_float_normal_sample_valid", "u1"),
    ("_pad1", "V3"),
])
STATE_SIZE = _STATE_DTYPE.itemsize
assert STATE_SIZE == 5056


def _init_genrand(seed: int) -> np.ndarray:
    """MT19937's ``init_genrand``: the 624-word state for a 32-bit seed (a serial recurrence,
    624 steps, run once per ``manual_seed``)."""
    key = [seed & 0xFFFFFFFF]
    prev = key[0]
    for i in range(1, _N):
        prev = (1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF
        key.append(prev)
    return np.array(key, dtype=_U32)


def _temper(y: np.ndarray) -> np.ndarray:
    y = y ^ (y >> _U32(11))
    y ^= (y << _U32(7)) & _U32(0x9D2C5680)
    y ^= (y << _U32(15)) & _U32(0xEFC60000)
    return y ^ (y >> _U32(18))


class MT19937:
    """torch's CPU Mersenne Twister: seeding, bulk 32/64-bit draws, torch's state bytes."""

    __slots__ = ("_bg", "_seed", "_next_at_twist", "_pending", "_pending_next",
                 "next_double_normal", "next_float_normal")

    def __init__(self, seed: int = DEFAULT_SEED):
        self._bg = np.random.MT19937(0)
        self.seed(seed)

    # ---- seeding -------------------------------------------------------------------------
    def seed(self, seed: int) -> None:
        """``mt19937(seed)``: ``seed`` is an unsigned 64-bit integer (only its low 32 bits
        enter the state; all 64 are remembered as the initial seed). Clears the cached
        normal samples, like ``CPUGeneratorImpl::set_current_seed``."""
        self._seed = int(seed)
        self._set_key(_init_genrand(self._seed), 624)
        self._next_at_twist = 0          # torch reports next=0 right after seeding
        self._pending = None
        self._pending_next = 0
        self.next_double_normal = None
        self.next_float_normal = None

    @property
    def initial_seed(self) -> int:
        return self._seed

    def _set_key(self, key: np.ndarray, pos: int) -> None:
        self._bg.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": pos}}

    # ---- draws ---------------------------------------------------------------------------
    def random(self, n: int) -> np.ndarray:
        """``n`` successive ``random()`` draws (uint32), as torch would produce them."""
        n = int(n)
        if n <= 0:
            return np.empty(0, dtype=_U32)
        head = None
        if self._pending is not None:
            head, self._pending = self._pending[:n], self._pending[n:]
            self._pending_next += head.size
            if self._pending.size == 0:
                self._pending = None
                self._next_at_twist = self._pending_next
            n -= head.size
            if n == 0:
                return head
        out = self._bg.random_raw(n).astype(_U32)
        self._next_at_twist = _N
        return out if head is None else np.concatenate([head, out])

    def random64(self, n: int) -> np.ndarray:
        """``n`` successive ``random64()`` draws (uint64): two 32-bit words each, the first
        word in the high half."""
        r = self.random(2 * int(n)).astype(np.uint64)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    # ---- state ---------------------------------------------------------------------------
    def _torch_fields(self):
        st = self._bg.state["state"]
        key, pos = st["key"], int(st["pos"])
        if self._pending is not None:
            return key, self._pending.size + 1, self._pending_next
        if pos == _N:
            return key, 1, self._next_at_twist
        return key, _N + 1 - pos, pos

    def get_state(self) -> bytes:
        """torch's ``CPUGeneratorImplState`` bytes (5056)."""
        rec = np.zeros(1, dtype=_STATE_DTYPE)
        key, left, nxt = self._torch_fields()
        rec["the_initial_seed"] = self._seed
        rec["left"] = left
        rec["seeded"] = 1
        rec["next"] = nxt
        rec["state"][0] = key.astype(np.uint64)
        if self.next_double_normal is not None:
            rec["normal_is_valid"] = 1
            rec["normal_y"] = self.next_double_normal
        if self.next_float_normal is not None:
            rec["is_next_float_normal_sample_valid"] = 1
            rec["next_float_normal_sample"] = self.next_float_normal
        return rec.tobytes()

    def set_state(self, data: bytes) -> None:
        """Load torch's state bytes. Raises ``ValueError`` for a wrong size and
        ``RuntimeError('Invalid mt19937 state')`` where torch's ``is_valid`` would."""
        if len(data) != STATE_SIZE:
            raise ValueError(len(data))
        rec = np.frombuffer(data, dtype=_STATE_DTYPE)[0]
        left, nxt, seeded = int(rec["left"]), int(rec["next"]) & 0xFFFFFFFF, int(rec["seeded"])
        # torch reads `seeded` as a bool and `next` as a uint32
        if seeded == 0 or not 0 < left <= _N or nxt > _N:
            raise RuntimeError("Invalid mt19937 state")
        key = (rec["state"] & np.uint64(0xFFFFFFFF)).astype(_U32)
        pending = None
        if left == 1:
            pos = _N
        elif left + nxt == _N + 1:
            pos = nxt
        else:
            # torch would emit state[next : next+left-1] before twisting; beyond the array
            # it would read out of bounds, which we refuse.
            if nxt + left - 1 > _N:
                raise RuntimeError("Invalid mt19937 state")
            pending, pos = _temper(key[nxt:nxt + left - 1].copy()), _N
        self._seed = int(rec["the_initial_seed"])
        self._set_key(key, pos)
        self._next_at_twist = nxt
        self._pending, self._pending_next = pending, nxt
        self.next_double_normal = float(rec["normal_y"]) if rec["normal_is_valid"] else None
        self.next_float_normal = (float(rec["next_float_normal_sample"])
                                  if rec["is_next_float_normal_sample_valid"] else None)

    def clone(self) -> "MT19937":
        other = MT19937.__new__(MT19937)
        other._bg = np.random.MT19937(0)
        other.set_state(self.get_state())
        return other
