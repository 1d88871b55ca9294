"""libnet.reaper: the thread that finishes deletes in the background."""
from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from libnet.reaper import Reaper


def test_one_worker_runs_in_order_and_wait_sees_it_done():
    r = Reaper(workers=1)
    done: list[int] = []
    gate = threading.Event()
    r.submit(gate.wait, 10)
    for i in range(100):
        r.submit(done.append, i)
    assert r.pending == 101 and not r.wait(timeout=0.05)
    gate.set()
    assert r.wait(timeout=10)
    assert done == list(range(100)) and r.pending == 0
    r.close()


@pytest.mark.parametrize("idle", [True, False])
def test_workers_run_at_idle_priority_unless_told(idle):
    """Background work must not preempt the caller's next delete."""
    r = Reaper(idle=idle)
    seen: list[int] = []
    r.submit(lambda: seen.append(os.sched_getscheduler(0)))
    assert r.wait(timeout=10)
    assert seen == [os.SCHED_IDLE if idle else os.SCHED_OTHER]
    assert os.sched_getscheduler(0) == os.SCHED_OTHER        # the caller's is unchanged
    r.close()


def test_a_failure_is_logged_and_the_rest_still_runs(caplog):
    r = Reaper()
    done: list[str] = []

    def boom(path):
        raise OSError(16, "busy", path)
    with caplog.at_level(logging.ERROR, logger="libnet"):
        r.submit(boom, "/run/libnet/netns/x")
        r.submit(done.append, "after")
        assert r.wait(timeout=10)
    assert done == ["after"] and r.failures == 1
    assert "background release failed" in caplog.text and "/run/libnet/netns/x" in caplog.text
    r.close()


def test_workers_share_the_queue_and_close_drains_then_refuses():
    r = Reaper(workers=3)
    done: list[int] = []
    running: set[str] = set()
    both = threading.Barrier(2, timeout=10)

    def meet(i):                                  # two calls at once: two threads
        running.add(threading.current_thread().name + str(id(threading.current_thread())))
        both.wait()
        done.append(i)
    r.submit(meet, -1)
    r.submit(meet, -2)
    for i in range(50):
        r.submit(done.append, i)
    r.close()
    r.close()                                     # idempotent
    assert sorted(done) == [-2, -1, *range(50)] and len(running) == 2
    with pytest.raises(RuntimeError):
        r.submit(done.append, 0)


def test_needs_a_worker():
    with pytest.raises(ValueError):
        Reaper(workers=0)


def test_no_thread_until_the_first_submission():
    r = Reaper(name="libnet-reaper-idle")
    assert not any(t.name == "libnet-reaper-idle" for t in threading.enumerate())
    r.close()


def test_work_waits_for_a_pause_in_submissions():
    """A burst of deletes is not slowed by the work it leaves: the workers
    start once submissions pause for ``quiet`` seconds."""
    r = Reaper(quiet=0.5)
    ran: list[float] = []
    for i in range(10):
        r.submit(lambda: ran.append(time.monotonic()))
        time.sleep(0.02)
    burst_end = time.monotonic()
    assert ran == []                              # nothing during the burst
    deadline = time.monotonic() + 10
    while len(ran) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(ran) == 10 and min(ran) >= burst_end
    r.close()


def test_a_long_burst_waits_at_most_max_delay():
    r = Reaper(quiet=10, max_delay=0.2)
    ran: list[float] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.5 and not ran:
        r.submit(lambda: ran.append(time.monotonic()))
        time.sleep(0.01)
    assert ran and ran[0] - t0 < 1.5              # started while submissions went on
    r.close()


def test_wait_and_close_do_not_wait_for_the_pause():
    r = Reaper(quiet=30)
    done: list[int] = []
    r.submit(done.append, 1)
    t0 = time.monotonic()
    assert r.wait(timeout=10) and done == [1] and time.monotonic() - t0 < 5
    r.submit(done.append, 2)
    r.close()
    assert done == [1, 2] and time.monotonic() - t0 < 5
