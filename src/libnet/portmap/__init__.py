"""Host port bookkeeping for published ports: which (protocol, host address,
port) keys libnet holds, which ports sockets of the host hold, and the
ephemeral range.

Nothing here programs the kernel; ``libnet.firewall`` does, and keeps a
``PortIndex`` in step with its maps.  The index makes a conflict check O(1)
whatever the number of published ports: a key is taken if it is held
exactly, or if it is on every address (ANY) and the same port is held on a
specific address of the same family, or the reverse.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from typing import Any, Iterable, Iterator

from .. import _netlink as nl
from .. import netns as _netns
from .. import sysctl

__all__ = ["PortIndex", "PortProbe", "local_port_range", "bound_ports", "socket_conflict",
           "port_in_use", "ANY_ADDRESSES"]

ANY_ADDRESSES = ("0.0.0.0", "::")

# /proc/net files per protocol; TCP counts LISTEN sockets (state 0A), UDP
# every bound socket.  SCTP endpoints list their port in column 6.
_PROC = {"tcp": ("tcp", "tcp6"), "udp": ("udp", "udp6")}
_TCP_LISTEN = "0A"


def local_port_range(netns: Any = None) -> tuple[int, int]:
    """The kernel's ephemeral range (net.ipv4.ip_local_port_range) in ``netns``."""
    lo, hi = sysctl.read("net.ipv4.ip_local_port_range", netns).split()
    return int(lo), int(hi)


def _hex_addr(text: str) -> str:
    raw = bytes.fromhex(text)
    # /proc/net/tcp prints each 32-bit word of the address in host order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def _parse(text: str, proto: str) -> Iterator[tuple[str, str, int]]:
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 4:
            continue
        if proto == "tcp" and f[3] != _TCP_LISTEN:
            continue
        addr, port = f[1].split(":")
        yield proto, _hex_addr(addr), int(port, 16)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def bound_ports(netns: Any = None) -> set[tuple[str, str, int]]:
    """(proto, address, port) of every TCP listener and bound UDP/SCTP socket
    in ``netns`` (a listing for tools and reconcile; slow, see port_in_use).  /proc/thread-self/net is the calling thread's namespace
    (/proc/self/net would be the main thread's), so it is read inside it."""
    out: set[tuple[str, str, int]] = set()
    texts = []
    ctx = _netns.enter(netns) if netns is not None else None
    if ctx is not None:
        ctx.__enter__()
    try:
        for proto, files in _PROC.items():
            for name in files:
                texts.append((proto, _read(f"/proc/thread-self/net/{name}")))
        sctp = _read("/proc/thread-self/net/sctp/eps")
    finally:
        if ctx is not None:
            ctx.__exit__(None, None, None)
    for proto, text in texts:
        out.update(_parse(text, proto))
    for line in sctp.splitlines()[1:]:
        f = line.split()
        if len(f) > 7 and f[5].isdigit():
            for a in f[7:]:
                try:
                    out.add(("sctp", str(ipaddress.ip_address(a)), int(f[5])))
                except ValueError:
                    pass
    return out


_SOCK = {"tcp": (socket.SOCK_STREAM, 0), "udp": (socket.SOCK_DGRAM, 0),
         "sctp": (socket.SOCK_STREAM, socket.IPPROTO_SCTP)}


def port_in_use(netns: Any, proto: str, host_ip: str, port: int) -> bool:
    """Whether a socket of ``netns`` holds ``proto`` ``host_ip:port``: a bind
    test (SO_REUSEADDR for TCP/SCTP, so a TIME_WAIT connection does not count
    and a listener does).  Reading /proc/net/tcp instead walks the kernel's
    whole socket hash, about 2 ms a file here even when the namespace has
    no socket; a bind test is a few microseconds.  A protocol the kernel
    lacks (SCTP without its module) holds nothing.  (Many tests in a row:
    ``PortProbe``.)"""
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind, number = _SOCK[proto]
    try:
        if netns is None:
            fds = nl.probe_sockets(1, family, kind, number)
        else:
            with _netns.open_netns(netns) as ns:
                fds = nl.probe_sockets(1, family, kind, number, netns=ns.fileno())
    except OSError:
        return False
    return _bind_test(fds[0], family, host_ip, port)


