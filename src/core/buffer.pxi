# The write buffer: netlink messages built in place.
#
#   <--- nlmsg_len (patched by end_message) ------------------------------->
#  +----------+---------------+--------+--------+------------------------+
#  | nlmsghdr | family header | nlattr | value  | nlattr (nest) ...      |
#  | 16 bytes | (ifinfomsg..) | 4 bytes| padded | <- nla_len patched by  |
#  +----------+---------------+--------+--------+    nest_end            |
#
# Lengths are written as zero and back-patched once the end is known, so a
# message is built in one pass with no intermediate objects.  Every field is
# in host byte order except where the attribute says otherwise (BE16/BE32).

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset


cdef enum:
    BUFFER_INITIAL = 4096
    NEST_DEPTH_MAX = 32


cdef class WriteBuffer:
    """A growable buffer of netlink messages with back-patched lengths."""

    def __cinit__(self, Py_ssize_t capacity=BUFFER_INITIAL):
        if capacity < 64:
            capacity = 64
        self.data = <char *>malloc(capacity)
        if self.data == NULL:
            raise MemoryError()
        self.size = capacity
        self.length = 0
        self.msg_start = -1

    def __dealloc__(self):
        free(self.data)

    cdef int _grow(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t new_size = self.size * 2
        cdef char *p
        while new_size < self.length + extra:
            new_size *= 2
        p = <char *>realloc(self.data, new_size)
        if p == NULL:
            raise MemoryError()
        self.data = p
        self.size = new_size
        return 0

    cdef inline char *reserve(self, Py_ssize_t n) except NULL:
        """Append ``n`` zeroed bytes and return a pointer to them."""
        cdef char *p
        if self.length + n > self.size:
            self._grow(n)
        p = self.data + self.length
        memset(p, 0, n)
        self.length += n
        return p

    cdef void clear(self):
        self.length = 0
        self.msg_start = -1

    cdef int begin_message(self, uint16_t msg_type, uint16_t flags,
                           uint32_t seq=0) except -1:
        cdef nlmsghdr *h
        if self.msg_start >= 0:
            raise RuntimeError("begin_message inside an open message")
        self.msg_start = self.length
        h = <nlmsghdr *>self.reserve(sizeof(nlmsghdr))
        h.nlmsg_type = msg_type
        h.nlmsg_flags = flags
        h.nlmsg_seq = seq
        return 0

    cdef int end_message(self) except -1:
        cdef nlmsghdr *h
        if self.msg_start < 0:
            raise RuntimeError("end_message without begin_message")
        h = <nlmsghdr *>(self.data + self.msg_start)
        h.nlmsg_len = <uint32_t>(self.length - self.msg_start)
        self.length = self.msg_start + libnet_nlmsg_align(h.nlmsg_len)
        self.msg_start = -1
        return 0

    cdef int cancel_message(self):
        if self.msg_start >= 0:
            self.length = self.msg_start
            self.msg_start = -1
        return 0

    cdef int put_attr(self, uint16_t nla_type, const void *value,
                      Py_ssize_t n) except -1:
        cdef nlattr *a
        if n + 4 > 0xFFFF:
            raise ValueError(f"attribute {nla_type} too long ({n} bytes)")
        a = <nlattr *>self.reserve(libnet_nla_align(<uint32_t>(4 + n)))
        a.nla_type = nla_type
        a.nla_len = <uint16_t>(4 + n)
        if n:
            memcpy(<char *>a + 4, value, n)
        return 0

    cdef inline int put_u8(self, uint16_t t, uint8_t v) except -1:
        return self.put_attr(t, &v, 1)

    cdef inline int put_u16(self, uint16_t t, uint16_t v) except -1:
        return self.put_attr(t, &v, 2)

    cdef inline int put_u32(self, uint16_t t, uint32_t v) except -1:
        return self.put_attr(t, &v, 4)

    cdef inline int put_u64(self, uint16_t t, uint64_t v) except -1:
        return self.put_attr(t, &v, 8)

    cdef inline int put_flag(self, uint16_t t) except -1:
        return self.put_attr(t, NULL, 0)

    cdef int put_str(self, uint16_t t, str s) except -1:
        cdef bytes b = s.encode("utf-8", "surrogateescape")
        return self.put_attr(t, <char *>b, len(b) + 1)

    cdef Py_ssize_t nest_start(self, uint16_t nla_type) except -1:
        cdef Py_ssize_t start = self.length
        cdef nlattr *a = <nlattr *>self.reserve(4)
        a.nla_type = nla_type
        return start

    cdef int nest_end(self, Py_ssize_t start) except -1:
        cdef nlattr *a = <nlattr *>(self.data + start)
        cdef Py_ssize_t n = self.length - start
        if n > 0xFFFF:
            raise ValueError(f"nested attribute {a.nla_type & NLA_TYPE_MASK} too long ({n} bytes)")
        a.nla_len = <uint16_t>n
        return 0

    cdef void nest_cancel(self, Py_ssize_t start):
        self.length = start

    cdef bytes getvalue(self):
        return PyBytes_FromStringAndSize(self.data, self.length)

    cdef bytes take(self):
        """The buffer's bytes; the buffer is then empty."""
        cdef bytes b = PyBytes_FromStringAndSize(self.data, self.length)
        self.clear()
        return b

    def __len__(self):
        return self.length
