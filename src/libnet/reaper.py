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
run here.  Concurrent unmounts share grace periods: an expedited grace
period serves every unmount waiting when it starts, so sixteen threads by
default (idle threads cost nothing; an earlier session measured 1.0-1.1 s
from the first of 2,000 deletes to the last unmount with two threads, 1.6
s with one, 1.4-1.9 s inline).

The work starts once deletes pause (``quiet``, 5 ms; at most ``max_delay``,
1 s, after the oldest waiting call), so that a burst of deletes does not
share the CPUs with the unmounts' grace periods and with the kernel's
destruction of the namespaces they release; one worker watches the clock,
the others wait for it, so a burst costs the caller no wake-ups.  Before,
a worker woken by its finished unmount took the caller's CPU: `perf record
-e sched:sched_switch` of 2,000 deletes back to back counted ~300 such
preemptions.  (``idle=True`` runs the workers at SCHED_IDLE; with the
pause, that only made them finish later.)

``bench/release.py --modes "16 threads,4 threads,4 idle,2 eager" --rounds
3`` (2,000 sandboxes with 4 published ports, deleted back to back; "2
eager" is the reaper as it was: two threads starting at once):

| mode | calls' p99 | first delete to last unmount |
|---|---|---|
| 16 threads (the default) | 0.22-0.29 ms | 0.48-0.58 s |
| 4 threads | 0.26-0.32 ms | 0.69-0.81 s |
| 4 threads at idle priority | 0.24-0.34 ms | 0.60-0.85 s |
| 2 eager | 0.97-1.05 ms | 0.91-1.00 s |

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
import time
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

    The threads start with the first submission, at idle priority if
    ``idle``.  Work starts once submissions pause for ``quiet``
    seconds, or once the oldest waiting call is ``max_delay`` old (or when
    ``wait`` or ``close`` asks for it); ``quiet=0`` starts it at once.  A
    call that raises is logged and counted (``failures``); the others still
    run.
    """

    def __init__(self, name: str = "libnet-reaper", workers: int = 16, idle: bool = False,
                 quiet: float = 0.005, max_delay: float = 1.0) -> None:
        if workers < 1:
            raise ValueError("a reaper needs at least one worker")
        if quiet < 0 or max_delay < 0:
            raise ValueError("quiet and max_delay are durations, >= 0")
        self._name = name
        self._workers = workers
        self._idle = idle
        self._quiet = quiet
        self._max_delay = max_delay
        self._last_submit = 0.0     # time.monotonic() of the last submission
        self._oldest = 0.0          # ... of the one that found the queue empty
        self._hurry = 0             # callers of wait() waiting
        self._timing = False        # a worker waits for the pause (the others, for it)
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
        now = time.monotonic()
        with self._work:
            if self._closed:
                raise RuntimeError("the reaper is closed")
            first = not self._queue
            if first:
                self._oldest = now
            self._last_submit = now
            self._queue.append((fn, args))
            self._pending += 1
            if not self._threads:
                for _ in range(self._workers):
                    t = threading.Thread(target=self._run, name=self._name, daemon=True)
                    t.start()
                    self._threads.append(t)
                _running.add(self)
            if first:           # (a worker waiting for a pause wakes by itself)
                self._work.notify()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every call submitted so far has run (without waiting
        for a pause); False on timeout."""
        with self._done:
            self._hurry += 1
            self._work.notify_all()
            try:
                return self._done.wait_for(lambda: self._pending == 0, timeout)
            finally:
                self._hurry -= 1

    def _ready_in(self) -> float:
        """Seconds until queued work may start (0: now).  Called locked."""
        if self._closed or self._hurry or not self._quiet:
            return 0.0
        start = min(self._last_submit + self._quiet, self._oldest + self._max_delay)
        return max(0.0, start - time.monotonic())

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
                while True:
                    if not self._queue:
                        if self._closed:
                            return            # closed and drained
                        self._work.wait()
                        continue
                    delay = self._ready_in()
                    if delay <= 0:
                        break
                    if self._timing:          # another worker watches the clock
                        self._work.wait()
                        continue
                    self._timing = True       # a burst of deletes is still coming
                    try:
                        self._work.wait(delay)
                    finally:
                        self._timing = False
                fn, args = self._queue.popleft()
                if self._queue:
                    self._work.notify()       # the next worker, while work is left
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
