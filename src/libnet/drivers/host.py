"""The host driver: the sandbox shares the host's namespace (``--net=host``).

Joining creates nothing; the sandbox must be a host-namespace sandbox.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ForbiddenError
from .api import Driver, EndpointInfo, JoinInfo, NetworkInfo, SandboxInfo


class HostDriver(Driver):
    name = "host"

    def create_network(self, nw: NetworkInfo) -> dict[str, Any]:
        return {}

    def delete_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> None:
        return None

    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        if not sb.is_host:
            raise ForbiddenError("an endpoint of the host network joins only a sandbox "
                                 "made with use_host_netns=True")
        return JoinInfo(interface=False)

    def leave(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
              state: Mapping[str, Any], sandbox_going: bool = False) -> None:
        return None
