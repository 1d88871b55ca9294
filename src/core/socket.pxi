# Netlink sockets: batches, dumps and events.
#
# A batch is many requests in one sendmsg.  Each request carries NLM_F_ACK
# and its own sequence number, so the kernel answers every one of them
# (rtnetlink keeps going after a failed request); acknowledgements are
# matched back by sequence number and an error names the request it belongs
# to.  The kernel queues one skb per acknowledgement on our socket while the
# sendmsg runs, so the receive buffer is raised (SO_RCVBUFFORCE) to hold a
# whole batch's acknowledgements, and batches past BATCH_MAX_MESSAGES are
# split.
#
# A dump is one request answered by NLM_F_MULTI messages up to NLMSG_DONE.
# The kernel fills at most ~32 KiB per recvmsg (netlink_dump), so a large
# receive buffer only saves syscalls up to that.  When the object list
# changes during the dump the kernel flags messages NLM_F_DUMP_INTR; the
# dump is then restarted, a bounded number of times.

from libc.stdlib cimport malloc, free
from libc.stdint cimport uintptr_t
from posix.mman cimport (mmap, munmap, madvise, MAP_PRIVATE, MAP_ANONYMOUS, MAP_FAILED,
                         PROT_READ, PROT_WRITE, MADV_HUGEPAGE)
import time as _time

cdef enum:
    RECV_BUFFER_SIZE = 262144
    SOCKET_RCVBUF = 33554432
    SOCKET_SNDBUF = 8388608
    BATCH_MAX_MESSAGES = 4096
    DUMP_RETRIES_DEFAULT = 5
    # A dump's datagrams past the first DUMP_INLINE_DATAGRAMS are received
    # straight into arenas of ARENA_SIZE bytes (see _Arena).
    DUMP_INLINE_DATAGRAMS = 8
    ARENA_SIZE = 2097152
    ARENA_IDLE_MAX = 8


# Arenas: the memory of long dumps.  A dump of 10,000 links is ~14 MB of
# datagrams, which the parsed messages point into.  Taken from malloc, that
# memory is fresh each time (it goes back to the system when the messages
# go), and faulting it in page by page cost more than all of libnet's
# parsing: 4,700 page faults, 13 ms of a 70 ms dump here.  An arena is one
# huge page (2 MiB, aligned, MADV_HUGEPAGE; the kernel falls back to small
# pages where transparent huge pages are off), received into directly, with
# no copy; the messages of a dump keep their arenas alive.  Up to
# ARENA_IDLE_MAX freed arenas (16 MiB) are kept for the next long dump,
# marked MADV_FREE: the kernel may take their memory back under pressure
# (a reuse then faults it in again), and otherwise a reuse costs nothing.
# Dumps of up to DUMP_INLINE_DATAGRAMS datagrams (~250 KiB) use no arena.
cdef extern from "<sys/mman.h>" nogil:
    enum: MADV_FREE

cdef char *_idle_arenas[ARENA_IDLE_MAX]
cdef int _n_idle_arenas = 0


cdef char *_arena_map() noexcept nogil:
    """ARENA_SIZE bytes aligned to ARENA_SIZE, or NULL."""
    cdef size_t span = 2 * ARENA_SIZE
    cdef void *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if raw == MAP_FAILED:
        return NULL
    cdef uintptr_t start = <uintptr_t>raw
    cdef uintptr_t aligned = (start + ARENA_SIZE - 1) & ~(<uintptr_t>ARENA_SIZE - 1)
    if aligned > start:
        munmap(raw, aligned - start)
    if aligned + ARENA_SIZE < start + span:
        munmap(<void *>(aligned + ARENA_SIZE), start + span - aligned - ARENA_SIZE)
    madvise(<void *>aligned, ARENA_SIZE, MADV_HUGEPAGE)    # advice only: errors are harmless
    return <char *>aligned


