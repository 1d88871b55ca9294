"""Built-in IPAM drivers, registered explicitly from one ordered list
(as moby's ``drivers_linux.go`` lists its drivers): no import-time side
effects, no plugin discovery. A controller builds its registry with
``IPAMRegistry.builtin(config)`` and may ``register`` more (a recording
stub in tests, a remote driver later)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .default import DefaultIPAM
from .driver import IPAMDriver
from .errors import IPAMConflictError, IPAMInvalidParameterError, IPAMNotFoundError
from .null import NullIPAM
from .types import IPAMConfig

__all__ = ["BUILTIN_IPAM_DRIVERS", "DEFAULT_IPAM", "IPAMRegistry"]

#: Name of the driver a network uses when it names none.
DEFAULT_IPAM = "default"

#: (name, factory taking the IPAM config), in registration order.
BUILTIN_IPAM_DRIVERS: tuple[tuple[str, Callable[[IPAMConfig], IPAMDriver]], ...] = (
    (DefaultIPAM.name, DefaultIPAM),
    (NullIPAM.name, lambda config: NullIPAM()),
)


class IPAMRegistry:
    """IPAM driver instances by name."""

    def __init__(self) -> None:
        self._drivers: dict[str, IPAMDriver] = {}

    @classmethod
    def builtin(cls, config: IPAMConfig | None = None) -> IPAMRegistry:
        config = config if config is not None else IPAMConfig()
        registry = cls()
        for name, factory in BUILTIN_IPAM_DRIVERS:
            registry.register(name, factory(config))
        return registry

    def register(self, name: str, driver: IPAMDriver) -> None:
        if not isinstance(name, str) or not name:
            raise IPAMInvalidParameterError(f"IPAM driver name must be a non-empty string, not {name!r}")
        if not isinstance(driver, IPAMDriver):
            raise IPAMInvalidParameterError(f"{driver!r} does not implement IPAMDriver")
        if name in self._drivers:
            raise IPAMConflictError(f"IPAM driver {name!r} is already registered")
        self._drivers[name] = driver

    def get(self, name: str) -> IPAMDriver:
        try:
            return self._drivers[name]
        except KeyError:
            known = ", ".join(self._drivers) or "none"
            raise IPAMNotFoundError(f"IPAM driver {name!r} is not registered (known: {known})") from None

    def names(self) -> list[str]:
        return list(self._drivers)

    def __iter__(self) -> Iterator[tuple[str, IPAMDriver]]:
        return iter(list(self._drivers.items()))
