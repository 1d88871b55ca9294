"""The controller, the bridge driver and the sandbox against a recording
stand-in of the netlink layer (libnet.hostops.RecordingHost): their real code,
with the kernel replaced by an in-memory model of namespaces and links that
records every rtnetlink request.  No namespace, link or socket is made, so
these run anywhere, fast; tests/test_controller.py runs the same logic
against the real kernel."""
from __future__ import annotations

import dataclasses
import errno
import os
import socket
import struct
import threading

import pytest

from libnet import Config, Controller
from libnet import _netlink as nl
from libnet.drivers.bridge.driver import host_ifname, mac_from_ipv4
from libnet.drivers.bridge import kernel
from libnet.drivers.bridge.kernel import OWN_GROUP
from libnet.firewall import RecordingFirewall
from libnet.hostops import RecordingHost
from libnet.netlink import NetlinkError
from libnet.sysctl import HAS_IPV6

PORTS = [{"proto": "tcp", "port": 80, "host_port": 8080}]


@pytest.fixture
def host():
    return RecordingHost()


@pytest.fixture
def cfg(tmp_path):
    return Config(data_dir=str(tmp_path / "data"), run_dir=str(tmp_path / "run"),
                  resolv_conf_source="/dev/null")


@pytest.fixture
def env(cfg, host):
    fw = RecordingFirewall()
    c = Controller(cfg, firewall=fw, host_ops=host)
    yield c, host, fw
    c.stop()


def new_net(c, name="n", subnet="10.1.0.0/24"):
    return c.new_network("bridge", name, ipam={"ipv4": [{"subnet": subnet}]})


def test_network_creation_makes_the_bridge(env):
    c, host, _ = env
    net = new_net(c)
    br = net.driver_state["bridge_name"]
    index = net.driver_state["bridge_index"]
    assert host.ops("host") == [f"link_get {br}", f"link_add {br} (bridge)", f"link_get {br}",
                                f"addr_add 10.1.0.1/24 dev {index}", f"link_set #{index}"]
    (add,) = [r.message for r in host.requests if r.op.startswith("link_add")]
    assert add.get("linkinfo")["data"] == {"stp_state": 0, "mcast_snooping": 0}
    assert int(add.get("address")[:2], 16) & 0x03 == 0x02      # a MAC of its own
    assert host.links()[br].up and host.sysctls[("host", "net/ipv4/ip_forward")] == "1"


def test_join_sends_each_side_its_requests_in_order(env):
    c, host, _ = env
    net = new_net(c)
    ep = net.create_endpoint("web")
    before = len(host.requests)
    sb = c.new_sandbox("ctr")
    # new_sandbox brings up the namespace's loopback, nothing else.
    assert [(r.netns, r.op) for r in host.requests[before:]] == [(sb.key, "link_set lo")]
    before = len(host.requests)
    ep.join(sb)
    sent = [(r.netns, r.op) for r in host.requests[before:]]
    veth = host_ifname(ep.id)
    bridge = net.driver_state["bridge_index"]
    expected = [("host", f"link_add_veth {veth} peer eth0")]
    if HAS_IPV6:                # the host end's setting, made while it is down; up
        expected += [("host", f"link_set {veth}"), ("host", f"link_set {veth}")]
    if HAS_IPV6:
        expected.append((sb.key, "link_set #2"))                 # eth0's setting: no IPv6
    ip = ep.ipv4.split("/")[0]
    expected += [(sb.key, f"addr_add {ep.ipv4} dev 2"), (sb.key, "link_set #2"),  # eth0 up
                 (sb.key, "route_replace default"),
                 ("host", f"link_set {veth}")]                       # enslaved
    assert sent == expected
    # No announcement: the address has the MAC derived from it, on a bridge
    # libnet made; no neighbour can map it to another (see the next test).
    assert ep.mac == mac_from_ipv4(ip) and host.frames == []
    # The model holds what the kernel would.
    hv, eth0 = host.links()[veth], host.links(sb.key)["eth0"]
    assert (hv.master, hv.group, hv.up) == (bridge, OWN_GROUP, True)
    assert eth0.peer == ("host", hv.index) and eth0.up and eth0.mac == ep.mac
    assert "inet" not in eth0.settings                           # no arp_notify: not needed
    if HAS_IPV6:
        assert eth0.settings["inet6"] == {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}
        assert host.links()[veth].settings["inet6"] == {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}
    # The veth's peer was created in the sandbox's namespace, not moved there.
    (create,) = [r for r in host.requests[before:] if r.op.startswith("link_add_veth")]
    peer = create.message.get("linkinfo")["data"]["peer"]
    assert peer["ifname"] == "eth0" and "net_ns_fd" in peer
    if HAS_IPV6:
        # The host end is set while down (on a link that is up the setting
        # is a NETDEV_CHANGE: IPv6 then walks the host's routes), then up.
        setting, up = [r.message for r in host.requests[before:]
                       if r.op == f"link_set {veth}"][:2]
        assert not create.message.header.get("flags", 0) & nl.IFF_UP
        assert setting.get("af_spec") and not setting.header.get("change", 0)
        assert up.header.get("flags", 0) & nl.IFF_UP and not up.get("af_spec")
    assert host.sysctls.get((sb.key, "net/ipv6/conf/eth0/ndisc_notify")) is None


