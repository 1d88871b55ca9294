"""The host driver: the sandbox shares the host's namespace (``--net=host``).

Like the null driver it creates nothing; it only insists that the sandbox
is a host-namespace one.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ForbiddenError
from .api import EndpointInfo, JoinInfo, NetworkInfo, SandboxInfo
from .null import NullDriver


class HostDriver(NullDriver):
    name = "host"

    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        if not sb.is_host:
            raise ForbiddenError("an endpoint of the host network joins only a sandbox "
                                 "made with use_host_netns=True")
        return JoinInfo(interface=False)
