"""The typed values that cross the IPAM boundary.

Requests (``PoolRequest``, ``AddressRequest``) accept strings or
``ipaddress`` objects and are parsed and checked when constructed, so a
malformed request never reaches a driver: it fails with an
``IPAMInvalidParameterError`` (a ``ValueError``) naming the bad field.
Results (``Pool``, ``AllocatedAddress``, ``PoolUsage``) hold ``ipaddress``
objects. All are frozen dataclasses, after libnetwork's ``ipamapi``
(``PoolRequest``, ``AllocatedPool``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Union

from .errors import IPAMInvalidParameterError

__all__ = [
    "IPAddress",
    "IPNetwork",
    "LOCAL",
    "GLOBAL",
    "ADDRESS_SPACES",
    "PoolSpec",
    "IPAMConfig",
    "PoolRequest",
    "AddressRequest",
    "Pool",
    "AllocatedAddress",
    "PoolUsage",
    "IPAMCapabilities",
    "parse_address",
    "parse_network",
    "DEFAULT_LOCAL_POOLS",
    "DEFAULT_GLOBAL_POOLS",
]

IPAddress = Union[IPv4Address, IPv6Address]
IPNetwork = Union[IPv4Network, IPv6Network]

#: Address spaces: pools of one space never overlap each other; the two
#: spaces are independent (libnetwork's LocalDefault and GlobalDefault).
LOCAL = "local"
GLOBAL = "global"
ADDRESS_SPACES = (LOCAL, GLOBAL)


def parse_address(value: object, what: str = "address") -> IPAddress:
    """An IPv4 or IPv6 address from a string or an ``ipaddress`` object."""
    if isinstance(value, (IPv4Address, IPv6Address)):
        return value
    if isinstance(value, str):
        try:
            return ipaddress.ip_address(value.strip())
        except ValueError:
            pass
        raise IPAMInvalidParameterError(f"{what} {value!r} is not a valid IPv4 or IPv6 address")
    raise IPAMInvalidParameterError(
        f"{what} must be an IP address string, not {type(value).__name__} {value!r}"
    )


def parse_network(value: object, what: str = "subnet") -> IPNetwork:
    """A network in CIDR notation. Host bits must be zero: "10.0.0.1/24"
    is refused, naming "10.0.0.0/24", rather than silently masked."""
    if isinstance(value, (IPv4Network, IPv6Network)):
        return value
    if not isinstance(value, str):
        raise IPAMInvalidParameterError(
            f"{what} must be a CIDR string, not {type(value).__name__} {value!r}"
        )
    text = value.strip()
    if "/" not in text:
        raise IPAMInvalidParameterError(
            f"{what} {value!r} is not in CIDR notation (address/prefix-length)"
        )
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        reason = str(exc)
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise IPAMInvalidParameterError(f"{what} {value!r} is not a valid CIDR: {reason}") from None
    raise IPAMInvalidParameterError(f"{what} {value!r} has host bits set; did you mean {loose}?")


@dataclass(frozen=True)
class PoolSpec:
    """A predefined block split into subnets of one size, like one entry of
    Docker's ``default-address-pools``: ``{"base": "172.17.0.0/16", "size": 16}``."""

    base: IPNetwork
    size: int

    def __post_init__(self) -> None:
        base = parse_network(self.base, "pool base")
        object.__setattr__(self, "base", base)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise IPAMInvalidParameterError(f"pool size must be an int, not {self.size!r}")
        if not base.prefixlen <= self.size <= base.max_prefixlen:
            raise IPAMInvalidParameterError(
                f"pool size /{self.size} must lie between the base's own prefix "
                f"/{base.prefixlen} and /{base.max_prefixlen} (base {base})"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> PoolSpec:
        """From Docker's form ``{"base": "...", "size": N}``."""
        unknown = set(d) - {"base", "size"}
        if unknown:
            raise IPAMInvalidParameterError(
                f"unknown key(s) {sorted(unknown)} in address pool {dict(d)!r}"
            )
        if "base" not in d or "size" not in d:
            raise IPAMInvalidParameterError(f"address pool {dict(d)!r} needs 'base' and 'size'")
        return cls(d["base"], d["size"])  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {"base": str(self.base), "size": self.size}


# Docker's defaults (moby ``ipamutils``): every 172.17-31.0.0/16 whole, then
# 192.168.0.0/16 in /20s for local networks; 10.0.0.0/8 in /24s for global
# (swarm) networks. IPv6 gets ULA /64s from fd00::/8 in both spaces: Docker
# has no built-in IPv6 default, and these are private by definition.
_net = ipaddress.ip_network
DEFAULT_LOCAL_POOLS: tuple[PoolSpec, ...] = (
    *(PoolSpec(_net(f"172.{n}.0.0/16"), 16) for n in range(17, 32)),
    PoolSpec(_net("192.168.0.0/16"), 20),
    PoolSpec(_net("fd00::/8"), 64),
)
DEFAULT_GLOBAL_POOLS: tuple[PoolSpec, ...] = (
    PoolSpec(_net("10.0.0.0/8"), 24),
    PoolSpec(_net("fd00::/8"), 64),
)


def _pool_specs(value: object, what: str) -> tuple[PoolSpec, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise IPAMInvalidParameterError(f"{what} must be a list of pools, not {value!r}")
    out = []
    for item in value:
        if isinstance(item, PoolSpec):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(PoolSpec.from_dict(item))
        else:
            raise IPAMInvalidParameterError(
                f"{what}: {item!r} is neither a PoolSpec nor a {{'base', 'size'}} dict"
            )
    return tuple(out)


@dataclass(frozen=True)
class IPAMConfig:
    """Predefined pools per address space, tried in order. Accepts PoolSpecs
    or Docker-style dicts. An empty tuple leaves that space without dynamic
    pools (explicit subnets still work)."""

    local_pools: tuple[PoolSpec, ...] = DEFAULT_LOCAL_POOLS
    global_pools: tuple[PoolSpec, ...] = DEFAULT_GLOBAL_POOLS

    def __post_init__(self) -> None:
        object.__setattr__(self, "local_pools", _pool_specs(self.local_pools, "local_pools"))
        object.__setattr__(self, "global_pools", _pool_specs(self.global_pools, "global_pools"))

    def pools(self, address_space: str) -> tuple[PoolSpec, ...]:
        return self.local_pools if address_space == LOCAL else self.global_pools

    def to_dict(self) -> dict[str, object]:
        return {
            "local_pools": [p.to_dict() for p in self.local_pools],
            "global_pools": [p.to_dict() for p in self.global_pools],
        }


def _check_space(space: object) -> None:
    if space not in ADDRESS_SPACES:
        raise IPAMInvalidParameterError(
            f"address space {space!r} is unknown; expected one of {', '.join(ADDRESS_SPACES)}"
        )


@dataclass(frozen=True)
class PoolRequest:
    """Ask for a pool.

    With ``subnet``, that subnet is allocated if it overlaps no pool of the
    address space. Without it, the first predefined subnet of the family
    (``v6``) and size (``prefix_len``, default: each predefined block's own
    size) that overlaps no pool and none of ``exclude`` (networks in use
    elsewhere, e.g. the host's routes) is chosen.

    ``ip_range`` (only with ``subnet``) restricts dynamic addresses to a
    sub-pool; static requests may use the whole subnet, as in Docker.
    ``gateway`` defaults to the subnet's first usable address, unless
    ``allocate_gateway`` is False. ``aux_addresses`` (name -> address) are
    reserved so they are never handed out. ``serial`` makes dynamic
    requests continue after the last allocated address, wrapping, instead
    of taking the lowest free one.
    """

    address_space: str = LOCAL
    subnet: IPNetwork | None = None
    ip_range: IPNetwork | None = None
    gateway: IPAddress | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()
    v6: bool = False
    prefix_len: int | None = None
    exclude: tuple[IPNetwork, ...] = ()
    allocate_gateway: bool = True
    serial: bool = False

    def __post_init__(self) -> None:
        _check_space(self.address_space)
        set_ = object.__setattr__
        subnet = None if self.subnet is None else parse_network(self.subnet, "subnet")
        set_(self, "subnet", subnet)
        if subnet is not None:
            set_(self, "v6", subnet.version == 6)
        ip_range = None if self.ip_range is None else parse_network(self.ip_range, "ip-range")
        set_(self, "ip_range", ip_range)
        gateway = None if self.gateway is None else parse_address(self.gateway, "gateway")
        set_(self, "gateway", gateway)
        aux = self.aux_addresses
        pairs = aux.items() if isinstance(aux, Mapping) else aux
        parsed: list[tuple[str, IPAddress]] = []
        for item in pairs:
            try:
                name, addr = item
            except (TypeError, ValueError):
                raise IPAMInvalidParameterError(
                    f"aux address {item!r} is not a (name, address) pair"
                ) from None
            if not isinstance(name, str) or not name:
                raise IPAMInvalidParameterError(f"aux address name {name!r} must be a non-empty string")
            parsed.append((name, parse_address(addr, f"aux address {name!r}")))
        names = [n for n, _ in parsed]
        if len(set(names)) != len(names):
            raise IPAMInvalidParameterError(f"aux address names repeat: {names}")
        set_(self, "aux_addresses", tuple(sorted(parsed, key=lambda p: p[0])))
        set_(self, "exclude", tuple(parse_network(n, "excluded network") for n in self.exclude))
        if self.prefix_len is not None and (
            isinstance(self.prefix_len, bool) or not isinstance(self.prefix_len, int)
        ):
            raise IPAMInvalidParameterError(f"prefix_len must be an int, not {self.prefix_len!r}")
        if subnet is None:
            for name, value in (("ip-range", ip_range), ("gateway", gateway)):
                if value is not None:
                    raise IPAMInvalidParameterError(f"{name} {value} needs an explicit subnet")
            if parsed:
                raise IPAMInvalidParameterError("aux addresses need an explicit subnet")
        elif self.prefix_len is not None:
            raise IPAMInvalidParameterError(
                f"prefix_len /{self.prefix_len} is only for dynamic pools; subnet {subnet} is given"
            )

    @property
    def aux(self) -> dict[str, IPAddress]:
        return dict(self.aux_addresses)


@dataclass(frozen=True)
class AddressRequest:
    """Ask for an address in a pool: ``address`` for a static one, else the
    next free one of the pool's range. ``serial`` overrides the pool's own
    mode for this request (None: the pool's mode)."""

    pool_id: str
    address: IPAddress | None = None
    serial: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pool_id, str) or not self.pool_id:
            raise IPAMInvalidParameterError(f"pool id must be a non-empty string, not {self.pool_id!r}")
        if self.address is not None:
            object.__setattr__(self, "address", parse_address(self.address))


@dataclass(frozen=True)
class Pool:
    """An allocated pool. ``id`` is opaque to callers."""

    id: str
    address_space: str
    subnet: IPNetwork
    ip_range: IPNetwork | None = None
    gateway: IPAddress | None = None
    aux_addresses: tuple[tuple[str, IPAddress], ...] = ()
    serial: bool = False

    @property
    def aux(self) -> dict[str, IPAddress]:
        return dict(self.aux_addresses)

    @property
    def v6(self) -> bool:
        return self.subnet.version == 6


@dataclass(frozen=True)
class AllocatedAddress:
    """An address handed out from a pool, with its subnet's prefix length."""

    pool_id: str
    address: IPAddress
    prefixlen: int

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        return ipaddress.ip_interface((self.address, self.prefixlen))

    def __str__(self) -> str:
        return f"{self.address}/{self.prefixlen}"


@dataclass(frozen=True)
class PoolUsage:
    """Counts for one pool. ``total`` is every address of the subnet an
    endpoint could hold (the IPv4 network and broadcast addresses and the
    IPv6 subnet-router anycast address are not counted); ``allocated``
    includes the gateway and aux addresses. ``dynamic_*`` count the same
    for the range dynamic requests draw from (the ip-range, or the
    subnet)."""

    pool_id: str
    subnet: IPNetwork
    total: int
    allocated: int
    free: int
    dynamic_total: int
    dynamic_allocated: int
    dynamic_free: int


@dataclass(frozen=True)
class IPAMCapabilities:
    """Optional needs of a driver (libnetwork ``ipamapi.Capability``)."""

    requires_mac_address: bool = False
    requires_request_replay: bool = False

