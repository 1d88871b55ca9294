"""The density benchmark harness (``libnet bench``): it runs with N=5 for
each system present, its JSON parses and has the fields, it leaves nothing
behind (run directory, namespace mounts, the caller's links and tables),
and a run killed half-way is cleaned up by the next.

The harness runs as a subprocess, as a user runs it; it makes its own host
namespaces under the run directory given here.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from libnet.benchmark.density import (SYSTEMS, evaluate_targets, percentiles, prefix_stats,
                                      render_table, round_summary)
from libnet.benchmark.rundir import mounts_under

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root (CAP_SYS_ADMIN) to create network namespaces")

SETUP_FIELDS = {"p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "count"}


def bench(run_dir: str, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "libnet.cli", "bench", "--run-dir", run_dir,
                           "-q", "--idle-wait", "0", *args], capture_output=True, text=True,
                          timeout=120, **kw)


def start(run_dir: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "libnet.cli", "bench", "--run-dir", run_dir,
                             "-q", "--idle-wait", "0", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def own_netns_state() -> tuple:
    """The caller's links and nf_tables tables (the harness must not touch them)."""
    from libnet.netlink import NftSocket, RouteSocket
    with RouteSocket() as rs:
        links = sorted((link.name, link.kind) for link in rs.link_dump())
    with NftSocket() as nft:
        tables = sorted((t.family, t.name) for t in nft.tables())
    return links, tables


def assert_clean(run_dir: str) -> None:
    assert not os.path.exists(run_dir) or os.listdir(run_dir) == [], os.listdir(run_dir)
    assert mounts_under(run_dir) == []


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """One run of every system with N=5, and the caller's state around it."""
    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_SYS_ADMIN) to create network namespaces")
    run_dir = str(tmp_path_factory.mktemp("density") / "bench")
    before = own_netns_state()
    p = bench(run_dir, "-n", "5", "--systems", ",".join(SYSTEMS), "--scaling", "2,5", "--json")
    assert p.returncode == 0, p.stderr
    after = own_netns_state()
    return json.loads(p.stdout), p.stderr, run_dir, before, after


@needs_root
@pytest.mark.parametrize("system", list(SYSTEMS))
def test_each_present_system_runs(results, system):
    data, _, _, _, _ = results
    r = data["systems"][system]
    if r["status"] == "skipped":
        pytest.skip(f"{system} is not installed here: {r['note']}")
    assert r["status"] == "ok", r.get("error")
    assert r["containers"] == 5
    for metric in ("setup", "teardown"):
        assert set(r[metric]) == SETUP_FIELDS
        assert 0 < r[metric]["p50_ms"] <= r[metric]["p99_ms"] <= r[metric]["max_ms"]
        assert len(r["series_ms"][metric]) == 5
    assert list(r["phases"]) == r["phases_order"]
    for p, st in r["phases"].items():
        assert st is None or set(st) == SETUP_FIELDS, p
    assert r["total_s"] > 0 and r["containers_per_s"] > 0
    # CPU time per container, every thread and child process: libnet's
    # namespaces made ahead by its thread count there, not in the latency.
    assert 0 < r["setup_cpu_ms"] < 1e3 * r["total_setup_s"] / r["containers"] * 2.5
    if system == "libnet":
        assert any("made ahead" in n for n in r["notes"])
    assert r["idle_wait_s"] < 0.05              # --idle-wait 0: no wait
    assert {"in_process", "harness_peak_rss_kb", "harness_rss_growth_kb"} <= set(r["memory"])


@needs_root
def test_json_has_the_run_fields_and_targets(results):
    data, stderr, _, _, _ = results
    for key in ("host", "containers", "ports_per_container", "scaling", "systems", "targets",
                "started", "finished"):
        assert key in data
    assert data["containers"] == 5 and data["ports_per_container"] == 4
    assert data["scaling"] == [2, 5]
    # By default libnet and the kernel run three times; their targets take the median.
    assert data["rounds"] == 3
    assert len(data["systems"]["libnet"]["rounds"]) == len(data["systems"]["kernel"]["rounds"]) == 3
    (setup,) = [t for t in data["targets"] if t["target"].startswith("setup p50: libnet <= 1.5x")]
    assert len(setup["rounds"]) == 3
    assert len(data["targets"]) == 9
    for t in data["targets"]:
        assert t["passed"] in (True, False, None)
        assert (t["ratio"] is None) == (t["passed"] is None)
    # The table went to stderr, with every system named.
    assert "targets (issue 6)" in stderr
    for name in SYSTEMS:
        assert name in stderr


@needs_root
def test_libnet_reports_its_ports(results):
    r = results[0]["systems"]["libnet"]
    assert r["ports_programmed"] in (True, False)
    assert len(r["portmap_sample"]) == 4
    # Its unmounts ran in the background; the teardown total waited for them.
    assert 0 <= r["teardown_release_s"] <= r["total_teardown_s"]
    assert any("background thread" in n for n in r["notes"])


