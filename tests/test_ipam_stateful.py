"""The model test of ``test_ipam_model.py``, driven by hypothesis's stateful
machine: random allocate / static / release / state round-trip steps on a
pool, checked step by step against the set-based model; a failure is
shrunk to a minimal sequence. Skipped when hypothesis is not installed.
"""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis not installed: stateful test skipped")
from hypothesis import settings, strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule  # noqa: E402

from test_ipam_model import POOLS, Harness  # noqa: E402


class IPAMMachine(RuleBasedStateMachine):
    @initialize(index=st.integers(0, len(POOLS) - 1))
    def setup(self, index):
        self.h = Harness(index)

    @rule(serial=st.sampled_from([None, True, False]))
    def alloc(self, serial):
        self.h.alloc(serial)

    @rule(data=st.data())
    def static(self, data):
        self.h.static(data.draw(st.integers(0, self.h.span - 1)))

    @rule(data=st.data())
    def release(self, data):
        used = sorted(self.h.model.used)
        if used and data.draw(st.booleans()):
            off = data.draw(st.sampled_from(used))
        else:
            off = data.draw(st.integers(0, self.h.span - 1))
        self.h.release(off)

    @rule()
    def round_trip(self):
        self.h.round_trip()

    @invariant()
    def agrees(self):
        if hasattr(self, "h"):
            self.h.check()


IPAMMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=60, deadline=None)
TestIPAMMachine = IPAMMachine.TestCase
