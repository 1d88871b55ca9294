"""Typed options of networks, endpoints and sandboxes, checked at the boundary.

Every option a caller can pass is a field of a frozen dataclass here; the
controller builds them from keyword arguments (``new_network(..., mtu=1400)``)
and an unknown or malformed option is an InvalidParameterError before any
state changes.  Nothing untyped crosses a layer.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import InvalidParameterError

__all__ = ["IPAMConf", "IPAMOptions", "NetworkOptions", "PortBinding", "EndpointOptions",
           "SandboxOptions", "StaticRoute", "build", "to_jsonable", "from_jsonable"]

_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,253})?$")


def _addr(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise InvalidParameterError(f"{what} {value!r} is not a valid IP address") from None


def _net(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=True))
    except ValueError as e:
        raise InvalidParameterError(f"{what} {value!r} is not a valid CIDR: {e}") from None


def _mac(value: Any, what: str = "mac address") -> str:
    text = str(value).lower()
    if not _MAC.match(text):
        raise InvalidParameterError(f"{what} {value!r} is not a MAC address like 02:42:ac:11:00:02")
    if int(text[:2], 16) & 1:
        raise InvalidParameterError(f"{what} {value} is a multicast address")
    return text


def _names(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    out = tuple(value)
    for v in out:
        if not isinstance(v, str) or not _HOST.match(v):
            raise InvalidParameterError(f"{what}: {v!r} is not a valid name")
    return out


@dataclass(frozen=True)
class IPAMConf:
    """One subnet of a network (libnetwork's IpamConf)."""

    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.subnet is not None:
            object.__setattr__(self, "subnet", _net(self.subnet, "subnet"))
        if self.ip_range is not None:
            object.__setattr__(self, "ip_range", _net(self.ip_range, "ip-range"))
        if self.gateway is not None:
            object.__setattr__(self, "gateway", _addr(self.gateway, "gateway"))
        aux = {str(k): _addr(v, f"aux address {k!r}") for k, v in dict(self.aux_addresses).items()}
        object.__setattr__(self, "aux_addresses", aux)
        if self.subnet is None and (self.ip_range or self.gateway or aux):
            raise InvalidParameterError("ip-range, gateway and aux addresses need a subnet")
        if self.subnet is not None:
            subnet = ipaddress.ip_network(self.subnet)
            if self.gateway is not None and ipaddress.ip_address(self.gateway) not in subnet:
                raise InvalidParameterError(f"gateway {self.gateway} is not in subnet {self.subnet}")
            if self.ip_range is not None and not ipaddress.ip_network(self.ip_range).subnet_of(subnet):  # type: ignore[arg-type]
                raise InvalidParameterError(f"ip-range {self.ip_range} is not inside subnet {self.subnet}")
            for k, v in aux.items():
                if ipaddress.ip_address(v) not in subnet:
                    raise InvalidParameterError(f"aux address {k}={v} is not in subnet {self.subnet}")


@dataclass(frozen=True)
class IPAMOptions:
    """The IPAM driver and the subnets of a network, per family."""

    driver: str = "default"
    ipv4: tuple[IPAMConf, ...] = ()
    ipv6: tuple[IPAMConf, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for fam, confs in (("ipv4", self.ipv4), ("ipv6", self.ipv6)):
            confs = tuple(c if isinstance(c, IPAMConf) else build(IPAMConf, c, f"{fam} IPAM config")
                          for c in confs)
            object.__setattr__(self, fam, confs)
            version = 4 if fam == "ipv4" else 6
            for c in confs:
                if c.subnet is not None and ipaddress.ip_network(c.subnet).version != version:
                    raise InvalidParameterError(f"{fam} subnet {c.subnet} is not an IPv{version} network")
        object.__setattr__(self, "options", dict(self.options))


@dataclass(frozen=True)
class NetworkOptions:
    """Options of ``Controller.new_network`` (driver options in ``driver_opts``)."""

    ipam: IPAMOptions = field(default_factory=IPAMOptions)
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    mtu: int | None = None
    driver_opts: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.ipam, IPAMOptions):
            object.__setattr__(self, "ipam", build(IPAMOptions, self.ipam, "ipam"))
        if self.mtu is not None and (not isinstance(self.mtu, int) or not 68 <= self.mtu <= 65535):
            raise InvalidParameterError(f"mtu {self.mtu!r} must be an integer in 68..65535")
        if self.ipam.ipv6 and not self.enable_ipv6:
            raise InvalidParameterError("IPv6 subnets given but enable_ipv6 is off")
        object.__setattr__(self, "labels", {str(k): str(v) for k, v in dict(self.labels).items()})
        object.__setattr__(self, "driver_opts", dict(self.driver_opts))


_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class PortBinding:
    """A published port: container ``port`` (or range to ``port_end``) reached
    at ``host_port`` (0: ephemeral) on ``host_ip`` (None: all)."""

    proto: str = "tcp"
    port: int = 0
    host_ip: str | None = None
    host_port: int = 0
    port_end: int | None = None
    host_port_end: int | None = None

    def __post_init__(self) -> None:
        if self.proto not in _PROTOCOLS:
            raise InvalidParameterError(f"protocol {self.proto!r} is not one of {', '.join(_PROTOCOLS)}")
        for name in ("port", "host_port", "port_end", "host_port_end"):
            v = getattr(self, name)
            if v is None:
                continue
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 65535:
                raise InvalidParameterError(f"{name} {v!r} is not a port number")
        if self.port == 0:
            raise InvalidParameterError("a published port needs the container port")
        if self.port_end is not None and self.port_end < self.port:
            raise InvalidParameterError(f"port range {self.port}-{self.port_end} is reversed")
        if self.host_port_end is not None and self.host_port_end < self.host_port:
            raise InvalidParameterError(f"host port range {self.host_port}-{self.host_port_end} is reversed")
        if self.host_ip is not None:
            object.__setattr__(self, "host_ip", _addr(self.host_ip, "host IP"))


@dataclass(frozen=True)
class StaticRoute:
    """A route added in the sandbox when the endpoint joins."""

    destination: str
    next_hop: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "destination", _net(self.destination, "route destination"))
        if self.next_hop is not None:
            object.__setattr__(self, "next_hop", _addr(self.next_hop, "next hop"))