@cython.final
@cython.no_gc
cdef class _Arena:
    """ARENA_SIZE bytes that a dump's datagrams are received into."""
    cdef char *mem
    cdef Py_ssize_t used

    def __dealloc__(self):
        global _n_idle_arenas
        if self.mem == NULL:
            return
        if _n_idle_arenas < ARENA_IDLE_MAX:
            madvise(self.mem, ARENA_SIZE, MADV_FREE)
            _idle_arenas[_n_idle_arenas] = self.mem
            _n_idle_arenas += 1
        else:
            munmap(self.mem, ARENA_SIZE)


cdef _Arena _arena_new():
    global _n_idle_arenas
    cdef _Arena a = _Arena.__new__(_Arena)
    if _n_idle_arenas:
        _n_idle_arenas -= 1
        a.mem = _idle_arenas[_n_idle_arenas]
    else:
        a.mem = _arena_map()
        if a.mem == NULL:
            raise MemoryError()
    a.used = 0
    return a


class Resync:
    """Marker in an event stream: events were lost (ENOBUFS); re-dump state."""

    def __repr__(self):
        return "RESYNC"


RESYNC = Resync()


cdef int _nl_open(int protocol, int rcvbuf, int sndbuf) noexcept nogil:
    """A netlink socket of ``protocol`` in the calling thread's namespace,
    set up and bound: its fd, or -1 with errno set.  Extended acks carry
    the kernel's reason; capped acks don't echo a whole request back;
    strict checking makes dump filters honoured (and unknown header fields
    refused) instead of silently ignored."""
    cdef int one = 1
    cdef sockaddr_nl addr
    cdef int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)
    if fd < 0:
        return -1
    if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(int)) < 0:
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(int))
    if setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(int)) < 0:
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(int))
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(int))
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(int))
    if protocol == NETLINK_ROUTE:
        setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(int))
    memset(&addr, 0, sizeof(addr))
    addr.nl_family = AF_NETLINK
    if bind(fd, <sockaddr *>&addr, sizeof(addr)) < 0:
        c_close(fd)               # (a successful close leaves errno as it is)
        return -1
    return fd


