"""Every kernel call of the bridge driver, on the host namespace's socket.

A veth is created with its peer already inside the sandbox's namespace and
up, in one RTM_NEWLINK: moving a link between namespaces afterwards would
wait for an RCU grace period (~16 ms).  It joins the bridge only once the
sandbox side is up (``attach``): a port enslaved while its carrier is off
stays disabled until linkwatch reports the carrier, asynchronously, and the
gratuitous ARP sent when the sandbox side comes up would be dropped.
Enslaved with the carrier on, the port forwards at once.

Host ends carry link group OWN_GROUP, so a restart can find the ones a
crash left behind whatever their state.  Many links are deleted in one
request by moving them to LEAK_GROUP first: one RTM_DELLINK by group waits
for one grace period instead of one each.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Iterable

from ... import sysctl
from ...netlink import NetlinkError, NetlinkNotFoundError, RouteSocket

__all__ = ["random_mac", "ensure_bridge", "delete_bridge", "add_endpoint_veth", "attach", "delete_links",
           "link_index", "garp_reply", "unsolicited_na", "refresh_neighbours", "OWN_GROUP",
           "LEAK_GROUP"]

# Link groups: libnet's host ends of veths, and links about to be deleted
# together.
OWN_GROUP = 0x6C6E    # "ln"
LEAK_GROUP = 0x6C6F


def random_mac() -> str:
    """A random unicast, locally administered MAC."""
    b = bytearray(os.urandom(6))
    b[0] = (b[0] & 0xFE) | 0x02
    return ":".join(f"{x:02x}" for x in b)


def link_index(host: RouteSocket, name: str) -> int | None:
    try:
        return host.link_get(name).index
    except NetlinkNotFoundError:
        return None


def ensure_bridge(host: RouteSocket, name: str, mtu: int | None,
                  gateways: Iterable[str], mcast_snooping: bool = False) -> tuple[int, bool]:
    """The bridge's index and whether this call created it.  A link of that
    name that is not a bridge is an error; an existing bridge is used as is
    (and kept when the network goes).

    A bridge made here has multicast snooping off unless asked for: with
    it on, each enslaved port (each join) makes the kernel re-arm two
    own-query timers on every port of the bridge (br_port_state_selection
    -> br_multicast_enable_port), and each of them fires, so a join costs
    more the more containers the bridge has.  Multicast is then flooded to
    every port, as it is anyway on a bridge without a querier once the
    members' reports expire."""
    created = False
    try:
        link = host.link_get(name)
        if link.kind != "bridge":
            raise ValueError(f"{name} exists and is a {link.kind or 'plain'} device, not a bridge")
    except NetlinkNotFoundError:
        # A MAC of its own (as Docker gives its bridges): otherwise the
        # bridge takes the lowest MAC among its ports, so the gateway's MAC
        # would change under the containers as ports come and go, and every
        # new port would make the kernel scan all the others for it.
        host.link_add(name, "bridge", mtu=mtu, mac=random_mac(), stp_state=0,
                      mcast_snooping=int(mcast_snooping), up=False)
        created = True
        link = host.link_get(name)
    b = host.batch()
    for cidr in gateways:
        b.addr_add(link.index, cidr, nodad=":" in cidr)
    try:
        b.send()
    except NetlinkError as e:
        # A pre-existing bridge may hold the gateway already: that is fine.
        real = [x for x in e.errors if x.errno != errno.EEXIST]
        if real:
            if created:
                delete_bridge(host, name)
            raise real[0]
    host.link_set(link.index, up=True)
    return link.index, created


def delete_bridge(host: RouteSocket, name: str) -> None:
    try:
        host.link_del(name)
    except NetlinkNotFoundError:
        pass


