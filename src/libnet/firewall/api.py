"""The firewall seam: what the controller and the bridge driver ask of it.

Types crossing the seam are frozen dataclasses (STYLE 15).  ``Firewall`` is
the interface; ``NftFirewall`` (nf_tables sets and maps, ``libnet.firewall.nft``)
implements it for real, ``NoFirewall`` does nothing (networks with the
firewall disabled, drivers that need none) and ``RecordingFirewall`` records
calls for controller unit tests (STYLE 17).
"""

from __future__ import annotations

import abc
import ipaddress
from dataclasses import dataclass, field
from typing import Iterable

from ..options import PortBinding

__all__ = ["Firewall", "FirewallNetwork", "PublishRequest", "PortMapping", "Reconciliation",
           "NoFirewall", "RecordingFirewall", "ANY4", "ANY6"]

ANY4 = "0.0.0.0"        # host_ip of a mapping published on every local IPv4 address
ANY6 = "::"             # ... on every local IPv6 address


def _nets(values, version: int, what: str) -> tuple[str, ...]:
    out = []
    for v in values:
        try:
            n = ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ValueError(f"{what}: {v!r} is not a subnet") from None
        if n.version != version:
            raise ValueError(f"{what}: {v!r} is not an IPv{version} subnet")
        out.append(str(n))
    return tuple(out)


@dataclass(frozen=True)
class FirewallNetwork:
    """A bridge network as the firewall sees it.

    ``masquerade``: containers' traffic leaving through a non-libnet interface
    takes the outgoing interface's address; ``snat_ipv4`` (with masquerade)
    uses that fixed host address instead.  ``icc``: containers of this network
    may talk to each other.  ``internal``: nothing in or out of the bridge
    except between its own containers.  ``host_binding_ipv4``: the host
    address a published port without a host IP binds to (Docker's
    com.docker.network.bridge.host_binding_ipv4); None: every address.
    """

    id: str
    bridge: str
    subnets4: tuple[str, ...] = ()
    subnets6: tuple[str, ...] = ()
    masquerade: bool = True
    snat_ipv4: str | None = None
    icc: bool = True
    internal: bool = False
    host_binding_ipv4: str | None = None

    def __post_init__(self) -> None:
        if not self.bridge or len(self.bridge.encode()) > 15:
            raise ValueError(f"bridge name {self.bridge!r} is not an interface name")
        object.__setattr__(self, "subnets4", _nets(self.subnets4, 4, "subnets4"))
        object.__setattr__(self, "subnets6", _nets(self.subnets6, 6, "subnets6"))
        for name in ("snat_ipv4", "host_binding_ipv4"):
            v = getattr(self, name)
            if v is not None and ipaddress.ip_address(v).version != 4:
                raise ValueError(f"{name} {v!r} is not an IPv4 address")


@dataclass(frozen=True)
class PublishRequest:
    """All of one endpoint's published ports (applied in one transaction)."""

    endpoint_id: str
    network_id: str
    container_ipv4: str | None
    container_ipv6: str | None = None
    bindings: tuple[PortBinding, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "bindings", tuple(self.bindings))


@dataclass(frozen=True, order=True)
class PortMapping:
    """One published port as programmed: ``host_ip`` is ANY4/ANY6 for every
    local address.  ``endpoint_id``/``network_id`` are libnet's bookkeeping;
    a mapping read back from the kernel has them as None (they are not part
    of its identity)."""

    proto: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int
    endpoint_id: str | None = field(default=None, compare=False)
    network_id: str | None = field(default=None, compare=False)

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.container_ip).version

    @property
    def key(self) -> tuple[str, str, int]:
        """What must be unique on the host: (proto, host_ip, host_port)."""
        return (self.proto, self.host_ip, self.host_port)

    def __str__(self) -> str:
        h = f"[{self.host_ip}]" if ":" in self.host_ip else self.host_ip
        c = f"[{self.container_ip}]" if ":" in self.container_ip else self.container_ip
        return f"{h}:{self.host_port}/{self.proto} -> {c}:{self.container_port}"


@dataclass(frozen=True)
class Reconciliation:
    """What ``Firewall.reconcile`` found: mappings programmed but not expected
    (removed), expected but not programmed (added), and expected mappings
    that collide with each other (neither applied: the controller decides)."""

    stale: tuple[PortMapping, ...] = ()
    missing: tuple[PortMapping, ...] = ()
    conflicts: tuple[PortMapping, ...] = ()


