"""Controller benchmark (issue 4): 1,000 containers on one bridge network.

Run inside a network and mount namespace of its own; every benchmark makes
its own throwaway namespaces, and the controller's host is one of them:

    unshare --net --mount python3 -m pytest bench/test_bench_controller.py

One round of a benchmark here is one container (pytest-benchmark pedantic,
``rounds`` = the number of containers, ``LIBNET_BENCH_CONTAINERS``, default
1,000): its median is the per-container p50, and ``extra_info`` holds the
p90 / p99 / max / total and more.  Containers stay in place between the
setup and the teardown benchmark of a contender, so teardown is measured
with 1,000 containers present, as setup is with up to 1,000.  The kernel's
own cost of the same work is the baseline, in the same run (see
controller_cases.py for what each contender does); after the last test a
table of percentiles and of where libnet's time goes is printed.
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import time

import pytest

import benchtable
import controller_cases as cc

benchtable.register(cc.TARGETS)

N = cc.CONTAINERS


# ------------------------------------------------------------------ report

class Report:
    """Figures gathered by the tests, printed after the module's last test."""

    def __init__(self) -> None:
        self.dists: dict[tuple[str, str], dict[str, float]] = {}
        self.kernel_phases: dict[str, float] = {}
        self.libnet_ops: dict[str, dict[str, float]] = {}
        self.libnet_phases: dict[str, list[tuple[str, float, float, float]]] = {}
        self.libnet_inclusive: dict[str, float] = {}
        self.phase_n = 0
        self.profile = ""

    def render(self) -> str:
        out = [f"controller benchmark: {N} containers on one bridge network ({cc.SUBNET}), "
               "per container, ms"]
        head = ("operation", "contender", "p50", "p90", "p99", "max", "mean", "total s",
                "p50 1st 10%", "p50 last 10%", "p50 x kernel")
        rows = [head]
        for (op, who), d in self.dists.items():
            ker = self.dists.get((op, "kernel"))
            rows.append((op, who, cc.fmt_ms(d["p50"]), cc.fmt_ms(d["p90"]), cc.fmt_ms(d["p99"]),
                         cc.fmt_ms(d["max"]), cc.fmt_ms(d["mean"]), f"{d['total']:.2f}",
                         cc.fmt_ms(d["p50_first_tenth"]), cc.fmt_ms(d["p50_last_tenth"]),
                         f"{d['p50'] / ker['p50']:.2f}" if ker else ""))
        out += _table(rows)
        for key, what in (("until_released", "until every namespace is unmounted"),
                          ("until_clean", "until the kernel has destroyed the namespaces and veths")):
            t = {who: d[key] for (op, who), d in self.dists.items() if key in d}
            if t:
                out.append(f"teardown {what} (wall time / containers): " + ", ".join(
                    f"{who} {cc.fmt_ms(v)}" for who, v in t.items())
                    + (f" ({t['libnet'] / t['kernel']:.2f}x)"
                       if {"libnet", "kernel"} <= t.keys() else ""))
        # Teardown is judged until the last namespace is unmounted: libnet's
        # calls leave the unmount to a background thread.
        for op, key, what, aside in (
                ("setup", "p50", "setup p50", lambda lib, ker: f"mean {lib['mean'] / ker['mean']:.2f}x"),
                ("teardown", "until_released", "teardown until unmounted",
                 lambda lib, ker: f"per call, the unmount not included: p50 "
                                  f"{lib['p50'] / ker['p50']:.2f}x")):
            lib, ker = self.dists.get((op, "libnet")), self.dists.get((op, "kernel"))
            if lib and ker:
                ratio = lib[key] / ker[key]
                out.append(f"target (issue 4): libnet {what} <= 1.5x kernel: "
                           f"{'PASS' if ratio <= 1.5 else 'FAIL'} {ratio:.2f}x ({aside(lib, ker)})")
        if self.kernel_phases:
            out.append("")
            out.append("kernel, setup steps (median per container, ms): " + ", ".join(
                f"{k} {cc.fmt_ms(v)}" for k, v in self.kernel_phases.items()))
        if self.libnet_ops:
            out.append("")
            out.append(f"libnet, instrumented run of {self.phase_n} containers "
                       "(wrappers add a few us per call):")
            out.append("  per call, median ms: " + ", ".join(
                f"{k} {cc.fmt_ms(v['p50'])}" for k, v in self.libnet_ops.items()))
            if self.libnet_inclusive:
                out.append("  comparable steps, median ms (libnet | kernel): " + ", ".join(
                    f"{k} {cc.fmt_ms(v)} | {cc.fmt_ms(self.kernel_phases.get(k, float('nan')))}"
                    for k, v in self.libnet_inclusive.items()))
        for op, phases in self.libnet_phases.items():
            rows = [("phase (self time)", "ms per container", "share", "calls per container",
                     "median call ms (incl.)")]
            total = sum(t for _, t, _, _ in phases)
            for label, t, calls, med in phases:
                rows.append((label, cc.fmt_ms(t), f"{100 * t / total:.1f}%", f"{calls:g}",
                             f"(container: {cc.fmt_ms(med)})" if label == cc.REST_LABEL
                             else cc.fmt_ms(med)))
            rows.append(("all", cc.fmt_ms(total), "100%", "", ""))
            out.append("")
            out.append(f"libnet {op}: where the time goes")
            out += _table(rows)
        if self.profile:
            out += ["", self.profile]
        return "\n".join(out)


