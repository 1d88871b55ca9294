"""libnet's nf_tables layout: one ``inet libnet`` table, fixed chains, and
every per-network and per-container fact as an element of a set or map.

Why one inet table: a dual-stack container's ports go into one transaction
(all or none across both families), and one forward chain serves both.
Rules that read IPv4 or IPv6 headers are guarded by ``meta nfproto``.

The ruleset (as ``nft list ruleset`` prints it; tests/golden/firewall/ has the
full listings of the standard scenarios)::

    table inet libnet {
      set bridges        { type ifname }              # every libnet bridge
      set nat_bridges    { type ifname }              # bridges of masqueraded/SNATed networks
      set internal       { type ifname }              # bridges of internal networks
      map intra          { type ifname . ifname : verdict }  # "br . br" : accept (ICC) | drop
      set subnets4, subnets6 { flags interval }       # every libnet network's subnets
      set masq4, masq6   { type ipv4_addr/ipv6_addr; flags interval }   # masqueraded subnets
      map snat4, snat6   { subnet : fixed host address; flags interval }
      map ports4         { type inet_proto . inet_service : ipv4_addr . inet_service }
      map ports4_ip      { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
      map ports6, ports6_ip   (the same with ipv6_addr)

      chain prerouting  { type nat hook prerouting priority dstnat
                          fib daddr type local jump published }
      chain output      { type nat hook output priority dstnat      (the host itself)
                          fib daddr type local jump published }
      chain published   { meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @ports4_ip
                          meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4
                          (and the two ip6 rules) }
      chain forward     { type filter hook forward priority filter; policy accept
                          ct state established,related accept
                          oifname @bridges ct status dnat accept     published ports, hairpin
                          iifname . oifname vmap @intra              same bridge: ICC
                          iifname @internal drop; oifname @internal drop
                          iifname @bridges oifname @bridges drop     isolation between networks
                          oifname @nat_bridges drop }                no direct routing into NATed networks
      chain postrouting { type nat hook postrouting priority srcnat
                          ip saddr 127.0.0.0/8 oifname @bridges masquerade     localhost -> container
                          ct status dnat oifname @bridges ip saddr @subnets4 masquerade   hairpin,
                              and a container reaching another network's published port
                          oifname != @bridges snat ip to ip saddr map @snat4
                          oifname != @bridges ip saddr @masq4 masquerade   (and ip6) }
    }

Per-packet cost is a fixed number of hash lookups whatever the number of
networks or ports; a change is a transaction of elements, never a chain
rewrite.  A published port is a map key, so a second mapping of the same
(protocol, host address, port) is refused by the kernel (EEXIST), never
silently shadowed by an earlier rule.

The hairpin rule matches the source subnet, not the input interface: with
br_netfilter a hairpin DNATed back onto its own bridge is bridged, and its
POSTROUTING hook runs with no input device (br_nf_post_routing).

Same-bridge traffic reaches the forward hook only through br_netfilter
(bridge-nf-call-iptables=1, in which case iifname and oifname are both the
bridge) or as a routed hairpin; ``intra`` decides it.  ICC off therefore
needs br_netfilter, as in Docker.
"""

from __future__ import annotations

import socket
import struct

from ..netlink import (Bitwise, Chain, Cmp, Ct, Fib, Immediate, Lookup, Masq, Meta, Nat, Payload,
                       Rule, Set, Table, Verdict)
from ..netlink.nft_expr import REG32, REG_1

__all__ = ["TABLE", "FAMILY", "table", "chains", "sets", "rules", "SETS"]

TABLE = "libnet"
FAMILY = "inet"

_F = FAMILY
_T = TABLE


def _set(name, key, data=None, interval=False) -> Set:
    return Set(_T, name, key, data, _F, interval=interval)


# Sets and maps, by role.
BRIDGES = _set("bridges", "ifname")
NAT_BRIDGES = _set("nat_bridges", "ifname")
INTERNAL = _set("internal", "ifname")
INTRA = _set("intra", "ifname . ifname", "verdict")
SUBNETS4 = _set("subnets4", "ipv4_addr", interval=True)
SUBNETS6 = _set("subnets6", "ipv6_addr", interval=True)
MASQ4 = _set("masq4", "ipv4_addr", interval=True)
MASQ6 = _set("masq6", "ipv6_addr", interval=True)
SNAT4 = _set("snat4", "ipv4_addr", "ipv4_addr", interval=True)
SNAT6 = _set("snat6", "ipv6_addr", "ipv6_addr", interval=True)
PORTS4 = _set("ports4", "inet_proto . inet_service", "ipv4_addr . inet_service")
PORTS4_IP = _set("ports4_ip", "ipv4_addr . inet_proto . inet_service",
                 "ipv4_addr . inet_service")
PORTS6 = _set("ports6", "inet_proto . inet_service", "ipv6_addr . inet_service")
PORTS6_IP = _set("ports6_ip", "ipv6_addr . inet_proto . inet_service",
                 "ipv6_addr . inet_service")

SETS = (BRIDGES, NAT_BRIDGES, INTERNAL, INTRA, SUBNETS4, SUBNETS6, MASQ4, MASQ6, SNAT4, SNAT6,
        PORTS4, PORTS4_IP, PORTS6, PORTS6_IP)

_RTN_LOCAL = 2                  # linux/rtnetlink.h, what `fib daddr type local` compares
_CT_ESTABLISHED_RELATED = 0x2 | 0x4   # NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | (IP_CT_RELATED)
_IPS_DST_NAT = 1 << 5           # linux/netfilter/nf_conntrack_common.h IPS_DST_NAT_BIT


def table() -> Table:
    return Table(_T, _F)


