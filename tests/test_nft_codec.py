"""Pure codec tests of the nf_tables core (no sockets, no kernel)."""

import struct

import pytest

from libnet import _netlink as nl

NF = nl.NETLINK_NETFILTER


def test_message_types_and_nfgenmsg_layout():
    raw = nl.encode_message(NF, nl.nft_type(nl.NFT_MSG_NEWTABLE), nl.NLM_F_CREATE,
                            {"family": nl.NFPROTO_INET, "res_id": 0}, {"name": "t", "flags": 0})
    # nlmsghdr, then nfgenmsg: family u8, version u8 (NFNETLINK_V0), res_id be16
    length, mtype, flags = struct.unpack_from("=IHH", raw)
    assert length == len(raw)
    assert mtype == (nl.NFNL_SUBSYS_NFTABLES << 8) | nl.NFT_MSG_NEWTABLE
    assert raw[16:20] == bytes([nl.NFPROTO_INET, 0, 0, 0])
    # NFTA_TABLE_NAME "t\0" (padded), NFTA_TABLE_FLAGS be32
    assert raw[20:28] == struct.pack("=HH", 6, nl.NFTA_TABLE_NAME) + b"t\0\0\0"[:4]
    assert raw[28:36] == struct.pack("=HH", 8, nl.NFTA_TABLE_FLAGS) + b"\0\0\0\0"
    (m,) = nl.decode_messages(raw, NF)
    assert m.message_type.name == "nft_newtable"
    assert m.header == {"family": nl.NFPROTO_INET, "version": 0, "res_id": 0}
    assert m.attrs == {"name": "t", "flags": 0}


def test_expression_attrs_round_trip():
    attrs = {"table": "t", "chain": "c", "expressions": {"elem": [
        {"name": "meta", "data": {"key": nl.NFT_META_L4PROTO, "dreg": 1}},
        {"name": "cmp", "data": {"sreg": 1, "op": nl.NFT_CMP_EQ, "data": {"value": b"\x06"}}},
        {"name": "immediate", "data": {"dreg": 0, "data": {"verdict": {
            "code": nl.NFT_JUMP & 0xFFFFFFFF, "chain": "x"}}}},
        {"name": "masq", "data": {}},
        {"name": "notknown", "data": b"\x08\x00\x01\x00\x00\x00\x00\x01"},
    ]}}
    raw = nl.encode_message(NF, nl.nft_type(nl.NFT_MSG_NEWRULE), 0, {"family": 2}, attrs)
    (m,) = nl.decode_messages(raw, NF)
    assert m.attrs == attrs
    again = nl.encode_message(NF, nl.nft_type(nl.NFT_MSG_NEWRULE), 0, m.header, m.attrs)
    assert again == raw


def test_element_lists_split_under_the_nest_limit():
    elems = [(struct.pack("!I", i), None, struct.pack("!II", i, i), 0, 0) for i in range(10000)]
    msgs = nl.nft_setelem_messages(nl.NFT_MSG_NEWSETELEM, nl.NFPROTO_IPV4, "t", "m", elems,
                                   nl.NLM_F_CREATE)
    assert len(msgs) > 1
    seen = []
    for raw in msgs:
        (m,) = nl.decode_messages(raw, NF)
        assert m.get("table") == "t" and m.get("set") == "m"
        assert len(raw) < 65536
        seen += [(e["key"]["value"], e["data"]["value"]) for e in m.get("elements")["elem"]]
    assert seen == [(k, d) for k, _, d, _, _ in elems]


def test_element_tuple_fields():
    (raw,) = nl.nft_setelem_messages(nl.NFT_MSG_NEWSETELEM, nl.NFPROTO_INET, "t", "s", [
        (b"\x01\x02\x03\x04", b"\x01\x02\x03\x09", None, 0, 0),
        (b"\x0a\x00\x00\x00", None, (nl.NFT_GOTO, "c"), nl.NFT_SET_ELEM_INTERVAL_END, 1500),
    ])
    (m,) = nl.decode_messages(raw, NF)
    a, b = m.get("elements")["elem"]
    assert a == {"key": {"value": b"\x01\x02\x03\x04"}, "key_end": {"value": b"\x01\x02\x03\x09"}}
    assert b == {"key": {"value": b"\x0a\x00\x00\x00"},
                 "data": {"verdict": {"code": nl.NFT_GOTO & 0xFFFFFFFF, "chain": "c"}},
                 "flags": nl.NFT_SET_ELEM_INTERVAL_END, "timeout": 1500}


def test_generation_changed_is_a_retryable_netlink_error():
    assert issubclass(nl.GenerationChanged, nl.NetlinkError)
    assert nl.GenerationChanged.retryable


def test_bad_values_fail_before_sending():
    with pytest.raises(ValueError):
        nl.encode_message(NF, nl.nft_type(nl.NFT_MSG_NEWTABLE), 0, {"family": 2},
                          {"name": "x" * 300})
    with pytest.raises(TypeError):
        nl.nft_setelem_messages(nl.NFT_MSG_NEWSETELEM, 2, "t", "s", [("notbytes", None, None, 0, 0)])


def test_bulk_value_encoder_matches_the_python_one():
    from libnet.netlink import Element
    from libnet.netlink.nft import _fast_codes, _value_encode
    cases = [
        (("inet_proto", "inet_service"), (6, 8080)),
        (("ipv4_addr", "inet_service"), ("172.17.0.2", 80)),
        (("ipv6_addr",), ("2001:db8::1",)),
        (("mark",), (0x10,)),
        (("ifname", "ipv4_addr"), ("eth0", "10.0.0.1")),
    ]
    for types, value in cases:
        (k, _, d, _, _), = nl.nft_values_encode(_fast_codes(types), _fast_codes(types),
                                                [Element(value, value)])
        assert k == d == _value_encode(types, value), types
    with pytest.raises(ValueError):
        nl.nft_values_encode(_fast_codes(("inet_service",)), None, [Element(70000)])
    with pytest.raises(ValueError):
        nl.nft_values_encode(_fast_codes(("ipv4_addr",)), None, [Element("::1")])
