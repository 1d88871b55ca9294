"""The kernel requests of one container's join, pre-built as bytes.

The kernel baselines of the benchmarks (``libnet bench``'s ``kernel``
system and ``bench/test_bench_controller.py``) send these, with no object
layer, to measure the kernel's own cost of what libnet's bridge driver and
sandbox send; ``bench/test_bench_controller.py::test_same_requests`` checks
byte for byte that libnet sends the same.  In order:

1. host namespace, one send (``veth_messages``): ``veth_message`` (the veth,
   in libnet's link group, peer eth0 created inside the container's
   namespace, one queue per end, echoed), ``host_end_message`` (no IPv6
   address generation on the bridge port, set while it is down) and the
   host end up;
2. container namespace, one send: ``sandbox_messages`` (lo up, eth0's
   IPv6 address generation off, the address, eth0 up, the default route);
3. host namespace: ``attach_message`` (the host end joins the bridge).

The benchmarks' addresses have the MAC derived from them, on bridges of
their own, so libnet's bridge driver announces none of them.  Where it
does (a custom MAC, an address once held with one, a bridge libnet did not
make), it sends ``announce_frame`` on the bridge from an AF_PACKET socket
(the gratuitous ARP reply), then ``neighbour_message`` (the host's own
entry for the address changed, if it has one: ENOENT otherwise).

``announce_message`` is the announcement libnet used before: eth0's MAC set
to itself, on which the kernel's arp_notify floods a gratuitous request
(``bench/kernel_steps.py`` and ``bench/announce.py`` time it).
"""

from __future__ import annotations

import ipaddress
import struct

from .. import _netlink as nl
from ..sysctl import HAS_IPV6
from ..drivers.bridge.kernel import OWN_GROUP, garp_reply, random_mac

__all__ = ["ETH0_INDEX", "LO_INDEX", "ARP_NOTIFY_CONF", "mac_of", "veth_message", "host_end_message",
           "veth_messages", "sandbox_messages", "attach_message", "announce_frame",
           "neighbour_message", "announce_message", "make_bridge"]

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


def veth_message(host_ifname: str, mac: str, ns_fd: int, queues: int | None = 1,
                 up: bool = True) -> bytes:
    """The veth, host end in libnet's link group (and ``up``), peer eth0 with
    ``mac`` created in the namespace of fd ``ns_fd``, ``queues`` TX and RX
    queues per end (None: the kernel's default, one per CPU cut back to one
    active, which waits for a grace period per end); the kernel echoes the
    new link."""
    q = {} if queues is None else {"num_tx_queues": queues, "num_rx_queues": queues}
    return nl.encode_message(
        ROUTE, nl.RTM_NEWLINK, CREATE | nl.NLM_F_ECHO,
        dict(_UP) if up else {"change": nl.IFF_UP, "flags": 0},       # (as link_add_veth)
        {"ifname": host_ifname, "group": OWN_GROUP, **q,
         "linkinfo": {"kind": "veth", "data": {"peer": {
             "ifname": "eth0", "address": mac, **q, "net_ns_fd": ns_fd}}}})


def host_end_message(host_ifname: str) -> bytes:
    """No IPv6 address generation on the host end (a bridge port)."""
    return nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {},
                             {"ifname": host_ifname,
                              "af_spec": {"inet6": {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}}})


def veth_messages(host_ifname: str, mac: str, ns_fd: int) -> list[bytes]:
    """The host namespace's send: the veth, and on a kernel with IPv6 the
    host end's setting made while it is down, then the host end up (see
    libnet.drivers.bridge.kernel.add_endpoint_veth)."""
    if not HAS_IPV6:
        return [veth_message(host_ifname, mac, ns_fd)]
    return [veth_message(host_ifname, mac, ns_fd, up=False), host_end_message(host_ifname),
            nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, dict(_UP), {"ifname": host_ifname})]


def sandbox_messages(address: str | ipaddress.IPv4Address, prefixlen: int,
                     gateway: str | ipaddress.IPv4Address) -> list[bytes]:
    """The first join's in-sandbox batch for an IPv4-only endpoint."""
    address, gateway = str(address), str(gateway)
    settings = [nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {"index": ETH0_INDEX},
                                  {"af_spec": {"inet6": {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}}})
                ] if HAS_IPV6 else []
    return [
        nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, dict(_UP), {"ifname": "lo"}),
        *settings,
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


def announce_frame(mac: str, address: str | ipaddress.IPv4Address) -> bytes:
    """The gratuitous ARP reply the bridge driver sends on the bridge."""
    return garp_reply(mac, str(address))


def neighbour_message(bridge_index: int, address: str | ipaddress.IPv4Address, mac: str) -> bytes:
    """The host's entry for the address, changed if it exists (``ip neigh
    change``; ENOENT, as a fresh host has none, otherwise)."""
    return nl.encode_message(ROUTE, nl.RTM_NEWNEIGH, nl.NLM_F_REPLACE,
                             {"family": nl.AF_INET, "ifindex": bridge_index, "flags": 0,
                              "state": nl.NUD_STALE},
                             {"dst": str(address), "lladdr": mac})


def announce_message(mac: str) -> bytes:
    """Before: eth0's MAC set to itself: NETDEV_CHANGEADDR, on which
    arp_notify (set on eth0) sends a gratuitous ARP request."""
    return nl.encode_message(ROUTE, nl.RTM_NEWLINK, 0, {"index": ETH0_INDEX}, {"address": mac})


def make_bridge(rs, name: str, gateway_cidr: str) -> int:
    """A bridge as the driver makes it (own MAC, STP and multicast snooping
    off), with the gateway address, up.  Returns its index."""
    rs.link_add(name, "bridge", stp_state=0, mcast_snooping=0, mac=random_mac())
    index = rs.link_get(name).index
    rs.addr_add(index, gateway_cidr)
    rs.link_set(index, up=True)
    return index
