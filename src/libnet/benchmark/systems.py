"""The systems the density benchmark drives: libnet and the kernel's own cost.

Each system sets up and tears down the networking of one container at a
time, with the same work for every system: a network namespace, a veth
pair with its host end on a bridge and its other end as the container's
eth0 (address, loopback up, default route through the bridge), and 4
published TCP ports.  ``setup`` marks the end of each of its phases on a
``Clock``; what ``prepare`` does (building documents or messages) is not
timed.  Peers that run processes are in ``peers.py``.

Every system gets its own private host namespace (``Context.host``): its
bridges, host-side veth ends and firewall state never meet another
system's, and deleting that namespace removes them all.
"""

from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass, field
from typing import Any

from .. import _netlink as nl
from .. import netns
from . import baseline

__all__ = ["ContainerSpec", "Context", "Clock", "System", "LibnetSystem", "KernelSystem",
           "PORTS", "PER_NETWORK", "spec"]

PORTS = 4                 # published ports per container
PER_NETWORK = 1000        # containers per bridge (a bridge has at most 1,023 ports)
FIRST_HOST_PORT = 20000   # peers need explicit host ports: 20000 + 4 * i + j
CONTAINER_PORT = 80       # container ports 80..83


@dataclass(frozen=True)
class ContainerSpec:
    """Container ``index``: its ids, network, address and ports."""

    index: int
    id: str                   # 64 hex digits, as a runtime's container id
    name: str
    network: int              # which bridge (index // PER_NETWORK)
    subnet: str               # 10.(100 + network).0.0/16
    gateway: str
    address: str              # "10.x.y.z/16"
    ports: tuple[tuple[int, int], ...]   # (container port, host port)

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]


def spec(i: int) -> ContainerSpec:
    k, j = divmod(i, PER_NETWORK)
    net = ipaddress.IPv4Network(f"10.{100 + k}.0.0/16")
    ip = net.network_address + 2 + j
    return ContainerSpec(
        i, f"{i:08x}" + "bench" + "0" * 51, f"bench-c{i}", k, str(net),
        str(net.network_address + 1), f"{ip}/16",
        tuple((CONTAINER_PORT + p, FIRST_HOST_PORT + PORTS * i + p) for p in range(PORTS)))


@dataclass
class Context:
    """What a system gets from the harness: its private host namespace, a
    directory of its own and a tmpfs for runtime state, all under the run
    directory."""

    name: str
    host: netns.NetNS
    dir: str                  # data (on the run directory's file system)
    netns_dir: str            # where container namespaces are mounted (on run_dir)
    run_dir: str              # a tmpfs, as /run on a host
    notes: list[str] = field(default_factory=list)


class Clock:
    """Phase marks of one setup: ``mark(name)`` ends the phase ``name``."""

    __slots__ = ("t0", "marks")

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []
        self.t0 = time.perf_counter()

    def mark(self, phase: str) -> None:
        self.marks.append((phase, time.perf_counter()))

    def phases(self) -> dict[str, float]:
        out: dict[str, float] = {}
        prev = self.t0
        for name, t in self.marks:
            out[name] = out.get(name, 0.0) + t - prev
            prev = t
        return out


class System:
    """One contender.  ``missing()`` says why it cannot run (None: it can)."""

    name = "?"
    phases: tuple[str, ...] = ()
    in_process = True         # its work runs in the harness process (memory is ours)
    description = ""

    def missing(self) -> str | None:
        return None

    def start(self, ctx: Context) -> None:
        self.ctx = ctx

    def prepare(self, c: ContainerSpec) -> Any:
        """Untimed preparation for container ``c`` (pre-built bytes, documents)."""
        return None

    def setup(self, c: ContainerSpec, prep: Any, clock: Clock) -> Any:
        raise NotImplementedError

    def teardown(self, handle: Any) -> None:
        raise NotImplementedError

    def finish_teardown(self) -> None:
        """After the last teardown: wait for work it left to the background
        (timed, counted in the teardown total)."""

    def stop(self) -> None:
        """Release what ``start`` made (best effort; the host namespace goes anyway)."""

    def abort(self) -> None:
        """On interruption: close sockets and files only (the harness then
        unmounts every namespace of the run)."""

    def extra(self) -> dict[str, Any]:
        """System-specific facts for the results (e.g. whether ports were programmed)."""
        return {}


# ---------------------------------------------------------------------------- libnet

