# Attribute sets: declared once, walked by one generic encoder and decoder.
#
# An AttrSet names the attributes of one netlink attribute space in the
# kernel's own vocabulary (Documentation/netlink/specs/rt-link.yaml, with '-'
# written '_'), and gives each a wire type.  Nested sets are AttrSets too; a
# sub-message (IFLA_INFO_DATA, whose layout depends on IFLA_INFO_KIND) is a
# SubMessage that picks an AttrSet by the value of a sibling attribute.
#
# Decoding never fails on what it does not know: an attribute type missing
# from the set is kept as raw bytes under its integer type (flag bits
# included), and a value too short for its declared type is kept as bytes, so
# decode followed by encode gives back the same bytes.

import struct as _struct

from libc.string cimport memcpy, memchr
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_DecodeASCII


cdef enum Wire:
    W_BINARY = 0
    W_U8
    W_U16
    W_U32
    W_U64
    W_S8
    W_S16
    W_S32
    W_S64
    W_BE16
    W_BE32
    W_BE64
    W_STRING
    W_FLAG
    W_NESTED
    W_SUBMSG
    W_IPADDR
    W_LLADDR
    W_STRUCT

cdef enum AttrFlag:
    AF_NESTED_BIT = 1     # encode with NLA_F_NESTED set (as the kernel does)
    AF_MULTI = 2          # may repeat: decodes to a list, a list encodes as repeats

_WIRE_NAMES = {
    "binary": W_BINARY, "u8": W_U8, "u16": W_U16, "u32": W_U32, "u64": W_U64,
    "s8": W_S8, "s16": W_S16, "s32": W_S32, "s64": W_S64,
    "be16": W_BE16, "be32": W_BE32, "be64": W_BE64,
    "string": W_STRING, "flag": W_FLAG, "nest": W_NESTED, "submsg": W_SUBMSG,
    "ipaddr": W_IPADDR, "lladdr": W_LLADDR, "struct": W_STRUCT,
}

