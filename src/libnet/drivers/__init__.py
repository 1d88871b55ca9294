"""Network drivers, registered explicitly from one ordered list."""

from __future__ import annotations

from typing import Any, Callable

from .api import Driver
from .bridge import BridgeDriver
from .host import HostDriver
from .null import NullDriver

__all__ = ["Driver", "BUILTIN_DRIVERS", "BridgeDriver", "HostDriver", "NullDriver"]

# name -> factory(host RouteSocket, host netns, firewall, host ops); the
# controller registers these, in this order, and nothing else registers itself.
BUILTIN_DRIVERS: tuple[tuple[str, Callable[[Any, Any, Any, Any], Driver]], ...] = (
    ("bridge", lambda host, host_netns, firewall, ops: BridgeDriver(host, host_netns, firewall,
                                                                    ops)),
    ("host", lambda host, host_netns, firewall, ops: HostDriver()),
    ("null", lambda host, host_netns, firewall, ops: NullDriver()),
)
