# Messages: one registry of message types, one lazy parsed-message class.
# Parsed messages are not tracked by the cyclic GC (no_gc): they refer only
# to their receive buffer and their type, so they cannot form cycles, and a
# dump of 10,000 links would otherwise set off collections over all of them.
#
#   +----------+---------------+----------------------------------------+
#   | nlmsghdr | family header | attributes ...                         |
#   +----------+---------------+----------------------------------------+
#
# Parsing a message only walks its top-level attribute headers and records
# where each type starts (a slot table indexed by attribute type, as libmnl's
# tb[]).  Values are decoded when asked for, so a dump of 10,000 links costs
# one pass over the headers until a field is read.  A Message holds a
# reference to the receive chunk it came from; nothing is copied.

from cpython.bytes cimport PyBytes_GET_SIZE


cdef class MessageType:
    """How to read and build one netlink message type of one protocol."""

    def __init__(self, int protocol, int msg_type, str name, StructSpec header,
                 AttrSet attrs, type cls):
        self.protocol = protocol
        self.msg_type = msg_type
        self.name = name
        self.header = header
        self.attrs = attrs
        self.cls = cls
        self.header_len = libnet_nla_align(header.size) if header is not None else 0

    def __repr__(self):
        return f"MessageType({self.name})"


cdef dict _MESSAGE_TYPES = {}


def register_message_type(int protocol, int msg_type, str name, StructSpec header,
                          AttrSet attrs, type cls=None):
    """Declare a message type; ``cls`` (a Message subclass) is what parsing yields."""
    if cls is None:
        cls = Message
    if not issubclass(cls, Message):
        raise TypeError("cls must be a Message subclass")
    global _last_key
    mt = MessageType(protocol, msg_type, name, header, attrs, cls)
    _MESSAGE_TYPES[(protocol << 16) | msg_type] = mt
    _last_key = -1
    return mt


# A one-entry cache in front of the registry: a dump is one message type
# thousands of times over.
cdef int _last_key = -1
cdef MessageType _last_mt = None


cdef inline MessageType message_type(int protocol, int msg_type):
    global _last_key, _last_mt
    cdef int key = (protocol << 16) | msg_type
    if key != _last_key:
        _last_mt = _MESSAGE_TYPES.get(key)
        _last_key = key
    return _last_mt


@cython.no_gc
cdef class Message:
    """A parsed netlink message: header fields, and attributes decoded on demand."""

    cdef int _init(self, object owner, const uint8_t *base, uint32_t length,
                   MessageType mt) except -1:
        # ``base``: the message's first byte, in memory ``owner`` keeps alive.
        cdef Cursor c
        cdef uint16_t raw_type
        cdef int t
        cdef const uint8_t *v
        cdef Py_ssize_t vn
        cdef Py_ssize_t start = sizeof(nlmsghdr) + (mt.header_len if mt is not None else 0)
        self._buf = owner
        self._p = base
        self._len = length
        self._mt = mt
        if mt is None or start > length:
            self._attr_start = length
            return 0
        self._attr_start = <uint32_t>start
        cursor_init(&c, base + start, length - start)
        while nla_next(&c, &raw_type, &v, &vn):
            t = raw_type & NLA_TYPE_MASK
            if t < MESSAGE_SLOTS and self._tb[t] == 0:
                self._tb[t] = <uint32_t>(v - base)
        return 0

    cdef inline const uint8_t *_base(self):
        return self._p

    cdef inline const uint8_t *_attr(self, int t, Py_ssize_t *n):
        """The value of top-level attribute ``t`` and its length, or NULL."""
        cdef uint32_t at
        cdef const uint8_t *p
        if t >= MESSAGE_SLOTS:
            return NULL
        at = self._tb[t]
        if at == 0:
            return NULL
        p = self._base() + at
        n[0] = read_u16(p - 4) - 4
        return p

    cdef object _value(self, int t):
        cdef Py_ssize_t n
        cdef const uint8_t *p = self._attr(t, &n)
        if p == NULL or self._mt is None:
            return None
        if t > self._mt.attrs.maxtype or self._mt.attrs.names[t] is None:
            return PyBytes_FromStringAndSize(<const char *>p, n)
        return value_decode(self._mt.attrs, t, p, n,
                            self._base() + self._attr_start, self._len - self._attr_start, None)

    cdef inline const uint8_t *_header(self, Py_ssize_t size):
        if self._mt is None or self._mt.header_len < size:
            return NULL
        return self._base() + sizeof(nlmsghdr)

    @property
    def type(self):
        """nlmsg_type (e.g. RTM_NEWLINK)."""
        return read_u16(self._base() + 4)

    @property
    def msg_flags(self):
        """nlmsg_flags."""
        return read_u16(self._base() + 6)

    @property
    def seq(self):
        return read_u32(self._base() + 8)

    @property
    def pid(self):
        return read_u32(self._base() + 12)

    @property
    def message_type(self):
        """The MessageType this was parsed with (None if the type is unknown)."""
        return self._mt

    @property
    def raw(self):
        """The message's bytes, header included."""
        return PyBytes_FromStringAndSize(<const char *>self._base(), self._len)

    @property
    def header(self):
        """The family header as a dict (e.g. ifinfomsg's family, type, index, ...)."""
        if self._mt is None or self._mt.header is None:
            return {}
        return self._mt.header.decode(self._base() + sizeof(nlmsghdr), self._mt.header.size)

    @property
    def attrs(self):
        """Every attribute, decoded, in wire order (unknown types as raw bytes)."""
        if self._mt is None:
            return {}
        return attrs_decode(self._mt.attrs, self._base() + self._attr_start,
                            self._len - self._attr_start)

    def get(self, str name, default=None):
        """One top-level attribute by name, decoded; ``default`` if absent."""
        cdef int t
        if self._mt is None:
            return default
        t = self._mt.attrs.by_name.get(name, -1)
        if t < 0:
            raise KeyError(f"{self._mt.attrs.name} has no attribute {name!r}")
        if t >= MESSAGE_SLOTS:
            return self.attrs.get(name, default)
        v = self._value(t)
        return default if v is None else v

    def __contains__(self, str name):
        cdef int t = self._mt.attrs.by_name.get(name, -1) if self._mt is not None else -1
        return 0 <= t < MESSAGE_SLOTS and self._tb[t] != 0

    def to_dict(self):
        """Header fields and attributes in one dict (for logs, JSON, tests)."""
        d = dict(self.header)
        d.update(self.attrs)
        return d

    def __reduce__(self):
        return (decode_messages, (self.raw,
                                  self._mt.protocol if self._mt is not None else NETLINK_ROUTE))

    def __repr__(self):
        name = self._mt.name if self._mt is not None else f"type {self.type}"
        return f"<{type(self).__name__} {name} {self.to_dict()!r}>"