# Range of each integer wire type, checked before anything is encoded.
cdef dict _INT_RANGE = {
    W_U8: (0, 0xFF), W_U16: (0, 0xFFFF), W_U32: (0, 0xFFFFFFFF),
    W_U64: (0, 0xFFFFFFFFFFFFFFFF), W_S8: (-0x80, 0x7F), W_S16: (-0x8000, 0x7FFF),
    W_S32: (-0x80000000, 0x7FFFFFFF), W_S64: (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
    W_BE16: (0, 0xFFFF), W_BE32: (0, 0xFFFFFFFF), W_BE64: (0, 0xFFFFFFFFFFFFFFFF),
}


cdef class StructSpec:
    """A fixed C struct (a family header, or a struct-valued attribute).

    ``fmt`` is a ``struct`` format in native order and alignment; ``fields``
    names its members in order (padding is written as ``x`` in the format and
    has no name).  Decoding gives a dict; bytes past the known size are kept
    under ``"_tail"`` so newer kernels' longer structs round-trip.
    """

    def __init__(self, str name, str fmt, tuple fields):
        self.name = name
        self.st = _struct.Struct(fmt)
        self.fields = fields
        self.size = self.st.size

    cdef object decode(self, const uint8_t *p, Py_ssize_t n):
        cdef dict d
        if n < self.size:
            return PyBytes_FromStringAndSize(<const char *>p, n)
        d = dict(zip(self.fields, self.st.unpack(PyBytes_FromStringAndSize(<const char *>p, self.size))))
        if n > self.size:
            d["_tail"] = PyBytes_FromStringAndSize(<const char *>p + self.size, n - self.size)
        return d

    cdef bytes encode(self, object value):
        cdef list args
        cdef bytes tail
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if not isinstance(value, dict):
            raise TypeError(f"{self.name}: expected a dict, got {type(value).__name__}")
        unknown = set(value) - set(self.fields) - {"_tail"}
        if unknown:
            raise ValueError(f"{self.name}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        args = [value.get(f, 0) for f in self.fields]
        try:
            raw = self.st.pack(*args)
        except _struct.error as e:
            raise ValueError(f"{self.name}: {e}") from None
        tail = value.get("_tail", b"")
        return raw + tail

    def __repr__(self):
        return f"StructSpec({self.name!r})"


cdef class SubMessage:
    """A value whose attribute set is chosen by a sibling attribute's value."""

    def __init__(self, str selector, dict choices):
        self.selector = selector
        self.choices = choices


cdef class AttrSet:
    """One attribute space: type number -> (name, wire type, nested spec, flags)."""

    def __init__(self, str name, list attrs, StructSpec header=None):
        cdef int t, maxtype = 0
        self.name = name
        self.header = header
        for a in attrs:
            if a[0] > maxtype:
                maxtype = a[0]
        self.maxtype = maxtype
        self.wire = [W_BINARY] * (maxtype + 1)
        self.flags = [0] * (maxtype + 1)
        self.names = [None] * (maxtype + 1)
        self.subs = [None] * (maxtype + 1)
        self.maxlen = [0] * (maxtype + 1)
        self.by_name = {}
        for a in attrs:
            t = a[0]
            aname = a[1]
            self.names[t] = aname
            self.wire[t] = _WIRE_NAMES[a[2]]
            opts = {}
            for extra in a[3:]:
                if isinstance(extra, dict):
                    opts = extra
                else:
                    self.subs[t] = extra
            if opts.get("nested_flag"):
                self.flags[t] |= AF_NESTED_BIT
            if opts.get("multi"):
                self.flags[t] |= AF_MULTI
            self.maxlen[t] = opts.get("maxlen", 0)
            if self.wire[t] in (W_NESTED, W_SUBMSG, W_STRUCT) and self.subs[t] is None:
                raise ValueError(f"{name}.{aname}: {a[2]} needs a spec")
            self.by_name[aname] = t

    def type_of(self, str name):
        """The attribute type number of ``name`` (KeyError if unknown)."""
        return self.by_name[name]

    def name_of(self, int t):
        return self.names[t] if 0 <= t <= self.maxtype else None

    def __repr__(self):
        return f"AttrSet({self.name!r}, {len(self.by_name)} attributes)"


# ---------------------------------------------------------------- decoding

cdef const char *_HEX = "0123456789abcdef"


cdef str _lladdr_str(const uint8_t *p, Py_ssize_t n):
    """'aa:bb:cc:dd:ee:ff' for any length (what `ip` prints)."""
    cdef char buf[96]
    cdef Py_ssize_t i, j = 0
    if n <= 0:
        return ""
    if n > 32:
        return ":".join(["%02x" % p[i] for i in range(n)])
    for i in range(n):
        buf[j] = _HEX[p[i] >> 4]
        buf[j + 1] = _HEX[p[i] & 15]
        buf[j + 2] = b":"
        j += 3
    return PyUnicode_DecodeASCII(buf, j - 1, NULL)


cdef object ipaddr_decode(const uint8_t *p, Py_ssize_t n):
    cdef char out[64]
    cdef int af
    if n == 4:
        af = AF_INET
    elif n == 16:
        af = AF_INET6
    else:
        return PyBytes_FromStringAndSize(<const char *>p, n)
    if inet_ntop(af, p, out, sizeof(out)) == NULL:
        return PyBytes_FromStringAndSize(<const char *>p, n)
    return out.decode("ascii")


cdef inline str string_decode(const uint8_t *p, Py_ssize_t n):
    cdef const void *nul = memchr(p, 0, n)
    if nul != NULL:
        n = <const uint8_t *>nul - p
    return PyUnicode_DecodeUTF8(<const char *>p, n, "surrogateescape")


cdef object value_decode(AttrSet s, int t, const uint8_t *p, Py_ssize_t n,
                         const uint8_t *nest, Py_ssize_t nest_len, dict siblings):
    """Decode one attribute value of type ``t`` in set ``s``."""
    cdef int w = s.wire[t]
    cdef uint16_t v16
    cdef uint32_t v32
    cdef uint64_t v64
    if w == W_U32 and n >= 4:
        return read_u32(p)
    elif w == W_STRING:
        return string_decode(p, n)
    elif w == W_U8 and n >= 1:
        return p[0]
    elif w == W_U16 and n >= 2:
        return read_u16(p)
    elif w == W_U64 and n >= 8:
        return read_u64(p)
    elif w == W_S8 and n >= 1:
        return <int8_t>p[0]
    elif w == W_S16 and n >= 2:
        return <int16_t>read_u16(p)
    elif w == W_S32 and n >= 4:
        return <int32_t>read_u32(p)
    elif w == W_S64 and n >= 8:
        return <int64_t>read_u64(p)
    elif w == W_BE16 and n >= 2:
        return ntohs(read_u16(p))
    elif w == W_BE32 and n >= 4:
        return ntohl(read_u32(p))
    elif w == W_BE64 and n >= 8:
        v64 = read_u64(p)
        return (<uint64_t>ntohl(<uint32_t>v64) << 32) | ntohl(<uint32_t>(v64 >> 32))
    elif w == W_FLAG and n == 0:
        # A flag with a payload (vxlan's TTL_INHERIT is dumped as a u8 though
        # its policy is a flag) does not fit the type: kept as bytes below.
        return True
    elif w == W_NESTED:
        return attrs_decode(<AttrSet>s.subs[t], p, n)
    elif w == W_SUBMSG:
        return submsg_decode(<SubMessage>s.subs[t], s, p, n, nest, nest_len, siblings)
    elif w == W_IPADDR:
        return ipaddr_decode(p, n)
    elif w == W_LLADDR:
        return _lladdr_str(p, n)
    elif w == W_STRUCT:
        return (<StructSpec>s.subs[t]).decode(p, n)
    return PyBytes_FromStringAndSize(<const char *>p, n)


cdef object submsg_decode(SubMessage sub, AttrSet s, const uint8_t *p, Py_ssize_t n,
                          const uint8_t *nest, Py_ssize_t nest_len, dict siblings):
    cdef object sel = siblings.get(sub.selector) if siblings is not None else None
    cdef Cursor c
    cdef uint16_t at
    cdef const uint8_t *v
    cdef Py_ssize_t vn
    cdef int st
    if sel is None and nest != NULL:
        # The selector comes after the sub-message: look it up in the nest.
        st = s.by_name.get(sub.selector, -1)
        cursor_init(&c, nest, nest_len)
        while nla_next(&c, &at, &v, &vn):
            if (at & NLA_TYPE_MASK) == st:
                sel = value_decode(s, st, v, vn, NULL, 0, None)
                break
    chosen = sub.choices.get(sel)
    if chosen is None:
        return PyBytes_FromStringAndSize(<const char *>p, n)
    return attrs_decode(<AttrSet>chosen, p, n)


cdef dict attrs_decode(AttrSet s, const uint8_t *p, Py_ssize_t n):
    """Decode every attribute in ``p[:n]`` into a dict, in wire order."""
    cdef dict d = {}
    cdef Cursor c
    cdef uint16_t raw_type
    cdef int t
    cdef const uint8_t *v
    cdef Py_ssize_t vn
    cdef object key, val
    if s.header is not None:
        if n < s.header.size:
            raise ValueError(f"{s.name}: {n} bytes, shorter than its header")
        d["header"] = s.header.decode(p, s.header.size)
        p += s.header.size
        n -= s.header.size
    cursor_init(&c, p, n)
    while nla_next(&c, &raw_type, &v, &vn):
        t = raw_type & NLA_TYPE_MASK
        if t <= s.maxtype and s.names[t] is not None:
            key = s.names[t]
            val = value_decode(s, t, v, vn, p, n, d)
            if s.flags[t] & AF_MULTI:
                lst = d.get(key)
                if lst is None:
                    d[key] = [val]
                else:
                    lst.append(val)
                continue
        else:
            key = raw_type
            val = PyBytes_FromStringAndSize(<const char *>v, vn)
        d[key] = val
    return d


# ---------------------------------------------------------------- encoding

cdef bytes lladdr_encode(object value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise TypeError(f"expected a link-layer address string, got {type(value).__name__}")
    try:
        parts = value.split(":")
        out = bytes(int(x, 16) for x in parts)
        if any(len(x) == 0 or len(x) > 2 for x in parts):
            raise ValueError
    except ValueError:
        raise ValueError(f"invalid link-layer address {value!r}") from None
    return out


cdef bytes ipaddr_encode(object value):
    """An IPv4 or IPv6 address (str, ipaddress or netaddr object) as bytes."""
    cdef unsigned char buf[16]
    cdef bytes b
    if isinstance(value, (bytes, bytearray)):
        if len(value) not in (4, 16):
            raise ValueError(f"an address is 4 or 16 bytes, not {len(value)}")
        return bytes(value)
    text = str(value)
    b = text.encode("ascii", "replace")
    if ":" in text:
        if inet_pton(AF_INET6, b, buf) == 1:
            return PyBytes_FromStringAndSize(<char *>buf, 16)
    elif inet_pton(AF_INET, b, buf) == 1:
        return PyBytes_FromStringAndSize(<char *>buf, 4)
    raise ValueError(f"invalid IP address {text!r}")


cdef int _check_int(AttrSet s, int t, object value) except -1:
    if not isinstance(value, int):
        raise TypeError(f"{s.name}.{s.names[t]}: expected an integer, got {type(value).__name__}")
    lo, hi = _INT_RANGE[s.wire[t]]
    if value < lo or value > hi:
        raise ValueError(f"{s.name}.{s.names[t]}: {value} is out of range [{lo}, {hi}]")
    return 0


cdef int value_encode(WriteBuffer b, AttrSet s, int t, object value,
                      dict siblings) except -1:
    cdef int w = s.wire[t]
    cdef uint16_t nt = <uint16_t>t
    cdef Py_ssize_t start
    cdef bytes raw
    cdef uint64_t v64
    cdef int64_t s64
    if s.flags[t] & AF_NESTED_BIT:
        nt |= NLA_F_NESTED
    if w == W_STRING:
        if not isinstance(value, str):
            raise TypeError(f"{s.name}.{s.names[t]}: expected a string, got {type(value).__name__}")
        raw = (<str>value).encode("utf-8", "surrogateescape")
        if s.maxlen[t] and len(raw) > s.maxlen[t]:
            raise ValueError(f"{s.name}.{s.names[t]}: {value!r} is longer than {s.maxlen[t]} bytes")
        if b"\0" in raw:
            raise ValueError(f"{s.name}.{s.names[t]}: {value!r} contains a NUL byte")
        return b.put_attr(nt, <char *>raw, len(raw) + 1)
    if W_U8 <= w <= W_BE64:
        _check_int(s, t, value)
        if w == W_U8 or w == W_S8:
            return b.put_u8(nt, <uint8_t>(value & 0xFF))
        if w == W_U16 or w == W_S16:
            return b.put_u16(nt, <uint16_t>(value & 0xFFFF))
        if w == W_U32 or w == W_S32:
            return b.put_u32(nt, <uint32_t>(value & 0xFFFFFFFF))
        if w == W_U64 or w == W_S64:
            return b.put_u64(nt, <uint64_t>(value & 0xFFFFFFFFFFFFFFFF))
        if w == W_BE16:
            return b.put_u16(nt, htons(<uint16_t>value))
        if w == W_BE32:
            return b.put_u32(nt, htonl(<uint32_t>value))
        v64 = <uint64_t>value
        v64 = (<uint64_t>htonl(<uint32_t>v64) << 32) | htonl(<uint32_t>(v64 >> 32))
        return b.put_u64(nt, v64)
    if w == W_FLAG and not isinstance(value, (bytes, bytearray)):
        if value:
            b.put_flag(nt)
        return 0
    if w == W_NESTED:
        start = b.nest_start(nt)
        attrs_encode(b, <AttrSet>s.subs[t], value)
        return b.nest_end(start)
    if w == W_SUBMSG:
        sub = <SubMessage>s.subs[t]
        sel = siblings.get(sub.selector) if siblings is not None else None
        chosen = sub.choices.get(sel)
        if chosen is None:
            if isinstance(value, (bytes, bytearray)):
                raw = bytes(value)
                return b.put_attr(nt, <char *>raw, len(raw))
            raise ValueError(f"{s.name}.{s.names[t]}: no attribute set for {sub.selector}={sel!r}")
        start = b.nest_start(nt)
        attrs_encode(b, <AttrSet>chosen, value)
        return b.nest_end(start)
    if w == W_IPADDR:
        raw = ipaddr_encode(value)
    elif w == W_LLADDR:
        raw = lladdr_encode(value)
    elif w == W_FLAG:
        raw = bytes(value)
    elif w == W_STRUCT:
        raw = (<StructSpec>s.subs[t]).encode(value)
    else:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{s.name}.{s.names[t]}: expected bytes, got {type(value).__name__}")
        raw = bytes(value)
    return b.put_attr(nt, <char *>raw, len(raw))


cdef int attrs_encode(WriteBuffer b, AttrSet s, object attrs) except -1:
    """Encode a dict of attributes (by name, or by raw integer type)."""
    cdef int t
    cdef bytes raw
    if not isinstance(attrs, dict):
        if isinstance(attrs, (bytes, bytearray)):
            raw = bytes(attrs)
            memcpy(b.reserve(len(raw)), <char *>raw, len(raw))
            return 0
        raise TypeError(f"{s.name}: expected a dict of attributes, got {type(attrs).__name__}")
    if s.header is not None:
        raw = s.header.encode(attrs.get("header", {}))
        memcpy(b.reserve(libnet_nla_align(len(raw))), <char *>raw, len(raw))
    for key, value in (<dict>attrs).items():
        if value is None:
            continue
        if isinstance(key, str):
            if key == "header" and s.header is not None:
                continue
            t = s.by_name.get(key, -1)
            if t < 0:
                raise ValueError(f"{s.name}: unknown attribute {key!r}")
            if s.flags[t] & AF_MULTI and isinstance(value, list):
                for item in value:
                    value_encode(b, s, t, item, attrs)
            else:
                value_encode(b, s, t, value, attrs)
        elif isinstance(key, int):
            if not isinstance(value, (bytes, bytearray)):
                raise TypeError(f"{s.name}: raw attribute {key} needs bytes")
            raw = bytes(value)
            b.put_attr(<uint16_t>key, <char *>raw, len(raw))
        else:
            raise TypeError(f"{s.name}: attribute keys are names or integers, not {key!r}")
    return 0
