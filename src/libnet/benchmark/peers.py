"""The peers: netavark, the CNI reference plugins, and a naive ip/nft script.

Each is driven the way its users drive it, from Debian's packages, inside
the system's private host namespace (``nsenter --net=HOST``); the container
namespace is made in-process by the harness first, as Podman and CRI
runtimes make it before calling their network backend.

- netavark (Podman's backend, ``/usr/lib/podman/netavark``): one ``setup``
  process per container with the network options JSON on standard input
  (shared/reference/netavark-1.4-network-options.json, 4 port mappings);
  ``teardown`` likewise.  Firewall driver as packaged (1.4: iptables).
- CNI (``/usr/lib/cni``): ``loopback`` (CNI_IFNAME=lo), ``bridge`` with
  ``host-local`` IPAM, then ``portmap`` with ``runtimeConfig.portMappings``
  and the bridge's result as ``prevResult``, per the CNI spec; DEL in
  reverse order with the last result as ``prevResult``.
- naive: one ``ip`` or ``nft`` process per operation, as a shell script
  would do it.

A peer that is not installed is reported missing, never faked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from .. import netns
from .systems import Clock, ContainerSpec, Context, System

__all__ = ["NetavarkSystem", "CNISystem", "NaiveSystem", "PeerError", "run_process"]

NETAVARK = "/usr/lib/podman/netavark"
CNI_PATH = "/usr/lib/cni"


class PeerError(RuntimeError):
    """A peer's process failed; the message has its command and stderr."""


def run_process(argv: list[str], stdin: str | None = None,
                env: dict[str, str] | None = None) -> str:
    """Run ``argv``; its standard output.  PeerError if it fails."""
    p = subprocess.run(argv, input=stdin, capture_output=True, env=env, text=True)
    if p.returncode != 0:
        raise PeerError(f"{' '.join(argv)} exited with {p.returncode}: {p.stderr.strip()[:500]}")
    return p.stdout


class _ProcessPeer(System):
    in_process = False

    def start(self, ctx: Context) -> None:
        super().start(ctx)
        self.enter = ["nsenter", f"--net={ctx.host.path}"]
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
        self.processes = 0

    def run(self, argv: list[str], stdin: str | None = None,
            env: dict[str, str] | None = None, host: bool = True) -> str:
        self.processes += 1
        return run_process((self.enter if host else []) + argv, stdin, env or self.env)

    def new_netns(self, c: ContainerSpec) -> netns.NetNS:
        return netns.create(f"{self.name}{c.index}", self.ctx.netns_dir)

    def extra(self) -> dict[str, Any]:
        # Their memory is not measured: a child's ru_maxrss (wait4) counts
        # the pages of the harness it was forked from (exec keeps the old
        # mm's high-water mark), so it would say more about us than them.
        return {"peer_processes": self.processes}


def _which(path_or_name: str) -> str | None:
    if "/" in path_or_name:
        return path_or_name if os.access(path_or_name, os.X_OK) else None
    return shutil.which(path_or_name, path="/usr/sbin:/usr/bin:/sbin:/bin")


# ---------------------------------------------------------------------------- netavark

class NetavarkSystem(_ProcessPeer):
    """Podman's netavark: ``netavark --config DIR setup|teardown NETNS``."""

    name = "netavark"
    phases = ("namespace", "setup")
    description = ("netavark --config DIR setup NETNS, JSON on stdin (4 port mappings), "
                   "one process per container; teardown likewise")

    def missing(self) -> str | None:
        for tool in (NETAVARK, "nsenter", "iptables"):
            if _which(tool) is None:
                return (f"{tool} is not installed (apt-get install netavark iptables; "
                        "nsenter is in util-linux)")
        return None

    def start(self, ctx: Context) -> None:
        super().start(ctx)
        self.config = os.path.join(ctx.dir, "config")
        os.makedirs(self.config, exist_ok=True)
        try:
            self.version = self.run([NETAVARK, "--version"], host=False).strip()
        except PeerError:
            self.version = "?"

    def prepare(self, c: ContainerSpec) -> Any:
        net = f"bench{c.network}"
        doc = {
            "container_id": c.id,
            "container_name": c.name,
            "port_mappings": [{"host_ip": "", "container_port": cp, "host_port": hp,
                               "range": 1, "protocol": "tcp"} for cp, hp in c.ports],
            "networks": {net: {"interface_name": "eth0", "static_ips": [c.ip]}},
            "network_info": {net: {
                "name": net, "id": f"{c.network:064x}", "driver": "bridge",
                "network_interface": net,
                "subnets": [{"subnet": c.subnet, "gateway": c.gateway}],
                "ipv6_enabled": False, "internal": False, "dns_enabled": False}},
        }
        return json.dumps(doc)

    def setup(self, c: ContainerSpec, prep: Any, clock: Clock) -> Any:
        ns = self.new_netns(c)
        clock.mark("namespace")
        try:
            self.run([NETAVARK, "--config", self.config, "setup", ns.path], prep)
        except BaseException:
            netns.delete(ns)
            raise
        clock.mark("setup")
        return ns, prep

    def teardown(self, handle: Any) -> None:
        ns, doc = handle
        try:
            self.run([NETAVARK, "--config", self.config, "teardown", ns.path], doc)
        finally:
            netns.delete(ns)

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "version": self.version}


