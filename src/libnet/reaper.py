"""Work a delete leaves behind, done by a background thread.

Unmounting a deleted sandbox's namespace waits for an RCU grace period
(``namespace_unlock`` calls ``synchronize_rcu_expedited``): about 0.1 ms on
an idle host, and 10-200 ms while the kernel is destroying other
namespaces, because the grace period then queues behind the expedited
ones ``cleanup_net`` asks for (``perf record -e sched:sched_switch -g`` of a
teardown run: every blocked unmount is in ``synchronize_rcu_expedited``).
The waiting is not work, so it need not hold up the caller: once the
sandbox's records are deleted and its ports unpublished, nothing can reach
the namespace through libnet, and its unmount and the removal of its files
run here.  Two threads by default: concurrent unmounts share grace periods
(2,000 sandboxes with 4 published ports, deleted back to back: 1.0-1.1 s
from the first delete to the last unmount with two, 1.6 s with one, 1.4-1.9
s inline; bench/release.py).

The threads run at idle priority (SCHED_IDLE): they take a CPU only when
nothing else wants it, so they do not preempt the caller's next delete.  At
normal priority, a worker woken by its finished unmount took the caller's
CPU: `perf record -e sched:sched_switch` of 2,000 deletes back to back
counted ~300 such preemptions of the caller.  Idle, the calls' p99 was
0.35-0.68 ms against 0.62-1.21 ms in eight paired runs (bench/release.py
--modes "2 threads,2 normal", and the same loop timed alone), for a last
unmount about 0.1 s later.  A worker is not starved: an unmount is mostly a
wait, and an idle-priority thread still gets a small share of a busy CPU.

A crash before they run leaves an unknown namespace and folder under the
run directory, which the controller's reconcile pass removes at the next
start.  ``wait`` blocks until everything submitted so far is done (the
controller's ``wait_released``, ``reconcile`` and ``stop`` call it); a
process that exits without stopping its controller finishes the queue at
exit (an ``atexit`` hook).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import weakref
from typing import Any, Callable

__all__ = ["Reaper"]

log = logging.getLogger("libnet")

_running: "weakref.WeakSet[Reaper]" = weakref.WeakSet()


@atexit.register
def _finish_all() -> None:
    for reaper in list(_running):
        reaper.close()


class Reaper:
    """``workers`` daemon threads running submitted calls, taken in
    submission order (with one worker, run in that order too).

    The threads start with the first submission, at idle priority unless
    ``idle`` is false.  A call that raises is logged and counted
    (``failures``); the others still run.
    """

    def __init__(self, name: str = "libnet-reaper", workers: int = 2, idle: bool = True) -> None:
        if workers < 1:
            raise ValueError("a reaper needs at least one worker")
        self._name = name
        self._workers = workers
        self._idle = idle
        self._queue: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        # One lock, two conditions: a submission wakes one worker and a
        # finished call wakes only those waiting for the queue to drain.  A
        # spurious wake-up costs the caller's thread a handoff of the GIL in
        # the middle of its next delete.
        lock = threading.Lock()
        self._work = threading.Condition(lock)
        self._done = threading.Condition(lock)
        self._pending = 0          # submitted, not finished
        self._threads: list[threading.Thread] = []
        self._closed = False
        self.failures = 0

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._work:
            if self._closed:
                raise RuntimeError("the reaper is closed")
            self._queue.append((fn, args))
            self._pending += 1
            if not self._threads:
                for _ in range(self._workers):
                    t = threading.Thread(target=self._run, name=self._name, daemon=True)
                    t.start()
                    self._threads.append(t)
                _running.add(self)
            self._work.notify()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every call submitted so far has run; False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Run what is queued, then stop the threads.  Idempotent."""
        with self._work:
            self._closed = True
            self._work.notify_all()
            threads = list(self._threads)
        for t in threads:
            if t is not threading.current_thread():
                t.join()

    def _run(self) -> None:
        if self._idle:
            try:            # (this thread only; lowering needs no privilege)
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            except (OSError, AttributeError):
                pass
        while True:
            with self._work:
                self._work.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return                    # closed and drained
                fn, args = self._queue.popleft()
            failed = False
            try:
                fn(*args)
            except Exception:
                failed = True
                log.exception("libnet: background release failed: %s%r",
                              getattr(fn, "__qualname__", fn), args)
            finally:
                with self._done:
                    self._pending -= 1
                    self.failures += failed
                    if self._pending == 0:
                        self._done.notify_all()
