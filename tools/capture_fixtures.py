#!/usr/bin/env python3
"""Capture rtnetlink messages from the kernel as golden fixtures.

Run as root inside a private namespace:
    unshare --net --mount python3 tools/capture_fixtures.py

Creates objects of each kind in a throwaway namespace, dumps them with the
core, and writes tests/fixtures/rtnl/<name>.hex (the kernel's bytes) and
<name>.json (their decoding, checked by hand when first written).  Volatile
fields (interface indexes, MACs, counters, timers) are whatever the kernel
said at capture time; the tests replay the bytes, they do not re-create them.
"""
import json
import pathlib
import sys
import tempfile

from libnet import netns
from libnet.netlink import RouteSocket

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "rtnl"


def jsonable(v):
    if isinstance(v, bytes):
        return {"__bytes__": v.hex()}
    if isinstance(v, dict):
        return {("#%d" % k if isinstance(k, int) else k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def save(name, msg):
    (OUT / f"{name}.hex").write_text(msg.raw.hex() + "\n")
    expected = {"type": msg.type, "flags": msg.msg_flags, "header": msg.header,
                "attrs": jsonable(msg.attrs)}
    (OUT / f"{name}.json").write_text(json.dumps(expected, indent=1, sort_keys=False) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    run_dir = tempfile.mkdtemp()
    a = netns.create("cap-a", run_dir)
    b = netns.create("cap-b", run_dir)
    try:
        with RouteSocket(a) as r:
            r.link_set("lo", up=True)
            r.link_add_veth("veth0", "veth1", mtu=1400, mac="02:00:00:00:00:01",
                            peer_mac="02:00:00:00:00:02")
            r.link_add_veth("vx-peer", "eth0", peer_netns=b)
            r.link_add("br0", "bridge", stp_state=0, mac="02:00:00:00:00:10")
            r.link_set("veth0", master="br0", up=True)
            r.link_set("br0", up=True)
            r.link_add("vxlan0", "vxlan", id=42, port=4789, local="10.1.0.1", learning=0)
            r.link_add("mv0", "macvlan", link="veth1", mode="bridge", mac="02:00:00:00:00:20")
            r.addr_add("br0", "10.1.0.1/24", broadcast="+", label="br0")
            r.addr_add("br0", "fd00:1::1/64", nodad=True)
            r.route_add("10.2.0.0/16", gateway="10.1.0.2", metric=100)
            r.route_add("fd00:2::/48", gateway="fd00:1::2")
            r.neigh_add("10.1.0.9", "02:00:00:00:00:09", "br0")
            r.neigh_add("10.1.0.5", "02:00:00:00:00:05", "vxlan0", fdb=True)
            links = {l.name: l for l in r.link_dump()}
            for name in ("lo", "veth0", "vx-peer", "br0", "vxlan0", "mv0"):
                save(f"link_{name.replace('-', '_')}", links[name])
            for x in r.addr_dump():
                if x.index == links["br0"].index:
                    save("addr_v4" if x.family == 2 else "addr_v6", x)
            for x in r.route_dump(4):
                if x.dst == "10.2.0.0/16":
                    save("route_v4", x)
            for x in r.route_dump(6):
                if x.dst == "fd00:2::/48":
                    save("route_v6", x)
            for x in r.neigh_dump(4):
                if x.dst == "10.1.0.9":
                    save("neigh_v4", x)
            for x in r.neigh_dump(fdb=True, dev="vxlan0"):
                if x.lladdr == "02:00:00:00:00:05":
                    save("neigh_fdb", x)
    finally:
        netns.delete(a)
        netns.delete(b)
    print(f"wrote {len(list(OUT.glob('*.hex')))} fixtures to {OUT}")


if __name__ == "__main__":
    sys.exit(main())
