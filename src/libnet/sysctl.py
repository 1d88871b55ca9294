"""Read and write /proc/sys in a given network namespace, without a process.

/proc/sys/net shows the network namespace of the thread that opens the file,
so the file is opened inside ``netns`` (libnet.netns.enter) and written
after the thread is back.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["read", "write", "HAS_IPV6"]

# Whether the kernel has IPv6 (not booted with ipv6.disable=1): without it,
# IPv6 settings (IFLA_AF_SPEC's AF_INET6, net.ipv6.*) are refused, so
# callers leave them out.
HAS_IPV6 = os.path.isdir("/proc/sys/net/ipv6")


def _path(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/") or ".." in key.split("."):
        raise ValueError(f"invalid sysctl key {key!r}")
    return "/proc/sys/" + key.replace(".", "/") if "/" not in key else "/proc/sys/" + key


def _open(key: str, flags: int, netns: Any) -> int:
    """``netns`` None: the calling thread's namespace (also inside
    libnet.netns.enter or while netns.create has the thread in a new one)."""
    if netns is None:
        return os.open(_path(key), flags | os.O_CLOEXEC)
    from . import netns as _netns      # netns.create writes sysctls through here
    with _netns.enter(netns):
        return os.open(_path(key), flags | os.O_CLOEXEC)


def read(key: str, netns: Any = None) -> str:
    """``key`` like 'net.ipv4.ip_forward' (or 'net/ipv4/conf/br-x/forwarding')."""
    fd = _open(key, os.O_RDONLY, netns)
    try:
        return os.read(fd, 4096).decode().strip()
    finally:
        os.close(fd)


def write(key: str, value: Any, netns: Any = None) -> None:
    fd = _open(key, os.O_WRONLY, netns)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)