class LibnetSystem(System):
    """libnet's Python API, as a runtime embeds it:
    ``new_sandbox``, ``create_endpoint(port_bindings=4)``, ``join``;
    teardown ``sandbox.delete()`` (which, like libnetwork's, deletes the
    endpoints joined to it) and ``endpoint.delete()`` (then a no-op)."""

    name = "libnet"
    phases = ("namespace", "endpoint", "join", "ports")
    description = ("Controller(Config(netns=host)): new_sandbox, create_endpoint with 4 "
                   "port_bindings (host_port 0), join; sandbox.delete (its namespace unmounted "
                   "in the background), endpoint.delete")

    def start(self, ctx: Context) -> None:
        from ..controller import Config, Controller
        super().start(ctx)
        self.c = Controller(Config(data_dir=os.path.join(ctx.dir, "data"),
                                   run_dir=ctx.run_dir, netns=ctx.host.path))
        self.networks: dict[int, Any] = {}
        if self.c.config.namespaces_ahead:
            ctx.notes.append(
                f"new_sandbox takes a namespace a background thread made ahead (Config."
                f"namespaces_ahead={self.c.config.namespaces_ahead}); that thread's work is in "
                "the setup CPU time, not in the latency")
        self.ports_programmed: bool | None = None
        self.portmap_sample: Any = None

    def prepare(self, c: ContainerSpec) -> Any:
        net = self.networks.get(c.network)
        if net is None:       # one bridge per PER_NETWORK containers, made untimed
            net = self.c.new_network(
                "bridge", f"bench{c.network}",
                ipam={"ipv4": [{"subnet": c.subnet, "gateway": c.gateway}]},
                driver_opts={"com.docker.network.bridge.name": f"bench{c.network}"})
            self.networks[c.network] = net
        bindings = [{"proto": "tcp", "port": cp, "host_port": 0} for cp, _ in c.ports]
        return net, bindings

    def setup(self, c: ContainerSpec, prep: Any, clock: Clock) -> Any:
        net, bindings = prep
        sb = self.c.new_sandbox(c.id)
        clock.mark("namespace")
        ep = net.create_endpoint(c.name, port_bindings=bindings)
        clock.mark("endpoint")
        ep.join(sb)           # publishes the ports too, once the firewall is in the controller
        clock.mark("join")
        if self.ports_programmed is None:
            self._check_ports(ep)
        return sb, ep

    def _check_ports(self, ep: Any) -> None:
        # Untimed (the clock has stopped at its last mark).  The contract:
        # after join, driver_info()["com.docker.network.portmap"] lists the
        # mappings; a host port of 0 means they were recorded, not programmed.
        pm = ep.driver_info().get("com.docker.network.portmap") or []
        self.portmap_sample = pm
        self.ports_programmed = bool(pm) and all(m.get("host_port") for m in pm)
        if not self.ports_programmed:
            self.ctx.notes.append(
                "ports recorded but not programmed: the controller does not publish ports "
                "yet (driver_info portmap has host_port 0); libnet's figures lack the "
                "firewall's share")
        else:
            self.ctx.notes.append("ports are published inside join; the ports phase "
                                  "is counted in join")

    def teardown(self, handle: Any) -> None:
        sb, ep = handle
        sb.delete()
        ep.delete()

    def finish_teardown(self) -> None:
        # sandbox.delete() returns before its namespace is unmounted (an RCU
        # grace period: libnet.reaper); the total waits for the last one.
        t0 = time.perf_counter()
        self.c.wait_released()
        self.ctx.notes.append(
            f"sandbox.delete() leaves the unmount to a background thread; the last one "
            f"finished {1e3 * (time.perf_counter() - t0):.0f} ms after the last teardown "
            "returned (counted in the teardown total)")

    def stop(self) -> None:
        try:
            for net in list(self.networks.values()):
                for ep in net.endpoints():
                    ep.delete(force=True)
                net.delete()
        finally:
            self.c.stop()

    def abort(self) -> None:
        self.c.stop()

    def extra(self) -> dict[str, Any]:
        return {"ports_programmed": self.ports_programmed,
                "ports_phase": "counted in join (the controller publishes ports there)",
                "portmap_sample": self.portmap_sample}


# ---------------------------------------------------------------------------- kernel

ROUTE = nl.NETLINK_ROUTE
PEER_FD = 1000            # the veth request names this fd; each container's namespace is dup2'ed on it


