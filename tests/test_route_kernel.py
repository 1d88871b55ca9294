"""rtnetlink against the real kernel, in namespaces the tests create.

Every object is created with libnet, then compared field by field with what
`ip -j -d` (an independent oracle) reports for the same object.
"""
from __future__ import annotations

import errno

import pytest

from libnet import _netlink as nl, netns, sysctl
from libnet.netlink import (RESYNC, DumpInterrupted, EventSocket, NetlinkError,
                            NetlinkExistsError, NetlinkNotFoundError, RouteSocket)

from conftest import ip_json, run_in

IFF_NAMES = {"UP": nl.IFF_UP, "BROADCAST": nl.IFF_BROADCAST, "LOOPBACK": nl.IFF_LOOPBACK,
             "NOARP": nl.IFF_NOARP, "PROMISC": nl.IFF_PROMISC, "MASTER": nl.IFF_MASTER,
             "SLAVE": nl.IFF_SLAVE, "MULTICAST": nl.IFF_MULTICAST, "LOWER_UP": nl.IFF_LOWER_UP,
             "ALLMULTI": nl.IFF_ALLMULTI, "POINTOPOINT": nl.IFF_POINTOPOINT}


def add_or_skip(route, name, kind, **kw):
    try:
        route.link_add(name, kind, **kw)
    except NetlinkError as e:
        if e.errno == errno.EOPNOTSUPP:
            pytest.skip(f"this kernel has no {kind} links ({e.ext_ack})")
        raise


def assert_link_matches_ip(ns, link):
    (j,) = ip_json(ns, "-d", "-s", "link", "show", "dev", link.name)
    assert link.index == j["ifindex"]
    assert link.name == j["ifname"]
    assert link.mtu == j["mtu"]
    assert link.mac == j.get("address")
    assert link.operstate == j["operstate"]
    assert link.txqlen == j.get("txqlen")
    assert link.min_mtu == j.get("min_mtu") and link.max_mtu == j.get("max_mtu")
    assert link.num_tx_queues == j.get("num_tx_queues")
    assert link.promiscuity == j.get("promiscuity")
    for flag in j["flags"]:
        if flag in IFF_NAMES:
            assert link.flags & IFF_NAMES[flag], flag
    for flag, bit in IFF_NAMES.items():
        if link.flags & bit:
            assert flag in j["flags"], flag
    assert link.kind == j.get("linkinfo", {}).get("info_kind")
    assert link.slave_kind == j.get("linkinfo", {}).get("info_slave_kind")
    assert link.link_netnsid == j.get("link_netnsid")
    if "master" in j:
        assert link.master is not None
    else:
        assert link.master is None
    assert link.stats["rx_packets"] == j["stats64"]["rx"]["packets"]
    assert link.stats["tx_bytes"] == j["stats64"]["tx"]["bytes"]
    return j


def test_loopback_and_link_get(route, ns):
    lo = route.link_get("lo")
    assert lo.index == 1 and lo.name == "lo" and lo.link_type == nl.ARPHRD_LOOPBACK
    assert route.link_get(1).name == "lo"
    full = route.link_get(1)
    assert full.stats is not None
    # RTEXT_FILTER_SKIP_STATS drops the IPv6 statistics from IFLA_AF_SPEC.
    lean = route.link_get(1, ext_mask=nl.RTEXT_FILTER_SKIP_STATS)
    assert "stats" in full.get("af_spec")["inet6"]
    assert "stats" not in lean.get("af_spec")["inet6"]
    (dumped,) = route.link_dump(ext_mask=nl.RTEXT_FILTER_SKIP_STATS)
    assert len(dumped.raw) == len(lean.raw)
    route.link_set("lo", up=True)
    lo = route.link_get("lo")
    assert lo.is_up
    assert_link_matches_ip(ns, lo)


