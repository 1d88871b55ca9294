"""Firewall benchmarks: programming latency per container and new TCP
connections per second through a published port, libnet's sets-and-maps
layout side by side with the one-rule-per-port design peers use.

Run (as root; everything happens in namespaces created here):

    unshare --net --mount python -m pytest bench/test_bench_firewall.py --benchmark-only

Contenders, measured in the same run:
- libnet: ``NftFirewall.publish`` of one container's 4 ports (one
  transaction of map elements, conflict checks against the index and the
  host's sockets included);
- nft rules: the same 4 ports as 4 DNAT rules appended to one nat chain in
  one nf_tables transaction, sent by libnet's own netlink core (so only the
  layout differs) -- the shape of Docker's nftables backend and netavark;
- iptables: 4 ``iptables -t nat -A`` processes (Docker's iptables backend),
  run through nsenter into the benchmark's namespace; skipped, saying so, when
  the iptables tool is not installed.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import threading
import time

import pytest

from libnet import netns, sysctl
from libnet.firewall import FirewallNetwork, NftFirewall, PublishRequest, layout
from libnet.netlink import (Chain, Cmp, Immediate, Meta, Nat, NftSocket, Payload, RouteSocket,
                            Rule, Table)
from libnet.options import PortBinding

pytest.importorskip("pytest_benchmark")

HAVE_IPTABLES = shutil.which("iptables") is not None
NET = FirewallNetwork("bench", "br0", ("172.17.0.0/16",))
SIZES = [100, 10_000, 50_000]
PEER = "peer"


def _fill_bindings(start: int, stop: int, base: int = 0) -> list[PortBinding]:
    """Ports ``start``..``stop-1`` of a fill: tcp base+1.. then udp."""
    out = []
    for i in range(start, stop):
        proto, port = ("tcp", 1 + base + i) if i < 59_999 else ("udp", 1 + i - 59_999)
        out.append(PortBinding(proto, 80, host_port=port))
    return out


MINE = (PortBinding("tcp", 80, host_port=60001), PortBinding("tcp", 443, host_port=60002),
        PortBinding("tcp", 22, host_port=60003), PortBinding("udp", 53, host_port=60001))


def _dnat_rule(proto: int, port: int, addr: str, to_port: int) -> Rule:
    """meta l4proto <proto> th dport <port> dnat ip to <addr>:<to_port>."""
    return Rule(PEER, "prerouting", [
        Meta("l4proto"), Cmp("eq", bytes([proto])),
        Payload("transport", 2, 2), Cmp("eq", port.to_bytes(2, "big")),
        Immediate(socket.inet_aton(addr), dreg=1),
        Immediate(to_port.to_bytes(2, "big"), dreg=2),
        Nat("dnat", "ip", reg_addr_min=1, reg_proto_min=2)], "ip")


def _peer_table(sock: NftSocket) -> None:
    with sock.transaction() as tx:
        tx.add_table(Table(PEER, "ip"))
        tx.add_chain(Chain(PEER, "prerouting", "ip", "nat", "prerouting", -100))


def _fill_rules(sock: NftSocket, start: int, stop: int, chunk: int = 5000,
                base: int = 0) -> None:
    for lo in range(start, stop, chunk):
        with sock.transaction() as tx:
            for i in range(lo, min(stop, lo + chunk)):
                proto, port = (6, 1 + base + i) if i < 59_999 else (17, 1 + i - 59_999)
                tx.add_rule(_dnat_rule(proto, port, f"172.17.{(i >> 8) & 255}.{i & 255}", 80))


def _stats(benchmark, contender: str) -> None:
    benchmark.extra_info["contender"] = contender
    if benchmark.stats is None:           # --benchmark-disable: one unmeasured run
        return
    data = sorted(benchmark.stats.stats.data)
    benchmark.extra_info["median_ms"] = round(statistics.median(data) * 1e3, 4)
    benchmark.extra_info["p99_ms"] = round(data[max(0, int(len(data) * 0.99) - 1)] * 1e3, 4)


# ------------------------------------------------------------ programming

@pytest.fixture(scope="module")
def host(env):
    ns = env.create("fwprog")
    with RouteSocket(ns) as r:
        r.link_set("lo", up=True)
        r.link_add("br0", "bridge", up=True)
        r.addr_add("br0", "172.17.0.1/16")
    yield ns


@pytest.fixture(scope="module")
def libnet_fw(host):
    fw = NftFirewall(host)
    fw.ensure()
    fw.add_network(NET)
    fw.filled = 0
    yield fw
    fw.close()


@pytest.mark.parametrize("size", SIZES)
def test_publish_latency_libnet(benchmark, libnet_fw, size):
    """One iteration: publish one container's 4 ports (3 tcp, 1 udp) with
    ``size`` other ports already published; unpublished again before each
    round, outside the timing."""
    fw = libnet_fw
    if fw.filled < size:
        fw.publish(PublishRequest("fill", "bench", "172.17.0.2", None,
                                  tuple(_fill_bindings(fw.filled, size))))
        fw.filled = size
    req = PublishRequest("ep", "bench", "172.17.0.3", None, MINE)
    held = []

    def setup():
        if held:
            fw.unpublish(held.pop())

    def run():
        held.append(fw.publish(req))

    benchmark.group = f"publish 4 ports, {size} published"
    benchmark.pedantic(run, setup=setup, rounds=300, iterations=1, warmup_rounds=10)
    _stats(benchmark, "libnet")
    setup()
    assert len(fw.programmed()) == size


@pytest.fixture(scope="module")
def rules_sock(host):
    with NftSocket(host) as sock:
        _peer_table(sock)
        sock.filled = 0
        sock.next_port = 0
        yield sock


@pytest.mark.parametrize("size", SIZES)
def test_publish_latency_nft_rules(benchmark, rules_sock, size):
    """One iteration: one transaction appending 4 DNAT rules (one per port)
    to a nat chain already holding ``size`` such rules.  Rules added by the
    rounds stay (a few hundred next to ``size``)."""
    sock = rules_sock
    if sock.filled < size:
        _fill_rules(sock, sock.filled, size)
        sock.filled = size

    def run():
        n = sock.next_port
        sock.next_port += 1
        with sock.transaction() as tx:
            for k in range(4):
                tx.add_rule(_dnat_rule(6, 1 + (n * 4 + k) % 60000, "172.18.0.3", 80))

    benchmark.group = f"publish 4 ports, {size} published"
    benchmark.pedantic(run, rounds=300, iterations=1, warmup_rounds=10)
    _stats(benchmark, "nft rule per port")


@pytest.fixture(scope="module")
def ipt_ns(env):
    if not HAVE_IPTABLES:
        pytest.skip("iptables is not installed (apt package iptables): baseline skipped")
    yield {"ns": env.create("fwipt"), "filled": 0}


def _ipt(ns, *args, input=None):
    return subprocess.run(["nsenter", f"--net={ns.path}", *args], input=input, text=True,
                          capture_output=True, check=True)


@pytest.mark.parametrize("size", SIZES)
def test_publish_latency_iptables(benchmark, ipt_ns, size):
    """One iteration: 4 ``iptables -t nat -A DOCKER ... -j DNAT`` processes
    (Docker's iptables backend: a process per rule), with ``size`` rules
    already in the chain (loaded with one iptables-restore)."""
    st = ipt_ns
    ns = st["ns"]
    if st["filled"] < size:
        lines = ["*nat"]
        if st["filled"] == 0:
            lines += [":DOCKER - [0:0]", "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER"]
        for i in range(st["filled"], size):
            proto, port = ("tcp", 1 + i) if i < 59_999 else ("udp", 1 + i - 59_999)
            lines.append(f"-A DOCKER -p {proto} --dport {port} -j DNAT "
                         f"--to-destination 172.17.{(i >> 8) & 255}.{i & 255}:80")
        lines.append("COMMIT\n")
        _ipt(ns, "iptables-restore", "--noflush", input="\n".join(lines))
        st["filled"] = size
    counter = [0]

    def run():
        n = counter[0]
        counter[0] += 1
        for k in range(4):
            _ipt(ns, "iptables", "-t", "nat", "-A", "DOCKER", "-p", "tcp", "--dport",
                 str(1 + (n * 4 + k) % 60000), "-j", "DNAT", "--to-destination",
                 "172.18.0.3:80")

    benchmark.group = f"publish 4 ports, {size} published"
    benchmark.pedantic(run, rounds=20 if size > 10_000 else 40, iterations=1, warmup_rounds=1)
    _stats(benchmark, "iptables process per rule")


# ------------------------------------------------------------ packets

class Pkt:
    """outside 10.9.0.2 -- up0 10.9.0.1 host br0 172.17.0.1 -- c 172.17.0.2:80."""

    def __init__(self, env):
        self.host, self.out, self.c = env.create("fwh"), env.create("fwo"), env.create("fwc")
        with RouteSocket(self.host) as h:
            h.link_set("lo", up=True)
            h.link_add("br0", "bridge", up=True)
            h.addr_add("br0", "172.17.0.1/16")
            h.link_add_veth("up0", "eth0", peer_netns=self.out, up=True)
            h.addr_add("up0", "10.9.0.1/24")
            h.link_add_veth("vc", "eth0", peer_netns=self.c, master="br0", up=True)
        for ns, addr, gw in ((self.out, "10.9.0.2/24", "10.9.0.1"),
                             (self.c, "172.17.0.2/16", "172.17.0.1")):
            with RouteSocket(ns) as r:
                r.link_set("lo", up=True)
                r.link_set("eth0", up=True)
                r.addr_add("eth0", addr)
                r.route_add("default", gateway=gw)
        with netns.enter(self.c):
            self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("0.0.0.0", 80))
        self.srv.listen(1024)
        threading.Thread(target=self._serve, daemon=True).start()
        # Forwarding is the bridge driver's to switch on, not the firewall's.
        sysctl.write("net/ipv4/ip_forward", 1, self.host)
        self.fw = NftFirewall(self.host)
        self.fw.ensure()
        self.fw.add_network(NET)
        self.nft = NftSocket(self.host)

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            c.close()

    def connections(self, n: int, port: int = 8080) -> None:
        """``n`` new TCP connections from outside to the host's published port."""
        linger = socket.SOCK_STREAM and (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
        with netns.enter(self.out):
            for _ in range(n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                s.settimeout(2)
                s.connect(("10.9.0.1", port))
                s.recv(1)
                s.close()

    def close(self):
        self.srv.close()
        self.fw.close()
        self.nft.close()


@pytest.fixture(scope="module")
def pkt(env):
    p = Pkt(env)
    yield p
    p.close()


CONNS = 1000


def _rate(benchmark, contender, others):
    _stats(benchmark, contender)
    benchmark.extra_info["other_ports"] = others
    if benchmark.stats is not None:
        benchmark.extra_info["connections_per_s"] = round(
            CONNS / statistics.median(benchmark.stats.stats.data))


@pytest.mark.parametrize("others", [10, 10_000])
def test_connections_libnet(benchmark, pkt, others):
    """One iteration: 1,000 new TCP connections (connect, server closes,
    RST on our close) through published port 8080 -> 172.17.0.2:80, with
    ``others`` other ports published as map elements."""
    fw = pkt.fw
    fw.reconcile([])
    fw.publish(PublishRequest("fill", "bench", "172.17.0.9", None,
                              tuple(_fill_bindings(0, others, base=20_000))))
    fw.publish(PublishRequest("ep", "bench", "172.17.0.2", None,
                              (PortBinding("tcp", 80, host_port=8080),)))
    pkt.connections(50)
    benchmark.group = f"new TCP connections/s, {others} other ports"
    benchmark.pedantic(pkt.connections, args=(CONNS,), rounds=7, iterations=1, warmup_rounds=1)
    _rate(benchmark, "libnet", others)


@pytest.mark.parametrize("others", [10, 10_000])
def test_connections_nft_rules(benchmark, pkt, others):
    """The same, with every port as one DNAT rule of one nat chain (the
    published port's rule last, as for the most recent container); libnet's
    table is removed for this contender."""
    pkt.fw.ensure()
    pkt.fw.reconcile([])
    names = {t.name for t in pkt.nft.tables("inet")}
    with pkt.nft.transaction() as tx:
        if layout.TABLE in names:
            tx.delete_table(layout.table())
    if PEER in {t.name for t in pkt.nft.tables("ip")}:
        with pkt.nft.transaction() as tx:
            tx.delete_table(Table(PEER, "ip"))
    _peer_table(pkt.nft)
    _fill_rules(pkt.nft, 0, others, base=20_000)
    with pkt.nft.transaction() as tx:
        tx.add_rule(_dnat_rule(6, 8080, "172.17.0.2", 80))
    pkt.connections(50)
    benchmark.group = f"new TCP connections/s, {others} other ports"
    benchmark.pedantic(pkt.connections, args=(CONNS,), rounds=7, iterations=1, warmup_rounds=1)
    _rate(benchmark, "nft rule per port", others)


def test_clock_sanity():
    """Not a benchmark: the timer the figures rely on is monotonic."""
    a = time.perf_counter()
    assert time.perf_counter() >= a
