"""Network namespaces: create (bind-mounted), open, enter and restore, delete.

A namespace made here lives as long as its bind mount: ``create`` unshares a
new network namespace on the calling thread, bind-mounts the thread's
``/proc/thread-self/ns/net`` on a file under the run directory, and moves the
thread back.  No process is started.  The run directory is
``$LIBNET_RUN_DIR/netns`` (default ``/run/libnet/netns``) unless a
``run_dir`` is given; tests point it at a temporary folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
from typing import Iterator, Union

from . import _netlink, sysctl

__all__ = ["NetNS", "create", "make", "open_netns", "delete", "enter", "list_netns",
           "default_run_dir", "NetNSLike"]

_THREAD_NETNS = "/proc/thread-self/ns/net"


def default_run_dir() -> str:
    """Where named namespaces are mounted: ``$LIBNET_RUN_DIR/netns``."""
    return os.path.join(os.environ.get("LIBNET_RUN_DIR", "/run/libnet"), "netns")


def _check_name(name: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"a namespace name is a string, not {type(name).__name__}")
    if not name or name in (".", "..") or "/" in name or "\0" in name or len(name) > 255:
        raise ValueError(f"invalid namespace name {name!r}")


class NetNS:
    """An open network namespace: a name (if it has one), a path and an fd.

    Usable wherever libnet takes a namespace; close it (or use ``with``) to
    release the descriptor.  The namespace itself lives on while it is
    mounted or in use.
    """

    __slots__ = ("name", "path", "_fd")

    def __init__(self, path: str, fd: int, name: str | None = None):
        self.path = path
        self.name = name
        self._fd = fd

    def fileno(self) -> int:
        if self._fd < 0:
            raise ValueError(f"namespace {self.path} is closed")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "NetNS":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"<NetNS {self.name or self.path}{' closed' if self.closed else ''}>"


NetNSLike = Union[NetNS, str, int, os.PathLike]


def create(name: str, run_dir: str | None = None,
           sysctls: dict[str, str] | None = None, keep_open: bool = True,
           serialize: bool = True) -> NetNS:
    """Create a network namespace mounted at ``run_dir/name``; return it
    open (with ``keep_open=False``, closed: its path only).

    ``sysctls`` ({"net/ipv4/conf/default/arp_notify": "1", ...}, paths under
    /proc/sys) are written inside the new namespace while the thread is
    there anyway, before it returns.  Raises FileExistsError if the name is
    taken.  On failure nothing is left behind (no mount, no file).

    The thread's switch into the new namespace and back is serialised with
    the core's other switches (``_netlink._netns_lock``); ``serialize=False``
    skips that, for a thread of its own that switches nowhere else (a
    namespace takes ~0.4 ms to make: the lock would hold up other threads'
    sockets opened in namespaces meanwhile).
    """
    _check_name(name)
    run_dir = run_dir or default_run_dir()
    path = os.path.join(run_dir, name)
    if not sysctls:
        fd, _ = make(path, fd=keep_open, serialize=serialize)
        return NetNS(path, fd, name)
    flags = os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        os.close(os.open(path, flags, 0o444))
    except FileNotFoundError:                 # the first one: make the run directory
        os.makedirs(run_dir, exist_ok=True)
        os.close(os.open(path, flags, 0o444))
    try:
        with (_netlink._netns_lock if serialize else contextlib.nullcontext()):
            cur = os.open(_THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _netlink.unshare(_netlink.CLONE_NEWNET_FLAG)
                try:
                    for key, value in sysctls.items():
                        sysctl.write(key, value)
                    _netlink.mount(_THREAD_NETNS, path, "none", _netlink.MS_BIND_FLAG)
                finally:
                    _netlink.setns(cur, _netlink.CLONE_NEWNET_FLAG)
            finally:
                os.close(cur)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC) if keep_open else -1
    except BaseException:
        _remove(path)
        raise
    return NetNS(path, fd, name)


def make(path: str, *, fd: bool = False, route_socket: bool = False,
         loopback_up: bool = False, serialize: bool = True) -> tuple[int, int]:
    """A namespace mounted at ``path`` (its folder made if missing), in one
    call of the core, without the GIL (``_netlink.make_netns``); with, if
    asked, an open fd of it, a NETLINK_ROUTE socket made inside, and its
    loopback up.  Returns (namespace fd, socket fd), -1 for what was not
    asked for; the caller owns them.  ``serialize`` as for ``create``."""
    with (_netlink._netns_lock if serialize else contextlib.nullcontext()):
        try:
            return _netlink.make_netns(path, fd, route_socket, loopback_up)
        except FileNotFoundError:
            # The first one: make the folder (or another thread just did),
            # and try once more.
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return _netlink.make_netns(path, fd, route_socket, loopback_up)


def open_netns(ns: NetNSLike, run_dir: str | None = None) -> NetNS:
    """Open a namespace by name (under ``run_dir``), path, or file descriptor.

    A name has no slash; a path does.  An int is a descriptor, duplicated so
    the caller keeps its own.
    """
    if isinstance(ns, NetNS):
        return NetNS(ns.path, os.dup(ns.fileno()), ns.name)
    if isinstance(ns, bool):
        raise TypeError("a namespace is a NetNS, name, path or file descriptor")
    if isinstance(ns, int):
        return NetNS(f"/proc/self/fd/{ns}", os.dup(ns))
    if isinstance(ns, os.PathLike):
        ns = os.fspath(ns)
    if not isinstance(ns, str):
        raise TypeError(f"a namespace is a NetNS, name, path or file descriptor, not {type(ns).__name__}")
    if "/" in ns:
        path, name = ns, None
    else:
        _check_name(ns)
        path, name = os.path.join(run_dir or default_run_dir(), ns), ns
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return NetNS(path, fd, name)


def _remove(path: str) -> None:
    try:
        _netlink.umount(path, _netlink.MNT_DETACH_FLAG)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOENT):
            raise
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def delete(ns: NetNS | str, run_dir: str | None = None) -> None:
    """Unmount and remove a named namespace.  Deleting one that is gone is fine.

    The kernel destroys the namespace, and every link in it, once the last
    reference (mount, open fd, process, socket) goes away.
    """
    if isinstance(ns, NetNS):
        path = ns.path
        ns.close()
    elif "/" in ns:
        path = ns
    else:
        _check_name(ns)
        path = os.path.join(run_dir or default_run_dir(), ns)
    _remove(path)


def list_netns(run_dir: str | None = None) -> list[str]:
    """Names of the namespaces under the run directory."""
    try:
        return sorted(os.listdir(run_dir or default_run_dir()))
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def enter(ns: NetNSLike, run_dir: str | None = None) -> Iterator[NetNS]:
    """Run a block with the current thread inside ``ns``, then return.

    Sockets opened inside stay bound to ``ns`` after the block.  Only this
    thread moves; other threads are unaffected.
    """
    target = open_netns(ns, run_dir)
    cur = os.open(_THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _netlink.setns(target.fileno(), _netlink.CLONE_NEWNET_FLAG)
        try:
            yield target
        finally:
            _netlink.setns(cur, _netlink.CLONE_NEWNET_FLAG)
    finally:
        os.close(cur)
        target.close()
