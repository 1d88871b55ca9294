#!/usr/bin/env python3
"""Where the kernel's time goes as the host fills: ``perf record -a -g``
over a window of containers at several points of one run.

N containers are set up as ``libnet bench`` sets them up (1,000 to a
bridge, 4 published ports each), with libnet or the kernel baseline; at
each container index of ``--windows``, ``perf record -a -g`` starts, and it
stops ``--width`` containers later (one file per window, named
``PREFIX-SYSTEM-INDEX.data``).  The setup p50 of each window is printed.
Compare the windows with ``perf report -i FILE --comm python3 --children``.

    unshare --net --mount python3 bench/perf_windows.py --system kernel \\
        --windows 100,900,1100,1900 --out /tmp/pw

Needs ``perf``.  Everything happens in namespaces it creates, under a tmpfs
it mounts on a temporary directory (run it in a private mount namespace:
unshare --mount).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import time

from libnet.benchmark.systems import Clock, spec

from benchenv import private_tmpfs, require_isolation, started_system


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=2000)
    ap.add_argument("--system", choices=("libnet", "kernel"), default="kernel")
    ap.add_argument("--windows", default="100,900,1100,1900",
                    help="container indexes at which a recording starts")
    ap.add_argument("--width", type=int, default=100, help="containers per recording")
    ap.add_argument("--out", default="perf-window", help="file name prefix")
    args = ap.parse_args()
    require_isolation()
    starts = {int(x) for x in args.windows.split(",") if x}
    with private_tmpfs("perf-windows-") as root, started_system(root, args.system) as (system, _):
        specs = [spec(i) for i in range(args.containers)]
        preps = [system.prepare(c) for c in specs]
        lat: list[float] = []
        perf: subprocess.Popen | None = None
        try:
            for i, c in enumerate(specs):
                if i in starts and perf is None:
                    perf = subprocess.Popen(
                        ["perf", "record", "-q", "-a", "-g", "-o",
                         f"{args.out}-{args.system}-{i}.data"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(1.0)             # (perf's start-up, outside the window)
                    lat = []
                a = time.perf_counter()
                system.setup(c, preps[i], Clock())
                lat.append(time.perf_counter() - a)
                if perf is not None and len(lat) == args.width:
                    perf.send_signal(signal.SIGINT)
                    perf.wait()
                    perf = None
                    print(f"containers {i + 1 - args.width}-{i}: setup p50 "
                          f"{statistics.median(lat) * 1e3:.2f} ms", flush=True)
        finally:
            if perf is not None:
                perf.send_signal(signal.SIGINT)
                perf.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