cdef Message message_parse(bytes buf, Py_ssize_t off, uint32_t length, int protocol):
    return message_parse_at(buf, <const uint8_t *>PyBytes_AS_STRING(buf) + off, length, protocol)


cdef Message message_parse_at(object owner, const uint8_t *base, uint32_t length, int protocol):
    """The message at ``base`` (``length`` bytes, in memory ``owner`` keeps alive)."""
    cdef uint16_t msg_type = read_u16(base + 4)
    cdef MessageType mt = message_type(protocol, msg_type)
    cdef Message m
    if mt is None:
        m = Message.__new__(Message)
    elif mt.cls is Link:
        m = Link.__new__(Link)
    else:
        m = mt.cls.__new__(mt.cls)
    m._init(owner, base, length, mt)
    return m


def decode_messages(data, int protocol=NETLINK_ROUTE):
    """Parse a buffer of netlink messages into Message objects."""
    cdef bytes buf = bytes(data)
    cdef Py_ssize_t off = 0, total = len(buf)
    cdef uint32_t mlen
    cdef list out = []
    while off + <Py_ssize_t>sizeof(nlmsghdr) <= total:
        mlen = read_u32(<const uint8_t *>PyBytes_AS_STRING(buf) + off)
        if mlen < sizeof(nlmsghdr) or off + mlen > total:
            raise ValueError(f"malformed netlink message at offset {off} (length {mlen})")
        out.append(message_parse(buf, off, mlen, protocol))
        off += libnet_nlmsg_align(mlen)
    return out


cdef int message_encode(WriteBuffer b, MessageType mt, uint16_t flags,
                        object header, object attrs) except -1:
    cdef bytes raw
    b.begin_message(<uint16_t>mt.msg_type, flags)
    try:
        if mt.header is not None:
            raw = mt.header.encode(header if header is not None else {})
            memcpy(b.reserve(mt.header_len), <char *>raw, len(raw))
        if attrs:
            attrs_encode(b, mt.attrs, attrs)
        b.end_message()
    except BaseException:
        b.cancel_message()
        raise
    return 0


def encode_message(int protocol, int msg_type, int flags=0, header=None, attrs=None,
                   uint32_t seq=0, uint32_t pid=0):
    """Build one message (a socket assigns the sequence number when sending).

    ``header`` is a dict of the family header's fields, ``attrs`` a dict of
    attributes by name.  Bad values raise ValueError or TypeError here, before
    anything reaches a socket.
    """
    cdef MessageType mt = message_type(protocol, msg_type)
    cdef WriteBuffer b = WriteBuffer(256)
    cdef nlmsghdr *h
    if mt is None:
        raise ValueError(f"unknown message type {msg_type} for protocol {protocol}")
    message_encode(b, mt, <uint16_t>flags, header, attrs)
    h = <nlmsghdr *>b.data
    h.nlmsg_seq = seq
    h.nlmsg_pid = pid
    return b.take()
