"""The kernel requests of one container's join, pre-built as bytes.

The kernel baselines of the benchmarks (``libnet bench``'s ``kernel``
system and ``bench/test_bench_controller.py``) send these, with no object
layer, to measure the kernel's own cost of what libnet's bridge driver and
sandbox send; ``bench/test_bench_controller.py::test_same_requests`` checks
byte for byte that libnet sends the same.  In order:

1. host namespace, one send: ``veth_message`` (veth up, in libnet's link
   group, peer eth0 created inside the container's namespace, echoed) and
   ``host_end_message`` (no IPv6 address generation on the bridge port);
2. container namespace, one send: ``sandbox_messages`` (lo up, eth0's
   arp_notify on and IPv6 address generation off, the address, eth0 up,
   the default route);
3. host namespace: ``attach_message`` (the host end joins the bridge);
4. container namespace: ``announce_message`` (eth0's MAC set to itself:
   the gratuitous ARP, see libnet.sandbox).
"""

from __future__ import annotations

import ipaddress
import struct

from .. import _netlink as nl
from ..sysctl import HAS_IPV6
from ..drivers.bridge.kernel import OWN_GROUP, random_mac

__all__ = ["ETH0_INDEX", "LO_INDEX", "ARP_NOTIFY_CONF", "mac_of", "veth_message", "host_end_message",
           "veth_messages",
           "sandbox_messages", "attach_message", "announce_message", "make_bridge"]

ROUTE = nl.NETLINK_ROUTE
CREATE = nl.NLM_F_CREATE | nl.NLM_F_EXCL
REPLACE = nl.NLM_F_CREATE | nl.NLM_F_REPLACE
LO_INDEX, ETH0_INDEX = 1, 2    # a new namespace numbers lo 1 and its next link 2
_UP = {"change": nl.IFF_UP, "flags": nl.IFF_UP}
# IFLA_INET_CONF as RTM_SETLINK takes it: arp_notify = 1.
ARP_NOTIFY_CONF = struct.pack("=HHI", 8, nl.IPV4_DEVCONF_ARP_NOTIFY, 1)


def mac_of(address: str | ipaddress.IPv4Address) -> str:
    """Docker's MAC for an IPv4 address (what libnet's bridge driver uses)."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(address).packed)


def veth_message(host_ifname: str, mac: str, ns_fd: int) -> bytes:
    """The veth, host end up in libnet's link group, peer eth0 with ``mac``
    created in the namespace of fd ``ns_fd``; the kernel echoes the new link."""
    return nl.encode_message(
        ROUTE, nl.RTM_NEWLINK, CREATE | nl.NLM_F_ECHO, dict(_UP),
        {"ifname": host_ifname, "group": OWN_GROUP,
         "linkinfo": {"kind": "veth", "data": {"peer": {
             "ifname": "eth0", "address": mac, "net_ns_fd": ns_fd}}}})


def host_end_message(host_ifname: str) -> bytes:
    """No IPv6 address generation on the host end (a bridge port)."""
    return nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {},
                             {"ifname": host_ifname,
                              "af_spec": {"inet6": {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}}})


def veth_messages(host_ifname: str, mac: str, ns_fd: int) -> list[bytes]:
    """The host namespace's send: the veth, and the host end's setting (on
    a kernel with IPv6)."""
    out = [veth_message(host_ifname, mac, ns_fd)]
    if HAS_IPV6:
        out.append(host_end_message(host_ifname))
    return out


def sandbox_messages(address: str | ipaddress.IPv4Address, prefixlen: int,
                     gateway: str | ipaddress.IPv4Address) -> list[bytes]:
    """The first join's in-sandbox batch for an IPv4-only endpoint."""
    address, gateway = str(address), str(gateway)
    return [
        nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, dict(_UP), {"ifname": "lo"}),
        nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {"index": ETH0_INDEX},
                          {"af_spec": {"inet": {"conf": ARP_NOTIFY_CONF},
                                       **({"inet6": {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}}
                                          if HAS_IPV6 else {})}}),
        nl.encode_message(ROUTE, nl.RTM_NEWADDR, CREATE,
                          {"family": nl.AF_INET, "prefixlen": prefixlen, "index": ETH0_INDEX,
                           "scope": 0, "flags": 0},
                          {"local": address, "address": address}),
        nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {**_UP, "index": ETH0_INDEX}, {}),
        nl.encode_message(ROUTE, nl.RTM_NEWROUTE, REPLACE,
                          {"family": nl.AF_INET, "dst_len": 0, "table": nl.RT_TABLE_MAIN,
                           "protocol": nl.RTPROT_BOOT, "scope": nl.RT_SCOPE_UNIVERSE,
                           "type": nl.RTN_UNICAST, "flags": 0},
                          {"gateway": gateway, "oif": ETH0_INDEX}),
    ]


def attach_message(host_ifname: str, bridge_index: int) -> bytes:
    """The host end joins the bridge once eth0 is up."""
    return nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {},
                             {"ifname": host_ifname, "master": bridge_index})


def announce_message(mac: str) -> bytes:
    """eth0's MAC set to itself: NETDEV_CHANGEADDR, on which arp_notify sends
    the gratuitous ARP."""
    return nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {"index": ETH0_INDEX}, {"address": mac})


def make_bridge(rs, name: str, gateway_cidr: str) -> int:
    """A bridge as the driver makes it (own MAC, STP off), with the
    gateway address, up.  Returns its index."""
    rs.link_add(name, "bridge", stp_state=0, mac=random_mac())
    index = rs.link_get(name).index
    rs.addr_add(index, gateway_cidr)
    rs.link_set(index, up=True)
    return index