def _table(rows: list[tuple]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


@pytest.fixture(scope="module")
def report(request):
    rep = Report()
    yield rep
    terminal = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if terminal is None:
        return
    with capture.global_and_fixture_disabled():
        terminal.write_line("")
        for line in rep.render().splitlines():
            terminal.write_line(line)


# ------------------------------------------------------------------ rigs

@pytest.fixture(scope="module")
def run_root(env):
    """A tmpfs for run directories (namespace mounts, sandbox files)."""
    with cc.tmpfs(os.path.join(env.run_dir, "run")) as path:
        yield path


@pytest.fixture(scope="module")
def kernel_rig(env, run_root):
    rig = cc.KernelRig(env, N, run_root=run_root)
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def libnet_rig(env, run_root):
    rig = cc.LibnetRig(env, N, run_root=run_root)
    yield rig
    rig.close()


def _populate(rig) -> None:
    """Containers the teardown benchmark needs, if the setup one did not run."""
    for i in range(len(rig.live), rig.count):
        rig.setup_one(i)


def _record(benchmark, report: Report, op: str, contender: str) -> dict[str, float] | None:
    benchmark.extra_info["contender"] = contender
    if benchmark.disabled or benchmark.stats is None:
        return None
    d = cc.distribution(list(benchmark.stats.stats.data))
    benchmark.extra_info.update({f"{k}_ms" if k not in ("n",) else k: (v * 1e3 if k != "n" else v)
                                 for k, v in d.items()})
    report.dists[(op, contender)] = d
    return d


def _bench_setup(benchmark, report, rig) -> None:
    benchmark.group = "containers-setup"
    start = len(rig.live)
    if start:
        pytest.skip("containers exist already (run the setup benchmark first)")
    counter = iter(range(rig.count))
    gc.collect()
    benchmark.pedantic(rig.setup_one, setup=lambda: ((next(counter),), {}),
                       rounds=rig.count, iterations=1)
    rig.check()
    _record(benchmark, report, "setup", rig.contender)


def _bench_teardown(benchmark, report, rig) -> None:
    benchmark.group = "containers-teardown"
    _populate(rig)
    rig.check()
    doomed = list(rig.live)
    rig.live.clear()
    queue = iter(doomed)
    gc.collect()
    start = time.perf_counter()
    try:
        benchmark.pedantic(rig.teardown_one, setup=lambda: ((next(queue),), {}),
                           rounds=len(doomed), iterations=1)
    finally:
        rig.live.extend(queue)          # what was not torn down (disabled: all but one)
    for c in rig.live:
        rig.teardown_one(c)
    rig.live.clear()
    # libnet's unmounts run in the background (libnet.reaper), the kernel
    # rig's inline: from the first delete until the last namespace is
    # unmounted is the like-for-like teardown figure.  The kernel then
    # destroys the namespaces and veths asynchronously; how long until that
    # is done is reported too (per container, until the veths are gone).
    released = rig.wait_released() - start
    clean = rig.wait_clean() - start
    d = _record(benchmark, report, "teardown", rig.contender)
    if d is not None:
        d["until_released"] = released / len(doomed)
        d["until_clean"] = clean / len(doomed)
        benchmark.extra_info["until_released_ms_per_container"] = d["until_released"] * 1e3
        benchmark.extra_info["until_clean_ms_per_container"] = d["until_clean"] * 1e3


# ------------------------------------------------------------------ checks

def test_same_requests(env, run_root, monkeypatch):
    """The kernel baseline sends what libnet sends for a container: the same
    veth RTM_NEWLINK (but for the namespace fd) and host-end setting, the
    same in-sandbox requests, the same enslaving request, the same frame on
    the bridge and the same neighbour change."""
    from libnet import hostops
    from libnet.drivers.bridge.driver import host_ifname
    from libnet.netlink import route

    sent: list[tuple[str, bytes]] = []
    batches: list[list[bytes]] = []
    real_submit, real_send = route.RouteSocket._submit, route.Batch.send

    def submit(self, msg, op, keep=None):
        sent.append((op, msg))
        return real_submit(self, msg, op, keep)

    def send(self, check=True):
        batches.append(list(self._msgs))
        return real_send(self, check)

    frames: list[bytes] = []
    real_packet_socket = hostops.HostOps.packet_socket

    class Recorded:
        def __init__(self, sock):
            self.sock = sock

        def send(self, frame):
            frames.append(bytes(frame))
            return self.sock.send(frame)

        def close(self):
            self.sock.close()

    rig = cc.LibnetRig(env, 1, tag="same", run_root=run_root)
    try:
        monkeypatch.setattr(route.RouteSocket, "_submit", submit)
        monkeypatch.setattr(route.Batch, "send", send)
        monkeypatch.setattr(hostops.HostOps, "packet_socket",
                            lambda self, *a: Recorded(real_packet_socket(self, *a)))
        rig.setup_one(0)
        monkeypatch.undo()
        sb, ep = rig.live[0]
        (veth, *host_end) = [b for b in batches if b[0].find(b"veth") >= 0][0]
        (ours_veth, *ours_host_end) = cc.veth_messages(host_ifname(ep.id), ep.mac,
                                                       cc.NS_FD_SENTINEL)
        ours = bytearray(ours_veth)
        off = ours.find(cc.NS_FD_SENTINEL.to_bytes(4, "little"))
        ours[off:off + 4] = veth[off:off + 4]   # libnet's fd number
        assert bytes(ours) == veth
        assert host_end == ours_host_end
        addr = cc.ipaddress.ip_interface(ep.ipv4).ip
        (inside,) = [b for b in batches
                     if any(cc.nl.decode_messages(m)[0].type == cc.nl.RTM_NEWADDR for m in b)]
        # lo came up when the namespace was made (libnet.netns.make, in the
        # core): the join's batch is the rig's without it.
        (lo_up, *rest) = cc.sandbox_messages(addr)
        assert cc.nl.decode_messages(lo_up)[0].get("ifname") == "lo" and inside == rest
        (attach,) = [m for op, m in sent if op.startswith(f"link_set {host_ifname(ep.id)}")]
        assert attach == cc.attach_message(host_ifname(ep.id), rig.bridge)
        # No announcement (the derived MAC, on a bridge of libnet's own): no
        # frame, no host neighbour request.
        assert not [m for b in batches for m in b
                    if cc.nl.decode_messages(m)[0].type == cc.nl.RTM_NEWNEIGH]
        assert frames == [] and ep.mac == cc.mac_of(addr)
        cc.check_sandbox(sb.key)
    finally:
        monkeypatch.undo()
        rig.close()


# ------------------------------------------------------------------ benchmarks

def test_setup_kernel(benchmark, report, kernel_rig):
    """One round: one container's kernel work with pre-built messages: a
    namespace created and bind-mounted in-process (with a netlink socket
    opened inside), one RTM_NEWLINK (veth, peer eth0 in the namespace,
    master bridge, up), one send of lo up + address + eth0 up + default
    route on the sandbox socket, every ack read."""
    _bench_setup(benchmark, report, kernel_rig)
    if kernel_rig.phases:
        report.kernel_phases = {k: cc.statistics.median(v) for k, v in kernel_rig.phases.items()}
        benchmark.extra_info["steps_p50_ms"] = {k: v * 1e3 for k, v in report.kernel_phases.items()}


def test_teardown_kernel(benchmark, report, kernel_rig):
    """One round: delete one container's namespace (umount, unlink); the
    kernel removes eth0 and its veth peer with it, asynchronously."""
    _bench_teardown(benchmark, report, kernel_rig)


def test_setup_libnet(benchmark, report, libnet_rig):
    """One round: ``controller.new_sandbox(id, hostname=...)``,
    ``network.create_endpoint(name)``, ``endpoint.join(sandbox)``."""
    _bench_setup(benchmark, report, libnet_rig)


def test_teardown_libnet(benchmark, report, libnet_rig):
    """One round: ``sandbox.delete()``, ``endpoint.delete()``."""
    _bench_teardown(benchmark, report, libnet_rig)
    libnet_rig.check_empty()


def _phase_rows(timer: cc.PhaseTimer, n: int) -> list[tuple[str, float, float, float]]:
    rows = [(label, t / n, timer.calls[label] / n, cc.statistics.median(timer.inclusive[label]))
            for label, t in timer.self_time.items()]
    rows.sort(key=lambda r: -r[1])
    return rows


def test_libnet_breakdown(benchmark, report, env, run_root, monkeypatch):
    """One round: N containers set up, then torn down, by a controller whose
    every phase (namespace, veth, in-sandbox work, IPAM, store, files, option
    checks) is wrapped in a timer; each phase's self time is reported, and
    what no wrapper covers is the controller's own Python.  It releases
    deleted sandboxes inline (Config.release_in_background=False), so that
    the unmount is timed as a phase of the teardown, on this thread."""
    benchmark.group = "containers-breakdown"
    rig = cc.LibnetRig(env, N, tag="breakdown", run_root=run_root, release_in_background=False)
    timer = cc.PhaseTimer()
    result: dict[str, dict] = {}

    def run():
        cc.instrument(monkeypatch, timer, rig.controller)
        one = timer.wrap(cc.REST_LABEL, rig.setup_one_timed)
        for i in range(rig.count):
            one(i)
        result["setup"] = _snapshot(timer)
        timer.reset()
        rig.check()
        pairs = list(rig.live)
        rig.live.clear()
        one = timer.wrap(cc.REST_LABEL, rig.teardown_one_timed)
        for pair in pairs:
            one(pair)
        result["teardown"] = _snapshot(timer)
        monkeypatch.undo()

    def _snapshot(t):
        return {"rows": _phase_rows(t, rig.count),
                "inclusive": {k: cc.statistics.median(v) for k, v in t.inclusive.items()}}

    try:
        gc.collect()
        benchmark.pedantic(run, rounds=1, iterations=1)
        rig.check_empty()
        rig.wait_clean()
    finally:
        monkeypatch.undo()
        rig.close()
    report.phase_n = rig.count
    report.libnet_ops = {k: cc.distribution(v) for k, v in rig.phases.items()}
    for op in ("setup", "teardown"):
        report.libnet_phases[op] = result[op]["rows"]
        benchmark.extra_info[f"{op}_ms_per_container"] = {
            label: t * 1e3 for label, t, _, _ in result[op]["rows"]}
    inc = result["setup"]["inclusive"]
    report.libnet_inclusive = {
        "namespace": inc.get("namespace: create (unshare + bind mount)", float("nan")),
        "veth": inc.get("veth: RTM_NEWLINK (host socket)", float("nan")),
        "in-sandbox batch": inc.get("in-sandbox: enter/leave netns, encode verbs", float("nan")),
    }
    benchmark.extra_info["comparable_steps_p50_ms"] = {
        k: v * 1e3 for k, v in report.libnet_inclusive.items()}


@pytest.mark.skipif(not os.environ.get("LIBNET_BENCH_PROFILE"),
                    reason="set LIBNET_BENCH_PROFILE=FILE for a cProfile of libnet's setup and teardown")
def test_libnet_profile(benchmark, report, env, run_root):
    """One round: N containers set up and torn down under cProfile (slow;
    the profile goes to $LIBNET_BENCH_PROFILE and its top lines to the report)."""
    benchmark.group = "containers-profile"
    rig = cc.LibnetRig(env, N, tag="profile", run_root=run_root)
    prof = cProfile.Profile()

    def run():
        prof.enable()
        for i in range(rig.count):
            rig.setup_one(i)
        pairs = list(rig.live)
        rig.live.clear()
        for pair in pairs:
            rig.teardown_one(pair)
        prof.disable()

    try:
        benchmark.pedantic(run, rounds=1, iterations=1)
        rig.wait_clean()
    finally:
        rig.close()
    prof.dump_stats(os.environ["LIBNET_BENCH_PROFILE"])
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
    report.profile = "cProfile, setup + teardown, by own time:\n" + buf.getvalue()
