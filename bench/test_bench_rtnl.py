"""rtnetlink benchmarks (issue 2): veth creation, link dumps, encode and decode.

Run inside a network and mount namespace of its own; every benchmark makes
its own throwaway namespaces:

    unshare --net --mount python3 -m pytest bench/test_bench_rtnl.py --benchmark-only

Each group has its baseline in the same run (the kernel's own cost, with
pre-built bytes on a plain socket, and pyroute2 and iproute2), and a table
of ratios and targets is printed at the end.  The scenarios themselves are
in rtnl_cases.py, shared with compare.py.
"""

from __future__ import annotations

import os

import pytest

from libnet.netlink import RouteSocket

import benchtable
import rtnl_cases as rc
from conftest import run_case

benchtable.register(rc.TARGETS, rc.QUOTED)

# Rounds of the pedantic benchmarks; each veth round makes two namespaces
# and 1,000 pairs, and waits for the kernel to tear them down after.
VETH_ROUNDS = int(os.environ.get("BENCH_VETH_ROUNDS", "7"))
VETH_WARMUP = 1  # the first round in a process is slower (allocations, caches)
DUMP_ROUNDS = int(os.environ.get("BENCH_DUMP_ROUNDS", "9"))
DUMP_ROUNDS_SLOW = int(os.environ.get("BENCH_DUMP_ROUNDS_SLOW", "3"))  # pyroute2: ~5 s each


def _pick(cases, group, contender):
    for case in cases:
        if case.group == group and case.contender == contender:
            return case
    pytest.skip(f"{contender} is not available here")


# ------------------------------------------------------------- veth pairs

@pytest.fixture(scope="module")
def veth(env):
    return rc.veth_cases(env)


def _veth(benchmark, cases, contender):
    run_case(benchmark, _pick(cases, "veth-1000", contender), rounds=VETH_ROUNDS,
             warmup=VETH_WARMUP)


def test_veth_kernel(benchmark, veth):
    """One iteration: the 1,000 RTM_NEWLINK requests (veth, peer in a second
    namespace), pre-built as bytes, written with one send() on a plain
    AF_NETLINK socket, and all 1,000 acks read.  The kernel's own cost."""
    _veth(benchmark, veth, "kernel")


def test_veth_libnet_core(benchmark, veth):
    """One iteration: NetlinkSocket.batch() of the same 1,000 pre-built
    requests (libnet's send and ack matching, no encoding)."""
    _veth(benchmark, veth, "libnet core (pre-built)")


def test_veth_libnet(benchmark, veth):
    """One iteration: ``with RouteSocket.batch() as b`` and 1,000
    ``b.link_add_veth(name, peer, peer_netns=sandbox)``: validation,
    encoding, one sendmsg, every ack matched."""
    _veth(benchmark, veth, "libnet")


def test_veth_pyroute2(benchmark, veth):
    """One iteration: 1,000 ``IPRoute.link('add', ifname=..., kind='veth',
    peer={'ifname': ..., 'net_ns_fd': fd})``, one request and ack each."""
    _veth(benchmark, veth, "pyroute2")


def test_veth_ip_batch(benchmark, veth):
    """One iteration: ``nsenter --net=NS ip -batch FILE``, FILE holding 1,000
    ``link add NAME type veth peer name PEER netns PATH`` lines."""
    _veth(benchmark, veth, "ip -batch")


# ------------------------------------------------------------- link dumps

@pytest.fixture(scope="module")
def dump(env):
    fixture = rc.DumpFixture(env)
    yield rc.dump_cases(lambda: fixture)
    fixture.close()


def test_dump_kernel(benchmark, dump):
    """One iteration: an RTM_GETLINK dump of 10,001 links received whole on a
    plain netlink socket, nothing parsed (the kernel's own cost)."""
    run_case(benchmark, _pick(dump, "dump-10000", "kernel"), rounds=DUMP_ROUNDS)


def test_dump_libnet(benchmark, dump):
    """One iteration: ``RouteSocket.link_dump()`` of 10,001 links, then
    index, name, mtu, mac, operstate and kind of every one."""
    run_case(benchmark, _pick(dump, "dump-10000", "libnet"), rounds=DUMP_ROUNDS)


def test_dump_libnet_no_fields(benchmark, dump):
    """One iteration: ``RouteSocket.link_dump()`` of 10,001 links, no field
    read (the dump and Link objects alone: where the time goes)."""
    run_case(benchmark, _pick(dump, "dump-10000", "libnet (no field read)"), rounds=DUMP_ROUNDS)


def test_dump_libnet_skip_stats(benchmark, dump):
    """One iteration: ``RouteSocket.link_dump(ext_mask=RTEXT_FILTER_SKIP_STATS)``
    (the kernel leaves the IPv6 statistics out: fewer bytes, so not the same
    work as the other rows), then the same six fields of every link."""
    run_case(benchmark, _pick(dump, "dump-10000", "libnet SKIP_STATS"), rounds=DUMP_ROUNDS)


