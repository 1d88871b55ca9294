# Declarations of the core's extension types (see _netlink.pyx for the hub).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, uint64_t

cdef enum:
    MESSAGE_SLOTS = 96    # top-level attribute types a Message indexes directly


cdef class WriteBuffer:
    cdef char *data
    cdef Py_ssize_t size
    cdef Py_ssize_t length
    cdef Py_ssize_t msg_start

    cdef int _grow(self, Py_ssize_t extra) except -1
    cdef char *reserve(self, Py_ssize_t n) except NULL
    cdef void clear(self)
    cdef int begin_message(self, uint16_t msg_type, uint16_t flags, uint32_t seq=*) except -1
    cdef int end_message(self) except -1
    cdef int cancel_message(self)
    cdef int put_attr(self, uint16_t nla_type, const void *value, Py_ssize_t n) except -1
    cdef int put_u8(self, uint16_t t, uint8_t v) except -1
    cdef int put_u16(self, uint16_t t, uint16_t v) except -1
    cdef int put_u32(self, uint16_t t, uint32_t v) except -1
    cdef int put_u64(self, uint16_t t, uint64_t v) except -1
    cdef int put_flag(self, uint16_t t) except -1
    cdef int put_str(self, uint16_t t, str s) except -1
    cdef Py_ssize_t nest_start(self, uint16_t nla_type) except -1
    cdef int nest_end(self, Py_ssize_t start) except -1
    cdef void nest_cancel(self, Py_ssize_t start)
    cdef bytes getvalue(self)
    cdef bytes take(self)


cdef class StructSpec:
    cdef readonly str name
    cdef readonly object st
    cdef readonly tuple fields
    cdef readonly Py_ssize_t size

    cdef object decode(self, const uint8_t *p, Py_ssize_t n)
    cdef bytes encode(self, object value)


cdef class SubMessage:
    cdef readonly str selector
    cdef readonly dict choices


cdef class AttrSet:
    cdef readonly str name
    cdef readonly int maxtype
    cdef readonly StructSpec header
    cdef list wire
    cdef list flags
    cdef readonly list names
    cdef list subs
    cdef list maxlen
    cdef readonly dict by_name


cdef class MessageType:
    cdef readonly int protocol
    cdef readonly int msg_type
    cdef readonly str name
    cdef readonly StructSpec header
    cdef readonly AttrSet attrs
    cdef readonly type cls
    cdef readonly Py_ssize_t header_len


cdef class Message:
    cdef object _buf                 # what holds the bytes: a bytes object or a dump's _Arena
    cdef const uint8_t *_p           # the message's first byte, inside _buf
    cdef uint32_t _len
    cdef uint32_t _attr_start
    cdef MessageType _mt
    cdef uint32_t _tb[MESSAGE_SLOTS]

    cdef int _init(self, object owner, const uint8_t *base, uint32_t length,
                   MessageType mt) except -1
    cdef const uint8_t *_base(self)
    cdef const uint8_t *_attr(self, int t, Py_ssize_t *n)
    cdef object _value(self, int t)
    cdef const uint8_t *_header(self, Py_ssize_t size)


cdef class NetlinkSocket:
    cdef int fd
    cdef readonly int protocol
    cdef readonly uint32_t portid
    cdef uint32_t seq
    cdef int sndbuf
    cdef char *rbuf
    cdef Py_ssize_t rbuf_size
    cdef WriteBuffer wbuf

    cdef int _check_open(self) except -1
    cdef int _send(self, const char *data, Py_ssize_t n) except -1
    cdef Py_ssize_t _recv(self, int flags) except -2
    cdef Py_ssize_t _recv_into(self, char *buf, Py_ssize_t size, int flags) except -2
    cdef bint _dump_chunk(self, object owner, const uint8_t *base, Py_ssize_t n, uint32_t seq,
                          int proto, object op, list out, bint *intr) except -1
    cdef uint32_t _next_seq(self)
    cdef int _queue(self, object msg, uint16_t add_flags, uint32_t seq) except -1
    cdef object _error_from(self, const uint8_t *m, uint32_t mlen, object op,
                            Py_ssize_t index, uint32_t seq)
    cdef object _collect(self, uint32_t first_seq, Py_ssize_t count, list ops,
                         Py_ssize_t base, list replies, list errors)