def test_which_joins_announce_their_ipv4_address(env):
    """A gratuitous ARP reply, sent on the bridge, then the host's entry
    changed if it has one: for a custom MAC, and for an address once held
    with one (remembered in the network's record, across a restart)."""
    c, host, _ = env
    net = new_net(c)
    br, index = net.driver_state["bridge_name"], net.driver_state["bridge_index"]
    custom = net.create_endpoint("custom", mac_address="02:00:00:00:01:05")
    ip = custom.ipv4.split("/")[0]
    assert net._info().foreign_mac_ipv4 == {ip}
    assert c.store.get("network", net.id).data["foreign_mac_ipv4"] == [ip]
    sb = c.new_sandbox("c1")
    custom.join(sb)
    assert host.frames == [("host", br, kernel.garp_reply(custom.mac, ip))]
    assert host.ops("host")[-1] == f"neigh_change {ip} dev {index}"
    sb.delete()
    custom.delete()
    c.stop()
    c = Controller(c.config, firewall=RecordingFirewall(), host_ops=host)
    try:
        net = c.network("n")
        assert net._info().foreign_mac_ipv4 == {ip}
        again = net.create_endpoint("again", ipv4_address=ip)
        assert again.mac == mac_from_ipv4(ip)
        again.join(c.new_sandbox("c2"))
        assert host.frames[-1] == ("host", br, kernel.garp_reply(again.mac, ip))
        fresh = net.create_endpoint("fresh")
        fresh.join(c.new_sandbox("c3"))
        assert len(host.frames) == 2                 # a fresh address: nothing to send
        assert net._info().foreign_mac_ipv4 == {ip}
    finally:
        c.stop()


def test_a_store_from_before_the_marks_marks_its_custom_macs(cfg, host):
    """A network record written before the marks were kept: its endpoints
    with a custom MAC are marked at restore, and the record keeps them."""
    c = Controller(cfg, firewall=RecordingFirewall(), host_ops=host)
    net = new_net(c)
    custom = net.create_endpoint("custom", mac_address="02:00:00:00:01:0a")
    plain = net.create_endpoint("plain")
    rec = c.store.get("network", net.id)
    del rec.data["foreign_mac_ipv4"]
    c.store.put(rec)
    c.stop()
    c = Controller(cfg, firewall=RecordingFirewall(), host_ops=host)
    try:
        ip = custom.ipv4.split("/")[0]
        assert c.network("n")._info().foreign_mac_ipv4 == {ip}
        assert c.store.get("network", net.id).data["foreign_mac_ipv4"] == [ip]
        assert plain.ipv4.split("/")[0] != ip
    finally:
        c.stop()


def test_a_bridge_libnet_did_not_make_always_hears_the_address(env):
    """Its other ports may lead anywhere: every join is announced."""
    c, host, _ = env
    with host.route_socket() as rs:
        rs.link_add("mybr", "bridge")
    net = c.new_network("bridge", "pre", driver_opts={"com.docker.network.bridge.name": "mybr"},
                        ipam={"ipv4": [{"subnet": "10.9.0.0/24"}]})
    assert net.driver_state["created_bridge"] is False
    ep = net.create_endpoint("e")
    ep.join(c.new_sandbox("ctr"))
    assert host.frames == [("host", "mybr", kernel.garp_reply(ep.mac, ep.ipv4.split("/")[0]))]


