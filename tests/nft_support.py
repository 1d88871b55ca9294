"""Shared helpers of the nf_tables tests: throwaway namespaces, the `nft`
oracle run inside them, and a reference ruleset built with libnet objects.

Every test runs in a network namespace it creates (under a temporary run
dir); `nft` is only ever run through nsenter into that namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from libnet import netns
from libnet.netlink import (Bitwise, Chain, Cmp, Counter, Ct, Element, Fib, Immediate,
                            Lookup, Masq, Meta, Nat, NftSocket, Payload, Redir, Reject, Rule,
                            Set, Table, Verdict)
from libnet.netlink.nft_expr import REG32

HAVE_NFT = shutil.which("nft") is not None
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "nft")


def nft(ns, *args, input=None, check=True) -> subprocess.CompletedProcess:
    """Run the real nft inside namespace ``ns`` (never in the caller's)."""
    return subprocess.run(["nsenter", f"--net={ns.path}", "nft", *args], input=input,
                          text=True, capture_output=True, check=check)


def list_ruleset(ns) -> str:
    return nft(ns, "list", "ruleset").stdout


def list_ruleset_json(ns) -> dict:
    p = nft(ns, "-j", "list", "ruleset")
    assert p.stderr == "", p.stderr
    return json.loads(p.stdout)


def golden(name: str) -> str:
    with open(os.path.join(GOLDEN, name)) as f:
        return f.read()


# -- the reference ruleset: one of everything the issue lists ----------------

T = "libnet"


def tcp_dport(lo: int, hi: int | None = None) -> list:
    out = [Meta("l4proto"), Cmp("eq", bytes([6])), Payload("transport", 2, 2)]
    if hi is None:
        out.append(Cmp("eq", lo.to_bytes(2, "big")))
    else:
        out += [Cmp("gte", lo.to_bytes(2, "big")), Cmp("lte", hi.to_bytes(2, "big"))]
    return out


def reference_objects(family: str = "ip"):
    """(table, chains, sets, rules, {set name: elements}) for the golden ruleset."""
    f = family
    table = Table(T, f)
    chains = [
        Chain(T, "other", f),
        Chain(T, "pre", f, "nat", "prerouting", -100, "accept"),
        Chain(T, "fw", f, "filter", "forward", 0, "drop"),
        Chain(T, "postr", f, "nat", "postrouting", 100),
    ]
    sets = [
        Set(T, "ports", ("inet_proto", "inet_service"), ("ipv4_addr", "inet_service"), f),
        Set(T, "s4", "ipv4_addr", family=f, interval=True),
        Set(T, "c4", "ipv4_addr . inet_service", family=f, interval=True),
        Set(T, "vm", "ifname", "verdict", f),
        Set(T, "marks", "mark", family=f, timeout=60000),
    ]
    ip_saddr = Payload("network", 12, 4)
    ip_daddr = Payload("network", 16, 4)
    rules = [
        Rule(T, "pre", [Meta("l4proto"), Payload("transport", 2, 2, dreg=REG32[1]),
                        Lookup("ports", dreg=1),
                        Nat("dnat", "ip", reg_addr_min=1, reg_proto_min=REG32[1])], f),
        Rule(T, "pre", [Meta("l4proto"), Cmp("eq", b"\x06"),
                        Immediate((8080).to_bytes(2, "big")), Redir(reg_proto_min=1)], f),
        Rule(T, "fw", [Ct("state"), Bitwise(4, (6).to_bytes(4, "little"), bytes(4)),
                       Cmp("neq", bytes(4)), Immediate(Verdict("accept"))], f),
        Rule(T, "fw", [Meta("iifname"), Cmp("eq", b"eth0".ljust(16, b"\0")),
                       Meta("oifname"), Lookup("vm", dreg=0)], f),
        Rule(T, "fw", [ip_saddr, Lookup("s4"), Counter(), Immediate(Verdict("jump", "other"))],
             f),
        Rule(T, "fw", [Payload("network", 16, 1), Cmp("eq", b"\x0a"), *tcp_dport(1000, 2000),
                       Reject("tcp_rst")], f),
        Rule(T, "fw", [Meta("mark"), Cmp("eq", (0x10).to_bytes(4, "little")),
                       Immediate((0x20).to_bytes(4, "little")), Ct("mark", dreg=None, sreg=1)],
             f, comment="hello"),
        Rule(T, "fw", [Fib("type", ("daddr",)), Cmp("eq", (2).to_bytes(4, "little")),
                       Immediate(Verdict("drop"))], f),
        Rule(T, "fw", [Meta("l4proto"), Cmp("eq", b"\x11"),
                       Immediate(Verdict("goto", "other"))], f),
        Rule(T, "postr", [Payload("network", 12, 2), Cmp("eq", b"\xac\x11"), Meta("oifname"),
                          Cmp("neq", b"br0".ljust(16, b"\0")), Masq()], f),
        Rule(T, "postr", [ip_daddr, Cmp("eq", bytes([1, 2, 3, 4])), Meta("l4proto"),
                          Cmp("eq", b"\x11"), Payload("transport", 2, 2),
                          Cmp("eq", (53).to_bytes(2, "big")),
                          Immediate(bytes([5, 6, 7, 8]), dreg=1),
                          Immediate((1000).to_bytes(2, "big"), dreg=2),
                          Immediate((2000).to_bytes(2, "big"), dreg=3),
                          Nat("snat", "ip", 1, 1, 2, 3)], f),
    ]
    elements = {
        "ports": [Element((6, 8080), ("10.0.0.2", 80)), Element((17, 53), ("10.0.0.3", 5353))],
        "s4": [Element("10.0.0.0", key_end="10.255.255.255"), Element("192.168.1.1")],
        "c4": [Element(("10.1.0.0", 80), key_end=("10.1.255.255", 80))],
        "vm": [Element("eth1", Verdict("accept")), Element("eth2", Verdict("jump", "other"))],
        "marks": [Element(7, timeout=30000), Element(8)],
    }
    return table, chains, sets, rules, elements


def build_reference(sock: NftSocket, family: str = "ip") -> tuple:
    table, chains, sets, rules, elements = reference_objects(family)
    with sock.transaction() as tx:
        tx.add_table(table)
        for c in chains:
            tx.add_chain(c)
        for s in sets:
            tx.add_set(s)
        for r in rules:
            tx.add_rule(r)
        by_name = {s.name: s for s in sets}
        for name, els in elements.items():
            tx.add_elements(by_name[name], els)
    return table, chains, sets, rules, elements


import contextlib
import re

import pytest


@contextlib.contextmanager
def namespace(tmp_path, name: str = "nft"):
    """A fresh network namespace mounted under ``tmp_path``, deleted after."""
    run_dir = str(tmp_path / "netns")
    ns = netns.create(name, run_dir=run_dir)
    try:
        yield ns
    finally:
        ns.close()
        netns.delete(name, run_dir=run_dir)


def strip_expires(text: str) -> str:
    """`nft list` prints the time left on elements with timeouts: not stable."""
    return re.sub(r" expires [0-9a-z]+", "", text)


need_nft = pytest.mark.skipif(not HAVE_NFT, reason="the nft tool is not installed (test oracle)")
