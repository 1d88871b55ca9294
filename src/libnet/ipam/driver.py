"""The IPAM driver interface (after libnetwork's ``ipamapi.Ipam``).

Required: ``request_pool``, ``release_pool``, ``request_address``,
``release_address``, ``usage``, plus walking pools and exporting and
restoring state (the controller keeps that state in its store). Optional
needs are declared in ``capabilities``.

Contract for every implementation:

- A call either succeeds or raises an ``IPAMError`` having changed nothing
  (compare ``export_state()`` before and after).
- ``release_address`` of an address that is not allocated is a no-op that
  returns False, so teardown can be repeated; an unknown pool id raises
  ``PoolNotFoundError`` (a ``LookupError``) everywhere.
- ``request_address`` returns None when the driver manages no addresses
  (the null IPAM); the endpoint then gets none.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any, ClassVar

from .types import (
    AddressRequest,
    AllocatedAddress,
    IPAddress,
    IPAMCapabilities,
    Pool,
    PoolRequest,
    PoolUsage,
)

__all__ = ["IPAMDriver"]


class IPAMDriver(abc.ABC):
    #: The name networks use to select the driver ("default", "null").
    name: ClassVar[str]
    capabilities: ClassVar[IPAMCapabilities] = IPAMCapabilities()

    @abc.abstractmethod
    def request_pool(self, request: PoolRequest) -> Pool:
        """Allocate a pool (an explicit subnet or a predefined one)."""

    @abc.abstractmethod
    def release_pool(self, pool_id: str) -> None:
        """Release a pool and every address in it."""

    @abc.abstractmethod
    def request_address(self, request: AddressRequest) -> AllocatedAddress | None:
        """Allocate a static or the next free address of a pool."""

    @abc.abstractmethod
    def release_address(self, pool_id: str, address: IPAddress | str) -> bool:
        """Free an address; False if it was not allocated."""

    @abc.abstractmethod
    def usage(self, pool_id: str) -> PoolUsage:
        """Address counts of one pool."""

    @abc.abstractmethod
    def get_pool(self, pool_id: str) -> Pool:
        """The pool with this id."""

    @abc.abstractmethod
    def pools(self) -> Iterator[Pool]:
        """Every allocated pool."""

    @abc.abstractmethod
    def export_state(self) -> dict[str, Any]:
        """Everything allocated, as a JSON-able dict."""

    @abc.abstractmethod
    def restore_state(self, state: dict[str, Any]) -> None:
        """Replace this driver's allocations by ``state`` (from
        ``export_state``); on error nothing changes."""
