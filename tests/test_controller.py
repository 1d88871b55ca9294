"""The controller against the real kernel, in namespaces the tests create.

The "host" of every controller here is a namespace made by the test
(Config.netns); sandboxes are namespaces under the test's run directory.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from libnet import Config, Controller, netns
from libnet.errors import (ConflictError, ForbiddenError, InvalidParameterError, NotFoundError,
                           UnavailableError)
from libnet.netlink import NetlinkError, RouteSocket

from conftest import ip_json, run_in


@pytest.fixture
def host(make_ns):
    return make_ns("host")


@pytest.fixture
def cfg(tmp_path, host):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\noptions ndots:2\n")
    return Config(data_dir=str(tmp_path / "data"), run_dir=str(tmp_path / "run"),
                  netns=host.path, resolv_conf_source=str(resolv))


@pytest.fixture
def ctl(cfg):
    c = Controller(cfg)
    yield c
    c.stop()


def host_links(host):
    return sorted(l["ifname"] for l in ip_json(host, "link"))


def wait_links_gone(host, names, timeout=5.0):
    """Deleting a namespace frees its veths asynchronously (cleanup_net)."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not set(names) & set(host_links(host)):
            return True
        time.sleep(0.05)
    return False


def ping(sb, address):
    """One echo answered within a few tries (a loaded 2-core machine can
    miss a one-second deadline)."""
    family = "-6" if ":" in address else "-4"
    return any(run_in(sb, "ping", family, "-c", "1", "-W", "2", address, check=False).returncode == 0
               for _ in range(3))


class Ns(os.PathLike):         # a sandbox's namespace, for run_in/ip_json/netns.enter
    def __init__(self, path):
        self.path = path

    def __fspath__(self):
        return self.path


def tcp_roundtrip(server_ns, client_ns, address, port=8080):
    with netns.enter(server_ns):
        srv = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    srv.bind((address, port))
    srv.listen(1)
    srv.settimeout(3)
    got = []

    def serve():
        conn, peer = srv.accept()
        with conn:
            got.append((conn.recv(100), peer[0]))
            conn.sendall(b"pong")
    t = threading.Thread(target=serve)
    t.start()
    with netns.enter(client_ns):
        cli = socket.socket(srv.family)
    with cli:
        cli.settimeout(3)
        cli.connect((address, port))
        cli.sendall(b"ping")
        reply = cli.recv(100)
    t.join()
    srv.close()
    return reply, got[0]


def test_two_sandboxes_exchange_traffic(ctl, host):
    net = ctl.new_network("bridge", "front", ipam={"ipv4": [{"subnet": "10.60.0.0/24"}]})
    a, b = net.create_endpoint("a"), net.create_endpoint("b")
    sa, sb = ctl.new_sandbox("ca", hostname="a"), ctl.new_sandbox("cb", hostname="b")
    a.join(sa)
    b.join(sb)
    assert (a.ipv4, b.ipv4) == ("10.60.0.2/24", "10.60.0.3/24")
    assert a.ifname == "eth0" and a.mac == "02:42:0a:3c:00:02"
    nsa, nsb = Ns(sa.key), Ns(sb.key)
    # Inside: eth0 with the address and MAC, lo up, default via the gateway.
    (eth0,) = [l for l in ip_json(nsa, "addr") if l["ifname"] == "eth0"]
    assert eth0["address"] == a.mac and "UP" in eth0["flags"]
    assert [x["local"] for x in eth0["addr_info"] if x["family"] == "inet"] == ["10.60.0.2"]
    routes = ip_json(nsa, "route")
    assert {"dst": "default", "gateway": "10.60.0.1", "dev": "eth0"}.items() <= routes[0].items()
    assert ping(nsa, "10.60.0.3") and ping(nsb, "10.60.0.2") and ping(nsa, "10.60.0.1")
    reply, (data, peer) = tcp_roundtrip(nsb, nsa, "10.60.0.3")
    assert reply == b"pong" and data == b"ping" and peer == "10.60.0.2"
    # The host side: a bridge with the gateway, one veth per endpoint on it.
    br = net.driver_state["bridge_name"]
    assert br == f"br-{net.id[:12]}"
    (brj,) = [l for l in ip_json(host, "addr") if l["ifname"] == br]
    # The bridge has a MAC of its own: the gateway's MAC does not follow
    # its ports.
    (brd,) = ip_json(host, "-d", "link", "show", br)
    assert int(brd["address"][:2], 16) & 0x03 == 0x02          # unicast, local
    assert brd["address"] not in {l["address"] for l in ip_json(host, "link") if l.get("master") == br}
    assert [x["local"] for x in brj["addr_info"] if x["family"] == "inet"] == ["10.60.0.1"]
    ports = [l["ifname"] for l in ip_json(host, "link") if l.get("master") == br]
    assert sorted(ports) == sorted(["veth" + a.id[:11], "veth" + b.id[:11]])
    # No IPv6 on an IPv4-only network: no link-local address on eth0 or on
    # the bridge ports (whose DAD, RS and MLD the bridge would flood).
    assert [x for x in eth0["addr_info"] if x["family"] == "inet6"] == []
    # One TX and one RX queue on each end (named in the creating request,
    # which spares the kernel's cut from one per CPU and its grace period).
    for port in ports:
        (pj,) = ip_json(host, "-d", "link", "show", port)
        assert pj["inet6_addr_gen_mode"] == "none"
        assert (pj["num_tx_queues"], pj["num_rx_queues"]) == (1, 1)
        (pa,) = ip_json(host, "addr", "show", port)
        assert pa["addr_info"] == []
    (ej,) = ip_json(nsa, "-d", "link", "show", "eth0")
    assert ej["inet6_addr_gen_mode"] == "none"
    assert (ej["num_tx_queues"], ej["num_rx_queues"]) == (1, 1)
    from libnet import sysctl
    # The bridge driver announces the address from the host side: eth0
    # needs no arp_notify (which would flood a request on link-up too).
    assert sysctl.read("net/ipv4/conf/eth0/arp_notify", nsa.path) == "0"


