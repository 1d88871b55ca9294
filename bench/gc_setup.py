#!/usr/bin/env python3
"""Python's garbage collector on libnet's setup and teardown path: what it
collects, how often, and how long it stops the caller.

N containers are set up as ``libnet bench`` sets them up (its libnet system:
new_sandbox, create_endpoint with 4 published ports, join; 1,000 to a
bridge), then torn down.  Printed for each half: the objects in reference
cycles per container (what the collections found unreachable, a full
collection at the end included; by type with ``--types``), and the
collections that ran meanwhile (gc.callbacks: count, total and longest
pause, by generation).  Objects in
cycles are what makes the collector run, and a full collection walks every
object the controller holds: its pauses grow with the number of containers.

    unshare --net --mount python3 bench/gc_setup.py -n 2000 [--types]

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import collections
import gc
import time
from typing import Any, Callable

from libnet.benchmark.systems import Clock, spec

from benchenv import private_tmpfs, require_isolation, started_system


class Pauses:
    """Collections while armed, from gc.callbacks: (generation, seconds,
    objects found unreachable)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float, int]] = []
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seen.append((info["generation"], time.perf_counter() - self._t0,
                              info["collected"] + info["uncollectable"]))


def measured(label: str, count: int, work: Callable[[], None], types: bool) -> None:
    """Run ``work`` with the collector watched; print what it did.  With
    ``types``, the objects in cycles are kept (gc.DEBUG_SAVEALL) to be
    counted by type, and the pauses grow with them: time them without."""
    gc.collect()
    pauses = Pauses()
    gc.callbacks.append(pauses)
    if types:
        gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        work()
        gc.collect()                 # the cycles still waiting for a collection
    finally:
        gc.callbacks.remove(pauses)
        gc.set_debug(0)
    found = sum(k for _, _, k in pauses.seen)
    pauses.seen.pop()                # (the final collection is ours)
    print(f"{label}: {len(pauses.seen)} collections; objects in reference cycles per "
          f"container: {found / count:.1f}")
    if types:
        by_type = collections.Counter(type(o).__name__ for o in gc.garbage)
        gc.garbage.clear()
        for name, k in by_type.most_common(8):
            print(f"  {k / count:6.2f} {name}")
    for gen in (0, 1, 2):
        ts = [t for g, t, _ in pauses.seen if g == gen]
        if ts:
            print(f"  gen{gen}: {len(ts)} collections, {1e3 * sum(ts):.1f} ms in all "
                  f"({1e6 * sum(ts) / count:.0f} us per container), longest {1e3 * max(ts):.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=2000)
    ap.add_argument("--types", action="store_true",
                    help="count the objects in cycles by type (keeps them: the pauses "
                         "then grow, so time them in a run without)")
    args = ap.parse_args()
    require_isolation()
    n = args.containers
    with private_tmpfs("gc-setup-") as root, started_system(root, "libnet") as (system, _):
        specs = [spec(i) for i in range(n)]
        preps = [system.prepare(c) for c in specs]
        handles: list[Any] = []
        measured("setup", n, lambda: handles.extend(
            system.setup(c, p, Clock()) for c, p in zip(specs, preps)), args.types)
        print(f"objects the collector tracks after setup: {len(gc.get_objects())}")

        def teardown() -> None:
            for h in handles:
                system.teardown(h)
            system.finish_teardown()
        measured("teardown", n, teardown, args.types)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