# ---------------------------------------------------------------------------- CNI

def _cni_networks() -> dict[str, Any]:
    """The reference conflist (shared/reference/cni-bridge-portmap.conflist)."""
    return {
        "cniVersion": "1.0.0",
        "name": "bench",
        "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True,
             "ipam": {"type": "host-local",
                      "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]],
                      "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/run/cni-ipam"}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


class CNISystem(_ProcessPeer):
    """The CNI reference plugins, invoked per the CNI spec as a runtime
    (libcni) does: ADD loopback, bridge, portmap; DEL in reverse."""

    name = "cni"
    phases = ("namespace", "loopback", "bridge", "portmap")
    description = ("CNI plugins 1.x: loopback, bridge + host-local, portmap "
                   "(runtimeConfig.portMappings, prevResult); DEL in reverse")

    def missing(self) -> str | None:
        for tool in (f"{CNI_PATH}/loopback", f"{CNI_PATH}/bridge", f"{CNI_PATH}/host-local",
                     f"{CNI_PATH}/portmap", "nsenter", "iptables"):
            if _which(tool) is None:
                return (f"{tool} is not installed (apt-get install containernetworking-plugins "
                        "iptables)")
        return None

    def start(self, ctx: Context) -> None:
        super().start(ctx)
        self.ipam_dir = os.path.join(ctx.dir, "ipam")
        os.makedirs(self.ipam_dir, exist_ok=True)
        self.version = "?"
        try:
            out = self.run([f"{CNI_PATH}/bridge"], env={**self.env, "CNI_COMMAND": "VERSION"},
                           stdin="{}", host=False)
            self.version = out.strip().splitlines()[0][:200] if out.strip() else "?"
        except PeerError:
            pass

    def _confs(self, c: ContainerSpec) -> tuple[dict, dict, dict]:
        ref = _cni_networks()
        base = {"cniVersion": ref["cniVersion"], "name": f"bench{c.network}"}
        bridge = json.loads(json.dumps(ref["plugins"][0]))
        bridge["bridge"] = f"cni{c.network}"
        bridge["ipam"]["ranges"] = [[{"subnet": c.subnet, "gateway": c.gateway}]]
        bridge["ipam"]["dataDir"] = self.ipam_dir
        portmap = {k: v for k, v in ref["plugins"][1].items() if k != "capabilities"}
        # libcni turns the capability into runtimeConfig for the plugin.
        portmap["runtimeConfig"] = {"portMappings": [
            {"hostPort": hp, "containerPort": cp, "protocol": "tcp"} for cp, hp in c.ports]}
        return {**base, "type": "loopback"}, {**base, **bridge}, {**base, **portmap}

    def prepare(self, c: ContainerSpec) -> Any:
        return self._confs(c)

    def _env(self, cmd: str, c: ContainerSpec, ns: netns.NetNS, ifname: str) -> dict[str, str]:
        return {**self.env, "CNI_COMMAND": cmd, "CNI_CONTAINERID": c.id, "CNI_NETNS": ns.path,
                "CNI_IFNAME": ifname, "CNI_PATH": CNI_PATH}

    def _call(self, plugin: str, cmd: str, c: ContainerSpec, ns: netns.NetNS, ifname: str,
              conf: dict) -> dict | None:
        out = self.run([f"{CNI_PATH}/{plugin}"], json.dumps(conf), self._env(cmd, c, ns, ifname))
        return json.loads(out) if out.strip() else None

    def setup(self, c: ContainerSpec, prep: Any, clock: Clock) -> Any:
        lo, bridge, portmap = prep
        ns = self.new_netns(c)
        clock.mark("namespace")
        done: list[tuple[str, str, dict]] = []
        try:
            self._call("loopback", "ADD", c, ns, "lo", lo)
            done.append(("loopback", "lo", lo))
            clock.mark("loopback")
            result = self._call("bridge", "ADD", c, ns, "eth0", bridge)
            done.append(("bridge", "eth0", bridge))
            clock.mark("bridge")
            portmap = {**portmap, "prevResult": result}
            result = self._call("portmap", "ADD", c, ns, "eth0", portmap)
            done.append(("portmap", "eth0", portmap))
            clock.mark("portmap")
        except BaseException:
            self._delete(c, ns, done, None)
            raise
        return c, ns, done, result

    def _delete(self, c: ContainerSpec, ns: netns.NetNS, done: list, result: Any) -> None:
        try:
            for plugin, ifname, conf in reversed(done):
                if result is not None and plugin != "loopback":
                    conf = {**conf, "prevResult": result}
                self._call(plugin, "DEL", c, ns, ifname, conf)
        finally:
            netns.delete(ns)

    def teardown(self, handle: Any) -> None:
        c, ns, done, result = handle
        self._delete(c, ns, done, result)

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "version": self.version}


