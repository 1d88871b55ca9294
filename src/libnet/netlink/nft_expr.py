"""nf_tables rule expressions: one frozen dataclass and one small codec each.

Every expression class has ``kind`` (the kernel's expression name), an
``encode()`` giving the attribute dict of its NFTA_EXPR_DATA (in the order the
kernel dumps them, so a dumped rule re-encodes to the same bytes) and a
``decode(data)`` classmethod.  ``EXPRESSIONS`` is the explicit registry
(libnftnl's src/expr_ops.c has the same shape); an expression the registry
does not know decodes to ``RawExpr`` and re-encodes unchanged.

Registers are the kernel's numbers: ``NFT_REG_VERDICT`` (0), the 16-byte
``NFT_REG_1``..``NFT_REG_4`` (1-4) and the 4-byte ``NFT_REG32_00``..
``NFT_REG32_15`` (8-23); nft loads the first field of a concatenation into
register 1 and the next 4-byte fields into 9, 10, ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from .. import _netlink as nl

__all__ = [
    "Expr", "Verdict", "Payload", "Meta", "Cmp", "Bitwise", "Immediate", "Lookup",
    "Nat", "Masq", "Redir", "Ct", "Counter", "Fib", "Reject", "Range", "RawExpr",
    "EXPRESSIONS", "expr_encode", "expr_decode", "REG_VERDICT", "REG_1", "REG32",
]

REG_VERDICT = nl.NFT_REG_VERDICT
REG_1 = nl.NFT_REG_1
REG32 = tuple(getattr(nl, f"NFT_REG32_{i:02d}") for i in range(16))


def _names(prefix: str) -> dict[str, int]:
    """Constants named PREFIX_X as {"x": value} (e.g. NFT_META_L4PROTO -> "l4proto")."""
    return {k[len(prefix):].lower(): v for k, v in vars(nl).items()
            if k.startswith(prefix) and isinstance(v, int)}


def _lookup(table: dict[str, int], value, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return table[value]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(sorted(table))}") from None


def _name(table: dict[str, int], value: int):
    for k, v in table.items():
        if v == value:
            return k
    return value


def _be32s(v: int) -> int:
    """A signed 32-bit value as the unsigned be32 the wire carries."""
    return v & 0xFFFFFFFF


def _signed32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


META_KEYS = _names("NFT_META_")
CT_KEYS = _names("NFT_CT_")
PAYLOAD_BASES = {"ll": nl.NFT_PAYLOAD_LL_HEADER, "network": nl.NFT_PAYLOAD_NETWORK_HEADER,
                 "transport": nl.NFT_PAYLOAD_TRANSPORT_HEADER,
                 "inner": nl.NFT_PAYLOAD_INNER_HEADER}
CMP_OPS = _names("NFT_CMP_")
RANGE_OPS = _names("NFT_RANGE_")
BITWISE_OPS = {"mask_xor": nl.NFT_BITWISE_MASK_XOR, "lshift": nl.NFT_BITWISE_LSHIFT,
               "rshift": nl.NFT_BITWISE_RSHIFT}
NAT_TYPES = {"snat": nl.NFT_NAT_SNAT, "dnat": nl.NFT_NAT_DNAT}
NAT_FAMILIES = {"ip": nl.NFPROTO_IPV4, "ip6": nl.NFPROTO_IPV6}
FIB_RESULTS = {"oif": nl.NFT_FIB_RESULT_OIF, "oifname": nl.NFT_FIB_RESULT_OIFNAME,
               "type": nl.NFT_FIB_RESULT_ADDRTYPE}
FIB_FLAGS = _names("NFTA_FIB_F_")
REJECT_TYPES = {"icmp": nl.NFT_REJECT_ICMP_UNREACH, "tcp_rst": nl.NFT_REJECT_TCP_RST,
                "icmpx": nl.NFT_REJECT_ICMPX_UNREACH}
VERDICTS = {"drop": nl.NF_DROP, "accept": nl.NF_ACCEPT, "continue": nl.NFT_CONTINUE,
            "break": nl.NFT_BREAK, "jump": nl.NFT_JUMP, "goto": nl.NFT_GOTO,
            "return": nl.NFT_RETURN}


@dataclass(frozen=True)
class Verdict:
    """accept, drop, continue, return, break; jump or goto a ``chain``."""

    kind: str
    chain: str | None = None

    def __post_init__(self):
        _lookup(VERDICTS, self.kind, "verdict")
        if (self.kind in ("jump", "goto")) != (self.chain is not None):
            raise ValueError(f"verdict {self.kind}: a chain is needed for jump and goto only")

    def encode(self) -> dict:
        d: dict[str, Any] = {"code": _be32s(VERDICTS[self.kind])}
        if self.chain is not None:
            d["chain"] = self.chain
        return d

    @classmethod
    def decode(cls, d: dict) -> "Verdict":
        return cls(_name(VERDICTS, _signed32(d["code"])), d.get("chain"))


def data_encode(value) -> dict:
    """nft_data: bytes as NFTA_DATA_VALUE, a Verdict as NFTA_DATA_VERDICT."""
    if isinstance(value, Verdict):
        return {"verdict": value.encode()}
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"expression data is bytes or a Verdict, not {type(value).__name__}")
    return {"value": bytes(value)}


def data_decode(d: dict):
    if "verdict" in d:
        return Verdict.decode(d["verdict"])
    return d.get("value", b"")


class Expr:
    """Base of every expression: ``kind``, ``encode()``, ``decode()``."""

    kind: ClassVar[str] = ""

    def encode(self) -> dict:
        raise NotImplementedError

    @classmethod
    def decode(cls, d: dict) -> "Expr":
        raise NotImplementedError


@dataclass(frozen=True)
class Payload(Expr):
    """Load ``len`` bytes at ``offset`` of header ``base`` into ``dreg`` (or,
    with ``sreg``, write them from ``sreg``, fixing checksums as asked)."""

    kind: ClassVar[str] = "payload"
    base: str
    offset: int
    len: int
    dreg: int | None = REG_1
    sreg: int | None = None
    csum_type: int = 0
    csum_offset: int = 0
    csum_flags: int = 0

    def encode(self) -> dict:
        base = _lookup(PAYLOAD_BASES, self.base, "payload base")
        if self.sreg is None:
            return {"dreg": self.dreg, "base": base, "offset": self.offset, "len": self.len}
        return {"sreg": self.sreg, "base": base, "offset": self.offset, "len": self.len,
                "csum_type": self.csum_type, "csum_offset": self.csum_offset,
                "csum_flags": self.csum_flags}

    @classmethod
    def decode(cls, d: dict) -> "Payload":
        return cls(_name(PAYLOAD_BASES, d["base"]), d["offset"], d["len"], d.get("dreg"),
                   d.get("sreg"), d.get("csum_type", 0), d.get("csum_offset", 0),
                   d.get("csum_flags", 0))


@dataclass(frozen=True)
class Meta(Expr):
    """Load meta ``key`` (l4proto, iifname, mark, ...) into ``dreg``, or set it from ``sreg``."""

    kind: ClassVar[str] = "meta"
    key: str
    dreg: int | None = REG_1
    sreg: int | None = None

    def encode(self) -> dict:
        key = _lookup(META_KEYS, self.key, "meta key")
        if self.sreg is not None:
            return {"key": key, "sreg": self.sreg}
        return {"key": key, "dreg": self.dreg}

    @classmethod
    def decode(cls, d: dict) -> "Meta":
        if "sreg" in d:
            return cls(_name(META_KEYS, d["key"]), None, d["sreg"])
        return cls(_name(META_KEYS, d["key"]), d.get("dreg"))


@dataclass(frozen=True)
class Cmp(Expr):
    """Compare ``sreg`` with ``data`` (eq, neq, lt, lte, gt, gte); break if false."""

    kind: ClassVar[str] = "cmp"
    op: str
    data: bytes
    sreg: int = REG_1

    def encode(self) -> dict:
        return {"sreg": self.sreg, "op": _lookup(CMP_OPS, self.op, "cmp op"),
                "data": data_encode(self.data)}

    @classmethod
    def decode(cls, d: dict) -> "Cmp":
        return cls(_name(CMP_OPS, d["op"]), data_decode(d["data"]), d["sreg"])


@dataclass(frozen=True)
class Bitwise(Expr):
    """dreg = (sreg & mask) ^ xor over ``len`` bytes; or a shift by ``data``."""

    kind: ClassVar[str] = "bitwise"
    len: int
    mask: bytes = b""
    xor: bytes = b""
    sreg: int = REG_1
    dreg: int = REG_1
    op: str = "mask_xor"
    data: bytes = b""

    def encode(self) -> dict:
        op = _lookup(BITWISE_OPS, self.op, "bitwise op")
        d: dict[str, Any] = {"sreg": self.sreg, "dreg": self.dreg, "len": self.len, "op": op}
        if op == nl.NFT_BITWISE_MASK_XOR:
            d["mask"] = data_encode(self.mask)
            d["xor"] = data_encode(self.xor)
        else:
            d["data"] = data_encode(self.data)
        return d

    @classmethod
    def decode(cls, d: dict) -> "Bitwise":
        return cls(d["len"], data_decode(d.get("mask", {})), data_decode(d.get("xor", {})),
                   d["sreg"], d["dreg"], _name(BITWISE_OPS, d.get("op", 0)),
                   data_decode(d.get("data", {})))


@dataclass(frozen=True)
class Immediate(Expr):
    """Load constant ``data`` into ``dreg``; a Verdict goes to the verdict register."""

    kind: ClassVar[str] = "immediate"
    data: Any
    dreg: int | None = None

    def __post_init__(self):
        if self.dreg is None:
            object.__setattr__(self, "dreg",
                               REG_VERDICT if isinstance(self.data, Verdict) else REG_1)

    def encode(self) -> dict:
        return {"dreg": self.dreg, "data": data_encode(self.data)}

    @classmethod
    def decode(cls, d: dict) -> "Immediate":
        return cls(data_decode(d["data"]), d["dreg"])


@dataclass(frozen=True)
class Lookup(Expr):
    """Look ``sreg`` up in set ``set``; for a map, write the value to ``dreg``."""

    kind: ClassVar[str] = "lookup"
    set: str
    sreg: int = REG_1
    dreg: int | None = None
    invert: bool = False

    def encode(self) -> dict:
        d: dict[str, Any] = {"set": self.set, "sreg": self.sreg}
        if self.dreg is not None:
            d["dreg"] = self.dreg
        d["flags"] = nl.NFT_LOOKUP_F_INV if self.invert else 0
        return d

    @classmethod
    def decode(cls, d: dict) -> "Lookup":
        return cls(d["set"], d["sreg"], d.get("dreg"),
                   bool(d.get("flags", 0) & nl.NFT_LOOKUP_F_INV))


def _nat_flags(flags, addr, proto) -> int:
    if flags is not None:
        return flags
    f = 0
    if addr is not None:
        f |= nl.NF_NAT_RANGE_MAP_IPS
    if proto is not None:
        f |= nl.NF_NAT_RANGE_PROTO_SPECIFIED
    return f


@dataclass(frozen=True)
class Nat(Expr):
    """snat/dnat to the address in ``reg_addr_min`` (..``reg_addr_max``) and
    port in ``reg_proto_min`` (..``reg_proto_max``).  ``flags`` (NF_NAT_RANGE_*)
    defaults to what the registers imply."""

    kind: ClassVar[str] = "nat"
    type: str
    family: str = "ip"
    reg_addr_min: int | None = None
    reg_addr_max: int | None = None
    reg_proto_min: int | None = None
    reg_proto_max: int | None = None
    flags: int | None = None

    def __post_init__(self):
        if self.reg_addr_min is not None and self.reg_addr_max is None:
            object.__setattr__(self, "reg_addr_max", self.reg_addr_min)
        if self.reg_proto_min is not None and self.reg_proto_max is None:
            object.__setattr__(self, "reg_proto_max", self.reg_proto_min)
        object.__setattr__(self, "flags",
                           _nat_flags(self.flags, self.reg_addr_min, self.reg_proto_min))

    def encode(self) -> dict:
        d: dict[str, Any] = {"type": _lookup(NAT_TYPES, self.type, "nat type"),
                             "family": _lookup(NAT_FAMILIES, self.family, "nat family")}
        if self.reg_addr_min is not None:
            d["reg_addr_min"] = self.reg_addr_min
            d["reg_addr_max"] = self.reg_addr_max
        if self.reg_proto_min is not None:
            d["reg_proto_min"] = self.reg_proto_min
            d["reg_proto_max"] = self.reg_proto_max
        if self.flags:
            d["flags"] = self.flags
        return d

    @classmethod
    def decode(cls, d: dict) -> "Nat":
        return cls(_name(NAT_TYPES, d["type"]), _name(NAT_FAMILIES, d["family"]),
                   d.get("reg_addr_min"), d.get("reg_addr_max"), d.get("reg_proto_min"),
                   d.get("reg_proto_max"), d.get("flags", 0))


@dataclass(frozen=True)
class Masq(Expr):
    """Masquerade (snat to the outgoing interface's address)."""

    kind: ClassVar[str] = "masq"
    flags: int = 0
    reg_proto_min: int | None = None
    reg_proto_max: int | None = None

    def encode(self) -> dict:
        d: dict[str, Any] = {}
        if self.flags:
            d["flags"] = self.flags
        if self.reg_proto_min is not None:
            d["reg_proto_min"] = self.reg_proto_min
            d["reg_proto_max"] = (self.reg_proto_max if self.reg_proto_max is not None
                                  else self.reg_proto_min)
        return d

    @classmethod
    def decode(cls, d: dict) -> "Masq":
        return cls(d.get("flags", 0), d.get("reg_proto_min"), d.get("reg_proto_max"))


@dataclass(frozen=True)
class Redir(Expr):
    """Redirect to the local machine (port from ``reg_proto_min``)."""

    kind: ClassVar[str] = "redir"
    reg_proto_min: int | None = None
    reg_proto_max: int | None = None
    flags: int | None = None

    def __post_init__(self):
        if self.reg_proto_min is not None and self.reg_proto_max is None:
            object.__setattr__(self, "reg_proto_max", self.reg_proto_min)
        object.__setattr__(self, "flags", _nat_flags(self.flags, None, self.reg_proto_min))

    def encode(self) -> dict:
        d: dict[str, Any] = {}
        if self.reg_proto_min is not None:
            d["reg_proto_min"] = self.reg_proto_min
            d["reg_proto_max"] = self.reg_proto_max
        if self.flags:
            d["flags"] = self.flags
        return d

    @classmethod
    def decode(cls, d: dict) -> "Redir":
        return cls(d.get("reg_proto_min"), d.get("reg_proto_max"), d.get("flags", 0))


@dataclass(frozen=True)
class Ct(Expr):
    """Load conntrack ``key`` (state, status, mark, ...) into ``dreg``, or set it from ``sreg``."""

    kind: ClassVar[str] = "ct"
    key: str
    dreg: int | None = REG_1
    sreg: int | None = None
    direction: int | None = None

    def encode(self) -> dict:
        key = _lookup(CT_KEYS, self.key, "ct key")
        d: dict[str, Any]
        if self.sreg is not None:
            d = {"sreg": self.sreg, "key": key}
        else:
            d = {"dreg": self.dreg, "key": key}
        if self.direction is not None:
            d["direction"] = self.direction
        return d

    @classmethod
    def decode(cls, d: dict) -> "Ct":
        key = _name(CT_KEYS, d["key"])
        if "sreg" in d:
            return cls(key, None, d["sreg"], d.get("direction"))
        return cls(key, d.get("dreg"), None, d.get("direction"))


@dataclass(frozen=True)
class Counter(Expr):
    """Count packets and bytes (the counts are state, not identity)."""

    kind: ClassVar[str] = "counter"
    packets: int = field(default=0, compare=False)
    bytes: int = field(default=0, compare=False)

    def encode(self) -> dict:
        return {"bytes": self.bytes, "packets": self.packets}

    @classmethod
    def decode(cls, d: dict) -> "Counter":
        return cls(d.get("packets", 0), d.get("bytes", 0))


@dataclass(frozen=True)
class Fib(Expr):
    """FIB lookup: ``result`` (oif, oifname, type) for ``flags`` (saddr, daddr, iif, ...)."""

    kind: ClassVar[str] = "fib"
    result: str
    flags: tuple[str, ...]
    dreg: int = REG_1

    def encode(self) -> dict:
        flags = 0
        for f in self.flags:
            flags |= _lookup(FIB_FLAGS, f, "fib flag")
        return {"dreg": self.dreg, "result": _lookup(FIB_RESULTS, self.result, "fib result"),
                "flags": flags}

    @classmethod
    def decode(cls, d: dict) -> "Fib":
        flags = tuple(k for k, v in FIB_FLAGS.items() if d.get("flags", 0) & v)
        return cls(_name(FIB_RESULTS, d["result"]), flags, d["dreg"])


@dataclass(frozen=True)
class Reject(Expr):
    """Reject with an ICMP error (``type`` icmp/icmpx and ``code``) or a TCP reset."""

    kind: ClassVar[str] = "reject"
    type: str = "icmp"
    code: int | None = None

    def encode(self) -> dict:
        d: dict[str, Any] = {"type": _lookup(REJECT_TYPES, self.type, "reject type")}
        if self.code is not None:
            d["icmp_code"] = self.code
        return d

    @classmethod
    def decode(cls, d: dict) -> "Reject":
        return cls(_name(REJECT_TYPES, d["type"]), d.get("icmp_code"))


@dataclass(frozen=True)
class Range(Expr):
    """``sreg`` within (eq) or outside (neq) [from_data, to_data]."""

    kind: ClassVar[str] = "range"
    op: str
    from_data: bytes
    to_data: bytes
    sreg: int = REG_1

    def encode(self) -> dict:
        return {"sreg": self.sreg, "op": _lookup(RANGE_OPS, self.op, "range op"),
                "from_data": data_encode(self.from_data), "to_data": data_encode(self.to_data)}

    @classmethod
    def decode(cls, d: dict) -> "Range":
        return cls(_name(RANGE_OPS, d["op"]), data_decode(d["from_data"]),
                   data_decode(d["to_data"]), d["sreg"])


@dataclass(frozen=True)
class RawExpr(Expr):
    """An expression the registry does not know: its name and raw data."""

    name: str
    data: Any = b""

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.name

    def encode(self):
        return self.data


# The registry: expression name -> class.  Order is documentation only.
EXPRESSIONS: dict[str, type] = {cls.kind: cls for cls in (
    Payload, Meta, Cmp, Bitwise, Immediate, Lookup, Nat, Masq, Redir, Ct, Counter, Fib,
    Reject, Range,
)}


def expr_encode(e: Expr) -> dict:
    """One NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS as an attribute dict."""
    if not isinstance(e, Expr):
        raise TypeError(f"a rule expression is an Expr, not {type(e).__name__}")
    return {"name": e.kind, "data": e.encode()}


def expr_decode(d: dict) -> Expr:
    name = d.get("name", "")
    cls = EXPRESSIONS.get(name)
    data = d.get("data", {})
    if cls is None or not isinstance(data, dict):
        return RawExpr(name, data)
    return cls.decode(data)  # type: ignore[attr-defined]