def test_join_on_a_kernel_without_ipv6_sends_no_ipv6_setting(ctl, monkeypatch):
    """A kernel booted with ipv6.disable=1 refuses IFLA_AF_SPEC's AF_INET6:
    the join leaves the IPv6 settings out there (simulated: the flag only)."""
    from libnet import sysctl
    from libnet.netlink import route
    sent = []
    real = route.Batch.send

    def send(self, check=True):
        sent.extend(self._msgs)
        return real(self, check)
    monkeypatch.setattr(sysctl, "HAS_IPV6", False)
    monkeypatch.setattr(route.Batch, "send", send)
    net = ctl.new_network("bridge", "nov6", ipam={"ipv4": [{"subnet": "10.71.0.0/24"}]})
    ep, sb = net.create_endpoint("e"), ctl.new_sandbox("nov6")
    ep.join(sb)
    from libnet import _netlink as nl
    afs = [m.get("af_spec") for m in nl.decode_messages(b"".join(sent))
           if m.type == nl.RTM_NEWLINK and m.get("af_spec")]
    # (the bridge driver announces the address itself: eth0 gets no
    # arp_notify, so with IPv6 gone there is no AF_SPEC at all)
    assert all("inet6" not in a for a in afs)
    assert ping(Ns(sb.key), "10.71.0.1")


def test_join_announces_an_address_once_held_with_another_mac(ctl, host):
    """An address once held with a custom MAC is announced when it comes
    back with its derived one: peers' stale neighbour entries follow it,
    and so does the host's own; the host gets no entry it did not have."""
    net = ctl.new_network("bridge", "n", ipam={"ipv4": [{"subnet": "10.61.0.0/24"}]})
    bridge = net.driver_state["bridge_index"]
    watcher = net.create_endpoint("watcher")
    sw = ctl.new_sandbox("watcher")
    watcher.join(sw)
    old = net.create_endpoint("old", ipv4_address="10.61.0.3", mac_address="02:00:00:00:00:99")
    so = ctl.new_sandbox("old")
    old.join(so)
    # What talking to the old holder leaves in its neighbours' tables.
    with RouteSocket(sw.key) as r:
        r.neigh_add("10.61.0.3", "02:00:00:00:00:99", "eth0", state="stale")
    with RouteSocket(host) as r:
        r.neigh_add("10.61.0.3", "02:00:00:00:00:99", bridge, state="stale")
    so.delete()
    old.delete()
    ep = net.create_endpoint("new", ipv4_address="10.61.0.3")
    assert ep.mac == "02:42:0a:3d:00:03"
    sn = ctl.new_sandbox("new")
    ep.join(sn)
    import time
    for _ in range(40):
        with RouteSocket(sw.key) as r:
            entry = [n for n in r.neigh_dump(4) if n.dst == "10.61.0.3"]
        if entry and entry[0].lladdr == ep.mac:
            break
        time.sleep(0.05)
    assert entry and entry[0].lladdr == ep.mac
    with RouteSocket(host) as r:            # (the subnet's: not the host's IGMP 224.0.0.22)
        mine = {n.dst: n.lladdr for n in r.neigh_dump(4)
                if n.ifindex == bridge and n.dst.startswith("10.61.0.")}
    assert mine == {"10.61.0.3": ep.mac}          # changed; none made for the watcher


def arp_listener(sandbox_key):
    """A socket receiving the ARP frames that reach eth0 of a sandbox."""
    with netns.enter(sandbox_key):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                          socket.htons(0x0806))
    try:
        s.bind(("eth0", 0x0806))
    except BaseException:
        s.close()
        raise
    return s


def received(s, seconds=0.5):
    """The frames ``s`` receives within ``seconds``."""
    import select
    import time
    got, end = [], time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if select.select([s], [], [], left)[0]:
            got.append(s.recv(2048))
    return got


def test_an_address_with_its_derived_mac_is_not_announced(ctl, host):
    """On a bridge libnet made, an address joining with the MAC derived
    from it sends nothing every port would receive: no neighbour can map it
    to another MAC.  A custom MAC is announced, and so is the address when
    it comes back with its derived MAC."""
    net = ctl.new_network("bridge", "quiet", ipam={"ipv4": [{"subnet": "10.64.0.0/24"}]})
    watcher, sw = net.create_endpoint("watcher"), ctl.new_sandbox("qwatcher")
    watcher.join(sw)
    s = arp_listener(sw.key)
    try:
        a, sa = net.create_endpoint("a"), ctl.new_sandbox("qa")
        a.join(sa)
        assert received(s) == []
        b = net.create_endpoint("b", mac_address="02:00:00:00:64:0b")
        sb = ctl.new_sandbox("qb")
        b.join(sb)
        (frame,) = received(s)
        assert frame[6:12] == bytes.fromhex("02000000640b")      # from b's MAC
        ip_b = b.ipv4.split("/")[0]
        assert net._info().foreign_mac_ipv4 == {ip_b}
        sb.delete()
        b.delete()
        c = net.create_endpoint("c", ipv4_address=ip_b)
        sc = ctl.new_sandbox("qc")
        c.join(sc)
        (frame,) = received(s)
        assert frame[6:12] == bytes.fromhex(c.mac.replace(":", ""))
    finally:
        s.close()
    assert ping(Ns(sa.key), watcher.ipv4.split("/")[0])     # (ARP resolves as ever)


def test_join_announces_ipv6_without_ndisc_notify(ctl, host):
    """The unsolicited neighbour advertisement, sent from the bridge: a
    peer's and the host's stale IPv6 entries follow the address, and the
    sandbox needs no ndisc_notify (a /proc/sys write)."""
    from libnet import sysctl
    net = ctl.new_network("bridge", "n6", enable_ipv6=True,
                          ipam={"ipv4": [{"subnet": "10.63.0.0/24"}],
                                "ipv6": [{"subnet": "fd00:63::/64"}]})
    bridge = net.driver_state["bridge_index"]
    watcher, sw = net.create_endpoint("watcher"), ctl.new_sandbox("watcher6")
    watcher.join(sw)
    ep = net.create_endpoint("new")
    ip6 = ep.ipv6.split("/")[0]
    with RouteSocket(sw.key) as r:
        r.neigh_add(ip6, "02:00:00:00:00:66", "eth0", state="stale")
    with RouteSocket(host) as r:
        r.neigh_add(ip6, "02:00:00:00:00:66", bridge, state="stale")
    sn = ctl.new_sandbox("new6")
    ep.join(sn)
    import time
    for _ in range(40):
        with RouteSocket(sw.key) as r:
            entry = [n for n in r.neigh_dump(6) if n.dst == ip6]
        if entry and entry[0].lladdr == ep.mac:
            break
        time.sleep(0.05)
    assert entry and entry[0].lladdr == ep.mac
    with RouteSocket(host) as r:
        (mine,) = [n for n in r.neigh_dump(6) if n.ifindex == bridge and n.dst == ip6]
    assert mine.lladdr == ep.mac
    assert sysctl.read("net/ipv6/conf/eth0/ndisc_notify", sn.key) == "0"
    assert sysctl.read("net/ipv4/conf/eth0/arp_notify", sn.key) == "0"


