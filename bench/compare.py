#!/usr/bin/env python3
"""Run the benchmark scenarios once, with few rounds, and print a side-by-side table.

    unshare --net --mount python3 bench/compare.py                 # every section
    unshare --net --mount python3 bench/compare.py rtnl --rounds 5

For each contender: the median and minimum time of one iteration, its ratio
to libnet's and to the kernel's own cost (pre-built bytes on a plain socket)
measured in the same run, the target and pass/fail.  The rounds of the
contenders of a scenario are interleaved (round r runs every contender, in
an order rotated each round), so that load from elsewhere on the machine
falls on all of them alike.  Everything runs in throwaway namespaces (see
benchenv.py); the process must be in a network and mount namespace of its
own.

Sections: each subsystem adds a function to SECTIONS that returns rows
(group, contender, median, min) and registers its targets in benchtable.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchtable  # noqa: E402
from benchenv import Case, Env, require_isolation  # noqa: E402


# ------------------------------------------------------------------ timing

def time_rounds(cases: list[Case], rounds: int, *, max_rounds: dict | None = None,
                warmup: int = 0, log: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Seconds per round of each case; rounds interleaved across the cases,
    after ``warmup`` untimed rounds of each."""
    times: dict[str, list[float]] = {c.contender: [] for c in cases}
    max_rounds = max_rounds or {}
    for _ in range(warmup):
        for case in cases:
            state = case.setup()
            try:
                case.run(state)
            finally:
                case.teardown(state)
    for r in range(rounds):
        k = r % len(cases)
        for case in cases[k:] + cases[:k]:
            if r >= max_rounds.get(case.contender, rounds):
                continue
            gc.collect()  # see conftest.run_case: pyroute2 leaves cycles behind
            state = case.setup()
            t0 = time.perf_counter()
            try:
                case.run(state)
                dt = time.perf_counter() - t0
            finally:
                case.teardown(state)
            times[case.contender].append(dt)
            log(f"  {case.group:<20} {case.contender:<26} round {r + 1}: {dt * 1e3:9.2f} ms")
    return times


def time_calls(case: Case, repeats: int = 7, budget: float = 0.05) -> list[float]:
    """Seconds per call of a micro-benchmark: ``repeats`` loops, each of as
    many calls as fit in about ``budget`` seconds."""
    gc.collect()
    fn = case.setup()
    try:
        run = case.run
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                run(fn)
            dt = time.perf_counter() - t0
            if dt >= budget:
                break
            number *= 2 if dt < budget / 4 else 1 + int(budget / max(dt, 1e-9))
        out = [dt / number]
        for _ in range(repeats - 1):
            t0 = time.perf_counter()
            for _ in range(number):
                run(fn)
            out.append((time.perf_counter() - t0) / number)
        return out
    finally:
        case.teardown(fn)


def summarize(times: dict[str, list[float]], group_of: dict[str, str]) -> list[tuple]:
    return [(group_of[c], c, statistics.median(ts), min(ts))
            for c, ts in times.items() if ts]


# ------------------------------------------------------------------ rtnetlink

def section_rtnl(env: Env, args) -> list[tuple]:
    import rtnl_cases as rc
    benchtable.register(rc.TARGETS, rc.QUOTED)
    rows: list[tuple] = []
    only = set(args.only.split(",")) if args.only else {"veth", "dump", "codec"}

    if "veth" in only:
        print(f"veth-1000: 1 warm-up and {args.rounds} interleaved rounds, fresh namespaces "
              "each", flush=True)
        cases = rc.veth_cases(env)
        times = time_rounds(cases, args.rounds, warmup=1, log=_log(args))
        rows += summarize(times, {c.contender: c.group for c in cases})

    if "dump" in only:
        print(f"dump-10000: creating {rc.DUMP_PAIRS} veth pairs", flush=True)
        fixture = rc.DumpFixture(env)
        try:
            cases = rc.dump_cases(lambda: fixture)
            times = time_rounds(cases, args.dump_rounds,
                                max_rounds={"pyroute2": args.slow_rounds}, log=_log(args))
            rows += summarize(times, {c.contender: c.group for c in cases})
            if args.breakdown:
                print(dump_breakdown(fixture, rc))
        finally:
            fixture.close()

    if "codec" in only:
        print("encode/decode: calibrated loops", flush=True)
        cases = rc.codec_cases(env)
        for case in cases:
            per_call = time_calls(case)
            rows.append((case.group, case.contender, statistics.median(per_call), min(per_call)))
            _log(args)(f"  {case.group:<20} {case.contender:<26} {min(per_call) * 1e6:9.2f} us")
    return rows


