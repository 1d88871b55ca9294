"""The density benchmark: set up and tear down the networking of N
containers, one after another, with libnet, its peers and the kernel's own
cost, in one run; per-container latency, per phase, and how it scales.

    unshare --net --mount libnet bench -n 1000
    libnet bench -n 200 --systems libnet,kernel,netavark --plot density.png --json > out.json

What one container is, for every system: a network namespace; a veth pair
with its host end on a bridge and the other end as eth0 inside (address,
loopback up, default route); 4 published TCP ports.  Containers are set up
one after another (0, 1, ..., N-1), then torn down last first.  A bridge
takes at most 1,023 ports, so every PER_NETWORK containers get a new
network (bridge and /16).

Scaling: the statistics "at n" are those of containers 0..n-1 of the run.
Container k is set up with k others on the host and, as teardown is last
in first out, torn down with k others too: exactly what a run of n
containers would measure, so one run of the largest n gives every point.

Safety: nothing touches the caller's network namespace.  Each system gets
a private host namespace created here (``libnet.netns``), the peers run in
it through ``nsenter --net=``, and everything lives under one run directory
(``rundir.RunDir``) that an interrupted run cleans on its way out and a
killed run's successor cleans before it starts.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import signal
import statistics
import sys
import time
import traceback
from typing import Any, Callable, Sequence

from .. import netns
from .peers import CNISystem, NaiveSystem, NetavarkSystem
from .rundir import RunDir, RunInProgress, default_path
from .systems import (PER_NETWORK, PORTS, Clock, Context, KernelSystem, LibnetSystem, System,
                      spec)

__all__ = ["main", "add_arguments", "run", "SYSTEMS", "percentiles", "evaluate_targets",
           "round_summary", "render_table"]

SYSTEMS: dict[str, Callable[[], System]] = {
    "libnet": LibnetSystem,
    "kernel": KernelSystem,
    "netavark": NetavarkSystem,
    "cni": CNISystem,
    "naive": NaiveSystem,
}
DEFAULT_SYSTEMS = "libnet,kernel,netavark,cni,naive"
DEFAULT_SCALING = (100, 500, 1000, 2000)
MAX_CONTAINERS = 10_000   # host ports 20000 + 4 * i stay below 65536
SETTLE_TIMEOUT = 120.0
IDLE_LIMIT = 0.15           # CPUs busy: below this the machine counts as quiet
IDLE_TIMEOUT = 20.0         # seconds to wait for it before a system starts

# The targets: (name, system, reference, metric, op, bound).
# "ratio" is time(system) / time(reference) at the same number of containers.
TARGETS = [
    ("setup p50: libnet >= 20x faster than netavark", "netavark", "libnet", "setup", ">=", 20.0),
    ("setup p50: libnet >= 20x faster than CNI", "cni", "libnet", "setup", ">=", 20.0),
    ("setup p50: libnet <= 1.5x the kernel's cost", "libnet", "kernel", "setup", "<=", 1.5),
    ("teardown p50: libnet >= 20x faster than netavark", "netavark", "libnet", "teardown", ">=", 20.0),
    ("teardown p50: libnet >= 20x faster than CNI", "cni", "libnet", "teardown", ">=", 20.0),
    ("teardown p50: libnet <= 1.5x the kernel's cost", "libnet", "kernel", "teardown", "<=", 1.5),
]
P99_SCALING_BOUND = 2.0   # libnet's p99 at the largest n <= 2x its p99 at the smallest
# libnet's sandbox.delete() leaves the unmount to a background thread, the
# kernel row unmounts inline: the like-for-like teardown figure is the total,
# from the first teardown until the last namespace is unmounted.
TOTAL_TARGET = ("teardown total (until unmounted), per container: libnet <= 1.5x the kernel's",
                "libnet", "kernel", 1.5)
# --rounds repeats these two, alternating which goes first; the targets that
# compare them then take the median of the rounds' ratios.
PAIRED = ("libnet", "kernel")
DEFAULT_ROUNDS = 3          # the command's default (run()'s is 1)


# ---------------------------------------------------------------------------- statistics

def _cpu_s() -> float:
    """CPU time of this process's threads and of its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def percentiles(values_s: Sequence[float]) -> dict[str, float] | None:
    """p50, p90, p99, max, mean (milliseconds) by nearest rank."""
    if not values_s:
        return None
    v = sorted(values_s)
    n = len(v)

    def rank(q: float) -> float:
        return v[max(0, math.ceil(q * n) - 1)] * 1e3

    return {"p50_ms": round(rank(0.50), 4), "p90_ms": round(rank(0.90), 4),
            "p99_ms": round(rank(0.99), 4), "max_ms": round(v[-1] * 1e3, 4),
            "mean_ms": round(sum(v) / n * 1e3, 4), "count": n}


