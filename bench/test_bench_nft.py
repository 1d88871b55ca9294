"""nf_tables benchmarks: bulk map loading and per-container latency.

Run (as root; everything happens in namespaces created here):

    unshare --net --mount python -m pytest bench/test_bench_nft.py --benchmark-only

Baselines are measured in the same run: the real `nft -f` loading the same
elements as text (run through nsenter into the benchmark's namespace).
"""

import shutil
import statistics
import subprocess

import pytest

from libnet import netns
from libnet.netlink import Chain, Element, Lookup, Meta, Nat, NftSocket, Payload, Rule, Set, Table
from libnet.netlink.nft_expr import REG32

pytest.importorskip("pytest_benchmark")

TCP = 6
PORTS = Set("libnet", "ports", "inet_proto . inet_service", "ipv4_addr . inet_service", "ip")
BULK = 10_000


def _elements(n: int, base_port: int = 1) -> list[Element]:
    """n distinct (tcp, port) -> (172.17.x.y, 80) elements."""
    out = []
    for i in range(n):
        port = base_port + i % 60000
        proto = TCP if i < 60000 else 17
        out.append(Element((proto if i < 120000 else 132, port),
                           (f"172.{16 + (i >> 16) % 16}.{(i >> 8) & 255}.{i & 255}", 80)))
    return out


def _text(elements: list[Element]) -> str:
    names = {6: "tcp", 17: "udp", 132: "sctp"}
    body = ", ".join(f"{names[e.key[0]]} . {e.key[1]} : {e.data[0]} . {e.data[1]}"
                     for e in elements)
    return f"add element ip libnet ports {{ {body} }}\n"


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("netns"))
    n = netns.create("bench-nft", run_dir=run_dir)
    with NftSocket(n) as sock:
        with sock.transaction() as tx:
            tx.add_table(Table("libnet", "ip"))
            tx.add_chain(Chain("libnet", "prerouting", "ip", "nat", "prerouting", -100))
            tx.add_set(PORTS)
            tx.add_rule(Rule("libnet", "prerouting", [
                Meta("l4proto"), Payload("transport", 2, 2, dreg=REG32[1]),
                Lookup("ports", dreg=1), Nat("dnat", "ip", reg_addr_min=1,
                                             reg_proto_min=REG32[1])], "ip"))
    yield n
    n.close()
    netns.delete("bench-nft", run_dir=run_dir)


@pytest.fixture(scope="module")
def sock(ns):
    with NftSocket(ns) as s:
        yield s


def _flush(sock):
    with sock.transaction() as tx:
        tx.flush_set(PORTS)


def test_bulk_10k_elements_libnet(benchmark, sock):
    """One iteration: one transaction adding 10,000 map elements (built from
    Element objects into NEWSETELEM messages, sent, every ACK collected).
    The map is emptied before each round, outside the timing."""
    els = _elements(BULK)

    def run():
        with sock.transaction() as tx:
            tx.add_elements(PORTS, els)

    benchmark.pedantic(run, setup=lambda: _flush(sock), rounds=30, iterations=1)
    assert len(sock.elements(PORTS)) == BULK


@pytest.mark.skipif(shutil.which("nft") is None, reason="the nft tool is not installed")
def test_bulk_10k_elements_nft_f(benchmark, sock, ns, tmp_path):
    """Baseline.  One iteration: `nft -f FILE` (through nsenter into the
    benchmark namespace) adding the same 10,000 elements written as text.
    The map is emptied before each round, outside the timing."""
    path = tmp_path / "elements.nft"
    path.write_text(_text(_elements(BULK)))
    cmd = ["nsenter", f"--net={ns.path}", "nft", "-f", str(path)]

    def run():
        subprocess.run(cmd, check=True)

    benchmark.pedantic(run, setup=lambda: _flush(sock), rounds=10, iterations=1)
    assert len(sock.elements(PORTS)) == BULK


@pytest.mark.skipif(shutil.which("nsenter") is None, reason="nsenter is not installed")
def test_nsenter_true_overhead(benchmark, ns):
    """For reading the baseline: one iteration is `nsenter --net=NS true`,
    the cost of entering the namespace that the nft -f baseline pays too."""
    cmd = ["nsenter", f"--net={ns.path}", "true"]
    benchmark.pedantic(lambda: subprocess.run(cmd, check=True), rounds=20, iterations=1)


@pytest.mark.parametrize("size", [100, 10_000, 100_000])
def test_container_change_latency(benchmark, sock, size):
    """One iteration: one transaction adding one container's 4 elements
    (tcp/udp ports) to a map already holding ``size`` elements.  The 4 are
    deleted again before each round, outside the timing.  Median and p99
    are in extra_info (ms)."""
    _flush(sock)
    with sock.transaction() as tx:
        tx.add_elements(PORTS, _elements(size, base_port=1))
    mine = [Element((TCP, 60001 + i), ("10.99.0.2", 80 + i)) for i in range(3)] + \
           [Element((17, 60001), ("10.99.0.2", 53))]
    # (the 100,000-element fill uses tcp, udp and sctp keys below 60001)

    def add():
        with sock.transaction() as tx:
            tx.add_elements(PORTS, mine, exclusive=True)

    def remove():
        with sock.transaction() as tx:
            tx.delete_elements(PORTS, mine)

    def setup():
        try:
            remove()
        except FileNotFoundError:     # first round: not there yet
            pass

    benchmark.pedantic(add, setup=setup, rounds=1000, iterations=1, warmup_rounds=20)
    if benchmark.stats is not None:       # None with --benchmark-disable: run once, untimed
        data = sorted(benchmark.stats.stats.data)
        benchmark.extra_info["median_ms"] = round(statistics.median(data) * 1e3, 4)
        benchmark.extra_info["p99_ms"] = round(data[int(len(data) * 0.99) - 1] * 1e3, 4)
    assert len(sock.elements(PORTS)) == size + 4
