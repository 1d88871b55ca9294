"""Sandboxes: a container's network namespace, its interfaces and its files.

A sandbox owns a network namespace (bind-mounted under the run directory,
or one given by path, or the host's for ``use_host_netns``), the
interfaces endpoints add to it (eth0, eth1, ... in join order), the
default route through the highest-priority endpoint's gateway, and its
/etc/hosts and /etc/resolv.conf.  A namespace libnet makes comes with its
loopback up (as libnetwork brings it up when it creates the namespace),
an fd of it and a route socket made inside, all in one call of the core
(``HostOps.netns_create``); the first join uses the two, and closes them.
Everything inside the namespace is configured in one netlink batch per
join, from that socket or one opened there.

New addresses are announced once the interface is connected: by the
driver when it can (the bridge driver sends a gratuitous ARP reply and an
unsolicited neighbour advertisement from the host side, see its
docstring), else by the kernel itself: with arp_notify and ndisc_notify on
the interface it sends a gratuitous ARP and an unsolicited neighbour
advertisement on NETDEV_CHANGEADDR (``_announce``).  Sending them from an
AF_PACKET socket inside the sandbox instead would cost an RCU grace period
(~12 ms) when that socket closes (packet_release calls synchronize_net).
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

from . import sysctl
from .hostops import SandboxNetns
from .netlink import RouteSocket
from .options import SandboxOptions
from .sandbox_files import (host_resolv_conf, hosts_content, resolv_conf_content,
                            write_atomic, write_new)

if TYPE_CHECKING:
    from .controller import Controller
    from .endpoint import Endpoint

__all__ = ["Sandbox"]


class Sandbox:
    """A container's network sandbox (``Controller.new_sandbox``)."""

    def __init__(self, controller: "Controller", id: str, container_id: str,
                 options: SandboxOptions, key: str | None, owns_netns: bool,
                 joined: list[str] | None = None, gateway_endpoint: str | None = None):
        self._c = controller
        self.id = id
        self.container_id = container_id
        self.options = options
        self.key = key                   # the namespace's path; None: the host's
        self.owns_netns = owns_netns
        self._joined: list[str] = list(joined or [])       # endpoint ids, join order
        self._ifnames: dict[str, str] = {}
        self.gateway_endpoint = gateway_endpoint
        self._options_json: dict[str, Any] | None = None
        self._dir: str | None = None
        self._hosts_written: str | None = None    # what libnet last wrote to hosts
        # A namespace libnet made comes with its loopback up, and, until the
        # first join takes them, an fd of it and a route socket inside.
        self._fresh: SandboxNetns | None = None
        self._lo_up = False
        self.deleted = False

    # ---------------------------------------------------------------- queries

    @property
    def dir(self) -> str:
        if self._dir is None:
            self._dir = os.path.join(self._c.config.run_dir, "sandboxes", self.id)
        return self._dir

    @property
    def hosts_path(self) -> str:
        return self.options.hosts_path or os.path.join(self.dir, "hosts")

    @property
    def resolv_conf_path(self) -> str:
        return self.options.resolv_conf_path or os.path.join(self.dir, "resolv.conf")

    def endpoints(self) -> list["Endpoint"]:
        """Joined endpoints, in join order."""
        return [self._c._endpoint_by_id_any(i) for i in self._joined]

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "container_id": self.container_id, "key": self.key,
                "hostname": self.options.hostname, "domainname": self.options.domainname,
                "endpoints": [e.id for e in self.endpoints()],
                "gateway_endpoint": self.gateway_endpoint,
                "hosts_path": self.hosts_path, "resolv_conf_path": self.resolv_conf_path}

    def _record(self) -> dict[str, Any]:
        from .options import to_jsonable
        if self._options_json is None:
            self._options_json = to_jsonable(self.options)
        # Which endpoints are joined, in what order, and which carries the
        # default route follow from the endpoints' records (their sandbox
        # and join_seq): a join or leave writes the endpoint alone.
        return {"container_id": self.container_id, "options": self._options_json,
                "key": self.key, "owns_netns": self.owns_netns}

    def delete(self) -> None:
        """Leave and delete every joined endpoint (as libnetwork's
        Sandbox.Delete does; leave one first to keep it), then remove the
        namespace (which takes the interfaces with it, in one batch in the
        kernel) and the files.  Deleting it again does nothing."""
        self._c._delete_sandbox(self)

    def __repr__(self) -> str:
        return f"<Sandbox {self.id[:12]} container={self.container_id}>"

    # ------------------------------------------------------------ internals

    def _next_ifname(self) -> str:
        used = {self._c._endpoint_by_id_any(i).ifname for i in self._joined}
        n = 0
        while f"eth{n}" in used:
            n += 1
        return f"eth{n}"

    def _write_files(self, resolv_conf: bool = True) -> None:
        """hosts (and with ``resolv_conf``, the first write, at new_sandbox:
        the folder and resolv.conf).  The first write of a file of our own
        folder creates it in place (no container can be reading it yet);
        later ones replace it atomically, and only if its content changes (a
        sandbox without a host name lists no addresses of its own)."""
        first = resolv_conf
        if first:
            try:
                os.mkdir(self.dir)
            except FileExistsError:
                pass
            except FileNotFoundError:            # the first sandbox: its parent too
                os.makedirs(self.dir, exist_ok=True)
        addrs: list[str] = []
        aliases: list[str] = []
        for ep in self.endpoints():
            addrs += [a for a in (ep.ipv4, ep.ipv6) if a]
            aliases += [a for a in ep.options.aliases if a not in aliases]
        o = self.options
        hosts = hosts_content(o.hostname, o.domainname, addrs, aliases, o.extra_hosts)
        if first or hosts != self._hosts_written:
            write = write_new if first and not o.hosts_path else write_atomic
            write(self.hosts_path, hosts)
            self._hosts_written = hosts
        if first:
            servers, search, opts = host_resolv_conf(self._c.config.resolv_conf_source)
            write = write_new if not o.resolv_conf_path else write_atomic
            write(self.resolv_conf_path, resolv_conf_content(
                o.dns or servers, o.dns_search or search, o.dns_options or opts))

    def _remove_files(self) -> None:
        # The two files libnet writes, then the folder; anything else found
        # there (a user's file) is removed with it.
        for name in ("hosts", "resolv.conf"):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.dir)
        except FileNotFoundError:
            pass
        except OSError:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _drop_fresh(self) -> None:
        """Close the fd and socket the namespace came with, if not taken."""
        fresh, self._fresh = self._fresh, None
        if fresh is not None:
            fresh.close()

    def _configure(self, ifname: str, index: int | None, ep: "Endpoint", gateway4: str | None,
                   gateway6: str | None, make_default: bool, first: bool,
                   ns_fd: int = -1, kernel_announces: bool = True,
                   sock: RouteSocket | None = None) -> RouteSocket:
        """Inside the namespace, in one batch: loopback (first join, unless
        the namespace came with it up), the
        interface's settings, the addresses, the interface up, the default
        route if this endpoint carries it, static routes.  Returns the
        socket (the caller closes it after ``_announce``).

        The settings go by netlink, before the interface comes up: on an
        endpoint without IPv6, no IPv6 address generation (no link-local
        address, hence no DAD, router solicitation or MLD report flooded
        to every port of the bridge; Docker likewise leaves IPv6 off the
        interface of an IPv4-only network).  With ``kernel_announces`` (a
        driver that does not announce addresses itself), also
        ``arp_notify``, and ``ndisc_notify``, which has no netlink setter:
        an IPv6 endpoint then writes it under /proc/sys, whose lookups slow
        down with the number of namespaces on the host.
        ``ns_fd``: the namespace already open (the join's), else its path;
        ``sock``: a route socket already open inside (which this takes)."""
        assert self.key is not None
        link: str | int = index if index is not None else ifname
        where = ns_fd if ns_fd >= 0 else self.key
        ops = self._c.ops
        if sock is None:
            sock = ops.route_socket(where)
        if ep.ipv6 and kernel_announces:
            try:
                ops.sysctl_write(f"net/ipv6/conf/{ifname}/ndisc_notify", 1, where)
            except BaseException:
                sock.close()
                raise
        ok = False
        try:
            with sock.batch() as b:
                if first and not self._lo_up:
                    b.link_set("lo", up=True)
                no_v6 = "none" if sysctl.HAS_IPV6 and not ep.ipv6 else None
                notify = kernel_announces and bool(ep.ipv4)
                if notify or no_v6:
                    b.link_set(link, ipv4_conf={"arp_notify": 1} if notify else None,
                               addr_gen_mode=no_v6)
                if ep.ipv4:
                    b.addr_add(link, ep.ipv4)
                if ep.ipv6:
                    b.addr_add(link, ep.ipv6, nodad=True)
                b.link_set(link, up=True)
                if make_default and gateway4:
                    b.route_replace("default", gateway=gateway4, dev=link)
                if make_default and gateway6:
                    b.route_replace("default", gateway=gateway6, dev=link, family=6)
                for r in ep.options.static_routes:
                    if r.next_hop:
                        b.route_replace(r.destination, gateway=r.next_hop, dev=link)
                    else:
                        b.route_replace(r.destination, dev=link, scope="link")
            ok = True
        finally:
            if not ok:
                sock.close()
        return sock

    @staticmethod
    def _announce(sock: RouteSocket, link: str | int, mac: str) -> None:
        """Have the kernel announce the interface's addresses now that it is
        connected: setting its MAC (to the same value) raises
        NETDEV_CHANGEADDR, on which arp_notify sends a gratuitous ARP and
        ndisc_notify an unsolicited neighbour advertisement."""
        sock.link_set(link, mac=mac)

    def _set_default_route(self, ep: "Endpoint | None", gateway4: str | None,
                           gateway6: str | None) -> None:
        # (leave is off the hot path: the interface is named, not indexed)
        """Point the default route at ``ep`` (after the carrier left)."""
        if self.key is None:
            return
        with self._c.ops.route_socket(self.key) as sock:
            if ep is None:
                for fam in (4, 6):
                    try:
                        sock.route_del("default", family=fam)
                    except Exception:
                        pass
                return
            with sock.batch() as b:
                if gateway4:
                    b.route_replace("default", gateway=gateway4, dev=ep.ifname)
                if gateway6:
                    b.route_replace("default", gateway=gateway6, dev=ep.ifname, family=6)