@dataclass(frozen=True)
class EndpointOptions:
    """Options of ``Network.create_endpoint``."""

    ipv4_address: str | None = None
    ipv6_address: str | None = None
    mac_address: str | None = None
    exposed_ports: tuple[tuple[str, int], ...] = ()
    port_bindings: tuple[PortBinding, ...] = ()
    aliases: tuple[str, ...] = ()
    disable_resolution: bool = False
    anonymous: bool = False
    static_routes: tuple[StaticRoute, ...] = ()
    priority: int = 0

    def __post_init__(self) -> None:
        if self.ipv4_address is not None:
            if ipaddress.ip_address(_addr(self.ipv4_address, "ipv4_address")).version != 4:
                raise InvalidParameterError(f"ipv4_address {self.ipv4_address} is not IPv4")
            object.__setattr__(self, "ipv4_address", _addr(self.ipv4_address, "ipv4_address"))
        if self.ipv6_address is not None:
            if ipaddress.ip_address(_addr(self.ipv6_address, "ipv6_address")).version != 6:
                raise InvalidParameterError(f"ipv6_address {self.ipv6_address} is not IPv6")
            object.__setattr__(self, "ipv6_address", _addr(self.ipv6_address, "ipv6_address"))
        if self.mac_address is not None:
            object.__setattr__(self, "mac_address", _mac(self.mac_address))
        object.__setattr__(self, "port_bindings", tuple(
            p if isinstance(p, PortBinding) else build(PortBinding, p, "port binding")
            for p in self.port_bindings))
        exposed = []
        for item in self.exposed_ports:
            proto, port = item if isinstance(item, tuple) else ("tcp", item)
            build(PortBinding, {"proto": proto, "port": port}, "exposed port")
            exposed.append((proto, port))
        object.__setattr__(self, "exposed_ports", tuple(exposed))
        object.__setattr__(self, "aliases", _names(self.aliases, "aliases"))
        object.__setattr__(self, "static_routes", tuple(
            r if isinstance(r, StaticRoute) else build(StaticRoute, r, "static route")
            for r in self.static_routes))
        if not isinstance(self.priority, int) or isinstance(self.priority, bool):
            raise InvalidParameterError(f"priority {self.priority!r} must be an integer")


