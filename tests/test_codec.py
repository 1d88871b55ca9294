"""Codec tests: no sockets.  Golden bytes captured from the kernel
(tools/capture_fixtures.py) must parse to the recorded values and re-encode
to the very same bytes; requests the facade builds must have the layout the
kernel expects; bad values are refused before anything is built."""
from __future__ import annotations

import json
import pathlib
import struct

import pytest

from libnet import _netlink as nl

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "rtnl"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.hex"))


def from_json(v):
    if isinstance(v, dict):
        if set(v) == {"__bytes__"}:
            return bytes.fromhex(v["__bytes__"])
        return {(int(k[1:]) if k.startswith("#") else k): from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


def load(name):
    raw = bytes.fromhex((FIXTURES / f"{name}.hex").read_text().strip())
    expected = from_json(json.loads((FIXTURES / f"{name}.json").read_text()))
    return raw, expected


def test_fixtures_cover_every_message_family():
    kinds = {n.split("_")[0] for n in NAMES}
    assert kinds == {"link", "addr", "route", "neigh"}
    assert len(NAMES) >= 12


@pytest.mark.parametrize("name", NAMES)
def test_golden_parse(name):
    raw, expected = load(name)
    (msg,) = nl.decode_messages(raw)
    assert msg.type == expected["type"]
    assert msg.msg_flags == expected["flags"]
    assert msg.header == expected["header"]
    assert msg.attrs == expected["attrs"]
    assert msg.raw == raw


@pytest.mark.parametrize("name", NAMES)
def test_golden_build(name):
    raw, expected = load(name)
    seq, pid = struct.unpack_from("=II", raw, 8)
    built = nl.encode_message(nl.NETLINK_ROUTE, expected["type"], expected["flags"],
                              expected["header"], expected["attrs"], seq=seq, pid=pid)
    assert built.hex() == raw.hex()


def test_golden_link_fields():
    raw, _ = load("link_veth0")
    (link,) = nl.decode_messages(raw)
    assert isinstance(link, nl.Link)
    assert (link.name, link.kind, link.mtu, link.mac) == ("veth0", "veth", 1400, "02:00:00:00:00:01")
    assert link.slave_kind == "bridge"
    assert link.master is not None and link.master > 0
    assert link.stats["rx_packets"] >= 0
    raw, _ = load("link_vxlan0")
    (vx,) = nl.decode_messages(raw)
    assert vx.info_data["id"] == 42 and vx.info_data["port"] == 4789
    assert vx.info_data["local"] == "10.1.0.1"
    raw, _ = load("link_vx_peer")
    (peer,) = nl.decode_messages(raw)
    assert peer.link_netnsid is not None and peer.link_netnsid >= 0


def test_golden_other_fields():
    (a,) = nl.decode_messages(load("addr_v4")[0])
    assert (a.cidr, a.broadcast, a.label) == ("10.1.0.1/24", "10.1.0.255", "br0")
    (a6,) = nl.decode_messages(load("addr_v6")[0])
    assert a6.cidr == "fd00:1::1/64" and a6.flags & nl.IFA_F_NODAD
    (r,) = nl.decode_messages(load("route_v4")[0])
    assert (r.dst, r.gateway, r.priority, r.table) == ("10.2.0.0/16", "10.1.0.2", 100, 254)
    (r6,) = nl.decode_messages(load("route_v6")[0])
    assert (r6.dst, r6.gateway) == ("fd00:2::/48", "fd00:1::2")
    (n,) = nl.decode_messages(load("neigh_v4")[0])
    assert (n.dst, n.lladdr, n.state) == ("10.1.0.9", "02:00:00:00:00:09", nl.NUD_PERMANENT)
    (f,) = nl.decode_messages(load("neigh_fdb")[0])
    assert (f.family, f.lladdr, f.dst) == (nl.AF_BRIDGE, "02:00:00:00:00:05", "10.1.0.5")


def test_unknown_attributes_kept_raw_and_round_trip():
    # Type 200 is unknown to the link set, 201 carries NLA_F_NESTED.
    msg = nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0, {"index": 3},
                            {"ifname": "x", 200: b"\x01\x02\x03", 201 | nl.NLA_F_NESTED: b""})
    (m,) = nl.decode_messages(msg)
    assert m.attrs == {"ifname": "x", 200: b"\x01\x02\x03", 201 | nl.NLA_F_NESTED: b""}
    again = nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0, m.header, m.attrs)
    assert again == msg


