# Namespaces made in one call: libnet.netns.create's steps (the mount point,
# unshare, the bind mount, the way back), and what a sandbox needs from the
# inside first (an fd of the namespace, a route socket, the loopback up),
# all without the GIL.  A thread making namespaces ahead for the controller
# (libnet.nspool) then holds up the caller's Python code once per namespace,
# not at each of its syscalls, and the caller later skips the two setns of
# opening its socket there.

cdef enum:
    NETNS_FD = 1             # keep an fd of the new namespace
    NETNS_ROUTE_SOCKET = 2   # a NETLINK_ROUTE socket made inside, set up as NetlinkSocket's
    NETNS_LOOPBACK_UP = 4    # lo up, through that socket


cdef int _loopback_up(int fd) noexcept nogil:
    """Bring up the loopback of the socket's namespace (index 1 in every
    namespace): 0, or the errno."""
    cdef char buf[512]
    cdef nlmsghdr *h = <nlmsghdr *>buf
    cdef ifinfomsg *ifi = <ifinfomsg *>(buf + sizeof(nlmsghdr))
    cdef ssize_t n
    cdef int e
    memset(buf, 0, sizeof(nlmsghdr) + sizeof(ifinfomsg))
    h.nlmsg_len = sizeof(nlmsghdr) + sizeof(ifinfomsg)
    h.nlmsg_type = RTM_NEWLINK
    h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK
    h.nlmsg_seq = 1
    ifi.ifi_family = AF_UNSPEC
    ifi.ifi_index = 1
    ifi.ifi_flags = IFF_UP
    ifi.ifi_change = IFF_UP
    if send(fd, buf, h.nlmsg_len, 0) < 0:
        return errno
    while True:
        n = recv(fd, buf, sizeof(buf), 0)
        if n >= 0:
            break
        e = errno
        if e != EINTR:
            return e
    if <size_t>n < sizeof(nlmsghdr) + sizeof(int) or h.nlmsg_type != NLMSG_ERROR:
        return EPROTO
    return -(<nlmsgerr *>(buf + sizeof(nlmsghdr))).error


cdef int _make_netns(const char *path, int what, int *err, int *ns_fd,
                     int *sock_fd) noexcept nogil:
    """Create the file ``path`` (it must not exist), give the calling thread
    a new network namespace, make inside what ``what`` asks for, bind-mount
    the namespace on the file and move the thread back: 0, or the step that
    failed (see _MAKE_NETNS_STEPS) with its errno in ``err``.  On failure
    nothing is left: no mount, no file, no fd (after a failed move back,
    step 6, the mount and fds stay: the thread is in the new namespace)."""
    cdef int fd, cur, rc = 0
    ns_fd[0] = sock_fd[0] = -1
    fd = c_open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
    if fd < 0:
        err[0] = errno
        return 1
    c_close(fd)
    cur = c_open(b"/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, 0)
    if cur < 0:
        err[0] = errno
        c_unlink(path)
        return 2
    if c_unshare(CLONE_NEWNET) < 0:
        err[0] = errno
        c_close(cur)
        c_unlink(path)
        return 3
    if what & NETNS_FD:
        ns_fd[0] = c_open(b"/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, 0)
        if ns_fd[0] < 0:
            err[0] = errno
            rc = 4
    if rc == 0 and what & (NETNS_ROUTE_SOCKET | NETNS_LOOPBACK_UP):
        sock_fd[0] = _nl_open(NETLINK_ROUTE, SOCKET_RCVBUF, SOCKET_SNDBUF)
        if sock_fd[0] < 0:
            err[0] = errno
            rc = 4
        elif what & NETNS_LOOPBACK_UP:
            err[0] = _loopback_up(sock_fd[0])
            if err[0]:
                rc = 4
    if rc == 0 and c_mount(b"/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0:
        err[0] = errno
        rc = 5
    if c_setns(cur, CLONE_NEWNET) < 0:
        err[0] = errno
        c_close(cur)
        return 6
    c_close(cur)
    if rc:
        if ns_fd[0] >= 0:
            c_close(ns_fd[0])
        if sock_fd[0] >= 0:
            c_close(sock_fd[0])
        ns_fd[0] = sock_fd[0] = -1
        c_unlink(path)
    return rc


_MAKE_NETNS_STEPS = ("", "", "open the thread's namespace", "unshare", "set up the inside",
                     "mount", "setns back")


def make_netns(path, bint fd=False, bint route_socket=False, bint loopback_up=False):
    """A new network namespace bind-mounted on ``path`` (a file it creates:
    FileExistsError if there is one), made on the calling thread, which is
    back in its own namespace when this returns.  Made inside on the way, if
    asked: an fd of the namespace (``fd``), a NETLINK_ROUTE socket set up as
    NetlinkSocket sets up its own (``route_socket``; wrap it with
    ``NetlinkSocket(fd=...)``), the loopback up (``loopback_up``, through
    that socket).  Returns (namespace fd, socket fd), -1 for what was not
    asked for; the caller owns them.  On failure nothing is left behind,
    except after a failed move back, raised as RuntimeError (the thread is
    then in the new namespace)."""
    cdef bytes p = _os.fsencode(path)
    cdef const char *pp = p
    cdef int rc, err = 0, ns_fd = -1, sock_fd = -1
    cdef int what = ((NETNS_FD if fd else 0) | (NETNS_ROUTE_SOCKET if route_socket else 0)
                     | (NETNS_LOOPBACK_UP if loopback_up else 0))
    with nogil:
        rc = _make_netns(pp, what, &err, &ns_fd, &sock_fd)
    if rc == 6:
        raise RuntimeError(f"setns back after making {path}: {_os.strerror(err)}; this "
                           "thread is left in the new namespace")
    if rc:
        step = _MAKE_NETNS_STEPS[rc]
        raise OSError(err, f"{step}: {_os.strerror(err)}" if step else _os.strerror(err), path)
    return ns_fd, sock_fd
