#!/usr/bin/env python3
"""How the kernel's own steps of a container's setup grow with the containers
already on the host: the experiment behind bench/README.md's "Why
per-container cost grew with n".

N containers, 1,000 to a bridge, each made of the requests libnet's join
sent before its announcement moved to the bridge (libnet.benchmark.baseline,
with eth0's arp_notify and ``announce_message``), timed step by step: create the namespace,
the veth (peer created inside), configure eth0 inside (one batch), enslave
the host end, announce (eth0's MAC set to itself: the gratuitous ARP).
Printed: p50 / p99 of each step per slice of containers.

``--ipv6`` leaves IPv6 address generation on both veth ends (the kernel's
default, and libnet's before it turned it off); ``--proc-sysctl`` writes
arp_notify as the namespace's default under /proc/sys instead of by netlink
(the two causes of growth that libnet removed).  ``--mcast-snooping``
leaves the bridges' multicast snooping on, as libnet did before.  ``--default-queues``
creates the veths without naming their queues, as libnet did before: each
end then waits for an RCU grace period.

    unshare --net --mount python3 bench/kernel_steps.py -n 2000
    unshare --net --mount python3 bench/kernel_steps.py -n 2000 --ipv6 --proc-sysctl

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from libnet import _netlink as nl
from libnet import netns
from libnet.benchmark import baseline as bl
from libnet.netlink import RouteSocket

from benchenv import require_isolation

PER_BRIDGE = 1000
STEPS = ("namespace", "veth", "inside", "enslave", "announce")


def eth0_settings(arp_notify: bool, no_ipv6: bool) -> bytes | None:
    """The in-sandbox batch's eth0 request with only the settings asked for
    (libnet sends both: bl.sandbox_messages()[1])."""
    af: dict = {}
    if arp_notify:
        af["inet"] = {"conf": bl.ARP_NOTIFY_CONF}
    if no_ipv6:
        af["inet6"] = {"addr_gen_mode": nl.IN6_ADDR_GEN_MODE_NONE}
    if not af:
        return None
    return nl.encode_message(nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0, {"index": bl.ETH0_INDEX},
                             {"af_spec": af})


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--containers", type=int, default=2000)
    ap.add_argument("--slices", type=int, default=8, help="report per slice of n/SLICES containers")
    ap.add_argument("--ipv6", action="store_true", help="leave IPv6 address generation on")
    ap.add_argument("--proc-sysctl", action="store_true",
                    help="arp_notify as a /proc/sys default instead of by netlink")
    ap.add_argument("--default-queues", action="store_true",
                    help="create each veth without naming its queues (the kernel's default: "
                         "one per CPU, cut back to one, a grace period per end)")
    ap.add_argument("--neigh-suppress", action="store_true",
                    help="also set neigh_suppress on each bridge port after enslaving it "
                         "(an experiment for O(1) announcements; libnet does not)")
    ap.add_argument("--mcast-snooping", action="store_true",
                    help="leave multicast snooping on in the bridges (the kernel's default, and "
                         "libnet's before): each enslave re-arms two query timers per port")
    args = ap.parse_args()
    require_isolation()
    root = tempfile.mkdtemp(prefix="kernel-steps-")
    nl.mount("tmpfs", root, "tmpfs", 0, "mode=0755")
    samples: dict[str, list[float]] = {s: [] for s in STEPS}
    try:
        host = netns.create("host", root)
        hs = RouteSocket(host)
        bridges: list[int] = []
        for i in range(args.containers):
            k = i // PER_BRIDGE
            if k == len(bridges):
                bridges.append(bl.make_bridge(hs, f"br{k}", f"10.{k}.0.1/16"))
                if args.mcast_snooping:
                    hs.socket.request(nl.encode_message(
                        nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0, {"index": bridges[-1]},
                        {"linkinfo": {"kind": "bridge", "data": {"mcast_snooping": 1}}}))
            ip = f"10.{k}.{(i % PER_BRIDGE + 2) // 256}.{(i % PER_BRIDGE + 2) % 256}"
            mac, host_end = bl.mac_of(ip), f"v{i}"
            t0 = time.perf_counter()
            ns = netns.create(f"c{i}", root, sysctls={"net/ipv4/conf/default/arp_notify": "1"}
                              if args.proc_sysctl else None)
            t1 = time.perf_counter()
            b = hs.batch()
            b.add_raw(bl.veth_message(host_end, mac, ns.fileno(),
                                      queues=None if args.default_queues else 1))
            if not args.ipv6:
                b.add_raw(bl.host_end_message(host_end))
            b.send()
            t2 = time.perf_counter()
            with RouteSocket(ns) as s:
                b = s.batch()
                msgs = bl.sandbox_messages(ip, 16, f"10.{k}.0.1")
                # eth0's settings, as this experiment asks for them (libnet's
                # batch has one only for IPv6, since its announcement moved
                # to the bridge: this times the arp_notify announcement)
                if bl.HAS_IPV6:
                    del msgs[1]
                msgs.insert(1, eth0_settings(not args.proc_sysctl, not args.ipv6))
                for m in msgs:
                    if m is not None:
                        b.add_raw(m)
                b.send()
                t3 = time.perf_counter()
                hs.socket.request(bl.attach_message(host_end, bridges[k]))
                if args.neigh_suppress:
                    hs.socket.request(nl.encode_message(
                        nl.NETLINK_ROUTE, nl.RTM_NEWLINK, 0, {},
                        {"ifname": host_end, "linkinfo": {
                            "slave_kind": "bridge", "slave_data": {"neigh_suppress": 1}}}))
                t4 = time.perf_counter()
                s.socket.request(bl.announce_message(mac))
                t5 = time.perf_counter()
            ns.close()
            for name, d in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                samples[name].append(d)
        size = max(1, args.containers // args.slices)
        print(f"{args.containers} containers, {PER_BRIDGE} a bridge; ipv6 "
              f"{'on' if args.ipv6 else 'off'} on the veth ends, arp_notify by "
              f"{'/proc/sys' if args.proc_sysctl else 'netlink'}; veth queues "
              f"{'by default' if args.default_queues else 'one per end'}"
              f"{'; neigh_suppress on the ports' if args.neigh_suppress else ''}; multicast "
              f"snooping {'on' if args.mcast_snooping else 'off'}; p50/p99 ms per slice")
        print("containers  " + "  ".join(f"{s:>13}" for s in STEPS))
        for lo in range(0, args.containers, size):
            row = [f"{pct(samples[s][lo:lo + size], .5):6.2f}/{pct(samples[s][lo:lo + size], .99):6.2f}"
                   for s in STEPS]
            print(f"{lo:>5}-{min(lo + size, args.containers) - 1:<5} " + "  ".join(f"{r:>13}" for r in row))
        print("all: " + ", ".join(f"{s} p50 {statistics.median(samples[s]) * 1e3:.2f}" for s in STEPS))
    finally:
        for name in netns.list_netns(root):
            netns.delete(name, root)
        nl.umount(root, nl.MNT_DETACH_FLAG)
        os.rmdir(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
