"""Random allocate/release sequences against a set-based model of a pool.

The model is the obvious, slow IPAM: a set of allocated offsets, a linear
scan for the next free one, a cursor for serial mode. Every step the real
driver and the model must agree on the returned address, on the error
class, and on usage; a refused step must leave the exported state as it
was. Seeded ``random`` here; ``test_ipam_stateful.py`` drives the same
harness with hypothesis, which shrinks a failing sequence.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import random

import pytest

from libnet.ipam import (
    AddressInUseError,
    AddressOutOfRangeError,
    AddressRequest,
    DefaultIPAM,
    IPAMConflictError,
    PoolExhaustedError,
    PoolRequest,
)

POOLS = [
    # subnet, ip_range, aux, serial
    ("10.0.0.0/27", None, {}, False),
    ("10.0.0.0/27", "10.0.0.8/29", {"r": "10.0.0.9"}, True),
    ("10.0.0.0/22", "10.0.1.0/24", {}, False),
    ("10.0.0.0/30", None, {}, True),
    ("fd00::/120", "fd00::80/121", {"dns": "fd00::53"}, True),
    ("fd00::/64", None, {}, False),
]


class ModelPool:
    def __init__(self, subnet, ip_range, aux, serial):
        self.subnet = ipaddress.ip_network(subnet)
        self.base = int(self.subnet.network_address)
        n = self.subnet.num_addresses
        hostbits = self.subnet.max_prefixlen - self.subnet.prefixlen
        if hostbits <= 1:
            self.first, self.last = 0, n - 1
        elif self.subnet.version == 4:
            self.first, self.last = 1, n - 2
        else:
            self.first, self.last = 1, n - 1
        if ip_range:
            r = ipaddress.ip_network(ip_range)
            lo = int(r.network_address) - self.base
            hi = lo + r.num_addresses - 1
        else:
            lo, hi = 0, n - 1
        self.dfirst, self.dlast = max(lo, self.first), min(hi, self.last)
        self.serial = serial
        self.special = {int(ipaddress.ip_address(a)) - self.base for a in aux.values()}
        self.used = set(self.special)
        gw = next(o for o in range(self.first, self.last + 1) if o not in self.used)
        self.special.add(gw)
        self.used.add(gw)
        self.cursor = self.dfirst

    def addr(self, off):
        return ipaddress.ip_address(self.base + off)

    def alloc(self, serial):
        order = range(self.dfirst, self.dlast + 1)
        if serial:
            order = itertools.chain(range(self.cursor, self.dlast + 1), range(self.dfirst, self.cursor))
        # A linear scan is fine for the model, but the /64 range is 2**64
        # wide: scan at most len(used)+1 candidates, one of them is free.
        for count, off in enumerate(order):
            if off not in self.used:
                break
            if count > len(self.used):
                raise AssertionError("model scan ran away")
        else:
            return PoolExhaustedError
        self.used.add(off)
        self.cursor = off + 1 if off < self.dlast else self.dfirst
        return self.addr(off)

    def static(self, off):
        if not self.first <= off <= self.last:
            return AddressOutOfRangeError
        if off in self.used:
            return AddressInUseError
        self.used.add(off)
        return self.addr(off)

    def release(self, off):
        if not self.first <= off <= self.last:
            return AddressOutOfRangeError
        if off in self.special:
            return IPAMConflictError
        if off in self.used:
            self.used.discard(off)
            return True
        return False


class Harness:
    def __init__(self, index):
        subnet, ip_range, aux, serial = POOLS[index]
        self.ipam = DefaultIPAM()
        self.pool = self.ipam.request_pool(
            PoolRequest(subnet=subnet, ip_range=ip_range, aux_addresses=aux, serial=serial))
        self.model = ModelPool(subnet, ip_range, aux, serial)
        self.span = min(self.model.subnet.num_addresses, 1 << 12)

    def _apply(self, expected, call):
        before = json.dumps(self.ipam.export_state())
        if isinstance(expected, type):
            with pytest.raises(expected):
                call()
            assert json.dumps(self.ipam.export_state()) == before
        else:
            assert call() == expected

    def alloc(self, serial):
        m = self.model
        expected = m.alloc(m.serial if serial is None else serial)
        self._apply(expected, lambda: self.ipam.request_address(
            AddressRequest(self.pool.id, serial=serial)).address)

    def static(self, off):
        expected = self.model.static(off)
        addr = self.model.addr(off)
        self._apply(expected, lambda: self.ipam.request_address(
            AddressRequest(self.pool.id, addr)).address)

    def release(self, off):
        expected = self.model.release(off)
        addr = self.model.addr(off)
        self._apply(expected, lambda: self.ipam.release_address(self.pool.id, addr))

    def check(self):
        m = self.model
        u = self.ipam.usage(self.pool.id)
        assert u.allocated == len(m.used)
        assert u.free == m.last - m.first + 1 - len(m.used)
        assert u.dynamic_allocated == sum(m.dfirst <= o <= m.dlast for o in m.used)
        assert self.ipam.allocated(self.pool.id) == [m.addr(o) for o in sorted(m.used)]

    def round_trip(self):
        state = json.loads(json.dumps(self.ipam.export_state()))
        self.ipam = DefaultIPAM.from_state(state)
        assert self.ipam.export_state() == state


@pytest.mark.parametrize("index", range(len(POOLS)))
@pytest.mark.parametrize("seed", range(4))
def test_random_sequences_match_model(index, seed):
    rng = random.Random(seed * 100 + index)
    h = Harness(index)
    for step in range(600):
        op = rng.random()
        if op < 0.45:
            h.alloc(rng.choice([None, True, False]))
        elif op < 0.6:
            h.static(rng.randrange(h.span))
        elif op < 0.95:
            used = sorted(h.model.used)
            off = rng.choice(used) if used and rng.random() < 0.8 else rng.randrange(h.span)
            h.release(off)
        else:
            h.round_trip()
        if step % 50 == 0:
            h.check()
    h.check()