def test_veth_peer_in_other_namespace(route, ns, make_ns):
    other = make_ns()
    route.link_add_veth("veth-a", "eth0", peer_netns=other, mtu=1450, mac="02:aa:00:00:00:01",
                        peer_mac="02:bb:00:00:00:01", up=True)
    a = route.link_get("veth-a")
    assert (a.kind, a.mtu, a.mac, a.is_up) == ("veth", 1450, "02:aa:00:00:00:01", True)
    assert a.link_netnsid is not None
    assert_link_matches_ip(ns, a)
    with RouteSocket(other) as ro:
        peer = ro.link_get("eth0")
        assert (peer.kind, peer.mtu, peer.mac) == ("veth", 1450, "02:bb:00:00:00:01")
        assert peer.link == a.index                   # IFLA_LINK: the peer's index over there
        assert_link_matches_ip(other, peer)
    assert [l.name for l in route.link_dump()] == ["lo", "veth-a"]


def _possible_cpus() -> int:
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        first, _, last = part.partition("-")
        n += int(last or first) - int(first) + 1
    return n


def test_veth_queues(route, ns, make_ns):
    """``queues`` sets both ends' TX and RX queues, as `ip -d` reports them;
    without it each end gets the kernel's default, one per possible CPU."""
    other = make_ns()
    route.link_add_veth("q-a", "q-b", peer_netns=other, queues=1)
    route.link_add_veth("d-a", "d-b")
    ends = [(ns, route.link_get("q-a"), 1), (ns, route.link_get("d-a"), _possible_cpus())]
    with RouteSocket(other) as ro:
        ends.append((other, ro.link_get("q-b"), 1))
    for where, link, want in ends:
        j = assert_link_matches_ip(where, link)
        assert link.num_rx_queues == j.get("num_rx_queues")
        assert (link.num_tx_queues, link.num_rx_queues) == (want, want), link.name
    for bad in (0, -1, True, "1", 5000):
        with pytest.raises(ValueError):
            route.link_add_veth("bad0", "bad1", queues=bad)
    assert "bad0" not in [l.name for l in route.link_dump()]


def test_bridge_and_enslaving(route, ns):
    add_or_skip(route, "br0", "bridge", stp_state=0, forward_delay=500, mac="02:00:00:00:01:00")
    route.link_add_veth("p0", "p1", master="br0", up=True)
    br = route.link_get("br0")
    p0 = route.link_get("p0")
    assert p0.master == br.index and p0.slave_kind == "bridge"
    assert br.info_data["stp_state"] == 0 and br.info_data["forward_delay"] == 500
    j = assert_link_matches_ip(ns, br)
    data = j["linkinfo"]["info_data"]
    assert data["stp_state"] == br.info_data["stp_state"]
    assert data["forward_delay"] == br.info_data["forward_delay"]
    assert data["priority"] == br.info_data["priority"]
    jp = assert_link_matches_ip(ns, p0)
    assert jp["master"] == "br0"
    assert jp["linkinfo"]["info_slave_data"]["state"] == "forwarding" or \
        p0.slave_data["state"] in (0, 3)          # disabled until br0 is up, then forwarding
    assert [l.name for l in route.link_dump(master="br0")] == ["p0"]
    assert [l.name for l in route.link_dump(kind="bridge")] == ["br0"]
    route.link_set("p0", nomaster=True)
    assert route.link_get("p0").master is None


def test_vxlan(route, ns):
    add_or_skip(route, "vx0", "vxlan", id=4242, port=4789, local="10.5.0.1", learning=0, ttl=10)
    vx = route.link_get("vx0")
    j = assert_link_matches_ip(ns, vx)
    data = j["linkinfo"]["info_data"]
    assert vx.info_data["id"] == data["id"] == 4242
    assert vx.info_data["port"] == data["port"] == 4789
    assert vx.info_data["local"] == data["local"] == "10.5.0.1"
    assert vx.info_data["ttl"] == data["ttl"] == 10
    assert bool(vx.info_data["learning"]) == data["learning"]


@pytest.mark.parametrize("kind, mode, ip_mode", [("macvlan", "bridge", "bridge"),
                                                  ("macvlan", "private", "private"),
                                                  ("macvtap", "vepa", "vepa")])
