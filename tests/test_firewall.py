"""NftFirewall against the real kernel, with real traffic between namespaces
this module creates (never the caller's own):

    outside 10.9.0.2 --veth-- up0 10.9.0.1, 10.9.0.3   "host"
                                 br0 172.20.0.1/16  c1 .2, c2 .3        net A (masquerade, ICC)
                                 br1 172.21.0.1/16  c3 .2               net B (masquerade off)
                                 br2 172.22.0.1/16  c4 .2               net C (internal)
                                 br3 172.23.0.1/16  c5 .2, c6 .3        net D (ICC off)

"outside" routes 172.21.0.0/16 via the host (so net B, unmasqueraded, is
reachable back).  Servers answer each connection with the peer address they
saw, so a test can tell NAT from no NAT.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading

import pytest

from libnet import netns, sysctl
from libnet.errors import ConflictError, InvalidParameterError, NotFoundError
from libnet.firewall import (ANY4, FirewallNetwork, NftFirewall, PortMapping, PublishRequest)
from libnet.netlink import Element, RouteSocket
from libnet.options import PortBinding

from nft_support import list_ruleset, need_nft

pytestmark = need_nft

NET_A = FirewallNetwork("net-a", "br0", ("172.20.0.0/16",))
NET_B = FirewallNetwork("net-b", "br1", ("172.21.0.0/16",), masquerade=False)
NET_C = FirewallNetwork("net-c", "br2", ("172.22.0.0/16",), internal=True)
NET_D = FirewallNetwork("net-d", "br3", ("172.23.0.0/16",), icc=False)

CONTAINERS = {  # name: (bridge, address, gateway)
    "c1": ("br0", "172.20.0.2", "172.20.0.1"),
    "c2": ("br0", "172.20.0.3", "172.20.0.1"),
    "c3": ("br1", "172.21.0.2", "172.21.0.1"),
    "c4": ("br2", "172.22.0.2", "172.22.0.1"),
    "c5": ("br3", "172.23.0.2", "172.23.0.1"),
    "c6": ("br3", "172.23.0.3", "172.23.0.1"),
}


class Topo:
    def __init__(self, stack, tmp):
        run_dir = str(tmp / "netns")
        self.ns = {}
        for name in ["host", "outside", *CONTAINERS]:
            ns = netns.create(name, run_dir=run_dir)
            stack.callback(netns.delete, name, run_dir=run_dir)
            stack.callback(ns.close)
            self.ns[name] = ns
        host = self.ns["host"]
        with RouteSocket(host) as h:
            h.link_set("lo", up=True)
            for i, br in enumerate(("br0", "br1", "br2", "br3")):
                h.link_add(br, "bridge", up=True)
                h.addr_add(br, f"172.{20 + i}.0.1/16")
            h.link_add_veth("up0", "eth0", peer_netns=self.ns["outside"], up=True)
            h.addr_add("up0", "10.9.0.1/24")
            h.addr_add("up0", "10.9.0.3/24")
            for name, (br, _, _) in CONTAINERS.items():
                h.link_add_veth(f"v-{name}", "eth0", peer_netns=self.ns[name], master=br,
                                up=True)
        with RouteSocket(self.ns["outside"]) as r:
            r.link_set("lo", up=True)
            r.link_set("eth0", up=True)
            r.addr_add("eth0", "10.9.0.2/24")
            r.route_add("172.21.0.0/16", gateway="10.9.0.1")
        for name, (_, addr, gw) in CONTAINERS.items():
            with RouteSocket(self.ns[name]) as r:
                r.link_set("lo", up=True)
                r.link_set("eth0", up=True)
                r.addr_add("eth0", f"{addr}/16")
                r.route_add("default", gateway=gw)
        # Forwarding is the bridge driver's to switch on, not the firewall's.
        sysctl.write("net/ipv4/ip_forward", 1, host)
        sysctl.write("net/ipv6/conf/all/forwarding", 1, host)
        self.fw = NftFirewall(host)
        stack.callback(self.fw.close)
        self.fw.ensure()
        for n in (NET_A, NET_B, NET_C, NET_D):
            self.fw.add_network(n)
        self.servers: list[socket.socket] = []
        stack.callback(lambda: [s.close() for s in self.servers])

    # -- traffic helpers
    def tcp_server(self, ns, addr, port):
        with netns.enter(self.ns[ns]):
            s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(64)
        self.servers.append(s)

        def serve():
            while True:
                try:
                    c, peer = s.accept()
                except OSError:
                    return
                with c:
                    c.sendall(f"{ns}:{port} sees {peer[0]}".encode())
        threading.Thread(target=serve, daemon=True).start()
        return s

    def udp_server(self, ns, addr, port):
        with netns.enter(self.ns[ns]):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        self.servers.append(s)

        def serve():
            while True:
                try:
                    data, peer = s.recvfrom(100)
                    s.sendto(f"{ns}:{port} sees {peer[0]}".encode(), peer)
                except OSError:
                    return
        threading.Thread(target=serve, daemon=True).start()
        return s

    def tcp(self, ns, addr, port, timeout=2.0) -> str:
        with netns.enter(self.ns[ns]):
            c = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        with c:
            c.settimeout(timeout)
            c.connect((addr, port))
            return c.recv(100).decode()

    def udp(self, ns, addr, port, timeout=2.0) -> str:
        with netns.enter(self.ns[ns]):
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with c:
            c.settimeout(timeout)
            c.sendto(b"ping", (addr, port))
            return c.recv(100).decode()

    def blocked(self, ns, addr, port) -> bool:
        try:
            self.tcp(ns, addr, port, timeout=0.5)
        except (TimeoutError, ConnectionRefusedError, OSError):
            return True
        return False


@pytest.fixture(scope="module")
def topo(tmp_path_factory):
    with contextlib.ExitStack() as stack:
        t = Topo(stack, tmp_path_factory.mktemp("fw"))
        for port in (80, 90, 91, 92, 443):
            t.tcp_server("c1", "0.0.0.0", port)
        t.udp_server("c1", "0.0.0.0", 53)
        t.tcp_server("c2", "0.0.0.0", 80)
        t.tcp_server("c6", "0.0.0.0", 80)
        t.tcp_server("c1", "0.0.0.0", 7000)
        t.tcp_server("outside", "0.0.0.0", 9999)
        yield t


def req(ep, ip, *bindings, net="net-a"):
    return PublishRequest(ep, net, ip, None, tuple(bindings))


@pytest.fixture
def c1_ports(topo):
    got = topo.fw.publish(req("ep-c1", "172.20.0.2",
                              PortBinding("tcp", 80, host_port=8080),
                              PortBinding("udp", 53, host_port=5353),
                              PortBinding("tcp", 90, host_port=9000, port_end=92),
                              PortBinding("tcp", 443, host_ip="10.9.0.3", host_port=8443)))
    yield got
    topo.fw.unpublish(got)


def test_publish_returns_the_mappings(topo, c1_ports):
    assert sorted(c1_ports) == sorted([
        PortMapping("tcp", ANY4, 8080, "172.20.0.2", 80),
        PortMapping("udp", ANY4, 5353, "172.20.0.2", 53),
        PortMapping("tcp", ANY4, 9000, "172.20.0.2", 90),
        PortMapping("tcp", ANY4, 9001, "172.20.0.2", 91),
        PortMapping("tcp", ANY4, 9002, "172.20.0.2", 92),
        PortMapping("tcp", "10.9.0.3", 8443, "172.20.0.2", 443)])
    assert {m.endpoint_id for m in c1_ports} == {"ep-c1"}
    assert topo.fw.programmed() == tuple(sorted(c1_ports))


def test_from_outside_tcp_and_udp_source_kept(topo, c1_ports):
    assert topo.tcp("outside", "10.9.0.1", 8080) == "c1:80 sees 10.9.0.2"
    assert topo.udp("outside", "10.9.0.1", 5353) == "c1:53 sees 10.9.0.2"


def test_from_the_host_via_localhost_and_own_address(topo, c1_ports):
    assert topo.tcp("host", "127.0.0.1", 8080).startswith("c1:80 sees 172.20.0.1")
    assert topo.tcp("host", "10.9.0.1", 8080).startswith("c1:80 sees")


def test_hairpin_from_a_container_on_the_same_bridge(topo, c1_ports):
    # c2 -> host address -> c1, masqueraded so c1 answers through the host
    assert topo.tcp("c2", "10.9.0.1", 8080) == "c1:80 sees 172.20.0.1"
    assert topo.tcp("c2", "172.20.0.1", 8080) == "c1:80 sees 172.20.0.1"


def test_range_and_specific_host_ip(topo, c1_ports):
    for host_port, port in ((9000, 90), (9001, 91), (9002, 92)):
        assert topo.tcp("outside", "10.9.0.1", host_port).startswith(f"c1:{port} ")
    assert topo.tcp("outside", "10.9.0.3", 8443).startswith("c1:443 ")
    with pytest.raises(ConnectionRefusedError):
        topo.tcp("outside", "10.9.0.1", 8443)


def test_unpublish_stops_forwarding(topo):
    got = topo.fw.publish(req("ep-x", "172.20.0.2", PortBinding("tcp", 80, host_port=8181)))
    assert topo.tcp("outside", "10.9.0.1", 8181).startswith("c1:80")
    topo.fw.unpublish(got)
    topo.fw.unpublish(got)      # idempotent
    with pytest.raises(ConnectionRefusedError):
        topo.tcp("outside", "10.9.0.1", 8181)
    assert topo.fw.programmed() == ()


def test_unpublish_sends_the_delete_built_at_publish(topo, monkeypatch):
    """A publish encodes the transaction that undoes it; the unpublish of
    the same mappings sends it as is.  If the kernel lost one of them in
    between, that transaction fails whole and the general path removes the
    rest."""
    from libnet.netlink import NftSocket
    from libnet.netlink.nft import Transaction
    from libnet.firewall import layout as L
    got = topo.fw.publish(req("ep-u", "172.20.0.2", PortBinding("tcp", 80, host_port=8183),
                              PortBinding("tcp", 81, host_port=8184)))
    other = topo.fw.publish(req("ep-v", "172.20.0.3", PortBinding("tcp", 80, host_port=8185)))

    def no_encoding(*a, **k):
        raise AssertionError("unpublish encoded a transaction")
    with monkeypatch.context() as m:
        m.setattr(Transaction, "delete_elements", no_encoding)
        topo.fw.unpublish(got)
    assert topo.fw.programmed() == other
    with pytest.raises(ConnectionRefusedError):
        topo.tcp("outside", "10.9.0.1", 8183)
    # The kernel loses one of two mappings behind the firewall's back.
    two = topo.fw.publish(req("ep-w", "172.20.0.2", PortBinding("tcp", 80, host_port=8186),
                              PortBinding("tcp", 81, host_port=8187)))
    with NftSocket(topo.ns["host"]) as nft, nft.transaction() as tx:
        tx.delete_elements(L.PORTS4, [Element((6, 8186), ("172.20.0.2", 80))])
    topo.fw.unpublish(two)
    topo.fw.unpublish(other)
    assert topo.fw.programmed() == ()


def test_same_port_on_two_host_ips_and_dual_families(topo):
    got = topo.fw.publish(req("ep-y", "172.20.0.2",
                              PortBinding("tcp", 80, host_ip="10.9.0.1", host_port=8282),
                              PortBinding("tcp", 443, host_ip="10.9.0.3", host_port=8282)))
    try:
        assert topo.tcp("outside", "10.9.0.1", 8282).startswith("c1:80 ")
        assert topo.tcp("outside", "10.9.0.3", 8282).startswith("c1:443 ")
    finally:
        topo.fw.unpublish(got)


def test_ephemeral_ports_from_the_kernel_range(topo):
    with netns.enter(topo.ns["host"]):
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = map(int, f.read().split())
    got = topo.fw.publish(req("ep-e", "172.20.0.2", PortBinding("tcp", 80),
                              PortBinding("tcp", 90, port_end=91)))
    try:
        ports = [m.host_port for m in got]
        assert len(set(ports)) == 3 and all(lo <= p <= hi for p in ports)
        assert topo.tcp("outside", "10.9.0.1", ports[0]).startswith("c1:80 ")
    finally:
        topo.fw.unpublish(got)


def test_host_range_with_one_container_port_takes_the_first_free(topo, c1_ports):
    got = topo.fw.publish(req("ep-r", "172.20.0.3",
                              PortBinding("tcp", 80, host_port=8080, host_port_end=8090)))
    try:
        assert [m.host_port for m in got] == [8081]
        assert topo.tcp("outside", "10.9.0.1", 8081) == "c2:80 sees 10.9.0.2"
    finally:
        topo.fw.unpublish(got)


# -- bridge policy -------------------------------------------------------------

def test_icc_on_allows_and_icc_off_blocks_container_to_container(topo):
    assert topo.tcp("c1", "172.20.0.3", 80).startswith("c2:80")
    assert topo.blocked("c5", "172.23.0.3", 80)


def test_isolation_between_networks(topo):
    assert topo.blocked("c3", "172.20.0.2", 7000)
    assert topo.blocked("c5", "172.20.0.2", 7000)


def test_internal_network_reaches_nothing_outside(topo):
    assert topo.blocked("c4", "10.9.0.2", 9999)
    assert topo.blocked("c4", "172.20.0.2", 7000)


def test_masquerade_on_rewrites_and_off_keeps_the_source(topo):
    assert topo.tcp("c1", "10.9.0.2", 9999) == "outside:9999 sees 10.9.0.1"
    assert topo.tcp("c3", "10.9.0.2", 9999) == "outside:9999 sees 172.21.0.2"


def test_snat_to_a_fixed_host_address(topo):
    snat = FirewallNetwork("net-a", "br0", ("172.20.0.0/16",), snat_ipv4="10.9.0.3")
    topo.fw.add_network(snat)
    try:
        assert topo.tcp("c1", "10.9.0.2", 9999) == "outside:9999 sees 10.9.0.3"
    finally:
        topo.fw.add_network(NET_A)
    assert topo.tcp("c1", "10.9.0.2", 9999) == "outside:9999 sees 10.9.0.1"


def test_no_direct_routing_into_a_masqueraded_network(topo):
    with RouteSocket(topo.ns["outside"]) as r:
        r.route_add("172.20.0.0/16", gateway="10.9.0.1")
        try:
            assert topo.blocked("outside", "172.20.0.2", 7000)
        finally:
            r.route_del("172.20.0.0/16", gateway="10.9.0.1")


# -- bad input: a clear error and nothing applied -----------------------------

def _unchanged(topo, call, exc, match):
    before = (list_ruleset(topo.ns["host"]), topo.fw.programmed())
    with pytest.raises(exc, match=match):
        call()
    assert (list_ruleset(topo.ns["host"]), topo.fw.programmed()) == before


def test_port_already_published_by_libnet(topo, c1_ports):
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-2", "172.20.0.3", PortBinding("tcp", 81, host_port=7777),
        PortBinding("tcp", 80, host_port=8080))),
        ConflictError, r"port tcp 0.0.0.0:8080 is already published by libnet")
    # a specific address against the same port on every address, and back
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-2", "172.20.0.3", PortBinding("tcp", 80, host_ip="10.9.0.1", host_port=8080))),
        ConflictError, "8080")
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-2", "172.20.0.3", PortBinding("tcp", 80, host_port=8443))),
        ConflictError, "8443")
    # the same key twice in one request
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-2", "172.20.0.3", PortBinding("udp", 1, host_port=6000),
        PortBinding("udp", 2, host_port=6000))), ConflictError, "6000")


def test_port_held_by_a_listening_socket_of_the_host(topo):
    with netns.enter(topo.ns["host"]):
        s = socket.socket()
    with s:
        s.bind(("0.0.0.0", 6543))
        s.listen(1)
        _unchanged(topo, lambda: topo.fw.publish(req(
            "ep-3", "172.20.0.3", PortBinding("tcp", 80, host_port=6543))),
            ConflictError, r"port tcp 0.0.0.0:6543 is held by a socket of the host")
        # udp on the same number is free
        got = topo.fw.publish(req("ep-3", "172.20.0.3", PortBinding("udp", 80, host_port=6543)))
        topo.fw.unpublish(got)


def test_invalid_protocol_and_ranges(topo):
    with pytest.raises(InvalidParameterError, match="protocol"):
        PortBinding("icmp", 80)

    class Fake:
        proto, port, host_ip, host_port, port_end, host_port_end = "gre", 80, None, 0, None, None

    _unchanged(topo, lambda: topo.fw.publish(PublishRequest(
        "ep-4", "net-a", "172.20.0.3", None, (Fake(),))), InvalidParameterError, "gre")
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-4", "172.20.0.3", PortBinding("tcp", 80, port_end=85, host_port=7000,
                                          host_port_end=7002))),
        InvalidParameterError, "differ in length")
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-4", "172.20.0.3", PortBinding("tcp", 80, port_end=90, host_port=65530))),
        InvalidParameterError, "range")


def test_host_ip_not_on_the_host(topo):
    _unchanged(topo, lambda: topo.fw.publish(req(
        "ep-5", "172.20.0.3", PortBinding("tcp", 80, host_port=7100),
        PortBinding("tcp", 80, host_ip="10.9.0.77", host_port=7101))),
        InvalidParameterError, "10.9.0.77 is not an address of the host")


def test_unknown_network(topo):
    with pytest.raises(NotFoundError):
        topo.fw.publish(req("ep-6", "172.20.0.3", PortBinding("tcp", 80), net="nope"))


# -- reconcile at start ---------------------------------------------------------

def test_reconcile_removes_stale_and_adds_missing(topo, tmp_path):
    got = topo.fw.publish(req("ep-7", "172.20.0.2", PortBinding("tcp", 80, host_port=8500),
                              PortBinding("tcp", 90, host_port=8501)))
    # a second firewall object (a restarted controller) sees the kernel's state
    fresh = NftFirewall(topo.ns["host"])
    try:
        fresh.ensure()
        assert fresh.programmed() == tuple(sorted(got))
        keep = got[0]
        missing = PortMapping("tcp", ANY4, 8502, "172.20.0.2", 91)
        dup = PortMapping("tcp", "10.9.0.1", 8500, "172.20.0.3", 80)
        rep = fresh.reconcile([keep, missing, dup])
        assert rep.stale == (got[1],) and rep.missing == (missing,) and rep.conflicts == (dup,)
        assert fresh.programmed() == tuple(sorted([keep, missing]))
        assert topo.tcp("outside", "10.9.0.1", 8502).startswith("c1:91 ")
        fresh.unpublish([keep, missing])
    finally:
        fresh.close()
        topo.fw.ensure()      # re-read the index the other object changed


def test_reconcile_forgets_the_endpoints_it_removed(topo):
    """What publish keeps for an endpoint's unpublish (its pre-built delete)
    goes when reconcile removes that endpoint's ports: a long-running
    controller does not accumulate it; the others' still work."""
    gone = topo.fw.publish(req("ep-8", "172.20.0.2", PortBinding("tcp", 80, host_port=8510)))
    kept = topo.fw.publish(req("ep-9", "172.20.0.3", PortBinding("tcp", 80, host_port=8511)))
    rep = topo.fw.reconcile(list(kept))
    assert rep.stale == tuple(gone) and topo.fw.programmed() == tuple(kept)
    assert set(topo.fw._undo) == {"ep-9"}
    topo.fw.unpublish(kept)
    assert topo.fw.programmed() == () and topo.fw._undo == {}


