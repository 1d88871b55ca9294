"""The controller: libnetwork's Container Network Model in Python.

    c = Controller(Config(data_dir="/var/lib/libnet", run_dir="/run/libnet"))
    net = c.new_network("bridge", "web", ipam={"ipv4": [{"subnet": "10.1.0.0/24"}]})
    ep = net.create_endpoint("web1")
    sb = c.new_sandbox("container-id", hostname="web1")
    ep.join(sb)            # eth0 inside sb, 10.1.0.2/24, default via 10.1.0.1
    ...
    sb.delete(); ep.delete(); net.delete(); c.stop()

Every change does its kernel work first, then commits one store
transaction; if the process dies in between, the next controller on the same
data directory finds the kernel objects the store does not know (veths
named after endpoint ids on its bridges, namespaces under its run
directory) and removes them, and re-creates what the store has but the
kernel lost (bridges).  Calls are serialised by one lock.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import shutil
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from . import _failpoint
from .drivers import BUILTIN_DRIVERS
from .drivers.api import Driver, SandboxInfo, Undo
from .drivers.bridge.driver import host_ifname, mac_from_ipv4
from .endpoint import Endpoint
from .errors import (ConflictError, ForbiddenError, InvalidParameterError, NotFoundError)
from .firewall import Firewall, NftFirewall, NoFirewall, PortMapping
from .hostops import HostOps, SandboxNetns
from .ipam import (AddressRequest, DefaultIPAM, IPAMConfig, IPAMDriver, NullIPAM, PoolRequest)
from .netlink import NetlinkError
from .network import Network
from .nspool import NamespacePool
from .options import (EndpointOptions, NetworkOptions, SandboxOptions, build,
                      from_jsonable, to_jsonable)
from .reaper import Reaper
from .sandbox import Sandbox
from .store import SQLiteStore, StoreRecord

__all__ = ["Config", "Controller"]

T = TypeVar("T")


@dataclass(frozen=True)
class Config:
    """Where libnet keeps its state and which namespace is the host.

    ``netns``: the namespace libnet treats as the host (bridges, host ends
    of veths, the firewall); None for the process's own.  Tests and the
    benchmark give a namespace they created.

    ``release_in_background``: a deleted sandbox's namespace is unmounted,
    and its files removed, by a background thread (``libnet.reaper``: an
    unmount waits for an RCU grace period, up to 200 ms while the kernel
    destroys other namespaces); ``Controller.wait_released()`` waits for
    it.  False does both before ``delete()`` returns.

    ``namespaces_ahead``: how many sandbox namespaces a background thread
    keeps made (``libnet.nspool``), so that ``new_sandbox`` takes one
    instead of waiting for the kernel to make it; 0 for none.  Only with
    the real host (no ``host_ops`` given).
    """

    data_dir: str = "/var/lib/libnet"
    run_dir: str = "/run/libnet"
    netns: Any = None
    default_address_pools: tuple[Any, ...] | None = None
    global_address_pools: tuple[Any, ...] | None = None
    driver_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    resolv_conf_source: str = "/etc/resolv.conf"
    reconcile: bool = True
    firewall: str = "nftables"          # or "none"
    release_in_background: bool = True
    namespaces_ahead: int = 8


def _new_id() -> str:
    return secrets.token_hex(32)


class Controller:
    """The entry point: networks, endpoints and sandboxes, persisted."""

    def __init__(self, config: Config | None = None, *,
                 drivers: Mapping[str, Driver] | None = None,
                 ipam_drivers: Mapping[str, IPAMDriver] | None = None,
                 firewall: Firewall | None = None, host_ops: HostOps | None = None,
                 **kwargs: Any):
        """``drivers`` and ``ipam_drivers`` add (or replace) drivers before the
        store is restored, ``firewall`` replaces the one ``config.firewall``
        names, ``host_ops`` the host itself (namespaces, rtnetlink sockets,
        sysctls: libnet.hostops.RecordingHost in unit tests)."""
        self.config = config if config is not None else build(Config, kwargs, "controller config")
        if config is not None and kwargs:
            raise InvalidParameterError("give a Config or keyword arguments, not both")
        ahead = self.config.namespaces_ahead
        if not isinstance(ahead, int) or isinstance(ahead, bool) or ahead < 0:
            raise InvalidParameterError(f"namespaces_ahead {ahead!r} must be an integer >= 0")
        os.makedirs(self.config.run_dir, exist_ok=True)
        self._lock = threading.RLock()
        # The store first: it refuses a data dir another controller holds
        # (StoreInUseError) before anything touches the kernel.  It is held
        # exclusively, so a start that fails half-way releases it (and the
        # sockets) before the error goes up: a retry in this process works.
        self.ops = host_ops if host_ops is not None else HostOps()
        self.store = SQLiteStore(self.config.data_dir)
        self.host: Any = None
        self.firewall: Any = None
        self._reaper = Reaper() if self.config.release_in_background else None
        self._pool: NamespacePool | None = None
        self._fresh_sandbox: Sandbox | None = None     # the one holding its SandboxNetns
        self._pool_size = ahead if host_ops is None else 0
        try:
            self._start(drivers, ipam_drivers, firewall)
        except BaseException:
            self._release()
            raise

    def _start(self, drivers: Mapping[str, Driver] | None,
               ipam_drivers: Mapping[str, IPAMDriver] | None, firewall: Firewall | None) -> None:
        self.host = self.ops.route_socket(self.config.netns)
        ipam_cfg = IPAMConfig(**{k: v for k, v in (
            ("local_pools", self.config.default_address_pools),
            ("global_pools", self.config.global_address_pools)) if v is not None})
        self._ipams: dict[str, IPAMDriver] = {"default": DefaultIPAM(ipam_cfg), "null": NullIPAM()}
        if firewall is None:
            if self.config.firewall not in ("nftables", "none"):
                raise InvalidParameterError(f"firewall {self.config.firewall!r}: 'nftables' or 'none'")
            firewall = NftFirewall(self.config.netns) if self.config.firewall == "nftables" else NoFirewall()
        self.firewall = firewall
        self.firewall.ensure()
        self._drivers: dict[str, Driver] = {}
        for name, factory in BUILTIN_DRIVERS:
            self._drivers[name] = factory(self.host, self.config.netns, self.firewall, self.ops)
        self._drivers.update(drivers or {})
        self._ipams.update(ipam_drivers or {})
        for name, opts in self.config.driver_options.items():
            self.configure_network_driver(name, opts)
        self._networks: dict[str, Network] = {}
        self._sandboxes: dict[str, Sandbox] = {}
        self._by_container: dict[str, Sandbox] = {}
        self._join_seq = 0             # the last join's sequence number
        self._restore()

    # ------------------------------------------------------------ plumbing

    @property
    def netns_dir(self) -> str:
        return os.path.join(self.config.run_dir, "netns")

    def _driver(self, name: str) -> Driver:
        try:
            return self._drivers[name]
        except KeyError:
            raise NotFoundError(f"no network driver {name!r}; known: {', '.join(self._drivers)}") from None

    def register_driver(self, name: str, driver: Driver) -> None:
        """Add a driver (e.g. a remote-driver proxy) under ``name``."""
        with self._lock:
            if name in self._drivers:
                raise ConflictError(f"a driver named {name!r} is registered already")
            self._drivers[name] = driver

    def configure_network_driver(self, name: str, options: Mapping[str, Any]) -> None:
        with self._lock:
            self._driver(name).configure(options)

    @staticmethod
    def _lookup(table: Mapping[str, T], ref: str, what: str) -> T:
        if not isinstance(ref, str) or not ref:
            raise InvalidParameterError(f"{what}: an id or unique id prefix is a non-empty string")
        if ref in table:
            return table[ref]
        hits = [v for k, v in table.items() if k.startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InvalidParameterError(f"{what}: id prefix {ref!r} is ambiguous ({len(hits)} match)")
        raise NotFoundError(f"no {what} with id {ref!r}")

    def _endpoint_by_id_any(self, id: str) -> Endpoint:
        for n in self._networks.values():
            ep = n._endpoints.get(id)
            if ep is not None:
                return ep
        raise NotFoundError(f"no endpoint with id {id!r}")

    # ------------------------------------------------------------ lookups

    def networks(self) -> list[Network]:
        return list(self._networks.values())

    def network_by_name(self, name: str) -> Network:
        for n in self._networks.values():
            if n.name == name:
                return n
        raise NotFoundError(f"no network named {name!r}")

    def network_by_id(self, ref: str) -> Network:
        return self._lookup(self._networks, ref, "network")

    def network(self, ref: str) -> Network:
        """By name, full id or unique id prefix (as the docker CLI)."""
        try:
            return self.network_by_name(ref)
        except NotFoundError:
            return self.network_by_id(ref)

    def walk_networks(self, fn: Callable[[Network], bool]) -> Network | None:
        for n in list(self._networks.values()):
            if fn(n):
                return n
        return None

    def sandboxes(self) -> list[Sandbox]:
        return list(self._sandboxes.values())

    def sandbox_by_id(self, ref: str) -> Sandbox:
        return self._lookup(self._sandboxes, ref, "sandbox")

    def sandbox_by_container(self, container_id: str) -> Sandbox:
        sb = self._by_container.get(container_id)
        if sb is None:
            raise NotFoundError(f"no sandbox for container {container_id!r}")
        return sb

    def walk_sandboxes(self, fn: Callable[[Sandbox], bool]) -> Sandbox | None:
        for s in list(self._sandboxes.values()):
            if fn(s):
                return s
        return None

    # ------------------------------------------------------------ networks

    def new_network(self, driver: str, name: str, *, id: str | None = None,
                    **options: Any) -> Network:
        """Create a network.  Options: ``ipam`` (IPAMOptions or a mapping with
        driver/ipv4/ipv6 lists of {subnet, ip_range, gateway, aux_addresses}),
        ``enable_ipv6``, ``internal``, ``attachable``, ``labels``, ``mtu``,
        ``driver_opts`` (the driver's own, e.g. bridge_name)."""
        with self._lock:
            drv = self._driver(driver)
            if not isinstance(name, str) or not name or len(name) > 128:
                raise InvalidParameterError(f"invalid network name {name!r}")
            if any(n.name == name for n in self._networks.values()):
                raise ConflictError(f"network with name {name} already exists")
            opts: NetworkOptions = build(NetworkOptions, options, f"network {name}")
            nid = id or _new_id()
            if nid in self._networks:
                raise ConflictError(f"network id {nid} exists")
            ipam = self._ipam(opts.ipam.driver)
            if driver == "bridge":
                drv.validate(Network(self, nid, name, driver, opts, (), (), "", {}, "")._info(),  # type: ignore[attr-defined]
                             {n.id: n.driver_state for n in self._networks.values()
                              if n.driver_name == "bridge"})
            with Undo() as undo:
                pools4, pools6 = self._request_pools(ipam, opts, undo, driver)
                net = Network(self, nid, name, driver, opts, pools4, pools6, opts.ipam.driver,
                              {}, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                # The store learns of the network before the kernel work, so
                # a crash in between leaves a record the restart can clean.
                self.store.put(self._network_record(net, creating=True))
                undo.push(lambda: self.store.delete("network", nid))
                try:
                    net.driver_state = drv.create_network(net._info())
                except NetlinkError as e:
                    raise InvalidParameterError(f"network {name}: {e}") from e
                undo.push(lambda: drv.delete_network(net._info(), net.driver_state))
                _failpoint.hit("network.before_commit")
                self.store.put(self._network_record(net))
            self._networks[nid] = net
            return net

    def _ipam(self, name: str) -> IPAMDriver:
        try:
            return self._ipams[name]
        except KeyError:
            raise NotFoundError(f"no IPAM driver {name!r}; known: {', '.join(self._ipams)}") from None

    def _host_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Networks routed in the host namespace, which new pools avoid."""
        out = []
        for r in self.host.route_dump():
            if r.dst != "default" and r.dst_len > 0:
                out.append(ipaddress.ip_network(r.dst, strict=False))
        return tuple(out)

    def _request_pools(self, ipam: IPAMDriver, opts: NetworkOptions, undo: Undo,
                       driver: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        if driver in ("host", "null"):
            return (), ()
        result: list[tuple[Any, ...]] = []
        for v6, confs, wanted in ((False, opts.ipam.ipv4, True), (True, opts.ipam.ipv6, opts.enable_ipv6)):
            pools = []
            if wanted:
                for conf in confs or (None,):
                    if conf is None:
                        req = PoolRequest(v6=v6, exclude=tuple(
                            n for n in self._host_networks() if (n.version == 6) == v6))
                    else:
                        # PoolRequest parses the strings the options carry.
                        req = PoolRequest(subnet=conf.subnet, ip_range=conf.ip_range,  # type: ignore[arg-type]
                                          gateway=conf.gateway,  # type: ignore[arg-type]
                                          aux_addresses=tuple(conf.aux_addresses.items()),  # type: ignore[arg-type]
                                          v6=v6)
                    pool = ipam.request_pool(req)
                    undo.push(functools.partial(ipam.release_pool, pool.id))
                    pools.append(pool)
            result.append(tuple(pools))
        return result[0], result[1]

    def _network_record(self, net: Network, creating: bool = False) -> StoreRecord:
        ipam = self._ipams.get(net.ipam_driver)
        pools = []
        if isinstance(ipam, DefaultIPAM):
            for p in (*net.pools4, *net.pools6):
                state = ipam.export_pool(p.id)
                # Endpoints carry their own addresses; the pool keeps only
                # what belongs to it (gateway, aux addresses).
                state["allocated"] = [str(a) for a in (p.gateway, *(x for _, x in p.aux_addresses))
                                      if a is not None]
                pools.append(state)
        return StoreRecord("network", net.id, net.name, {
            "driver": net.driver_name, "options": to_jsonable(net.options),
            "ipam_driver": net.ipam_driver, "pools": pools,
            "pool_ids": [[p.id for p in net.pools4], [p.id for p in net.pools6]],
            "driver_state": net.driver_state, "created": net.created, "creating": creating,
            "foreign_mac_ipv4": sorted(net.foreign_mac_ipv4)})

    def _delete_network(self, net: Network) -> None:
        with self._lock:
            if net.deleted:
                return
            if net._endpoints:
                raise ForbiddenError(f"network {net.name} has active endpoints "
                                     f"({', '.join(e.name for e in net._endpoints.values())})")
            self._driver(net.driver_name).delete_network(net._info(), net.driver_state)
            ipam = self._ipams.get(net.ipam_driver)
            for p in (*net.pools4, *net.pools6):
                try:
                    ipam.release_pool(p.id)          # type: ignore[union-attr]
                except LookupError:
                    pass
            self.store.delete("network", net.id)
            del self._networks[net.id]
            net.deleted = True

    # ------------------------------------------------------------ endpoints

    def _create_endpoint(self, net: Network, name: str, options: Mapping[str, Any]) -> Endpoint:
        with self._lock:
            if net.deleted:
                raise NotFoundError(f"network {net.name} was deleted")
            if not isinstance(name, str) or not name or len(name) > 255:
                raise InvalidParameterError(f"invalid endpoint name {name!r}")
            if name in net._by_name:
                raise ConflictError(f"endpoint with name {name} already exists in network {net.name}")
            opts: EndpointOptions = build(EndpointOptions, options, f"endpoint {name}")
            if opts.ipv6_address and not net.options.enable_ipv6:
                raise InvalidParameterError(f"network {net.name} has no IPv6; cannot use {opts.ipv6_address}")
            ipam = self._ipam(net.ipam_driver)
            eid = _new_id()
            with Undo() as undo:
                got4 = self._allocate(ipam, net.pools4, opts.ipv4_address, undo)
                got6 = self._allocate(ipam, net.pools6, opts.ipv6_address, undo)
                ipv4 = str(got4) if got4 is not None else None
                ipv6 = str(got6) if got6 is not None else None
                mac = opts.mac_address or mac_from_ipv4(ipv4) or _random_mac()
                if ipv4 is not None:
                    self._mark_foreign_mac(net, ipv4, mac, undo)
                ep = Endpoint(self, net, eid, name, opts, mac, ipv4, ipv6, {})
                ep._leases = [(g.pool_id, g.address) for g in (got4, got6) if g is not None]
                drv = self._driver(net.driver_name)
                ep.driver_state = drv.create_endpoint(net._info(), ep._info(), net.driver_state)
                undo.push(lambda: drv.delete_endpoint(net._info(), ep._info(), net.driver_state))
                self.store.put(self._endpoint_record(ep))
            net._endpoints[eid] = ep
            net._by_name[name] = ep
            return ep

    def _mark_foreign_mac(self, net: Network, ipv4: str, mac: str, undo: Undo) -> None:
        """Remember, in the network's record, an IPv4 address taken with a
        MAC other than the one derived from it: once it has been on the
        wire, a neighbour may map the address to that MAC, so whoever holds
        the address next must announce it (NetworkInfo.foreign_mac_ipv4)."""
        addr = ipv4.partition("/")[0]
        if mac.lower() == mac_from_ipv4(addr) or addr in net.foreign_mac_ipv4:
            return
        before, record = net.foreign_mac_ipv4, self.store.get("network", net.id)
        net.foreign_mac_ipv4 = before | {addr}
        self.store.put(self._network_record(net))

        def unmark() -> None:
            net.foreign_mac_ipv4 = before
            if record is not None:
                self.store.put(record)
        undo.push(unmark)

    @staticmethod
    def _allocate(ipam: IPAMDriver, pools: tuple[Any, ...], static: str | None,
                  undo: Undo) -> Any:
        if not pools:
            if static:
                raise InvalidParameterError(f"address {static} given but the network has no such subnet")
            return None
        if static is not None:
            addr = ipaddress.ip_address(static)
            pool = next((p for p in pools if addr in p.subnet), None)
            if pool is None:
                raise InvalidParameterError(
                    f"address {static} is not in the network's subnets "
                    f"({', '.join(str(p.subnet) for p in pools)})")
            got = ipam.request_address(AddressRequest(pool.id, addr))
        else:
            got = None
            for i, pool in enumerate(pools):
                try:
                    got = ipam.request_address(AddressRequest(pool.id))
                    break
                except Exception:
                    if i == len(pools) - 1:
                        raise
        if got is None:
            return None
        undo.push(lambda: ipam.release_address(got.pool_id, got.address))
        return got

    def _endpoint_record(self, ep: Endpoint) -> StoreRecord:
        return StoreRecord("endpoint", ep.id, ep.name, {
            "options": ep.options_json(), "mac": ep.mac, "ipv4": ep.ipv4, "ipv6": ep.ipv6,
            "driver_state": ep.driver_state, "sandbox": ep.sandbox_id, "ifname": ep.ifname,
            "join_gateways": list(ep.join_gateways), "join_seq": ep.join_seq},
            parent=ep.network.id)

    def _delete_endpoint(self, ep: Endpoint, force: bool) -> None:
        with self._lock:
            if ep.deleted:
                return
            if ep.sandbox_id is not None:
                if not force:
                    raise ForbiddenError(f"endpoint {ep.name} is joined to sandbox "
                                         f"{ep.sandbox_id[:12]}; leave it first")
                self._leave(ep, self._sandboxes[ep.sandbox_id])
            net = ep.network
            self._driver(net.driver_name).delete_endpoint(net._info(), ep._info(), net.driver_state)
            self.store.delete("endpoint", ep.id)
            self._forget_endpoint(ep)

    def _forget_endpoint(self, ep: Endpoint) -> None:
        """After its record is gone: its addresses back to IPAM, the object
        out of its network."""
        self._release_addresses(ep)
        net = ep.network
        del net._endpoints[ep.id]
        net._by_name.pop(ep.name, None)
        ep.deleted = True

    def _release_addresses(self, ep: Endpoint) -> None:
        ipam = self._ipams.get(ep.network.ipam_driver)
        if ipam is None:
            return
        if ep._leases is not None:        # what the allocation (or restore) gave
            for pool_id, ip in ep._leases:
                ipam.release_address(pool_id, ip)
            return
        for addr, pools in ((ep.ipv4, ep.network.pools4), (ep.ipv6, ep.network.pools6)):
            if addr is None:
                continue
            ip = ipaddress.ip_interface(addr).ip
            for p in pools:
                if ip in p.subnet:
                    ipam.release_address(p.id, ip)

    # ------------------------------------------------------------ sandboxes

    def new_sandbox(self, container_id: str, **options: Any) -> Sandbox:
        """A sandbox for ``container_id``.  Options: hostname, domainname,
        extra_hosts, dns, dns_search, dns_options, hosts_path,
        resolv_conf_path, use_host_netns, netns_path."""
        with self._lock:
            if not isinstance(container_id, str) or not container_id:
                raise InvalidParameterError("a sandbox needs a container id")
            opts: SandboxOptions = build(SandboxOptions, options, f"sandbox {container_id}")
            if container_id in self._by_container:
                raise ConflictError(f"container {container_id} has a sandbox already")
            sid = _new_id()
            owns = False
            fresh: SandboxNetns | None = None
            if opts.use_host_netns:
                key = None if self.config.netns is None else self.ops.netns_open(self.config.netns).path
            elif opts.netns_path:
                if not os.path.exists(opts.netns_path):
                    raise NotFoundError(f"namespace {opts.netns_path} does not exist")
                key = opts.netns_path
            else:
                made = self._take_namespace()
                if made is not None:           # made ahead, at a fresh id: the sandbox's
                    sid = made[0]
                    fresh = SandboxNetns.adopt(os.path.join(self.netns_dir, sid), *made[1:])
                else:
                    fresh = self.ops.netns_create(sid, self.netns_dir)
                key, owns = fresh.path, True
            sb = Sandbox(self, sid, container_id, opts, key, owns)
            with Undo() as undo:
                if owns and key is not None:
                    undo.push(functools.partial(self.ops.netns_delete, key, self.netns_dir))
                if fresh is not None:
                    undo.push(fresh.close)      # (undone first: before the delete)
                    sb._lo_up = True
                sb._write_files()
                undo.push(sb._remove_files)
                _failpoint.hit("sandbox.before_commit")
                self.store.put(StoreRecord("sandbox", sid, container_id, sb._record()))
            self._sandboxes[sid] = sb
            self._by_container[container_id] = sb
            if fresh is not None:
                # Its fd and socket wait for the first join; one sandbox at
                # a time holds them (a runtime joins a sandbox before it
                # makes the next), so sandboxes never joined hold no files.
                prev = self._fresh_sandbox
                if prev is not None:
                    prev._drop_fresh()
                sb._fresh, self._fresh_sandbox = fresh, sb
            return sb

    def spare_namespaces(self) -> list[str]:
        """Paths of the namespaces made ahead and not yet taken by a
        sandbox (``Config.namespaces_ahead``), the one being made included
        (its path may not exist yet)."""
        pool = self._pool
        return sorted(os.path.join(pool.run_dir, n) for n in pool.held()) if pool else []

    def _take_namespace(self) -> tuple[str, int, int] | None:
        """A namespace made ahead (its name, a fresh id, an fd of it and of
        a route socket inside), or None."""
        if self._pool is None:
            if not self._pool_size:
                return None
            self._pool = NamespacePool(self.netns_dir, self._pool_size, _new_id)
        return self._pool.take()

    def _delete_sandbox(self, sb: Sandbox) -> None:
        """As libnetwork's Sandbox.Delete: every joined endpoint leaves and
        is deleted, then the sandbox goes; their records go in one
        statement, before anything is forgotten in memory.  (To keep an
        endpoint, leave it first.)"""
        with self._lock:
            if sb.deleted:
                return
            errors: list[BaseException] = []
            gone: list[Endpoint] = []
            for ep in sb.endpoints():
                try:
                    self._leave(ep, sb, sandbox_going=True)
                    net = ep.network
                    self._driver(net.driver_name).delete_endpoint(net._info(), ep._info(),
                                                                 net.driver_state)
                    gone.append(ep)
                except Exception as e:
                    errors.append(e)
                    if ep.sandbox_id is None:   # kept, unjoined: say so in its record
                        self.store.put(self._endpoint_record(ep))
            self.store.delete_many([("endpoint", ep.id) for ep in gone] + [("sandbox", sb.id)])
            for ep in gone:
                self._forget_endpoint(ep)
            del self._sandboxes[sb.id]
            self._by_container.pop(sb.container_id, None)
            sb.deleted = True
            sb._drop_fresh()
            if self._fresh_sandbox is sb:
                self._fresh_sandbox = None
            if self._reaper is not None:
                self._reaper.submit(self._release_sandbox, sb)
            else:
                self._release_sandbox(sb)
            if errors:
                raise errors[0]

    def _release_sandbox(self, sb: Sandbox) -> None:
        """What is left of a deleted sandbox: its namespace (unmounted: the
        kernel then destroys it, and the interfaces in it) and its files."""
        _failpoint.hit("sandbox.before_release")
        if sb.owns_netns and sb.key:
            self.ops.netns_delete(sb.key)
        sb._remove_files()

    def wait_released(self, timeout: float | None = None) -> bool:
        """Wait until the namespaces and files of the sandboxes deleted so
        far are gone (see ``Config.release_in_background``); False if
        ``timeout`` seconds passed first."""
        return self._reaper.wait(timeout) if self._reaper is not None else True

    # ------------------------------------------------------------ join / leave

    def _join(self, ep: Endpoint, sb: Sandbox, options: Mapping[str, Any]) -> None:
        with self._lock:
            unknown = set(options) - {"priority"}
            if unknown:
                raise InvalidParameterError(f"join: unknown option(s) {', '.join(sorted(unknown))}")
            if ep.deleted or sb.deleted:
                raise NotFoundError("endpoint or sandbox was deleted")
            if ep.sandbox_id is not None:
                raise ForbiddenError(f"endpoint {ep.name} is joined to sandbox {ep.sandbox_id[:12]} already")
            if any(self._endpoint_by_id_any(i).network is ep.network for i in sb._joined):
                raise ForbiddenError(f"sandbox {sb.id[:12]} is on network {ep.network.name} already")
            if "priority" in options:
                prio = options["priority"]
                if not isinstance(prio, int) or isinstance(prio, bool):
                    raise InvalidParameterError(f"priority {prio!r} must be an integer")
                ep.options = build(EndpointOptions, {**to_jsonable_shallow(ep.options), "priority": prio},
                                   "endpoint")
                ep._options_json = None
            net = ep.network
            drv = self._driver(net.driver_name)
            own_ns = sb.key is not None and not sb.options.use_host_netns
            ifname = sb._next_ifname() if own_ns else None
            # The namespace as new_sandbox made it, open, and a socket inside
            # (the first join), else opened here.
            fresh = sb._fresh
            sb._fresh = None
            fd_ns, sock_in = fresh.take() if fresh is not None else (None, None)
            if fd_ns is None and own_ns and sb.key:
                fd_ns = self.ops.netns_open(sb.key)
            try:
                sbinfo = SandboxInfo(sb.id, sb.key, fd_ns.fileno() if fd_ns else -1,
                                     sb.options.use_host_netns)
                with Undo() as undo:
                    ninfo, einfo = net._info(), ep._info()
                    jinfo = drv.join(ninfo, einfo, sbinfo, ifname or "", net.driver_state)
                    # Undone with what the join made, the ports it published
                    # included (the endpoint records them only at the end).
                    joined = dataclasses.replace(einfo, port_map=tuple(jinfo.port_map))
                    undo.push(lambda: drv.leave(ninfo, joined, sbinfo, net.driver_state))
                    ep.ifname = ifname if jinfo.interface else None
                    carrier = self._gateway_candidate(sb, ep, jinfo.gateway4 or jinfo.gateway6)
                    if jinfo.interface and own_ns:
                        # The addresses are announced once the interface is
                        # connected: by the driver if it can, else by the
                        # kernel, from the sandbox.
                        by_driver = drv.announces
                        given, sock_in = sock_in, None          # (now _configure's)
                        sock = sb._configure(ifname or "", jinfo.ifindex, ep, jinfo.gateway4,
                                             jinfo.gateway6, carrier is ep, first=not sb._joined,
                                             ns_fd=sbinfo.fd, kernel_announces=not by_driver,
                                             sock=given)
                        try:
                            drv.activate(ninfo, einfo, sbinfo, net.driver_state)
                            if by_driver:
                                drv.announce(ninfo, einfo, net.driver_state)
                            elif ep.ipv4 or ep.ipv6:
                                sb._announce(sock, jinfo.ifindex or ifname or "", ep.mac)
                        finally:
                            sock.close()
                    prev = (ep.sandbox_id, list(sb._joined), sb.gateway_endpoint)
                    ep.join_gateways = (jinfo.gateway4, jinfo.gateway6)
                    if jinfo.port_map:
                        records = [_mapping_record(m) for m in jinfo.port_map]
                        ep.driver_state = {**ep.driver_state, "port_map": records}
                        if all(m.endpoint_id == ep.id and m.network_id == net.id
                               for m in jinfo.port_map):
                            ep._port_map = (records, tuple(jinfo.port_map))  # as port_map builds it
                    ep.sandbox_id = sb.id
                    self._join_seq += 1
                    ep.join_seq = self._join_seq
                    sb._joined.append(ep.id)
                    if carrier is ep:
                        sb.gateway_endpoint = ep.id
                    undo.push(lambda: _restore_join(ep, sb, prev))
                    sb._write_files(resolv_conf=False)
                    _failpoint.hit("join.before_commit")
                    self.store.put(self._endpoint_record(ep))
            finally:
                if sock_in is not None:
                    sock_in.close()
                if fd_ns is not None:
                    fd_ns.close()

    def _gateway_candidate(self, sb: Sandbox, ep: Endpoint, has_gateway: Any) -> Endpoint | None:
        """The endpoint that should carry the default route once ``ep`` joins."""
        current = self._endpoint_by_id_any(sb.gateway_endpoint) if sb.gateway_endpoint else None
        if not has_gateway:
            return current
        if current is None or ep.options.priority > current.options.priority:
            return ep
        return current

    def _leave(self, ep: Endpoint, sb: Sandbox, sandbox_going: bool = False) -> None:
        with self._lock:
            if ep.sandbox_id != sb.id:
                raise ForbiddenError(f"endpoint {ep.name} is not joined to sandbox {sb.id[:12]}")
            net = ep.network
            drv = self._driver(net.driver_name)
            sbinfo = SandboxInfo(sb.id, sb.key, is_host=sb.options.use_host_netns)
            drv.leave(net._info(), ep._info(), sbinfo, net.driver_state, sandbox_going=sandbox_going)
            sb._joined.remove(ep.id)
            ep._clear_join()
            if sb.gateway_endpoint == ep.id:
                sb.gateway_endpoint = None
                best = None
                for other in sb.endpoints():
                    g4, g6 = other.gateway()
                    if (g4 or g6) and (best is None or other.options.priority > best.options.priority):
                        best = other
                if best is not None:
                    sb.gateway_endpoint = best.id
                if not sandbox_going:
                    g4, g6 = best.gateway() if best else (None, None)
                    sb._set_default_route(best, g4, g6)
            if not sandbox_going:
                sb._write_files(resolv_conf=False)
                self.store.put(self._endpoint_record(ep))
            # (a sandbox going deletes the endpoint's record next)

    # ------------------------------------------------------------ restore

    def _restore(self) -> None:
        """Rebuild objects from the store, then reconcile with the kernel."""
        leftovers: list[StoreRecord] = []
        unmarked: set[str] = set()      # (networks whose record has no foreign_mac_ipv4)
        for rec in self.store.list("network"):
            d = rec.data
            if d.get("creating"):
                leftovers.append(rec)
                continue
            ipam = self._ipams.get(d["ipam_driver"])
            pools: list[list[Any]] = [[], []]
            if isinstance(ipam, DefaultIPAM):
                for st in d["pools"]:
                    p = ipam.import_pool(st)
                    pools[1 if p.v6 else 0].append(p)
            elif ipam is not None:
                opts = from_jsonable(NetworkOptions, d["options"])
                undo = Undo()
                p4, p6 = self._request_pools(ipam, opts, undo, d["driver"])
                pools = [list(p4), list(p6)]
            net = Network(self, rec.id, rec.name, d["driver"], from_jsonable(NetworkOptions, d["options"]),
                          tuple(pools[0]), tuple(pools[1]), d["ipam_driver"], d["driver_state"],
                          d.get("created", ""))
            net.foreign_mac_ipv4 = frozenset(d.get("foreign_mac_ipv4", ()))
            if "foreign_mac_ipv4" not in d:
                unmarked.add(net.id)
            self._networks[net.id] = net
        for rec in self.store.list("endpoint"):
            parent = self._networks.get(rec.parent or "")
            if parent is None:
                self.store.delete("endpoint", rec.id)
                continue
            net = parent
            d = rec.data
            ep = Endpoint(self, net, rec.id, rec.name, from_jsonable(EndpointOptions, d["options"]),
                          d["mac"], d["ipv4"], d["ipv6"], d["driver_state"], d.get("sandbox"),
                          d.get("ifname"), tuple(d.get("join_gateways") or (None, None)))
            ep.join_seq = d.get("join_seq") or 0
            self._join_seq = max(self._join_seq, ep.join_seq)
            if net.id in unmarked and ep.ipv4:
                ip4 = ep.ipv4.partition("/")[0]
                if ep.mac.lower() != mac_from_ipv4(ip4):
                    net.foreign_mac_ipv4 = net.foreign_mac_ipv4 | {ip4}
            ipam = self._ipams.get(net.ipam_driver)
            if isinstance(ipam, DefaultIPAM):
                ep._leases = []
                for addr, pools_ in ((ep.ipv4, net.pools4), (ep.ipv6, net.pools6)):
                    if addr:
                        ip = ipaddress.ip_interface(addr).ip
                        pool = next((p for p in pools_ if ip in p.subnet), None)
                        if pool is not None:
                            ipam.request_address(AddressRequest(pool.id, ip))
                            ep._leases.append((pool.id, ip))
            net._endpoints[ep.id] = ep
            net._by_name[ep.name] = ep
        # A network record from before the marks were kept: its endpoints
        # with a custom MAC are what it can still tell; kept from now on.
        for nid in unmarked:
            self.store.put(self._network_record(self._networks[nid]))
        joined: dict[str, list[Endpoint]] = {}
        for net in self._networks.values():
            for ep in net._endpoints.values():
                if ep.sandbox_id:
                    joined.setdefault(ep.sandbox_id, []).append(ep)
        for rec in self.store.list("sandbox"):
            d = rec.data
            sb = Sandbox(self, rec.id, d["container_id"], from_jsonable(SandboxOptions, d["options"]),
                         d["key"], d["owns_netns"])
            if "joined" in d:            # written before endpoints carried join_seq
                sb._joined, sb.gateway_endpoint = list(d["joined"]), d.get("gateway_endpoint")
            else:
                eps = sorted(joined.get(sb.id, ()), key=lambda e: e.join_seq)
                sb._joined = [e.id for e in eps]
                sb.gateway_endpoint = _gateway_of(eps)
            self._sandboxes[sb.id] = sb
            self._by_container[sb.container_id] = sb
        if self.config.reconcile:
            self.reconcile(leftovers)

    def reconcile(self, leftovers: list[StoreRecord] | None = None) -> dict[str, list[str]]:
        """Make the kernel and the store agree; returns what was done."""
        self.wait_released()
        with self._lock:
            report: dict[str, list[str]] = {"networks_dropped": [], "bridges_restored": [],
                                            "sandboxes_dropped": [], "netns_removed": [],
                                            "links_removed": [], "endpoints_unjoined": []}
            # Networks whose creation never committed: undo their kernel work.
            for rec in leftovers or []:
                d = rec.data
                drv = self._drivers.get(d["driver"])
                if drv is not None and d.get("driver_state"):
                    drv.delete_network(None, d["driver_state"])  # type: ignore[arg-type]
                elif d["driver"] == "bridge":
                    name = (d["options"].get("driver_opts") or {}).get("bridge_name") or f"br-{rec.id[:12]}"
                    from .drivers.bridge import kernel
                    if kernel.link_index(self.host, name) is not None and not (
                            d["options"].get("driver_opts") or {}).get("bridge_name"):
                        kernel.delete_bridge(self.host, name)
                self.store.delete("network", rec.id)
                report["networks_dropped"].append(rec.name)
            # Bridges the kernel lost (a reboot, someone's `ip link del`).
            for net in self._networks.values():
                drv = self._driver(net.driver_name)
                before = net.driver_state.get("bridge_index")
                new = drv.restore_network(net._info(), net.driver_state)
                if new != net.driver_state:
                    net.driver_state = new
                    self.store.put(self._network_record(net))
                    if new.get("bridge_index") != before:
                        report["bridges_restored"].append(net.name)
            # Sandboxes whose namespace is gone are dropped (their endpoints
            # are left joined to nothing).
            for sb in list(self._sandboxes.values()):
                if sb.key is not None and sb.owns_netns and not self.ops.netns_live(sb.key):
                    for ep in sb.endpoints():
                        ep._clear_join()
                        self.store.put(self._endpoint_record(ep))
                        report["endpoints_unjoined"].append(ep.name)
                    self.store.delete("sandbox", sb.id)
                    sb._remove_files()
                    sb._drop_fresh()
                    self.ops.netns_delete(sb.key)
                    del self._sandboxes[sb.id]
                    self._by_container.pop(sb.container_id, None)
                    report["sandboxes_dropped"].append(sb.container_id)
            # Endpoints the store calls joined to a sandbox it does not have.
            for net in self._networks.values():
                for ep in net._endpoints.values():
                    if ep.sandbox_id and ep.sandbox_id not in self._sandboxes:
                        ep._clear_join()
                        self.store.put(self._endpoint_record(ep))
                        report["endpoints_unjoined"].append(ep.name)
            # Namespaces under our run directory the store does not know.
            known = {os.path.basename(s.key) for s in self._sandboxes.values() if s.owns_netns and s.key}
            if self._pool is not None:
                known |= self._pool.held()
            for name in self.ops.netns_list(self.netns_dir):
                if name not in known and not name.startswith(".tmp"):
                    self.ops.netns_delete(name, self.netns_dir)
                    report["netns_removed"].append(name)
            # Host ends of veths on our bridges that no joined endpoint owns.
            joined = {host_ifname(ep.id) for n in self._networks.values()
                      for ep in n._endpoints.values() if ep.sandbox_id}
            nets = {n.id: (n._info(), n.driver_state) for n in self._networks.values()}
            for name, drv in self._drivers.items():
                mine = {k: v for k, v in nets.items() if self._networks[k].driver_name == name}
                if not mine:
                    continue
                leaked = drv.leaked_links(mine, joined)
                if leaked:
                    drv.remove_links(leaked)
                    report["links_removed"].extend(leaked)
            # Published ports: what joined endpoints hold is re-programmed if
            # lost, and elements no endpoint holds (a crash before a commit)
            # are removed.
            expected = [m for n in self._networks.values() for ep in n._endpoints.values()
                        if ep.sandbox_id for m in ep.port_map]
            fw = self.firewall.reconcile(expected)
            report["ports_removed"] = [str(m) for m in fw.stale]
            report["ports_restored"] = [str(m) for m in fw.missing]
            # Sandbox directories without a sandbox.
            sb_root = os.path.join(self.config.run_dir, "sandboxes")
            if os.path.isdir(sb_root):
                for entry in os.listdir(sb_root):
                    if entry not in self._sandboxes:
                        shutil.rmtree(os.path.join(sb_root, entry), ignore_errors=True)
            return report

    def stop(self) -> None:
        """Finish releasing deleted sandboxes, then release the controller's
        sockets and store (state stays)."""
        with self._lock:
            self._release()

    def _release(self) -> None:
        fresh, self._fresh_sandbox = getattr(self, "_fresh_sandbox", None), None
        if fresh is not None:
            fresh._drop_fresh()
        pool, self._pool, self._pool_size = getattr(self, "_pool", None), None, 0
        for path in pool.close() if pool is not None else ():
            if self._reaper is not None:
                self._reaper.submit(self.ops.netns_delete, path)
            else:
                self.ops.netns_delete(path)
        if self._reaper is not None:
            self._reaper.close()
        for drv in getattr(self, "_drivers", {}).values():
            drv.close()
        close = getattr(self.firewall, "close", None)
        if close is not None:
            close()
        if self.host is not None:
            self.host.close()
        self.store.close()

    def __enter__(self) -> "Controller":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _random_mac() -> str:
    b = bytearray(secrets.token_bytes(6))
    b[0] = (b[0] & 0xFE) | 0x02        # unicast, locally administered
    return ":".join(f"{x:02x}" for x in b)


def to_jsonable_shallow(opts: Any) -> dict[str, Any]:
    import dataclasses
    return {f.name: getattr(opts, f.name) for f in dataclasses.fields(opts)}


def _gateway_of(endpoints: list[Endpoint]) -> str | None:
    """The endpoint that carries the default route, as joins and leaves
    choose it: among those with a gateway, the first (in join order) of the
    highest priority."""
    best: Endpoint | None = None
    for ep in endpoints:
        g4, g6 = ep.join_gateways
        if (g4 or g6) and (best is None or ep.options.priority > best.options.priority):
            best = ep
    return best.id if best is not None else None


def _restore_join(ep: Endpoint, sb: Sandbox, prev: tuple[Any, list[str], Any]) -> None:
    ep._clear_join()
    ep.sandbox_id, sb._joined[:], sb.gateway_endpoint = prev[0], prev[1], prev[2]


def _mapping_record(m: PortMapping) -> dict[str, Any]:
    """A published port as the endpoint's record keeps it (the endpoint's and
    its network's ids are the record's own)."""
    return {"proto": m.proto, "host_ip": m.host_ip, "host_port": m.host_port,
            "container_ip": m.container_ip, "container_port": m.container_port}