def _bind_test(fd: int, family: int, host_ip: str, port: int) -> bool:
    """Bind socket ``fd`` to the address (the core closes it after): whether
    the address was in use."""
    try:
        packed = socket.inet_pton(family, host_ip)
    except OSError:
        os.close(fd)
        raise ValueError(f"invalid address {host_ip!r}") from None
    err = nl.bind_test(fd, family, packed, port)
    if err == 0 or err == errno.EADDRNOTAVAIL:
        return False
    if err == errno.EADDRINUSE:
        return True
    raise OSError(err, f"bind {host_ip} port {port}: {os.strerror(err)}")


class PortProbe:
    """Bind tests (``port_in_use``) in one namespace, many in a row: the
    core makes the sockets there ``batch`` at a time (``probe_sockets``), so
    a test costs a bind and a close, and no Python socket object; not also a
    socket, its options and, for another namespace, the two setns of
    entering it and coming back (~25 us here).  The spare sockets are open
    files: up to ``batch`` per address family and protocol in use (64 for
    the usual TCP over IPv4), until ``close``.  A caller serializes its
    calls (the firewall's lock)."""

    def __init__(self, netns: Any = None, batch: int = 64) -> None:
        self._netns = netns
        self._batch = batch
        self._spare: dict[tuple[int, str], list[int]] = {}

    def in_use(self, proto: str, host_ip: str, port: int) -> bool:
        family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
        spare = self._spare.get((family, proto))
        if not spare:
            spare = self._spare[(family, proto)] = self._make(family, proto)
            if not spare:
                return False                  # the kernel lacks the protocol
        return _bind_test(spare.pop(), family, host_ip, port)

    def _make(self, family: int, proto: str) -> list[int]:
        kind, number = _SOCK[proto]
        try:
            if self._netns is None:
                return nl.probe_sockets(self._batch, family, kind, number)
            with _netns.open_netns(self._netns) as ns:
                return nl.probe_sockets(self._batch, family, kind, number, netns=ns.fileno())
        except OSError:
            return []                         # the protocol is missing

    def close(self) -> None:
        for spare in self._spare.values():
            for fd in spare:
                os.close(fd)
        self._spare.clear()


def socket_conflict(bound: set[tuple[str, str, int]], proto: str, host_ip: str,
                    port: int) -> tuple[str, str, int] | None:
    """The bound socket that a mapping of ``host_ip:port`` would shadow, if any."""
    v = ipaddress.ip_address(host_ip).version
    for ip in (host_ip, ANY_ADDRESSES[v == 6]):
        if (proto, ip, port) in bound:
            return (proto, ip, port)
    if host_ip in ANY_ADDRESSES:
        for b in bound:
            if b[0] == proto and b[2] == port and ipaddress.ip_address(b[1]).version == v:
                return b
    return None


class PortIndex:
    """The published keys, by (proto, host_ip, host_port) and by
    (proto, family, port) for the ANY-versus-specific checks."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str, int], Any] = {}
        self._by_port: dict[tuple[str, int, int], set[str]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key) -> bool:
        return key in self._keys

    def get(self, key):
        return self._keys.get(key)

    def values(self) -> Iterable[Any]:
        return self._keys.values()

    def clear(self) -> None:
        self._keys.clear()
        self._by_port.clear()

    @staticmethod
    def _fam(host_ip: str) -> int:
        return 6 if ":" in host_ip else 4

    def conflict(self, proto: str, host_ip: str, port: int):
        """What already holds this key (the value stored with it), or None."""
        held = self._keys.get((proto, host_ip, port))
        if held is not None:
            return held
        ips = self._by_port.get((proto, self._fam(host_ip), port))
        if not ips:
            return None
        if host_ip in ANY_ADDRESSES:
            return self._keys[(proto, next(iter(ips)), port)]
        for any_ip in ANY_ADDRESSES:
            if any_ip in ips:
                return self._keys[(proto, any_ip, port)]
        return None

    def add(self, key: tuple[str, str, int], value: Any) -> None:
        self._keys[key] = value
        self._by_port.setdefault((key[0], self._fam(key[1]), key[2]), set()).add(key[1])

    def discard(self, key: tuple[str, str, int]) -> None:
        if self._keys.pop(key, None) is None:
            return
        s = self._by_port.get((key[0], self._fam(key[1]), key[2]))
        if s is not None:
            s.discard(key[1])
            if not s:
                del self._by_port[(key[0], self._fam(key[1]), key[2])]

