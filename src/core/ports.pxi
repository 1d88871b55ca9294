# Bind tests for the port mapper (libnet.portmap.PortProbe): whether a host
# port is free is asked of the kernel by binding a socket to it, which is
# exact (a listener, a bound socket, SO_REUSEADDR rules) and a few
# microseconds, where reading the socket tables walks all of them.  The
# sockets are made ahead, many at a time and in the host's namespace; a test
# is then one bind and one close, with no Python socket object around them.

cdef int _probe_socket(int family, int type, int protocol) noexcept nogil:
    """One socket for a bind test, or -1 (errno set)."""
    cdef int one = 1
    cdef int fd = socket(family, type | SOCK_CLOEXEC, protocol)
    if fd < 0:
        return -1
    if family == AF_INET6 and setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(int)) < 0:
        c_close(fd)
        return -1
    # A TIME_WAIT connection on the port does not hold it; a listener does.
    if type != SOCK_DGRAM and setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(int)) < 0:
        c_close(fd)
        return -1
    return fd


def probe_sockets(int count, int family, int type, int protocol=0, netns=None):
    """Up to ``count`` sockets for ``bind_test`` (file descriptors, close on
    exec; IPv6 ones IPv6-only; SO_REUSEADDR unless datagram), made in the
    namespace open as fd ``netns`` (None: the caller's).  Fewer if the
    kernel stops giving them (none for a protocol it lacks): the error of
    the first one that failed is raised only when none was made."""
    cdef int fd, cur = -1, err = 0, i
    cdef list out = []
    if count <= 0:
        return out
    if family != AF_INET and family != AF_INET6:
        raise ValueError(f"family {family}: AF_INET or AF_INET6")
    with _netns_lock:
        if netns is not None:
            cur = _os.open("/proc/thread-self/ns/net", _os.O_RDONLY | _os.O_CLOEXEC)
        try:
            if netns is not None:
                setns(int(netns), CLONE_NEWNET)
            try:
                for i in range(count):
                    with nogil:
                        fd = _probe_socket(family, type, protocol)
                        if fd < 0:
                            err = errno
                    if fd < 0:
                        break
                    out.append(fd)
            finally:
                if netns is not None:
                    setns(cur, CLONE_NEWNET)
        finally:
            if cur >= 0:
                _os.close(cur)
    if not out and err:
        raise OSError(err, f"socket: {_os.strerror(err)}")
    return out


def bind_test(int fd, int family, const uint8_t[:] address, int port):
    """Bind ``fd`` (from ``probe_sockets``) to ``address`` (packed, 4 or 16
    bytes) and ``port``, then close it, whatever happened: 0 if the bind
    succeeded (the port was free), else its errno (EADDRINUSE: held)."""
    cdef uint8_t sa[28]
    cdef socklen_t n
    cdef int rc, err = 0
    cdef uint16_t fam = <uint16_t>family
    if port < 0 or port > 65535:
        c_close(fd)
        raise ValueError(f"port {port} out of range")
    memset(sa, 0, sizeof(sa))
    memcpy(sa, &fam, 2)
    sa[2] = <uint8_t>(port >> 8)
    sa[3] = <uint8_t>(port & 0xff)
    if family == AF_INET and address.shape[0] == 4:
        memcpy(&sa[4], &address[0], 4)
        n = 16
    elif family == AF_INET6 and address.shape[0] == 16:
        memcpy(&sa[8], &address[0], 16)
        n = 28
    else:
        c_close(fd)
        raise ValueError("an IPv4 address is 4 bytes, an IPv6 one 16")
    with nogil:
        rc = bind(fd, <sockaddr *>sa, n)
        if rc < 0:
            err = errno
        c_close(fd)
    return err
