"""nf_tables transactions against the kernel: atomicity, errors that name
the message that caused them, the generation check, and what the kernel
answers (so a transaction never waits for an acknowledgement that will not
come)."""

import errno
import time

import pytest

from libnet import _netlink as nl
from libnet.netlink import (Chain, Element, GenerationChanged, Immediate, NetlinkError,
                            NftSocket, Rule, Set, Table, Verdict)

from nft_support import build_reference, list_ruleset, namespace, need_nft, nft, strip_expires

pytestmark = need_nft

T = Table("tx", "ip")
PORTS = Set("tx", "ports", "inet_proto . inet_service", "ipv4_addr . inet_service", "ip")


@pytest.fixture
def ns(tmp_path):
    with namespace(tmp_path) as n:
        yield n


@pytest.fixture
def sock(ns):
    with NftSocket(ns) as s:
        with s.transaction() as tx:
            tx.add_table(T)
            tx.add_chain(Chain("tx", "c", "ip"))
            tx.add_set(PORTS)
        yield s


def test_error_names_the_offending_message(sock):
    with pytest.raises(FileNotFoundError) as ei:
        with sock.transaction() as tx:
            tx.add_chain(Chain("tx", "d", "ip"))
            tx.add_rule(Rule("tx", "nochain", [Immediate(Verdict("accept"))], "ip"))
            tx.add_elements(PORTS, [Element((6, 80), ("10.0.0.1", 80))])
    e = ei.value
    assert isinstance(e, NetlinkError)
    assert e.errno == errno.ENOENT
    assert e.index == 1
    assert e.operation == "add rule to chain ip tx nochain"
    assert str(e).startswith("[Errno 2] add rule to chain ip tx nochain: No such file or directory")
    assert [x.index for x in e.errors] == [1]


def test_every_failure_is_reported(sock):
    with pytest.raises(NetlinkError) as ei:
        with sock.transaction() as tx:
            tx.add_rule(Rule("tx", "nochain", [Immediate(Verdict("accept"))], "ip"))
            tx.add_chain(Chain("tx", "ok", "ip"))
            tx.add_elements(Set("tx", "noset", "ipv4_addr", family="ip"),
                            [Element("10.0.0.1")])
    assert [(x.index, x.errno) for x in ei.value.errors] == [(0, errno.ENOENT),
                                                              (2, errno.ENOENT)]
    assert "add 1 element to set ip tx noset" in str(ei.value.errors[1])


def test_failed_transaction_leaves_ruleset_exactly_as_it_was(ns, sock):
    build_reference(sock)
    before, gen, objects = strip_expires(list_ruleset(ns)), sock.generation(), sock.ruleset()
    with pytest.raises(FileExistsError) as ei:
        with sock.transaction() as tx:
            tx.add_table(Table("new", "inet"))
            tx.add_chain(Chain("tx", "more", "ip"))
            tx.add_elements(PORTS, [Element((6, 1), ("10.0.0.9", 1))])
            tx.flush_table(Table("libnet", "ip"))
            tx.add_elements(PORTS, [Element((6, 1), ("10.0.0.9", 1))], exclusive=True)
    assert ei.value.operation == "add 1 element to map ip tx ports"
    assert strip_expires(list_ruleset(ns)) == before
    assert sock.ruleset() == objects
    assert sock.generation() == gen


def test_nothing_is_sent_when_the_block_raises(ns, sock):
    gen = sock.generation()
    with pytest.raises(RuntimeError):
        with sock.transaction() as tx:
            tx.add_table(Table("never", "inet"))
            raise RuntimeError("caller changed its mind")
    assert sock.generation() == gen
    assert [t.name for t in sock.tables()] == ["tx"]


def test_generation_check_refuses_a_raced_transaction(ns, sock):
    gen = sock.generation()
    with NftSocket(ns) as other:          # another writer commits in between
        with other.transaction() as tx:
            tx.add_chain(Chain("tx", "theirs", "ip"))
    before = list_ruleset(ns)
    with pytest.raises(GenerationChanged) as ei:
        with sock.transaction(genid=gen) as tx:
            tx.add_chain(Chain("tx", "mine", "ip"))
    assert ei.value.errno == errno.ERESTART
    assert ei.value.retryable
    assert list_ruleset(ns) == before
    # retry with the current generation: accepted
    with sock.transaction(genid=sock.generation()) as tx:
        tx.add_chain(Chain("tx", "mine", "ip"))
    assert {c.name for c in sock.chains()} == {"c", "theirs", "mine"}


