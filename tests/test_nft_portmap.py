"""The port-map shape end to end, in three namespaces this test creates:

    client 10.0.1.2 --veth-- 10.0.1.1 "host" 10.0.2.1 --veth-- 10.0.2.2 server
                             (nat prerouting: dnat ip to meta l4proto .
                              th dport map @ports)

The host's map is keyed by inet_proto . inet_service and maps to
ipv4_addr . inet_service; one transaction of elements per container
publishes its ports.  A real TCP connection from the client to the host's
published port must reach the server, and stop reaching it once the
container's elements are deleted.
"""

import contextlib
import os
import socket
import threading

import pytest

from libnet import netns
from libnet.netlink import (Chain, Element, Lookup, Meta, Nat, NftSocket, Payload, Rule,
                            RouteSocket, Set, Table)
from libnet.netlink.nft_expr import REG32

from nft_support import golden, list_ruleset, list_ruleset_json, namespace, need_nft

pytestmark = need_nft

PORTS = Set("libnet", "ports", "inet_proto . inet_service", "ipv4_addr . inet_service", "ip")
TCP = socket.IPPROTO_TCP


def portmap_ruleset(sock: NftSocket) -> None:
    with sock.transaction() as tx:
        tx.add_table(Table("libnet", "ip"))
        tx.add_chain(Chain("libnet", "prerouting", "ip", "nat", "prerouting", -100))
        tx.add_set(PORTS)
        # dnat ip to meta l4proto . th dport map @ports
        tx.add_rule(Rule("libnet", "prerouting", [
            Meta("l4proto"), Payload("transport", 2, 2, dreg=REG32[1]),
            Lookup("ports", dreg=1), Nat("dnat", "ip", reg_addr_min=1, reg_proto_min=REG32[1]),
        ], "ip"))


def _sysctl(ns, path, value):
    with netns.enter(ns):
        with open(os.path.join("/proc/sys/net", path), "w") as f:
            f.write(value)


@contextlib.contextmanager
def topology(tmp_path):
    with namespace(tmp_path, "client") as client, namespace(tmp_path, "host") as host, \
            namespace(tmp_path, "server") as server:
        with RouteSocket(host) as h:
            h.link_add_veth("h-c", "c0", peer_netns=client, up=True)
            h.link_add_veth("h-s", "s0", peer_netns=server, up=True)
            h.addr_add("h-c", "10.0.1.1/24")
            h.addr_add("h-s", "10.0.2.1/24")
        for ns, dev, addr, gw in ((client, "c0", "10.0.1.2/24", "10.0.1.1"),
                                  (server, "s0", "10.0.2.2/24", "10.0.2.1")):
            with RouteSocket(ns) as r:
                r.link_set("lo", up=True)
                r.link_set(dev, up=True)
                r.addr_add(dev, addr)
                r.route_add("default", gateway=gw)
        _sysctl(host, "ipv4/ip_forward", "1")
        yield client, host, server


def _server(ns, port):
    with netns.enter(ns):
        srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("10.0.2.2", port))
    srv.listen(8)

    def serve():
        while True:
            try:
                conn, peer = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(f"hello from server, you are {peer[0]}\n".encode())
    threading.Thread(target=serve, daemon=True).start()
    return srv


def _connect(ns, addr, port, timeout=2.0) -> bytes:
    with netns.enter(ns):
        c = socket.socket()
    with c:
        c.settimeout(timeout)
        c.connect((addr, port))
        return c.recv(100)


def test_port_map_end_to_end(tmp_path):
    with topology(tmp_path) as (client, host, server), NftSocket(host) as nft:
        portmap_ruleset(nft)
        srv = _server(server, 80)
        try:
            # nothing published yet: the host itself refuses port 8080
            with pytest.raises(ConnectionRefusedError):
                _connect(client, "10.0.1.1", 8080)
            # container A publishes tcp 8080 -> 10.0.2.2:80 (and three more)
            mine = [Element((TCP, 8080), ("10.0.2.2", 80)),
                    Element((TCP, 8443), ("10.0.2.2", 443)),
                    Element((socket.IPPROTO_UDP, 5353), ("10.0.2.2", 53)),
                    Element((TCP, 2222), ("10.0.2.2", 22))]
            with nft.transaction() as tx:
                tx.add_elements(PORTS, mine, exclusive=True)
            assert _connect(client, "10.0.1.1", 8080) == b"hello from server, you are 10.0.1.2\n"
            # another container's ports are independent elements of the same map
            with nft.transaction() as tx:
                tx.add_elements(PORTS, [Element((TCP, 9000), ("10.0.2.2", 80))], exclusive=True)
            assert _connect(client, "10.0.1.1", 9000).startswith(b"hello from server")
            # a duplicate key is an error the caller sees, naming the map
            with pytest.raises(FileExistsError, match="add 1 element to map ip libnet ports"):
                with nft.transaction() as tx:
                    tx.add_elements(PORTS, [Element((TCP, 8080), ("10.0.2.9", 80))],
                                    exclusive=True)
            assert sorted(nft.elements(PORTS), key=repr) == sorted(
                mine + [Element((TCP, 9000), ("10.0.2.2", 80))], key=repr)
            list_ruleset_json(host)
            assert list_ruleset(host) == golden("portmap.nft")
            # container A leaves: its port is no longer forwarded
            with nft.transaction() as tx:
                tx.delete_elements(PORTS, mine)
            with pytest.raises(ConnectionRefusedError):
                _connect(client, "10.0.1.1", 8080)
            assert _connect(client, "10.0.1.1", 9000).startswith(b"hello from server")
        finally:
            srv.close()
