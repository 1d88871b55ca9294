"""Sandbox namespaces made ahead of time by a background thread.

Making a network namespace is most of the kernel's work in ``new_sandbox``:
``unshare(CLONE_NEWNET)`` runs every subsystem's per-namespace setup, about
0.4-0.7 ms here, and a bind mount keeps the namespace alive.  None of it
depends on the sandbox, so a thread of the controller keeps a few namespaces
made, each under the run directory at the name of a fresh sandbox id, and
``new_sandbox`` takes one: the sandbox gets that id.  When none is ready
(the first sandbox, a burst faster than the thread), ``new_sandbox`` makes
its own, as without a pool.

The thread is woken when the pool is down to half, and then makes it whole
again: one wake-up (a futex call for the caller) per ``size // 2``
namespaces taken.  It runs at normal priority: at idle priority (SCHED_IDLE,
as libnet.reaper's workers) it started later, overlapped the join more, and
the setup p50 gained half as much (a patched copy, five paired runs).
``bench/ahead.py -n 1000 --rounds 3`` on this 2-CPU machine, in line / made
ahead (one replacement per take, then), per round:

- setup p50 2.91 / 2.67, 3.61 / 3.24, 3.84 / 2.85 ms;
- the loop's wall time 3.18 / 2.79, 3.82 / 3.38, 3.97 / 2.99 s;
- the process's CPU time per container 2.86 / 3.09, 3.49 / 4.07, 3.58 /
  3.83 ms: the work moves to the other CPU, and costs a little more there.

Each comes as ``HostOps.netns_create`` makes one: its loopback up, an fd of
it and a route socket made inside (``libnet.netns.make``, one call of the
core without the GIL, so that the thread holds up the caller's Python code
once per namespace).

A namespace the pool holds is one libnet's store does not know, so a crash
leaves it to the next start's reconcile pass, which removes unknown
namespaces under the run directory.  A running controller's ``reconcile``
skips the names the pool holds (``held``), which are reserved before their
namespace is made.  ``close`` stops the thread, closes the descriptors of
what nobody took and returns their paths, for the caller to delete; a
process that exits without stopping its controller deletes them at exit
(an ``atexit`` hook).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import Callable

from . import netns

__all__ = ["NamespacePool"]

log = logging.getLogger("libnet")

_running: "weakref.WeakSet[NamespacePool]" = weakref.WeakSet()


@atexit.register
def _delete_all() -> None:
    for pool in list(_running):
        for path in pool.close():
            try:
                netns.delete(path)
            except OSError as e:
                log.warning("libnet: deleting namespace %s at exit: %s", path, e)


class NamespacePool:
    """Up to ``size`` namespaces kept made under ``run_dir``, each named by
    ``new_name()``.  The thread starts with the first ``take``."""

    def __init__(self, run_dir: str, size: int, new_name: Callable[[], str]) -> None:
        if size < 1:
            raise ValueError("a namespace pool holds at least one namespace")
        self.run_dir = run_dir
        self.size = size
        self._low = size // 2               # wake the thread at this many left
        self._new_name = new_name
        self._cond = threading.Condition()
        self._ready: list[tuple[str, int, int]] = []   # (name, ns fd, socket fd), oldest first
        self._making: str | None = None      # reserved, being made
        self._thread: threading.Thread | None = None
        self._closed = False
        self.failed: BaseException | None = None   # why the thread stopped early

    def take(self) -> tuple[str, int, int] | None:
        """A namespace made ahead: its name, an fd of it and the fd of a
        route socket inside (now the caller's), or None."""
        with self._cond:
            if self._closed or self.failed is not None:
                return None
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="libnet-netns-pool",
                                                daemon=True)
                self._thread.start()
                _running.add(self)
            if not self._ready:
                return None
            made = self._ready.pop(0)
            if len(self._ready) <= self._low:
                self._cond.notify()
            return made

    def held(self) -> set[str]:
        """Names of the namespaces the pool holds or is making."""
        with self._cond:
            return {*(n for n, _, _ in self._ready), *([self._making] if self._making else [])}

    def close(self) -> list[str]:
        """Stop the thread; close the descriptors of the namespaces it made
        and nobody took, and return their paths (the caller deletes them).
        Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._cond:
            left, self._ready = self._ready, []
        _running.discard(self)
        for _, ns_fd, sock_fd in left:
            os.close(ns_fd)
            os.close(sock_fd)
        return [os.path.join(self.run_dir, n) for n, _, _ in left]

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or len(self._ready) <= self._low)
                if self._closed:
                    return
            if not self._fill():
                return

    def _fill(self) -> bool:
        """Make namespaces until the pool is whole or closed: False if
        making one failed (the thread then stops)."""
        while True:
            with self._cond:
                if self._closed or len(self._ready) >= self.size:
                    return True
                name = self._making = self._new_name()
            try:
                # This thread switches namespaces nowhere else: no need to
                # hold up other threads' switches.
                ns_fd, sock_fd = netns.make(os.path.join(self.run_dir, name), fd=True,
                                            route_socket=True, loopback_up=True,
                                            serialize=False)
            except Exception as e:
                log.warning("libnet: making namespaces ahead stopped: %s", e)
                with self._cond:
                    self._making = None
                    self.failed = e
                return False
            with self._cond:
                self._making = None
                self._ready.append((name, ns_fd, sock_fd))