def test_unknown_message_type_is_a_plain_message():
    raw = struct.pack("=IHHII", 20, 0x7FF0, 0, 1, 0) + b"\xaa\xbb\xcc\xdd"
    (m,) = nl.decode_messages(raw)
    assert type(m) is nl.Message and m.type == 0x7FF0 and m.attrs == {} and m.raw == raw


def test_veth_request_layout():
    """A veth request nests a whole ifinfomsg for the peer inside
    IFLA_LINKINFO / IFLA_INFO_DATA / VETH_INFO_PEER."""
    msg = nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWLINK, nl.NLM_F_CREATE | nl.NLM_F_EXCL, {},
                            {"ifname": "v0", "linkinfo": {"kind": "veth", "data": {
                                "peer": {"ifname": "v1", "net_ns_fd": 7}}}})
    length, mtype, flags = struct.unpack_from("=IHH", msg)
    assert (length, mtype, flags) == (len(msg), nl.RTM_NEWLINK, nl.NLM_F_CREATE | nl.NLM_F_EXCL)
    off = 16 + 16                                     # nlmsghdr + ifinfomsg
    assert struct.unpack_from("=HH", msg, off) == (7, nl.IFLA_IFNAME)
    assert msg[off + 4:off + 7] == b"v0\0"
    off += 8
    li_len, li_type = struct.unpack_from("=HH", msg, off)
    assert li_type == nl.IFLA_LINKINFO and off + li_len == len(msg)
    assert struct.unpack_from("=HH", msg, off + 4) == (9, nl.IFLA_INFO_KIND)
    data_off = off + 4 + 12
    assert struct.unpack_from("=HH", msg, data_off)[1] == nl.IFLA_INFO_DATA
    peer_off = data_off + 4
    peer_len, peer_type = struct.unpack_from("=HH", msg, peer_off)
    assert peer_type == nl.VETH_INFO_PEER
    assert peer_len == 4 + 16 + 8 + 8                 # header, ifinfomsg, ifname, net_ns_fd
    (m,) = nl.decode_messages(msg)
    peer = m.attrs["linkinfo"]["data"]["peer"]
    assert peer["ifname"] == "v1" and peer["net_ns_fd"] == 7
    assert peer["header"]["index"] == 0


@pytest.mark.parametrize("attrs, error", [
    ({"ifname": "a-name-longer-than-15"}, ValueError),
    ({"ifname": 5}, TypeError),
    ({"mtu": -1}, ValueError),
    ({"mtu": 2 ** 32}, ValueError),
    ({"mtu": "1500"}, TypeError),
    ({"address": "zz:00"}, ValueError),
    ({"no_such_attribute": 1}, ValueError),
    ({"linkinfo": {"kind": "bridge", "data": {"stp_state": "on"}}}, TypeError),
    ({"linkinfo": {"kind": "bridge", "data": {"bogus": 1}}}, ValueError),
])
def test_bad_link_values_refused(attrs, error):
    with pytest.raises(error):
        nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0, {}, attrs)


@pytest.mark.parametrize("value", ["10.0.0.256", "10.0.0.1/24", "fe80::zz", "", "::1::2"])
def test_bad_ip_addresses_refused(value):
    with pytest.raises(ValueError):
        nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWADDR, 0, {"family": 2}, {"local": value})


def test_header_fields_checked():
    with pytest.raises(ValueError):
        nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWADDR, 0, {"prefixlen": 300}, {})
    with pytest.raises(ValueError):
        nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWADDR, 0, {"nonsense": 1}, {})


def test_malformed_input_raises_not_crashes():
    raw, _ = load("link_lo")
    with pytest.raises(ValueError):
        nl.decode_messages(raw[:-3])                  # message shorter than it says
    broken = bytearray(raw)
    struct.pack_into("=H", broken, 32, 2)              # first attribute: nla_len < 4
    with pytest.raises(ValueError, match="malformed netlink attribute"):
        nl.decode_messages(bytes(broken))


