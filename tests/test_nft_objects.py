"""nf_tables objects against the real kernel, in a namespace each test creates.

The reference ruleset (tests/nft_support.py) has one of every object and
expression the core builds.  Checked here: the real `nft` lists it without
error (JSON and text) and its text equals tests/golden/nft/reference.nft;
dumps parse back into objects equal to the ones that built it; a dumped rule
or element list re-encodes to the kernel's own bytes; and the rules' bytes
equal those the real `nft -f` produces for the same text.
"""

import pytest

from libnet import _netlink as nl
from libnet.netlink import Element, NftSocket, Set, Table, Verdict
from libnet.netlink.nft import set_userdata

from nft_support import (build_reference, golden, list_ruleset, list_ruleset_json,
                         namespace, need_nft, nft, strip_expires)

pytestmark = need_nft


@pytest.fixture
def ns(tmp_path):
    with namespace(tmp_path) as n:
        yield n


@pytest.fixture
def ref(ns):
    with NftSocket(ns) as sock:
        objs = build_reference(sock)
        yield sock, objs


def test_reference_ruleset_listed_by_nft(ns, ref):
    data = list_ruleset_json(ns)
    kinds = [next(iter(o)) for o in data["nftables"]]
    assert kinds.count("table") == 1
    assert kinds.count("chain") == 4
    assert kinds.count("set") + kinds.count("map") == 5
    assert kinds.count("rule") == 11
    assert strip_expires(list_ruleset(ns)) == golden("reference.nft")


def test_dumps_parse_back_into_the_builders_objects(ref):
    sock, (table, chains, sets, rules, elements) = ref
    assert sock.tables() == [table]
    assert sock.chains() == chains
    assert sock.sets() == sets
    assert sock.rules() == rules
    for s in sets:
        got = sorted(sock.elements(s), key=repr)
        assert got == sorted(elements[s.name], key=repr), s.name
    # kernel-assigned handles are carried (but not compared)
    assert all(r.handle for r in sock.rules())


def _body(raw: bytes) -> bytes:
    """A message without its netlink header (flags, seq and pid differ) and
    nfgenmsg.res_id (dumps put the generation's low 16 bits there)."""
    return raw[16:18] + raw[20:]


def test_rule_round_trip_is_byte_identical(ref):
    sock, _ = ref
    msgs = sock.rule_messages()
    assert len(msgs) == 11
    for m in msgs:
        rule = type(sock.rules()[0]).from_message(m)
        again = nl.encode_message(nl.NETLINK_NETFILTER, nl.nft_type(nl.NFT_MSG_NEWRULE), 0,
                                  m.header, rule.attrs(with_handle=True))
        assert _body(again) == _body(m.raw), rule


def test_element_round_trip_is_byte_identical(ref):
    sock, (_, _, sets, _, _) = ref
    for s in sets:
        if s.timeouts:
            continue        # dumps carry the time left (expiration), which moves
        for m in sock.element_messages(s):
            if not m.get("elements"):
                continue
            els = s.elements_from_messages([m])
            # rbtree interval sets dump each end as its own element; pairs
            # re-encode in key order, so compare as sets of element nests.
            again = nl.nft_setelem_messages(nl.NFT_MSG_NEWSETELEM, m.header["family"],
                                            s.table, s.name, s.element_tuples(els))
            assert len(again) == 1
            (back,) = nl.decode_messages(again[0], nl.NETLINK_NETFILTER)
            got = back.get("elements")["elem"]
            want = m.get("elements")["elem"]
            if s.interval and not s.concat:
                # nft's leading 0.0.0.0 interval end is not an element of ours
                want = [w for w in want if w["key"]["value"] != bytes(4)]
                got, want = sorted(got, key=repr), sorted(want, key=repr)
            assert got == want, s.name
            if not s.interval:
                assert _body(again[0]) == _body(m.raw), s.name


def test_rules_match_what_nft_builds_from_the_same_text(tmp_path, ref):
    """Every rule's expressions are byte for byte the ones nft -f makes."""
    sock, _ = ref
    ours = [m.attrs["expressions"] for m in sock.rule_messages()]
    with namespace(tmp_path, "oracle") as other:
        nft(other, "-f", "-", input=golden("reference.nft"))
        with NftSocket(other) as sock2:
            theirs = [m.attrs["expressions"] for m in sock2.rule_messages()]
            assert sock2.rules() == sock.rules()
            assert [s.name for s in sock2.sets()] == [s.name for s in sock.sets()]
    assert ours == theirs