def test_static_and_dual_stack(ctl):
    net = ctl.new_network("bridge", "ds", enable_ipv6=True,
                          ipam={"ipv4": [{"subnet": "10.62.0.0/24", "ip_range": "10.62.0.128/25",
                                          "gateway": "10.62.0.254"}],
                                "ipv6": [{"subnet": "fd00:62::/64"}]})
    dyn = net.create_endpoint("dyn")
    static = net.create_endpoint("static", ipv4_address="10.62.0.10", ipv6_address="fd00:62::10")
    assert dyn.ipv4 == "10.62.0.128/24" and dyn.ipv6 == "fd00:62::2/64"
    assert static.ipv4 == "10.62.0.10/24" and static.ipv6 == "fd00:62::10/64"
    s1, s2 = ctl.new_sandbox("s1"), ctl.new_sandbox("s2")
    dyn.join(s1)
    static.join(s2)
    n1 = Ns(s1.key)
    assert ping(n1, "10.62.0.10") and ping(n1, "fd00:62::10")
    v6 = ip_json(n1, "-6", "route", "show", "default")
    assert v6 and v6[0]["gateway"] == "fd00:62::1"
    assert ip_json(n1, "-4", "route", "show", "default")[0]["gateway"] == "10.62.0.254"
    assert dyn.info()["gateway_ipv6"] == "fd00:62::1"
    reply, (_, peer) = tcp_roundtrip(Ns(s2.key), n1, "fd00:62::10")
    assert reply == b"pong" and peer == "fd00:62::2"
    # An IPv6 endpoint keeps its link-local address; the bridge port has none.
    (eth0,) = ip_json(n1, "-6", "addr", "show", "eth0")
    assert any(x["local"].startswith("fe80:") for x in eth0["addr_info"])
    (pj,) = ip_json(Ns(ctl.config.netns), "addr", "show", "veth" + dyn.id[:11])
    assert pj["addr_info"] == []


def test_two_networks_eth0_eth1_and_gateway_priority(ctl):
    n1 = ctl.new_network("bridge", "one", ipam={"ipv4": [{"subnet": "10.63.1.0/24"}]})
    n2 = ctl.new_network("bridge", "two", ipam={"ipv4": [{"subnet": "10.63.2.0/24"}]})
    internal = ctl.new_network("bridge", "int", internal=True,
                               ipam={"ipv4": [{"subnet": "10.63.3.0/24"}]})
    sb = ctl.new_sandbox("multi")
    e1, e2, e3 = n1.create_endpoint("e1"), n2.create_endpoint("e2", priority=10), internal.create_endpoint("e3")
    e1.join(sb)
    e2.join(sb)
    e3.join(sb, priority=100)        # internal: no gateway, never the default route
    assert (e1.ifname, e2.ifname, e3.ifname) == ("eth0", "eth1", "eth2")
    ns = Ns(sb.key)
    names = {l["ifname"]: l for l in ip_json(ns, "addr")}
    assert names["eth0"]["addr_info"][0]["local"] == "10.63.1.2"
    assert names["eth1"]["addr_info"][0]["local"] == "10.63.2.2"
    default = ip_json(ns, "route", "show", "default")
    assert len(default) == 1 and default[0]["gateway"] == "10.63.2.1" and default[0]["dev"] == "eth1"
    assert sb.gateway_endpoint == e2.id
    e2.leave(sb)                     # the carrier goes: the next one takes over
    default = ip_json(ns, "route", "show", "default")
    assert len(default) == 1 and default[0]["gateway"] == "10.63.1.1" and default[0]["dev"] == "eth0"
    assert "eth1" not in {l["ifname"] for l in ip_json(ns, "link")}
    e4 = n2.create_endpoint("e4")
    e4.join(sb)
    assert e4.ifname == "eth1"       # the lowest free name


def not_spare(ctl, names):
    """``names`` (of namespaces, listed first) without those the controller
    made ahead for sandboxes to come (Config.namespaces_ahead)."""
    spare = {os.path.basename(p) for p in ctl.spare_namespaces()}
    return sorted(set(names) - spare)


def test_leave_and_delete_remove_every_kernel_object(ctl, host, cfg):
    before = host_links(host)
    net = ctl.new_network("bridge", "tmp", ipam={"ipv4": [{"subnet": "10.64.0.0/24"}]})
    eps = [net.create_endpoint(f"e{i}") for i in range(3)]
    sbs = [ctl.new_sandbox(f"c{i}") for i in range(3)]
    for e, s in zip(eps, sbs):
        e.join(s)
    veths = ["veth" + e.id[:11] for e in eps]
    eps[0].leave(sbs[0])                          # leave alone: the veth goes now
    assert veths[0] not in host_links(host)
    assert [l["ifname"] for l in ip_json(Ns(sbs[0].key), "link")] == ["lo"]
    keys = [s.key for s in sbs]
    for s in sbs:
        s.delete()                                # the namespace goes, veths with it
    for e in eps:
        e.delete()
    net.delete()
    assert ctl.wait_released(timeout=30)         # the unmounts run in the background
    assert wait_links_gone(host, veths + [net.driver_state["bridge_name"]])
    assert host_links(host) == before
    assert not any(os.path.exists(k) for k in keys)
    assert not_spare(ctl, netns.list_netns(os.path.join(cfg.run_dir, "netns"))) == []
    assert os.listdir(os.path.join(cfg.run_dir, "sandboxes")) == []
    assert ctl.store.list("network") == ctl.store.list("endpoint") == ctl.store.list("sandbox") == []
    for obj in (sbs[0], eps[0], net):             # teardown is idempotent
        obj.delete()


def test_sandbox_delete_deletes_its_endpoints_as_libnetwork_does(ctl, host):
    net = ctl.new_network("bridge", "sd", ipam={"ipv4": [{"subnet": "10.69.0.0/24"}]})
    joined, kept = net.create_endpoint("joined"), net.create_endpoint("kept")
    sb, other = ctl.new_sandbox("c1"), ctl.new_sandbox("c2")
    joined.join(sb)
    kept.join(other)
    kept.leave(other)                             # left first: it survives its sandbox
    other.delete()
    sb.delete()
    assert joined.deleted and not kept.deleted
    assert [e.name for e in net.endpoints()] == ["kept"]
    with pytest.raises(NotFoundError):
        net.endpoint_by_name("joined")
    assert [r.name for r in ctl.store.list("endpoint")] == ["kept"]
    assert ctl.store.list("sandbox") == []
    assert net.create_endpoint("again").ipv4 == joined.ipv4     # its address is free
    joined.delete()                               # already gone: nothing to do