def chains() -> list[Chain]:
    return [
        Chain(_T, "prerouting", _F, "nat", "prerouting", -100),
        Chain(_T, "output", _F, "nat", "output", -100),
        Chain(_T, "published", _F),
        Chain(_T, "forward", _F, "filter", "forward", 0, "accept"),
        Chain(_T, "postrouting", _F, "nat", "postrouting", 100),
    ]


def sets() -> list[Set]:
    return list(SETS)


# -- expression helpers (each what nft itself emits for the same source)

def _nfproto(family: int) -> list:
    return [Meta("nfproto"), Cmp("eq", bytes([family]))]


_V4 = _nfproto(socket.AF_INET)       # NFPROTO_IPV4 == AF_INET (2)
_V6 = _nfproto(socket.AF_INET6)      # NFPROTO_IPV6 == AF_INET6 (10)


def _in_set(meta: str, s: Set, invert: bool = False) -> list:
    return [Meta(meta), Lookup(s.name, invert=invert)]


def _ct_bits(key: str, mask: int) -> list:
    m = struct.pack("=I", mask)
    return [Ct(key), Bitwise(4, m, bytes(4)), Cmp("neq", bytes(4))]


def _verdict(kind: str, chain: str | None = None) -> Immediate:
    return Immediate(Verdict(kind, chain))


def _reg(word: int) -> int:
    """The register of the 4-byte word ``word`` of a concatenation, named as
    the kernel dumps it: a 16-byte boundary is NFT_REG_1..4, else NFT_REG32_nn."""
    return REG_1 + word // 4 if word % 4 == 0 else REG32[word]


def _dnat(family: str, by_ip: bool, ports: Set) -> list:
    """dnat <family> to [<family> daddr .] meta l4proto . th dport map @ports."""
    addr_len = 4 if family == "ip" else 16
    addr_off = 16 if family == "ip" else 24
    # Concatenations load their first field into register 1 and each next
    # field into the next 4-byte register (nft's convention, see nft_expr).
    r = addr_len // 4
    out: list = list(_V4 if family == "ip" else _V6)
    if by_ip:
        out += [Payload("network", addr_off, addr_len, dreg=REG_1),
                Meta("l4proto", dreg=_reg(r)),
                Payload("transport", 2, 2, dreg=_reg(r + 1))]
    else:
        out += [Meta("l4proto", dreg=REG_1), Payload("transport", 2, 2, dreg=REG32[1])]
    out += [Lookup(ports.name, dreg=REG_1),
            Nat("dnat", family, reg_addr_min=REG_1, reg_proto_min=_reg(r))]
    return out


def rules() -> list[Rule]:
    def rule(chain, exprs):
        return Rule(_T, chain, exprs, _F)

    local = [Fib("type", ("daddr",)), Cmp("eq", struct.pack("=I", _RTN_LOCAL))]
    ip_saddr = Payload("network", 12, 4)
    ip6_saddr = Payload("network", 8, 16)
    return [
        rule("prerouting", [*local, _verdict("jump", "published")]),
        rule("output", [*local, _verdict("jump", "published")]),

        rule("published", _dnat("ip", True, PORTS4_IP)),
        rule("published", _dnat("ip", False, PORTS4)),
        rule("published", _dnat("ip6", True, PORTS6_IP)),
        rule("published", _dnat("ip6", False, PORTS6)),

        rule("forward", [*_ct_bits("state", _CT_ESTABLISHED_RELATED), _verdict("accept")]),
        rule("forward", [*_in_set("oifname", BRIDGES), *_ct_bits("status", _IPS_DST_NAT),
                         _verdict("accept")]),
        rule("forward", [Meta("iifname", dreg=REG_1), Meta("oifname", dreg=_reg(4)),
                         Lookup(INTRA.name, dreg=0)]),
        rule("forward", [*_in_set("iifname", INTERNAL), _verdict("drop")]),
        rule("forward", [*_in_set("oifname", INTERNAL), _verdict("drop")]),
        rule("forward", [*_in_set("iifname", BRIDGES), *_in_set("oifname", BRIDGES),
                         _verdict("drop")]),
        rule("forward", [*_in_set("oifname", NAT_BRIDGES), _verdict("drop")]),

        rule("postrouting", [*_V4, Payload("network", 12, 1), Cmp("eq", b"\x7f"),
                             *_in_set("oifname", BRIDGES), Masq()]),
        rule("postrouting", [*_V4, *_ct_bits("status", _IPS_DST_NAT),
                             *_in_set("oifname", BRIDGES), ip_saddr, Lookup(SUBNETS4.name),
                             Masq()]),
        rule("postrouting", [*_V6, *_ct_bits("status", _IPS_DST_NAT),
                             *_in_set("oifname", BRIDGES), ip6_saddr, Lookup(SUBNETS6.name),
                             Masq()]),
        rule("postrouting", [*_V4, *_in_set("oifname", BRIDGES, invert=True), ip_saddr,
                             Lookup(SNAT4.name, dreg=REG_1),
                             Nat("snat", "ip", reg_addr_min=REG_1)]),
        rule("postrouting", [*_V4, *_in_set("oifname", BRIDGES, invert=True), ip_saddr,
                             Lookup(MASQ4.name), Masq()]),
        rule("postrouting", [*_V6, *_in_set("oifname", BRIDGES, invert=True), ip6_saddr,
                             Lookup(SNAT6.name, dreg=REG_1),
                             Nat("snat", "ip6", reg_addr_min=REG_1)]),
        rule("postrouting", [*_V6, *_in_set("oifname", BRIDGES, invert=True), ip6_saddr,
                             Lookup(MASQ6.name), Masq()]),
    ]
