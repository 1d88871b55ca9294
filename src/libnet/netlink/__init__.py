"""Typed netlink verbs over libnet's Cython core.

``NftSocket`` speaks nf_tables (tables, chains, rules, sets, elements) in
atomic transactions.  ``RouteSocket`` speaks rtnetlink (links, addresses, routes, neighbours) with
verbs shaped like ``ip``; ``batch()`` sends many requests in one syscall.
"""

from .._netlink import (
    RESYNC,
    Address,
    DumpInterrupted,
    Link,
    Message,
    NetlinkError,
    NetlinkExistsError,
    NetlinkNotFoundError,
    NetlinkPermissionError,
    Neighbour,
    Resync,
    Route,
)
from .route import Batch, EventSocket, RouteSocket
from .nft import Chain, Element, GenerationChanged, NftSocket, Rule, Set, Table, Transaction
from .nft_expr import (Bitwise, Cmp, Counter, Ct, Fib, Immediate, Lookup, Masq, Meta, Nat,
                       Payload, Range, RawExpr, Redir, Reject, Verdict)

__all__ = [
    "RouteSocket", "Batch", "EventSocket", "Link", "Address", "Route", "Neighbour",
    "Message", "NetlinkError", "NetlinkExistsError", "NetlinkNotFoundError",
    "NetlinkPermissionError", "DumpInterrupted", "RESYNC", "Resync",
    "NftSocket", "Transaction", "Table", "Chain", "Rule", "Set", "Element",
    "GenerationChanged", "Verdict", "Payload", "Meta", "Cmp", "Bitwise", "Immediate",
    "Lookup", "Nat", "Masq", "Redir", "Ct", "Counter", "Fib", "Reject", "Range", "RawExpr",
]
