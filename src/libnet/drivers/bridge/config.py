"""Typed configuration of the bridge driver and of its networks.

Network options come as ``driver_opts``, under libnet's short names or
Docker's keys (``com.docker.network.bridge.name`` ...), and are checked here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping

from ...errors import InvalidParameterError

__all__ = ["BridgeDriverConfig", "BridgeNetworkConfig", "DOCKER_KEYS"]

DOCKER_KEYS = {
    "com.docker.network.bridge.name": "bridge_name",
    "com.docker.network.bridge.enable_icc": "enable_icc",
    "com.docker.network.bridge.enable_ip_masquerade": "enable_ip_masquerade",
    "com.docker.network.bridge.host_binding_ipv4": "host_binding_ipv4",
    "com.docker.network.bridge.default_bridge": "default_bridge",
    "com.docker.network.driver.mtu": "mtu",
    "com.docker.network.host_ipv4": "snat_ipv4",
}


def _bool(v: Any, what: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false", "1", "0"):
        return v.lower() in ("true", "1")
    raise InvalidParameterError(f"{what} must be a boolean, not {v!r}")


@dataclass(frozen=True)
class BridgeDriverConfig:
    """Driver-wide settings (``configure_network_driver("bridge", {...})``)."""

    enable_ip_forwarding: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "BridgeDriverConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidParameterError(f"bridge driver: unknown option(s) {', '.join(unknown)}")
        return cls(**{k: _bool(v, k) for k, v in options.items()})


@dataclass(frozen=True)
class BridgeNetworkConfig:
    """One bridge network's settings."""

    bridge_name: str = ""
    enable_icc: bool = True
    enable_ip_masquerade: bool = True
    host_binding_ipv4: str | None = None
    snat_ipv4: str | None = None
    default_bridge: bool = False
    mtu: int | None = None
    # IGMP/MLD snooping on a bridge libnet creates (libnet's option; the
    # kernel's and Docker's default is on).  Off by default: with snooping,
    # every port state change re-arms two query timers on every port (see
    # kernel.ensure_bridge), and a bridge without a querier, as container
    # bridges are, floods a group again once its members' reports expire.
    mcast_snooping: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any], network_id: str,
                     network_mtu: int | None) -> "BridgeNetworkConfig":
        values: dict[str, Any] = {}
        known = {f.name for f in dataclasses.fields(cls)}
        for key, v in options.items():
            name = DOCKER_KEYS.get(key, key)
            if name not in known:
                raise InvalidParameterError(f"bridge network: unknown option {key!r}")
            values[name] = v
        for name in ("enable_icc", "enable_ip_masquerade", "default_bridge", "mcast_snooping"):
            if name in values:
                values[name] = _bool(values[name], name)
        for name in ("host_binding_ipv4", "snat_ipv4"):
            if values.get(name) is not None:
                try:
                    values[name] = str(ipaddress.IPv4Address(str(values[name])))
                except ValueError:
                    raise InvalidParameterError(f"{name} {values[name]!r} is not an IPv4 address") from None
        if "mtu" in values:
            try:
                values["mtu"] = int(values["mtu"])
            except (TypeError, ValueError):
                raise InvalidParameterError(f"mtu {values['mtu']!r} is not an integer") from None
            if not 68 <= values["mtu"] <= 65535:
                raise InvalidParameterError(f"mtu {values['mtu']} is out of 68..65535")
        elif network_mtu is not None:
            values["mtu"] = network_mtu
        name = values.get("bridge_name") or f"br-{network_id[:12]}"
        raw = name.encode()
        if len(raw) > 15 or "/" in name or " " in name or ":" in name:
            raise InvalidParameterError(f"bridge name {name!r} is not a valid interface name")
        values["bridge_name"] = name
        return cls(**values)
