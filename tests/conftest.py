"""Shared fixtures: throwaway network namespaces and `ip`/`nft` oracles.

Every test that touches the kernel does so in namespaces it creates here,
under a temporary run directory; nothing runs in the caller's namespace.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root (CAP_SYS_ADMIN) to create network namespaces")

_counter = itertools.count()


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    return str(d)


@pytest.fixture
def make_ns(run_dir):
    """Factory: make_ns() -> an open NetNS, deleted after the test."""
    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_SYS_ADMIN) to create network namespaces")
    from libnet import netns

    made = []

    def make(name: str | None = None):
        ns = netns.create(name or f"t{os.getpid()}-{next(_counter)}", run_dir)
        made.append(ns)
        return ns

    yield make
    for ns in made:
        netns.delete(ns)


@pytest.fixture
def ns(make_ns):
    return make_ns()


@pytest.fixture
def route(ns):
    from libnet.netlink import RouteSocket

    with RouteSocket(ns) as sock:
        yield sock


def run_in(ns, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command inside ``ns`` (an oracle such as `ip -j` or `nft -j`)."""
    return subprocess.run(["nsenter", f"--net={ns.path}", *argv], capture_output=True,
                          text=True, check=check)


def ip_json(ns, *args: str):
    """`ip -j ARGS` inside ``ns``, parsed."""
    if shutil.which("ip") is None:
        pytest.skip("iproute2's ip is not installed (the oracle)")
    out = run_in(ns, "ip", "-j", *args).stdout
    return json.loads(out) if out.strip() else []