def test_error_classes():
    e = nl.netlink_error(17, "already there", "link_add x", 5)
    assert isinstance(e, FileExistsError) and isinstance(e, nl.NetlinkError)
    assert isinstance(e, OSError) and e.errno == 17
    assert str(e) == "[Errno 17] link_add x: File exists: already there"
    assert isinstance(nl.netlink_error(19), FileNotFoundError)
    assert isinstance(nl.netlink_error(2), FileNotFoundError)
    assert isinstance(nl.netlink_error(1), PermissionError)
    assert type(nl.netlink_error(22)) is nl.NetlinkError
    import pickle
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is type(e) and again.ext_ack == "already there" and again.seq == 5


def _verbs():
    """RouteSocket's verbs, returning what they would send (message, op)."""
    from libnet.netlink import route

    class Capture(route._Verbs):
        def _submit(self, msg, op, keep=None):
            return msg, op

        def _resolve(self, link):
            return link
    return Capture()


ADD = nl.NLM_F_CREATE | nl.NLM_F_EXCL


@pytest.mark.parametrize("given, packed, prefixlen, text", [
    ("10.1.0.2/16", "10.1.0.2", 16, "10.1.0.2/16"),
    ("10.1.0.2", "10.1.0.2", 32, "10.1.0.2/32"),
    ("10.1.0.2/255.255.0.0", "10.1.0.2", 16, "10.1.0.2/16"),
    ("fd00::0002/64", "fd00::2", 64, "fd00::2/64"),
])
def test_addr_verb_encodes_as_the_core(given, packed, prefixlen, text):
    """The verbs pack addresses themselves (inet_pton, not ipaddress): the
    bytes are the core's for the same values, whatever form was given."""
    import ipaddress
    v6 = ":" in packed
    want = nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWADDR, ADD,
                             {"family": nl.AF_INET6 if v6 else nl.AF_INET, "prefixlen": prefixlen,
                              "index": 3, "scope": 0, "flags": 0},
                             {"local": packed, "address": packed})
    for form in (given, ipaddress.ip_interface(given)):
        assert _verbs().addr_add(3, form) == (want, f"addr_add {text} dev 3")


def test_route_and_neighbour_verbs_encode_as_the_core():
    v = _verbs()
    msg, _ = v.route_replace("default", gateway="10.1.0.1", dev=2)
    (m,) = nl.decode_messages(msg)
    assert m.attrs["gateway"] == "10.1.0.1" and m.header["family"] == nl.AF_INET
    msg, _ = v.route_replace("default", gateway="fd00::1", dev=2)
    (m,) = nl.decode_messages(msg)
    assert m.attrs["gateway"] == "fd00::1" and m.header["family"] == nl.AF_INET6
    msg, op = v.route_replace("10.2.0.0/16", gateway="10.1.0.1", dev=2)
    (m,) = nl.decode_messages(msg)
    assert m.attrs["dst"] == "10.2.0.0" and m.header["dst_len"] == 16
    assert op == "route_replace 10.2.0.0/16"
    with pytest.raises(ValueError, match="host bits set"):
        v.route_replace("10.2.0.1/16", gateway="10.1.0.1", dev=2)
    with pytest.raises(ValueError, match="invalid destination"):
        v.route_replace("10.2.0.0/40", gateway="10.1.0.1", dev=2)
    msg, op = v.neigh_change("fd00::0005", "02:42:0a:01:00:05", 4, state="stale")
    (m,) = nl.decode_messages(msg)
    assert m.attrs["dst"] == "fd00::5" and m.header["family"] == nl.AF_INET6
    assert op == "neigh_change fd00::5 dev 4"


@pytest.mark.parametrize("bad", ["10.0.0.256/24", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/+8",
                                 "1.2.3/8", "010.0.0.1/8", "fd00::1/129", "fe80::1%eth0/64", ""])
def test_addr_verb_refuses_bad_addresses(bad):
    with pytest.raises(ValueError, match="invalid address"):
        _verbs().addr_add(3, bad)


@pytest.mark.parametrize("bad", ["10.0.0.256", "10.0.0.1 ", "::1::2", "fe80::1%eth0", 7])
def test_gateway_and_neighbour_refuse_bad_addresses(bad):
    with pytest.raises(ValueError, match="invalid IP address"):
        _verbs().route_replace("default", gateway=bad, dev=2)
    with pytest.raises(ValueError, match="invalid IP address"):
        _verbs().neigh_change(bad, "02:42:0a:01:00:05", 4)