def add_endpoint_veth(host: RouteSocket, host_ifname: str, ifname: str, sandbox_fd: int,
                      mac: str, mtu: int | None) -> int | None:
    """Create the pair; return the sandbox side's index there (from the
    kernel's echo of the new link: its IFLA_LINK), or None.

    In the same send, the host end gets no IPv6 address generation: a
    bridge port needs no address of its own, and its link-local address
    would cost DAD, router solicitations and MLD reports that the bridge
    floods to every other port, so each new container would cost every
    container already there.  It takes effect before the carrier comes up
    (when the sandbox side does), so no address is ever made.  The kernel
    refuses IFLA_AF_SPEC in the creating request itself, and a setting
    changed on a link that is up is a NETDEV_CHANGE, on which IPv6 walks
    every route of the host's table (one per port): so the host end is
    made down, set, then brought up, in that one send.  If a step fails,
    the pair it made is deleted before the error goes up.

    Each end gets one queue, named in the request: the kernel's default
    (one per CPU, cut back to one active) waits for two RCU grace periods,
    0.2-0.3 ms of the pair's creation here (see link_add_veth)."""
    b = host.batch()
    b.link_add_veth(host_ifname, ifname, peer_netns=sandbox_fd, peer_mac=mac,
                    mtu=mtu, group=OWN_GROUP, up=not sysctl.HAS_IPV6, queues=1, echo=True)
    if sysctl.HAS_IPV6:
        b.link_set(host_ifname, addr_gen_mode="none")
        b.link_set(host_ifname, up=True)
    try:
        replies = b.send()[0]
    except NetlinkError as e:
        # rtnetlink runs every request of a batch: the veth exists unless
        # its own request is among the failures.
        if all(x.index != 0 for x in e.errors):
            delete_links(host, [host_ifname])
        raise
    for link in replies or ():
        if getattr(link, "name", None) == host_ifname:
            return link.link
    return None


def attach(host: RouteSocket, host_ifname: str, bridge_index: int) -> None:
    host.link_set(host_ifname, master=bridge_index)


_ARP_REPLY = struct.pack("!HHHBBH", 0x0806, 1, 0x0800, 6, 4, 2)   # ethertype, Ethernet/IPv4, reply
_BROADCAST = b"\xff" * 6


def garp_reply(mac: str, ipv4: str) -> bytes:
    """A broadcast gratuitous ARP reply announcing ``ipv4`` at ``mac``:
    sender and target address both ``ipv4``, sender and target hardware
    address both ``mac`` (Linux's arp_is_garp takes a reply as gratuitous
    only then, and only a gratuitous one overrides an entry updated less
    than locktime ago).  Receivers update an entry they hold for the
    address; for a reply they skip the route lookup a request costs each."""
    m = bytes.fromhex(mac.replace(":", ""))
    a = socket.inet_aton(ipv4)
    return _BROADCAST + m + _ARP_REPLY + m + a + m + a


_ALL_NODES = socket.inet_pton(socket.AF_INET6, "ff02::1")
_ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
_NA_LENGTH = 32                  # the advertisement (24 bytes) and its target MAC option (8)


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def unsolicited_na(mac: str, ipv6: str) -> bytes:
    """An unsolicited neighbour advertisement of ``ipv6`` at ``mac`` to all
    nodes (RFC 4861 7.2.6), as the kernel's ndisc_notify sends it: from the
    address itself, hop limit 255, the override flag set, the target's MAC
    in an option.  Receivers update an entry they hold for the address
    (stale), and create none."""
    m = bytes.fromhex(mac.replace(":", ""))
    a = socket.inet_pton(socket.AF_INET6, ipv6)
    body = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + a + bytes((2, 1)) + m
    pseudo = a + _ALL_NODES + struct.pack("!IxxxB", _NA_LENGTH, 58)
    body = body[:2] + struct.pack("!H", _checksum(pseudo + body)) + body[4:]
    header = struct.pack("!IHBB", 6 << 28, _NA_LENGTH, 58, 255) + a + _ALL_NODES
    return _ALL_NODES_MAC + m + b"\x86\xdd" + header + body


def refresh_neighbours(host: RouteSocket, bridge_index: int, addresses: Iterable[str],
                       mac: str) -> list[NetlinkError]:
    """The host's own entries for ``addresses`` (IPv4, IPv6) on the bridge,
    those it has, now point at ``mac`` (stale: confirmed on next use); one
    send.  None is created: an entry per container would overflow
    gc_thresh3.  Returns the failures other than "no such entry" (the
    usual answer: nothing is raised for it)."""
    b = host.batch()
    for address in addresses:
        b.neigh_change(address, mac, bridge_index, state="stale")
    try:
        results = b.send(check=False)
    except NetlinkError as e:            # the send itself
        return [e]
    return [r for r in results if isinstance(r, NetlinkError) and r.errno != errno.ENOENT]


def delete_links(host: RouteSocket, names: list[str]) -> None:
    """Delete links by name; gone already is fine.  One link: one request;
    several: regroup them, then one delete for the whole group."""
    if not names:
        return
    if len(names) == 1:
        try:
            host.link_del(names[0])
        except NetlinkNotFoundError:
            pass
        return
    b = host.batch()
    for n in names:
        b.link_set(n, group=LEAK_GROUP)
    try:
        b.send()
    except NetlinkError:
        pass                      # some were gone already
    try:
        host.link_del_group(LEAK_GROUP)
    except NetlinkNotFoundError:
        pass