def test_a_failed_endpoint_leaves_no_mark(env):
    """Marking an address is part of creating the endpoint: undone with it."""
    c, host, _ = env
    net = new_net(c)
    drv = c._driver("bridge")
    record = c.store.get("network", net.id)

    def fail(*a):
        raise RuntimeError("injected")
    drv.create_endpoint = fail
    with pytest.raises(RuntimeError):
        net.create_endpoint("e", mac_address="02:00:00:00:01:07")
    assert net._info().foreign_mac_ipv4 == frozenset()
    assert c.store.get("network", net.id) == record


@pytest.mark.parametrize("failing", ["route_replace default", "link_set veth", "link_add_veth"])
def test_a_failed_join_leaves_nothing(env, failing):
    c, host, fw = env
    net = new_net(c)
    ep = net.create_endpoint("web", port_bindings=PORTS)
    sb = c.new_sandbox("ctr")
    record = c.store.get("endpoint", ep.id)
    host_links = set(host.links())
    # link_set veth...: the host end's setting (or, without IPv6, the enslaving)
    host.fail_on = {failing: errno.EINVAL}
    with pytest.raises(NetlinkError) as e:
        ep.join(sb)
    assert e.value.errno == errno.EINVAL and e.value.operation.startswith(failing)
    assert set(host.links()) == host_links                       # the veth was removed
    assert set(host.links(sb.key)) == {"lo"}
    assert ep.sandbox_id is None and sb.endpoints() == []
    assert c.store.get("endpoint", ep.id) == record
    published = [a for n, a in fw.calls if n == "publish"]
    assert fw.programmed() == () and len(published) == 1
    # ...and the same join then works.
    ep.join(sb)
    assert ep.ifname == "eth0" and len(fw.programmed()) == 1


def test_the_announcement_is_a_gratuitous_arp_reply():
    frame = kernel.garp_reply("02:42:0a:01:00:07", "10.1.0.7")
    mac, ip = bytes.fromhex("02420a010007"), bytes([10, 1, 0, 7])
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == mac          # broadcast, from its MAC
    assert frame[12:14] == b"\x08\x06"                              # ARP
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 2)   # Ethernet/IPv4, a reply
    # sender and target both the address at its MAC: Linux's test for a
    # gratuitous reply, the only kind that overrides a recent entry
    assert frame[22:28] == frame[32:38] == mac and frame[28:32] == frame[38:42] == ip
    assert len(frame) == 42


def test_the_ipv6_announcement_is_an_unsolicited_advertisement():
    frame = kernel.unsolicited_na("02:42:0a:01:00:07", "fd00:1::7")
    mac, ip = bytes.fromhex("02420a010007"), socket.inet_pton(socket.AF_INET6, "fd00:1::7")
    assert frame[:6] == bytes.fromhex("333300000001") and frame[6:12] == mac   # all nodes
    assert frame[12:14] == b"\x86\xdd"
    ip6, icmp = frame[14:54], frame[54:]
    plen, nxt, hops = struct.unpack("!HBB", ip6[4:8])
    assert (plen, nxt, hops, len(icmp)) == (32, 58, 255, 32)    # ICMPv6, hop limit 255
    assert ip6[8:24] == ip and ip6[24:40] == socket.inet_pton(socket.AF_INET6, "ff02::1")
    kind, code, _, flags = struct.unpack("!BBHI", icmp[:8])
    assert (kind, code, flags) == (136, 0, 0x20000000)        # NA, override, unsolicited
    assert icmp[8:24] == ip and icmp[24:26] == b"\x02\x01" and icmp[26:32] == mac
    # the checksum over the pseudo-header sums to all ones
    words = ip6[8:40] + struct.pack("!IxxxB", 32, 58) + icmp
    total = sum(struct.unpack(f"!{len(words) // 2}H", words))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    assert total == 0xFFFF