def dump_breakdown(fixture, rc) -> str:
    """Where libnet's dump time goes: the kernel's, the Link objects', each field's."""
    from libnet.netlink import RouteSocket

    def best(fn, n=7):
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    kernel = [c for c in rc.dump_cases(lambda: fixture) if c.contender == "kernel"][0]
    st = kernel.setup()
    try:
        t_kernel = best(lambda: kernel.run(st))
    finally:
        kernel.teardown(st)
    with RouteSocket(fixture.ns) as rs:
        t_dump = best(rs.link_dump)
        links = rs.link_dump()
        fields = {f: best(lambda f=f: [getattr(link, f) for link in links])
                  for f in ("index", "name", "mtu", "mac", "operstate", "kind")}
    lines = [f"libnet dump breakdown, {len(links)} links (medians of 7):",
             f"  kernel (raw recv, no parse)        {t_kernel * 1e3:8.2f} ms",
             f"  link_dump() (Link objects)         {t_dump * 1e3:8.2f} ms"
             f"  (+{(t_dump - t_kernel) * 1e3:.2f} ms over the kernel)"]
    for f, t in fields.items():
        lines.append(f"  read .{f:<10} of every link       {t * 1e3:8.2f} ms"
                     f"  ({t / len(links) * 1e9:.0f} ns each)")
    lines.append(f"  all six fields                     {sum(fields.values()) * 1e3:8.2f} ms")
    return "\n".join(lines)


SECTIONS: dict[str, Callable] = {"rtnl": section_rtnl}


# ------------------------------------------------------------------ main

def _log(args):
    return print if args.verbose else (lambda line: None)


def _versions() -> str:
    parts = [f"kernel {platform.release()}", f"{os.cpu_count()} CPUs",
             f"python {platform.python_version()}"]
    try:
        import pyroute2
        parts.append(f"pyroute2 {pyroute2.__version__}")
    except ImportError:
        parts.append("pyroute2 absent")
    if shutil.which("ip"):
        parts.append(subprocess.run(["ip", "-V"], capture_output=True, text=True)
                     .stdout.strip().replace("ip utility, ", ""))
    with open("/proc/loadavg") as f:
        parts.append("loadavg " + " ".join(f.read().split()[:3]))
    return ", ".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sections", nargs="*", help=f"of {', '.join(SECTIONS)} (default: all)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the veth scenario")
    ap.add_argument("--dump-rounds", type=int, default=5, help="rounds of the dump scenario")
    ap.add_argument("--slow-rounds", type=int, default=2, help="rounds of pyroute2's dump")
    ap.add_argument("--only", help="rtnl scenarios: veth,dump,codec")
    ap.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                    help="skip the libnet dump breakdown")
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every round")
    args = ap.parse_args(argv)
    try:
        require_isolation()
    except RuntimeError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    names = args.sections or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    print(_versions(), flush=True)
    env = Env()
    rows: list[tuple] = []
    try:
        for name in names:
            rows += SECTIONS[name](env, args)
    finally:
        env.close()
    print()
    print(benchtable.render(rows, benchtable.TARGETS, benchtable.QUOTED))
    verdicts = [v for v in benchtable.evaluate(rows, benchtable.TARGETS) if v["passed"] is not None]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": _versions(), "rows": rows, "targets": verdicts}, f, indent=1)
    failed = [v for v in verdicts if not v["passed"]]
    print(f"\n{len(verdicts) - len(failed)} of {len(verdicts)} targets met")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