def test_ensure_is_idempotent(topo):
    before = list_ruleset(topo.ns["host"])
    topo.fw.ensure()
    topo.fw.add_network(NET_A)
    assert list_ruleset(topo.ns["host"]) == before


def test_core_bind_tests(make_ns):
    """The core's probe sockets: made in the namespace named (the calling
    thread's is left alone), close-on-exec, IPv6-only for IPv6, SO_REUSEADDR
    but for UDP; bind_test closes its socket whatever the outcome and
    returns the bind's errno."""
    import errno
    from libnet import _netlink as nl
    host = make_ns()
    with netns.enter(host):
        held = socket.socket()
    with held, netns.open_netns(host) as ns:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("0.0.0.0", 6200))
        held.listen(1)
        before = os.readlink("/proc/thread-self/ns/net")
        fds = nl.probe_sockets(3, socket.AF_INET, socket.SOCK_STREAM, netns=ns.fileno())
        v6 = nl.probe_sockets(1, socket.AF_INET6, socket.SOCK_STREAM, netns=ns.fileno())
        udp = nl.probe_sockets(1, socket.AF_INET, socket.SOCK_DGRAM, netns=ns.fileno())
        assert os.readlink("/proc/thread-self/ns/net") == before
        assert len(fds) == 3 and len(v6) == len(udp) == 1
        for fd in fds + v6 + udp:
            assert not os.get_inheritable(fd)
        with socket.socket(fileno=os.dup(v6[0])) as s6, socket.socket(fileno=os.dup(udp[0])) as su, \
                socket.socket(fileno=os.dup(fds[0])) as s4:
            assert s6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
            assert s4.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
            assert su.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        any4 = socket.inet_pton(socket.AF_INET, "0.0.0.0")
        assert nl.bind_test(fds[0], socket.AF_INET, any4, 6200) == errno.EADDRINUSE
        assert nl.bind_test(fds[1], socket.AF_INET, any4, 6201) == 0
        # IPv6-only: the IPv4 listener does not hold [::]:6200.
        assert nl.bind_test(v6[0], socket.AF_INET6, socket.inet_pton(socket.AF_INET6, "::"), 6200) == 0
        with netns.enter(host):
            bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with bound:
            bound.bind(("0.0.0.0", 6300))
            assert nl.bind_test(udp[0], socket.AF_INET, any4, 6300) == errno.EADDRINUSE
        with pytest.raises(ValueError):
            nl.bind_test(fds[2], socket.AF_INET6, any4, 1)          # 4 bytes for IPv6
        for fd in fds + v6 + udp:                                   # every one closed
            with pytest.raises(OSError):
                os.fstat(fd)
        with pytest.raises(OSError):
            nl.probe_sockets(1, socket.AF_INET, socket.SOCK_STREAM, 253)   # no such protocol
        with pytest.raises(ValueError):
            nl.probe_sockets(1, socket.AF_UNIX, socket.SOCK_STREAM)
        assert os.readlink("/proc/thread-self/ns/net") == before


def test_port_probe_binds_in_its_namespace(make_ns):
    """PortProbe's sockets are made in its namespace, a batch at a time: a
    listener there is seen, one in the caller's namespace is not, past
    several batches, and the calling thread's namespace is left alone."""
    from libnet.portmap import PortProbe
    host, other = make_ns(), make_ns()
    probe = PortProbe(host, batch=3)
    with netns.enter(host):
        held = socket.socket()
    with netns.enter(other):
        mine = socket.socket()
    with held, mine:
        for s, port in ((held, 6100), (mine, 6101)):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
            s.listen(1)
        with netns.enter(other):
            before = os.readlink("/proc/thread-self/ns/net")
            for _ in range(4):                              # 12 tests: 4 batches
                assert probe.in_use("tcp", "0.0.0.0", 6100)
                assert not probe.in_use("tcp", "0.0.0.0", 6101)
                assert not probe.in_use("udp", "0.0.0.0", 6100)
            assert os.readlink("/proc/thread-self/ns/net") == before
    assert not probe.in_use("tcp", "0.0.0.0", 6100)         # closed now
    probe.close()
    assert probe.in_use("tcp", "0.0.0.0", 6100) is False    # made again after close
    probe.close()
