"""One allocated pool: its subnet, reservations and address bitmap.

Addresses are held as offsets from the subnet's first address, one bit
each in a ``Bitmap`` as wide as the subnet. Only real allocations are bits
(endpoints, the gateway, aux addresses); the addresses the subnet reserves
for itself are excluded by bounds instead, as libnetwork's ``newPoolData``
does by allocating them:

- IPv4: the network and broadcast addresses, except in a /31 or /32
  (RFC 3021 point-to-point links use both addresses);
- IPv6: the subnet-router anycast address (the first one, RFC 4291
  2.6.1), except in a /127 or /128 (RFC 6164).

Contract: every method either succeeds or raises having changed nothing.
Checks come first, the one mutation last.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .bitmap import Bitmap
from .errors import (
    AddressInUseError,
    AddressOutOfRangeError,
    IPAMConflictError,
    IPAMInvalidParameterError,
    PoolExhaustedError,
)
from .types import (
    IPAddress,
    IPNetwork,
    Pool,
    PoolUsage,
    parse_address,
    parse_network,
)

__all__ = ["AddressPool", "usable_bounds"]

STATE_VERSION = 1


def usable_bounds(subnet: IPNetwork) -> tuple[int, int]:
    """Offsets of the first and last address an endpoint may hold."""
    size = subnet.num_addresses
    if subnet.max_prefixlen - subnet.prefixlen <= 1:
        return 0, size - 1
    if subnet.version == 4:
        return 1, size - 2
    return 1, size - 1


class AddressPool:
    """Mutable state of one pool; the driver guards it with its lock."""

    __slots__ = (
        "info",
        "_subnet",
        "_base",
        "_addr",
        "_bitmap",
        "_first",
        "_last",
        "_dyn_first",
        "_dyn_last",
        "_dyn_count",
        "_cursor",
        "_special",
    )

    def __init__(self, info: Pool, bitmap: Bitmap, cursor: int | None = None) -> None:
        subnet = info.subnet
        self.info = info
        self._subnet = subnet
        self._base = int(subnet.network_address)
        self._addr = ipaddress.IPv4Address if subnet.version == 4 else ipaddress.IPv6Address
        self._bitmap = bitmap
        self._first, self._last = usable_bounds(subnet)
        if info.ip_range is not None:
            lo = int(info.ip_range.network_address) - self._base
            hi = lo + info.ip_range.num_addresses - 1
        else:
            lo, hi = 0, subnet.num_addresses - 1
        self._dyn_first = max(lo, self._first)
        self._dyn_last = min(hi, self._last)
        self._dyn_count = bitmap.count_range(self._dyn_first, self._dyn_last)
        bitmap.set_origin(self._dyn_first)
        self._cursor = self._dyn_first if cursor is None else cursor
        # Offsets the pool itself holds, with what they are (for messages
        # and to refuse releasing them as if they were endpoints').
        special: dict[int, str] = {}
        if info.gateway is not None:
            special[int(info.gateway) - self._base] = "the gateway"
        for name, addr in info.aux_addresses:
            special[int(addr) - self._base] = f"aux address {name!r}"
        self._special = special

    # -- construction -----------------------------------------------------

    @classmethod
    def create(
        cls,
        pool_id: str,
        address_space: str,
        subnet: IPNetwork,
        ip_range: IPNetwork | None = None,
        gateway: IPAddress | None = None,
        aux_addresses: tuple[tuple[str, IPAddress], ...] = (),
        allocate_gateway: bool = True,
        serial: bool = False,
    ) -> AddressPool:
        """Check the request against the subnet and build the pool with the
        gateway and aux addresses allocated."""
        base = int(subnet.network_address)
        first, last = usable_bounds(subnet)

        def offset_of(addr: IPAddress, what: str) -> int:
            if addr.version != subnet.version or addr not in subnet:
                raise AddressOutOfRangeError(f"{what} {addr} is not in subnet {subnet}")
            off = int(addr) - base
            if not first <= off <= last:
                raise AddressOutOfRangeError(
                    f"{what} {addr} is {_reserved_name(subnet, off)} of {subnet}"
                )
            return off

        if ip_range is not None:
            if ip_range.version != subnet.version or not ip_range.subnet_of(subnet):  # type: ignore[arg-type]
                raise IPAMInvalidParameterError(f"ip-range {ip_range} is not inside subnet {subnet}")
            lo = int(ip_range.network_address) - base
            hi = lo + ip_range.num_addresses - 1
            if max(lo, first) > min(hi, last):
                raise IPAMInvalidParameterError(
                    f"ip-range {ip_range} holds no usable address of subnet {subnet}"
                )
            if ip_range == subnet:
                ip_range = None
        bitmap = Bitmap(subnet.num_addresses)
        taken: dict[int, str] = {}
        for name, addr in aux_addresses:
            off = offset_of(addr, f"aux address {name!r}")
            if off in taken:
                raise AddressInUseError(f"aux address {name!r} {addr} is also {taken[off]}")
            taken[off] = f"aux address {name!r}"
            bitmap.set(off)
        if gateway is not None:
            off = offset_of(gateway, "gateway")
            if off in taken:
                raise AddressInUseError(f"gateway {gateway} is also {taken[off]}")
            bitmap.set(off)
        elif allocate_gateway:
            # Docker's choice: the subnet's first usable address (not the
            # ip-range's), skipping aux reservations.
            free = bitmap.next_clear(first, last)
            if free is None:
                raise PoolExhaustedError(f"subnet {subnet} has no address left for a gateway")
            bitmap.set(free)
            gateway = ipaddress.ip_address(base + free)
        info = Pool(
            id=pool_id,
            address_space=address_space,
            subnet=subnet,
            ip_range=ip_range,
            gateway=gateway,
            aux_addresses=aux_addresses,
            serial=serial,
        )
        return cls(info, bitmap)

    # -- addresses --------------------------------------------------------

    def _offset(self, address: IPAddress) -> int:
        subnet = self._subnet
        off = int(address) - self._base  # int arithmetic: ``in subnet`` costs ~4x more
        if address.version != subnet.version or not 0 <= off < self._bitmap.size:
            raise AddressOutOfRangeError(
                f"address {address} is not in subnet {subnet} of pool {self.info.id}"
            )
        if not self._first <= off <= self._last:
            raise AddressOutOfRangeError(
                f"address {address} is {_reserved_name(subnet, off)} of {subnet}"
            )
        return off

    def allocate(self, address: IPAddress | None = None, serial: bool | None = None) -> IPAddress:
        """A static ``address``, or the next free one of the dynamic range."""
        bitmap = self._bitmap
        if address is not None:
            off = self._offset(address)
            if not bitmap.set(off):
                owner = self._special.get(off)
                who = f" ({owner})" if owner else ""
                raise AddressInUseError(
                    f"address {address} is already allocated{who} in pool {self.info.id}"
                )
            if self._dyn_first <= off <= self._dyn_last:
                self._dyn_count += 1
            return address
        first, last = self._dyn_first, self._dyn_last
        if serial is None:
            serial = self.info.serial
        if serial:
            cursor = self._cursor
            found = bitmap.next_clear(cursor, last)
            if found is None and cursor > first:
                found = bitmap.next_clear(first, cursor - 1)
        else:
            found = bitmap.next_clear(first, last)
        if found is None:
            span = self.info.ip_range or self._subnet
            raise PoolExhaustedError(
                f"pool {self.info.id} is exhausted: all {last - first + 1} usable "
                f"addresses of {span} are allocated"
            )
        off = found
        bitmap.set(off)
        self._dyn_count += 1
        # libnetwork moves its cursor on every dynamic allocation, serial
        # or not; the cursor is only read by serial requests.
        self._cursor = off + 1 if off < last else first
        return self._addr(self._base + off)

    def release(self, address: IPAddress) -> bool:
        """Free ``address``; False if it was not allocated (release is
        idempotent). The gateway and aux addresses go with the pool."""
        off = self._offset(address)
        owner = self._special.get(off)
        if owner is not None:
            raise IPAMConflictError(
                f"address {address} is {owner} of pool {self.info.id}; "
                "it is released with the pool"
            )
        if not self._bitmap.clear(off):
            return False
        if self._dyn_first <= off <= self._dyn_last:
            self._dyn_count -= 1
        return True

    def is_allocated(self, address: IPAddress) -> bool:
        subnet = self._subnet
        if address.version != subnet.version or address not in subnet:
            return False
        return (int(address) - self._base) in self._bitmap

    def allocated(self) -> list[IPAddress]:
        """Every allocated address, in order (cost follows their number)."""
        return [self._addr(self._base + off) for off in self._bitmap.iter_set()]

    def usage(self) -> PoolUsage:
        total = self._last - self._first + 1
        used = len(self._bitmap)
        dyn_total = self._dyn_last - self._dyn_first + 1
        return PoolUsage(
            pool_id=self.info.id,
            subnet=self._subnet,
            total=total,
            allocated=used,
            free=total - used,
            dynamic_total=dyn_total,
            dynamic_allocated=self._dyn_count,
            dynamic_free=dyn_total - self._dyn_count,
        )

    # -- state ------------------------------------------------------------

    def export_state(self) -> dict[str, Any]:
        """A JSON-able dict from which ``from_state`` rebuilds this pool
        exactly (same allocations, same next address). Addresses are
        strings, so IPv6 offsets never meet a JSON number's limits."""
        info = self.info
        addr = self._addr
        base = self._base
        runs = []
        for a, b in self._bitmap.runs():
            runs.append(str(addr(base + a)) if a == b else f"{addr(base + a)}-{addr(base + b)}")
        return {
            "version": STATE_VERSION,
            "id": info.id,
            "address_space": info.address_space,
            "subnet": str(info.subnet),
            "ip_range": None if info.ip_range is None else str(info.ip_range),
            "gateway": None if info.gateway is None else str(info.gateway),
            "aux_addresses": {name: str(a) for name, a in info.aux_addresses},
            "serial": info.serial,
            "cursor": str(addr(base + self._cursor)),
            "allocated": runs,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AddressPool:
        """Rebuild a pool from ``export_state``; a malformed or inconsistent
        state raises ``IPAMInvalidParameterError`` naming what is wrong."""
        try:
            if state.get("version") != STATE_VERSION:
                raise IPAMInvalidParameterError(
                    f"pool state version {state.get('version')!r} is not {STATE_VERSION}"
                )
            subnet = parse_network(state["subnet"])
            ip_range = None if state["ip_range"] is None else parse_network(state["ip_range"], "ip-range")
            gateway = None if state["gateway"] is None else parse_address(state["gateway"], "gateway")
            aux = tuple(
                sorted(
                    (str(name), parse_address(a, f"aux address {name!r}"))
                    for name, a in state["aux_addresses"].items()
                )
            )
            info = Pool(
                id=str(state["id"]),
                address_space=str(state["address_space"]),
                subnet=subnet,
                ip_range=ip_range,
                gateway=gateway,
                aux_addresses=aux,
                serial=bool(state["serial"]),
            )
            base = int(subnet.network_address)

            def offset(text: str) -> int:
                a = parse_address(text)
                if a.version != subnet.version or a not in subnet:
                    raise IPAMInvalidParameterError(f"address {a} is not in subnet {subnet}")
                return int(a) - base

            runs = []
            for item in state["allocated"]:
                a, _, b = str(item).partition("-")
                runs.append((offset(a), offset(b) if b else offset(a)))
            bitmap = Bitmap(subnet.num_addresses)
            bitmap.set_runs(runs)
            pool = cls(info, bitmap, offset(state["cursor"]))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, IPAMInvalidParameterError):
                raise IPAMInvalidParameterError(f"bad pool state: {exc}") from None
            raise IPAMInvalidParameterError(f"bad pool state: {exc!r}") from None
        for off, owner in pool._special.items():
            if off not in bitmap:
                raise IPAMInvalidParameterError(
                    f"bad pool state: {owner} {pool._addr(base + off)} of {info.id} is not allocated"
                )
        if not pool._dyn_first <= pool._cursor <= pool._dyn_last:
            raise IPAMInvalidParameterError(
                f"bad pool state: cursor {state['cursor']} is outside the dynamic range of {info.id}"
            )
        return pool


def _reserved_name(subnet: IPNetwork, off: int) -> str:
    if subnet.version == 6:
        return "the subnet-router anycast address"
    return "the network address" if off == 0 else "the broadcast address"