def _memory_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM (Linux: writing 5 to clear_refs) so each system's peak is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- progress

class Progress:
    """One status line on stderr, rewritten in place (only on a terminal)."""

    def __init__(self, enabled: bool, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self._last = 0.0
        self._width = 0

    def update(self, system: str, stage: str, done: int, total: int, last_s: float,
               force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and done < total:
            return
        self._last = now
        bar_w = 24
        fill = int(bar_w * done / total) if total else bar_w
        text = (f"{system:<9} {stage:<8} [{'#' * fill}{'.' * (bar_w - fill)}] "
                f"{done}/{total}  last {last_s * 1e3:7.2f} ms")
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def line(self, text: str) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(text + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------- one system

def _settle(host: netns.NetNS, timeout: float = SETTLE_TIMEOUT) -> float:
    """Wait until the kernel has destroyed the torn-down containers' veths
    (namespaces are destroyed asynchronously, in a workqueue under RTNL),
    so the next system does not compete with that cleanup.  Returns the wait."""
    from ..netlink import RouteSocket
    t0 = time.monotonic()
    with RouteSocket(host) as rs:
        while any(link.kind == "veth" for link in rs.link_dump(kind="veth")):
            if time.monotonic() - t0 > timeout:
                break
            time.sleep(0.05)
    return time.monotonic() - t0


def _cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)     # idle + iowait
    return float(sum(fields) - idle), float(sum(fields))


def _wait_idle(limit: float = IDLE_LIMIT, timeout: float = IDLE_TIMEOUT,
               window: float = 0.25) -> float:
    """Wait until the machine is quiet: under ``limit`` of one CPU busy over
    ``window``, or ``timeout`` seconds.  The kernel destroys namespaces in a
    workqueue long after their last reference went (the previous system's,
    or a previous run's), and that work would land in the next system's
    figures.  Returns the wait."""
    ncpu = os.cpu_count() or 1
    t0 = time.monotonic()
    busy0, total0 = _cpu_busy()
    while time.monotonic() - t0 < timeout:
        time.sleep(window)
        busy1, total1 = _cpu_busy()
        if total1 > total0 and (busy1 - busy0) / (total1 - total0) * ncpu < limit:
            break
        busy0, total0 = busy1, total1
    return time.monotonic() - t0


def run_system(system: System, n: int, rundir: RunDir, progress: Progress,
               live: list[Callable[[], None]], idle_timeout: float = IDLE_TIMEOUT) -> dict[str, Any]:
    """Set up n containers with ``system``, then tear them down last first."""
    name = system.name
    idle_wait = _wait_idle(timeout=idle_timeout)
    rundir.remove(name)             # an earlier round's state: every round starts afresh
    host = netns.create(f"host-{name}", rundir.sub("netns"))
    run = rundir.tmpfs(name, "run")
    ctx = Context(name, host, rundir.sub(name), rundir.sub(name, "run", "netns"), run_dir=run)
    result: dict[str, Any] = {"status": "ok", "description": system.description,
                              "phases_order": list(system.phases), "notes": ctx.notes,
                              "idle_wait_s": round(idle_wait, 3)}
    if idle_timeout > 0 and idle_wait >= idle_timeout:
        ctx.notes.append(f"started after {idle_timeout:.0f} s without a quiet moment "
                         "(the machine was busy)")
    setup_s: list[float] = []
    teardown_s: list[float] = []
    phases: dict[str, list[float]] = {p: [] for p in system.phases}
    handles: list[Any] = []
    started = interrupted = False

    def abort() -> None:
        # On Ctrl-C: the namespaces go with the run directory; only release
        # the system's sockets so nothing keeps them alive.
        if started:
            try:
                system.abort()
            except Exception:
                pass
        host.close()

    live.append(abort)
    gc.collect()
    rss_before = _memory_kb("VmRSS")
    hwm_reset = _reset_peak_rss()
    try:
        system.start(ctx)
        started = True
        cpu_setup, prep_cpu = _cpu_s(), 0.0
        t_setup = time.perf_counter()
        for i in range(n):
            c = spec(i)
            p0 = time.thread_time()
            prep = system.prepare(c)
            prep_cpu += time.thread_time() - p0
            clock = Clock()
            handles.append(system.setup(c, prep, clock))
            end = clock.marks[-1][1] if clock.marks else time.perf_counter()
            setup_s.append(end - clock.t0)
            for p, d in clock.phases().items():
                phases.setdefault(p, []).append(d)
            progress.update(name, "setup", i + 1, n, setup_s[-1])
        t_setup = time.perf_counter() - t_setup
        cpu_setup = _cpu_s() - cpu_setup - prep_cpu
        rss_full = _memory_kb("VmRSS")
        peak = _memory_kb("VmHWM") if hwm_reset else None
        t_down = time.perf_counter()
        while handles:
            h = handles.pop()
            t0 = time.perf_counter()
            system.teardown(h)
            teardown_s.append(time.perf_counter() - t0)
            progress.update(name, "teardown", len(teardown_s), n, teardown_s[-1])
        t_release = time.perf_counter()
        system.finish_teardown()      # work a teardown left to a background thread
        t_release = time.perf_counter() - t_release
        t_down = time.perf_counter() - t_down
        teardown_s.reverse()          # index k: container k's teardown
    except BaseException:
        interrupted = True
        raise
    except Exception as e:
        result.update(status="failed", error=f"{type(e).__name__}: {e}",
                      traceback=traceback.format_exc(limit=4))
        progress.line(f"{name}: FAILED after {len(setup_s)} containers: {e}")
        while handles:                # undo what was set up, best effort
            try:
                system.teardown(handles.pop())
            except Exception:
                pass
        t_setup = t_down = t_release = 0.0
        rss_full = peak = None
    finally:
        if not interrupted:
            if started:
                try:
                    system.stop()
                except Exception as e:      # the host namespace goes anyway
                    ctx.notes.append(f"stop: {type(e).__name__}: {e}")
            live.remove(abort)
    if result["status"] == "ok":
        result["settle_s"] = round(_settle(host), 3)
    host.close()
    netns.delete(host)
    time.sleep(0.2)

    result.update({
        "containers": len(setup_s) if result["status"] == "ok" else 0,
        "setup": percentiles(setup_s),
        "teardown": percentiles(teardown_s),
        "phases": {p: percentiles(v) if v else None for p, v in phases.items()},
        "total_setup_s": round(t_setup, 4),
        # every thread's and child process's, prepare() excluded: work a
        # system moves to another thread (libnet's namespaces made ahead)
        # shows here, not in its latency
        "setup_cpu_ms": round(1e3 * cpu_setup / n, 3) if n and result["status"] == "ok" else None,
        "total_teardown_s": round(t_down, 4),      # the background release included
        "teardown_release_s": round(t_release, 4),
        "total_s": round(t_setup + t_down, 4),
        "containers_per_s": round(n / t_setup, 2) if t_setup else None,
        "memory": {
            "in_process": system.in_process,
            "harness_rss_before_kb": rss_before,
            "harness_rss_with_all_containers_kb": rss_full,
            "harness_peak_rss_kb": peak,
            "harness_rss_growth_kb": (rss_full - rss_before) if rss_full and rss_before else None,
        },
        "series_ms": {"setup": [round(x * 1e3, 4) for x in setup_s],
                      "teardown": [round(x * 1e3, 4) for x in teardown_s]},
    })
    result.update(system.extra())
    if not system.in_process:
        result["memory"]["note"] = ("the peer's processes are not measured (a child's "
                                    "ru_maxrss includes the harness it was forked from)")
    return result


def prefix_stats(result: dict[str, Any], n: int) -> dict[str, Any] | None:
    """Statistics of containers 0..n-1 (see the module docstring)."""
    series = result.get("series_ms") or {}
    if len(series.get("setup", ())) < n or n <= 0:
        return None
    return {k: percentiles([x / 1e3 for x in series[k][:n]]) for k in ("setup", "teardown")}


# ---------------------------------------------------------------------------- targets

def round_summary(result: dict[str, Any], scaling: Sequence[int] = ()) -> dict[str, Any]:
    """What a repeated round keeps of a system's run: its p50s, its total
    teardown, and its p99s at the ``scaling`` points (``p99_ms_at``)."""
    ok = result.get("status") == "ok"
    at: dict[str, dict[str, float]] = {}
    for n in scaling if ok else ():
        st = prefix_stats(result, n)
        if st is not None:
            at[str(n)] = {k: st[k]["p99_ms"] for k in ("setup", "teardown")}
    return {"status": result.get("status"), "containers": result.get("containers", 0),
            "setup_p50_ms": result["setup"]["p50_ms"] if ok and result.get("setup") else None,
            "teardown_p50_ms": (result["teardown"]["p50_ms"]
                                if ok and result.get("teardown") else None),
            "total_teardown_s": result.get("total_teardown_s") if ok else None,
            "p99_ms_at": at}


def _over_rounds(row: dict[str, Any], a: dict[str, Any], b: dict[str, Any], key: str,
                 first: float) -> float:
    """The ratio of ``a`` to ``b`` over their paired rounds (--rounds): the
    median of the rounds' ratios, each listed in the row; ``first`` (round
    1's) when there are none."""
    ra, rb = a.get("rounds") or [], b.get("rounds") or []
    if len(ra) < 2 or len(ra) != len(rb):
        return first
    ratios = [x[key] / y[key] for x, y in zip(ra, rb)
              if x.get(key) and y.get(key) and x["containers"] == y["containers"]]
    if len(ratios) != len(ra):
        row["why"] = "a repeated round failed: round 1 only"
        return first
    row["rounds"] = [round(r, 3) for r in ratios]
    row["why"] = (f"median of {len(ratios)} rounds, alternating which runs first: "
                  + ", ".join(f"{r:.2f}" for r in ratios))
    return statistics.median(ratios)


def _growth_over_rounds(row: dict[str, Any], lib: dict[str, Any], metric: str, lo: int,
                        hi: int, first: float) -> float:
    """libnet's p99 growth from ``lo`` to ``hi`` containers over its rounds
    (--rounds): the median of the rounds' growths, each listed in the row;
    ``first`` (round 1's) when a round lacks the two points.  A p99 at
    n=100 is the second-largest of 100 values: one round turns on a few
    containers' tails, and this machine's minutes differ."""
    rounds = lib.get("rounds") or []
    growths = []
    for r in rounds:
        at = r.get("p99_ms_at") or {}
        a, b = at.get(str(lo), {}).get(metric), at.get(str(hi), {}).get(metric)
        if not a or not b:
            return first
        growths.append(b / a)
    if len(growths) < 2:
        return first
    row["rounds"] = [round(g, 3) for g in growths]
    row["why"] = (f"median of {len(growths)} rounds: "
                  + ", ".join(f"{g:.2f}" for g in growths))
    return statistics.median(growths)


def evaluate_targets(results: dict[str, Any], scaling: Sequence[int]) -> list[dict[str, Any]]:
    """Each of the issue's targets with its measured ratio and verdict
    (None when a system is missing).  Ratios compare p50s at the same
    number of containers (the smaller of the two systems')."""
    systems = results["systems"]
    out = []
    for name, sysname, ref, metric, op, bound in TARGETS:
        a, b = systems.get(sysname), systems.get(ref)
        row: dict[str, Any] = {"target": name, "metric": f"{metric} p50", "op": op,
                               "bound": bound, "ratio": None, "passed": None}
        if a and b and a.get("status") == "ok" and b.get("status") == "ok":
            n = min(a["containers"], b["containers"])
            sa, sb = prefix_stats(a, n), prefix_stats(b, n)
            if sa and sb and sa[metric] and sb[metric] and sb[metric]["p50_ms"] > 0:
                ratio = sa[metric]["p50_ms"] / sb[metric]["p50_ms"]
                ratio = _over_rounds(row, a, b, f"{metric}_p50_ms", ratio)
                row.update(ratio=round(ratio, 3), at_containers=n,
                           passed=ratio >= bound if op == ">=" else ratio <= bound)
        else:
            missing = [s for s, r in ((sysname, a), (ref, b)) if not r or r.get("status") != "ok"]
            row["why"] = f"not measured: {', '.join(missing)}"
        out.append(row)
    name, sysname, ref, bound = TOTAL_TARGET
    a, b = systems.get(sysname), systems.get(ref)
    row = {"target": name, "metric": "total_teardown_s / containers", "op": "<=",
           "bound": bound, "ratio": None, "passed": None}
    if (a and b and a.get("status") == "ok" and b.get("status") == "ok"
            and a["containers"] == b["containers"] and b["total_teardown_s"] > 0):
        ratio = a["total_teardown_s"] / b["total_teardown_s"]
        ratio = _over_rounds(row, a, b, "total_teardown_s", ratio)
        row.update(ratio=round(ratio, 3), at_containers=a["containers"], passed=ratio <= bound)
    else:
        row["why"] = "needs libnet and the kernel at the same n"
    out.append(row)
    lib = systems.get("libnet")
    pts = sorted(p for p in scaling if lib and lib.get("status") == "ok" and p <= lib["containers"])
    for metric in ("setup", "teardown"):
        row = {"target": f"{metric} p99: libnet's at the largest n <= "
                         f"{P99_SCALING_BOUND:g}x at the smallest",
               "metric": f"{metric} p99", "op": "<=", "bound": P99_SCALING_BOUND,
               "ratio": None, "passed": None}
        if len(pts) >= 2:
            lo, hi = prefix_stats(lib, pts[0]), prefix_stats(lib, pts[-1])
            ratio = hi[metric]["p99_ms"] / lo[metric]["p99_ms"]   # type: ignore[index]
            ratio = _growth_over_rounds(row, lib, metric, pts[0], pts[-1], ratio)
            row.update(ratio=round(ratio, 3), passed=ratio <= P99_SCALING_BOUND,
                       at_containers=[pts[0], pts[-1]])
            if pts[-1] < 2000 or pts[0] > 100:
                where = f"measured at n={pts[0]} and n={pts[-1]} (the issue: 100 and 2,000)"
                row["why"] = f"{where}; {row['why']}" if row.get("why") else where
        else:
            row["why"] = "needs two scaling points with libnet"
        out.append(row)
    return out


# ---------------------------------------------------------------------------- output

def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x / 1e3:.2f} s"
    if x >= 10:
        return f"{x:.1f} ms"
    return f"{x:.2f} ms"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def render_table(results: dict[str, Any]) -> str:
    """The summary a person reads: per system, per-container setup and
    teardown p50/p99 and the ratio to libnet's; phases; scaling; targets."""
    systems = results["systems"]
    lib = systems.get("libnet") if (systems.get("libnet") or {}).get("status") == "ok" else None
    out = [f"libnet density benchmark: up to {results['containers']} containers per system "
           f"(n), {PORTS} published ports each; per-container latency, ratios at the same n"]
    rows = []
    skipped = []
    for name, r in systems.items():
        if r.get("status") != "ok":
            skipped.append(f"  {name}: {r.get('status')}: {r.get('note') or r.get('error')}")
            continue
        ls = prefix_stats(lib, r["containers"]) if lib else None
        def ratio(metric: str) -> str:
            if not ls or not ls[metric] or not r[metric]:
                return "-"
            return f"{r[metric]['p50_ms'] / ls[metric]['p50_ms']:.1f}x"
        mem = r["memory"]
        if mem.get("in_process"):
            m = mem.get("harness_rss_growth_kb")
            pk = mem.get("harness_peak_rss_kb")
            memtxt = (f"+{m / 1024:.1f} MiB held" if m is not None else "-") + (
                f", peak {pk / 1024:.0f} MiB" if pk else "")
        else:
            memtxt = "(processes)"
        rows.append((name, str(r["containers"]), _ms(r["setup"]["p50_ms"]),
                     _ms(r["setup"]["p99_ms"]), ratio("setup"), _ms(r["teardown"]["p50_ms"]),
                     _ms(r["teardown"]["p99_ms"]), ratio("teardown"),
                     f"{r['containers_per_s']:.0f}" if r.get("containers_per_s") else "-",
                     f"{r['total_s']:.1f} s", memtxt))
    out.append(_table(("system", "n", "setup p50", "setup p99", "x libnet", "teardown p50",
                       "teardown p99", "x libnet", "ctr/s", "total", "memory"), rows))
    if skipped:
        out.append("not measured:")
        out += skipped

    out.append("")
    out.append("setup phases, p50 (p99):")
    prow = []
    for name, r in systems.items():
        if r.get("status") != "ok":
            continue
        cells = []
        for p in r["phases_order"]:
            st = r["phases"].get(p)
            cells.append(f"{p} {_ms(st['p50_ms'])} ({_ms(st['p99_ms'])})" if st
                         else f"{p}: in join")
        cpu = r.get("setup_cpu_ms")
        prow.append((name, "  ".join(cells), _ms(cpu) if cpu is not None else "-"))
    out.append(_table(("system", "phases", "cpu/container"), prow))

    scaling = results.get("scaling") or []
    if len(scaling) > 1:
        out.append("")
        out.append("scaling: p50 / p99 of containers 0..n-1 (setup | teardown)")
        srows = []
        for name, r in systems.items():
            if r.get("status") != "ok":
                continue
            cells = [name]
            for n in scaling:
                st = prefix_stats(r, n)
                cells.append(f"{_ms(st['setup']['p50_ms'])}/{_ms(st['setup']['p99_ms'])} | "
                             f"{_ms(st['teardown']['p50_ms'])}/{_ms(st['teardown']['p99_ms'])}"
                             if st else "-")
            srows.append(cells)
        out.append(_table(("system", *[f"n={n}" for n in scaling]), srows))

    out.append("")
    out.append("targets (issue 6):")
    trows = []
    for t in results.get("targets", []):
        verdict = "n/a" if t["passed"] is None else ("PASS" if t["passed"] else "FAIL")
        trows.append((t["target"], "-" if t["ratio"] is None else f"{t['ratio']:.2f}x",
                      verdict, t.get("why", "")))
    out.append(_table(("target", "measured", "result", "note"), trows))
    notes = [f"  {name}: {n}" for name, r in systems.items() for n in r.get("notes", [])]
    if notes:
        out.append("")
        out.append("notes:")
        out += notes
    return "\n".join(out)


# ---------------------------------------------------------------------------- the run

def _host_facts() -> dict[str, Any]:
    return {"kernel": platform.release(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version()}


def run(n: int, systems: Sequence[str], scaling: Sequence[int], run_dir: str | None = None,
        progress: Progress | None = None, peer_containers: int | None = None,
        idle_timeout: float = IDLE_TIMEOUT, rounds: int = 1) -> dict[str, Any]:
    """Run the benchmark; the results as a JSON-able dict.  Raises
    KeyboardInterrupt after cleaning up if interrupted.  ``peer_containers``
    caps the systems that run processes (they take 0.1-0.5 s a container);
    ratios to libnet are then taken at their n.  Before each system, wait
    up to ``idle_timeout`` seconds for the machine to be quiet.

    ``rounds`` > 1 runs libnet and the kernel baseline (if both are asked
    for) that many times in all, alternating which goes first: their ratio
    targets, and libnet's p99 growth, then take the median of the rounds',
    since this kind of machine drifts between runs by more than the targets'
    margins.  The tables, phases and scaling are round 1's."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    progress = progress or Progress(False)
    rundir = RunDir(run_dir)
    leftovers = rundir.acquire()
    if leftovers:
        progress.line(f"removed {len(leftovers)} leftovers of an earlier run under {rundir.path}")
    live: list[Callable[[], None]] = []
    results: dict[str, Any] = {
        "benchmark": "libnet density", "version": 1,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": _host_facts(), "containers": n, "ports_per_container": PORTS,
        "containers_per_network": PER_NETWORK, "scaling": list(scaling),
        "peer_containers": peer_containers, "rounds": rounds,
        "run_dir": rundir.path, "leftovers_removed": len(leftovers), "systems": {},
    }
    try:
        for name in systems:
            system = SYSTEMS[name]()
            why = system.missing()
            if why:
                results["systems"][name] = {"status": "skipped", "note": why}
                progress.line(f"{name}: skipped: {why}")
                continue
            count = n if system.in_process or not peer_containers else min(n, peer_containers)
            r = run_system(system, count, rundir, progress, live, idle_timeout)
            results["systems"][name] = r
            if r["status"] == "ok":
                progress.line(f"{name:<9} setup p50 {_ms(r['setup']['p50_ms'])}  "
                              f"teardown p50 {_ms(r['teardown']['p50_ms'])}  "
                              f"({r['total_s']:.1f} s)")
        paired = [results["systems"].get(name) for name in PAIRED]
        if rounds > 1 and all(r and r.get("status") == "ok" for r in paired):
            for r in paired:
                r["rounds"] = [round_summary(r, scaling)]          # type: ignore[index]
            for k in range(2, rounds + 1):
                for name in (PAIRED[::-1] if k % 2 == 0 else PAIRED):
                    r = run_system(SYSTEMS[name](), n, rundir, progress, live, idle_timeout)
                    results["systems"][name]["rounds"].append(round_summary(r, scaling))
                    if r["status"] == "ok":
                        progress.line(f"{name:<9} round {k}: setup p50 "
                                      f"{_ms(r['setup']['p50_ms'])}  teardown p50 "
                                      f"{_ms(r['teardown']['p50_ms'])}")
    except BaseException:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)   # let the cleanup finish
        try:
            progress.line(f"interrupted: cleaning up {rundir.path}")
            for abort in reversed(live):
                abort()
            rundir.release()
        finally:
            signal.signal(signal.SIGINT, old)
        raise
    rundir.release()
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["targets"] = evaluate_targets(results, scaling)
    return results


def _csv_ints(text: str) -> list[int]:
    try:
        vals = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    if not vals or any(v <= 0 for v in vals):
        raise argparse.ArgumentTypeError("numbers must be positive")
    return sorted(set(vals))


def _csv_systems(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in SYSTEMS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown system(s) {', '.join(bad) or '(none)'}; known: {', '.join(SYSTEMS)}")
    return list(dict.fromkeys(names))


# The peers start processes per container and cost 0.1-0.8 s each: capped
# by default so that `libnet bench` with no flags finishes in a few minutes.
DEFAULT_PEER_CONTAINERS = 100


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-n", "--containers", type=int, default=None,
                   help="containers per system (default 1000, or the largest --scaling point)")
    p.add_argument("--systems", type=_csv_systems, default=_csv_systems(DEFAULT_SYSTEMS),
                   help=f"comma-separated, in run order (default {DEFAULT_SYSTEMS})")
    p.add_argument("--scaling", type=_csv_ints, default=None,
                   help="container counts to report (and plot), e.g. 100,500,1000,2000; "
                        "the run goes to the largest (default: 100,500,1000,2000 up to -n)")
    p.add_argument("--peer-containers", type=int, default=DEFAULT_PEER_CONTAINERS, metavar="M",
                   help="at most M containers for the peers that run processes (netavark, "
                        "cni, naive: 0.1-0.8 s each); ratios to libnet are taken at the same n "
                        f"(default {DEFAULT_PEER_CONTAINERS}, so that the default run takes a "
                        "few minutes on 2 cores; 0 for no cap)")
    p.add_argument("--json", action="store_true",
                   help="print the results as JSON on stdout (the table goes to stderr)")
    p.add_argument("-o", "--output", metavar="FILE", help="also write the JSON results to FILE")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw per-container latency against n for every system (needs matplotlib)")
    p.add_argument("--run-dir", default=None,
                   help=f"where the run keeps its state (default {default_path()}); "
                        "cleaned at start and at exit")
    p.add_argument("--idle-wait", type=float, default=IDLE_TIMEOUT, metavar="SECONDS",
                   help="before each system, wait up to SECONDS for the machine to be quiet "
                        f"(under {IDLE_LIMIT:g} of a CPU busy), so that the kernel's destruction "
                        "of earlier namespaces does not land in its figures (default "
                        f"{IDLE_TIMEOUT:g}; 0: do not wait)")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, metavar="K",
                   help="run libnet and the kernel baseline K times in all, alternating which "
                        "goes first; the targets comparing them take the median of the K "
                        f"ratios (the tables show round 1; default {DEFAULT_ROUNDS}; 1: once)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")


def command(args: argparse.Namespace) -> int:
    """``libnet bench``: run, print the table (and JSON, plot)."""
    if os.geteuid() != 0:
        print("libnet bench: needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to create network "
              "namespaces; run: sudo unshare --net --mount libnet bench", file=sys.stderr)
        return 2
    scaling = args.scaling
    n = args.containers
    if n is None:
        n = max(scaling) if scaling else 1000
    if n <= 0 or n > MAX_CONTAINERS:
        print(f"libnet bench: -n must be in 1..{MAX_CONTAINERS}", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("libnet bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    if scaling is None:
        scaling = sorted({p for p in DEFAULT_SCALING if p < n} | {n})
    elif max(scaling) > n:
        if args.containers is not None:
            print(f"libnet bench: --scaling goes past -n {n}", file=sys.stderr)
            return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("libnet bench: --plot needs matplotlib (pip install 'libnet[plot]')",
                  file=sys.stderr)
            return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    progress = Progress(not args.quiet)
    try:
        results = run(n, args.systems, scaling, args.run_dir, progress, args.peer_containers,
                      args.idle_wait, args.rounds)
    except RunInProgress as e:
        print(f"libnet bench: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("libnet bench: interrupted; everything it made was removed", file=sys.stderr)
        return 130
    table = render_table(results)
    if args.json:
        print(table, file=sys.stderr)
        json.dump(results, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(table)
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=1)
    if args.plot:
        from .plot import plot
        plot(results, args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="density", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return command(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
