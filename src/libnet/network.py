"""Networks: a driver's network plus its IPAM pools and its endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .drivers.api import NetworkInfo
from .options import NetworkOptions

if TYPE_CHECKING:
    from .controller import Controller
    from .endpoint import Endpoint

__all__ = ["Network"]


class Network:
    """A network (``Controller.new_network``)."""

    def __init__(self, controller: "Controller", id: str, name: str, driver: str,
                 options: NetworkOptions, pools4: tuple[Any, ...], pools6: tuple[Any, ...],
                 ipam_driver: str, driver_state: dict[str, Any], created: str):
        self._c = controller
        self.id = id
        self.name = name
        self.driver_name = driver
        self.options = options
        self.pools4 = pools4
        self.pools6 = pools6
        self.ipam_driver = ipam_driver
        self.driver_state = driver_state
        self.created = created
        self._endpoints: dict[str, "Endpoint"] = {}
        self._by_name: dict[str, "Endpoint"] = {}
        self.deleted = False
        # (NetworkInfo.foreign_mac_ipv4; kept in the network's record)
        self.foreign_mac_ipv4: frozenset[str] = frozenset()

    @property
    def type(self) -> str:
        return self.driver_name

    def _info(self) -> NetworkInfo:
        return NetworkInfo(self.id, self.name, self.options, self.pools4, self.pools6,
                           self.foreign_mac_ipv4)

    def create_endpoint(self, name: str, **options: Any) -> "Endpoint":
        """A new endpoint on this network; options as EndpointOptions
        (ipv4_address, ipv6_address, mac_address, port_bindings, aliases, ...)."""
        return self._c._create_endpoint(self, name, options)

    def endpoints(self) -> list["Endpoint"]:
        return list(self._endpoints.values())

    def endpoint_by_name(self, name: str) -> "Endpoint":
        ep = self._by_name.get(name)
        if ep is None:
            from .errors import NotFoundError
            raise NotFoundError(f"network {self.name} has no endpoint named {name!r}")
        return ep

    def endpoint_by_id(self, ref: str) -> "Endpoint":
        return self._c._lookup(self._endpoints, ref, f"endpoint on network {self.name}")

    def walk_endpoints(self, fn) -> "Endpoint | None":
        """Call ``fn(endpoint)`` for each endpoint until it returns True; return that one."""
        for ep in list(self._endpoints.values()):
            if fn(ep):
                return ep
        return None

    def delete(self) -> None:
        """Remove the network; refused while it has endpoints."""
        self._c._delete_network(self)

    def info(self) -> dict[str, Any]:
        o = self.options
        return {
            "id": self.id, "name": self.name, "driver": self.driver_name, "created": self.created,
            "scope": "local", "enable_ipv6": o.enable_ipv6, "internal": o.internal,
            "attachable": o.attachable, "labels": dict(o.labels),
            "ipam": {"driver": self.ipam_driver,
                     "config": [{"subnet": str(p.subnet),
                                 "ip_range": str(p.ip_range) if p.ip_range else None,
                                 "gateway": str(p.gateway) if p.gateway else None,
                                 "aux_addresses": {k: str(v) for k, v in p.aux_addresses}}
                                for p in (*self.pools4, *self.pools6)]},
            "options": dict(o.driver_opts),
            "endpoints": sorted(ep.id for ep in self._endpoints.values()),
        }

    def driver_info(self) -> dict[str, Any]:
        return dict(self.driver_state)

    def __repr__(self) -> str:
        return f"<Network {self.name} {self.id[:12]} ({self.driver_name})>"
