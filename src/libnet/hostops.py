"""The controller's one seam to the host: namespaces, rtnetlink sockets, sysctls.

``HostOps`` does the real thing (libnet.netns, libnet.netlink.RouteSocket,
libnet.sysctl).  ``RecordingHost`` is its stand-in for fast unit tests of
the controller logic: rtnetlink requests go to an in-memory model of the
namespaces and their links, built from the very bytes the verbs encode, and
every request is recorded (namespace, operation, bytes) for the test to read.
It models what the controller relies on: links created (a veth's peer in the
namespace its IFLA_NET_NS_FD names), looked up, changed, enslaved, deleted
(one by one or by group), namespaces whose deletion takes their veths' peers
with them, and failures injected per operation.  It is not a kernel: addresses
and routes are recorded and acknowledged, never checked.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
from dataclasses import dataclass, field
from typing import Any, NoReturn

from . import _netlink as nl
from . import netns as _netns
from . import sysctl as _sysctl
from .netlink import NetlinkError, RouteSocket

__all__ = ["HostOps", "RecordingHost", "Request", "SandboxNetns"]


class SandboxNetns:
    """A sandbox's namespace as ``netns_create`` makes it: its path, its
    loopback up and, until the first join takes them (``take``), an open fd
    of it and a route socket inside, so that the join neither opens the file
    again nor switches namespaces to make its socket (two setns).  Held
    open, both keep the namespace alive: ``close`` them before deleting it."""

    __slots__ = ("path", "_ns", "_sock")

    def __init__(self, path: str, ns: Any = None, sock: RouteSocket | None = None) -> None:
        self.path = path
        self._ns = ns
        self._sock = sock

    @classmethod
    def adopt(cls, path: str, ns_fd: int, sock_fd: int) -> "SandboxNetns":
        """Over the descriptors ``libnet.netns.make`` returned (-1: none)."""
        ns = _netns.NetNS(path, ns_fd, os.path.basename(path)) if ns_fd >= 0 else None
        sock = RouteSocket.over(nl.NetlinkSocket(fd=sock_fd)) if sock_fd >= 0 else None
        return cls(path, ns, sock)

    def take(self) -> tuple[Any, RouteSocket | None]:
        """The open namespace and the socket (each None if gone), now the caller's."""
        out = (self._ns, self._sock)
        self._ns = self._sock = None
        return out

    def close(self) -> None:
        """Close what was not taken.  Idempotent."""
        ns, sock = self.take()
        if sock is not None:
            sock.close()
        if ns is not None:
            ns.close()


class HostOps:
    """The real host: what the controller, its sandboxes and drivers call."""

    def route_socket(self, netns: Any = None) -> RouteSocket:
        return RouteSocket(netns)

    def netns_create(self, name: str, run_dir: str) -> "SandboxNetns":
        """A sandbox's namespace, made in one call of the core: mounted at
        ``run_dir/name``, its loopback up, with an fd of it and a route
        socket inside for the first join (``SandboxNetns``)."""
        path = os.path.join(run_dir, name)
        return SandboxNetns.adopt(path, *_netns.make(path, fd=True, route_socket=True,
                                                     loopback_up=True))

    def netns_open(self, ns: Any) -> Any:
        return _netns.open_netns(ns)

    def netns_delete(self, ns: Any, run_dir: str | None = None) -> None:
        _netns.delete(ns, run_dir)

    def netns_list(self, run_dir: str) -> list[str]:
        return _netns.list_netns(run_dir)

    def netns_live(self, path: str) -> bool:
        """A namespace file under the run dir is real only while bind-mounted."""
        try:
            return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
        except FileNotFoundError:
            return False

    def sysctl_write(self, key: str, value: Any, netns: Any = None) -> None:
        _sysctl.write(key, value, netns)

    def packet_socket(self, ifname: str, netns: Any = None) -> Any:
        """An AF_PACKET socket that sends whole frames on ``ifname``, in
        ``netns``.  Protocol 0: it receives nothing.  Closing one waits for
        an RCU grace period (packet_release calls synchronize_net), so the
        caller keeps it."""
        with _netns.enter(netns) if netns is not None else contextlib.nullcontext():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)
        try:
            s.bind((ifname, 0))
        except BaseException:
            s.close()
            raise
        return s


