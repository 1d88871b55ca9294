"""The benchmark's run directory: one well-known place for all of its state.

Everything a run creates on the host's file system lives under one
directory (``$LIBNET_RUN_DIR/bench``, default ``/run/libnet/bench``): the
bind mounts of every network namespace it makes (its private host
namespaces and every container's), libnet's data and run directories, the
peers' configuration and IPAM state.  Every kernel object it creates lives
in those namespaces, so unmounting them and removing the directory removes
everything.  Each system's runtime state (container namespaces, libnet's run
directory) is on a tmpfs mounted there, as /run is on a host; data (libnet's
SQLite store, the peers' IPAM files) is on the directory's own file system.

A run holds an ``flock`` on ``.lock`` inside the directory for its whole
life.  The kernel drops the lock when the process dies, however it dies
(SIGKILL included), so the next run can tell a live run (refuses to start)
from the leftovers of a dead one (removed before it starts).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil

from .. import _netlink

__all__ = ["RunDir", "RunInProgress", "default_path", "mounts_under"]

LOCK = ".lock"


class RunInProgress(RuntimeError):
    """Another live run holds the run directory."""


def default_path() -> str:
    return os.path.join(os.environ.get("LIBNET_RUN_DIR", "/run/libnet"), "bench")


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and len(field[i + 1:i + 4]) == 3 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mounts_under(path: str) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace, in mount
    order (a later mount may sit on an earlier one)."""
    root = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = _unescape(line.split()[4])
            if point == root or point.startswith(root + "/"):
                found.append(point)
    return found


class RunDir:
    """The run directory of one benchmark run (see the module docstring)."""

    def __init__(self, path: str | None = None):
        self.path = os.path.abspath(path or default_path())
        self._lock_fd = -1
        self.leftovers: list[str] = []

    def sub(self, *parts: str) -> str:
        p = os.path.join(self.path, *parts)
        os.makedirs(p, exist_ok=True)
        return p

    def tmpfs(self, *parts: str) -> str:
        """A tmpfs mounted at ``parts`` under the directory (made if need
        be): runtime state lives on one, as /run does on a host.  ``clean``
        unmounts it with the rest."""
        p = self.sub(*parts)
        _netlink.mount("tmpfs", p, "tmpfs", 0, "mode=0755")
        return p

    def remove(self, *parts: str) -> None:
        """Unmount what is mounted under ``parts`` and remove it: a system's
        folder before it runs again (``libnet bench --rounds``)."""
        p = os.path.realpath(os.path.join(self.path, *parts))
        for point in reversed(mounts_under(p)):
            try:
                _netlink.umount(point, _netlink.MNT_DETACH_FLAG)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOENT):
                    raise
        shutil.rmtree(p, ignore_errors=True)

    def acquire(self) -> list[str]:
        """Take the directory; remove what a dead earlier run left (returned
        as a list of what was removed).  RunInProgress if a live run has it."""
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(os.path.join(self.path, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RunInProgress(f"another benchmark run is using {self.path}") from None
            raise
        self._lock_fd = fd
        self.leftovers = self.clean()
        return self.leftovers

    def clean(self) -> list[str]:
        """Unmount every namespace under the directory and remove its
        contents (but the lock).  Returns what was there."""
        removed = []
        for point in reversed(mounts_under(self.path)):
            if point == os.path.realpath(self.path):
                continue
            try:
                _netlink.umount(point, _netlink.MNT_DETACH_FLAG)
                removed.append(point)
            except OSError as e:
                if e.errno not in (errno.EINVAL, errno.ENOENT):
                    raise
        for entry in sorted(os.listdir(self.path)):
            if entry == LOCK:
                continue
            p = os.path.join(self.path, entry)
            removed.append(p)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        return sorted(set(removed))

    def release(self) -> None:
        """Clean up and remove the directory itself."""
        if self._lock_fd < 0:
            return
        self.clean()
        try:
            os.unlink(os.path.join(self.path, LOCK))
        except FileNotFoundError:
            pass
        os.close(self._lock_fd)
        self._lock_fd = -1
        try:
            os.rmdir(self.path)
        except OSError:
            pass