class KernelSystem(System):
    """The kernel's own cost: the same kernel work as libnet, every message
    pre-built as bytes outside the timing and sent through libnet's core
    (``NetlinkSocket.batch``, ``nft_commit``), with no Python object layer.

    Per container (the requests of ``libnet.benchmark.baseline``): a
    namespace (unshare, bind mount), one send of the veth's RTM_NEWLINK (its
    peer created inside the namespace, host end down), the host end's
    setting and the host end up; inside the namespace one batch (lo up, eth0's settings, address,
    eth0 up, default route); the host end enslaved (no announcement: as
    libnet.drivers.bridge, none for an address with the MAC derived from it
    on a bridge of its own); one nf_tables transaction adding the 4
    port-map elements.  Teardown: one transaction
    deleting them, then the namespace.

    The veth request is built once per container naming fd ``PEER_FD``;
    the new namespace is dup2'ed on that fd, so nothing is encoded in the
    timed part.
    """

    name = "kernel"
    phases = ("namespace", "veth", "addresses", "ports")
    description = ("pre-built rtnetlink and nf_tables messages through libnet's core "
                   "(no object layer): netns, veth, in-namespace batch, 4 map elements")

    def start(self, ctx: Context) -> None:
        from ..netlink import Chain, Lookup, Meta, Nat, NftSocket, Payload, RouteSocket, Rule, Set, Table
        from ..netlink.nft_expr import REG32
        super().start(ctx)
        self.rs = RouteSocket(ctx.host)
        self.nft = NftSocket(ctx.host)
        self.ports_map = Set("bench", "ports", "inet_proto . inet_service",
                             "ipv4_addr . inet_service", "ip")
        with self.nft.transaction() as tx:
            tx.add_table(Table("bench", "ip"))
            tx.add_chain(Chain("bench", "prerouting", "ip", "nat", "prerouting", -100))
            tx.add_set(self.ports_map)
            tx.add_rule(Rule("bench", "prerouting", (
                Meta("l4proto"), Payload("transport", 2, 2, dreg=REG32[1]),
                Lookup("ports", dreg=1), Nat("dnat", "ip", reg_addr_min=1,
                                             reg_proto_min=REG32[1])), "ip"))
        self.bridges: dict[int, int] = {}
        # Reserve PEER_FD so that dup2 never closes a descriptor in use.
        self._placeholder = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        os.dup2(self._placeholder, PEER_FD)
        self.checked = False

    def _bridge(self, k: int, gateway: str) -> int:
        idx = self.bridges.get(k)
        if idx is None:
            idx = baseline.make_bridge(self.rs, f"bench{k}", f"{gateway}/16")
            self.bridges[k] = idx
        return idx

    def prepare(self, c: ContainerSpec) -> Any:
        from ..netlink import Element
        br = self._bridge(c.network, c.gateway)
        iface = ipaddress.IPv4Interface(c.address)
        host_end = f"veth{c.index}"
        veth = baseline.veth_messages(host_end, baseline.mac_of(c.ip), PEER_FD)
        inside = baseline.sandbox_messages(c.ip, iface.network.prefixlen, c.gateway)
        attach = baseline.attach_message(host_end, br)
        els = [Element((6, hp), (c.ip, cp)) for cp, hp in c.ports]
        tx = self.nft.transaction()
        tx.add_elements(self.ports_map, els, exclusive=True)
        add = (list(tx.msgs), list(tx.ops))
        tx = self.nft.transaction()
        tx.delete_elements(self.ports_map, els)
        delete = (list(tx.msgs), list(tx.ops))
        return c, veth, inside, attach, add, delete

    def setup(self, c: ContainerSpec, prep: Any, clock: Clock) -> Any:
        c, veth, inside, attach, add, delete = prep
        ns = netns.create(f"k{c.index}", self.ctx.netns_dir)
        clock.mark("namespace")
        os.dup2(ns.fileno(), PEER_FD)
        self.rs.socket.batch(veth)
        clock.mark("veth")
        sock = nl.NetlinkSocket(ROUTE, netns=ns.fileno())
        try:
            sock.batch(inside)
        finally:
            sock.close()
        self.rs.socket.batch([attach])
        clock.mark("addresses")
        nl.nft_commit(self.nft.socket, add[0], add[1])
        clock.mark("ports")
        if not self.checked:
            self._check(ns)
        return ns, delete

    def _check(self, ns: netns.NetNS) -> None:
        # Untimed: the pre-built indexes were right (eth0 is link 2).
        from ..netlink import RouteSocket
        with RouteSocket(ns) as rs:
            link = rs.link_get("eth0")
            if link.index != baseline.ETH0_INDEX or not any(r.gateway for r in rs.route_dump()):
                raise RuntimeError("kernel baseline: eth0 or its default route is not as pre-built")
        self.checked = True

    def teardown(self, handle: Any) -> None:
        ns, delete = handle
        nl.nft_commit(self.nft.socket, delete[0], delete[1])
        netns.delete(ns)

    def abort(self) -> None:
        self.stop()

    def stop(self) -> None:
        os.dup2(self._placeholder, PEER_FD)
        os.close(PEER_FD)
        os.close(self._placeholder)
        self.nft.close()
        self.rs.close()