def test_macvlan_kinds(route, ns, kind, mode, ip_mode):
    route.link_add_veth("parent0", "parent1", up=True)
    add_or_skip(route, "mv0", kind, link="parent0", mode=mode)
    mv = route.link_get("mv0")
    j = assert_link_matches_ip(ns, mv)
    assert mv.link == route.link_get("parent0").index
    assert j["linkinfo"]["info_data"]["mode"] == ip_mode
    assert mv.info_data["mode"] == {"bridge": nl.MACVLAN_MODE_BRIDGE, "private": nl.MACVLAN_MODE_PRIVATE,
                                    "vepa": nl.MACVLAN_MODE_VEPA}[mode]


@pytest.mark.parametrize("kind, kw", [("dummy", {}), ("vlan", {"id": 10}), ("ipvlan", {"mode": "l2"})])
def test_kinds_this_kernel_may_lack(route, ns, kind, kw):
    """dummy, vlan and ipvlan: encoded like the others; skipped where the kernel lacks them."""
    parent = {}
    if kind != "dummy":
        route.link_add_veth("parent0", "parent1")
        parent = {"link": "parent0"}
    add_or_skip(route, "k0", kind, **parent, **kw)
    link = route.link_get("k0")
    assert link.kind == kind
    assert_link_matches_ip(ns, link)


def test_link_set_everything(route, ns, make_ns):
    route.link_add_veth("s0", "s1")
    route.link_set("s0", up=True, mtu=1280, mac="02:00:00:00:00:42", txqlen=500, alias="hello",
                   group=7)
    s = route.link_get("s0")
    assert (s.is_up, s.mtu, s.mac, s.txqlen, s.alias, s.group) == (True, 1280, "02:00:00:00:00:42",
                                                                  500, "hello", 7)
    j = assert_link_matches_ip(ns, s)
    assert j["ifalias"] == "hello"
    route.link_set("s0", up=False, name="renamed")
    assert not route.link_get("renamed").is_up
    with pytest.raises(NetlinkNotFoundError):
        route.link_get("s0")
    other = make_ns()
    route.link_set("renamed", netns=other)
    with RouteSocket(other) as ro:
        assert ro.link_get("renamed").kind == "veth"
    with pytest.raises(NetlinkNotFoundError):
        route.link_get("renamed")


def test_link_set_ipv4_conf_and_addr_gen_mode(route, ns):
    route.link_add_veth("c0", "c1")
    route.link_set("c0", ipv4_conf={"arp_notify": 1, "route_localnet": 1},
                   addr_gen_mode="none", up=True)
    route.link_set("c1", up=True)
    # The kernel's own view: /proc/sys inside the namespace, and ip -d.
    with netns.enter(ns):
        assert sysctl.read("net/ipv4/conf/c0/arp_notify") == "1"
        assert sysctl.read("net/ipv4/conf/c0/route_localnet") == "1"
        assert sysctl.read("net/ipv4/conf/c1/arp_notify") == "0"
    (j,) = ip_json(ns, "-d", "link", "show", "c0")
    assert j["inet6_addr_gen_mode"] == "none"
    af = route.link_get("c0").get("af_spec")
    assert af["inet6"]["addr_gen_mode"] == nl.IN6_ADDR_GEN_MODE_NONE
    conf = af["inet"]["conf"]            # dumps carry the array, index - 1
    assert int.from_bytes(conf[4 * (nl.IPV4_DEVCONF_ARP_NOTIFY - 1):][:4], "little") == 1
    # Up with carrier and no address generation: no link-local address.
    assert [a for a in route.addr_dump(family=6) if a.index == route.link_get("c0").index] == []
    assert any(a.index == route.link_get("c1").index for a in route.addr_dump(family=6))
    with pytest.raises(ValueError, match="unknown IPv4 interface setting"):
        route.link_set("c0", ipv4_conf={"arp_notfy": 1})
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        route.link_set("c0", ipv4_conf={"arp_notify": -1})
    with pytest.raises(ValueError, match="address generation mode"):
        route.link_set("c0", addr_gen_mode="eui46")


