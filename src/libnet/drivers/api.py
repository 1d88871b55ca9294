"""The driver interface: a small required core plus optional capabilities.

After libnetwork's driverapi (moby/moby daemon/libnetwork/driverapi): a
driver creates and deletes networks and endpoints and joins endpoints to
sandboxes; what it needs from the controller comes in typed, frozen
records, and what it keeps per network or endpoint it returns as a plain
dict that the controller stores and hands back (so a restarted controller
can restore every driver).

Setup undoes itself on failure (``Undo``); teardown is idempotent and
exhaustive: "already gone" is success, and it keeps going past errors and
reports them all at the end.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

from ..options import EndpointOptions, NetworkOptions

__all__ = ["Driver", "NetworkInfo", "EndpointInfo", "SandboxInfo", "JoinInfo", "Undo",
           "Capabilities", "TeardownError"]


@dataclass(frozen=True)
class NetworkInfo:
    id: str
    name: str
    options: NetworkOptions
    ipv4: tuple[Any, ...] = ()          # libnet.ipam.Pool per IPv4 subnet
    ipv6: tuple[Any, ...] = ()
    # IPv4 addresses an endpoint of this network has held with a MAC other
    # than the one derived from the address (a custom MAC): a neighbour
    # may still map them to it.
    foreign_mac_ipv4: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EndpointInfo:
    id: str
    name: str
    network_id: str
    options: EndpointOptions
    mac: str
    ipv4: str | None = None             # "address/prefixlen"
    ipv6: str | None = None
    port_map: tuple[Any, ...] = ()      # firewall.PortMapping, while joined


@dataclass(frozen=True)
class SandboxInfo:
    id: str
    key: str | None                     # netns path; None: the process's namespace
    fd: int = -1                        # an open descriptor of that namespace
    is_host: bool = False               # the sandbox shares the host's namespace


@dataclass(frozen=True)
class JoinInfo:
    """What a driver tells the controller when an endpoint joins."""

    gateway4: str | None = None
    gateway6: str | None = None
    interface: bool = True              # False: nothing to configure inside (host, null)
    static_routes: tuple[tuple[str, str | None], ...] = ()
    port_map: tuple[Any, ...] = ()      # firewall.PortMapping of the published ports
    ifindex: int | None = None          # the interface's index inside the sandbox, if known


@dataclass(frozen=True)
class Capabilities:
    scope: str = "local"                # "local" or "global"
    connectivity_scope: str = "local"


class TeardownError(Exception):
    """Some teardown steps failed; ``errors`` lists them all."""

    def __init__(self, what: str, errors: list[BaseException]):
        super().__init__(f"{what}: {len(errors)} step(s) failed: "
                         + "; ".join(str(e) for e in errors))
        self.errors = errors


class Undo:
    """Steps to reverse, newest first, if setup fails half-way.

        with Undo() as undo:
            make_a(); undo.push(remove_a)
            make_b(); undo.push(remove_b)
        # leaving the block normally keeps everything; an exception runs
        # remove_b then remove_a, and re-raises the original error.
    """

    def __init__(self) -> None:
        self._steps: list[Callable[[], Any]] = []

    def push(self, step: Callable[[], Any]) -> None:
        self._steps.append(step)

    def __enter__(self) -> "Undo":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._steps.clear()
            return
        while self._steps:
            step = self._steps.pop()
            try:
                step()
            except Exception as e:   # keep undoing; the original error wins
                if exc is not None:
                    exc.add_note(f"undo step failed: {e!r}") if hasattr(exc, "add_note") else None


class Driver(abc.ABC):
    """A network driver.  Subclasses set ``name`` and implement the methods."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    # True: ``announce`` tells the network about an endpoint's addresses
    # after ``activate``; False: the kernel does, from the sandbox (the
    # interface gets arp_notify / ndisc_notify and a NETDEV_CHANGEADDR).
    announces: ClassVar[bool] = False

    def configure(self, options: Mapping[str, Any]) -> None:
        """Driver-wide settings (``Controller.configure_network_driver``)."""
        if options:
            raise ValueError(f"the {self.name} driver takes no options")

    @abc.abstractmethod
    def create_network(self, nw: NetworkInfo) -> dict[str, Any]:
        """Make the network's kernel objects; return the state to store."""

    @abc.abstractmethod
    def delete_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> None:
        """Remove them (idempotent)."""

    def create_endpoint(self, nw: NetworkInfo, ep: EndpointInfo,
                        state: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def delete_endpoint(self, nw: NetworkInfo, ep: EndpointInfo,
                        state: Mapping[str, Any]) -> None:
        return None

    @abc.abstractmethod
    def join(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo, ifname: str,
             state: Mapping[str, Any]) -> JoinInfo:
        """Attach the endpoint to the sandbox, as ``ifname`` inside it."""

    def activate(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
                 state: Mapping[str, Any]) -> None:
        """The sandbox side of the join is configured and up: connect it
        (the bridge driver enslaves the host end here)."""
        return None

    def announce(self, nw: NetworkInfo, ep: EndpointInfo, state: Mapping[str, Any]) -> None:
        """After ``activate``, with ``announces``: an unsolicited ARP for the
        endpoint's IPv4 address and an unsolicited neighbour advertisement
        for its IPv6 one, so that neighbours holding a stale entry for them
        (a reused address) update it."""
        return None

    def close(self) -> None:
        """The controller stops: release what the driver holds open."""
        return None

    @abc.abstractmethod
    def leave(self, nw: NetworkInfo, ep: EndpointInfo, sb: SandboxInfo,
              state: Mapping[str, Any], sandbox_going: bool = False) -> None:
        """Detach it.  ``sandbox_going``: the sandbox's namespace is about to
        be deleted, which removes its interfaces in one batch: skip the
        per-link deletes."""

    def driver_info(self, nw: NetworkInfo, ep: EndpointInfo,
                    state: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    # Optional capabilities: restoring after a restart, finding leaks.
    def restore_network(self, nw: NetworkInfo, state: Mapping[str, Any]) -> dict[str, Any]:
        """Re-create what the kernel lost; return the (possibly new) state."""
        return dict(state)

    def leaked_links(self, networks: Mapping[str, tuple[NetworkInfo, Mapping[str, Any]]],
                     joined_host_links: set[str]) -> list[str]:
        """Names of host-side links this driver made that no joined endpoint owns."""
        return []

    def remove_links(self, names: list[str]) -> None:
        return None
