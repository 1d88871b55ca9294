#!/usr/bin/env python3
"""libnet demo: two throwaway network namespaces, a veth pair across them,
addresses, and a ping from one to the other, all over netlink from Python.

Run as root:  unshare --net --mount python3 examples/demo.py
Nothing outside the namespaces it creates is touched, and they are removed
at the end (also on Ctrl-C).
"""

import os
import socket
import struct
import sys
import tempfile
import time

from libnet import netns
from libnet.netlink import RouteSocket


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(ns, address: str, count: int = 3, timeout: float = 1.0) -> list[float]:
    """ICMP echo from inside ``ns``; returns round-trip times in ms."""
    with netns.enter(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    rtts = []
    with sock:
        sock.settimeout(timeout)
        ident = os.getpid() & 0xFFFF
        for seq in range(1, count + 1):
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            payload = b"libnet demo"
            packet = struct.pack("!BBHHH", 8, 0, checksum(header + payload), ident, seq) + payload
            start = time.perf_counter()
            sock.sendto(packet, (address, 0))
            while True:
                data, _ = sock.recvfrom(1500)
                icmp = data[(data[0] & 0x0F) * 4:]
                typ, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                if typ == 0 and rid == ident and rseq == seq:
                    rtts.append((time.perf_counter() - start) * 1000)
                    break
    return rtts


def main() -> int:
    run_dir = tempfile.mkdtemp(prefix="libnet-demo-")
    names = ("demo-a", "demo-b")
    t0 = time.perf_counter()
    a = netns.create(names[0], run_dir)
    b = netns.create(names[1], run_dir)
    try:
        with RouteSocket(a) as ra, RouteSocket(b) as rb:
            # One request creates the pair with its peer already inside b.
            ra.link_add_veth("veth-a", "veth-b", peer_netns=b, up=True)
            with ra.batch() as batch:
                batch.link_set("lo", up=True)
                batch.addr_add("veth-a", "10.200.0.1/24")
            with rb.batch() as batch:
                batch.link_set("lo", up=True)
                batch.link_set("veth-b", up=True)
                batch.addr_add("veth-b", "10.200.0.2/24")
            setup_ms = (time.perf_counter() - t0) * 1000
            for label, sock in (("a", ra), ("b", rb)):
                for link in sock.link_dump():
                    addrs = [x.cidr for x in sock.addr_dump(4, link=link.index)]
                    print(f"netns {label}: {link.index}: {link.name:<8} {link.operstate:<8} "
                          f"mtu {link.mtu} mac {link.mac} {' '.join(addrs)}")
        print(f"set up in {setup_ms:.1f} ms (two namespaces, a veth pair, addresses)")
        rtts = ping(a, "10.200.0.2")
        print(f"ping 10.200.0.2 from netns a: {len(rtts)}/3 replies, "
              + ", ".join(f"{r:.3f} ms" for r in rtts))
        return 0 if len(rtts) == 3 else 1
    finally:
        for ns in (a, b):
            netns.delete(ns)
        os.rmdir(run_dir)


if __name__ == "__main__":
    sys.exit(main())