def test_hosts_and_resolv_conf(ctl):
    net = ctl.new_network("bridge", "dns", ipam={"ipv4": [{"subnet": "10.65.0.0/24"}]})
    ep = net.create_endpoint("web", aliases=("www", "api"))
    sb = ctl.new_sandbox("web", hostname="web1", domainname="corp.example",
                         extra_hosts=[("db", "10.65.0.200"), "cache:10.65.0.201"],
                         dns_options=["ndots:5"])
    ep.join(sb)
    hosts = open(sb.hosts_path).read().splitlines()
    assert hosts[0] == "127.0.0.1\tlocalhost"
    assert "10.65.0.2\tweb1.corp.example web1 www api" in hosts
    assert hosts[-2:] == ["10.65.0.200\tdb", "10.65.0.201\tcache"]
    # The host's resolvers without loopback ones; the sandbox's own options.
    assert open(sb.resolv_conf_path).read() == (
        "nameserver 192.0.2.53\nsearch example.org\noptions ndots:5\n")
    own = ctl.new_sandbox("own", dns=["198.51.100.1"], dns_search=["a.example"])
    assert open(own.resolv_conf_path).read() == "nameserver 198.51.100.1\nsearch a.example\noptions ndots:2\n"
    assert not [f for f in os.listdir(sb.dir) if f.startswith(".")]   # no temporaries left


def test_hosts_rewritten_only_when_it_changes(ctl):
    """A join or leave replaces hosts (a new inode) when its content changes,
    and leaves it alone otherwise: a sandbox without a host name lists no
    address of its own, so its file stays as new_sandbox wrote it."""
    net = ctl.new_network("bridge", "hostsfile", ipam={"ipv4": [{"subnet": "10.66.0.0/24"}]})
    plain, named = ctl.new_sandbox("plain"), ctl.new_sandbox("named", hostname="box")
    inode = {sb: os.stat(sb.hosts_path).st_ino for sb in (plain, named)}
    a, b = net.create_endpoint("a"), net.create_endpoint("b")
    a.join(plain)
    b.join(named)
    assert os.stat(plain.hosts_path).st_ino == inode[plain]
    assert os.stat(named.hosts_path).st_ino != inode[named]
    assert "10.66.0.3\tbox" in open(named.hosts_path).read().splitlines()
    inode[named] = os.stat(named.hosts_path).st_ino
    b.leave(named)
    assert os.stat(named.hosts_path).st_ino != inode[named]
    assert "box" not in open(named.hosts_path).read()


def test_ip_forwarding_is_the_bridge_drivers_option(tmp_path, host, make_ns):
    from libnet import sysctl
    assert sysctl.read("net/ipv4/ip_forward", host) == "0"
    off = Config(data_dir=str(tmp_path / "d1"), run_dir=str(tmp_path / "r1"), netns=host.path,
                 driver_options={"bridge": {"enable_ip_forwarding": False}})
    with Controller(off) as c:
        c.new_network("bridge", "v6", enable_ipv6=True,
                      ipam={"ipv4": [{"subnet": "10.70.0.0/24"}], "ipv6": [{"subnet": "fd00:70::/64"}]})
        assert sysctl.read("net/ipv4/ip_forward", host) == "0"       # as Docker's --ip-forward=false
        assert sysctl.read("net/ipv6/conf/all/forwarding", host) == "0"
    other = make_ns("host2")
    on = Config(data_dir=str(tmp_path / "d2"), run_dir=str(tmp_path / "r2"), netns=other.path)
    with Controller(on) as c:
        c.new_network("bridge", "v6", enable_ipv6=True,
                      ipam={"ipv4": [{"subnet": "10.70.0.0/24"}], "ipv6": [{"subnet": "fd00:70::/64"}]})
        assert sysctl.read("net/ipv4/ip_forward", other) == "1"
        assert sysctl.read("net/ipv6/conf/all/forwarding", other) == "1"


def test_one_controller_per_data_dir(cfg, host):
    c = Controller(cfg)
    try:
        c.new_network("bridge", "mine", ipam={"ipv4": [{"subnet": "10.67.0.0/24"}]})
        links = host_links(host)
        with pytest.raises(UnavailableError, match="in use by another libnet controller"):
            Controller(cfg)
        assert host_links(host) == links and [n.name for n in c.networks()] == ["mine"]
        c.new_network("bridge", "still-mine", ipam={"ipv4": [{"subnet": "10.67.1.0/24"}]})
    finally:
        c.stop()
    c2 = Controller(cfg)          # free again once the first one stopped
    try:
        assert sorted(n.name for n in c2.networks()) == ["mine", "still-mine"]
    finally:
        c2.stop()


def test_restore_after_restart(cfg, host):
    c = Controller(cfg)
    net = c.new_network("bridge", "keep", ipam={"ipv4": [{"subnet": "10.66.0.0/24"}]})
    eps = [net.create_endpoint(f"e{i}") for i in range(3)]
    sb = c.new_sandbox("c0", hostname="h")
    eps[0].join(sb)
    eps[1].delete()
    ids = (net.id, eps[0].id, sb.id)
    c.stop()
    c2 = Controller(cfg)
    try:
        n2 = c2.network("keep")
        assert n2.id == ids[0] and sorted(e.name for e in n2.endpoints()) == ["e0", "e2"]
        e0 = n2.endpoint_by_name("e0")
        assert e0.sandbox_id == ids[2] and e0.ifname == "eth0" and e0.ipv4 == "10.66.0.2/24"
        assert c2.sandbox_by_container("c0").key == sb.key
        # IPAM restored: the freed .3 comes back first, .2 and .4 stay taken.
        assert n2.create_endpoint("e3").ipv4 == "10.66.0.3/24"
        assert n2.create_endpoint("e4").ipv4 == "10.66.0.5/24"
        assert c2.network_by_id(ids[0][:6]) is n2
        # A lost bridge is re-created at start.
        with RouteSocket(host) as r:
            r.link_del(n2.driver_state["bridge_name"])
        c2.stop()
        c3 = Controller(cfg)
        n3 = c3.network("keep")
        assert n3.driver_state["bridge_name"] in host_links(host)
        c3.stop()
    finally:
        if not c2.store._db:
            pass