def test_link_del_and_group_delete(route):
    with route.batch() as b:
        for i in range(10):
            b.link_add_veth(f"g{i}", f"h{i}", group=5)
    assert len(route.link_dump(kind="veth")) == 20
    route.link_del("g0")
    assert len(route.link_dump(kind="veth")) == 18
    route.link_del_group(5)                       # the other 9 pairs, one request
    assert route.link_dump(kind="veth") == []


def test_addresses_v4_v6(route, ns):
    route.link_add_veth("a0", "a1", up=True)
    route.addr_add("a0", "10.7.0.1/24", broadcast="+", label="a0:web")
    route.addr_add("a0", "10.7.1.1/16")
    route.addr_add("a0", "fd00:7::1/64", nodad=True)
    ours = {a.cidr: a for a in route.addr_dump(link="a0")}
    assert set(ours) >= {"10.7.0.1/24", "10.7.1.1/16", "fd00:7::1/64"}
    (j,) = ip_json(ns, "addr", "show", "dev", "a0")
    theirs = {f"{x['local']}/{x['prefixlen']}": x for x in j["addr_info"]}
    assert set(theirs) == set(ours)
    for cidr, x in theirs.items():
        a = ours[cidr]
        assert a.family == (2 if x["family"] == "inet" else 10)
        assert a.index == j["ifindex"]
        assert a.broadcast == x.get("broadcast")
        assert a.label == x.get("label")
        assert {"global": 0, "link": 253, "host": 254}[x["scope"]] == a.scope
    assert ours["fd00:7::1/64"].flags & nl.IFA_F_NODAD
    assert [a.cidr for a in route.addr_dump(4, link="a0")] == ["10.7.0.1/24", "10.7.1.1/16"]
    route.addr_del("a0", "10.7.1.1/16")
    assert "10.7.1.1/16" not in {a.cidr for a in route.addr_dump(link="a0")}
    with pytest.raises(NetlinkExistsError):
        route.addr_add("a0", "10.7.0.1/24")


def test_routes_v4_v6(route, ns):
    route.link_add_veth("r0", "r1", up=True)
    route.addr_add("r0", "10.8.0.1/24")
    route.addr_add("r0", "fd00:8::1/64", nodad=True)
    route.route_add("10.9.0.0/16", gateway="10.8.0.254", metric=50)
    route.route_add("10.10.0.0/16", dev="r0", scope="link")
    route.route_add("10.11.0.0/16", type="blackhole")
    route.route_add("default", gateway="10.8.0.1")
    route.route_add("fd00:9::/48", gateway="fd00:8::fe")
    route.route_add("10.12.0.0/16", gateway="10.8.0.2", table=100)
    mine = {r.dst: r for r in route.route_dump(4)}
    theirs = {x["dst"]: x for x in ip_json(ns, "route", "show", "table", "main")}
    assert set(mine) == set(theirs)
    for dst, x in theirs.items():
        r = mine[dst]
        assert r.gateway == x.get("gateway"), dst
        assert r.priority == x.get("metric"), dst
        if "dev" in x:
            assert r.oif == route.link_get(x["dev"]).index
        assert {"unicast": nl.RTN_UNICAST, "blackhole": nl.RTN_BLACKHOLE}[x.get("type", "unicast")] == r.route_type
    assert mine["10.10.0.0/16"].scope == nl.RT_SCOPE_LINK
    six = {r.dst: r for r in route.route_dump(6)}
    assert six["fd00:9::/48"].gateway == "fd00:8::fe"
    t100 = route.route_dump(4, table=100)
    assert [r.dst for r in t100] == ["10.12.0.0/16"]
    assert ip_json(ns, "route", "show", "table", "100")[0]["dst"] == "10.12.0.0/16"
    route.route_del("10.9.0.0/16", gateway="10.8.0.254", metric=50)
    assert "10.9.0.0/16" not in {r.dst for r in route.route_dump(4)}
    with pytest.raises(NetlinkError) as e:
        route.route_add("10.13.0.0/16", gateway="10.99.0.1")
    assert e.value.errno == errno.ENETUNREACH and "gateway" in e.value.ext_ack.lower()