# ---------------------------------------------------------------------------- naive

class NaiveSystem(_ProcessPeer):
    """What a shell script does: one ``ip`` or ``nft`` process per operation
    (the namespace is made in-process, as for every system)."""

    name = "naive"
    phases = ("namespace", "link", "addresses", "ports")
    description = ("one ip/nft process per operation: ip link add (peer in the netns), "
                   "ip link set master, 4 ip in the netns, 4 nft add element; "
                   "teardown 4 nft delete element, ip link del")

    def missing(self) -> str | None:
        for tool in ("ip", "nft", "nsenter"):
            if _which(tool) is None:
                return f"{tool} is not installed (apt-get install iproute2 nftables util-linux)"
        return None

    def start(self, ctx: Context) -> None:
        super().start(ctx)
        rules = os.path.join(ctx.dir, "table.nft")
        with open(rules, "w") as f:
            f.write("table ip naive {\n"
                    "  map ports { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
                    "  chain prerouting { type nat hook prerouting priority dstnat;\n"
                    "    dnat to meta l4proto . th dport map @ports; }\n"
                    "}\n")
        self.run(["nft", "-f", rules])
        self.bridges: set[int] = set()

    def prepare(self, c: ContainerSpec) -> Any:
        if c.network not in self.bridges:
            br = f"br{c.network}"
            self.run(["ip", "link", "add", br, "type", "bridge"])
            self.run(["ip", "addr", "add", f"{c.gateway}/16", "dev", br])
            self.run(["ip", "link", "set", br, "up"])
            self.bridges.add(c.network)
        return None

    def setup(self, c: ContainerSpec, prep: Any, clock: Clock) -> Any:
        ns = self.new_netns(c)
        clock.mark("namespace")
        veth = f"veth{c.index}"
        inside = ["nsenter", f"--net={ns.path}"]
        try:
            self.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                      "netns", ns.path])
            self.run(["ip", "link", "set", veth, "master", f"br{c.network}", "up"])
            clock.mark("link")
            self.run(inside + ["ip", "link", "set", "lo", "up"], host=False)
            self.run(inside + ["ip", "addr", "add", c.address, "dev", "eth0"], host=False)
            self.run(inside + ["ip", "link", "set", "eth0", "up"], host=False)
            self.run(inside + ["ip", "route", "add", "default", "via", c.gateway], host=False)
            clock.mark("addresses")
            for cp, hp in c.ports:
                self.run(["nft", "add", "element", "ip", "naive", "ports",
                          f"{{ tcp . {hp} : {c.ip} . {cp} }}"])
            clock.mark("ports")
        except BaseException:
            netns.delete(ns)
            raise
        return c, ns

    def teardown(self, handle: Any) -> None:
        c, ns = handle
        try:
            for cp, hp in c.ports:
                self.run(["nft", "delete", "element", "ip", "naive", "ports", f"{{ tcp . {hp} }}"])
            self.run(["ip", "link", "del", f"veth{c.index}"])
        finally:
            netns.delete(ns)

