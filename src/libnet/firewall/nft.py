"""``NftFirewall``: the Firewall interface on libnet's nf_tables layout
(``libnet.firewall.layout``: fixed chains; networks and published ports as
set and map elements).

Every public method is one nf_tables transaction (STYLE 12).  Published ports
are kept in a ``PortIndex`` mirroring the four port maps, loaded from the
kernel by ``ensure()`` and updated after each committed transaction, so a
conflict check costs O(1) whatever the number of ports on the host; the
kernel's EEXIST on an exclusive element add is the backstop (a key can never
be programmed twice, and never shadowed by an earlier rule).

Host-side facts are read in the host namespace, never by a process: the
ephemeral range from net.ipv4.ip_local_port_range, sockets by a bind test
(portmap.PortProbe, from sockets made there in batches), local addresses by an
RTM_GETADDR dump.  Sysctls the layout relies on are written through
``libnet.sysctl`` in the host namespace: route_localnet on the bridge
(add_network: localhost reaches published ports, as the kernel otherwise
drops 127/8 sources routed out of lo as martians) and br_netfilter's
bridge-nf-call-iptables for ICC off.  Forwarding (ip_forward) is the bridge
driver's (its enable_ip_forwarding option, Docker's --ip-forward), not the
firewall's.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any, Iterable

from .. import sysctl
from ..errors import ConflictError, InvalidParameterError, NotFoundError, UnavailableError
from ..netlink import Element, NftSocket, RouteSocket, Verdict
from .._netlink import nft_commit
from ..netlink.nft import Set
from ..portmap import PortIndex, PortProbe, local_port_range
from . import layout as L
from .api import (ANY4, ANY6, Firewall, FirewallNetwork, PortMapping, PublishRequest,
                  Reconciliation)

__all__ = ["NftFirewall", "PROTOCOLS"]

PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
_PROTO_NAMES = {v: k for k, v in PROTOCOLS.items()}


def _map_of(m: PortMapping) -> Set:
    v6 = ":" in m.host_ip
    if m.host_ip in (ANY4, ANY6):
        return L.PORTS6 if v6 else L.PORTS4
    return L.PORTS6_IP if v6 else L.PORTS4_IP


def _element(m: PortMapping) -> Element:
    proto = PROTOCOLS[m.proto]
    data = (m.container_ip, m.container_port)
    if m.host_ip in (ANY4, ANY6):
        return Element((proto, m.host_port), data)
    return Element((m.host_ip, proto, m.host_port), data)


def _by_map(mappings: Iterable[PortMapping]) -> dict[str, tuple[Set, list[Element]]]:
    """The mappings' elements, grouped by the map that holds them."""
    out: dict[str, tuple[Set, list[Element]]] = {}
    for m in mappings:
        s = _map_of(m)
        out.setdefault(s.name, (s, []))[1].append(_element(m))
    return out


def _mapping(s: Set, e: Element) -> PortMapping:
    any_ip = s in (L.PORTS4, L.PORTS6)
    if any_ip:
        proto, port = e.key
        host_ip = ANY6 if s is L.PORTS6 else ANY4
    else:
        host_ip, proto, port = e.key
    return PortMapping(_PROTO_NAMES.get(proto, str(proto)), host_ip, port, e.data[0], e.data[1])


def _subnet_element(cidr: str, data: Any = None) -> Element:
    n = ipaddress.ip_network(cidr)
    return Element((str(n.network_address),), data, (str(n.broadcast_address),))


def _network_elements(n: FirewallNetwork) -> list[tuple[Set, Element]]:
    out: list[tuple[Set, Element]] = [
        (L.BRIDGES, Element((n.bridge,))),
        (L.INTRA, Element((n.bridge, n.bridge), Verdict("accept" if n.icc else "drop"))),
    ]
    out += [(L.SUBNETS4, _subnet_element(s)) for s in n.subnets4]
    out += [(L.SUBNETS6, _subnet_element(s)) for s in n.subnets6]
    if n.internal:
        out.append((L.INTERNAL, Element((n.bridge,))))
        return out
    if n.masquerade:
        out.append((L.NAT_BRIDGES, Element((n.bridge,))))
        for s in n.subnets4:
            if n.snat_ipv4 is not None:
                out.append((L.SNAT4, _subnet_element(s, (n.snat_ipv4,))))
            else:
                out.append((L.MASQ4, _subnet_element(s)))
        for s in n.subnets6:
            out.append((L.MASQ6, _subnet_element(s)))
    return out


