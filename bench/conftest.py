"""Shared fixtures of the benchmarks, and the ratio table printed after them.

The benchmarks are not part of the test suite: `pyproject.toml` sets
``testpaths = ["tests"]`` and CI runs ``pytest tests``.  Run them with
``unshare --net --mount python3 -m pytest bench/`` (see bench/README.md).
"""

from __future__ import annotations

import gc

import pytest

try:
    import pytest_benchmark  # noqa: F401
except ImportError:  # the benchmark files need its `benchmark` fixture
    collect_ignore_glob = ["test_bench_*.py"]

import benchtable
from benchenv import Env, require_isolation


def pytest_configure(config):
    # Refuse early, before any fixture creates a namespace or a socket.
    try:
        require_isolation()
    except RuntimeError as e:
        pytest.exit(str(e), returncode=2)


@pytest.fixture(scope="session")
def env():
    """Throwaway namespaces under a private run directory, removed at the end."""
    e = Env()
    yield e
    e.close()


def run_case(benchmark, case, *, rounds: int | None = None, warmup: int = 0):
    """Time one ``benchenv.Case``.

    With ``rounds``, each round gets a fresh ``setup()`` and a ``teardown()``
    outside the timing (pedantic; ``warmup`` rounds first, untimed); without,
    ``setup()`` runs once and the
    call is calibrated over many iterations (micro-benchmarks).

    Garbage is collected before every round, outside the timing: one
    pyroute2 get_links() of 10,000 links leaves about two million objects
    in reference cycles, and with those pending, the cyclic collector
    doubled the time of libnet's encode benchmarks that followed.
    """
    benchmark.group = case.group
    benchmark.extra_info["contender"] = case.contender
    if benchmark.disabled:
        # Disabled, pedantic() would skip the teardown (and its checks):
        # run the case once, through the fixture, with both.
        state = case.setup()
        try:
            return benchmark(case.run, state)
        finally:
            case.teardown(state)
    if rounds is not None:
        def setup():
            gc.collect()
            return (case.setup(),), {}
        return benchmark.pedantic(case.run, setup=setup,
                                  teardown=case.teardown, rounds=rounds,
                                  warmup_rounds=warmup, iterations=1)
    gc.collect()
    state = case.setup()
    try:
        return benchmark(case.run, state)
    finally:
        case.teardown(state)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    rows = [(b.group, b.extra_info["contender"], b.stats.median, b.stats.min)
            for b in session.benchmarks if b and "contender" in b.extra_info]
    if not rows:
        return
    terminalreporter.section("ratios (medians of this run)")
    terminalreporter.write_line(benchtable.render(rows, benchtable.TARGETS, benchtable.QUOTED))
