"""Endpoints: a network attachment with its addresses, joined to a sandbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .drivers.api import EndpointInfo
from .options import EndpointOptions

if TYPE_CHECKING:
    from .controller import Controller
    from .network import Network
    from .sandbox import Sandbox

__all__ = ["Endpoint"]


class Endpoint:
    """An endpoint (``Network.create_endpoint``)."""

    def __init__(self, controller: "Controller", network: "Network", id: str, name: str,
                 options: EndpointOptions, mac: str, ipv4: str | None, ipv6: str | None,
                 driver_state: dict[str, Any], sandbox_id: str | None = None,
                 ifname: str | None = None,
                 join_gateways: tuple[str | None, str | None] = (None, None)):
        self._c = controller
        self.network = network
        self.id = id
        self.name = name
        self.options = options
        self.mac = mac
        self.ipv4 = ipv4                 # "address/prefixlen" or None
        self.ipv6 = ipv6
        self.driver_state = driver_state
        self.sandbox_id = sandbox_id
        self.ifname = ifname             # its interface inside the sandbox
        self.join_gateways = join_gateways   # what the driver gave at join
        self._options_json: dict[str, Any] | None = None
        self._port_map: tuple[Any, tuple[Any, ...]] | None = None   # (records, mappings)
        # (IPAM pool id, address) of each address it holds, to give back on
        # delete; None: not known (restored with another IPAM driver), found
        # from the network's pools then.
        self._leases: list[tuple[str, Any]] | None = None
        self.join_seq = 0                # when it joined: orders a sandbox's endpoints
        self.deleted = False

    def options_json(self) -> dict[str, Any]:
        """The options as stored (computed once: options are frozen)."""
        if self._options_json is None:
            from .options import to_jsonable
            self._options_json = to_jsonable(self.options)
        return self._options_json

    @property
    def port_map(self) -> tuple[Any, ...]:
        """The published ports as programmed (firewall.PortMapping), while joined."""
        records = self.driver_state.get("port_map", ())
        cached = self._port_map
        if cached is None or cached[0] is not records:
            from .firewall import PortMapping
            ids = {"endpoint_id": self.id, "network_id": self.network.id}
            cached = self._port_map = (records, tuple(PortMapping(**{**ids, **m})
                                                      for m in records))
        return cached[1]

    def _clear_join(self) -> None:
        """Forget the join: its sandbox, interface, gateways and ports."""
        self.sandbox_id = None
        self.ifname = None
        self.join_gateways = (None, None)
        self.driver_state = {k: v for k, v in self.driver_state.items() if k != "port_map"}

    def _info(self) -> EndpointInfo:
        return EndpointInfo(self.id, self.name, self.network.id, self.options, self.mac,
                            self.ipv4, self.ipv6, self.port_map)

    def join(self, sandbox: "Sandbox", **options: Any) -> None:
        """Attach to ``sandbox``: its interface appears there as eth0, eth1, ...
        Options: ``priority`` (the highest-priority endpoint with a gateway
        carries the sandbox's default route)."""
        self._c._join(self, sandbox, options)

    def leave(self, sandbox: "Sandbox") -> None:
        self._c._leave(self, sandbox)

    def delete(self, force: bool = False) -> None:
        """Remove the endpoint and release its addresses; refused while
        joined unless ``force`` (which leaves first)."""
        self._c._delete_endpoint(self, force)

    @property
    def sandbox(self) -> "Sandbox | None":
        return self._c._sandboxes.get(self.sandbox_id) if self.sandbox_id else None

    def gateway(self) -> tuple[str | None, str | None]:
        """IPv4 and IPv6 gateways: the driver's answer at join while joined,
        else the network's (none for internal networks)."""
        if self.sandbox_id is not None:
            return self.join_gateways
        n = self.network
        if n.options.internal or n.driver_name != "bridge":
            return None, None
        g4 = next((str(p.gateway) for p in n.pools4 if p.gateway is not None), None)
        g6 = next((str(p.gateway) for p in n.pools6 if p.gateway is not None), None)
        return g4, g6

    def info(self) -> dict[str, Any]:
        g4, g6 = self.gateway()
        sb = self.sandbox
        return {"id": self.id, "name": self.name, "network": self.network.id,
                "interface": {"address": self.ipv4, "address_ipv6": self.ipv6,
                              "mac_address": self.mac, "name": self.ifname},
                "gateway": g4, "gateway_ipv6": g6,
                "sandbox": self.sandbox_id, "sandbox_key": sb.key if sb else None,
                "aliases": list(self.options.aliases)}

    def driver_info(self) -> dict[str, Any]:
        """What the driver reports (MAC, bridge; the port map once the
        firewall has published ports), as libnetwork's DriverInfo."""
        d = self._c._driver(self.network.driver_name).driver_info(
            self.network._info(), self._info(), self.network.driver_state)
        if self.options.exposed_ports:
            d["com.docker.network.endpoint.exposedports"] = [
                {"proto": proto, "port": port} for proto, port in self.options.exposed_ports]
        return d

    def __repr__(self) -> str:
        return f"<Endpoint {self.name} {self.id[:12]} on {self.network.name} {self.ipv4 or ''}>"
