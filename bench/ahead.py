#!/usr/bin/env python3
"""Sandbox namespaces made ahead (``Config.namespaces_ahead``) or in line:
the experiment behind libnet.nspool's figures.

For each mode, N containers are set up as ``libnet bench`` sets them up (its
libnet system: new_sandbox, create_endpoint with 4 published ports, join;
1,000 to a bridge), back to back.  Printed per mode: the setup p50 and each
phase's, the loop's wall time, and the process's CPU time (all threads) per
container.  Modes alternate over the rounds, so that each sees the machine
alike.

    unshare --net --mount python3 bench/ahead.py -n 1000 --rounds 5

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

from libnet import netns
from libnet.benchmark import systems
from libnet.benchmark.systems import Clock, Context, spec
from libnet.controller import Config, Controller

from benchenv import private_tmpfs, require_isolation

MODES = {"in line": 0, "made ahead": Config.namespaces_ahead}


def one(root: str, n: int, ahead: int) -> dict[str, float]:
    d = os.path.join(root, f"ahead{ahead}-{time.monotonic_ns()}")
    os.makedirs(os.path.join(d, "ns"))
    os.makedirs(os.path.join(d, "run"))
    host = netns.create("host", d)
    ctx = Context("libnet", host, d, os.path.join(d, "ns"), os.path.join(d, "run"))
    system = systems.LibnetSystem()
    system.start(ctx)
    system.c.stop()            # the same system, with the mode's controller
    system.c = Controller(Config(data_dir=os.path.join(d, "data"), run_dir=ctx.run_dir,
                                 netns=host.path, namespaces_ahead=ahead))
    try:
        preps = [system.prepare(spec(i)) for i in range(n)]
        time.sleep(1.0)
        lat: list[float] = []
        phases: dict[str, list[float]] = {}
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        for i in range(n):
            clock = Clock()
            system.setup(spec(i), preps[i], clock)
            lat.append(clock.marks[-1][1] - clock.t0)
            for p, v in clock.phases().items():
                phases.setdefault(p, []).append(v)
        t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        out = {"p50": statistics.median(lat), "wall": t1 - t0,
               "cpu": (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / n}
        out.update({p: statistics.median(v) for p, v in phases.items()})
        return out
    finally:
        system.stop()
        host.close()
        netns.delete(host)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    require_isolation()
    with private_tmpfs("ahead-") as root:
        print(f"{args.containers} containers; ms per container, wall time in s")
        for r in range(args.rounds):
            for mode, ahead in MODES.items():
                x = one(root, args.containers, ahead)
                print(f"round {r + 1}  {mode:10}  setup p50 {x['p50'] * 1e3:.2f}  namespace "
                      f"{x['namespace'] * 1e3:.2f}  endpoint {x['endpoint'] * 1e3:.2f}  join "
                      f"{x['join'] * 1e3:.2f}  wall {x['wall']:.2f}  cpu {x['cpu'] * 1e3:.2f}",
                      flush=True)
                time.sleep(3.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