def test_generation_also_moves_when_nft_writes(ns, sock):
    gen = sock.generation()
    nft(ns, "add", "chain", "ip", "tx", "fromnft")
    assert sock.generation() == gen + 1
    with pytest.raises(GenerationChanged):
        with sock.transaction(genid=gen) as tx:
            tx.add_chain(Chain("tx", "mine", "ip"))


def _raw_batch(msgs, genid=None, seq=1000):
    """BATCH_BEGIN, msgs (NLM_F_ACK), BATCH_END with seqs seq, seq+1, ..."""
    hdr = {"family": 0, "res_id": nl.NFNL_SUBSYS_NFTABLES}
    begin = nl.encode_message(nl.NETLINK_NETFILTER, nl.NFNL_MSG_BATCH_BEGIN, nl.NLM_F_REQUEST,
                              hdr, {"genid": genid} if genid is not None else {})
    end = nl.encode_message(nl.NETLINK_NETFILTER, nl.NFNL_MSG_BATCH_END, nl.NLM_F_REQUEST, hdr)
    out = bytearray()
    for i, m in enumerate([begin, *msgs, end]):
        m = bytearray(m)
        if 0 < i <= len(msgs):
            m[6:8] = (int.from_bytes(m[6:8], "little") | nl.NLM_F_REQUEST | nl.NLM_F_ACK
                      ).to_bytes(2, "little")
        m[8:12] = (seq + i).to_bytes(4, "little")
        out += m
    return bytes(out)


def _answers(raw_sock):
    """(seq, errno) of every answer queued right after sendmsg returned."""
    got = []
    for m in raw_sock.recv_messages(timeout=0):
        assert m.type == nl.NLMSG_ERROR
        code = -int.from_bytes(m.raw[16:20], "little", signed=True)
        got.append((m.seq, code))
    return got


def test_what_the_kernel_answers(ns, sock):
    """The contract nft_commit relies on (checked on this kernel):
    every answer is queued before sendmsg returns; an aborted batch still
    answers every message (0 for the good ones); a stale generation id
    answers only BATCH_BEGIN, with ERESTART."""
    ok = nl.encode_message(nl.NETLINK_NETFILTER, nl.nft_type(nl.NFT_MSG_NEWCHAIN),
                           nl.NLM_F_CREATE, {"family": nl.NFPROTO_IPV4},
                           {"table": "tx", "name": "a"})
    bad = nl.encode_message(nl.NETLINK_NETFILTER, nl.nft_type(nl.NFT_MSG_NEWCHAIN),
                            nl.NLM_F_CREATE, {"family": nl.NFPROTO_IPV4},
                            {"table": "nope", "name": "b"})
    raw = sock.socket
    raw.send_raw(_raw_batch([ok, ok, ok]))
    assert _answers(raw) == [(1001, 0), (1002, 0), (1003, 0)]
    raw.send_raw(_raw_batch([ok, bad, ok], seq=2000))
    assert _answers(raw) == [(2001, 0), (2002, errno.ENOENT), (2003, 0)]
    gen = sock.generation()
    raw.send_raw(_raw_batch([ok, ok], genid=gen - 1, seq=3000))
    assert _answers(raw) == [(3000, errno.ERESTART)]
    raw.send_raw(_raw_batch([ok, ok], genid=gen, seq=4000))
    assert _answers(raw) == [(4001, 0), (4002, 0)]


def test_large_transaction_and_no_waiting(ns, sock):
    els = [Element((6, p), ("10.0.0.2", p)) for p in range(1, 20001)]
    t0 = time.perf_counter()
    with sock.transaction() as tx:
        tx.add_elements(PORTS, els)
    assert len(tx) > 1          # split into several NEWSETELEM messages
    assert len(sock.elements(PORTS)) == 20000
    # a refused one returns at once, not after a timeout
    t0 = time.perf_counter()
    with pytest.raises(FileExistsError):
        with sock.transaction() as tx:
            tx.add_elements(PORTS, els[:5], exclusive=True)
    assert time.perf_counter() - t0 < 0.05
