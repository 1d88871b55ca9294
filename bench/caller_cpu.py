#!/usr/bin/env python3
"""The calling thread's user and system CPU, wall time and context switches
per container, for libnet and the kernel baseline.

N containers are set up as ``libnet bench`` sets them up (1,000 to a
bridge, 4 published ports each), after 20 that warm up.  Printed per system
and round, per container: the calling thread's user and system CPU
(getrusage(RUSAGE_THREAD): not the threads it hands work to), the loop's
wall time, and the thread's involuntary and voluntary context switches (a
voluntary one is a wait: for the GIL, a lock, a kernel mutex).  User time is
libnet's Python; the kernel baseline, pre-built bytes, has next to none.
Rounds alternate which system goes first.

    unshare --net --mount python3 bench/caller_cpu.py -n 1000 --rounds 2
    unshare --net --mount python3 bench/caller_cpu.py -n 2020 --rounds 1 --window 250

To compare two versions of libnet, install the other one elsewhere
(``pip install --target DIR .`` in its checkout) and run this with
``PYTHONPATH=DIR`` and ``--systems libnet``, alternating.

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from libnet.benchmark.systems import Clock, spec

from benchenv import private_tmpfs, require_isolation, started_system

WARM = 20


def one(root: str, name: str, n: int, window: int = 0) -> str:
    with started_system(root, name) as (system, _):
        specs = [spec(i) for i in range(n)]
        preps = [system.prepare(c) for c in specs]
        for i in range(WARM):
            system.setup(specs[i], preps[i], Clock())
        windows: list[str] = []
        r0, t0 = resource.getrusage(resource.RUSAGE_THREAD), time.perf_counter()
        rw, lat = r0, []
        for i in range(WARM, n):
            a = time.perf_counter()
            system.setup(specs[i], preps[i], Clock())
            lat.append(time.perf_counter() - a)
            if window and (i - WARM + 1) % window == 0:
                now = resource.getrusage(resource.RUSAGE_THREAD)
                windows.append(f"{1e3 * (now.ru_utime - rw.ru_utime) / window:.2f}/"
                               f"{1e3 * (now.ru_stime - rw.ru_stime) / window:.2f}/"
                               f"{1e3 * statistics.median(lat):.2f}")
                rw, lat = now, []
        r1, t1 = resource.getrusage(resource.RUSAGE_THREAD), time.perf_counter()
    c = n - WARM
    return (f"user {1e6 * (r1.ru_utime - r0.ru_utime) / c:5.0f} us  "
            f"sys {1e6 * (r1.ru_stime - r0.ru_stime) / c:5.0f} us  "
            f"wall {1e6 * (t1 - t0) / c:5.0f} us  "
            f"switches: involuntary {(r1.ru_nivcsw - r0.ru_nivcsw) / c:.2f}, "
            f"voluntary {(r1.ru_nvcsw - r0.ru_nvcsw) / c:.2f}"
            + (f"\n  per {window} (user/sys CPU, setup p50; ms): " + " ".join(windows)
               if windows else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--systems", default="libnet,kernel", help="libnet and/or kernel")
    ap.add_argument("--window", type=int, default=0, metavar="K",
                    help="also print user and system CPU and the setup p50 of each K "
                         "containers in turn (how each grows with n)")
    args = ap.parse_args()
    require_isolation()
    names = [s for s in args.systems.split(",") if s]
    with private_tmpfs("caller-cpu-") as root:
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                print(f"round {r + 1}  {name:7} "
                      f"{one(root, name, args.containers, args.window)}", flush=True)
                time.sleep(2.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