class NftFirewall(Firewall):
    """The firewall of the host namespace ``host_netns`` (a NetNS, name,
    path or fd; None: the caller's namespace).

    ``check_sockets``: refuse a port a socket of the host holds (a bind
    test per port).  ``port_range``: the ephemeral range; when None, read
    from the kernel at the first publish and kept (as Docker's port
    allocator does: a /proc/sys lookup per publish would cost more the more
    namespaces the host has).  ``sysctls``: write the sysctls the layout
    needs (see the module docstring); the bridge driver may own them instead.
    """

    def __init__(self, host_netns: Any = None, *, check_sockets: bool = True,
                 port_range: tuple[int, int] | None = None, sysctls: bool = True):
        self._netns = host_netns
        self._nft = NftSocket(host_netns)
        self._rtnl: RouteSocket | None = None
        self._lock = threading.RLock()
        self._networks: dict[str, FirewallNetwork] = {}
        self._index = PortIndex()
        self._check_sockets = check_sockets
        self._probe = PortProbe(host_netns)
        self._port_range = port_range
        self._sysctls = sysctls
        self._cursor: dict[str, int] = {}
        self._ensured = False
        # Per endpoint, the transaction that deletes what its last publish
        # programmed, encoded right after that publish: a teardown then
        # only sends it (about half of an unpublish's own time), and the
        # encoding is paid during setup, which costs twenty times more.
        self._undo: dict[str, tuple[tuple[PortMapping, ...], list[bytes], list[str]]] = {}

    def close(self) -> None:
        self._nft.close()
        self._probe.close()
        if self._rtnl is not None:
            self._rtnl.close()

    def __enter__(self) -> "NftFirewall":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ layout

    def ensure(self) -> None:
        with self._lock:
            have = any(t.name == L.TABLE for t in self._nft.tables(L.FAMILY))
            rules = L.rules()
            current = self._nft.rules(L.TABLE, family=L.FAMILY) if have else []
            names = {s.name for s in self._nft.sets(L.TABLE, L.FAMILY)} if have else set()
            if current != rules or names != {s.name for s in L.sets()}:
                # One transaction: create what is missing and rewrite the
                # fixed rules; set elements (networks, ports) are kept.
                with self._nft.transaction() as tx:
                    tx.add_table(L.table())
                    for c in L.chains():
                        tx.add_chain(c)
                        if have:
                            tx.flush_chain(c)
                    for s in L.sets():
                        tx.add_set(s)
                    for r in rules:
                        tx.add_rule(r)
            self._load_index()
            self._ensured = True

    def _ensure(self) -> None:
        if not self._ensured:
            self.ensure()

    def _load_index(self) -> None:
        self._index.clear()
        for m in self.programmed():
            self._index.add(m.key, m)

    # ------------------------------------------------------------ networks

    def add_network(self, network: FirewallNetwork) -> None:
        with self._lock:
            self._ensure()
            old = self._networks.get(network.id)
            if network.icc is False and self._sysctls:
                self._need_br_netfilter(network)
            new = _network_elements(network)
            before = _network_elements(old) if old is not None else []
            if before == new:
                return
            with self._nft.transaction() as tx:
                self._remove_elements(tx, [x for x in before if x not in new])
                # add, delete, add: whatever the key held before (another
                # verdict, another SNAT address), it ends as defined here.
                for s, e in new:
                    if (s, e) in before:
                        continue
                    tx.add_elements(s, [e])
                    tx.delete_elements(s, [e])
                    tx.add_elements(s, [e])
            self._networks[network.id] = network
            if self._sysctls:
                self._network_sysctls(network)

    def remove_network(self, network: FirewallNetwork) -> None:
        with self._lock:
            self._ensure()
            old = self._networks.pop(network.id, network)
            with self._nft.transaction() as tx:
                self._remove_elements(tx, _network_elements(old))

    @staticmethod
    def _remove_elements(tx, elements) -> None:
        # add (not exclusive) then delete: idempotent, "already gone" is success.
        for s, e in elements:
            tx.add_elements(s, [e])
            tx.delete_elements(s, [e])

    def _network_sysctls(self, n: FirewallNetwork) -> None:
        key = f"net/ipv4/conf/{n.bridge}/route_localnet"
        try:
            sysctl.write(key, 1, self._netns)
        except FileNotFoundError:
            pass        # no such bridge yet: the driver sets it when it creates one

    def _need_br_netfilter(self, n: FirewallNetwork) -> None:
        try:
            sysctl.write("net/bridge/bridge-nf-call-iptables", 1, self._netns)
            sysctl.write("net/bridge/bridge-nf-call-ip6tables", 1, self._netns)
        except FileNotFoundError:
            raise UnavailableError(
                f"network {n.id}: ICC off needs br_netfilter (bridged traffic is "
                "invisible to the forward hook without it); the module is not loaded") from None

    # ------------------------------------------------------------ ports

    def publish(self, request: PublishRequest) -> tuple[PortMapping, ...]:
        with self._lock:
            self._ensure()
            network = self._networks.get(request.network_id)
            if network is None:
                raise NotFoundError(f"network {request.network_id} is not known to the firewall")
            if not request.bindings:
                return ()
            planned = self._plan(request, network)
            by_map = _by_map(planned)
            undo = self._nft.transaction()          # (built before anything is applied)
            for s, els in by_map.values():
                undo.delete_elements(s, els)
            try:
                with self._nft.transaction() as tx:
                    for s, els in by_map.values():
                        tx.add_elements(s, els, exclusive=True)
            except FileExistsError as e:
                # Someone else programmed one of these keys: the index was stale.
                self._load_index()
                raise ConflictError(f"endpoint {request.endpoint_id}: a published port is "
                                    f"already programmed on the host ({e}); nothing applied") \
                    from e
            for m in planned:
                self._index.add(m.key, m)
            done = tuple(planned)
            self._undo[request.endpoint_id] = (done, undo.msgs, undo.ops)
            return done

    def unpublish(self, mappings: Iterable[PortMapping]) -> None:
        mappings = tuple(mappings)
        if not mappings:
            return
        with self._lock:
            self._ensure()
            eid = mappings[0].endpoint_id
            undo = self._undo.pop(eid, None) if eid is not None else None
            if undo is not None and undo[0] == mappings and all(self._held(m) for m in mappings):
                # What the publish programmed, all still held: its pre-built
                # delete (if the kernel lost an element after all, the
                # transaction fails whole, and the general path below runs).
                try:
                    nft_commit(self._nft.socket, undo[1], undo[2])
                except FileNotFoundError:
                    pass
                else:
                    for m in mappings:
                        self._index.discard(m.key)
                    return
            for attempt in (0, 1):
                mine = [m for m in mappings if self._held(m)]
                if not mine:
                    return
                try:
                    with self._nft.transaction() as tx:
                        for s, els in _by_map(mine).values():
                            tx.delete_elements(s, els)
                except FileNotFoundError:
                    if attempt:
                        raise
                    self._load_index()      # changed behind our back: re-read, retry
                    continue
                for m in mine:
                    self._index.discard(m.key)
                return

    def _held(self, m: PortMapping) -> bool:
        cur = self._index.get(m.key)
        return cur is not None and (cur.container_ip, cur.container_port) == (
            m.container_ip, m.container_port)

    def programmed(self) -> tuple[PortMapping, ...]:
        with self._lock:
            out: list[PortMapping] = []
            for s in (L.PORTS4, L.PORTS4_IP, L.PORTS6, L.PORTS6_IP):
                out.extend(_mapping(s, e) for e in self._nft.elements(s))
            return tuple(sorted(out))

    def reconcile(self, expected: Iterable[PortMapping]) -> Reconciliation:
        with self._lock:
            self._ensure()
            want: dict[tuple, PortMapping] = {}
            index = PortIndex()
            conflicts = []
            for m in expected:
                if index.conflict(*m.key) is not None:
                    conflicts.append(m)
                    continue
                index.add(m.key, m)
                want[m.key] = m
            have = {m.key: m for m in self.programmed()}
            same = {k for k, m in want.items() if k in have and
                    (have[k].container_ip, have[k].container_port) ==
                    (m.container_ip, m.container_port)}
            stale = [m for k, m in have.items() if k not in same]
            missing = [m for k, m in want.items() if k not in same]
            if stale or missing:
                with self._nft.transaction() as tx:
                    for m in stale:
                        tx.delete_elements(_map_of(m), [_element(m)])
                    for m in missing:
                        tx.add_elements(_map_of(m), [_element(m)], exclusive=True)
            self._index.clear()
            for k, m in want.items():
                self._index.add(k, m)
            # What publish kept for the unpublish of endpoints that hold
            # nothing now: gone with their ports.
            holders = {m.endpoint_id for m in want.values()}
            for eid in [e for e in self._undo if e not in holders]:
                del self._undo[eid]
            return Reconciliation(tuple(sorted(stale)), tuple(sorted(missing)),
                                  tuple(conflicts))

    # ------------------------------------------------------------ planning

    def _local_addresses(self) -> set[str]:
        if self._rtnl is None:
            self._rtnl = RouteSocket(self._netns)
        out = set()
        for a in self._rtnl.addr_dump():
            ip = a.local or a.address
            if ip:
                out.add(str(ipaddress.ip_address(ip)))
        return out

    def _plan(self, req: PublishRequest, network: FirewallNetwork) -> list[PortMapping]:
        """Every mapping of ``req``, validated and with host ports chosen; raises
        before anything is programmed.  Nothing here enters the host
        namespace: the port range is read from it once, the bind tests use
        sockets made there ahead of time (``PortProbe``)."""
        if self._port_range is None:
            self._port_range = local_port_range(self._netns)
        rng = self._port_range
        local: set[str] | None = None
        pending = PortIndex()
        out: list[PortMapping] = []

        def taken(proto: str, host_ip: str, port: int) -> str | None:
            held = self._index.conflict(proto, host_ip, port) or pending.conflict(
                proto, host_ip, port)
            if held is not None:
                return f"already published by libnet ({held})"
            if self._check_sockets and self._probe.in_use(proto, host_ip, port):
                return "held by a socket of the host (bind: address in use)"
            return None

        for b in req.bindings:
            proto = getattr(b, "proto", None)
            if proto not in PROTOCOLS:
                raise InvalidParameterError(
                    f"protocol {proto!r} cannot be published; one of {', '.join(PROTOCOLS)}")
            n, host_first, host_last = self._ranges(b)
            targets = self._targets(req, network, b)
            if any(h not in (ANY4, ANY6) for h, _ in targets):
                if local is None:
                    local = self._local_addresses()
                for h, _ in targets:
                    if h not in (ANY4, ANY6) and h not in local:
                        raise InvalidParameterError(
                            f"host IP {h} is not an address of the host ({proto} "
                            f"{b.host_port or 'ephemeral'} -> {b.port})")
            if host_first == 0:
                ports = [self._ephemeral(proto, targets, rng, taken, b) for _ in range(n)]
            elif n == 1 and host_last > host_first:
                ports = [self._first_free(proto, targets, host_first, host_last, taken, b)]
            else:
                ports = list(range(host_first, host_first + n))
                for p in ports:
                    for h, _ in targets:
                        why = taken(proto, h, p)
                        if why is not None:
                            raise ConflictError(f"port {proto} {_fmt(h)}:{p} is {why}; "
                                                "nothing applied")
            for i, p in enumerate(ports):
                for h, cip in targets:
                    m = PortMapping(proto, h, p, cip, b.port + i, req.endpoint_id,
                                    req.network_id)
                    pending.add(m.key, m)
                    out.append(m)
        return out

    @staticmethod
    def _ranges(b) -> tuple[int, int, int]:
        n = (b.port_end if b.port_end is not None else b.port) - b.port + 1
        if b.port <= 0 or n <= 0:
            raise InvalidParameterError(f"invalid container port range {b.port}-{b.port_end}")
        first = b.host_port
        last = b.host_port_end if b.host_port_end is not None else (
            first + n - 1 if first else 0)
        if first == 0 and b.host_port_end:
            raise InvalidParameterError("a host port range needs its first port")
        if first and (last < first or last > 65535 or first + n - 1 > 65535):
            raise InvalidParameterError(f"invalid host port range {first}-{last}")
        if first and n > 1 and last - first + 1 != n:
            raise InvalidParameterError(
                f"host port range {first}-{last} and container port range "
                f"{b.port}-{b.port_end} differ in length")
        return n, first, last

    @staticmethod
    def _targets(req: PublishRequest, network: FirewallNetwork, b) -> list[tuple[str, str]]:
        """(host_ip, container_ip) pairs a binding programs: one per family."""
        host_ip = b.host_ip
        if host_ip is None and network.host_binding_ipv4 is not None:
            host_ip = network.host_binding_ipv4
        if host_ip is None:
            out = []
            if req.container_ipv4:
                out.append((ANY4, req.container_ipv4))
            if req.container_ipv6:
                out.append((ANY6, req.container_ipv6))
            if not out:
                raise InvalidParameterError(
                    f"endpoint {req.endpoint_id} has no address to publish ports to")
            return out
        v = ipaddress.ip_address(host_ip).version
        cip = req.container_ipv4 if v == 4 else req.container_ipv6
        if not cip:
            raise InvalidParameterError(
                f"host IP {host_ip} is IPv{v} but endpoint {req.endpoint_id} has no "
                f"IPv{v} address")
        return [(str(ipaddress.ip_address(host_ip)), cip)]

    def _ephemeral(self, proto, targets, rng, taken, b) -> int:
        lo, hi = rng
        size = hi - lo + 1
        start = self._cursor.get(proto, lo)
        for i in range(size):
            p = lo + (start - lo + i) % size
            if all(taken(proto, h, p) is None for h, _ in targets):
                self._cursor[proto] = lo + (p - lo + 1) % size
                return p
        raise ConflictError(f"no free host port for {proto} -> {b.port} in the ephemeral "
                            f"range {lo}-{hi}; nothing applied")

    @staticmethod
    def _first_free(proto, targets, first, last, taken, b) -> int:
        for p in range(first, last + 1):
            if all(taken(proto, h, p) is None for h, _ in targets):
                return p
        raise ConflictError(f"every host port of {proto} {first}-{last} (for container port "
                            f"{b.port}) is taken; nothing applied")


def _fmt(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip

