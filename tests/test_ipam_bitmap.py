"""The hierarchical bitmap, alone: pure tests, no kernel."""

from __future__ import annotations

import json
import random

import pytest

from libnet.ipam.bitmap import Bitmap


def test_sizes_and_depth():
    assert Bitmap(1)._depth == 1
    assert Bitmap(64)._depth == 1
    assert Bitmap(65)._depth == 2
    assert Bitmap(65536)._depth == 3
    assert Bitmap(1 << 64)._depth == 11
    assert Bitmap(1 << 128)._depth == 22
    with pytest.raises(ValueError):
        Bitmap(0)


def test_fill_in_order_then_exhausted():
    b = Bitmap(1000)
    for i in range(1000):
        assert b.next_clear(0) == i
        assert b.set(i)
    assert len(b) == 1000
    assert b.next_clear(0) is None
    assert b.clear(517)
    assert b.next_clear(0) == 517
    assert b.next_clear(518) is None
    assert b.next_clear(0, 516) is None


def test_set_twice_and_clear_twice_report_false():
    b = Bitmap(128)
    assert b.set(70)
    assert not b.set(70)
    assert len(b) == 1
    assert b.clear(70)
    assert not b.clear(70)
    assert len(b) == 0
    assert b._levels[0] == {}  # empty words are dropped: storage stays sparse


def test_out_of_range_bits_refused():
    b = Bitmap(100)
    with pytest.raises(IndexError):
        b.set(100)
    with pytest.raises(IndexError):
        b.clear(-1)
    assert 100 not in b


def test_next_clear_respects_bounds_and_tail():
    b = Bitmap(70)  # two words, the second holds 6 real bits
    for i in range(64, 70):
        b.set(i)
    assert b.next_clear(64) is None  # bits 70..127 of the word are not bits of the map
    assert b.next_clear(60) == 60
    assert b.next_clear(10, 5) is None
    assert b.next_clear(70) is None


def test_summary_levels_track_full_words():
    b = Bitmap(64 * 64 * 4)
    for i in range(64 * 64):
        b.set(i)
    assert b._levels[1][0] == (1 << 64) - 1
    assert b._levels[2][0] == 1  # first level-1 word is full
    assert b.next_clear(0) == 64 * 64
    b.clear(64 * 10 + 3)
    assert 0 not in b._levels[2]
    assert b.next_clear(0) == 64 * 10 + 3


def test_huge_sparse_map_costs_nothing_until_used():
    b = Bitmap(1 << 64)
    assert b.next_clear(0) == 0
    top = (1 << 64) - 1
    assert b.set(top)
    assert b.next_clear(top) is None
    assert b.next_clear(top - 1) == top - 1
    assert sum(len(level) for level in b._levels) == 1


def test_runs_and_count_range():
    b = Bitmap(300)
    for i in [0, 1, 2, 63, 64, 65, 127, 128, 200, 299]:
        b.set(i)
    assert list(b.runs()) == [(0, 2), (63, 65), (127, 128), (200, 200), (299, 299)]
    assert b.count_range(0, 299) == 10
    assert b.count_range(3, 62) == 0
    assert b.count_range(64, 127) == 3
    assert b.count_range(5, 4) == 0
    assert list(b.iter_set()) == [0, 1, 2, 63, 64, 65, 127, 128, 200, 299]


def test_search_hint_never_skips_a_clear_bit():
    b = Bitmap(4096)
    b.set_origin(10)
    for i in range(10, 2000):
        assert b.next_clear(10) == i
        b.set(i)
    assert b._hint == 1999
    b.clear(500)  # below the hint: pulls it back
    assert b._hint == 500
    assert b.next_clear(10) == 500
    assert b.next_clear(3) == 3  # before the origin: plain search
    assert b.next_clear(600) == 2000  # inside the known-full span
    b.set(500)
    assert b.next_clear(10, 1999) is None


def test_state_round_trip_is_exact_and_json_able():
    b = Bitmap(5000)
    rng = random.Random(7)
    for _ in range(3000):
        b.set(rng.randrange(5000))
    state = json.loads(json.dumps(b.export_state()))
    r = Bitmap.from_state(state)
    assert r == b
    assert len(r) == len(b)
    assert r._levels == b._levels  # summaries rebuilt identically
    for start in range(0, 5000, 97):
        assert r.next_clear(start) == b.next_clear(start)


def test_from_state_rejects_garbage():
    with pytest.raises(ValueError):
        Bitmap.from_state({"size": 10, "runs": [[3, 2]]})
    with pytest.raises(IndexError):
        Bitmap.from_state({"size": 10, "runs": [[3, 12]]})
    with pytest.raises(ValueError):
        Bitmap.from_state({"size": 10, "runs": [["a", 2]]})


@pytest.mark.parametrize("size", [1, 63, 64, 65, 4096, 4097, 70000])
def test_random_ops_against_a_set(size):
    rng = random.Random(size)
    b = Bitmap(size)
    b.set_origin(rng.randrange(size))  # the search hint's span starts there
    model: set[int] = set()
    for _ in range(4000):
        op = rng.random()
        if op < 0.5:
            i = rng.randrange(size)
            assert b.set(i) == (i not in model)
            model.add(i)
        elif op < 0.8:
            i = rng.randrange(size)
            assert b.clear(i) == (i in model)
            model.discard(i)
        else:
            lo = rng.randrange(size)
            hi = rng.randrange(lo, size)
            want = next((j for j in range(lo, hi + 1) if j not in model), None)
            assert b.next_clear(lo, hi) == want
    assert len(b) == len(model)
    assert list(b.iter_set()) == sorted(model)
