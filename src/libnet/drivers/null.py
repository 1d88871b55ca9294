"""The null driver: an endpoint with no interface (``--net=none``)."""

from __future__ import annotations

from typing import Any, Mapping

from .api import Driver, EndpointInfo, JoinInfo, NetworkInfo, SandboxInfo


class NullDriver(Driver):
    name = "null"

    def create_network(self, nw: NetworkInfo) -> dict[str, Any]:
        return {}

    def delete_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> None:
        return None

    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        return JoinInfo(interface=False)

    def leave(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
              state: Mapping[str, Any], sandbox_going: bool = False) -> None:
        return None
