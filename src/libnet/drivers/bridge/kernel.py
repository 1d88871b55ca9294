"""Every kernel call of the bridge driver, on the host namespace's socket.

A veth is created with its peer already inside the sandbox's namespace,
enslaved to the bridge and up, in one RTM_NEWLINK: moving a link between
namespaces afterwards would wait for an RCU grace period (~16 ms).  Many
links are deleted in one request by giving them a link group first:
one RTM_DELLINK by group waits for one grace period instead of one each.
"""

from __future__ import annotations

import errno
from typing import Iterable

from ...netlink import NetlinkError, NetlinkExistsError, NetlinkNotFoundError, RouteSocket

__all__ = ["ensure_bridge", "delete_bridge", "add_endpoint_veth", "delete_links",
           "link_index", "LEAK_GROUP"]

# Link group used to delete many leaked links in one request.
LEAK_GROUP = 0x6C6E   # "ln"


def link_index(host: RouteSocket, name: str) -> int | None:
    try:
        return host.link_get(name).index
    except NetlinkNotFoundError:
        return None


def ensure_bridge(host: RouteSocket, name: str, mtu: int | None,
                  gateways: Iterable[str]) -> tuple[int, bool]:
    """The bridge's index and whether this call created it.  A link of that
    name that is not a bridge is an error; an existing bridge is used as is
    (and kept when the network goes)."""
    created = False
    try:
        link = host.link_get(name)
        if link.kind != "bridge":
            raise ValueError(f"{name} exists and is a {link.kind or 'plain'} device, not a bridge")
    except NetlinkNotFoundError:
        host.link_add(name, "bridge", mtu=mtu, stp_state=0, up=False)
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
                      mac: str, mtu: int | None, bridge_index: int) -> None:
    host.link_add_veth(host_ifname, ifname, peer_netns=sandbox_fd, peer_mac=mac, mtu=mtu,
                       master=bridge_index, up=True)


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
