"""IP address management: pools, gateways, static and dynamic addresses.

A pure-Python layer (no kernel access) after libnetwork's ``ipamapi``::

    from libnet.ipam import DefaultIPAM, PoolRequest, AddressRequest

    ipam = DefaultIPAM()                                  # Docker's default pools
    pool = ipam.request_pool(PoolRequest())               # local/172.17.0.0/16, gw .0.1
    addr = ipam.request_address(AddressRequest(pool.id))  # 172.17.0.2/16
    ipam.release_address(pool.id, addr.address)
    state = ipam.export_state()                           # JSON-able; restore_state()

Modules: ``types`` (frozen request/result dataclasses and the config),
``errors`` (by category), ``driver`` (the interface), ``default`` and
``null`` (the built-ins), ``stub`` (a recording driver for controller
tests), ``registry`` (explicit registration), ``pool``
(one pool's allocations), ``bitmap`` (the O(log64 N) allocator),
``predefined`` (choosing free subnets).
"""

from .bitmap import Bitmap
from .default import DefaultIPAM
from .driver import IPAMDriver
from .errors import (
    AddressInUseError,
    AddressOutOfRangeError,
    IPAMConflictError,
    IPAMError,
    IPAMInvalidParameterError,
    IPAMNotFoundError,
    IPAMUnavailableError,
    NoMoreSubnetsError,
    PoolExhaustedError,
    PoolNotFoundError,
    PoolOverlapError,
)
from .null import NullIPAM
from .registry import BUILTIN_IPAM_DRIVERS, DEFAULT_IPAM, IPAMRegistry
from .stub import RecordingIPAM
from .types import (
    DEFAULT_GLOBAL_POOLS,
    DEFAULT_LOCAL_POOLS,
    GLOBAL,
    LOCAL,
    AddressRequest,
    AllocatedAddress,
    IPAMCapabilities,
    IPAMConfig,
    Pool,
    PoolRequest,
    PoolSpec,
    PoolUsage,
)

__all__ = [
    "AddressInUseError",
    "AddressOutOfRangeError",
    "AddressRequest",
    "AllocatedAddress",
    "BUILTIN_IPAM_DRIVERS",
    "Bitmap",
    "DEFAULT_GLOBAL_POOLS",
    "DEFAULT_IPAM",
    "DEFAULT_LOCAL_POOLS",
    "DefaultIPAM",
    "GLOBAL",
    "IPAMCapabilities",
    "IPAMConfig",
    "IPAMConflictError",
    "IPAMDriver",
    "IPAMError",
    "IPAMInvalidParameterError",
    "IPAMNotFoundError",
    "IPAMRegistry",
    "IPAMUnavailableError",
    "LOCAL",
    "NoMoreSubnetsError",
    "NullIPAM",
    "Pool",
    "PoolExhaustedError",
    "PoolNotFoundError",
    "PoolOverlapError",
    "PoolRequest",
    "PoolSpec",
    "PoolUsage",
    "RecordingIPAM",
]
