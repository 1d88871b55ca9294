"""Typed netlink verbs over libnet's Cython core.

``RouteSocket`` speaks rtnetlink (links, addresses, routes, neighbours) with
verbs shaped like ``ip``; ``batch()`` sends many requests in one syscall.
"""

from .._netlink import (
    RESYNC,
    Address,
    DumpInterrupted,
    Link,
    Message,
    NetlinkError,
    NetlinkExistsError,
    NetlinkNotFoundError,
    NetlinkPermissionError,
    Neighbour,
    Resync,
    Route,
)
from .route import Batch, EventSocket, RouteSocket

__all__ = [
    "RouteSocket", "Batch", "EventSocket", "Link", "Address", "Route", "Neighbour",
    "Message", "NetlinkError", "NetlinkExistsError", "NetlinkNotFoundError",
    "NetlinkPermissionError", "DumpInterrupted", "RESYNC", "Resync",
]
