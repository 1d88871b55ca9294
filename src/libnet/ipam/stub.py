"""A recording IPAM driver for controller tests (the null IPAM is the no-op).

``RecordingIPAM`` delegates to a real driver (a fresh ``DefaultIPAM`` by
default) and records every call, in order, as ``(method, args)``; a test
can make any method fail on its n-th call to check that the caller undoes
what it did before (a network whose endpoint setup fails must release its
pool and addresses). A call made to fail records itself with the exception
and changes nothing in the inner driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .default import DefaultIPAM
from .driver import IPAMDriver
from .types import (
    AddressRequest,
    AllocatedAddress,
    IPAddress,
    Pool,
    PoolRequest,
    PoolUsage,
)

__all__ = ["RecordingIPAM"]


class RecordingIPAM(IPAMDriver):
    name = "recording"

    def __init__(self, inner: IPAMDriver | None = None) -> None:
        self.inner: IPAMDriver = inner if inner is not None else DefaultIPAM()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.failures: list[tuple[str, tuple[Any, ...], BaseException]] = []
        self._fail: dict[str, tuple[int, BaseException]] = {}
        self._counts: dict[str, int] = {}

    def fail(self, method: str, exc: BaseException, on_call: int = 1) -> None:
        """Make the ``on_call``-th call of ``method`` (counting from now)
        raise ``exc`` before reaching the inner driver."""
        self._counts[method] = 0
        self._fail[method] = (on_call, exc)

    def _call(self, method: str, *args: Any) -> Any:
        self.calls.append((method, args))
        count = self._counts[method] = self._counts.get(method, 0) + 1
        planned = self._fail.get(method)
        if planned is not None and planned[0] == count:
            del self._fail[method]
            self.failures.append((method, args, planned[1]))
            raise planned[1]
        return getattr(self.inner, method)(*args)

    def names(self) -> list[str]:
        """The methods called so far, in order."""
        return [name for name, _ in self.calls]

    def request_pool(self, request: PoolRequest) -> Pool:
        return self._call("request_pool", request)  # type: ignore[no-any-return]

    def release_pool(self, pool_id: str) -> None:
        self._call("release_pool", pool_id)

    def request_address(self, request: AddressRequest) -> AllocatedAddress | None:
        return self._call("request_address", request)  # type: ignore[no-any-return]

    def release_address(self, pool_id: str, address: IPAddress | str) -> bool:
        return self._call("release_address", pool_id, address)  # type: ignore[no-any-return]

    def usage(self, pool_id: str) -> PoolUsage:
        return self.inner.usage(pool_id)

    def get_pool(self, pool_id: str) -> Pool:
        return self.inner.get_pool(pool_id)

    def pools(self) -> Iterator[Pool]:
        return self.inner.pools()

    def export_state(self) -> dict[str, Any]:
        return self.inner.export_state()

    def restore_state(self, state: dict[str, Any]) -> None:
        self._call("restore_state", state)