@needs_root
def test_nothing_left_behind(results):
    _, _, run_dir, before, after = results
    assert_clean(run_dir)
    assert before == after


@needs_root
def test_killed_run_is_cleaned_by_the_next(tmp_path):
    run_dir = str(tmp_path / "bench")
    before = own_netns_state()
    p = start(run_dir, "-n", "2000", "--systems", "kernel")
    try:
        deadline = time.monotonic() + 30
        netns_dir = os.path.join(run_dir, "kernel", "run", "netns")
        while time.monotonic() < deadline:
            if os.path.isdir(netns_dir) and len(os.listdir(netns_dir)) >= 20:
                break
            assert p.poll() is None, p.stderr.read() if p.stderr else ""
            time.sleep(0.02)
        else:
            pytest.fail("the run made no containers in 30 s")
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        if p.stderr:
            p.stderr.close()
    assert mounts_under(run_dir), "the killed run should have left namespace mounts"
    r = bench(run_dir, "-n", "2", "--systems", "kernel", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["leftovers_removed"] >= 20
    assert "leftovers of an earlier run" in r.stderr
    assert_clean(run_dir)
    assert own_netns_state() == before


@needs_root
def test_interrupted_run_cleans_up(tmp_path):
    run_dir = str(tmp_path / "bench")
    p = start(run_dir, "-n", "2000", "--systems", "libnet")
    netns_dir = os.path.join(run_dir, "libnet", "run", "netns")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
            os.path.isdir(netns_dir) and len(os.listdir(netns_dir)) >= 10):
        time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "interrupted" in err
    assert_clean(run_dir)


@needs_root
def test_a_live_run_is_not_disturbed(tmp_path):
    run_dir = str(tmp_path / "bench")
    p = start(run_dir, "-n", "2000", "--systems", "kernel")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.isdir(os.path.join(run_dir, "kernel")):
            time.sleep(0.02)
        r = bench(run_dir, "-n", "2", "--systems", "kernel")
        assert r.returncode == 3 and "another benchmark run" in r.stderr
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)
    assert_clean(run_dir)


# ----------------------------------------------------------------- pure parts

def test_wait_idle_waits_while_the_cpus_are_busy():
    from libnet.benchmark import density
    assert density._wait_idle(timeout=0) < 0.05
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.2)
        waited = density._wait_idle(timeout=0.8, window=0.1)
    finally:
        for sp in spinners:
            sp.kill()
            sp.wait()
    assert waited >= 0.8          # never quiet while every CPU spins


def test_percentiles_nearest_rank():
    st = percentiles([i / 1000 for i in range(1, 101)])      # 1..100 ms
    assert st["p50_ms"] == 50 and st["p90_ms"] == 90 and st["p99_ms"] == 99
    assert st["max_ms"] == 100 and st["count"] == 100
    assert percentiles([]) is None


def _fake(setup_ms, teardown_ms):
    n = len(setup_ms)
    return {"status": "ok", "containers": n, "phases_order": [], "phases": {}, "notes": [],
            "setup": percentiles([x / 1e3 for x in setup_ms]),
            "teardown": percentiles([x / 1e3 for x in teardown_ms]),
            "series_ms": {"setup": setup_ms, "teardown": teardown_ms},
            "memory": {"in_process": True}, "total_s": 1.0, "containers_per_s": n,
            "total_teardown_s": sum(teardown_ms) / 1e3}


def test_kernel_targets_take_the_median_of_the_rounds():
    """With --rounds, the libnet-to-kernel targets are the median of the
    rounds' ratios (each listed); the peers' targets stay round 1's."""
    lib, ker = _fake([1.0] * 10, [1.0] * 10), _fake([0.5] * 10, [1.0] * 10)
    lib["rounds"] = [round_summary(lib)] + [
        {"status": "ok", "containers": 10, "setup_p50_ms": x, "teardown_p50_ms": 1.0,
         "total_teardown_s": 0.02} for x in (1.3, 1.2)]
    ker["rounds"] = [round_summary(ker)] + [
        {"status": "ok", "containers": 10, "setup_p50_ms": 1.0, "teardown_p50_ms": 1.0,
         "total_teardown_s": 0.01} for _ in range(2)]
    results = {"systems": {"libnet": lib, "kernel": ker}}
    t = {row["target"]: row for row in evaluate_targets(results, [10])}
    setup = t["setup p50: libnet <= 1.5x the kernel's cost"]
    assert setup["rounds"] == [2.0, 1.3, 1.2]
    assert setup["ratio"] == 1.3 and setup["passed"] is True       # round 1 alone: 2.0, FAIL
    assert "median of 3 rounds" in setup["why"]
    total = t["teardown total (until unmounted), per container: libnet <= 1.5x the kernel's"]
    assert total["rounds"] == [1.0, 2.0, 2.0] and total["passed"] is False
    # A failed round: round 1 only, and said so.
    ker["rounds"][2] = {"status": "failed", "containers": 0, "setup_p50_ms": None,
                        "teardown_p50_ms": None, "total_teardown_s": None}
    t = {row["target"]: row for row in evaluate_targets(results, [10])}
    setup = t["setup p50: libnet <= 1.5x the kernel's cost"]
    assert setup["ratio"] == 2.0 and "failed" in setup["why"] and "rounds" not in setup


