"""The null IPAM: networks without addresses (libnetwork ``ipams/null``).

Every pool request gets the all-covering pool of its family (0.0.0.0/0 or
::/0) with no gateway, and address requests get no address. Pools are
counted per id so release pairs with request and an unknown id still
raises, as with the default driver.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from .driver import IPAMDriver
from .errors import IPAMInvalidParameterError, PoolNotFoundError
from .types import (
    AddressRequest,
    AllocatedAddress,
    IPAddress,
    Pool,
    PoolRequest,
    PoolUsage,
    parse_address,
)

__all__ = ["NullIPAM"]

_V4 = ipaddress.IPv4Network("0.0.0.0/0")
_V6 = ipaddress.IPv6Network("::/0")


class NullIPAM(IPAMDriver):
    name = "null"

    def __init__(self) -> None:
        self._refs: dict[str, int] = {}

    def _pool(self, pool_id: str) -> Pool:
        if pool_id not in self._refs:
            raise PoolNotFoundError(f"null IPAM has no pool {pool_id!r}")
        subnet = _V6 if pool_id.endswith("::/0") else _V4
        return Pool(id=pool_id, address_space="null", subnet=subnet)

    def request_pool(self, request: PoolRequest) -> Pool:
        if request.subnet is not None or request.ip_range is not None:
            raise IPAMInvalidParameterError(
                f"the null IPAM allocates no subnet; {request.subnet} was requested"
            )
        subnet = _V6 if request.v6 else _V4
        pool_id = f"null/{subnet}"
        self._refs[pool_id] = self._refs.get(pool_id, 0) + 1
        return self._pool(pool_id)

    def release_pool(self, pool_id: str) -> None:
        refs = self._refs.get(pool_id)
        if refs is None:
            raise PoolNotFoundError(f"null IPAM has no pool {pool_id!r}")
        if refs == 1:
            del self._refs[pool_id]
        else:
            self._refs[pool_id] = refs - 1

    def request_address(self, request: AddressRequest) -> AllocatedAddress | None:
        self._pool(request.pool_id)
        if request.address is not None:
            raise IPAMInvalidParameterError(
                f"the null IPAM hands out no address; {request.address} was requested"
            )
        return None

    def release_address(self, pool_id: str, address: IPAddress | str) -> bool:
        self._pool(pool_id)
        parse_address(address)
        return False

    def usage(self, pool_id: str) -> PoolUsage:
        pool = self._pool(pool_id)
        return PoolUsage(pool_id, pool.subnet, 0, 0, 0, 0, 0, 0)

    def get_pool(self, pool_id: str) -> Pool:
        return self._pool(pool_id)

    def pools(self) -> Iterator[Pool]:
        return iter([self._pool(pool_id) for pool_id in sorted(self._refs)])

    def export_state(self) -> dict[str, Any]:
        return {"driver": self.name, "version": 1, "pools": dict(sorted(self._refs.items()))}

    def restore_state(self, state: dict[str, Any]) -> None:
        pools = state.get("pools") if isinstance(state, dict) else None
        if (
            not isinstance(state, dict)
            or state.get("driver") != self.name
            or not isinstance(pools, dict)
            or not all(k in ("null/0.0.0.0/0", "null/::/0") and isinstance(v, int) and v > 0
                       for k, v in pools.items())
        ):
            raise IPAMInvalidParameterError(f"bad null IPAM state: {state!r}")
        self._refs = dict(pools)