class Firewall(abc.ABC):
    """Networks, container ports and the published-port map of one host
    (network namespace).  Every method is one atomic change or none."""

    @abc.abstractmethod
    def ensure(self) -> None:
        """Create libnet's tables, fixed chains and sets if missing (idempotent)."""

    @abc.abstractmethod
    def add_network(self, network: FirewallNetwork) -> None:
        """Masquerade, ICC, isolation and internal state of a bridge network (idempotent)."""

    @abc.abstractmethod
    def remove_network(self, network: FirewallNetwork) -> None:
        """Undo ``add_network`` (idempotent: missing state is success)."""

    @abc.abstractmethod
    def publish(self, request: PublishRequest) -> tuple[PortMapping, ...]:
        """Publish every binding of ``request``, all or none; the mappings as programmed."""

    @abc.abstractmethod
    def unpublish(self, mappings: Iterable[PortMapping]) -> None:
        """Remove mappings (those already gone are ignored)."""

    @abc.abstractmethod
    def programmed(self) -> tuple[PortMapping, ...]:
        """Every published port the kernel holds (endpoint and network ids None)."""

    @abc.abstractmethod
    def reconcile(self, expected: Iterable[PortMapping]) -> Reconciliation:
        """Make the kernel's published ports exactly ``expected``; report the difference."""


class NoFirewall(Firewall):
    """A firewall that programs nothing; publish returns the mappings it
    would have made (ephemeral host ports stay 0)."""

    def ensure(self) -> None:
        pass

    def add_network(self, network: FirewallNetwork) -> None:
        pass

    def remove_network(self, network: FirewallNetwork) -> None:
        pass

    def publish(self, request: PublishRequest) -> tuple[PortMapping, ...]:
        out = []
        for b in request.bindings:
            n = (b.port_end or b.port) - b.port + 1
            for i in range(n):
                out.append(PortMapping(b.proto, b.host_ip or ANY4,
                                       b.host_port + i if b.host_port else 0,
                                       request.container_ipv4 or request.container_ipv6 or "",
                                       b.port + i, request.endpoint_id, request.network_id))
        return tuple(out)

    def unpublish(self, mappings: Iterable[PortMapping]) -> None:
        pass

    def programmed(self) -> tuple[PortMapping, ...]:
        return ()

    def reconcile(self, expected: Iterable[PortMapping]) -> Reconciliation:
        return Reconciliation()


class RecordingFirewall(NoFirewall):
    """Records every call as (method name, argument) in ``calls``; keeps the
    published mappings so ``programmed`` answers like a real one.  Set
    ``fail_on`` to a method name to make that method raise ``error``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.networks: dict[str, FirewallNetwork] = {}
        self.mappings: dict[tuple, PortMapping] = {}
        self.fail_on: str | None = None
        self.error: Exception = RuntimeError("injected firewall failure")

    def _record(self, name: str, arg: object) -> None:
        self.calls.append((name, arg))
        if self.fail_on == name:
            raise self.error

    def ensure(self) -> None:
        self._record("ensure", None)

    def add_network(self, network: FirewallNetwork) -> None:
        self._record("add_network", network)
        self.networks[network.id] = network

    def remove_network(self, network: FirewallNetwork) -> None:
        self._record("remove_network", network)
        self.networks.pop(network.id, None)

    def publish(self, request: PublishRequest) -> tuple[PortMapping, ...]:
        self._record("publish", request)
        out = super().publish(request)
        for m in out:
            self.mappings[m.key] = m
        return out

    def unpublish(self, mappings: Iterable[PortMapping]) -> None:
        mappings = tuple(mappings)
        self._record("unpublish", mappings)
        for m in mappings:
            self.mappings.pop(m.key, None)

    def programmed(self) -> tuple[PortMapping, ...]:
        self._record("programmed", None)
        return tuple(sorted(self.mappings.values()))

    def reconcile(self, expected: Iterable[PortMapping]) -> Reconciliation:
        expected = tuple(expected)
        self._record("reconcile", expected)
        want = {m.key: m for m in expected}
        stale = tuple(m for k, m in self.mappings.items() if k not in want)
        missing = tuple(m for k, m in want.items() if k not in self.mappings)
        self.mappings = dict(want)
        return Reconciliation(stale, missing)