def test_dump_pyroute2(benchmark, dump):
    """One iteration: ``IPRoute.get_links()`` of 10,001 links, then the same
    six fields of every one."""
    run_case(benchmark, _pick(dump, "dump-10000", "pyroute2"), rounds=DUMP_ROUNDS_SLOW)


def test_dump_ip_json(benchmark, dump):
    """One iteration: ``nsenter --net=NS ip -j link show``, ``json.loads`` of
    its output, the same six fields (kind is absent without -d)."""
    run_case(benchmark, _pick(dump, "dump-10000", "ip -j link"), rounds=DUMP_ROUNDS)


def test_dump_ip_json_details(benchmark, dump):
    """One iteration: ``nsenter --net=NS ip -j -d link show``, ``json.loads``,
    the same six fields, kind included."""
    run_case(benchmark, _pick(dump, "dump-10000", "ip -j -d link"), rounds=DUMP_ROUNDS)


# ------------------------------------------------------- encode and decode

@pytest.fixture(scope="module")
def codec(env):
    return rc.codec_cases(env)


MESSAGES = ["newlink-veth", "newaddr", "newroute"]


@pytest.mark.parametrize("msg", MESSAGES)
def test_encode_libnet(benchmark, codec, msg):
    """One iteration: ``encode_message()`` of one request (veth with peer,
    IPv4 address, IPv4 route with gateway) from header and attribute dicts."""
    run_case(benchmark, _pick(codec, f"encode-{msg}", "libnet"))


@pytest.mark.parametrize("msg", MESSAGES)
def test_encode_libnet_verb(benchmark, codec, msg):
    """One iteration: the RouteSocket verb (``link_add_veth``, ``addr_add``,
    ``route_add``) queued in a ``batch()`` that is never sent: argument
    checks and encoding, no syscall."""
    run_case(benchmark, _pick(codec, f"encode-{msg}", "libnet verb"))


@pytest.mark.parametrize("msg", MESSAGES)
def test_encode_pyroute2(benchmark, codec, msg):
    """One iteration: pyroute2's message class (ifinfmsg, ifaddrmsg, rtmsg)
    filled with the same fields and ``encode()``d: the same bytes."""
    run_case(benchmark, _pick(codec, f"encode-{msg}", "pyroute2"))


@pytest.mark.parametrize("msg", MESSAGES)
def test_encode_pyroute2_ipbatch(benchmark, codec, msg):
    """One iteration: pyroute2's request API, ``IPBatch.link/addr/route('add',
    ...)``, which filters the arguments and encodes without sending."""
    run_case(benchmark, _pick(codec, f"encode-{msg}", "pyroute2 IPBatch"))


def test_decode_newlink_libnet(benchmark, codec):
    """One iteration: ``decode_messages()`` of one captured veth RTM_NEWLINK
    (~1.5 KB, as dumped), then index, name, mtu, mac, operstate, kind."""
    run_case(benchmark, _pick(codec, "decode-newlink", "libnet"))


def test_decode_newlink_pyroute2(benchmark, codec):
    """One iteration: ``ifinfmsg(raw).decode()`` of the same message, then the
    same six fields."""
    run_case(benchmark, _pick(codec, "decode-newlink", "pyroute2"))


# ------------------------------------------- the contenders do the same work

def _queued(rs, msg):
    """The bytes a RouteSocket verb queues (Batch keeps them in ``_msgs``)."""
    batch = rs.batch()
    if msg == "newlink-veth":
        batch.link_add_veth("veth0", "eth0", peer_netns=5, mtu=1450)
    elif msg == "newaddr":
        batch.addr_add(5, "10.1.2.3/24")
    else:
        batch.route_add("10.8.0.0/16", gateway="10.1.2.1", dev=5)
    (out,) = batch._msgs
    return out


def test_same_requests(env):
    """The baselines send exactly what libnet sends (sequence numbers aside):
    the kernel row's pre-built veth requests equal link_add_veth's, and
    pyroute2's codec encodes the same bytes as encode_message and the verbs."""
    core = rc.libnet_encoders()
    ns = env.create("same")
    try:
        with RouteSocket(ns) as rs:
            for msg in MESSAGES:
                assert _queued(rs, msg) == core[msg](), msg
            batch = rs.batch()
            batch.link_add_veth("veth0", "eth0", peer_netns=7)
            assert batch._msgs == [rc.veth_request("veth0", "eth0", 7)]
    finally:
        env.delete(ns)
    if rc.pyroute2 is not None:
        p2 = rc.pyroute2_encoders()
        for msg in MESSAGES:
            assert rc.same_bytes_modulo_seq(p2[msg](), core[msg]()), msg


def test_same_fields(env):
    """libnet and pyroute2 read the same six fields from the captured message."""
    raw = rc.capture_link_message(env)
    fields = rc.libnet_decode(raw)
    assert fields[1:3] == ("veth0", 1450) and fields[5] == "veth"
    if rc.pyroute2 is not None:
        assert rc.pyroute2_decode(raw) == fields
