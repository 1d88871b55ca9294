#!/usr/bin/env python3
"""Teardown with the unmount inline or on libnet.reaper's threads: the
experiment behind bench/README.md's "Teardown: the unmount in the background".

For each mode, a controller sets up N containers (1,000 to a bridge, each with
a sandbox, an endpoint and 4 published ports, as ``libnet bench`` does), waits
for the kernel to settle, then deletes them back to back.  Printed per mode:
the calls' p50 / p99, the loop, the wait for the background unmounts after
the last call, and the total from the first delete to the last unmount.
Modes alternate over the rounds, so that each sees the machine alike.

    unshare --net --mount python3 bench/release.py -n 2000 --rounds 2
    unshare --net --mount python3 bench/release.py --modes "16 threads,4 threads,2 eager" --rounds 3

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from libnet import netns
from libnet.controller import Config, Controller
from libnet.reaper import Reaper

from benchenv import private_tmpfs, require_isolation

PER_BRIDGE = 1000
SETTLE_S = 5.0
# mode -> (reaper threads, at idle priority, quiet period in s)
MODES = {"inline": (0, False, 0.0), "1 thread": (1, False, 0.005),
         "16 threads": (16, False, 0.005), "4 threads": (4, False, 0.005),
         "4 idle": (4, True, 0.005), "2 eager": (2, False, 0.0)}


def one(root: str, n: int, workers: int, idle: bool = True, quiet: float = 0.005) -> dict[str, float]:
    """Set up ``n`` containers, delete them, and time it (seconds)."""
    run = tempfile.mkdtemp(dir=root)
    host = netns.create("host", run)
    c = Controller(Config(data_dir=os.path.join(run, "data"), run_dir=os.path.join(run, "libnet"),
                          netns=host.path, resolv_conf_source="/dev/null",
                          release_in_background=workers > 0))
    try:
        if workers:        # the controller's own has 16; this experiment varies it
            c._reaper = Reaper(workers=workers, idle=idle, quiet=quiet)
        nets: dict[int, object] = {}
        pairs = []
        for i in range(n):
            k = i // PER_BRIDGE
            if k not in nets:
                nets[k] = c.new_network("bridge", f"b{k}", ipam={"ipv4": [{
                    "subnet": f"10.{k + 1}.0.0/16", "gateway": f"10.{k + 1}.0.1"}]})
            sb = c.new_sandbox(f"c{i}")
            ep = nets[k].create_endpoint(f"e{i}", port_bindings=[
                {"proto": "tcp", "port": 80 + j, "host_port": 0} for j in range(4)])
            ep.join(sb)
            pairs.append((sb, ep))
        time.sleep(SETTLE_S)
        calls = []
        t0 = time.perf_counter()
        for sb, ep in reversed(pairs):
            t = time.perf_counter()
            sb.delete()
            ep.delete()
            calls.append(time.perf_counter() - t)
        t1 = time.perf_counter()
        c.wait_released()
        t2 = time.perf_counter()
        calls.sort()
        return {"p50": calls[len(calls) // 2], "p99": calls[int(0.99 * (len(calls) - 1))],
                "loop": t1 - t0, "drain": t2 - t1, "total": t2 - t0}
    finally:
        for net in c.networks():
            net.delete()
        c.stop()
        netns.delete(host)
        shutil.rmtree(run, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--modes", default=",".join(MODES),
                    help="comma-separated, of: " + ", ".join(MODES) + " (\"4 idle\": at idle "
                         "priority; \"2 eager\": two threads that start at once, not after a "
                         "pause in the deletes, as the reaper's did before)")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",")]
    if any(m not in MODES for m in modes):
        ap.error(f"--modes: one of {', '.join(MODES)}")
    require_isolation()
    with private_tmpfs("release-") as root:
        print(f"{args.containers} containers, 4 published ports each; seconds, calls in ms")
        for r in range(args.rounds):
            for mode in modes:
                x = one(root, args.containers, *MODES[mode])
                print(f"round {r + 1}  {mode:9}  call p50 {x['p50'] * 1e3:.3f}  "
                      f"p99 {x['p99'] * 1e3:.3f}  loop {x['loop']:.3f}  "
                      f"then unmounts {x['drain']:.3f}  total {x['total']:.3f}", flush=True)
                time.sleep(SETTLE_S)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
