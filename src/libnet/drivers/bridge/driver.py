"""The bridge driver's life cycle: networks, endpoints, join and leave.

Kernel calls live in ``kernel.py``; the firewall (masquerade, ICC,
isolation, published ports) is ``firewall``, a collaborator injected by the
controller (libnet.firewall: NftFirewall, or NoFirewall / RecordingFirewall).
A network is added to the firewall once its bridge exists and removed
before the bridge goes; an endpoint's ports are published, all in one
transaction, when it joins (before its veth is made, so a conflict costs
no kernel link work) and unpublished when it leaves.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Mapping

from ...errors import ConflictError, InvalidParameterError
from ...firewall import Firewall, FirewallNetwork, NoFirewall, PublishRequest
from ...netlink import RouteSocket
from ...hostops import HostOps
from ..api import Driver, EndpointInfo, JoinInfo, NetworkInfo, SandboxInfo
from . import kernel
from .config import BridgeDriverConfig, BridgeNetworkConfig

__all__ = ["BridgeDriver", "host_ifname"]

log = logging.getLogger("libnet")


def host_ifname(endpoint_id: str) -> str:
    """The host end of an endpoint's veth: derived from its id, so a restart
    can tell which leaked links are ours."""
    return "veth" + endpoint_id[:11]


class BridgeDriver(Driver):
    """Bridge networks.

    A joining endpoint's addresses are announced from the host side: a
    gratuitous ARP *reply* for IPv4 and an unsolicited neighbour
    advertisement for IPv6, sent on the bridge by one AF_PACKET socket per
    bridge kept open (closing one waits for an RCU grace period), and the
    host's own entries for the addresses changed by netlink if it has them.
    The bridge floods the frames to every port either way; the kernel's
    arp_notify announcement is a *request*, for which every receiving
    container runs a route lookup: 3.7-5.5 us a port against 0.8 for the
    reply (bench/announce.py).  Sent from here, an IPv6 announcement also
    needs no ndisc_notify, which only /proc/sys can set, in the sandbox.

    An IPv4 address is announced only where a neighbour may map it to
    another MAC.  An endpoint's MAC is derived from its IPv4 address
    (``mac_from_ipv4``, Docker's convention before it moved to random MACs,
    when it sent no announcement at all), so on a bridge libnet made, whose
    ports are all its endpoints, an address held with its derived MAC is
    mapped to that MAC by every neighbour that knows it: the announcement
    would change no entry, and the bridge would still copy it to every
    port (a cost that grows with the bridge: about a third of a join's
    CPU at 1,000 ports).  It is sent for a custom MAC, for an address once
    held with one (``NetworkInfo.foreign_mac_ipv4``, kept by the
    controller), and on a bridge libnet did not make (other ports, other
    hosts); IPv6 addresses, allocated apart from the MAC, are always
    announced.
    """

    name = "bridge"
    announces = True

    def __init__(self, host: RouteSocket, host_netns: Any = None,
                 firewall: Firewall | None = None, ops: Any = None):
        self.host = host
        self.host_netns = host_netns
        self._ops = ops if ops is not None else HostOps()
        self._sysctl_write = self._ops.sysctl_write
        self.firewall = firewall if firewall is not None else NoFirewall()
        self.config = BridgeDriverConfig()
        self._forwarding_done = False
        self._announcers: dict[str, tuple[int, Any]] = {}   # bridge name -> (index, socket)

    def configure(self, options: Mapping[str, Any]) -> None:
        self.config = BridgeDriverConfig.from_options(options)

    def _netcfg(self, nw: NetworkInfo) -> BridgeNetworkConfig:
        return BridgeNetworkConfig.from_options(nw.options.driver_opts, nw.id, nw.options.mtu)

    @staticmethod
    def _gateways(nw: NetworkInfo) -> list[str]:
        out = []
        for pool in (*nw.ipv4, *nw.ipv6):
            if pool.gateway is not None:
                out.append(f"{pool.gateway}/{pool.subnet.prefixlen}")
        return out

    def validate(self, nw: NetworkInfo, existing: Mapping[str, Mapping[str, Any]]) -> BridgeNetworkConfig:
        cfg = self._netcfg(nw)
        for other_id, state in existing.items():
            if state.get("bridge_name") == cfg.bridge_name:
                raise ConflictError(f"bridge {cfg.bridge_name} is already used by network {other_id[:12]}")
        if nw.options.internal and cfg.host_binding_ipv4:
            raise InvalidParameterError("an internal network has no host binding address")
        return cfg

    @staticmethod
    def _fwnet(nw: NetworkInfo, bridge: str, cfg: Mapping[str, Any]) -> FirewallNetwork:
        return FirewallNetwork(
            id=nw.id, bridge=bridge, subnets4=tuple(str(p.subnet) for p in nw.ipv4),
            subnets6=tuple(str(p.subnet) for p in nw.ipv6),
            masquerade=cfg.get("enable_ip_masquerade", True), snat_ipv4=cfg.get("snat_ipv4"),
            icc=cfg.get("enable_icc", True), internal=nw.options.internal,
            host_binding_ipv4=cfg.get("host_binding_ipv4"))

    def create_network(self, nw: NetworkInfo) -> dict[str, Any]:
        cfg = self._netcfg(nw)
        try:
            index, created = kernel.ensure_bridge(self.host, cfg.bridge_name, cfg.mtu,
                                                  self._gateways(nw), cfg.mcast_snooping)
        except ValueError as e:
            raise InvalidParameterError(str(e)) from None
        fwcfg = {"enable_icc": cfg.enable_icc, "enable_ip_masquerade": cfg.enable_ip_masquerade,
                 "host_binding_ipv4": cfg.host_binding_ipv4, "snat_ipv4": cfg.snat_ipv4}
        try:
            self.firewall.add_network(self._fwnet(nw, cfg.bridge_name, fwcfg))
        except BaseException:
            if created:
                kernel.delete_bridge(self.host, cfg.bridge_name)
            raise
        if not nw.options.internal and self.config.enable_ip_forwarding and not self._forwarding_done:
            # Containers reach out through the host's routing (Docker sets
            # this too); written in the host namespace libnet manages.
            self._sysctl_write("net.ipv4.ip_forward", 1, self.host_netns)
            if nw.options.enable_ipv6:
                self._sysctl_write("net.ipv6.conf.all.forwarding", 1, self.host_netns)
            self._forwarding_done = True
        return {"bridge_name": cfg.bridge_name, "bridge_index": index, "created_bridge": created,
                "config": {"enable_icc": cfg.enable_icc,
                           "enable_ip_masquerade": cfg.enable_ip_masquerade,
                           "host_binding_ipv4": cfg.host_binding_ipv4,
                           "snat_ipv4": cfg.snat_ipv4, "default_bridge": cfg.default_bridge,
                           "mtu": cfg.mtu}}

    def delete_network(self, nw: NetworkInfo | None, state: Mapping[str, Any]) -> None:
        self._close_announcer(state.get("bridge_name"))
        if nw is not None:
            self.firewall.remove_network(self._fwnet(nw, state["bridge_name"], state.get("config", {})))
        if state.get("created_bridge"):
            kernel.delete_bridge(self.host, state["bridge_name"])

    def restore_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> dict[str, Any]:
        index = kernel.link_index(self.host, state["bridge_name"])
        new = dict(state)
        if index is None:
            cfg = self._netcfg(nw)
            index, created = kernel.ensure_bridge(self.host, cfg.bridge_name, cfg.mtu,
                                                  self._gateways(nw), cfg.mcast_snooping)
            new["created_bridge"] = bool(state.get("created_bridge")) or created
        new["bridge_index"] = index
        self.firewall.add_network(self._fwnet(nw, state["bridge_name"], state.get("config", {})))
        return new

    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        if sb.is_host or sb.key is None:
            raise InvalidParameterError("a bridge endpoint cannot join a host-namespace sandbox")
        mtu = state.get("config", {}).get("mtu")
        mappings: tuple[Any, ...] = ()
        if ep.options.port_bindings:
            mappings = self.firewall.publish(PublishRequest(
                endpoint_id=ep.id, network_id=nw.id,
                # (IPAM's "address/prefix", canonical already: no parse)
                container_ipv4=ep.ipv4.partition("/")[0] if ep.ipv4 else None,
                container_ipv6=ep.ipv6.partition("/")[0] if ep.ipv6 else None,
                bindings=ep.options.port_bindings))
        try:
            index = kernel.add_endpoint_veth(self.host, host_ifname(ep.id), ifname, sb.fd, ep.mac, mtu)
        except BaseException:
            if mappings:
                self.firewall.unpublish(mappings)
            raise
        gw4 = next((str(p.gateway) for p in nw.ipv4 if p.gateway is not None), None)
        gw6 = next((str(p.gateway) for p in nw.ipv6 if p.gateway is not None), None)
        if nw.options.internal:
            gw4 = gw6 = None            # no route out of an internal network
        return JoinInfo(gateway4=gw4, gateway6=gw6, port_map=tuple(mappings), ifindex=index)

    def activate(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
                 state: Mapping[str, Any]) -> None:
        kernel.attach(self.host, host_ifname(ep.id), state["bridge_index"])

    def announce(self, nw: NetworkInfo, ep: EndpointInfo, state: Mapping[str, Any]) -> None:
        frames = []
        if ep.ipv4:
            ip4 = ep.ipv4.partition("/")[0]
            if (not state.get("created_bridge") or ip4 in nw.foreign_mac_ipv4
                    or ep.mac.lower() != mac_from_ipv4(ip4)):
                frames.append((ip4, kernel.garp_reply(ep.mac, ip4)))
        if ep.ipv6:
            ip6 = ep.ipv6.partition("/")[0]
            frames.append((ip6, kernel.unsolicited_na(ep.mac, ip6)))
        if not frames:
            return
        name, index = state["bridge_name"], state["bridge_index"]
        try:
            held = self._announcers.get(name)
            if held is None or held[0] != index:        # none yet, or the bridge was re-made
                self._close_announcer(name)
                held = self._announcers[name] = (index, self._ops.packet_socket(name, self.host_netns))
            for _, frame in frames:
                held[1].send(frame)
        except OSError as e:
            # Best effort, as the kernel's own announcement is: the address
            # works without it; only a stale neighbour entry elsewhere waits
            # for its own re-check.  The same goes for the host's entries.
            log.warning("libnet: announcing %s on %s failed: %s", ep.name, name, e)
            self._close_announcer(name)
        for err in kernel.refresh_neighbours(self.host, index, [ip for ip, _ in frames], ep.mac):
            log.warning("libnet: updating the host's entry for %s failed: %s", ep.name, err)

    def _close_announcer(self, name: str | None) -> None:
        held = self._announcers.pop(name, None) if name else None
        if held is not None:
            held[1].close()

    def close(self) -> None:
        for name in list(self._announcers):
            self._close_announcer(name)

    def leave(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
              state: Mapping[str, Any], sandbox_going: bool = False) -> None:
        if ep.port_map:
            self.firewall.unpublish(ep.port_map)
        if not sandbox_going:
            kernel.delete_links(self.host, [host_ifname(ep.id)])

    def driver_info(self, nw: NetworkInfo, ep: EndpointInfo,
                    state: Mapping[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"com.docker.network.endpoint.macaddress": ep.mac,
                                "com.docker.network.bridge.name": state.get("bridge_name")}
        if ep.port_map:
            info["com.docker.network.portmap"] = [
                {"proto": m.proto, "host_ip": m.host_ip, "host_port": m.host_port,
                 "container_ip": m.container_ip, "port": m.container_port} for m in ep.port_map]
        return info

    def leaked_links(self, networks: Mapping[str, tuple[NetworkInfo, Mapping[str, Any]]],
                     joined_host_links: set[str]) -> list[str]:
        """Host ends (link group OWN_GROUP) that no joined endpoint owns."""
        return [link.name for link in self.host.link_dump(kind="veth")
                if link.group == kernel.OWN_GROUP and link.name
                and link.name not in joined_host_links]

    def remove_links(self, names: list[str]) -> None:
        kernel.delete_links(self.host, names)


def mac_from_ipv4(address: str | None) -> str | None:
    """Docker's convention: 02:42 and the four bytes of the IPv4 address."""
    if address is None:
        return None
    try:
        ip = socket.inet_pton(socket.AF_INET, address.partition("/")[0])
    except OSError:
        raise ValueError(f"invalid IPv4 address {address!r}") from None
    return "02:42:" + ip.hex(":")
