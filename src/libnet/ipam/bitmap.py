"""A sparse hierarchical bitmap: set, clear and find-next-clear in O(log64 N).

Layout, for a bitmap of N bits (``depth = ceil(log64 N)``, at least 1)::

    level depth-1   [w0]                           one word: the root
                     | bit j set <=> word j below is full
    level 1         [w0][w1] ... [w63]  ...
                     | bit j set <=> word j of level 0 is all ones
    level 0         [w0][w1][w2] ...               bit i <=> bit i of the map

Each level is a ``dict`` from word index to a 64-bit word held in a Python
``int``. A word that is all zeros is absent, so memory follows the number
of bits set, not N: an IPv6 /64 pool (N = 2**64) costs nothing until
addresses are allocated, and a /16 with every address taken holds 1,024
words at level 0.

Costs: ``set`` and ``clear`` touch one word per level, and only climb while
a word becomes (or stops being) full. ``next_clear(p)`` climbs from the
word holding ``p`` until a level has a not-full child at or after it, then
descends taking the lowest clear bit of each word: at most ``2 * depth``
word operations, whatever the number of bits already set. Nothing here
works on an integer wider than 64 bits: libnetwork's bitmap is a run-length
list walked from its head (cost grows with fragmentation), and a single
Python int the size of the map costs O(N) per operation; both are what this
avoids.

Bits past N in the last word are never set: searches are bounded by the
caller's range, so a clear bit past N is simply outside every range.

A search hint makes the common case O(1): for one ``origin`` (the pool
sets it to the start of its dynamic range), ``_hint`` is a position such
that every bit in ``[origin, _hint)`` is set. A search starting in that
span starts at ``_hint`` instead, and moves it to what it finds; a clear
below it pulls it back. So first-free allocation in a filling pool stays
in one word instead of climbing to the root and back each time. The hint
is derived state: never exported, reset on restore.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["Bitmap"]

_FULL = (1 << 64) - 1


def _lowest_bit(x: int) -> int:
    """Index of the lowest set bit of ``x`` (``x`` != 0)."""
    return (x & -x).bit_length() - 1


class Bitmap:
    """A set of integers in ``[0, size)`` with fast first-free search."""

    __slots__ = ("_size", "_depth", "_levels", "_count", "_origin", "_hint")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"bitmap size must be at least 1, not {size}")
        depth = 1
        capacity = 64
        while capacity < size:
            capacity <<= 6
            depth += 1
        self._size = size
        self._depth = depth
        self._levels: list[dict[int, int]] = [{} for _ in range(depth)]
        self._count = 0
        self._origin = 0
        self._hint = 0

    def set_origin(self, origin: int) -> None:
        """Where the search hint's known-full span starts (see above)."""
        self._origin = origin
        self._hint = origin

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        """Number of bits set."""
        return self._count

    def __contains__(self, i: int) -> bool:
        return bool(self._levels[0].get(i >> 6, 0) >> (i & 63) & 1)

    def _check(self, i: int) -> None:
        if not 0 <= i < self._size:
            raise IndexError(f"bit {i} is outside [0, {self._size})")

    def set(self, i: int) -> bool:
        """Set bit ``i``; return False (and change nothing) if it was set."""
        self._check(i)
        levels = self._levels
        w = i >> 6
        b = 1 << (i & 63)
        level0 = levels[0]
        word = level0.get(w, 0)
        if word & b:
            return False
        word |= b
        level0[w] = word
        self._count += 1
        level = 1
        depth = self._depth
        # A word that just became full marks its bit in the level above.
        while word == _FULL and level < depth:
            i = w
            w = i >> 6
            d = levels[level]
            word = d.get(w, 0) | (1 << (i & 63))
            d[w] = word
            level += 1
        return True

    def clear(self, i: int) -> bool:
        """Clear bit ``i``; return False (and change nothing) if it was clear."""
        self._check(i)
        levels = self._levels
        w = i >> 6
        b = 1 << (i & 63)
        level0 = levels[0]
        word = level0.get(w, 0)
        if not word & b:
            return False
        was_full = word == _FULL
        word ^= b
        if word:
            level0[w] = word
        else:
            del level0[w]
        self._count -= 1
        if self._origin <= i < self._hint:
            self._hint = i
        level = 1
        depth = self._depth
        # A word that stops being full clears its bit in the level above.
        while was_full and level < depth:
            i = w
            w = i >> 6
            d = levels[level]
            word = d[w]
            was_full = word == _FULL
            word ^= 1 << (i & 63)
            if word:
                d[w] = word
            else:
                del d[w]
            level += 1
        return True

    def next_clear(self, start: int, end: int | None = None) -> int | None:
        """Lowest clear bit in ``[start, end]`` (``end`` defaults to the
        last bit), or None if every bit there is set."""
        last = self._size - 1 if end is None else end
        if start < 0 or start > last:
            return None
        hint = self._hint
        if self._origin <= start <= hint:
            found = self._find(hint)
            if found is not None:
                self._hint = found  # every bit in [origin, found) is set
            return found if found is not None and found <= last else None
        found = self._find(start)
        return found if found is not None and found <= last else None

    def _find(self, start: int) -> int | None:
        """Lowest clear bit at or after ``start`` in the whole capacity
        (possibly past ``size``), or None."""
        levels = self._levels
        depth = self._depth
        idx = start
        level = 0
        # Climb: look for a clear bit at or after idx in idx's word; if the
        # rest of the word is set, move to the next word's bit one level up.
        while True:
            w = idx >> 6
            free = ~levels[level].get(w, 0) & (_FULL << (idx & 63)) & _FULL
            if free:
                idx = (w << 6) | _lowest_bit(free)
                break
            level += 1
            if level == depth:
                return None
            idx = w + 1
        # Descend: every word below a clear summary bit has a clear bit.
        while level:
            level -= 1
            idx = (idx << 6) | _lowest_bit(~levels[level].get(idx, 0) & _FULL)
        return idx

    def iter_set(self) -> Iterator[int]:
        """Every set bit, in increasing order."""
        level0 = self._levels[0]
        for w in sorted(level0):
            word = level0[w]
            base = w << 6
            while word:
                low = word & -word
                yield base + low.bit_length() - 1
                word ^= low

    def runs(self) -> Iterator[tuple[int, int]]:
        """Maximal runs of set bits as inclusive ``(first, last)`` pairs, in
        increasing order. Cost follows the number of stored words."""
        level0 = self._levels[0]
        run_first = run_last = -2
        for w in sorted(level0):
            word = level0[w]
            base = w << 6
            while word:
                t = _lowest_bit(word)
                x = word >> t
                n = _lowest_bit(~x)  # trailing ones of x: the run's length
                first = base + t
                if first == run_last + 1:
                    run_last = first + n - 1
                else:
                    if run_last >= 0:
                        yield run_first, run_last
                    run_first, run_last = first, first + n - 1
                word &= ~(((1 << n) - 1) << t)
        if run_last >= 0:
            yield run_first, run_last

    def count_range(self, first: int, last: int) -> int:
        """Number of set bits in ``[first, last]``. Cost follows the number
        of stored words, not the width of the range."""
        if first > last:
            return 0
        level0 = self._levels[0]
        wf, wl = first >> 6, last >> 6
        total = 0
        span = wl - wf + 1
        if span <= len(level0):
            words = (w for w in range(wf, wl + 1) if w in level0)
        else:
            words = (w for w in level0 if wf <= w <= wl)
        for w in words:
            word = level0[w]
            if w == wf:
                word &= _FULL << (first & 63)
            if w == wl:
                word &= _FULL >> (63 - (last & 63))
            total += word.bit_count()
        return total

    def set_runs(self, runs: list[tuple[int, int]] | list[list[int]]) -> None:
        """Set every bit of each inclusive run ``[first, last]`` (used to
        restore state); the summary levels are rebuilt once at the end."""
        level0 = self._levels[0]
        for first, last in runs:
            self._check(first)
            self._check(last)
            if first > last:
                raise ValueError(f"empty run [{first}, {last}]")
            wf, wl = first >> 6, last >> 6
            for w in range(wf, wl + 1):
                mask = _FULL
                if w == wf:
                    mask &= _FULL << (first & 63)
                if w == wl:
                    mask &= _FULL >> (63 - (last & 63))
                level0[w] = level0.get(w, 0) | (mask & _FULL)
        self._rebuild()

    def _rebuild(self) -> None:
        levels = self._levels
        for level in range(1, self._depth):
            below = levels[level - 1]
            d: dict[int, int] = {}
            for w, word in below.items():
                if word == _FULL:
                    d[w >> 6] = d.get(w >> 6, 0) | (1 << (w & 63))
            levels[level] = d
        self._count = sum(word.bit_count() for word in levels[0].values())
        self._hint = self._origin

    def copy(self) -> Bitmap:
        other = Bitmap.__new__(Bitmap)
        other._size = self._size
        other._depth = self._depth
        other._levels = [dict(d) for d in self._levels]
        other._count = self._count
        other._origin = self._origin
        other._hint = self._hint
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitmap):
            return NotImplemented
        return self._size == other._size and self._levels[0] == other._levels[0]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Bitmap(size={self._size}, set={self._count})"

    def export_state(self) -> dict[str, object]:
        """A JSON-able dict: size and runs of set bits (offsets as ints)."""
        return {"size": self._size, "runs": [[a, b] for a, b in self.runs()]}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> Bitmap:
        size = state["size"]
        runs = state["runs"]
        if not isinstance(size, int) or not isinstance(runs, list):
            raise ValueError(f"malformed bitmap state: {state!r}")
        bitmap = cls(size)
        pairs = []
        for run in runs:
            if not (isinstance(run, (list, tuple)) and len(run) == 2
                    and all(isinstance(x, int) for x in run)):
                raise ValueError(f"malformed bitmap run: {run!r}")
            pairs.append((run[0], run[1]))
        bitmap.set_runs(pairs)
        return bitmap