def test_neighbours_and_fdb(route, ns):
    route.link_add_veth("n0", "n1", up=True)
    route.addr_add("n0", "10.20.0.1/24")
    route.neigh_add("10.20.0.5", "02:00:00:00:20:05", "n0")
    route.neigh_add("fd00:20::5", "02:00:00:00:20:06", "n0")
    mine = {n.dst: n for n in route.neigh_dump(dev="n0")}
    theirs = {x["dst"]: x for x in ip_json(ns, "neigh", "show", "dev", "n0")}
    for dst in ("10.20.0.5", "fd00:20::5"):
        assert mine[dst].lladdr == theirs[dst]["lladdr"]
        assert "PERMANENT" in theirs[dst]["state"] and mine[dst].state == nl.NUD_PERMANENT
    # change: an existing entry only (ip neigh change); a missing one is ENOENT
    route.neigh_change("10.20.0.5", "02:00:00:00:20:55", "n0", state="stale")
    (entry,) = [x for x in ip_json(ns, "neigh", "show", "dev", "n0") if x["dst"] == "10.20.0.5"]
    assert entry["lladdr"] == "02:00:00:00:20:55" and "STALE" in entry["state"]
    with pytest.raises(NetlinkNotFoundError):
        route.neigh_change("10.20.0.9", "02:00:00:00:20:09", "n0", state="stale")
    assert "10.20.0.9" not in {n.dst for n in route.neigh_dump(4, dev="n0")}
    route.neigh_del("10.20.0.5", "n0")
    assert "10.20.0.5" not in {n.dst for n in route.neigh_dump(4, dev="n0")}
    add_or_skip(route, "vx1", "vxlan", id=7, port=4789, learning=0)
    route.neigh_add("10.30.0.2", "02:00:00:00:30:02", "vx1", fdb=True)
    fdb = [n for n in route.neigh_dump(fdb=True, dev="vx1") if n.lladdr == "02:00:00:00:30:02"]
    assert len(fdb) == 1 and fdb[0].dst == "10.30.0.2"
    bridge = run_in(ns, "bridge", "-j", "fdb", "show", "dev", "vx1", check=False)
    if bridge.returncode == 0:
        import json
        entries = [x for x in json.loads(bridge.stdout) if x["mac"] == "02:00:00:00:30:02"]
        assert entries and entries[0]["dst"] == "10.30.0.2"
    route.neigh_del("10.30.0.2", "vx1", lladdr="02:00:00:00:30:02", fdb=True)
    assert not [n for n in route.neigh_dump(fdb=True, dev="vx1") if n.lladdr == "02:00:00:00:30:02"]


# ------------------------------------------------------------------ errors


def test_errors_carry_errno_ext_ack_and_operation(route):
    route.link_add_veth("e0", "e1")
    with pytest.raises(NetlinkExistsError) as e:
        route.link_add_veth("e0", "e2")
    assert isinstance(e.value, FileExistsError) and e.value.errno == errno.EEXIST
    assert e.value.operation == "link_add_veth e0 peer e2"
    with pytest.raises(NetlinkNotFoundError) as e:
        route.link_set("nope0", up=True)
    assert e.value.errno == errno.ENODEV and isinstance(e.value, FileNotFoundError)
    with pytest.raises(NetlinkNotFoundError):
        route.link_del("nope0")
    with pytest.raises(NetlinkError) as e:
        route.link_add("br9", "bridge", mtu=10)
    assert e.value.errno == errno.EINVAL
    assert e.value.ext_ack == "mtu less than device minimum"
    assert "mtu less than device minimum" in str(e.value)
    with pytest.raises(NetlinkError) as e:
        route.link_add("vx9", "vxlan")
    assert e.value.errno == errno.EINVAL and e.value.ext_ack
    assert e.value.seq is not None


