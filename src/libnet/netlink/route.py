"""rtnetlink verbs shaped like ``ip``: links, addresses, routes, neighbours.

Every verb validates its arguments and builds its message before anything is
sent (bad input raises ValueError or TypeError and changes nothing), then
either sends it at once (``RouteSocket``) or queues it (``Batch``, from
``RouteSocket.batch()``), which sends everything queued in one syscall.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from typing import Any, Iterable, Iterator

from .. import _netlink as nl
from .. import netns as _netns
from .._netlink import Address, Link, Neighbour, NetlinkNotFoundError, Route

__all__ = ["RouteSocket", "Batch", "EventSocket", "LinkRef"]

LinkRef = "str | int"   # a link by name or index

_ROUTE = nl.NETLINK_ROUTE
_CREATE = nl.NLM_F_CREATE | nl.NLM_F_EXCL

_MACVLAN_MODES = {"private": nl.MACVLAN_MODE_PRIVATE, "vepa": nl.MACVLAN_MODE_VEPA,
                  "bridge": nl.MACVLAN_MODE_BRIDGE, "passthru": nl.MACVLAN_MODE_PASSTHRU,
                  "source": nl.MACVLAN_MODE_SOURCE}
_IPVLAN_MODES = {"l2": nl.IPVLAN_MODE_L2, "l3": nl.IPVLAN_MODE_L3, "l3s": nl.IPVLAN_MODE_L3S}
_SCOPES = {"universe": nl.RT_SCOPE_UNIVERSE, "global": nl.RT_SCOPE_UNIVERSE,
           "site": nl.RT_SCOPE_SITE, "link": nl.RT_SCOPE_LINK, "host": nl.RT_SCOPE_HOST,
           "nowhere": nl.RT_SCOPE_NOWHERE}
_ROUTE_TYPES = {"unicast": nl.RTN_UNICAST, "local": nl.RTN_LOCAL,
                "broadcast": nl.RTN_BROADCAST, "anycast": nl.RTN_ANYCAST,
                "multicast": nl.RTN_MULTICAST, "blackhole": nl.RTN_BLACKHOLE,
                "unreachable": nl.RTN_UNREACHABLE, "prohibit": nl.RTN_PROHIBIT,
                "throw": nl.RTN_THROW}
_PROTOCOLS = {"unspec": nl.RTPROT_UNSPEC, "redirect": nl.RTPROT_REDIRECT,
              "kernel": nl.RTPROT_KERNEL, "boot": nl.RTPROT_BOOT, "static": nl.RTPROT_STATIC}
_TABLES = {"main": nl.RT_TABLE_MAIN, "local": nl.RT_TABLE_LOCAL, "default": nl.RT_TABLE_DEFAULT}
_NUD = {"permanent": nl.NUD_PERMANENT, "noarp": nl.NUD_NOARP, "reachable": nl.NUD_REACHABLE,
        "stale": nl.NUD_STALE, "none": nl.NUD_NONE, "incomplete": nl.NUD_INCOMPLETE,
        "delay": nl.NUD_DELAY, "probe": nl.NUD_PROBE, "failed": nl.NUD_FAILED}
AF_INET, AF_INET6, AF_BRIDGE = nl.AF_INET, nl.AF_INET6, nl.AF_BRIDGE
_ADDR_GEN_MODES = {"eui64": nl.IN6_ADDR_GEN_MODE_EUI64, "none": nl.IN6_ADDR_GEN_MODE_NONE,
                   "stable_secret": nl.IN6_ADDR_GEN_MODE_STABLE_PRIVACY,
                   "random": nl.IN6_ADDR_GEN_MODE_RANDOM}
# net.ipv4.conf.<link>.<name> -> its IPV4_DEVCONF_* index (1-based).
IPV4_DEVCONF = {name[len("IPV4_DEVCONF_"):].lower(): value
                for name, value in nl._CONSTANTS.items() if name.startswith("IPV4_DEVCONF_")}
_FAMILIES = {None: nl.AF_UNSPEC, 4: AF_INET, 6: AF_INET6, "inet": AF_INET, "inet6": AF_INET6,
             "ipv4": AF_INET, "ipv6": AF_INET6}


def _family(value) -> int:
    try:
        return _FAMILIES[value]
    except (KeyError, TypeError):
        raise ValueError(f"unknown address family {value!r} (use 4 or 6)") from None


_NLA_U32 = struct.Struct("=HHI")


def _ipv4_conf(conf) -> bytes:
    """IFLA_INET_CONF as RTM_SETLINK takes it: one u32 attribute per setting,
    typed by its IPV4_DEVCONF_* index (dumps carry a plain array instead)."""
    out = bytearray()
    for key, value in conf.items():
        index = IPV4_DEVCONF.get(key.replace("-", "_")) if isinstance(key, str) else None
        if index is None:
            raise ValueError(f"unknown IPv4 interface setting {key!r}")
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"IPv4 setting {key} takes an unsigned 32-bit integer, not {value!r}")
        out += _NLA_U32.pack(8, index, value)
    return bytes(out)


def _pick(table: dict, value, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return table[value]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(table)}") from None


# Addresses are checked and packed by inet_pton (which the core's encoder
# takes as they are): the verbs sit on the join's path, where building
# ipaddress objects cost more than encoding the messages (addr_add took
# 17 us, 2 of them the encoding).  inet_pton accepts what ipaddress does
# (no leading zeros, no scope, no spaces).

def _packed(value) -> bytes:
    """An IP address (str, or an ipaddress / netaddr object) as 4 or 16 bytes."""
    text = value if isinstance(value, str) else str(value)
    try:
        return socket.inet_pton(AF_INET6 if ":" in text else AF_INET, text)
    except (OSError, ValueError):
        raise ValueError(f"invalid IP address {value!r}") from None


def _cidr(value) -> tuple[bytes, int]:
    """'ADDRESS/PREFIX' (or ADDRESS alone: a host prefix) as the packed
    address and the prefix length."""
    text = value if isinstance(value, str) else str(value)
    ip, slash, plen = text.partition("/")
    try:
        packed = socket.inet_pton(AF_INET6 if ":" in ip else AF_INET, ip)
        if slash and not (plen.isdigit() and plen.isascii()):     # a netmask, say
            iface = ipaddress.ip_interface(text)
            return iface.ip.packed, iface.network.prefixlen
    except (OSError, ValueError):
        packed = b""
    n = (int(plen) if slash else len(packed) * 8) if packed else -1
    if not 0 <= n <= len(packed) * 8:
        raise ValueError(f"invalid address {value!r} (expected ADDRESS/PREFIX)")
    return packed, n


def _prefix(value) -> tuple[bytes, int]:
    """A route's destination 'PREFIX/LENGTH' (no host bits set) as the packed
    prefix and its length."""
    try:
        packed, n = _cidr(value)
    except ValueError:
        raise ValueError(f"invalid destination {value!r}") from None
    host = len(packed) * 8 - n
    if host and int.from_bytes(packed, "big") & ((1 << host) - 1):
        raise ValueError(f"invalid destination {value!r}: host bits set")
    return packed, n


def _check_ifname(name: str, what: str = "interface name") -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, not {type(name).__name__}")
    raw = name.encode("utf-8", "surrogateescape")
    if not raw or len(raw) > 15 or any(c in name for c in "/ \t\n:\0") or name in (".", ".."):
        raise ValueError(f"invalid {what} {name!r} (1 to 15 bytes, no '/', ':' or spaces)")
    return name


class _Verbs:
    """Builds every rtnetlink request; subclasses decide when to send it."""

    def _submit(self, msg: bytes, op: str, keep: Any = None) -> Any:
        raise NotImplementedError

    def _resolve(self, link) -> int:
        raise NotImplementedError

    def _ns_fd(self, ns) -> tuple[int, Any]:
        """A descriptor for IFLA_NET_NS_FD, and what keeps it open."""
        if isinstance(ns, int) and not isinstance(ns, bool):
            return ns, None
        opened = _netns.open_netns(ns)
        return opened.fileno(), opened

    def _link_ref(self, link, hdr: dict, attrs: dict) -> str:
        if isinstance(link, bool):
            raise TypeError("a link is a name or an index")
        if isinstance(link, int):
            if link <= 0:
                raise ValueError(f"invalid link index {link}")
            hdr["index"] = link
            return f"#{link}"
        attrs["ifname"] = _check_ifname(link)
        return link

    # ------------------------------------------------------------------ links

    def link_add(self, name: str, kind: str, *, mtu: int | None = None,
                 mac: str | None = None, master: Any = None, up: bool = False,
                 txqlen: int | None = None, group: int | None = None,
                 link: Any = None, netns: Any = None, **data: Any):
        """Create a link of ``kind`` ('bridge', 'vxlan', 'macvlan', 'dummy', ...).

        ``link`` is the parent (macvlan, ipvlan, vlan, vxlan); ``data`` are the
        kind's own attributes (IFLA_INFO_DATA, e.g. ``stp_state=0``, ``id=42``);
        macvlan and ipvlan take ``mode`` by name ('bridge', 'l2', ...).
        """
        _check_ifname(name)
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"invalid link kind {kind!r}")
        if kind == "veth":
            raise ValueError("use link_add_veth() for veth pairs")
        if kind in ("macvlan", "macvtap") and isinstance(data.get("mode"), str):
            data["mode"] = _pick(_MACVLAN_MODES, data["mode"], "macvlan mode")
        if kind in ("ipvlan", "ipvtap") and isinstance(data.get("mode"), str):
            data["mode"] = _pick(_IPVLAN_MODES, data["mode"], "ipvlan mode")
        hdr: dict = {}
        attrs: dict = {"ifname": name}
        keep = self._common_link_attrs(hdr, attrs, mtu, mac, master, up, txqlen, group, netns)
        if link is not None:
            attrs["link"] = self._resolve(link)
        info: dict = {"kind": kind}
        if data:
            info["data"] = data
        attrs["linkinfo"] = info
        msg = nl.encode_message(_ROUTE, nl.RTM_NEWLINK, _CREATE, hdr, attrs)
        return self._submit(msg, f"link_add {name} ({kind})", keep)

    def _common_link_attrs(self, hdr, attrs, mtu, mac, master, up, txqlen, group, netns):
        if mtu is not None:
            attrs["mtu"] = mtu
        if mac is not None:
            attrs["address"] = mac
        if master is not None:
            attrs["master"] = self._resolve(master) if master else 0
        if txqlen is not None:
            attrs["txqlen"] = txqlen
        if group is not None:
            attrs["group"] = group
        if up is not None:
            hdr["change"] = nl.IFF_UP
            hdr["flags"] = nl.IFF_UP if up else 0
        keep = None
        if netns is not None:
            attrs["net_ns_fd"], keep = self._ns_fd(netns)
        return keep

    def link_add_veth(self, name: str, peer: str, peer_netns: Any = None, *,
                      mtu: int | None = None, mac: str | None = None,
                      peer_mac: str | None = None, master: Any = None,
                      up: bool = False,
                      txqlen: int | None = None, group: int | None = None,
                      peer_group: int | None = None, queues: int | None = None,
                      echo: bool = False):
        """Create a veth pair; the peer is created directly in ``peer_netns``.

        Creating the peer inside its namespace avoids moving it later, which
        costs an RCU grace period (~16 ms) per link.  Both ends take an MTU,
        a MAC and a group in this one request; ``up`` brings up this end.
        With ``echo`` the kernel answers with the new link (NLM_F_ECHO):
        its ``link`` is the peer's index inside ``peer_netns``, so requests
        there can name the peer without a lookup.  The
        peer cannot come up in the same request (veth_open refuses with
        ENOTCONN until the pair is registered): bring it up from a socket in
        its namespace, where its addresses are added anyway.

        ``queues`` sets the number of TX and RX queues of both ends.  Left
        out, the kernel gives each end one queue per possible CPU, then
        cuts the active ones back to one in the same request, and that cut
        waits for an RCU grace period per end (``synchronize_net`` in
        ``netif_set_real_num_tx_queues``): 0.2-0.3 ms of a pair's creation
        here.  ``queues=1`` makes the same one active queue without the wait,
        but leaves no spare queue to enable later (``ethtool -L``).
        """
        _check_ifname(name)
        _check_ifname(peer, "peer name")
        if queues is not None and (isinstance(queues, bool) or not isinstance(queues, int)
                                   or not 1 <= queues <= 4096):
            raise ValueError(f"invalid number of queues {queues!r} (1-4096)")
        hdr: dict = {}
        attrs: dict = {"ifname": name}
        keep = self._common_link_attrs(hdr, attrs, mtu, mac, master, up, txqlen, group, None)
        if queues is not None:
            attrs["num_tx_queues"] = attrs["num_rx_queues"] = queues
        peer_attrs: dict = {"ifname": peer}
        if mtu is not None:
            peer_attrs["mtu"] = mtu
        if peer_mac is not None:
            peer_attrs["address"] = peer_mac
        if peer_group is not None:
            peer_attrs["group"] = peer_group
        if txqlen is not None:
            peer_attrs["txqlen"] = txqlen
        if queues is not None:
            peer_attrs["num_tx_queues"] = peer_attrs["num_rx_queues"] = queues
        if peer_netns is not None:
            peer_attrs["net_ns_fd"], keep2 = self._ns_fd(peer_netns)
            keep = (keep, keep2)
        attrs["linkinfo"] = {"kind": "veth", "data": {"peer": peer_attrs}}
        flags = _CREATE | (nl.NLM_F_ECHO if echo else 0)
        msg = nl.encode_message(_ROUTE, nl.RTM_NEWLINK, flags, hdr, attrs)
        return self._submit(msg, f"link_add_veth {name} peer {peer}", keep)

    def link_set(self, link, *, up: bool | None = None, mtu: int | None = None,
                 mac: str | None = None, master: Any = None, nomaster: bool = False,
                 netns: Any = None, name: str | None = None, txqlen: int | None = None,
                 alias: str | None = None, group: int | None = None,
                 ipv4_conf: dict[str, int] | None = None, addr_gen_mode: str | int | None = None):
        """Change a link: up/down, MTU, MAC, master (``nomaster=True`` to
        release), namespace, name, txqlen, alias, group.

        ``ipv4_conf`` sets the link's ``net.ipv4.conf.<link>.*`` values
        ({"arp_notify": 1, ...}) and ``addr_gen_mode`` its IPv6 address
        generation ('eui64', 'none', 'stable_secret', 'random'; 'none' before
        the link comes up: no link-local address, so no DAD, router or MLD
        traffic) through netlink, without /proc/sys.  The kernel applies them
        after the flags of the same request."""
        hdr: dict = {}
        attrs: dict = {}
        if name is not None:
            _check_ifname(name, "new name")
            if not isinstance(link, int):
                link = self._resolve(link)
        ref = self._link_ref(link, hdr, attrs)
        if name is not None:
            attrs["ifname"] = name
        if nomaster:
            master = 0
        elif master is not None and not master:
            raise ValueError("master must name a link; use nomaster=True to release")
        keep = self._common_link_attrs(hdr, attrs, mtu, mac, None, up, txqlen, group, netns)
        if master is not None:
            attrs["master"] = self._resolve(master) if master else 0
        if alias is not None:
            attrs["ifalias"] = alias
        af: dict = {}
        if ipv4_conf:
            af["inet"] = {"conf": _ipv4_conf(ipv4_conf)}
        if addr_gen_mode is not None:
            af["inet6"] = {"addr_gen_mode": _pick(_ADDR_GEN_MODES, addr_gen_mode,
                                                  "IPv6 address generation mode")}
        if af:
            attrs["af_spec"] = af
        if len(attrs) + len(hdr) <= 1 and "change" not in hdr:
            raise ValueError("link_set: nothing to change")
        msg = nl.encode_message(_ROUTE, nl.RTM_NEWLINK, 0, hdr, attrs)
        return self._submit(msg, f"link_set {ref}", keep)

    def link_del(self, link):
        """Delete a link (a veth's peer goes with it)."""
        hdr: dict = {}
        attrs: dict = {}
        ref = self._link_ref(link, hdr, attrs)
        msg = nl.encode_message(_ROUTE, nl.RTM_DELLINK, 0, hdr, attrs)
        return self._submit(msg, f"link_del {ref}")

    def link_del_group(self, group: int):
        """Delete every link in ``group`` in one request.

        The kernel unregisters them together and waits for one RCU grace
        period, instead of one per RTM_DELLINK.
        """
        if not isinstance(group, int) or isinstance(group, bool) or group <= 0:
            raise ValueError(f"invalid link group {group!r} (a positive integer)")
        msg = nl.encode_message(_ROUTE, nl.RTM_DELLINK, 0, {}, {"group": group})
        return self._submit(msg, f"link_del group {group}")

    # --------------------------------------------------------------- addresses

    def _addr_msg(self, msg_type: int, flags: int, link, address, *, broadcast=None,
                  label: str | None = None, scope=None, nodad: bool = False,
                  noprefixroute: bool = False, peer=None):
        ip, prefixlen = _cidr(address)
        index = self._resolve(link)
        family = AF_INET if len(ip) == 4 else AF_INET6
        ifa_flags = 0
        if nodad:
            ifa_flags |= nl.IFA_F_NODAD
        if noprefixroute:
            ifa_flags |= nl.IFA_F_NOPREFIXROUTE
        hdr = {"family": family, "prefixlen": prefixlen, "index": index,
               "scope": _pick(_SCOPES, scope, "scope") if scope is not None else 0,
               "flags": ifa_flags & 0xFF}
        attrs: dict = {"local": ip, "address": _packed(peer) if peer is not None else ip}
        if label is not None:
            attrs["label"] = label
        if broadcast is not None:
            if family != AF_INET:
                raise ValueError("broadcast addresses are IPv4 only")
            attrs["broadcast"] = (
                ipaddress.IPv4Network((ip, prefixlen), strict=False).broadcast_address.packed
                if broadcast in ("+", True) else _packed(broadcast))
        if ifa_flags > 0xFF:
            attrs["flags"] = ifa_flags
        return (nl.encode_message(_ROUTE, msg_type, flags, hdr, attrs),
                f"{socket.inet_ntop(family, ip)}/{prefixlen}")

    def addr_add(self, link, address, **opts):
        """Add ``address`` ('10.0.0.2/24', 'fd00::2/64') to ``link``.

        Options: ``broadcast`` ('+' to compute it), ``label``, ``scope``,
        ``nodad`` (skip IPv6 duplicate address detection), ``noprefixroute``,
        ``peer``.
        """
        msg, text = self._addr_msg(nl.RTM_NEWADDR, _CREATE, link, address, **opts)
        return self._submit(msg, f"addr_add {text} dev {link}")

    def addr_del(self, link, address):
        msg, text = self._addr_msg(nl.RTM_DELADDR, 0, link, address)
        return self._submit(msg, f"addr_del {text} dev {link}")

    # ------------------------------------------------------------------ routes

    def _route_msg(self, msg_type: int, flags: int, dst, *, gateway=None, dev=None,
                   table=None, metric: int | None = None, scope=None, type="unicast",
                   prefsrc=None, protocol=None, family=None, onlink: bool = False,
                   mtu: int | None = None):
        rtype = _pick(_ROUTE_TYPES, type, "route type")
        if dst in (None, "default"):
            if family is None and gateway is not None:
                family = 4 if len(_packed(gateway)) == 4 else 6
            fam = _family(family if family is not None else 4)
            net = None
            dst_len = 0
        else:
            net, dst_len = _prefix(dst)
            fam = AF_INET if len(net) == 4 else AF_INET6
        attrs: dict = {}
        if net is not None:
            attrs["dst"] = net
        if gateway is not None:
            gw = _packed(gateway)
            if (len(gw) == 4) != (fam == AF_INET):
                raise ValueError(f"gateway {gateway} is not in the family of {dst}")
            attrs["gateway"] = gw
        if dev is not None:
            attrs["oif"] = self._resolve(dev)
        if metric is not None:
            attrs["priority"] = metric
        if prefsrc is not None:
            attrs["prefsrc"] = _packed(prefsrc)
        if mtu is not None:
            attrs["metrics"] = {"mtu": mtu}
        tbl = _pick(_TABLES, table, "table") if table is not None else nl.RT_TABLE_MAIN
        if tbl > 255:
            attrs["table"] = tbl
        if scope is None:
            if rtype in (nl.RTN_LOCAL,):
                scope_v = nl.RT_SCOPE_HOST
            elif rtype == nl.RTN_UNICAST and gateway is None and dev is not None and msg_type == nl.RTM_NEWROUTE:
                scope_v = nl.RT_SCOPE_LINK
            elif msg_type == nl.RTM_DELROUTE:
                scope_v = nl.RT_SCOPE_NOWHERE
            else:
                scope_v = nl.RT_SCOPE_UNIVERSE
        else:
            scope_v = _pick(_SCOPES, scope, "scope")
        if protocol is None:
            proto = nl.RTPROT_BOOT if msg_type == nl.RTM_NEWROUTE else nl.RTPROT_UNSPEC
        else:
            proto = _pick(_PROTOCOLS, protocol, "route protocol")
        hdr = {"family": fam, "dst_len": dst_len, "table": tbl if tbl <= 255 else 252,
               "protocol": proto, "scope": scope_v, "type": rtype,
               "flags": nl.RTNH_F_ONLINK if onlink else 0}
        text = "default" if net is None else f"{socket.inet_ntop(fam, net)}/{dst_len}"
        return nl.encode_message(_ROUTE, msg_type, flags, hdr, attrs), text

    def route_add(self, dst, **opts):
        """Add a route: ``dst`` is 'default' or a prefix; options ``gateway``,
        ``dev``, ``table``, ``metric``, ``scope``, ``type``, ``prefsrc``,
        ``protocol``, ``family`` (for 'default' without a gateway), ``onlink``,
        ``mtu``."""
        msg, text = self._route_msg(nl.RTM_NEWROUTE, _CREATE, dst, **opts)
        return self._submit(msg, f"route_add {text}")

    def route_replace(self, dst, **opts):
        msg, text = self._route_msg(nl.RTM_NEWROUTE, nl.NLM_F_CREATE | nl.NLM_F_REPLACE, dst, **opts)
        return self._submit(msg, f"route_replace {text}")

    def route_del(self, dst, **opts):
        msg, text = self._route_msg(nl.RTM_DELROUTE, 0, dst, **opts)
        return self._submit(msg, f"route_del {text}")

    # -------------------------------------------------------------- neighbours

    def _neigh_msg(self, msg_type: int, flags: int, dst, lladdr, dev, *, state="permanent",
                   fdb: bool = False, master: bool = False, vlan: int | None = None,
                   vni: int | None = None, port: int | None = None, router: bool = False):
        index = self._resolve(dev)
        attrs: dict = {}
        ntf = 0
        if fdb:
            # A bridge forwarding entry: keyed by MAC, optionally pointing at a
            # remote IP (VXLAN); NTF_SELF programs the device's own table.
            family = AF_BRIDGE
            if lladdr is None:
                raise ValueError("an FDB entry needs lladdr")
            attrs["lladdr"] = lladdr
            if dst is not None:
                attrs["dst"] = _packed(dst)
            ntf |= nl.NTF_MASTER if master else nl.NTF_SELF
            text = f"fdb {lladdr}"
        else:
            addr = _packed(dst)
            family = AF_INET if len(addr) == 4 else AF_INET6
            attrs["dst"] = addr
            if lladdr is not None:
                attrs["lladdr"] = lladdr
            text = socket.inet_ntop(family, addr)
        if router:
            ntf |= nl.NTF_ROUTER
        if vlan is not None:
            attrs["vlan"] = vlan
        if vni is not None:
            attrs["vni"] = vni
        if port is not None:
            attrs["port"] = port
        hdr = {"family": family, "ifindex": index, "flags": ntf,
               "state": _pick(_NUD, state, "neighbour state")}
        return nl.encode_message(_ROUTE, msg_type, flags, hdr, attrs), text

    def neigh_add(self, dst, lladdr, dev, **opts):
        """Add a neighbour (``dst`` IP -> ``lladdr`` on ``dev``), or with
        ``fdb=True`` a bridge/VXLAN forwarding entry for MAC ``lladdr`` (``dst``
        then is the remote VTEP's IP, or None)."""
        msg, text = self._neigh_msg(nl.RTM_NEWNEIGH, _CREATE, dst, lladdr, dev, **opts)
        return self._submit(msg, f"neigh_add {text} dev {dev}")

    def neigh_replace(self, dst, lladdr, dev, **opts):
        msg, text = self._neigh_msg(nl.RTM_NEWNEIGH, nl.NLM_F_CREATE | nl.NLM_F_REPLACE,
                                    dst, lladdr, dev, **opts)
        return self._submit(msg, f"neigh_replace {text} dev {dev}")

    def neigh_change(self, dst, lladdr, dev, **opts):
        """Change an existing neighbour (``ip neigh change``); ENOENT
        (FileNotFoundError) if there is none: nothing is created."""
        msg, text = self._neigh_msg(nl.RTM_NEWNEIGH, nl.NLM_F_REPLACE, dst, lladdr, dev, **opts)
        return self._submit(msg, f"neigh_change {text} dev {dev}")

    def neigh_del(self, dst, dev, lladdr=None, **opts):
        msg, text = self._neigh_msg(nl.RTM_DELNEIGH, 0, dst, lladdr, dev, **opts)
        return self._submit(msg, f"neigh_del {text} dev {dev}")


class RouteSocket(_Verbs):
    """An rtnetlink socket in a network namespace, with verbs shaped like ``ip``.

    ``netns`` is a NetNS, a namespace name (under the run directory), a path,
    a file descriptor, or None for the caller's namespace.  The socket stays
    in that namespace for its whole life, whatever the thread does after.
    """

    def __init__(self, netns: Any = None):
        if netns is None:
            self._sock = nl.NetlinkSocket(_ROUTE)
        else:
            with _netns.open_netns(netns) as ns:
                self._sock = nl.NetlinkSocket(_ROUTE, netns=ns.fileno())
        self._index_cache: dict[str, int] = {}

    @classmethod
    def over(cls, sock: Any) -> "RouteSocket":
        """The verbs over an open core socket, or over a stand-in with its
        ``request``, ``batch``, ``dump`` and ``close`` (libnet.hostops.RecordingHost)."""
        self = cls.__new__(cls)
        self._sock = sock
        self._index_cache = {}
        return self

    @property
    def socket(self) -> nl.NetlinkSocket:
        """The underlying core socket (raw requests, batches of pre-built bytes)."""
        return self._sock

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "RouteSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _submit(self, msg: bytes, op: str, keep: Any = None):
        return self._sock.request(msg, op)

    def _resolve(self, link) -> int:
        if isinstance(link, bool):
            raise TypeError("a link is a name or an index")
        if isinstance(link, int):
            if link <= 0:
                raise ValueError(f"invalid link index {link}")
            return link
        return self.link_get(link).index

    def batch(self) -> "Batch":
        """A context whose verbs queue requests, sent together when it exits.

        Nothing is sent if the block raises.  If a request fails, the others
        still run (rtnetlink does not stop at a failure) and the NetlinkError
        of the first failure names its operation; ``errors`` lists them all.
        """
        return Batch(self)

    # ------------------------------------------------------------------ reads

    def link_get(self, link, *, ext_mask: int = 0) -> Link:
        """One link by name or index (NetlinkNotFoundError if there is none).

        ``ext_mask`` is IFLA_EXT_MASK (RTEXT_FILTER_*), as for link_dump.
        """
        hdr: dict = {}
        attrs: dict = {"ext_mask": ext_mask} if ext_mask else {}
        ref = self._link_ref(link, hdr, attrs)
        msg = nl.encode_message(_ROUTE, nl.RTM_GETLINK, 0, hdr, attrs)
        replies = self._sock.request(msg, f"link_get {ref}")
        if not replies or not isinstance(replies[0], Link):
            raise NetlinkNotFoundError(errno.ENODEV, None, f"link_get {ref}")
        return replies[0]

    def link_dump(self, *, kind: str | None = None, master: Any = None,
                  ext_mask: int = 0) -> list[Link]:
        """Every link, or those of ``kind`` / enslaved to ``master`` (filtered
        by the kernel).

        ``ext_mask`` is IFLA_EXT_MASK (RTEXT_FILTER_*; `ip link` sends
        RTEXT_FILTER_VF).  RTEXT_FILTER_SKIP_STATS leaves the IPv6
        per-interface statistics out of IFLA_AF_SPEC, a quarter of the bytes
        of a veth's message; the link's own counters (``stats``) are always
        sent.
        """
        attrs: dict = {"ext_mask": ext_mask} if ext_mask else {}
        if master is not None:
            attrs["master"] = self._resolve(master)
        if kind is not None:
            attrs["linkinfo"] = {"kind": kind}
        msg = nl.encode_message(_ROUTE, nl.RTM_GETLINK, 0, {}, attrs)
        return self._sock.dump(msg, "link_dump")

    def addr_dump(self, family=None, link: Any = None) -> list[Address]:
        """Addresses, of one family (4 or 6) and/or one link."""
        hdr = {"family": _family(family)}
        if link is not None:
            hdr["index"] = self._resolve(link)
        msg = nl.encode_message(_ROUTE, nl.RTM_GETADDR, 0, hdr, {})
        return self._sock.dump(msg, "addr_dump")

    def route_dump(self, family=None, table=None) -> list[Route]:
        """Routes of one family (4 or 6, default both) in ``table`` (default
        main; 'all' or 0 for every table)."""
        hdr = {"family": _family(family)}
        want = None
        if table != "all":
            want = _pick(_TABLES, table, "table") if table is not None else nl.RT_TABLE_MAIN
        msg = nl.encode_message(_ROUTE, nl.RTM_GETROUTE, 0, hdr, {})
        routes = self._sock.dump(msg, "route_dump")
        if want:
            routes = [r for r in routes if r.table == want]
        return routes

    def neigh_dump(self, family=None, dev: Any = None, fdb: bool = False) -> list[Neighbour]:
        """Neighbours (or, with ``fdb=True``, bridge forwarding entries)."""
        hdr = {"family": AF_BRIDGE if fdb else _family(family)}
        attrs: dict = {}
        if dev is not None:
            # Strict dump checking takes the device as NDA_IFINDEX (a bridge
            # port for FDB dumps), never in the header.
            attrs["ifindex"] = self._resolve(dev)
        msg = nl.encode_message(_ROUTE, nl.RTM_GETNEIGH, 0, hdr, attrs)
        return self._sock.dump(msg, "neigh_dump")


class Batch(_Verbs):
    """Requests queued by the verbs, sent in one syscall when the block exits.

    After the block, ``results`` holds each request's replies in order.
    """

    def __init__(self, owner: RouteSocket):
        self._owner = owner
        self._msgs: list[bytes] = []
        self._ops: list[str] = []
        self._keep: list[Any] = []
        self.results: list[list] | None = None

    def __len__(self) -> int:
        return len(self._msgs)

    def _submit(self, msg: bytes, op: str, keep: Any = None):
        self._msgs.append(msg)
        self._ops.append(op)
        if keep is not None:
            self._keep.append(keep)
        return None

    def _resolve(self, link) -> int:
        return self._owner._resolve(link)

    def add_raw(self, msg: bytes, op: str | None = None) -> None:
        """Queue a pre-built message (from ``encode_message``)."""
        self._submit(msg, op or "raw request")

    def send(self, check: bool = True) -> list:
        """Send what is queued now; the batch is then empty.  With ``check``
        false a failed request raises nothing: its entry of the result is
        its NetlinkError.  (Raising builds a traceback, and in Python 3.11 a
        traceback kept past its handler materialises every caller's frame;
        where failures are expected, as on the join's path, look instead.)"""
        msgs, ops = self._msgs, self._ops
        self._msgs, self._ops = [], []
        try:
            self.results = self._owner._sock.batch(msgs, ops, check) if msgs else []
        finally:
            for k in self._keep:
                for item in (k if isinstance(k, tuple) else (k,)):
                    if item is not None:
                        item.close()
            self._keep = []
        return self.results

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.send()
        else:
            for k in self._keep:
                for item in (k if isinstance(k, tuple) else (k,)):
                    if item is not None:
                        item.close()
            self._keep = []
            self._msgs, self._ops = [], []


class EventSocket:
    """Link, address, route and neighbour events of a namespace.

    ``groups`` names what to follow: 'link', 'addr' (IPv4 and IPv6), 'route'
    (both families), 'neigh'.  ``recv(timeout)`` returns parsed messages (the
    message ``type`` tells RTM_NEW* from RTM_DEL*); RESYNC in the list means
    events were lost and the caller should re-read state with a dump.
    """

    _GROUPS = {"link": (nl.RTNLGRP_LINK,),
               "addr": (nl.RTNLGRP_IPV4_IFADDR, nl.RTNLGRP_IPV6_IFADDR),
               "route": (nl.RTNLGRP_IPV4_ROUTE, nl.RTNLGRP_IPV6_ROUTE),
               "neigh": (nl.RTNLGRP_NEIGH,)}

    def __init__(self, groups: Iterable[str] = ("link", "addr", "route"), netns: Any = None,
                 rcvbuf: int | None = None):
        numbers: list[int] = []
        for g in groups:
            if g not in self._GROUPS:
                raise ValueError(f"unknown event group {g!r}; one of {', '.join(self._GROUPS)}")
            numbers.extend(self._GROUPS[g])
        kwargs = {} if rcvbuf is None else {"rcvbuf": rcvbuf}
        if netns is None:
            self._sock = nl.NetlinkSocket(_ROUTE, groups=numbers, **kwargs)
        else:
            with _netns.open_netns(netns) as ns:
                self._sock = nl.NetlinkSocket(_ROUTE, netns=ns.fileno(), groups=numbers, **kwargs)

    def fileno(self) -> int:
        return self._sock.fileno()

    def recv(self, timeout: float | None = None) -> list:
        return self._sock.recv_messages(timeout)

    def __iter__(self) -> Iterator:
        while True:
            yield from self._sock.recv_messages(None)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "EventSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
