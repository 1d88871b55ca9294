"""nf_tables over raw nfnetlink: tables, chains, rules, sets, maps, elements.

Objects are frozen dataclasses (``Table``, ``Chain``, ``Rule``, ``Set``,
``Element``; expressions in ``nft_expr``).  The same objects are what the
builders take and what the dumps return: a dumped object compares equal to
the one that created it (fields the kernel assigns, such as handles, are
carried but left out of comparisons).

Changes go through ``NftSocket.transaction()``, a context manager whose verbs
queue messages; on exit they are sent as one nf_tables batch that the kernel
applies all or nothing.  Nothing is sent if the block raises.  Give it the
ruleset's generation id (``NftSocket.generation()``, read with the state
the change was computed from) and the kernel refuses the batch if anyone
changed the ruleset since: ``GenerationChanged``, which is retryable.

Set and map keys are tuples, one value per field of the key type:
``ipv4_addr``/``ipv6_addr`` (str), ``inet_proto`` (int, e.g. 6 for tcp),
``inet_service`` (int port), ``mark`` (int), ``ifname`` (str), ``ether_addr``
(str); a map's value is a tuple of its data types, or a ``Verdict``.  Key and
data type numbers are nft's own (nftables ``include/datatype.h``), so the
real ``nft`` prints these sets with their types.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable

from .. import _netlink as nl
from .. import netns as _netns
from .._netlink import GenerationChanged, nft_commit, nft_setelem_messages, nft_values_encode
from .nft_expr import Verdict, VERDICTS, _signed32, expr_decode, expr_encode

__all__ = ["NftSocket", "Transaction", "Table", "Chain", "Rule", "Set", "Element",
           "GenerationChanged", "FAMILIES", "DATATYPES"]

_NF = nl.NETLINK_NETFILTER
FAMILIES = {"ip": nl.NFPROTO_IPV4, "ip6": nl.NFPROTO_IPV6, "inet": nl.NFPROTO_INET,
            "arp": nl.NFPROTO_ARP, "bridge": nl.NFPROTO_BRIDGE, "netdev": nl.NFPROTO_NETDEV}
_FAMILY_NAMES = {v: k for k, v in FAMILIES.items()}
HOOKS = {"prerouting": nl.NF_INET_PRE_ROUTING, "input": nl.NF_INET_LOCAL_IN,
         "forward": nl.NF_INET_FORWARD, "output": nl.NF_INET_LOCAL_OUT,
         "postrouting": nl.NF_INET_POST_ROUTING, "ingress": nl.NF_INET_INGRESS}
_HOOK_NAMES = {v: k for k, v in HOOKS.items()}
POLICIES = {"accept": nl.NF_ACCEPT, "drop": nl.NF_DROP}
_POLICY_NAMES = {v: k for k, v in POLICIES.items()}

_CREATE = nl.NLM_F_CREATE
_EXCL = nl.NLM_F_EXCL


def _family(name: str) -> int:
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown nf_tables family {name!r}; one of {', '.join(FAMILIES)}") \
            from None


def _msg(msg: int, family: str | int, attrs: dict, flags: int = 0) -> bytes:
    fam = family if isinstance(family, int) else _family(family)
    return nl.encode_message(_NF, nl.nft_type(msg), flags, {"family": fam}, attrs)


# ------------------------------------------------------------------ datatypes

_HOST, _BIG = 1, 2      # nft's enum byteorder (BYTEORDER_HOST_ENDIAN, _BIG_ENDIAN)


class _Datatype:
    """One nft datatype: its id (nftables include/datatype.h), size, byte
    order and value codec."""

    __slots__ = ("name", "id", "size", "byteorder", "encode", "decode")

    def __init__(self, name, type_id, size, byteorder, encode, decode):
        self.name, self.id, self.size, self.byteorder, self.encode, self.decode = (
            name, type_id, size, byteorder, encode, decode)


# Value encoders are on the bulk path (10,000 elements per transaction), so
# they use inet_pton and pre-compiled structs rather than ipaddress objects.
_pton = socket.inet_pton
_BE16 = struct.Struct("!H").pack
_HOST32 = struct.Struct("=I").pack


def _ip4_enc(v) -> bytes:
    if type(v) is str:
        try:
            return _pton(socket.AF_INET, v)
        except OSError:
            raise ValueError(f"invalid IPv4 address {v!r}") from None
    return v if isinstance(v, bytes) else ipaddress.IPv4Address(v).packed


def _ip6_enc(v) -> bytes:
    if type(v) is str:
        try:
            return _pton(socket.AF_INET6, v)
        except OSError:
            raise ValueError(f"invalid IPv6 address {v!r}") from None
    return v if isinstance(v, bytes) else ipaddress.IPv6Address(v).packed


def _ifname_enc(v: str) -> bytes:
    raw = v.encode()
    if len(raw) > 15:
        raise ValueError(f"interface name {v!r} longer than 15 bytes")
    return raw.ljust(16, b"\0")


def _ether_enc(v: str) -> bytes:
    return bytes(int(x, 16) for x in v.split(":"))


_PROTOS = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58}
_PROTO_BYTES: dict[object, bytes] = {**{i: bytes((i,)) for i in range(256)},
                **{k: bytes((v,)) for k, v in _PROTOS.items()}}


def _proto_enc(v) -> bytes:
    try:
        return _PROTO_BYTES[v]
    except (KeyError, TypeError):
        raise ValueError(f"invalid inet_proto {v!r} (0-255 or a name)") from None

# nft's datatype numbers (nftables include/datatype.h, enum datatypes); they
# live only in NFTA_SET_KEY_TYPE / DATA_TYPE, which the kernel stores for
# userspace, and are how `nft list` knows how to print a set's elements.
DATATYPES = {d.name: d for d in (
    _Datatype("ipv4_addr", 7, 4, _BIG, _ip4_enc, lambda b: str(ipaddress.IPv4Address(b))),
    _Datatype("ipv6_addr", 8, 16, _BIG, _ip6_enc, lambda b: str(ipaddress.IPv6Address(b))),
    _Datatype("ether_addr", 9, 6, _BIG, _ether_enc, lambda b: ":".join(f"{x:02x}" for x in b)),
    _Datatype("inet_proto", 12, 1, _BIG, _proto_enc, lambda b: b[0]),
    _Datatype("inet_service", 13, 2, _BIG, _BE16,
              lambda b: struct.unpack("!H", b)[0]),
    _Datatype("mark", 19, 4, _HOST, _HOST32, lambda b: struct.unpack("=I", b)[0]),
    _Datatype("ifname", 41, 16, _HOST, _ifname_enc, lambda b: b.split(b"\0", 1)[0].decode()),
)}
_DATATYPE_IDS = {d.id: d for d in DATATYPES.values()}
_TYPE_BITS = 6                     # nft packs concatenated type ids 6 bits each
_VERDICT_TYPE = nl.NFT_DATA_VERDICT & 0xFFFFFFFF   # a C enum: Cython sees it signed


def _types(value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = tuple(p.strip() for p in value.split("."))
    value = tuple(value)
    for t in value:
        if t not in DATATYPES:
            raise ValueError(f"unknown set datatype {t!r}; one of {', '.join(DATATYPES)}")
    return value


def _type_id(types: tuple[str, ...]) -> int:
    tid = 0
    for t in types:
        tid = (tid << _TYPE_BITS) | DATATYPES[t].id
    return tid


def _type_names(tid: int) -> tuple[str, ...]:
    out: list[str] = []
    while tid:
        d = _DATATYPE_IDS.get(tid & ((1 << _TYPE_BITS) - 1))
        if d is None:
            raise ValueError(f"set datatype {tid} is not one libnet knows")
        out.insert(0, d.name)
        tid >>= _TYPE_BITS
    return tuple(out)


def _pad4(n: int) -> int:
    return (n + 3) & ~3


_ENCODERS: dict = {}


def _compile(types: tuple[str, ...]):
    """A function: value tuple -> key or data bytes, each field of a
    concatenation padded to its 4-byte register."""
    fields = []
    for t in types:
        d = DATATYPES[t]
        fields.append((d.encode, b"\0" * (_pad4(d.size) - d.size) if len(types) > 1 else b""))
    if len(fields) == 1:
        e = fields[0][0]
        return lambda v: e(v[0])
    if len(fields) == 2:
        (e0, p0), (e1, p1) = fields
        return lambda v: e0(v[0]) + p0 + e1(v[1]) + p1
    return lambda v: b"".join([e(x) + p for (e, p), x in zip(fields, v)])


# Field codes of the core's nft_values_encode (src/core/nft.pxi, NFT_F_*).
_FAST_CODES = {"ipv4_addr": 1, "ipv6_addr": 2, "inet_proto": 3, "inet_service": 4,
               "mark": 5, "ifname": 6}


def _fast_codes(types) -> tuple | None:
    if types is None:
        return None
    try:
        return tuple(_FAST_CODES[t] for t in types)
    except KeyError:
        return None


def _value_encode(types: tuple[str, ...], value) -> bytes:
    """A key or data value: each field padded to a 4-byte register (concatenations)."""
    if type(value) is not tuple:
        value = (value,)
    if len(value) != len(types):
        raise ValueError(f"value {value!r} does not match type {' . '.join(types)}")
    enc = _ENCODERS.get(types)
    if enc is None:
        enc = _ENCODERS[types] = _compile(types)
    try:
        return enc(value)
    except struct.error as e:
        raise ValueError(f"value {value!r} does not fit {' . '.join(types)}: {e}") from None


def _value_decode(types: tuple[str, ...], raw: bytes) -> tuple:
    if len(types) == 1:
        return (DATATYPES[types[0]].decode(raw),)
    out, off = [], 0
    for t in types:
        size = DATATYPES[t].size
        out.append(DATATYPES[t].decode(raw[off:off + size]))
        off += _pad4(size)
    return tuple(out)


def _byteorder(types: tuple[str, ...]) -> int:
    return DATATYPES[types[0]].byteorder if len(types) == 1 else 0


def set_userdata(s: "Set") -> bytes:
    """NFTA_SET_USERDATA as nft 1.0.6 writes it for a set declared by type.

    libnftnl udata TLVs (u8 type, u8 length, value): NFTNL_UDATA_SET_KEYBYTEORDER
    (0), and for maps NFTNL_UDATA_SET_DATABYTEORDER (1) and
    NFTNL_UDATA_SET_DATA_INTERVAL (6), each a host-order u32.  The kernel
    ignores it; `nft list` needs the byte order to print host-order keys
    (mark, ifname) right.
    """
    out = b"\x00\x04" + struct.pack("=I", _byteorder(s.key))
    if s.is_map:
        order = 0 if s.is_vmap else _byteorder(s.data)
        out += b"\x01\x04" + struct.pack("=I", order)
        out += b"\x06\x04" + struct.pack("=I", 0)
    return out


def _key_len(types: tuple[str, ...]) -> int:
    if len(types) == 1:
        return DATATYPES[types[0]].size
    return sum(_pad4(DATATYPES[t].size) for t in types)


# ------------------------------------------------------------------ objects

@dataclass(frozen=True)
class Table:
    """A table of ``family`` (ip, ip6, inet, arp, bridge, netdev).

    ``owner``: the table belongs to the creating socket and goes away when it
    closes (NFT_TABLE_F_OWNER, Linux 5.12); ``persist``: with ``owner``, it
    stays when the owner closes (NFT_TABLE_F_PERSIST, Linux 6.9).
    """

    name: str
    family: str = "inet"
    dormant: bool = False
    owner: bool = False
    persist: bool = False
    handle: int | None = field(default=None, compare=False)

    @property
    def flags(self) -> int:
        return ((nl.NFT_TABLE_F_DORMANT if self.dormant else 0)
                | (nl.NFT_TABLE_F_OWNER if self.owner else 0)
                | (nl.NFT_TABLE_F_PERSIST if self.persist else 0))

    def attrs(self) -> dict:
        return {"name": self.name, "flags": self.flags}

    @classmethod
    def from_message(cls, m) -> "Table":
        a = m.attrs
        f = a.get("flags", 0)
        return cls(a["name"], _FAMILY_NAMES.get(m.header["family"], m.header["family"]),
                   bool(f & nl.NFT_TABLE_F_DORMANT), bool(f & nl.NFT_TABLE_F_OWNER),
                   bool(f & nl.NFT_TABLE_F_PERSIST), a.get("handle"))


@dataclass(frozen=True)
class Chain:
    """A chain; a base chain when ``hook`` is given (with ``type`` filter, nat
    or route, ``priority`` and ``policy``), otherwise a regular chain."""

    table: str
    name: str
    family: str = "inet"
    type: str | None = None
    hook: str | None = None
    priority: int = 0
    policy: str | None = None
    device: str | None = None
    handle: int | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.hook is not None:
            if self.type is None:
                object.__setattr__(self, "type", "filter")
            if self.policy is None:
                object.__setattr__(self, "policy", "accept")
            if self.hook not in HOOKS:
                raise ValueError(f"unknown hook {self.hook!r}; one of {', '.join(HOOKS)}")
            if self.policy not in POLICIES:
                raise ValueError(f"chain policy is accept or drop, not {self.policy!r}")

    def attrs(self) -> dict:
        a: dict[str, Any] = {"table": self.table, "name": self.name}
        if self.hook is not None:
            hook: dict[str, Any] = {"hooknum": HOOKS[self.hook],
                                    "priority": self.priority & 0xFFFFFFFF}
            if self.device is not None:
                hook["dev"] = self.device
            a["hook"] = hook
            a["policy"] = POLICIES[self.policy or "accept"]
            a["type"] = self.type
        return a

    @classmethod
    def from_message(cls, m) -> "Chain":
        a = m.attrs
        fam = _FAMILY_NAMES.get(m.header["family"], m.header["family"])
        hook = a.get("hook")
        if not hook:
            return cls(a["table"], a["name"], fam, handle=a.get("handle"))
        return cls(a["table"], a["name"], fam, a.get("type"),
                   _HOOK_NAMES.get(hook["hooknum"], hook["hooknum"]),
                   _signed32(hook.get("priority", 0)),
                   _POLICY_NAMES.get(a.get("policy", nl.NF_ACCEPT)), hook.get("dev"),
                   a.get("handle"))


def _udata_comment(comment: str) -> bytes:
    # libnftnl udata TLV: u8 type (NFTNL_UDATA_RULE_COMMENT = 0), u8 length, value.
    raw = comment.encode() + b"\0"
    if len(raw) > 255:
        raise ValueError("a rule comment is at most 254 bytes")
    return bytes([0, len(raw)]) + raw


def _udata_parse(raw: bytes) -> dict[int, bytes]:
    out, off = {}, 0
    while off + 2 <= len(raw):
        t, n = raw[off], raw[off + 1]
        out[t] = raw[off + 2:off + 2 + n]
        off += 2 + n
    return out


@dataclass(frozen=True)
class Rule:
    """A rule: ``exprs`` (nft_expr objects) in ``table``/``chain``.

    ``handle`` is the kernel's; ``position`` (a handle) places a new rule
    after that rule (dumps report the previous rule's handle there).
    """

    table: str
    chain: str
    exprs: tuple
    family: str = "inet"
    comment: str | None = None
    handle: int | None = field(default=None, compare=False)
    position: int | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "exprs", tuple(self.exprs))

    def attrs(self, with_handle: bool = False) -> dict:
        a: dict[str, Any] = {"table": self.table, "chain": self.chain}
        if with_handle and self.handle is not None:
            a["handle"] = self.handle
        if self.position is not None:
            a["position"] = self.position
        a["expressions"] = {"elem": [expr_encode(e) for e in self.exprs]}
        if self.comment is not None:
            a["userdata"] = _udata_comment(self.comment)
        return a

    @classmethod
    def from_message(cls, m) -> "Rule":
        a = m.attrs
        exprs = tuple(expr_decode(e) for e in a.get("expressions", {}).get("elem", []))
        comment = None
        if "userdata" in a:
            c = _udata_parse(a["userdata"]).get(0)
            comment = c.rstrip(b"\0").decode() if c is not None else None
        return cls(a["table"], a["chain"], exprs,
                   _FAMILY_NAMES.get(m.header["family"], m.header["family"]), comment,
                   a.get("handle"), a.get("position"))


@dataclass(frozen=True)
class Set:
    """A set, or a map when ``data`` is given (data types, or "verdict").

    ``key`` and ``data`` are datatype names, several for a concatenation
    (``("inet_proto", "inet_service")`` or ``"inet_proto . inet_service"``).
    ``interval`` allows ranges; ``timeout`` (ms) is the default element
    lifetime and ``timeouts`` allows per-element ones.
    """

    table: str
    name: str
    key: Any
    data: Any = None
    family: str = "inet"
    interval: bool = False
    timeout: int | None = None
    timeouts: bool = False
    constant: bool = False
    size: int | None = None
    handle: int | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "key", _types(self.key))
        if self.data is not None:
            if self.data == "verdict" or self.data == ("verdict",):
                object.__setattr__(self, "data", ("verdict",))
            else:
                object.__setattr__(self, "data", _types(self.data))
        if self.timeout is not None:
            object.__setattr__(self, "timeouts", True)

    @property
    def is_map(self) -> bool:
        return self.data is not None

    @property
    def is_vmap(self) -> bool:
        return self.data == ("verdict",)

    @property
    def concat(self) -> bool:
        return len(self.key) > 1

    @property
    def flags(self) -> int:
        f = 0
        if self.constant:
            f |= nl.NFT_SET_CONSTANT
        if self.interval:
            f |= nl.NFT_SET_INTERVAL
        if self.is_map:
            f |= nl.NFT_SET_MAP
        if self.timeouts:
            f |= nl.NFT_SET_TIMEOUT
        if self.interval and self.concat:
            # Ranges of concatenations need the pipapo backend, chosen by
            # NFT_SET_CONCAT plus the field lengths in NFTA_SET_DESC_CONCAT.
            f |= nl.NFT_SET_CONCAT
        return f

    def attrs(self, set_id: int) -> dict:
        a: dict[str, Any] = {"table": self.table, "name": self.name, "flags": self.flags,
                             "key_type": _type_id(self.key), "key_len": _key_len(self.key)}
        if self.is_vmap:
            a["data_type"] = _VERDICT_TYPE
            a["data_len"] = 16
        elif self.is_map:
            a["data_type"] = _type_id(self.data)
            a["data_len"] = _key_len(self.data)
        desc: dict[str, Any] = {}
        if self.size is not None:
            desc["size"] = self.size
        if self.interval and self.concat:
            desc["concat"] = {"elem": [{"len": DATATYPES[t].size} for t in self.key]}
        if desc:
            a["desc"] = desc
        a["id"] = set_id
        if self.timeout is not None:
            a["timeout"] = self.timeout
        a["userdata"] = set_userdata(self)
        return a

    @classmethod
    def from_message(cls, m) -> "Set":
        a = m.attrs
        f = a.get("flags", 0)
        data = None
        if f & nl.NFT_SET_MAP:
            dt = a.get("data_type", 0)
            data = ("verdict",) if dt == _VERDICT_TYPE else _type_names(dt)
        return cls(a["table"], a["name"], _type_names(a["key_type"]), data,
                   _FAMILY_NAMES.get(m.header["family"], m.header["family"]),
                   bool(f & nl.NFT_SET_INTERVAL), a.get("timeout"),
                   bool(f & nl.NFT_SET_TIMEOUT), bool(f & nl.NFT_SET_CONSTANT),
                   a.get("desc", {}).get("size"), a.get("handle"))

    # -- elements

    def element_tuples(self, elements: Iterable["Element"], for_delete: bool = False) -> list:
        """Elements as the core's (key, key_end, data, flags, timeout) tuples."""
        out: list[tuple[Any, ...]] = []
        key = self.key
        if not self.interval and not self.is_vmap:
            fast = _fast_codes(key), (_fast_codes(self.data) if self.is_map else ())
            if None not in fast:
                # The bulk path: values encoded in C (nft_values_encode).
                return nft_values_encode(fast[0], fast[1] if self.is_map and not for_delete
                                         else None, elements)
            enc = _value_encode
            data_types = self.data if self.is_map and not for_delete else None
            append = out.append
            for e in elements:
                if type(e) is not Element:
                    raise TypeError(f"expected an Element, not {type(e).__name__}")
                if e.key_end is not None:
                    raise ValueError(f"set {self.name} has no interval flag")
                if data_types is not None:
                    if e.data is None:
                        raise ValueError(f"map {self.name}: element {e.key!r} needs a value")
                    append((enc(key, e.key), None, enc(data_types, e.data), 0, e.timeout or 0))
                else:
                    append((enc(key, e.key), None, None, 0, e.timeout or 0))
            return out
        for e in elements:
            if not isinstance(e, Element):
                raise TypeError(f"expected an Element, not {type(e).__name__}")
            k = _value_encode(key, e.key)
            data: Any = None
            if self.is_map and not for_delete:
                if e.data is None:
                    raise ValueError(f"map {self.name}: element {e.key!r} needs a value")
                if self.is_vmap:
                    if not isinstance(e.data, Verdict):
                        raise TypeError(f"map {self.name}: a value is a Verdict")
                    data = (VERDICTS[e.data.kind], e.data.chain)
                else:
                    data = _value_encode(self.data, e.data)
            timeout = e.timeout or 0
            if self.interval and self.concat:
                end = _value_encode(key, e.key_end) if e.key_end is not None else k
                out.append((k, end, data, 0, timeout))
            elif self.interval:
                # rbtree intervals: a start element, and one past the end
                # flagged NFT_SET_ELEM_INTERVAL_END (as nft sends them).
                end = _value_encode(key, e.key_end) if e.key_end is not None else k
                out.append((k, None, data, 0, timeout))
                nxt = int.from_bytes(end, "big") + 1
                if nxt < 1 << (8 * len(end)):
                    out.append((nxt.to_bytes(len(end), "big"), None, None,
                                nl.NFT_SET_ELEM_INTERVAL_END, 0))
            else:
                if e.key_end is not None:
                    raise ValueError(f"set {self.name} has no interval flag")
                out.append((k, None, data, 0, timeout))
        return out

    def elements_from_messages(self, msgs) -> list["Element"]:
        raw = []
        for m in msgs:
            raw.extend(m.get("elements", {}).get("elem", []))
        out = []
        if self.interval and not self.concat:
            # Starts and (exclusive) ends come in any order: sort and pair.
            points = sorted(raw, key=lambda d: d["key"]["value"])
            start = None
            for d in points:
                if d.get("flags", 0) & nl.NFT_SET_ELEM_INTERVAL_END:
                    if start is not None:
                        end = (int.from_bytes(d["key"]["value"], "big") - 1).to_bytes(
                            len(d["key"]["value"]), "big")
                        out.append(self._element(start, end))
                        start = None
                else:
                    if start is not None:
                        out.append(self._element(start, None))
                    start = d
            if start is not None:
                last = b"\xff" * len(start["key"]["value"])
                out.append(self._element(start, last))
            return out
        for d in raw:
            end = d.get("key_end", {}).get("value")
            out.append(self._element(d, end))
        return out

    def _element(self, d: dict, end: bytes | None) -> "Element":
        k = d["key"]["value"]
        key = _value_decode(self.key, k)
        key_end = None if end is None or end == k else _value_decode(self.key, end)
        data: Any = None
        if "data" in d:
            dd = d["data"]
            if "verdict" in dd:
                data = Verdict.decode(dd["verdict"])
            else:
                data = _value_decode(self.data, dd["value"])
        return Element(key, data, key_end, d.get("timeout"), d.get("expiration"))


@dataclass(frozen=True)
class Element:
    """A set element: ``key`` (a tuple, one value per key field; a single
    value is wrapped), for a map its ``data``, for an interval set an
    inclusive ``key_end``, and a ``timeout`` in ms."""

    key: Any
    data: Any = None
    key_end: Any = None
    timeout: int | None = None
    expiration: int | None = field(default=None, compare=False)

    def __post_init__(self):
        if not isinstance(self.key, tuple):
            object.__setattr__(self, "key", (self.key,))
        if self.key_end is not None and not isinstance(self.key_end, tuple):
            object.__setattr__(self, "key_end", (self.key_end,))
        if self.data is not None and not isinstance(self.data, (tuple, Verdict)):
            object.__setattr__(self, "data", (self.data,))


# ------------------------------------------------------------------ transactions

def _ref(obj) -> str:
    return f"{obj.family} {obj.table}"


def _handle_or_name(obj: Any) -> dict[str, Any]:
    """A chain or set to delete: by its handle when a dump gave one, else by name."""
    if obj.handle is not None:
        return {"table": obj.table, "handle": obj.handle}
    return {"table": obj.table, "name": obj.name}


class Transaction:
    """Queued nf_tables changes, sent as one atomic batch by ``commit()``
    (or when the ``with`` block exits without an exception)."""

    def __init__(self, sock: "NftSocket", genid: int | None = None):
        self._sock = sock
        self.genid = genid
        self.msgs: list[bytes] = []
        self.ops: list[str] = []
        self._set_id = 0
        self.committed = False

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()

    def __len__(self) -> int:
        return len(self.msgs)

    def _add(self, msg: bytes, op: str) -> "Transaction":
        self.msgs.append(msg)
        self.ops.append(op)
        return self

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("transaction already committed")
        self.committed = True
        nft_commit(self._sock.socket, self.msgs, self.ops, self.genid)

    # -- tables
    def add_table(self, t: Table, exclusive: bool = False) -> "Transaction":
        return self._add(_msg(nl.NFT_MSG_NEWTABLE, t.family, t.attrs(),
                              _CREATE | (_EXCL if exclusive else 0)),
                         f"add table {t.family} {t.name}")

    def delete_table(self, t: Table) -> "Transaction":
        a = {"handle": t.handle} if t.handle is not None else {"name": t.name}
        return self._add(_msg(nl.NFT_MSG_DELTABLE, t.family, a),
                         f"delete table {t.family} {t.name}")

    def flush_table(self, t: Table) -> "Transaction":
        """Delete every rule of every chain of ``t`` (nft flush table)."""
        return self._add(_msg(nl.NFT_MSG_DELRULE, t.family, {"table": t.name}),
                         f"flush table {t.family} {t.name}")

    # -- chains
    def add_chain(self, c: Chain, exclusive: bool = False) -> "Transaction":
        return self._add(_msg(nl.NFT_MSG_NEWCHAIN, c.family, c.attrs(),
                              _CREATE | (_EXCL if exclusive else 0)),
                         f"add chain {_ref(c)} {c.name}")

    def delete_chain(self, c: Chain) -> "Transaction":
        return self._add(_msg(nl.NFT_MSG_DELCHAIN, c.family, _handle_or_name(c)),
                         f"delete chain {_ref(c)} {c.name}")

    # -- rules
    def add_rule(self, r: Rule) -> "Transaction":
        """Append ``r`` to its chain (or place it after ``r.position``)."""
        return self._add(_msg(nl.NFT_MSG_NEWRULE, r.family, r.attrs(),
                              _CREATE | nl.NLM_F_APPEND),
                         f"add rule to chain {_ref(r)} {r.chain}")

    def insert_rule(self, r: Rule) -> "Transaction":
        """Prepend ``r`` to its chain (or place it before ``r.position``)."""
        return self._add(_msg(nl.NFT_MSG_NEWRULE, r.family, r.attrs(), _CREATE),
                         f"insert rule into chain {_ref(r)} {r.chain}")

    def replace_rule(self, r: Rule) -> "Transaction":
        if r.handle is None:
            raise ValueError("replace_rule needs the rule's handle")
        a = r.attrs(with_handle=True)
        a.pop("position", None)
        return self._add(_msg(nl.NFT_MSG_NEWRULE, r.family, a, nl.NLM_F_REPLACE),
                         f"replace rule {r.handle} in chain {_ref(r)} {r.chain}")

    def delete_rule(self, r: Rule) -> "Transaction":
        """Delete one rule, by its handle (from a dump)."""
        if r.handle is None:
            raise ValueError("delete_rule needs the rule's handle (from a dump)")
        return self._add(_msg(nl.NFT_MSG_DELRULE, r.family,
                              {"table": r.table, "chain": r.chain, "handle": r.handle}),
                         f"delete rule {r.handle} from chain {_ref(r)} {r.chain}")

    def flush_chain(self, c: Chain) -> "Transaction":
        return self._add(_msg(nl.NFT_MSG_DELRULE, c.family,
                              {"table": c.table, "chain": c.name}),
                         f"flush chain {_ref(c)} {c.name}")

    # -- sets
    def add_set(self, s: Set, exclusive: bool = False) -> "Transaction":
        self._set_id += 1
        kind = "map" if s.is_map else "set"
        return self._add(_msg(nl.NFT_MSG_NEWSET, s.family, s.attrs(self._set_id),
                              _CREATE | (_EXCL if exclusive else 0)),
                         f"add {kind} {_ref(s)} {s.name}")

    def delete_set(self, s: Set) -> "Transaction":
        return self._add(_msg(nl.NFT_MSG_DELSET, s.family, _handle_or_name(s)),
                         f"delete {'map' if s.is_map else 'set'} {_ref(s)} {s.name}")

    def flush_set(self, s: Set) -> "Transaction":
        """Remove every element of ``s``."""
        return self._add(_msg(nl.NFT_MSG_DELSETELEM, s.family,
                              {"table": s.table, "set": s.name}),
                         f"flush {'map' if s.is_map else 'set'} {_ref(s)} {s.name}")

    def _elements(self, msg: int, s: Set, elements, flags: int, verb: str) -> "Transaction":
        elements = list(elements)
        tuples = s.element_tuples(elements, for_delete=(msg == nl.NFT_MSG_DELSETELEM))
        if not tuples:
            return self
        msgs = nft_setelem_messages(msg, _family(s.family), s.table, s.name, tuples, flags)
        op = (f"{verb} {len(elements)} element{'s' if len(elements) != 1 else ''} "
              f"{'to' if verb == 'add' else 'from'} {'map' if s.is_map else 'set'} "
              f"{_ref(s)} {s.name}")
        for m in msgs:
            self._add(m, op)
        return self

    def add_elements(self, s: Set, elements: Iterable[Element],
                     exclusive: bool = False) -> "Transaction":
        """Add elements to set or map ``s``.  With ``exclusive``, a key that
        is already there is an error (EEXIST) instead of being kept."""
        return self._elements(nl.NFT_MSG_NEWSETELEM, s, elements,
                              _CREATE | (_EXCL if exclusive else 0), "add")

    def delete_elements(self, s: Set, elements: Iterable[Element]) -> "Transaction":
        return self._elements(nl.NFT_MSG_DELSETELEM, s, elements, 0, "delete")


# ------------------------------------------------------------------ socket

class NftSocket:
    """An nfnetlink socket for nf_tables in a network namespace.

    ``netns`` is a NetNS, a namespace name (under the run directory), a path,
    a file descriptor, or None for the caller's namespace.
    """

    def __init__(self, netns: Any = None):
        if netns is None:
            self._sock = nl.NetlinkSocket(_NF)
        else:
            with _netns.open_netns(netns) as ns:
                self._sock = nl.NetlinkSocket(_NF, netns=ns.fileno())

    @property
    def socket(self) -> nl.NetlinkSocket:
        return self._sock

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "NftSocket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self, genid: int | None = None) -> Transaction:
        """A batch of changes applied atomically when the ``with`` block ends.

        With ``genid`` (from ``generation()``), the kernel refuses the batch
        with GenerationChanged if the ruleset changed since that generation.
        """
        return Transaction(self, genid)

    def generation(self) -> int:
        """The ruleset's generation id (bumped by every committed change)."""
        replies = self._sock.request(_msg(nl.NFT_MSG_GETGEN, nl.AF_UNSPEC, {}), "get generation")
        return replies[0].get("id")

    # -- dumps
    def _dump(self, msg: int, family: str | None, attrs: dict, op: str) -> list:
        fam = nl.NFPROTO_UNSPEC if family is None else _family(family)
        return self._sock.dump(_msg(msg, fam, attrs), op)

    def tables(self, family: str | None = None) -> list[Table]:
        return [Table.from_message(m)
                for m in self._dump(nl.NFT_MSG_GETTABLE, family, {}, "list tables")]

    def chains(self, table: str | None = None, family: str | None = None) -> list[Chain]:
        out = [Chain.from_message(m)
               for m in self._dump(nl.NFT_MSG_GETCHAIN, family, {}, "list chains")]
        return [c for c in out if table is None or c.table == table]

    def rules(self, table: str | None = None, chain: str | None = None,
              family: str | None = None) -> list[Rule]:
        return [Rule.from_message(m) for m in self.rule_messages(table, chain, family)]

    def rule_messages(self, table: str | None = None, chain: str | None = None,
                      family: str | None = None) -> list:
        """The raw NFT_MSG_NEWRULE messages of a rule dump (for tests, tools)."""
        attrs: dict[str, Any] = {}
        if table is not None and family is not None:
            attrs["table"] = table
            if chain is not None:
                attrs["chain"] = chain
        msgs = self._dump(nl.NFT_MSG_GETRULE, family, attrs, "list rules")
        return [m for m in msgs if (table is None or m.get("table") == table)
                and (chain is None or m.get("chain") == chain)]

    def sets(self, table: str | None = None, family: str | None = None) -> list[Set]:
        # A dump filtered by table needs the family too (else ENOENT): filter here.
        attrs = {"table": table} if table is not None and family is not None else {}
        out = [Set.from_message(m)
               for m in self._dump(nl.NFT_MSG_GETSET, family, attrs, "list sets")]
        return [s for s in out if table is None or s.table == table]

    def get_set(self, family: str, table: str, name: str) -> Set:
        m = self._sock.request(_msg(nl.NFT_MSG_GETSET, family, {"table": table, "name": name}),
                               f"get set {family} {table} {name}")
        return Set.from_message(m[0])

    def element_messages(self, s: Set) -> list:
        return self._dump(nl.NFT_MSG_GETSETELEM, s.family, {"table": s.table, "set": s.name},
                          f"list elements of {_ref(s)} {s.name}")

    def elements(self, s: Set) -> list[Element]:
        """Every element of set or map ``s``."""
        return s.elements_from_messages(self.element_messages(s))

    def get_elements(self, s: Set, keys: Iterable[Element]) -> list[Element]:
        """The elements of ``s`` with the given keys (NotFound if one is absent)."""
        tuples = s.element_tuples(keys, for_delete=True)
        msgs = nft_setelem_messages(nl.NFT_MSG_GETSETELEM, _family(s.family), s.table,
                                    s.name, tuples, 0)
        replies = []
        for m in msgs:
            replies.extend(self._sock.request(m, f"get elements of {_ref(s)} {s.name}"))
        return s.elements_from_messages(replies)

    def ruleset(self, family: str | None = None) -> dict:
        """Everything: {"tables", "chains", "sets", "rules", "elements"} in
        dump order (elements by (family, table, set name))."""
        sets = self.sets(family=family)
        return {"tables": self.tables(family), "chains": self.chains(family=family),
                "sets": sets, "rules": self.rules(family=family),
                "elements": {(s.family, s.table, s.name): self.elements(s) for s in sets}}