def test_bad_arguments_change_nothing(route):
    before = [l.to_dict() for l in route.link_dump()]
    with pytest.raises(ValueError):
        route.link_add_veth("a-name-that-is-too-long", "p")
    with pytest.raises(ValueError):
        route.link_add_veth("ok0", "peer/with/slash")
    with pytest.raises(ValueError):
        route.addr_add("lo", "10.0.0.300/24")
    with pytest.raises(ValueError):
        route.route_add("10.0.0.1/8")                 # host bits set
    with pytest.raises(TypeError):
        route.link_add("x0", "bridge", mtu="big")
    with pytest.raises(ValueError):
        route.link_add("x0", "bridge", no_such_option=1)
    with pytest.raises(ValueError):
        route.link_add("x0", "macvlan", link="lo", mode="sideways")
    with route.batch() as b:
        b.link_add("y0", "bridge")
        with pytest.raises(ValueError):
            b.link_add("y1", "bridge", mtu=-5)        # refused while queueing
    assert [l.name for l in route.link_dump()] == ["lo", "y0"]
    route.link_del("y0")
    assert [l.to_dict() for l in route.link_dump()] == before


def test_batch_sends_once_and_names_the_failure(route):
    route.link_add_veth("dup0", "dup1")
    with pytest.raises(NetlinkExistsError) as e:
        with route.batch() as b:
            b.link_add_veth("ok0", "ok1")
            b.link_add_veth("dup0", "x1")
            b.link_add_veth("ok2", "ok3")
            b.link_add("bad", "bridge", mtu=10)
    err = e.value
    assert err.index == 1 and err.operation == "link_add_veth dup0 peer x1"
    assert [(x.index, x.errno) for x in err.errors] == [(1, errno.EEXIST), (3, errno.EINVAL)]
    assert err.errors[1].ext_ack == "mtu less than device minimum"
    # rtnetlink runs every request of a batch: the good ones took effect.
    names = {l.name for l in route.link_dump()}
    assert {"ok0", "ok1", "ok2", "ok3"} <= names and "bad" not in names


def test_batch_failures_without_raising_and_without_cycles(route):
    """send(check=False): a failed request's entry is its error, nothing is
    raised; no error is left in a reference cycle (one is there for the
    garbage collector, with the frames it holds, on the join's path)."""
    import gc
    route.link_add("here0", "bridge")
    b = route.batch()
    b.link_set("here0", up=True)
    b.link_set("gone0", up=True)
    gc.collect()
    gc.disable()
    try:
        results = b.send(check=False)
        assert results[0] == [] and isinstance(results[1], NetlinkNotFoundError)
        assert results[1].errors == [results[1]] and results[1].index == 1
        del results
        assert gc.collect() == 0, "a cycle was left"
        with pytest.raises(NetlinkNotFoundError) as e:
            with route.batch() as b2:
                b2.link_set("gone0", up=True)
                b2.link_set("gone1", up=True)
        assert [x.operation for x in e.value.errors] == ["link_set gone0", "link_set gone1"]
        del e
        assert gc.collect() == 0, "a raised batch error was left in a cycle"
    finally:
        gc.enable()
    route.link_del("here0")


def test_batch_that_raises_sends_nothing(route):
    with pytest.raises(RuntimeError):
        with route.batch() as b:
            b.link_add("never0", "bridge")
            raise RuntimeError("caller changed its mind")
    assert [l.name for l in route.link_dump()] == ["lo"]


def test_large_batch_of_veths(route):
    with route.batch() as b:
        for i in range(1500):
            b.link_add_veth(f"v{i}", f"w{i}")
    assert len(b.results) == 1500
    assert len(route.link_dump(kind="veth")) == 3000


# ------------------------------------------------------------------ dumps and events


def _link_dump_msg():
    return nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_GETLINK, 0, {}, {})


def test_dump_interrupted_is_retried(route, ns):
    with route.batch() as b:
        for i in range(200):
            b.link_add_veth(f"i{i}", f"j{i}")
    chunks = []
    with RouteSocket(ns) as writer:
        def change_once():
            chunks.append(1)
            if len(chunks) == 1:
                writer.link_add("late0", "bridge")    # changes the list mid-dump
        links = route.socket.dump(_link_dump_msg(), on_chunk=change_once)
    names = [l.name for l in links]
    assert len(names) == len(set(names)) == 402       # lo + 400 veths + late0
    assert "late0" in names
    total_chunks = len(chunks)
    assert total_chunks > 2 * 10                       # the dump ran twice