def test_join_order_and_default_route_survive_a_restart(cfg, host):
    """A join writes only the endpoint's record; the sandbox's join order and
    its default-route endpoint follow from the endpoints' records."""
    from libnet.store import SQLiteStore, StoreRecord
    c = Controller(cfg)
    a = c.new_network("bridge", "a", ipam={"ipv4": [{"subnet": "10.68.1.0/24"}]})
    b = c.new_network("bridge", "b", ipam={"ipv4": [{"subnet": "10.68.2.0/24"}]})
    i = c.new_network("bridge", "i", internal=True, ipam={"ipv4": [{"subnet": "10.68.3.0/24"}]})
    ea, eb, ei = a.create_endpoint("ea"), b.create_endpoint("eb"), i.create_endpoint("ei")
    sb = c.new_sandbox("multi")
    ea.join(sb)
    ei.join(sb)
    eb.join(sb, priority=5)
    before = ([e.name for e in sb.endpoints()], sb.gateway_endpoint)
    assert before == (["ea", "ei", "eb"], eb.id)
    c.stop()
    c = Controller(cfg)
    try:
        sb = c.sandbox_by_container("multi")
        assert ([e.name for e in sb.endpoints()], sb.gateway_endpoint) == before
        eb = c.network("b").endpoint_by_name("eb")
        eb.leave(sb)                   # the default route falls back to ea
        assert sb.gateway_endpoint == c.network("a").endpoint_by_name("ea").id
        assert ip_json(Ns(sb.key), "-4", "route", "show", "default")[0]["gateway"] == "10.68.1.1"
    finally:
        c.stop()
    # A store written before join_seq: the sandbox record lists its endpoints.
    st = SQLiteStore(cfg.data_dir)
    (rec,) = st.list("sandbox")
    eps = {e.name: e for e in st.list("endpoint")}
    st.put(StoreRecord("sandbox", rec.id, rec.name, {
        **rec.data, "joined": [eps["ei"].id, eps["ea"].id], "gateway_endpoint": eps["ea"].id}))
    st.close()
    c = Controller(cfg)
    try:
        sb = c.sandbox_by_container("multi")
        assert [e.name for e in sb.endpoints()] == ["ei", "ea"]
        assert sb.gateway_endpoint == eps["ea"].id
    finally:
        c.stop()


CRASH_SCRIPT = textwrap.dedent("""
    import sys
    from libnet import Config, Controller
    cfg = Config(data_dir=sys.argv[1], run_dir=sys.argv[2], netns=sys.argv[3],
                 resolv_conf_source="/dev/null")
    c = Controller(cfg)
    net = c.network("crash") if [n for n in c.networks() if n.name == "crash"] else \\
        c.new_network("bridge", "crash", ipam={"ipv4": [{"subnet": "10.67.0.0/24"}]})
    step = sys.argv[4]
    if step == "network":
        c.new_network("bridge", "second", ipam={"ipv4": [{"subnet": "10.67.1.0/24"}]})
    sb = c.new_sandbox("victim")
    ep = net.create_endpoint("victim")
    ep.join(sb)
    if step == "delete":
        sb.delete()
        c.wait_released()
    print("survived")
""")


@pytest.mark.parametrize("failpoint", ["join.before_commit", "sandbox.before_commit",
                                       "network.before_commit", "sandbox.before_release"])
def test_crash_between_kernel_and_store_leaks_nothing(cfg, host, tmp_path, failpoint):
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    # First run: set up the network cleanly, so only the step under test dies.
    c = Controller(cfg)
    c.new_network("bridge", "crash", ipam={"ipv4": [{"subnet": "10.67.0.0/24"}]})
    c.stop()
    baseline = host_links(host)
    env = dict(os.environ, LIBNET_FAILPOINT=failpoint)
    step = {"network.before_commit": "network",
            "sandbox.before_release": "delete"}.get(failpoint, "join")
    r = subprocess.run([sys.executable, str(script), cfg.data_dir, cfg.run_dir, cfg.netns, step],
                       env=env, capture_output=True, text=True)
    assert r.returncode == -9, r.stderr          # SIGKILL at the failpoint
    assert "survived" not in r.stdout
    nsdir = os.path.join(cfg.run_dir, "netns")
    leaked_links = set(host_links(host)) - set(baseline)
    leaked_ns = netns.list_netns(nsdir)
    # The crash left kernel objects the store does not know about.
    # (and any namespaces made ahead for sandboxes to come: see
    # test_namespaces_made_ahead)
    if failpoint == "sandbox.before_commit":
        assert len(leaked_ns) >= 1
    elif failpoint == "sandbox.before_release":
        # Deleted in the store, still mounted, its folder still there.
        assert len(leaked_ns) >= 1 and leaked_links
        assert len(os.listdir(os.path.join(cfg.run_dir, "sandboxes"))) == 1
    else:
        assert leaked_links
    c2 = Controller(cfg)                         # the restart reconciles
    try:
        assert [n.name for n in c2.networks()] == ["crash"]
        net = c2.network("crash")
        if failpoint == "join.before_commit":
            # The sandbox and the endpoint were committed; the join was not.
            (sb,) = c2.sandboxes()
            (ep,) = net.endpoints()
            assert ep.sandbox_id is None and sb.endpoints() == []
            assert [l["ifname"] for l in ip_json(Ns(sb.key), "link")] == ["lo"]
            assert netns.list_netns(nsdir) == [os.path.basename(sb.key)]
            assert wait_links_gone(host, list(leaked_links))
            ep.join(sb)                          # and it can join now
            assert ep.ipv4 == "10.67.0.2/24"
            return
        else:
            assert c2.sandboxes() == [] and net.endpoints() == []
            assert netns.list_netns(nsdir) == []
            sb_root = os.path.join(cfg.run_dir, "sandboxes")
            assert not os.path.isdir(sb_root) or os.listdir(sb_root) == []
            assert net.create_endpoint("again").ipv4 == "10.67.0.2/24"
        assert wait_links_gone(host, list(leaked_links))
    finally:
        c2.stop()