# ------------------------------------------------------------------ recording


@dataclass
class Request:
    """One rtnetlink request as the stand-in received it."""

    netns: str          # the namespace's path ("host" for the controller's)
    op: str             # the verb's operation name ("link_add_veth veth1 peer eth0", ...)
    raw: bytes          # the encoded request

    @property
    def message(self) -> Any:
        return nl.decode_messages(self.raw)[0]


@dataclass
class _Link:
    index: int
    name: str
    kind: str | None
    mac: str | None = None
    master: int | None = None
    up: bool = False
    group: int = 0
    peer: tuple[str, int] | None = None     # a veth's other end: (namespace, index)
    settings: dict = field(default_factory=dict)


class _Netns:
    def __init__(self, path: str):
        self.path = path
        self.links: dict[int, _Link] = {1: _Link(1, "lo", None)}
        self.next_index = itertools.count(2)
        self.addresses: list[tuple[int, Any]] = []
        self.neighbours: dict[tuple[int, Any], Any] = {}   # (ifindex, dst) -> lladdr

    def by_name(self, name: str) -> _Link | None:
        return next((l for l in self.links.values() if l.name == name), None)


class _FakeNetNS:
    """What netns_create / netns_open return: a path and a pretend descriptor."""

    def __init__(self, host: "RecordingHost", path: str):
        self.path = path
        self.name = os.path.basename(path)
        self._fd = host._new_fd(path)
        self._host = host

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        self._host._fds.pop(self._fd, None)

    def __enter__(self) -> "_FakeNetNS":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class RecordingHost(HostOps):
    """Namespaces and rtnetlink in memory; ``requests`` records every request.

    ``fail_on`` maps an operation-name prefix ("link_set veth",
    "route_replace default", ...) to an errno: the first request whose operation starts
    with it fails with that errno (once, unless ``sticky``).  ``sysctls``
    holds what was written, by (namespace, key); ``frames`` what packet
    sockets sent, as (namespace, interface, bytes).
    """

    HOST = "host"

    def __init__(self) -> None:
        self.namespaces: dict[str, _Netns] = {self.HOST: _Netns(self.HOST)}
        self.requests: list[Request] = []
        self.sysctls: dict[tuple[str, str], str] = {}
        self.frames: list[tuple[str, str, bytes]] = []
        self.fail_on: dict[str, int] = {}
        self.sticky = False
        self._fds: dict[int, str] = {}
        self._fd_numbers = itertools.count(100000)

    # -- the HostOps interface
    def route_socket(self, netns: Any = None) -> RouteSocket:
        return RouteSocket.over(_RecordingSocket(self, self._key(netns)))

    def netns_create(self, name: str, run_dir: str) -> SandboxNetns:
        path = os.path.join(run_dir, name)
        if path in self.namespaces:
            raise FileExistsError(errno.EEXIST, "namespace exists", path)
        self.namespaces[path] = _Netns(path)
        sock = self.route_socket(path)
        sock.link_set("lo", up=True)            # (made inside, as the core does)
        return SandboxNetns(path, _FakeNetNS(self, path), sock)

    def netns_open(self, ns: Any) -> _FakeNetNS:
        return _FakeNetNS(self, self._key(ns))

    def netns_delete(self, ns: Any, run_dir: str | None = None) -> None:
        if isinstance(ns, _FakeNetNS):
            key = ns.path
        else:
            key = os.fspath(ns)
            if "/" not in key and run_dir is not None:
                key = os.path.join(run_dir, key)
        gone = self.namespaces.pop(key, None)        # deleting a gone one is fine
        if gone is None:
            return
        # The kernel destroys the namespace's links, and so each veth's peer.
        for link in gone.links.values():
            if link.peer and link.peer[0] in self.namespaces:
                self.namespaces[link.peer[0]].links.pop(link.peer[1], None)

    def netns_list(self, run_dir: str) -> list[str]:
        return sorted(os.path.basename(p) for p in self.namespaces
                      if os.path.dirname(p) == run_dir)

    def netns_live(self, path: str) -> bool:
        return path in self.namespaces

    def sysctl_write(self, key: str, value: Any, netns: Any = None) -> None:
        path = key if "/" in key else key.replace(".", "/")     # as libnet.sysctl reads keys
        self.sysctls[(self._key(netns), path)] = str(value)

    def packet_socket(self, ifname: str, netns: Any = None) -> "_RecordingPacketSocket":
        key = self._key(netns)
        if self.namespaces[key].by_name(ifname) is None:
            raise OSError(errno.ENODEV, "no such device", ifname)
        return _RecordingPacketSocket(self, key, ifname)

    # -- for tests
    def links(self, netns: str = HOST) -> dict[str, _Link]:
        return {l.name: l for l in self.namespaces[netns].links.values()}

    def ops(self, netns: str | None = None) -> list[str]:
        return [r.op for r in self.requests if netns is None or r.netns == netns]

    # -- internals
    def _new_fd(self, path: str) -> int:
        fd = next(self._fd_numbers)
        self._fds[fd] = path
        return fd

    def _key(self, ns: Any) -> str:
        if ns is None:
            return self.HOST
        if isinstance(ns, _FakeNetNS):
            return ns.path
        if isinstance(ns, int) and not isinstance(ns, bool):
            if ns not in self._fds:
                raise OSError(errno.EBADF, "not a namespace descriptor of this host")
            return self._fds[ns]
        path = os.fspath(ns)
        if path not in self.namespaces:
            raise FileNotFoundError(errno.ENOENT, "no such namespace in this RecordingHost", path)
        return path


