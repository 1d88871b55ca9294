"""Crash injection for tests: ``LIBNET_FAILPOINT=name`` kills the process
(SIGKILL, no cleanup, as a crash would) when it reaches ``hit(name)``.

The controller marks the points between kernel work and the store commit;
tests use them to prove that a restart leaves nothing leaked.
"""

from __future__ import annotations

import os
import signal

_ARMED = os.environ.get("LIBNET_FAILPOINT")


def hit(name: str) -> None:
    if _ARMED is not None and _ARMED == name:
        os.kill(os.getpid(), signal.SIGKILL)
