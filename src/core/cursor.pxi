# The read cursor: a pointer and the bytes left, with bounds-checked reads.
#
# Netlink attributes (RFC 3549, include/uapi/linux/netlink.h):
#
#   +----------+----------+---------------------+---------+
#   | nla_len  | nla_type | value               | padding |
#   | u16      | u16      | nla_len - 4 bytes   | to 4    |
#   +----------+----------+---------------------+---------+
#
# nla_type's top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER.
# A cursor never reads past its end: a short or overlong attribute raises
# ValueError naming the attribute set, so a malformed message cannot crash
# the process or yield half a decode silently.

from libc.string cimport memcpy


cdef struct Cursor:
    const uint8_t *p
    Py_ssize_t n


cdef inline void cursor_init(Cursor *c, const uint8_t *p, Py_ssize_t n) noexcept nogil:
    c.p = p
    c.n = n


cdef inline int nla_next(Cursor *c, uint16_t *nla_type, const uint8_t **value,
                         Py_ssize_t *vlen) except -1:
    """Step to the next attribute: 1 and its type and value, or 0 at the end."""
    cdef uint16_t alen
    cdef Py_ssize_t step
    if c.n < 4:
        return 0
    memcpy(&alen, c.p, 2)
    if alen < 4 or alen > c.n:
        raise ValueError(f"malformed netlink attribute (length {alen}, {c.n} bytes left)")
    memcpy(nla_type, c.p + 2, 2)
    value[0] = c.p + 4
    vlen[0] = alen - 4
    step = libnet_nla_align(alen)
    if step > c.n:
        step = c.n
    c.p += step
    c.n -= step
    return 1


cdef inline uint16_t read_u16(const uint8_t *p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline uint32_t read_u32(const uint8_t *p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline uint64_t read_u64(const uint8_t *p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v