class _RecordingPacketSocket:
    """Stands for an AF_PACKET socket: records what it sends."""

    def __init__(self, host: RecordingHost, netns: str, ifname: str):
        self.host, self.netns, self.ifname = host, netns, ifname
        self.closed = False

    def send(self, frame: bytes) -> int:
        if self.closed:
            raise OSError(errno.EBADF, "closed")
        self.host.frames.append((self.netns, self.ifname, bytes(frame)))
        return len(frame)

    def close(self) -> None:
        self.closed = True


class _RecordingSocket:
    """Stands for libnet._netlink.NetlinkSocket under a RouteSocket."""

    def __init__(self, host: RecordingHost, netns: str):
        self.host = host
        self.netns = netns

    def close(self) -> None:
        pass

    def request(self, msg: bytes, op: str | None = None) -> list:
        return self.batch([msg], [op or "request"])[0]

    def batch(self, msgs: list, ops: list | None = None, check: bool = True) -> list:
        ops = ops or ["request"] * len(msgs)
        replies: list = []
        errors: list[NetlinkError] = []
        for i, (msg, op) in enumerate(zip(msgs, ops)):
            self.host.requests.append(Request(self.netns, op, bytes(msg)))
            try:
                replies.append(self._apply(bytes(msg), op))
            except NetlinkError as e:
                e.index = i
                errors.append(e)
                replies.append(e)
        if errors and check:
            first = errors[0]
            first.errors = errors
            raise first
        return replies

    def dump(self, msg: bytes, op: str | None = None) -> list:
        m = nl.decode_messages(bytes(msg))[0]
        if m.type != nl.RTM_GETLINK:
            return []
        ns = self.host.namespaces[self.netns]
        attrs = m.attrs
        kind = (attrs.get("linkinfo") or {}).get("kind")
        out = [l for l in ns.links.values()
               if (kind is None or l.kind == kind)
               and ("master" not in attrs or l.master == attrs["master"])]
        return [self._link_message(l) for l in out]

    # -- the model
    def _fail(self, op: str, code: int) -> NoReturn:
        raise nl.netlink_error(code, "injected by RecordingHost", op)

    def _apply(self, msg: bytes, op: str) -> list:
        for prefix, code in list(self.host.fail_on.items()):
            if op.startswith(prefix):
                if not self.host.sticky:
                    del self.host.fail_on[prefix]
                self._fail(op, code)
        m = nl.decode_messages(msg)[0]
        ns = self.host.namespaces.get(self.netns)
        if ns is None:
            self._fail(op, errno.EBADF)
        t = m.type
        if t == nl.RTM_NEWLINK:
            return self._newlink(ns, m, op)
        if t == nl.RTM_DELLINK:
            return self._dellink(ns, m, op)
        if t == nl.RTM_GETLINK:
            return [self._link_message(self._find(ns, m, op))]
        if t == nl.RTM_NEWADDR:
            entry = (m.header["index"], m.attrs.get("local") or m.attrs.get("address"))
            if entry in ns.addresses:
                self._fail(op, errno.EEXIST)
            ns.addresses.append(entry)
        if t in (nl.RTM_NEWNEIGH, nl.RTM_DELNEIGH):
            key = (m.header["ifindex"], m.attrs.get("dst"))
            if t == nl.RTM_DELNEIGH or not m.msg_flags & nl.NLM_F_CREATE:
                if key not in ns.neighbours:
                    self._fail(op, errno.ENOENT)
            elif m.msg_flags & nl.NLM_F_EXCL and key in ns.neighbours:
                self._fail(op, errno.EEXIST)
            if t == nl.RTM_DELNEIGH:
                del ns.neighbours[key]
            else:
                ns.neighbours[key] = m.attrs.get("lladdr")
        return []

    def _find(self, ns: _Netns, m: Any, op: str) -> _Link:
        index = m.header.get("index") or 0
        name = m.attrs.get("ifname")
        link = ns.links.get(index) if index else (ns.by_name(name) if name else None)
        if link is None:
            self._fail(op, errno.ENODEV)
        return link

    def _newlink(self, ns: _Netns, m: Any, op: str) -> list:
        a, h = m.attrs, m.header
        if m.msg_flags & nl.NLM_F_CREATE:
            name = a["ifname"]
            if ns.by_name(name) is not None:
                self._fail(op, errno.EEXIST)
            info = a.get("linkinfo") or {}
            link = _Link(next(ns.next_index), name, info.get("kind"), a.get("address"),
                         a.get("master"), bool(h.get("flags", 0) & nl.IFF_UP), a.get("group", 0))
            ns.links[link.index] = link
            if link.kind == "veth":
                peer = (info.get("data") or {}).get("peer") or {}
                where = self.host._key(peer["net_ns_fd"]) if "net_ns_fd" in peer else ns.path
                pns = self.host.namespaces[where]
                p = _Link(next(pns.next_index), peer["ifname"], "veth", peer.get("address"),
                          group=peer.get("group", 0), peer=(ns.path, link.index))
                pns.links[p.index] = p
                link.peer = (where, p.index)
            if m.msg_flags & nl.NLM_F_ECHO:
                return [self._link_message(link)]
            return []
        link = self._find(ns, m, op)
        if h.get("change", 0) & nl.IFF_UP:
            link.up = bool(h.get("flags", 0) & nl.IFF_UP)
        if "master" in a:
            master = ns.links.get(a["master"]) if a["master"] else None
            if a["master"] and (master is None or master.kind != "bridge"):
                self._fail(op, errno.EINVAL)
            link.master = a["master"] or None
        for key in ("address", "group"):
            if key in a:
                setattr(link, "mac" if key == "address" else key, a[key])
        if "af_spec" in a:
            link.settings.update(a["af_spec"])
        return []

    def _dellink(self, ns: _Netns, m: Any, op: str) -> list:
        group = m.attrs.get("group")
        if group is not None and not m.header.get("index") and "ifname" not in m.attrs:
            doomed = [l for l in ns.links.values() if l.group == group]
            if not doomed:
                self._fail(op, errno.ENODEV)
        else:
            doomed = [self._find(ns, m, op)]
        for link in doomed:
            ns.links.pop(link.index, None)
            if link.peer and link.peer[0] in self.host.namespaces:
                self.host.namespaces[link.peer[0]].links.pop(link.peer[1], None)
        return []

    def _link_message(self, link: _Link) -> Any:
        attrs: dict = {"ifname": link.name, "group": link.group}
        if link.mac:
            attrs["address"] = link.mac
        if link.master:
            attrs["master"] = link.master
        if link.peer:
            attrs["link"] = link.peer[1]
        if link.kind:
            attrs["linkinfo"] = {"kind": link.kind}
        raw = nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0,
                                {"index": link.index, "flags": nl.IFF_UP if link.up else 0},
                                attrs)
        return nl.decode_messages(raw)[0]
