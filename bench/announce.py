#!/usr/bin/env python3
"""What announcing one container costs with N ports on its bridge, three
ways: an experiment for a cheaper announcement (bench/README.md, "What still
grows").

- ``arp_notify``: what libnet's join did before the bridge driver sent a reply.  eth0's MAC is set to itself, and
  the kernel sends a gratuitous ARP request.  Every port receives it, and
  each receiving namespace runs a route lookup of the target (``arp_process``
  -> ``ip_route_input_noref``, a dst allocated and freed).
- ``reply from the bridge``: what libnet's bridge driver does now, a
  gratuitous ARP *reply* sent on the bridge device from one long-lived
  AF_PACKET socket in the host namespace (``kernel.garp_reply``).  A receiver only looks the sender up in its neighbour
  table: no route lookup for a reply.
- ``request from the bridge``: the request, sent the same way (this
  separates the sender from the receivers' work).

N namespaces, each with a veth on one bridge and an address; each way timed
200 times (the send, which runs the bridge's flood and the receivers' softirq
work on the sending CPU).

    unshare --net --mount python3 bench/announce.py -n 800

Everything happens in namespaces it creates, under a tmpfs it mounts on a
temporary directory (run it in a private mount namespace: unshare --mount).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import struct
import time

from libnet import netns
from libnet.benchmark import baseline as bl
from libnet.drivers.bridge.kernel import garp_reply
from libnet.netlink import RouteSocket

from benchenv import private_tmpfs, require_isolation

ROUNDS = 200


def garp_request(mac: str, ip: str) -> bytes:
    """The bridge driver's frame (``kernel.garp_reply``) as a request."""
    frame = bytearray(garp_reply(mac, ip))
    struct.pack_into("!H", frame, 20, 1)
    return bytes(frame)


def timed(fn) -> float:
    t = []
    for _ in range(ROUNDS):
        a = time.perf_counter()
        fn()
        t.append(time.perf_counter() - a)
    return statistics.median(t) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--ports", type=int, default=800)
    args = ap.parse_args()
    require_isolation()
    with private_tmpfs("announce-") as root:
        host = netns.create("host", root)
        hs = RouteSocket(host)
        br = bl.make_bridge(hs, "br0", "10.9.0.1/16")
        last = None
        for i in range(args.ports):
            ns = netns.create(f"c{i}", root)
            ip = f"10.9.{(i + 2) // 256}.{(i + 2) % 256}"
            mac = bl.mac_of(ip)
            hs.link_add_veth(f"v{i}", "eth0", peer_netns=ns)
            hs.link_set(f"v{i}", master=br, up=True)
            with RouteSocket(ns) as r:
                r.link_set("eth0", mac=mac, up=True, ipv4_conf={"arp_notify": 1})
                r.addr_add("eth0", ip + "/16")
                r.link_set("lo", up=True)
            last = (ns, ip, mac)
        time.sleep(3)
        ns, ip, mac = last
        with RouteSocket(ns) as r:
            kernel = timed(lambda: r.link_set("eth0", mac=mac))
        with netns.enter(host):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)   # protocol 0: receives nothing
        s.bind(("br0", 0))
        reply, request = garp_reply(mac, ip), garp_request(mac, ip)
        from_bridge_reply = timed(lambda: s.send(reply))
        from_bridge_request = timed(lambda: s.send(request))
        s.close()
        print(f"{args.ports} ports, median of {ROUNDS}, ms: arp_notify {kernel:.3f}, "
              f"reply from the bridge {from_bridge_reply:.3f}, "
              f"request from the bridge {from_bridge_request:.3f}")
        hs.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