def test_exit_without_stop_still_releases(cfg, host, tmp_path):
    """A process that deletes a sandbox and exits at once, without stop():
    the background release finishes before the interpreter goes."""
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent("""
        import sys
        from libnet import Config, Controller
        c = Controller(Config(data_dir=sys.argv[1], run_dir=sys.argv[2], netns=sys.argv[3],
                              resolv_conf_source="/dev/null"))
        net = c.new_network("bridge", "exit", ipam={"ipv4": [{"subnet": "10.67.2.0/24"}]})
        sb, ep = c.new_sandbox("gone"), net.create_endpoint("gone")
        ep.join(sb)
        sb.delete()
        print(sb.key, sb.dir)
    """))
    r = subprocess.run([sys.executable, str(script), cfg.data_dir, cfg.run_dir, cfg.netns],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    key, sb_dir = r.stdout.split()
    assert not os.path.exists(key) and not os.path.exists(sb_dir)
    assert netns.list_netns(os.path.join(cfg.run_dir, "netns")) == []


def wait_spare(ctl, count, timeout=10.0):
    """The controller's spare namespaces once ``count`` exist."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        spare = ctl.spare_namespaces()
        if len(spare) >= count and all(os.path.exists(p) for p in spare):
            return spare
        assert time.monotonic() < deadline, f"{len(spare)} spare namespaces, not {count}"
        time.sleep(0.01)


def lo_up(key):
    (lo,) = ip_json(Ns(key), "link")
    return lo["ifname"] == "lo" and "UP" in lo["flags"]


def test_namespaces_made_ahead(cfg, host):
    """new_sandbox takes a namespace a background thread made ahead (the
    sandbox gets its id), with its loopback up; the thread tops the pool up
    once it is down to half; reconcile leaves the spare ones alone; stop
    removes them."""
    c = Controller(dataclasses.replace(cfg, namespaces_ahead=4))
    try:
        nsdir = c.netns_dir
        assert c.spare_namespaces() == []            # none until a sandbox is made
        first = c.new_sandbox("first")               # made in line; the thread starts
        assert lo_up(first.key)
        spare = wait_spare(c, 4)
        assert first.key not in spare and len(spare) == 4 and all(lo_up(p) for p in spare)
        sb = c.new_sandbox("second")
        assert sb.key in spare and os.path.basename(sb.key) == sb.id
        net = c.new_network("bridge", "ahead", ipam={"ipv4": [{"subnet": "10.75.0.0/24"}]})
        ep = net.create_endpoint("e")
        ep.join(sb)
        assert ping(Ns(sb.key), "10.75.0.1") and ping(Ns(sb.key), "127.0.0.1")
        assert len(c.spare_namespaces()) == 3        # not refilled above half
        third = c.new_sandbox("third")
        assert third.key in spare
        spare = wait_spare(c, 4)                     # down to half: made whole again
        report = c.reconcile()
        assert report["netns_removed"] == [] and all(os.path.exists(p) for p in spare)
        # Deleting the sandbox deletes the namespace it took, like any other.
        sb.delete()
        assert c.wait_released(timeout=30) and not os.path.exists(sb.key)
    finally:
        c.stop()
    assert not any(os.path.exists(p) for p in spare)
    assert netns.list_netns(nsdir) == sorted([first.id, third.id])


def test_only_the_newest_sandbox_holds_descriptors(cfg, host):
    """A sandbox's namespace comes open, with a socket inside, for its first
    join; only the newest sandbox keeps them, so sandboxes that are never
    joined hold no files, and deleting one leaves no namespace alive."""
    c = Controller(dataclasses.replace(cfg, namespaces_ahead=0))
    try:
        before = len(os.listdir("/proc/self/fd"))
        sbs = [c.new_sandbox(f"idle{i}") for i in range(20)]
        assert len(os.listdir("/proc/self/fd")) - before <= 2
        assert all(lo_up(sb.key) for sb in sbs)
        net = c.new_network("bridge", "fds", ipam={"ipv4": [{"subnet": "10.76.0.0/24"}]})
        for i in (0, 19):                            # an old one and the newest
            net.create_endpoint(f"e{i}").join(sbs[i])
            assert ping(Ns(sbs[i].key), "10.76.0.1")
        assert len(os.listdir("/proc/self/fd")) - before <= 1      # (the bridge's announcer)
        for sb in sbs:
            sb.delete()
        assert c.wait_released(timeout=30)
        assert len(os.listdir("/proc/self/fd")) - before <= 1
        # No namespace outlived its mount: each veth's host end goes with it
        # (once the kernel's cleanup_net has run).
        import time
        deadline = time.monotonic() + 10
        while [l for l in ip_json(host, "link") if l["ifname"].startswith("veth")]:
            assert time.monotonic() < deadline, "a namespace was kept alive"
            time.sleep(0.05)
    finally:
        c.stop()


def test_no_namespaces_made_ahead_when_told(cfg):
    c = Controller(dataclasses.replace(cfg, namespaces_ahead=0))
    try:
        a, b = c.new_sandbox("a"), c.new_sandbox("b")
        import time
        time.sleep(0.2)
        assert c.spare_namespaces() == []
        assert netns.list_netns(c.netns_dir) == sorted([a.id, b.id])
    finally:
        c.stop()
    for bad in (-1, "3", True, 2.0):
        with pytest.raises(InvalidParameterError, match="namespaces_ahead"):
            Controller(dataclasses.replace(cfg, namespaces_ahead=bad))


def test_a_crash_leaves_no_namespace_made_ahead(cfg, host, tmp_path):
    """Killed with its spare namespaces made: the next start removes them."""
    script = tmp_path / "ahead.py"
    script.write_text(textwrap.dedent("""
        import os, signal, sys, time
        from libnet import Config, Controller
        c = Controller(Config(data_dir=sys.argv[1], run_dir=sys.argv[2], netns=sys.argv[3],
                              resolv_conf_source="/dev/null", namespaces_ahead=4))
        sb = c.new_sandbox("kept")
        while len([p for p in c.spare_namespaces() if os.path.exists(p)]) < 4:
            time.sleep(0.01)
        print(sb.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """))
    r = subprocess.run([sys.executable, str(script), cfg.data_dir, cfg.run_dir, cfg.netns],
                       capture_output=True, text=True)
    assert r.returncode == -9, r.stderr
    kept = r.stdout.split()[0]
    nsdir = os.path.join(cfg.run_dir, "netns")
    assert len(netns.list_netns(nsdir)) == 5 and kept in netns.list_netns(nsdir)
    c = Controller(cfg)                              # the restart reconciles
    try:
        assert netns.list_netns(nsdir) == [kept]
        assert [sb.id for sb in c.sandboxes()] == [kept]
    finally:
        c.stop()


# ------------------------------------------------------------------ bad input


def snapshot(ctl, host):
    return (host_links(host), [l["addr_info"] for l in ip_json(host, "addr")],
            [(r.kind, r.id, r.data) for k in ("network", "endpoint", "sandbox")
             for r in ctl.store.list(k)],
            not_spare(ctl, os.listdir(ctl.netns_dir)) if os.path.isdir(ctl.netns_dir) else [])


def test_bad_input_changes_nothing(ctl, host):
    net = ctl.new_network("bridge", "base", ipam={"ipv4": [{"subnet": "10.68.0.0/29"}]})
    taken = net.create_endpoint("taken", ipv4_address="10.68.0.2")
    before = snapshot(ctl, host)
    cases = [
        (ConflictError, lambda: ctl.new_network("bridge", "base")),
        (ConflictError, lambda: ctl.new_network("bridge", "overlap",
                                                ipam={"ipv4": [{"subnet": "10.68.0.0/24"}]})),
        (InvalidParameterError, lambda: ctl.new_network("bridge", "cidr",
                                                        ipam={"ipv4": [{"subnet": "10.68.300.0/24"}]})),
        (InvalidParameterError, lambda: ctl.new_network("bridge", "gw",
                                                        ipam={"ipv4": [{"subnet": "10.69.0.0/24",
                                                                        "gateway": "10.70.0.1"}]})),
        (NotFoundError, lambda: ctl.new_network("nosuchdriver", "x")),
        (InvalidParameterError, lambda: ctl.new_network("bridge", "opt", bogus=1)),
        (InvalidParameterError, lambda: ctl.new_network("bridge", "dopt", driver_opts={"bogus": 1})),
        (InvalidParameterError, lambda: ctl.new_network("bridge", "bn",
                                                        driver_opts={"bridge_name": "way-too-long-bridge"})),
        (InvalidParameterError, lambda: ctl.new_network("bridge", "ms",
                                                        driver_opts={"mcast_snooping": "sometimes"})),
        (ConflictError, lambda: net.create_endpoint("taken")),
        (InvalidParameterError, lambda: net.create_endpoint("out", ipv4_address="10.99.0.2")),
        (ConflictError, lambda: net.create_endpoint("dup", ipv4_address="10.68.0.2")),
        (InvalidParameterError, lambda: net.create_endpoint("badmac", mac_address="zz")),
        (InvalidParameterError, lambda: net.create_endpoint("badopt", nonsense=True)),
        (InvalidParameterError, lambda: ctl.new_sandbox("c", hostname="bad host")),
        (InvalidParameterError, lambda: ctl.new_sandbox("c", nope=1)),
    ]
    for exc, fn in cases:
        with pytest.raises(exc):
            fn()
        assert snapshot(ctl, host) == before, fn
    # A pool runs out: /29 has 6 usable addresses, the gateway and .2 taken.
    eps = [net.create_endpoint(f"fill{i}") for i in range(4)]
    full = snapshot(ctl, host)
    with pytest.raises(UnavailableError):
        net.create_endpoint("one-too-many")
    assert snapshot(ctl, host) == full
    with pytest.raises(ForbiddenError):
        net.delete()                              # it has endpoints
    sb = ctl.new_sandbox("j")
    taken.join(sb)
    with pytest.raises(ForbiddenError):
        taken.join(sb)
    with pytest.raises(ForbiddenError):
        taken.delete()                            # joined
    with pytest.raises(InvalidParameterError):
        eps[0].join(sb, bogus=1)


def test_lookups_and_walkers(ctl):
    a = ctl.new_network("bridge", "alpha", ipam={"ipv4": [{"subnet": "10.71.0.0/24"}]})
    ctl.new_network("null", "none")
    ctl.new_network("host", "host")
    assert ctl.network("alpha") is a and ctl.network(a.id[:8]) is a
    with pytest.raises(NotFoundError):
        ctl.network("missing")
    assert ctl.walk_networks(lambda n: n.driver_name == "null").name == "none"
    ep = a.create_endpoint("x")
    assert a.endpoint_by_id(ep.id[:10]) is ep and a.endpoint_by_name("x") is ep
    sb = ctl.new_sandbox("cid")
    assert ctl.sandbox_by_container("cid") is sb and ctl.sandbox_by_id(sb.id[:7]) is sb
    assert a.info()["ipam"]["config"][0] == {"subnet": "10.71.0.0/24", "ip_range": None,
                                             "gateway": "10.71.0.1", "aux_addresses": {}}
    assert ep.driver_info()["com.docker.network.endpoint.macaddress"] == ep.mac


def test_null_and_host_networks(ctl, host):
    none = ctl.new_network("null", "none")
    sb = ctl.new_sandbox("isolated")
    ep = none.create_endpoint("n")
    ep.join(sb)
    assert [l["ifname"] for l in ip_json(Ns(sb.key), "link")] == ["lo"]
    hostnet = ctl.new_network("host", "host")
    hsb = ctl.new_sandbox("hostly", use_host_netns=True)
    assert os.stat(hsb.key).st_ino == os.stat(host.path).st_ino
    hep = hostnet.create_endpoint("h")
    hep.join(hsb)
    with pytest.raises(ForbiddenError):
        hostnet.create_endpoint("h2").join(sb)    # a host endpoint needs a host sandbox
    hsb.delete()
    assert os.path.exists(host.path)              # the host namespace is not ours to delete


def test_existing_namespace_and_existing_bridge(ctl, host, make_ns):
    ext = make_ns("external")
    with RouteSocket(host) as r:
        r.link_add("mybr", "bridge")
    net = ctl.new_network("bridge", "pre", driver_opts={"com.docker.network.bridge.name": "mybr"},
                          ipam={"ipv4": [{"subnet": "10.72.0.0/24"}]})
    assert net.driver_state["created_bridge"] is False
    sb = ctl.new_sandbox("ext", netns_path=ext.path)
    ep = net.create_endpoint("e")
    ep.join(sb)
    assert "eth0" in {l["ifname"] for l in ip_json(ext, "link")}
    sb.delete()
    assert os.path.exists(ext.path)               # not ours: kept
    ep.delete()
    net.delete()
    assert "mybr" in host_links(host)             # pre-existing: kept
    (mybr,) = ip_json(host, "-d", "link", "show", "mybr")
    assert mybr["linkinfo"]["info_data"]["mcast_snooping"] == 1   # as it was made


def test_multicast_snooping_is_off_unless_asked_for(ctl, host):
    """A bridge libnet makes has IGMP/MLD snooping off (with it on, each
    port enslaved re-arms query timers on every port); the network option
    ``mcast_snooping`` keeps the kernel's default, also across a restore."""
    def snooping(net):
        (j,) = ip_json(host, "-d", "link", "show", net.driver_state["bridge_name"])
        return j["linkinfo"]["info_data"]["mcast_snooping"]
    plain = ctl.new_network("bridge", "plain", ipam={"ipv4": [{"subnet": "10.73.0.0/24"}]})
    snoop = ctl.new_network("bridge", "snoop", ipam={"ipv4": [{"subnet": "10.74.0.0/24"}]},
                            driver_opts={"mcast_snooping": "true"})
    assert (snooping(plain), snooping(snoop)) == (0, 1)
    # Lost bridges are re-made by a restart as they were asked for.
    with RouteSocket(host) as r:
        for net in (plain, snoop):
            r.link_del(net.driver_state["bridge_name"])
    cfg = ctl.config
    ctl.stop()
    again = Controller(cfg)
    try:
        assert (snooping(again.network("plain")), snooping(again.network("snoop"))) == (0, 1)
    finally:
        again.stop()


# ------------------------------------------------------------------ published ports


@pytest.fixture
def outside(host, make_ns):
    """A client namespace routed to the host namespace (another machine)."""
    out = make_ns("outside")
    with RouteSocket(host) as r:
        r.link_add_veth("to-out", "eth0", peer_netns=out, up=True)
        r.addr_add("to-out", "192.0.2.1/24")
    with RouteSocket(out) as r:
        r.link_set("lo", up=True)
        r.link_set("eth0", up=True)
        r.addr_add("eth0", "192.0.2.2/24")
        r.route_add("default", gateway="192.0.2.1")
    return out


def serve_once(ns, port, proto="tcp"):
    """A one-shot echo server inside ``ns``; returns (thread, what it saw)."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with netns.enter(ns):
        srv = socket.socket(socket.AF_INET, kind)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.settimeout(5)
    seen = []
    if proto == "tcp":
        srv.listen(1)

    def run():
        with srv:
            if proto == "tcp":
                conn, peer = srv.accept()
                with conn:
                    seen.append((conn.recv(100), peer[0]))
                    conn.sendall(b"hello from the container")
            else:
                data, peer = srv.recvfrom(100)
                seen.append((data, peer[0]))
                srv.sendto(b"hello from the container", peer)
    t = threading.Thread(target=run)
    t.start()
    return t, seen


def client(ns, address, port, proto="tcp"):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with netns.enter(ns):
        c = socket.socket(socket.AF_INET, kind)
    with c:
        c.settimeout(5)
        if proto == "tcp":
            c.connect((address, port))
            c.sendall(b"hi")
            return c.recv(100)
        c.sendto(b"hi", (address, port))
        return c.recvfrom(100)[0]


def test_published_ports_reach_the_container(ctl, host, outside):
    net = ctl.new_network("bridge", "pub", ipam={"ipv4": [{"subnet": "10.73.0.0/24"}]})
    ep = net.create_endpoint("web", port_bindings=[
        {"proto": "tcp", "port": 80, "host_port": 8080},
        {"proto": "udp", "port": 53, "host_port": 5353},
        {"proto": "tcp", "port": 443}])                       # ephemeral host port
    sb = ctl.new_sandbox("web")
    ep.join(sb)
    pm = ep.driver_info()["com.docker.network.portmap"]
    by_port = {(m["proto"], m["port"]): m for m in pm}
    assert by_port[("tcp", 80)]["host_port"] == 8080
    assert by_port[("udp", 53)]["host_port"] == 5353
    lo, hi = map(int, run_in(host, "cat", "/proc/sys/net/ipv4/ip_local_port_range").stdout.split())
    assert lo <= by_port[("tcp", 443)]["host_port"] <= hi
    assert all(m["container_ip"] == "10.73.0.2" for m in pm)
    box = Ns(sb.key)
    t, seen = serve_once(box, 80)
    assert client(outside, "192.0.2.1", 8080) == b"hello from the container"
    t.join()
    assert seen == [(b"hi", "192.0.2.2")]                     # masquerade keeps the client
    t, seen = serve_once(box, 53, "udp")
    assert client(outside, "192.0.2.1", 5353, "udp") == b"hello from the container"
    t.join()
    # A second container cannot take the same host port: nothing is applied.
    other = net.create_endpoint("clash", port_bindings=[{"proto": "tcp", "port": 81, "host_port": 9090},
                                                        {"proto": "tcp", "port": 80, "host_port": 8080}])
    sb2 = ctl.new_sandbox("clash")
    before = sorted(map(str, ctl.firewall.programmed()))
    with pytest.raises(ConflictError, match="8080"):
        other.join(sb2)
    assert sorted(map(str, ctl.firewall.programmed())) == before
    assert other.sandbox_id is None and [l["ifname"] for l in ip_json(Ns(sb2.key), "link")] == ["lo"]
    # Leaving unpublishes.
    ep.leave(sb)
    assert ctl.firewall.programmed() == ()
    ep.join(sb)
    assert len(ctl.firewall.programmed()) == 3


def test_a_join_the_kernel_refuses_unpublishes_its_ports(ctl, host):
    """The kernel refuses a static route through a next hop off the subnet,
    after the ports were published and the veth made: all of it is undone."""
    net = ctl.new_network("bridge", "undo", ipam={"ipv4": [{"subnet": "10.73.0.0/24"}]})
    ep = net.create_endpoint("e", port_bindings=[{"proto": "tcp", "port": 80, "host_port": 8095}],
                             static_routes=[{"destination": "10.99.0.0/16",
                                             "next_hop": "192.0.2.1"}])
    sb = ctl.new_sandbox("undo")
    links = host_links(host)
    with pytest.raises(NetlinkError, match="route_replace 10.99.0.0/16"):
        ep.join(sb)
    assert ctl.firewall.programmed() == ()
    assert host_links(host) == links
    assert ep.sandbox_id is None and [l["ifname"] for l in ip_json(Ns(sb.key), "link")] == ["lo"]


def test_published_ports_survive_a_restart(cfg, host, outside):
    c = Controller(cfg)
    net = c.new_network("bridge", "pub", ipam={"ipv4": [{"subnet": "10.74.0.0/24"}]})
    ep = net.create_endpoint("web", port_bindings=[{"proto": "tcp", "port": 80, "host_port": 8081}])
    sb = c.new_sandbox("web")
    ep.join(sb)
    c.stop()
    c2 = Controller(cfg)
    try:
        ep2 = c2.network("pub").endpoint_by_name("web")
        assert [m["host_port"] for m in ep2.driver_info()["com.docker.network.portmap"]] == [8081]
        t, seen = serve_once(Ns(sb.key), 80)
        assert client(outside, "192.0.2.1", 8081) == b"hello from the container"
        t.join()
        c2.sandbox_by_container("web").delete()
        assert c2.firewall.programmed() == ()
    finally:
        c2.stop()
