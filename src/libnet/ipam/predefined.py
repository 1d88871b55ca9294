"""Choosing a free subnet from predefined blocks, and overlap checks.

Networks are handled as inclusive integer intervals ``(first, last)``. A
request walks the predefined blocks in order; in each it keeps a candidate
(the block's first subnet of the wanted size) and the blocking intervals
(pools already allocated, plus the caller's excluded networks) sorted by
their first address. A blocker that overlaps the candidate moves it to the
first aligned subnet after the blocker's end; once a blocker starts after
the candidate's end, nothing later can overlap it (they are sorted), so the
candidate is free. Cost: O(B log B) for B blockers, whatever the number of
candidate subnets (10.0.0.0/8 in /24s has 65,536).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from .types import IPNetwork, PoolSpec

__all__ = ["interval", "overlapping", "first_free_subnet"]


def interval(net: IPNetwork) -> tuple[int, int]:
    first = int(net.network_address)
    return first, first + net.num_addresses - 1


def overlapping(net: IPNetwork, others: Iterable[IPNetwork]) -> IPNetwork | None:
    """The first of ``others`` (same family) that shares an address with
    ``net``, or None."""
    a, b = interval(net)
    for other in others:
        if other.version != net.version:
            continue
        c, d = interval(other)
        if c <= b and a <= d:
            return other
    return None


def first_free_subnet(
    specs: Sequence[PoolSpec],
    version: int,
    blockers: Iterable[IPNetwork],
    prefix_len: int | None = None,
) -> IPNetwork | None:
    """The first subnet, in ``specs`` order, of family ``version`` and size
    ``prefix_len`` (default: each spec's size) that overlaps no blocker."""
    blocks = sorted(interval(n) for n in blockers if n.version == version)
    make = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    for spec in specs:
        base = spec.base
        if base.version != version:
            continue
        size = spec.size if prefix_len is None else prefix_len
        if not base.prefixlen <= size <= base.max_prefixlen:
            continue
        step = 1 << (base.max_prefixlen - size)
        base_first, base_last = interval(base)
        cand = base_first
        for first, last in blocks:
            if last < cand:
                continue
            if first > cand + step - 1:
                break
            # Overlaps the candidate: the next aligned subnet after it.
            cand = ((last + 1 + step - 1) // step) * step
            if cand > base_last:
                break
        if cand + step - 1 <= base_last:
            return make((cand, size))
    return None
