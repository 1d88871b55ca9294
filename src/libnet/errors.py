"""Controller errors, by category.

The API maps a category to a status code (moby/moby
``daemon/libnetwork/types``: NotFound, Forbidden, InvalidParameter,
Conflict/already exists, Unavailable).  Each class carries ``category``, a
stable string, and also inherits the built-in a Python caller would catch
(LookupError, ValueError, PermissionError).
"""

from __future__ import annotations

__all__ = ["LibnetError", "NotFoundError", "ConflictError", "InvalidParameterError",
           "UnavailableError", "ForbiddenError", "category_of"]


class LibnetError(Exception):
    """Base of every controller error."""

    category = "internal"


class NotFoundError(LibnetError, LookupError):
    category = "not_found"


class ConflictError(LibnetError):
    category = "conflict"


class InvalidParameterError(LibnetError, ValueError):
    category = "invalid_parameter"


class UnavailableError(LibnetError):
    category = "unavailable"


class ForbiddenError(LibnetError, PermissionError):
    category = "forbidden"


def category_of(exc: BaseException) -> str:
    """The category of any exception (netlink and IPAM errors included)."""
    cat = getattr(exc, "category", None)
    if isinstance(cat, str):
        return cat
    if isinstance(exc, FileExistsError):
        return "conflict"
    if isinstance(exc, (LookupError, FileNotFoundError)):
        return "not_found"
    if isinstance(exc, (ValueError, TypeError)):
        return "invalid_parameter"
    if isinstance(exc, PermissionError):
        return "forbidden"
    return "internal"
