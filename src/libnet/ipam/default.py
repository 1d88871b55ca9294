"""The default IPAM driver (libnetwork ``ipams/defaultipam``).

Two address spaces, local and global, each holding pools of both families
that never overlap one another. A pool's id is ``"<space>/<subnet>"``.
Explicit subnets are checked against every pool of their space; dynamic
requests take the first free predefined subnet (see ``predefined``).

One lock serialises every call, so a controller may share the driver
between threads. Each call checks everything before its one mutation, so
a refused request changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from .driver import IPAMDriver
from .errors import (
    IPAMInvalidParameterError,
    NoMoreSubnetsError,
    PoolNotFoundError,
    PoolOverlapError,
)
from .pool import AddressPool
from .predefined import first_free_subnet, overlapping
from .types import (
    ADDRESS_SPACES,
    AddressRequest,
    AllocatedAddress,
    IPAddress,
    IPAMCapabilities,
    IPAMConfig,
    Pool,
    PoolRequest,
    PoolUsage,
    parse_address,
)

__all__ = ["DefaultIPAM"]

STATE_VERSION = 1


class DefaultIPAM(IPAMDriver):
    name = "default"
    # The controller replays nothing: allocations come back from
    # export_state/restore_state, not by re-issuing requests.
    capabilities = IPAMCapabilities()

    def __init__(self, config: IPAMConfig | None = None) -> None:
        self.config = config if config is not None else IPAMConfig()
        self._pools: dict[str, AddressPool] = {}
        self._lock = threading.Lock()

    # -- pools --------------------------------------------------------------

    def _space_subnets(self, space: str) -> list[Any]:
        return [p.info.subnet for p in self._pools.values() if p.info.address_space == space]

    def request_pool(self, request: PoolRequest) -> Pool:
        if not isinstance(request, PoolRequest):
            raise IPAMInvalidParameterError(f"expected a PoolRequest, not {request!r}")
        space = request.address_space
        with self._lock:
            in_use = self._space_subnets(space)
            subnet = request.subnet
            if subnet is not None:
                other = overlapping(subnet, in_use)
                if other is not None:
                    raise PoolOverlapError(
                        f"subnet {subnet} overlaps pool {space}/{other} in the {space} address space"
                    )
            else:
                version = 6 if request.v6 else 4
                subnet = first_free_subnet(
                    self.config.pools(space), version, in_use + list(request.exclude),
                    request.prefix_len,
                )
                if subnet is None:
                    size = "" if request.prefix_len is None else f" of size /{request.prefix_len}"
                    raise NoMoreSubnetsError(
                        f"no predefined IPv{version} subnet{size} is free in the {space} address "
                        f"space: all overlap allocated pools or excluded networks"
                    )
            pool = AddressPool.create(
                f"{space}/{subnet}",
                space,
                subnet,
                ip_range=request.ip_range,
                gateway=request.gateway,
                aux_addresses=request.aux_addresses,
                allocate_gateway=request.allocate_gateway,
                serial=request.serial,
            )
            self._pools[pool.info.id] = pool
            return pool.info

    def _get(self, pool_id: str) -> AddressPool:
        pool = self._pools.get(pool_id)
        if pool is None:
            raise PoolNotFoundError(f"no pool {pool_id!r} is allocated")
        return pool

    def release_pool(self, pool_id: str) -> None:
        with self._lock:
            self._get(pool_id)
            del self._pools[pool_id]

    def get_pool(self, pool_id: str) -> Pool:
        with self._lock:
            return self._get(pool_id).info

    def pools(self) -> Iterator[Pool]:
        with self._lock:
            return iter([p.info for p in self._pools.values()])

    # -- addresses ----------------------------------------------------------

    def request_address(self, request: AddressRequest) -> AllocatedAddress:
        with self._lock:
            pool = self._get(request.pool_id)
            address = pool.allocate(request.address, request.serial)
            return AllocatedAddress(request.pool_id, address, pool.info.subnet.prefixlen)

    def release_address(self, pool_id: str, address: IPAddress | str) -> bool:
        addr = parse_address(address)
        with self._lock:
            return self._get(pool_id).release(addr)

    def is_allocated(self, pool_id: str, address: IPAddress | str) -> bool:
        addr = parse_address(address)
        with self._lock:
            return self._get(pool_id).is_allocated(addr)

    def allocated(self, pool_id: str) -> list[IPAddress]:
        with self._lock:
            return self._get(pool_id).allocated()

    def usage(self, pool_id: str) -> PoolUsage:
        with self._lock:
            return self._get(pool_id).usage()

    # -- state --------------------------------------------------------------

    def export_pool(self, pool_id: str) -> dict[str, Any]:
        """One pool's state (for a store that keeps a row per network)."""
        with self._lock:
            return self._get(pool_id).export_state()

    def import_pool(self, state: dict[str, Any]) -> Pool:
        """Add a pool from ``export_pool``; refused if its id exists or its
        subnet overlaps a pool of its space."""
        pool = AddressPool.from_state(state)
        with self._lock:
            self._check_new(pool, self._pools)
            self._pools[pool.info.id] = pool
        return pool.info

    @staticmethod
    def _check_new(pool: AddressPool, pools: dict[str, AddressPool]) -> None:
        info = pool.info
        if info.address_space not in ADDRESS_SPACES:
            raise IPAMInvalidParameterError(
                f"bad pool state: address space {info.address_space!r} is unknown"
            )
        if info.id != f"{info.address_space}/{info.subnet}":
            raise IPAMInvalidParameterError(
                f"bad pool state: id {info.id!r} does not match {info.address_space}/{info.subnet}"
            )
        same_space = [p.info.subnet for p in pools.values()
                      if p.info.address_space == info.address_space]
        other = overlapping(info.subnet, same_space)
        if other is not None:
            raise PoolOverlapError(
                f"pool {info.id} overlaps pool {info.address_space}/{other}"
            )

    def export_state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "driver": self.name,
                "version": STATE_VERSION,
                "pools": [p.export_state() for p in self._pools.values()],
            }

    def restore_state(self, state: dict[str, Any]) -> None:
        if (
            not isinstance(state, dict)
            or state.get("driver") != self.name
            or state.get("version") != STATE_VERSION
            or not isinstance(state.get("pools"), list)
        ):
            raise IPAMInvalidParameterError(
                f"bad IPAM state: expected {{'driver': {self.name!r}, 'version': "
                f"{STATE_VERSION}, 'pools': [...]}}"
            )
        pools: dict[str, AddressPool] = {}
        for pool_state in state["pools"]:
            if not isinstance(pool_state, dict):
                raise IPAMInvalidParameterError(f"bad pool state: {pool_state!r}")
            pool = AddressPool.from_state(pool_state)
            self._check_new(pool, pools)
            pools[pool.info.id] = pool
        with self._lock:
            self._pools = pools

    @classmethod
    def from_state(cls, state: dict[str, Any], config: IPAMConfig | None = None) -> DefaultIPAM:
        ipam = cls(config)
        ipam.restore_state(state)
        return ipam