@dataclass(frozen=True)
class SandboxOptions:
    """Options of ``Controller.new_sandbox``."""

    hostname: str = ""
    domainname: str = ""
    extra_hosts: tuple[tuple[str, str], ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    hosts_path: str | None = None
    resolv_conf_path: str | None = None
    use_host_netns: bool = False
    netns_path: str | None = None

    def __post_init__(self) -> None:
        for name in ("hostname", "domainname"):
            v = getattr(self, name)
            if v and not _HOST.match(v):
                raise InvalidParameterError(f"{name} {v!r} is not a valid host name")
        hosts = []
        for item in self.extra_hosts:
            if isinstance(item, str):
                if ":" not in item:
                    raise InvalidParameterError(f"extra host {item!r} is not NAME:IP")
                name, ip = item.split(":", 1)
            else:
                name, ip = item
            hosts.append((_names(name, "extra host")[0], _addr(ip, f"extra host {name}")))
        object.__setattr__(self, "extra_hosts", tuple(hosts))
        object.__setattr__(self, "dns", tuple(_addr(d, "DNS server") for d in self.dns))
        object.__setattr__(self, "dns_search", _names(self.dns_search, "DNS search domains"))
        for o in self.dns_options:
            if not isinstance(o, str) or not re.match(r"^[a-z0-9_-]+(:[0-9]+)?$", o):
                raise InvalidParameterError(f"DNS option {o!r} is not valid (e.g. ndots:2)")
        object.__setattr__(self, "dns_options", tuple(self.dns_options))
        if self.use_host_netns and self.netns_path:
            raise InvalidParameterError("use_host_netns and netns_path exclude each other")


_NAMES: dict[type, frozenset[str]] = {}     # per options dataclass: its field names


def build(cls: type, values: Any, what: str) -> Any:
    """An options dataclass from a mapping (or the instance itself), with
    unknown keys refused by name."""
    if isinstance(values, cls):
        return values
    if values is None:
        values = {}
    if type(values) is not dict and not isinstance(values, Mapping):
        raise InvalidParameterError(f"{what}: expected a mapping of options, got {type(values).__name__}")
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    if not names.issuperset(values):
        unknown = sorted(set(values) - names)
        raise InvalidParameterError(f"{what}: unknown option(s) {', '.join(unknown)}; "
                                    f"known: {', '.join(sorted(names))}")
    try:
        return cls(**values)
    except TypeError as e:
        raise InvalidParameterError(f"{what}: {e}") from None


_NO_DEFAULT = object()
# Per dataclass: (field name, its default or _NO_DEFAULT).
_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}
_SCALARS = (str, int, float, bool, type(None))


def _fields(obj: Any) -> tuple[tuple[str, Any], ...] | None:
    cls = type(obj)
    spec = _FIELDS.get(cls)
    if spec is None:
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            return None
        spec = _FIELDS[cls] = tuple(
            (f.name, f.default if f.default is not dataclasses.MISSING
             else f.default_factory() if f.default_factory is not dataclasses.MISSING
             else _NO_DEFAULT)
            for f in dataclasses.fields(obj))
    return spec


def to_jsonable(obj: Any) -> Any:
    """Options as plain JSON (for the store), leaving out fields that hold
    their default (``from_jsonable`` gives them back): a record is about
    a third of the size, so a commit writes fewer pages."""
    if isinstance(obj, _SCALARS):
        return obj
    spec = _fields(obj)
    if spec is not None:
        out = {}
        for name, default in spec:
            value = getattr(obj, name)
            if default is _NO_DEFAULT or value != default:
                out[name] = to_jsonable(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


def from_jsonable(cls: type, data: Mapping[str, Any]) -> Any:
    """The inverse of to_jsonable for the dataclasses of this module."""
    hints = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for k, v in data.items():
        if k not in hints:
            continue
        if cls is NetworkOptions and k == "ipam":
            v = from_jsonable(IPAMOptions, v)
        elif cls is IPAMOptions and k in ("ipv4", "ipv6"):
            v = tuple(from_jsonable(IPAMConf, c) for c in v)
        elif cls is EndpointOptions and k == "port_bindings":
            v = tuple(from_jsonable(PortBinding, p) for p in v)
        elif cls is EndpointOptions and k == "static_routes":
            v = tuple(from_jsonable(StaticRoute, r) for r in v)
        elif isinstance(v, list):
            v = tuple(tuple(x) if isinstance(x, list) else x for x in v)
        values[k] = v
    return cls(**values)
