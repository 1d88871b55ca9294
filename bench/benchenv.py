"""Throwaway namespaces for the benchmarks, and the checks that keep them safe.

Nothing in bench/ may touch the host's network namespace.  The process runs
under ``unshare --net --mount`` (``require_isolation`` refuses otherwise),
every benchmark creates its own namespaces here (``libnet.netns.create``
under a private temporary run directory), and its sockets are checked to
be inside them (SIOCGSKNS gives a socket's namespace).

Kernel cleanup: deleting a namespace destroys its links asynchronously (a
workqueue, under RTNL).  If the next round started while that runs, it would
compete for RTNL and a CPU, so ``Env.destroy`` deletes the namespace holding
one end of some veths and waits until the other ends are gone, watched from
a socket in the surviving namespace, before deleting that one and pausing
briefly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import itertools
import os
import shutil
import socket
import struct
import tempfile
import time
from typing import Any, Callable, Iterator

from libnet import _netlink as nl
from libnet import netns
from libnet.netlink import RouteSocket

SIOCGSKNS = 0x894C         # linux/sockios.h: a socket's network namespace, as an fd
SETTLE_SECONDS = 0.5       # pause after a round's namespaces are gone


# ----------------------------------------------------------------- isolation

def _ns_inode(path: str) -> int:
    return os.stat(path).st_ino


def _ancestors():
    """PIDs of our parent, its parent, ... up to PID 1 (as far as /proc shows)."""
    pid, seen = os.getppid(), set()
    while pid > 0 and pid not in seen:
        seen.add(pid)
        yield pid
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return


def require_isolation() -> None:
    """Refuse to run unless this process has network and mount namespaces of
    its own, as under ``unshare --net --mount``.

    The test is "some ancestor process is in a different namespace": PID 1's
    namespaces are not always readable (here, EACCES even for root), and an
    unreadable PID 1 must not pass for isolation.  From a shell in the host's
    namespaces every ancestor shares ours, so this refuses.
    """
    for kind in ("net", "mnt"):
        mine = _ns_inode(f"/proc/self/ns/{kind}")
        for pid in _ancestors():
            try:
                if _ns_inode(f"/proc/{pid}/ns/{kind}") != mine:
                    break
            except OSError:
                continue
        else:
            raise RuntimeError(
                f"refusing to benchmark: this process shares its {kind} namespace with "
                "every ancestor, i.e. it may be the host's; run under "
                "`unshare --net --mount` (see bench/README.md)")


def socket_netns_inode(fd: int) -> int:
    """The inode of the network namespace a socket belongs to (SIOCGSKNS)."""
    nsfd = fcntl.ioctl(fd, SIOCGSKNS)
    try:
        return os.fstat(nsfd).st_ino
    finally:
        os.close(nsfd)


def check_socket_in(fd: int, ns: netns.NetNS, who: str) -> None:
    if socket_netns_inode(fd) != os.fstat(ns.fileno()).st_ino:
        raise RuntimeError(f"{who}: socket is not in the benchmark's namespace {ns.path}")


# ----------------------------------------------------------------- namespaces

class Env:
    """Throwaway namespaces under a private temporary run directory."""

    def __init__(self) -> None:
        require_isolation()
        self.run_dir = tempfile.mkdtemp(prefix="libnet-bench-")
        self._ids = itertools.count()
        self._live: dict[str, netns.NetNS] = {}

    def create(self, prefix: str) -> netns.NetNS:
        ns = netns.create(f"{prefix}{next(self._ids)}", run_dir=self.run_dir)
        self._live[ns.path] = ns
        return ns

    def delete(self, ns: netns.NetNS) -> None:
        self._live.pop(ns.path, None)
        netns.delete(ns)

    def destroy(self, doomed: netns.NetNS, observer: netns.NetNS, timeout: float = 120.0) -> None:
        """Delete ``doomed``, wait until the kernel has removed the veth ends
        it took along from ``observer`` (only lo left), then delete
        ``observer`` and let the kernel settle."""
        with RouteSocket(observer) as watch:
            self.delete(doomed)
            deadline = time.monotonic() + timeout
            while len(watch.link_dump()) > 1:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"links of {doomed.path} still present after {timeout:.0f} s: "
                        "something still holds that namespace")
                time.sleep(0.02)
        self.delete(observer)
        time.sleep(SETTLE_SECONDS)

    def close(self) -> None:
        for ns in list(self._live.values()):
            self.delete(ns)
        shutil.rmtree(self.run_dir, ignore_errors=True)


@dataclasses.dataclass
class Case:
    """One contender of a scenario.

    ``setup()`` builds everything the timed part needs (namespaces, open
    sockets, names, pre-built bytes) and returns a state; ``run(state)`` is
    the timed part, one iteration; ``teardown(state)`` checks the result,
    closes what setup opened and deletes the namespaces, outside the timing.
    """
    group: str
    contender: str
    setup: Callable[[], Any]
    run: Callable[[Any], Any]
    teardown: Callable[[Any], None]
    doc: str = ""


def send_and_ack(sock: socket.socket, data: bytes | bytearray, count: int,
                 rbuf: bytearray, tolerate: tuple[int, ...] = ()) -> None:
    """Send requests (one datagram), read ``count`` acks; raise on an error
    (but for the errnos in ``tolerate``, which count as acks)."""
    sock.send(data)
    acked = 0
    while acked < count:
        n = sock.recv_into(rbuf)
        off = 0
        while off < n:
            length, mtype = struct.unpack_from("=IH", rbuf, off)
            if mtype == nl.NLMSG_ERROR:
                err = struct.unpack_from("=i", rbuf, off + 16)[0]
                if err and -err not in tolerate:
                    raise OSError(-err, f"request failed: {os.strerror(-err)}")
                acked += 1
            off += (length + 3) & ~3


@contextlib.contextmanager
def started_system(root: str, name: str) -> Iterator[tuple[Any, Any]]:
    """``libnet bench``'s ``name`` system ("libnet" or "kernel") started in a
    host namespace of its own, made under ``root``; yields (system, its
    libnet.benchmark.systems.Context), then stops it and deletes that
    namespace."""
    from libnet.benchmark import systems
    d = os.path.join(root, f"{name}-{time.monotonic_ns()}")
    for sub in ("ns", "run"):
        os.makedirs(os.path.join(d, sub))
    ctx = systems.Context(name, netns.create("host", d), d, os.path.join(d, "ns"),
                          os.path.join(d, "run"))
    system = {"libnet": systems.LibnetSystem, "kernel": systems.KernelSystem}[name]()
    system.start(ctx)
    try:
        yield system, ctx
    finally:
        system.stop()
        ctx.host.close()
        netns.delete(ctx.host)


@contextlib.contextmanager
def private_tmpfs(prefix: str) -> Iterator[str]:
    """A temporary directory with a tmpfs mounted on it, in this process's
    (private) mount namespace; unmounted and removed afterwards, which takes
    along every namespace mounted under it."""
    root = tempfile.mkdtemp(prefix=prefix)
    nl.mount("tmpfs", root, "tmpfs", 0, "mode=0755")
    try:
        yield root
    finally:
        nl.umount(root, nl.MNT_DETACH_FLAG)
        os.rmdir(root)