def test_dual_stack_join_announces_both_from_the_bridge(env):
    c, host, _ = env
    net = c.new_network("bridge", "ds", enable_ipv6=True,
                        ipam={"ipv4": [{"subnet": "10.3.0.0/24"}], "ipv6": [{"subnet": "fd00:3::/64"}]})
    ep, sb = net.create_endpoint("web", mac_address="02:00:00:00:03:02"), c.new_sandbox("ctr")
    ep.join(sb)
    ip4, ip6 = ep.ipv4.split("/")[0], ep.ipv6.split("/")[0]
    br, index = net.driver_state["bridge_name"], net.driver_state["bridge_index"]
    assert host.frames == [("host", br, kernel.garp_reply(ep.mac, ip4)),
                           ("host", br, kernel.unsolicited_na(ep.mac, ip6))]
    assert host.ops("host")[-2:] == [f"neigh_change {ip4} dev {index}",
                                     f"neigh_change {ip6} dev {index}"]
    # An IPv6 address is allocated apart from the MAC: announced even when
    # the MAC is the one derived from the IPv4 address.
    derived, sb2 = net.create_endpoint("derived"), c.new_sandbox("ctr2")
    derived.join(sb2)
    assert host.frames[2:] == [("host", br, kernel.unsolicited_na(derived.mac,
                                                                  derived.ipv6.split("/")[0]))]
    assert not [k for k in host.sysctls if k[1].endswith("ndisc_notify")]   # no /proc write
    # ...and no MAC set to itself in the sandbox (the kernel's way to announce)
    assert not [r for r in host.requests if r.netns == sb.key
                and r.message.type == nl.RTM_NEWLINK and r.message.get("address")]


def test_the_announcement_is_best_effort(env, caplog):
    """A host entry the kernel refuses to change (not "no such entry": that
    is the usual case, silent) is logged; the join goes on."""
    c, host, _ = env
    net = new_net(c)
    host.fail_on = {"neigh_change": errno.EINVAL}
    ep, sb = net.create_endpoint("web", mac_address="02:00:00:00:01:08"), c.new_sandbox("ctr")
    with caplog.at_level("WARNING", logger="libnet"):
        ep.join(sb)
    assert ep.sandbox_id == sb.id and "updating the host's entry for web" in caplog.text
    other, sb2 = net.create_endpoint("other", mac_address="02:00:00:00:01:09"), c.new_sandbox("ctr2")
    caplog.clear()
    other.join(sb2)                                # ENOENT (no entry): nothing to say
    assert "host's entry" not in caplog.text


def test_announcer_sockets_are_kept_and_closed(cfg, host):
    c = Controller(cfg, firewall=RecordingFirewall(), host_ops=host)
    sockets = []
    real = host.packet_socket
    host.packet_socket = lambda *a: sockets.append(real(*a)) or sockets[-1]
    net, other = new_net(c), new_net(c, "o", "10.2.0.0/24")
    for i, n in enumerate((net, net, net, other)):
        n.create_endpoint(f"e{i}", mac_address=f"02:00:00:00:02:0{i}").join(c.new_sandbox(f"c{i}"))
    assert len(sockets) == 2 and len(host.frames) == 4      # one socket per bridge
    other.endpoints()[0].delete(force=True)
    other.delete()
    assert sockets[1].closed and not sockets[0].closed      # its bridge went
    c.stop()
    assert sockets[0].closed


def test_teardown_sends_no_link_request(env):
    c, host, fw = env
    net = new_net(c)
    ep, sb = net.create_endpoint("web", port_bindings=PORTS), c.new_sandbox("ctr")
    ep.join(sb)
    before = len(host.requests)
    sb.delete()
    ep.delete()
    assert c.wait_released(timeout=10)
    # Deleting the namespace takes eth0 and its veth peer: no RTM_DELLINK.
    assert host.requests[before:] == []
    assert sb.key not in host.namespaces and host_ifname(ep.id) not in host.links()
    assert fw.programmed() == ()
    assert c.store.list("endpoint") == c.store.list("sandbox") == []


def test_delete_returns_before_the_unmount(env, monkeypatch):
    """sandbox.delete() commits, unpublishes and frees the address; the
    namespace's unmount (an RCU grace period) and the files follow in the
    background, and wait_released() waits for them."""
    c, host, fw = env
    net = new_net(c)
    ep, sb = net.create_endpoint("web", port_bindings=PORTS), c.new_sandbox("ctr")
    ep.join(sb)
    gate = threading.Event()
    unmount = host.netns_delete
    monkeypatch.setattr(host, "netns_delete", lambda *a: (gate.wait(10), unmount(*a)))
    sb.delete()
    assert c.store.list("endpoint") == c.store.list("sandbox") == [] and fw.programmed() == ()
    assert c.sandboxes() == [] and net.create_endpoint("next").ipv4 == ep.ipv4
    assert c.new_sandbox("ctr").key != sb.key      # the same container, a new namespace
    assert sb.key in host.namespaces and os.path.isdir(sb.dir)
    assert not c.wait_released(timeout=0.05)
    gate.set()
    assert c.wait_released(timeout=10)
    assert sb.key not in host.namespaces and not os.path.exists(sb.dir)


