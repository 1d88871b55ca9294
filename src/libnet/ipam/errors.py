"""IPAM errors, by category.

The controller and the API map errors to status codes by category, the way
libnetwork's ``types`` package does (moby/moby ``daemon/libnetwork/types``):

============================  =====================  =========================
class                         also a                 meaning
============================  =====================  =========================
``IPAMNotFoundError``         ``LookupError``        unknown pool id / driver
``IPAMConflictError``         --                     overlap, address in use
``IPAMInvalidParameterError`` ``ValueError``         malformed or out of range
``IPAMUnavailableError``      --                     exhausted, no more subnets
============================  =====================  =========================

Each class carries ``category`` (a stable string) so a caller can map it
without importing every subclass. Messages say what was refused and why,
naming the address and the pool ("address 10.0.0.300 is not a valid IPv4
address", "10.1.0.0/16 overlaps pool local/10.0.0.0/8").
"""

from __future__ import annotations

from ..errors import (ConflictError, InvalidParameterError, LibnetError, NotFoundError,
                      UnavailableError)

__all__ = [
    "IPAMError",
    "IPAMNotFoundError",
    "IPAMConflictError",
    "IPAMInvalidParameterError",
    "IPAMUnavailableError",
    "PoolNotFoundError",
    "PoolOverlapError",
    "AddressInUseError",
    "AddressOutOfRangeError",
    "PoolExhaustedError",
    "NoMoreSubnetsError",
]


class IPAMError(LibnetError):
    """Base of every error the IPAM raises."""

    category = "internal"


class IPAMNotFoundError(IPAMError, NotFoundError):
    category = "not_found"


class IPAMConflictError(IPAMError, ConflictError):
    category = "conflict"


class IPAMInvalidParameterError(IPAMError, InvalidParameterError):
    category = "invalid_parameter"


class IPAMUnavailableError(IPAMError, UnavailableError):
    category = "unavailable"


class PoolNotFoundError(IPAMNotFoundError):
    """No pool has this id (never allocated, or already released)."""


class PoolOverlapError(IPAMConflictError):
    """A requested subnet overlaps a pool already allocated."""


class AddressInUseError(IPAMConflictError):
    """A static address is already allocated (to an endpoint, the gateway
    or an aux address)."""


class AddressOutOfRangeError(IPAMInvalidParameterError):
    """An address lies outside the subnet, or is reserved by the subnet
    itself (IPv4 network and broadcast, IPv6 subnet-router anycast)."""


class PoolExhaustedError(IPAMUnavailableError):
    """Every address a dynamic request may use is taken."""


class NoMoreSubnetsError(IPAMUnavailableError):
    """Every predefined subnet of the requested size overlaps something."""