def test_dump_that_never_settles_raises(route, ns):
    with route.batch() as b:
        for i in range(100):
            b.link_add_veth(f"i{i}", f"j{i}")
    with RouteSocket(ns) as writer:
        counter = iter(range(10 ** 6))

        def always_change():
            writer.link_add(f"late{next(counter)}", "bridge")
        with pytest.raises(DumpInterrupted) as e:
            route.socket.dump(_link_dump_msg(), retries=2, on_chunk=always_change)
    assert e.value.attempts == 3 and e.value.errno == errno.EINTR


def test_long_dump_messages_keep_their_memory(route, ns):
    """A long dump is received into 2 MiB arenas (past its first datagrams)
    that its messages point into.  An arena is reused only once every
    message in it is gone: a later dump, of links whose MTUs changed, must
    not show through messages still held, and one that reuses freed arenas
    must read right."""
    n = 1500                                # ~4 MB of messages: several arenas
    with route.batch() as b:
        for i in range(n):
            b.link_add_veth(f"a{i}", f"b{i}")

    def set_mtus(base):
        with route.batch() as b:
            for i in range(n):
                b.link_set(f"a{i}", mtu=base + i % 300)
                b.link_set(f"b{i}", mtu=base + 300 + i % 300)

    def fields(links):
        return {l.name: (l.index, l.mtu, l.mac, l.kind) for l in links}

    def oracle():
        return {j["ifname"]: (j["ifindex"], j["mtu"], j.get("address")) for j in
                ip_json(ns, "link", "show")}

    def check(got, want):
        assert len(got) == 2 * n + 1
        assert {k: v[:3] for k, v in got.items()} == want
        assert {v[3] for k, v in got.items() if k != "lo"} == {"veth"}

    set_mtus(1000)
    first = route.link_dump()
    first_fields, first_want = fields(first), oracle()
    check(first_fields, first_want)
    set_mtus(2000)
    second = route.link_dump()                   # new arenas: the first's are held
    check(fields(second), oracle())
    assert fields(first) == first_fields
    second_fields = fields(second)
    del first                                    # its arenas go idle...
    set_mtus(3000)
    third = route.link_dump()                    # ...and this dump reuses them
    check(fields(third), oracle())
    assert fields(second) == second_fields


def test_events_for_changes(route, ns):
    with EventSocket(("link", "addr", "route"), netns=ns) as ev:
        route.link_add_veth("ev0", "ev1", up=True)
        route.addr_add("ev0", "10.40.0.1/24")
        route.link_del("ev0")
        seen = []
        for _ in range(20):
            seen.extend(ev.recv(timeout=0.5))
            if any(m.type == nl.RTM_DELLINK and m.name == "ev0" for m in seen if m is not RESYNC):
                break
    kinds = [(type(m).__name__, m.type) for m in seen]
    assert ("Link", nl.RTM_NEWLINK) in kinds
    assert ("Address", nl.RTM_NEWADDR) in kinds
    assert ("Route", nl.RTM_NEWROUTE) in kinds        # the prefix route of 10.40.0.0/24
    assert any(m.type == nl.RTM_DELLINK and m.name == "ev0" for m in seen)
    assert any(m.type == nl.RTM_NEWADDR and m.cidr == "10.40.0.1/24" for m in seen
               if type(m).__name__ == "Address")


def test_event_overflow_signals_resync(route, ns):
    with EventSocket(("link",), netns=ns, rcvbuf=4096) as ev:
        with route.batch() as b:
            for i in range(200):
                b.link_add_veth(f"o{i}", f"p{i}")
        got = ev.recv(timeout=1)
    assert RESYNC in got


def test_closed_socket_refuses():
    sock = nl.NetlinkSocket(nl.NETLINK_ROUTE)
    sock.close()
    with pytest.raises(ValueError):
        sock.request(_link_dump_msg())