def test_set_userdata_is_what_nft_writes(tmp_path, ref):
    sock, (_, _, sets, _, _) = ref
    with namespace(tmp_path, "oracle") as other:
        nft(other, "-f", "-", input=golden("reference.nft"))
        with NftSocket(other) as sock2:
            msgs = sock2._dump(nl.NFT_MSG_GETSET, None, {}, "sets")
    theirs = {m.get("name"): m.get("userdata") for m in msgs}
    for s in sets:
        if s.concat:
            continue        # nft adds typeof records for concatenations; not needed to print
        assert set_userdata(s) == theirs[s.name], s.name


def test_get_and_delete_elements(ns, ref):
    sock, (_, _, sets, _, _) = ref
    ports = next(s for s in sets if s.name == "ports")
    got = sock.get_elements(ports, [Element((6, 8080))])
    assert got == [Element((6, 8080), ("10.0.0.2", 80))]
    with sock.transaction() as tx:
        tx.delete_elements(ports, [Element((6, 8080))])
    assert sock.elements(ports) == [Element((17, 53), ("10.0.0.3", 5353))]
    with pytest.raises(FileNotFoundError):
        sock.get_elements(ports, [Element((6, 8080))])


def test_delete_rule_by_handle(ns, ref):
    sock, _ = ref
    before = sock.rules(table="libnet", chain="fw")
    victim = before[2]
    with sock.transaction() as tx:
        tx.delete_rule(victim)
    after = sock.rules(table="libnet", chain="fw")
    assert [r.handle for r in after] == [r.handle for r in before if r.handle != victim.handle]
    assert "counter" not in list_ruleset(ns)


def test_delete_objects(ns, ref):
    sock, (table, chains, sets, _, _) = ref
    with sock.transaction() as tx:
        tx.flush_table(table)
        tx.delete_set(next(s for s in sets if s.name == "marks"))
        tx.delete_set(next(s for s in sets if s.name == "vm"))   # its elements jump to "other"
        tx.delete_chain(chains[0])
    assert sock.rules() == []
    assert [s.name for s in sock.sets()] == ["ports", "s4", "c4"]
    assert [c.name for c in sock.chains()] == ["pre", "fw", "postr"]
    with sock.transaction() as tx:
        tx.delete_table(sock.tables()[0])   # by handle
    assert sock.tables() == []
    assert list_ruleset(ns) == ""


def test_verdict_map_and_ipv6_inet_table(ns):
    t = Table("v6", "inet")
    s6 = Set("v6", "addrs", "ipv6_addr", family="inet")
    vm = Set("v6", "dispatch", "inet_service", "verdict", family="inet")
    with NftSocket(ns) as sock:
        with sock.transaction() as tx:
            tx.add_table(t)
            tx.add_set(s6)
            tx.add_set(vm)
            tx.add_elements(s6, [Element("2001:db8::1"), Element("fe80::2")])
            tx.add_elements(vm, [Element(22, Verdict("accept")), Element(80, Verdict("drop"))])
        assert sorted(sock.elements(s6), key=repr) == [Element("2001:db8::1"),
                                                        Element("fe80::2")]
        assert sock.sets(table="v6") == [s6, vm]
    list_ruleset_json(ns)
    assert strip_expires(list_ruleset(ns)) == golden("inet6.nft")


def test_table_owner_flag(ns):
    with NftSocket(ns) as owner:
        with owner.transaction() as tx:
            tx.add_table(Table("owned", "inet", owner=True))
        with NftSocket(ns) as other:
            assert other.tables() == [Table("owned", "inet", owner=True)]
            with pytest.raises(PermissionError):
                with other.transaction() as tx:
                    tx.delete_table(Table("owned", "inet"))
    # the owner's socket closed: the kernel removed its table
    with NftSocket(ns) as sock:
        assert sock.tables() == []


def test_table_persist_flag(ns):
    with NftSocket(ns) as owner:
        try:
            with owner.transaction() as tx:
                tx.add_table(Table("kept", "inet", owner=True, persist=True))
        except OSError as e:
            pytest.skip(f"kernel lacks NFT_TABLE_F_PERSIST (Linux 6.9): {e}")
    with NftSocket(ns) as sock:
        assert [t.name for t in sock.tables()] == ["kept"]
        assert sock.tables()[0].persist


@pytest.mark.parametrize("what", ["GETTABLE", "GETCHAIN", "GETSET", "GETRULE"])
def test_every_dumped_message_round_trips_through_the_codec(ref, what):
    """Tables, chains and sets too: the kernel's dump messages (with the
    attributes it fills in itself, unknown ones kept raw) decode and
    re-encode to the same bytes."""
    sock, _ = ref
    msgs = sock._dump(getattr(nl, f"NFT_MSG_{what}"), None, {}, what.lower())
    assert msgs
    for m in msgs:
        again = nl.encode_message(nl.NETLINK_NETFILTER, m.type, 0, m.header, m.attrs)
        assert _body(again) == _body(m.raw), m.to_dict()