cdef class NetlinkSocket:
    """A netlink socket, bound in a given network namespace.

    ``netns`` is an open file descriptor of a namespace (``/proc/PID/ns/net``
    or a bind mount of it), or None for the caller's.  ``groups`` are
    multicast group numbers to join (RTNLGRP_*), for event sockets.
    """

    def __cinit__(self):
        self.fd = -1
        self.rbuf = NULL

    def __init__(self, int protocol=NETLINK_ROUTE, netns=None, groups=(),
                 int rcvbuf=SOCKET_RCVBUF, int sndbuf=SOCKET_SNDBUF, int fd=-1):
        cdef int cur, e = 0
        cdef sockaddr_nl addr
        cdef socklen_t alen = sizeof(addr)
        self.protocol = protocol
        self.rbuf = <char *>malloc(RECV_BUFFER_SIZE)
        if self.rbuf == NULL:
            raise MemoryError()
        self.rbuf_size = RECV_BUFFER_SIZE
        self.wbuf = WriteBuffer(65536)
        if fd >= 0:
            # Made and set up by the core already (make_netns), with these
            # buffer sizes: this object owns it from now on.
            pass
        elif netns is None:
            with nogil:
                fd = _nl_open(protocol, rcvbuf, sndbuf)
                if fd < 0:
                    e = errno
        else:
            with _netns_lock:
                cur = _os.open("/proc/thread-self/ns/net", _os.O_RDONLY | _os.O_CLOEXEC)
                try:
                    setns(int(netns), CLONE_NEWNET)
                    try:
                        with nogil:
                            fd = _nl_open(protocol, rcvbuf, sndbuf)
                            if fd < 0:
                                e = errno
                    finally:
                        # Failing to return would leave this thread in the
                        # wrong namespace: that must not pass silently.
                        setns(cur, CLONE_NEWNET)
                finally:
                    _os.close(cur)
        if fd < 0:
            raise OSError(e, f"netlink socket: {_os.strerror(e)}")
        self.fd = fd
        self.sndbuf = sndbuf
        _check(getsockname(fd, <sockaddr *>&addr, &alen), "getsockname")
        self.portid = addr.nl_pid
        self.seq = <uint32_t>(_time.time_ns() & 0x3FFFFFFF)
        for g in groups:
            self.add_membership(g)

    def __dealloc__(self):
        if self.fd >= 0:
            c_close(self.fd)
        free(self.rbuf)

    def fileno(self):
        return self.fd

    @property
    def closed(self):
        return self.fd < 0

    def close(self):
        if self.fd >= 0:
            c_close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    cdef int _check_open(self) except -1:
        if self.fd < 0:
            raise ValueError("operation on a closed netlink socket")
        return 0

    def add_membership(self, int group):
        """Join multicast group ``group`` (e.g. RTNLGRP_LINK)."""
        self._check_open()
        _check(setsockopt(self.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(int)),
               f"join group {group}")

    def drop_membership(self, int group):
        self._check_open()
        _check(setsockopt(self.fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group, sizeof(int)),
               f"leave group {group}")

    # -------------------------------------------------------------- I/O

    cdef int _send(self, const char *data, Py_ssize_t n) except -1:
        cdef ssize_t rc
        cdef int e
        cdef int fd = self.fd
        while True:
            with nogil:
                rc = send(fd, data, n, 0)
            if rc >= 0:
                return 0
            e = errno
            if e != EINTR:
                raise netlink_error(e, "sendmsg failed")

    cdef Py_ssize_t _recv(self, int flags) except -2:
        """Receive one datagram into rbuf: its length, or -1 if none (MSG_DONTWAIT)."""
        return self._recv_into(self.rbuf, self.rbuf_size, flags)

    cdef Py_ssize_t _recv_into(self, char *buf, Py_ssize_t size, int flags) except -2:
        """Receive one datagram into ``buf`` (``size`` bytes, at least rbuf_size):
        its length, or -1 if none (MSG_DONTWAIT)."""
        cdef ssize_t rc
        cdef int e
        cdef int fd = self.fd
        while True:
            with nogil:
                rc = recv(fd, buf, size, flags | MSG_TRUNC)
            if rc >= 0:
                break
            e = errno
            if e == EINTR:
                continue
            if e == EAGAIN and flags & MSG_DONTWAIT:
                return -1
            raise netlink_error(e, "recvmsg failed" if e != ENOBUFS else
                                "receive queue overflowed: messages were lost")
        if rc > size:
            raise netlink_error(_errno.EMSGSIZE, f"datagram of {rc} bytes truncated")
        return rc

    cdef inline uint32_t _next_seq(self):
        self.seq += 1
        if self.seq == 0:
            self.seq = 1
        return self.seq

    cdef int _queue(self, object msg, uint16_t add_flags, uint32_t seq) except -1:
        """Copy one pre-built message into the write buffer with our seq and flags."""
        cdef const char *p
        cdef Py_ssize_t n
        cdef nlmsghdr *h
        cdef char *dst
        if not isinstance(msg, bytes):
            raise TypeError(f"a request is bytes (from encode_message), not {type(msg).__name__}")
        p = PyBytes_AS_STRING(msg)
        n = PyBytes_GET_SIZE(msg)
        if n < <Py_ssize_t>sizeof(nlmsghdr) or read_u32(<const uint8_t *>p) != n and \
                libnet_nlmsg_align(read_u32(<const uint8_t *>p)) != n:
            raise ValueError("a request must be exactly one netlink message")
        dst = self.wbuf.reserve(libnet_nlmsg_align(<uint32_t>n))
        memcpy(dst, p, n)
        h = <nlmsghdr *>dst
        h.nlmsg_flags |= add_flags
        h.nlmsg_seq = seq
        h.nlmsg_pid = 0
        return 0

    cdef object _error_from(self, const uint8_t *m, uint32_t mlen, object op,
                            Py_ssize_t index, uint32_t seq):
        """The NetlinkError for an NLMSG_ERROR message, extended ack decoded."""
        cdef int code = -<int32_t>read_u32(m + sizeof(nlmsghdr))
        cdef uint16_t mflags = read_u16(m + 6)
        cdef Py_ssize_t off = sizeof(nlmsghdr) + 4
        cdef uint32_t orig_len
        cdef Cursor c
        cdef uint16_t t
        cdef const uint8_t *v
        cdef Py_ssize_t vn
        ext = None
        offset = None
        missing = None
        # NLMSG_ERROR echoes the request's header (all of the request unless
        # capped) before the TLVs; NLMSG_DONE of a failed dump has none.
        if read_u16(m + 4) == NLMSG_ERROR and off + <Py_ssize_t>sizeof(nlmsghdr) <= mlen:
            orig_len = read_u32(m + off)
            if mflags & NLM_F_CAPPED:
                off += sizeof(nlmsghdr)
            else:
                off += libnet_nlmsg_align(orig_len)
        if mflags & NLM_F_ACK_TLVS and off < mlen:
            cursor_init(&c, m + off, mlen - off)
            while nla_next(&c, &t, &v, &vn):
                t &= NLA_TYPE_MASK
                if t == NLMSGERR_ATTR_MSG:
                    ext = string_decode(v, vn)
                elif t == NLMSGERR_ATTR_OFFS and vn >= 4:
                    offset = read_u32(v)
                elif t == NLMSGERR_ATTR_MISS_TYPE and vn >= 4:
                    missing = read_u32(v)
        if missing is not None:
            ext = f"{ext + '; ' if ext else ''}missing attribute {missing}"
        return netlink_error(code, ext, op, seq, offset, index if index >= 0 else None)

    cdef object _collect(self, uint32_t first_seq, Py_ssize_t count, list ops,
                         Py_ssize_t base, list replies, list errors):
        """Read until all ``count`` requests from ``first_seq`` are acknowledged."""
        cdef Py_ssize_t pending = count, n, off
        cdef uint32_t mlen, idx
        cdef const uint8_t *m
        cdef uint16_t mtype
        cdef char *acked = <char *>malloc(count)
        cdef bytes chunk
        if acked == NULL:
            raise MemoryError()
        memset(acked, 0, count)
        try:
            while pending > 0:
                n = self._recv(0)
                chunk = None
                off = 0
                while off + <Py_ssize_t>sizeof(nlmsghdr) <= n:
                    m = <const uint8_t *>self.rbuf + off
                    mlen = read_u32(m)
                    if mlen < sizeof(nlmsghdr) or off + mlen > n:
                        break
                    idx = read_u32(m + 8) - first_seq
                    mtype = read_u16(m + 4)
                    if idx < <uint32_t>count:
                        if mtype == NLMSG_ERROR:
                            if not acked[idx]:
                                acked[idx] = 1
                                pending -= 1
                            if mlen >= sizeof(nlmsghdr) + 4 and read_u32(m + sizeof(nlmsghdr)) != 0:
                                errors.append(self._error_from(
                                    m, mlen, ops[base + idx] if ops is not None else None,
                                    base + idx, first_seq + idx))
                        elif mtype != NLMSG_DONE and mtype != NLMSG_NOOP:
                            if chunk is None:
                                chunk = PyBytes_FromStringAndSize(self.rbuf, n)
                            r = replies[base + idx]
                            if r is None:
                                r = replies[base + idx] = []
                            r.append(message_parse(chunk, off, mlen, self.protocol))
                    off += libnet_nlmsg_align(mlen)
        finally:
            free(acked)
        return None

    def batch(self, list msgs, list ops=None, bint check=True):
        """Send many pre-built requests in one sendmsg; wait for every ACK.

        Returns one list of reply messages per request (empty unless the
        request asked for a reply, e.g. NLM_F_ECHO or a GET).  If any failed
        and ``check`` is true, raises the first failure's NetlinkError, whose
        ``operation`` names the request (``ops[i]``, or the message type) and
        whose ``errors`` lists every failure of the batch; otherwise failed
        entries of the result are the NetlinkError itself.
        """
        cdef Py_ssize_t count = len(msgs), start = 0, end, i
        cdef uint32_t first
        cdef list replies = [None] * count
        cdef list errors = []
        self._check_open()
        if ops is not None and len(ops) != count:
            raise ValueError("ops must name every request")
        if ops is None:
            ops = [_op_name(self.protocol, m) for m in msgs]
        while start < count:
            self.wbuf.clear()
            first = self.seq + 1
            if first == 0:
                first = 1
            self.seq = first - 1
            end = start
            while end < count and end - start < BATCH_MAX_MESSAGES:
                if end > start and self.wbuf.length + len(<bytes>msgs[end]) > self.sndbuf // 2:
                    break
                self._queue(msgs[end], NLM_F_REQUEST | NLM_F_ACK, self._next_seq())
                end += 1
            self._send(self.wbuf.data, self.wbuf.length)
            self._collect(first, end - start, ops, start, replies, errors)
            start = end
        for i in range(count):
            if replies[i] is None:
                replies[i] = []
        if errors:
            errors.sort(key=lambda e: e.index)
            if check:
                first_error = errors[0]
                first_error.errors = errors
                raise first_error
            for e in errors:
                replies[e.index] = e
        return replies

    def request(self, bytes msg, op=None):
        """Send one request and wait for its ACK; returns its reply messages."""
        return self.batch([msg], [op if op is not None else _op_name(self.protocol, msg)])[0]

    def send_raw(self, data):
        """Write pre-built bytes to the socket as they are (benchmarks, tests)."""
        cdef bytes b = bytes(data)
        self._check_open()
        self._send(PyBytes_AS_STRING(b), len(b))

    def dump(self, bytes msg, op=None, int retries=DUMP_RETRIES_DEFAULT, on_chunk=None):
        """Run a dump request; return every object, consistent.

        ``msg`` is a GET request (NLM_F_DUMP is added).  If the kernel flags
        the dump as interrupted (the list changed while it was read), the
        dump is run again, at most ``retries`` more times, then
        DumpInterrupted is raised.  ``on_chunk`` is called after each
        datagram is read (progress reports; tests use it to change state
        mid-dump).
        """
        cdef int attempt = 0
        cdef uint32_t seq
        cdef Py_ssize_t n
        cdef int nread
        cdef bint done
        cdef bint intr
        cdef bytes chunk
        cdef object owner
        cdef _Arena arena
        cdef const uint8_t *base
        cdef list out
        cdef int proto = self.protocol
        self._check_open()
        if op is None:
            op = _op_name(proto, msg)
        while True:
            attempt += 1
            self.wbuf.clear()
            seq = self._next_seq()
            self._queue(msg, NLM_F_REQUEST | NLM_F_DUMP, seq)
            self._send(self.wbuf.data, self.wbuf.length)
            out = []
            done = False
            intr = False
            nread = 0
            arena = None
            while not done:
                if nread < DUMP_INLINE_DATAGRAMS:
                    # A short dump (most are) costs no arena: each datagram
                    # is copied into a bytes object of its size.
                    n = self._recv(0)
                    chunk = PyBytes_FromStringAndSize(self.rbuf, n)
                    owner = chunk
                    base = <const uint8_t *>PyBytes_AS_STRING(chunk)
                    nread += 1
                else:
                    if arena is None or ARENA_SIZE - arena.used < self.rbuf_size:
                        arena = _arena_new()
                    base = <const uint8_t *>arena.mem + arena.used
                    n = self._recv_into(arena.mem + arena.used, ARENA_SIZE - arena.used, 0)
                    arena.used += (n + 7) & ~7
                    owner = arena
                done = self._dump_chunk(owner, base, n, seq, proto, op, out, &intr)
                if on_chunk is not None:
                    on_chunk()
            if not intr:
                return out
            if attempt > retries:
                raise DumpInterrupted(op, seq, attempt)

    cdef bint _dump_chunk(self, object owner, const uint8_t *base, Py_ssize_t n, uint32_t seq,
                          int proto, object op, list out, bint *intr) except -1:
        """Parse one datagram of dump ``seq`` (at ``base``, in memory ``owner``
        keeps alive) into ``out``: whether it ended the dump.  Sets ``intr``
        if the kernel flagged the dump as interrupted."""
        cdef Py_ssize_t off = 0
        cdef uint32_t mlen
        cdef const uint8_t *m
        cdef uint16_t mtype, mflags
        cdef int32_t derr
        while off + <Py_ssize_t>sizeof(nlmsghdr) <= n:
            m = base + off
            mlen = read_u32(m)
            if mlen < sizeof(nlmsghdr) or off + mlen > n:
                break
            if read_u32(m + 8) == seq:
                mtype = read_u16(m + 4)
                mflags = read_u16(m + 6)
                if mflags & NLM_F_DUMP_INTR:
                    intr[0] = True
                if mtype == NLMSG_DONE:
                    if mlen >= sizeof(nlmsghdr) + 4:
                        derr = <int32_t>read_u32(m + sizeof(nlmsghdr))
                        if derr < 0:
                            raise self._error_from(m, mlen, op, -1, seq)
                    return True
                elif mtype == NLMSG_ERROR:
                    raise self._error_from(m, mlen, op, -1, seq)
                elif mtype != NLMSG_NOOP:
                    out.append(message_parse_at(owner, m, mlen, proto))
            off += libnet_nlmsg_align(mlen)
        return False

    def recv_messages(self, timeout=None):
        """Wait up to ``timeout`` seconds (None: forever) for messages, e.g.
        events; return all that are queued (an empty list on timeout).

        If the kernel dropped events because the queue overflowed (ENOBUFS),
        the list holds RESYNC where they were lost: the caller's view is stale
        and should be rebuilt from a dump.
        """
        cdef pollfd pfd
        cdef int ms = -1 if timeout is None else <int>(timeout * 1000)
        cdef int rc
        cdef Py_ssize_t n, off
        cdef uint32_t mlen
        cdef list out = []
        cdef bytes chunk
        self._check_open()
        pfd.fd = self.fd
        pfd.events = POLLIN
        pfd.revents = 0
        with nogil:
            rc = poll(&pfd, 1, ms)
        if rc < 0:
            if errno == EINTR:
                return out
            _check(rc, "poll")
        if rc == 0:
            return out
        while True:
            try:
                n = self._recv(MSG_DONTWAIT)
            except NetlinkError as e:
                if e.errno == ENOBUFS:
                    out.append(RESYNC)
                    continue
                raise
            if n < 0:
                break
            chunk = PyBytes_FromStringAndSize(self.rbuf, n)
            off = 0
            while off + <Py_ssize_t>sizeof(nlmsghdr) <= n:
                mlen = read_u32(<const uint8_t *>PyBytes_AS_STRING(chunk) + off)
                if mlen < sizeof(nlmsghdr) or off + mlen > n:
                    break
                out.append(message_parse(chunk, off, mlen, self.protocol))
                off += libnet_nlmsg_align(mlen)
        return out


cdef object _op_name(int protocol, object msg):
    cdef MessageType mt
    if isinstance(msg, bytes) and len(msg) >= 6:
        mt = message_type(protocol, read_u16(<const uint8_t *>PyBytes_AS_STRING(msg) + 4))
        if mt is not None:
            return mt.name
    return None
