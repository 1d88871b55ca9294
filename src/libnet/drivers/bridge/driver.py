"""The bridge driver's life cycle: networks, endpoints, join and leave.

Kernel calls live in ``kernel.py``; the firewall (masquerade, ICC,
isolation, published ports) plugs in through ``firewall``, a collaborator
injected by the controller (a no-op until the nf_tables firewall lands).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from ...errors import ConflictError, InvalidParameterError
from ...netlink import RouteSocket
from ... import sysctl
from ..api import Driver, EndpointInfo, JoinInfo, NetworkInfo, SandboxInfo
from . import kernel
from .config import BridgeDriverConfig, BridgeNetworkConfig

__all__ = ["BridgeDriver", "host_ifname"]


def host_ifname(endpoint_id: str) -> str:
    """The host end of an endpoint's veth: derived from its id, so a restart
    can tell which leaked links are ours."""
    return "veth" + endpoint_id[:11]


class BridgeDriver(Driver):
    name = "bridge"

    def __init__(self, host: RouteSocket, host_netns: Any = None):
        self.host = host
        self.host_netns = host_netns
        self.config = BridgeDriverConfig()
        self._forwarding_done = False

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

    def create_network(self, nw: NetworkInfo) -> dict[str, Any]:
        cfg = self._netcfg(nw)
        try:
            index, created = kernel.ensure_bridge(self.host, cfg.bridge_name, cfg.mtu, self._gateways(nw))
        except ValueError as e:
            raise InvalidParameterError(str(e)) from None
        if not nw.options.internal and self.config.enable_ip_forwarding and not self._forwarding_done:
            # Containers reach out through the host's routing (Docker sets
            # this too); written in the host namespace libnet manages.
            sysctl.write("net.ipv4.ip_forward", 1, self.host_netns)
            if nw.options.enable_ipv6:
                sysctl.write("net.ipv6.conf.all.forwarding", 1, self.host_netns)
            self._forwarding_done = True
        return {"bridge_name": cfg.bridge_name, "bridge_index": index, "created_bridge": created,
                "config": {"enable_icc": cfg.enable_icc,
                           "enable_ip_masquerade": cfg.enable_ip_masquerade,
                           "host_binding_ipv4": cfg.host_binding_ipv4,
                           "snat_ipv4": cfg.snat_ipv4, "default_bridge": cfg.default_bridge,
                           "mtu": cfg.mtu}}

    def delete_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> None:
        if state.get("created_bridge"):
            kernel.delete_bridge(self.host, state["bridge_name"])

    def restore_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> dict[str, Any]:
        index = kernel.link_index(self.host, state["bridge_name"])
        new = dict(state)
        if index is None:
            cfg = self._netcfg(nw)
            index, created = kernel.ensure_bridge(self.host, cfg.bridge_name, cfg.mtu, self._gateways(nw))
            new["created_bridge"] = bool(state.get("created_bridge")) or created
        new["bridge_index"] = index
        return new

    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        if sb.is_host or sb.key is None:
            raise InvalidParameterError("a bridge endpoint cannot join a host-namespace sandbox")
        mtu = state.get("config", {}).get("mtu")
        kernel.add_endpoint_veth(self.host, host_ifname(ep.id), ifname, sb.fd, ep.mac, mtu,
                                 state["bridge_index"])
        gw4 = next((str(p.gateway) for p in nw.ipv4 if p.gateway is not None), None)
        gw6 = next((str(p.gateway) for p in nw.ipv6 if p.gateway is not None), None)
        if nw.options.internal:
            gw4 = gw6 = None            # no route out of an internal network
        return JoinInfo(gateway4=gw4, gateway6=gw6)

    def leave(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
              state: Mapping[str, Any], sandbox_going: bool = False) -> None:
        if not sandbox_going:
            kernel.delete_links(self.host, [host_ifname(ep.id)])

    def driver_info(self, nw: NetworkInfo, ep: EndpointInfo,
                    state: Mapping[str, Any]) -> dict[str, Any]:
        return {"com.docker.network.endpoint.macaddress": ep.mac,
                "com.docker.network.bridge.name": state.get("bridge_name")}

    def leaked_links(self, networks: Mapping[str, tuple[NetworkInfo, Mapping[str, Any]]],
                     joined_host_links: set[str]) -> list[str]:
        bridges = {st.get("bridge_index") for _, st in networks.values()}
        leaked = []
        for link in self.host.link_dump(kind="veth"):
            name = link.name or ""
            if link.master in bridges and name.startswith("veth") and name not in joined_host_links:
                leaked.append(name)
        return leaked

    def remove_links(self, names: list[str]) -> None:
        kernel.delete_links(self.host, names)


def mac_from_ipv4(address: str | None) -> str | None:
    """Docker's convention: 02:42 and the four bytes of the IPv4 address."""
    if address is None:
        return None
    ip = ipaddress.IPv4Interface(address).ip.packed
    return "02:42:" + ":".join(f"{b:02x}" for b in ip)