def test_p99_growth_takes_the_median_of_the_rounds():
    """With --rounds, libnet's p99 growth from the smallest to the largest
    scaling point is the median of the rounds' growths, each listed."""
    lib = _fake([1.0] * 10 + [1.0] * 9 + [5.0], [1.0] * 20)    # round 1: p99 1.0 -> 5.0
    lib["rounds"] = [round_summary(lib, [10, 20])]
    assert lib["rounds"][0]["p99_ms_at"] == {"10": {"setup": 1.0, "teardown": 1.0},
                                             "20": {"setup": 5.0, "teardown": 1.0}}
    for hi in (1.5, 1.8):
        lib["rounds"].append({"status": "ok", "containers": 20, "p99_ms_at": {
            "10": {"setup": 1.0, "teardown": 1.0}, "20": {"setup": hi, "teardown": 3.0}}})
    t = {row["target"]: row for row in evaluate_targets({"systems": {"libnet": lib}}, [10, 20])}
    setup = t["setup p99: libnet's at the largest n <= 2x at the smallest"]
    assert setup["rounds"] == [5.0, 1.5, 1.8] and setup["ratio"] == 1.8 and setup["passed"]
    teardown = t["teardown p99: libnet's at the largest n <= 2x at the smallest"]
    assert teardown["rounds"] == [1.0, 3.0, 3.0] and teardown["passed"] is False
    # A round without the points (an older result): round 1's alone.
    del lib["rounds"][1]["p99_ms_at"]
    t = {row["target"]: row for row in evaluate_targets({"systems": {"libnet": lib}}, [10, 20])}
    setup = t["setup p99: libnet's at the largest n <= 2x at the smallest"]
    assert setup["ratio"] == 5.0 and "rounds" not in setup


@needs_root
def test_rounds_run_libnet_and_the_kernel_again(tmp_path):
    run_dir = str(tmp_path / "bench")
    p = bench(run_dir, "-n", "3", "--systems", "libnet,kernel", "--scaling", "1,3",
              "--rounds", "2", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["rounds"] == 2
    for name in ("libnet", "kernel"):
        rounds = data["systems"][name]["rounds"]
        assert [r["status"] for r in rounds] == ["ok", "ok"]
        assert [r["containers"] for r in rounds] == [3, 3]
        assert all(r["setup_p50_ms"] > 0 for r in rounds)
    t = {row["target"]: row for row in data["targets"]}
    assert len(t["setup p50: libnet <= 1.5x the kernel's cost"]["rounds"]) == 2
    assert len(t["setup p99: libnet's at the largest n <= 2x at the smallest"]["rounds"]) == 2
    assert all(set(r["p99_ms_at"]) == {"1", "3"} for r in data["systems"]["libnet"]["rounds"])
    assert "round 2" in p.stderr
    assert_clean(run_dir)
    assert bench(run_dir, "-n", "3", "--rounds", "0").returncode == 2


def test_targets_compare_at_the_same_n():
    results = {"systems": {
        "libnet": _fake([1.0] * 100 + [5.0] * 100, [1.0] * 200),
        "kernel": _fake([0.8] * 200, [0.9] * 200),
        "netavark": _fake([30.0] * 100, [50.0] * 100),      # capped at 100 containers
        "cni": {"status": "skipped", "note": "not installed"},
    }}
    t = {row["target"]: row for row in evaluate_targets(results, [100, 200])}
    nv = t["setup p50: libnet >= 20x faster than netavark"]
    assert nv["at_containers"] == 100 and nv["ratio"] == 30.0 and nv["passed"] is True
    assert t["setup p50: libnet >= 20x faster than CNI"]["passed"] is None
    k = t["setup p50: libnet <= 1.5x the kernel's cost"]
    assert k["ratio"] == pytest.approx(1.0 / 0.8) and k["passed"] is True
    total = t["teardown total (until unmounted), per container: libnet <= 1.5x the kernel's"]
    assert total["ratio"] == round(200 / 180, 3) and total["passed"] is True
    p99 = t["setup p99: libnet's at the largest n <= 2x at the smallest"]
    assert p99["ratio"] == 5.0 and p99["passed"] is False
    assert prefix_stats(results["systems"]["libnet"], 100)["setup"]["p99_ms"] == 1.0
    results.update(containers=200, scaling=[100, 200], targets=list(t.values()))
    text = render_table(results)
    assert "netavark" in text and "cni: skipped: not installed" in text