def test_release_inline_when_configured(cfg, host):
    c = Controller(dataclasses.replace(cfg, release_in_background=False),
                   firewall=RecordingFirewall(), host_ops=host)
    try:
        sb = c.new_sandbox("ctr")
        sb.delete()
        assert sb.key not in host.namespaces and not os.path.exists(sb.dir)
        assert not any(t.name == "libnet-reaper" for t in threading.enumerate())
    finally:
        c.stop()


def test_stop_finishes_the_release(cfg, host):
    c = Controller(cfg, firewall=RecordingFirewall(), host_ops=host)
    sbs = [c.new_sandbox(f"c{i}") for i in range(20)]
    for sb in sbs:
        sb.delete()
    c.stop()
    assert not any(sb.key in host.namespaces or os.path.exists(sb.dir) for sb in sbs)


def test_leave_deletes_the_veth_and_keeps_the_endpoint(env):
    c, host, _ = env
    net = new_net(c)
    ep, sb = net.create_endpoint("web"), c.new_sandbox("ctr")
    ep.join(sb)
    before = len(host.requests)
    ep.leave(sb)
    assert [(r.netns, r.op) for r in host.requests[before:]][0] == (
        "host", f"link_del {host_ifname(ep.id)}")
    assert set(host.links(sb.key)) == {"lo"} and not ep.deleted


def test_restart_reconciles_what_a_crash_left(cfg, host):
    fw = RecordingFirewall()
    c = Controller(cfg, firewall=fw, host_ops=host)
    net = new_net(c)
    kept, lost = net.create_endpoint("kept"), net.create_endpoint("lost")
    sb_kept, sb_lost = c.new_sandbox("kept"), c.new_sandbox("lost")
    kept.join(sb_kept)
    lost.join(sb_lost)
    c.stop()
    # What a crash and a reboot-like loss would leave: a namespace gone, a
    # veth of ours no endpoint owns, a namespace the store never heard of,
    # and the bridge deleted by someone.
    host.netns_delete(sb_lost.key)
    with host.route_socket() as rs:
        rs.link_add_veth("vethdeadbeef0", "x0", group=OWN_GROUP)
    host.netns_create("stray", c.netns_dir)
    with host.route_socket() as rs:
        rs.link_del(net.driver_state["bridge_name"])
    c2 = Controller(cfg, firewall=RecordingFirewall(), host_ops=host)
    try:
        report = c2.reconcile()   # the start-up pass ran already: nothing left to do
        assert all(v == [] for v in report.values()), report
        n2 = c2.network("n")
        assert n2.driver_state["bridge_name"] in host.links()    # re-created
        assert c2.sandbox_by_container("kept").key == sb_kept.key
        with pytest.raises(Exception):
            c2.sandbox_by_container("lost")
        assert n2.endpoint_by_name("lost").sandbox_id is None
        assert "vethdeadbeef0" not in host.links()
        assert host.netns_list(c2.netns_dir) == [__import__("os").path.basename(sb_kept.key)]
    finally:
        c2.stop()


def test_injected_failures_name_the_request(host):
    with host.route_socket() as rs:
        host.fail_on = {"link_add x": errno.EPERM}
        with pytest.raises(NetlinkError) as e:
            rs.link_add("x0", "bridge")
        assert e.value.errno == errno.EPERM and e.value.operation == "link_add x0 (bridge)"
        rs.link_add("x0", "bridge")                              # once only
        with pytest.raises(FileExistsError):
            rs.link_add("x0", "bridge")
        with pytest.raises(FileNotFoundError):
            rs.link_get("nope")
        assert [l.name for l in rs.link_dump(kind="bridge")] == ["x0"]


def test_a_start_that_fails_releases_the_store(cfg, host):
    """The store is held exclusively: a controller whose start fails
    half-way (here: a bad driver option, found after the store is open)
    lets it go, so the next start in the same process works."""
    import dataclasses
    from libnet.errors import InvalidParameterError
    bad = dataclasses.replace(cfg, driver_options={"bridge": {"no_such_option": 1}})
    with pytest.raises(InvalidParameterError, match="no_such_option"):
        Controller(bad, firewall=RecordingFirewall(), host_ops=host)
    c = Controller(cfg, firewall=RecordingFirewall(), host_ops=host)
    c.stop()
