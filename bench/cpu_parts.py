#!/usr/bin/env python3
"""Where the caller's CPU goes in one container's setup, libnet against the
kernel baseline: the experiment behind bench/README.md's "Where libnet's
CPU goes".

N containers are set up as ``libnet bench`` sets them up (its libnet and
kernel systems: 1,000 to a bridge, 4 published ports each), after 20 that
warm up.  Printed per system: the calling thread's CPU time per container
(``time.thread_time``: its user and system time, not the threads it hands
work to), split by part.  libnet's parts are its own functions, timed by
wrapping them (so they nest: JOIN holds publish, veth, configure, attach,
announce, one store put and the files); the kernel baseline's are the
steps of its setup, replayed with the same pre-built messages.

    unshare --net --mount python3 bench/cpu_parts.py -n 800 --rounds 4

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Callable

from libnet import _netlink as nl
from libnet import netns
from libnet.benchmark import systems
from libnet.benchmark.systems import PEER_FD, ROUTE, Clock, Context, spec

from benchenv import private_tmpfs, require_isolation

WARM = 20


def _context(root: str, name: str) -> Context:
    d = os.path.join(root, name)
    os.makedirs(root, exist_ok=True)
    for sub in ("ns", "run"):
        os.makedirs(os.path.join(d, sub))
    return Context(name, netns.create("host", d), d, os.path.join(d, "ns"), os.path.join(d, "run"))


def libnet_parts(root: str, n: int) -> tuple[float, dict[str, float]]:
    from libnet import sandbox
    from libnet.controller import Controller
    from libnet.drivers.bridge import kernel
    from libnet.drivers.bridge.driver import BridgeDriver
    from libnet.firewall.nft import NftFirewall
    from libnet.store.sqlite import SQLiteStore

    parts: dict[str, float] = {}
    restore: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, attr: str, label: str) -> None:
        fn = getattr(owner, attr)

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                parts[label] = parts.get(label, 0.0) + time.thread_time() - t0
        restore.append((owner, attr, fn))
        setattr(owner, attr, timed)

    for owner, attr, label in [
            (Controller, "new_sandbox", "NEW_SANDBOX"), (Controller, "_create_endpoint", "CREATE_ENDPOINT"),
            (Controller, "_join", "JOIN"), (SQLiteStore, "put", "store put (all three)"),
            (sandbox.Sandbox, "_write_files", "files (both writes)"),
            (NftFirewall, "publish", "publish"), (kernel, "add_endpoint_veth", "veth"),
            (sandbox.Sandbox, "_configure", "configure (in the sandbox)"),
            (BridgeDriver, "activate", "attach"), (BridgeDriver, "announce", "announce")]:
        wrap(owner, attr, label)
    ctx = _context(root, "libnet")
    system = systems.LibnetSystem()
    system.start(ctx)
    try:
        preps = [system.prepare(spec(i)) for i in range(n)]
        for i in range(WARM):
            system.setup(spec(i), preps[i], Clock())
        parts.clear()
        t0 = time.thread_time()
        for i in range(WARM, n):
            system.setup(spec(i), preps[i], Clock())
        total = time.thread_time() - t0
    finally:
        system.stop()
        for owner, attr, fn in restore:
            setattr(owner, attr, fn)
        ctx.host.close()
        netns.delete(ctx.host)
    return total, parts


def kernel_parts(root: str, n: int) -> tuple[float, dict[str, float]]:
    ctx = _context(root, "kernel")
    system = systems.KernelSystem()
    system.start(ctx)
    parts: dict[str, float] = {}

    def lap(label: str, t: float) -> float:
        now = time.thread_time()
        parts[label] = parts.get(label, 0.0) + now - t
        return now
    try:
        preps = [system.prepare(spec(i)) for i in range(n)]
        for i in range(WARM):
            system.setup(spec(i), preps[i], Clock())
        t0 = time.thread_time()
        for i in range(WARM, n):     # KernelSystem.setup, step by step
            c, veth, inside, attach, add, _ = preps[i]
            t = time.thread_time()
            ns = netns.create(f"k{c.index}", ctx.netns_dir)
            t = lap("namespace", t)
            os.dup2(ns.fileno(), PEER_FD)
            system.rs.socket.batch(veth)
            t = lap("veth", t)
            sock = nl.NetlinkSocket(ROUTE, netns=ns.fileno())
            sock.batch(inside)
            sock.close()
            t = lap("in the sandbox (socket and batch)", t)
            system.rs.socket.batch([attach])
            t = lap("attach", t)
            nl.nft_commit(system.nft.socket, add[0], add[1])
            t = lap("nft transaction", t)
            ns.close()
        total = time.thread_time() - t0
    finally:
        system.stop()
        ctx.host.close()
        netns.delete(ctx.host)
    return total, parts


def show(name: str, total: float, parts: dict[str, float], count: int) -> None:
    print(f"{name}: {1e6 * total / count:.0f} us of the caller's CPU per container")
    for label, v in parts.items():
        print(f"  {label:36} {1e6 * v / count:6.0f} us")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=800)
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds, alternating which system goes first (this machine's CPU "
                         "time per container moves by a third between minutes)")
    args = ap.parse_args()
    require_isolation()
    count = args.containers - WARM
    runs: list[tuple[str, Callable[[str, int], tuple[float, dict[str, float]]]]] = [
        ("libnet", libnet_parts), ("kernel baseline", kernel_parts)]
    with private_tmpfs("cpu-parts-") as root:
        for r in range(args.rounds):
            for name, fn in (runs if r % 2 == 0 else runs[::-1]):
                total, parts = fn(os.path.join(root, str(r)), args.containers)
                show(f"round {r + 1}, {name}", total, parts, count)
                time.sleep(3.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
