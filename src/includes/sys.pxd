# C declarations: sockets, namespaces and mounts (libc).  Every call is
# declared nogil so the core can release the GIL around the syscall.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, uint64_t

cdef extern from "compat.h" nogil:
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t

    struct iovec:
        void *iov_base
        size_t iov_len

    struct msghdr:
        void *msg_name
        socklen_t msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags

    struct pollfd:
        int fd
        short events
        short revents

    enum:
        AF_NETLINK
        SOCK_RAW
        SOCK_CLOEXEC
        SOL_SOCKET
        SO_RCVBUF
        SO_SNDBUF
        SO_RCVBUFFORCE
        SO_SNDBUFFORCE
        MSG_DONTWAIT
        MSG_PEEK
        MSG_TRUNC
        POLLIN
        CLONE_NEWNET
        MS_BIND
        MS_REC
        MS_PRIVATE
        MS_SHARED
        MNT_DETACH
        O_RDONLY
        O_CREAT
        O_EXCL
        O_CLOEXEC
        EINTR
        EPROTO
        EAGAIN
        ENOBUFS
        SOCK_DGRAM
        SO_REUSEADDR
        IPPROTO_IPV6
        IPV6_V6ONLY

    int socket(int domain, int type, int protocol)
    struct sockaddr:
        sa_family_t sa_family

    int bind(int fd, const sockaddr *addr, socklen_t len)
    int getsockname(int fd, sockaddr *addr, socklen_t *len)
    int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
    ssize_t sendmsg(int fd, const msghdr *msg, int flags)
    ssize_t send(int fd, const void *buf, size_t len, int flags)
    ssize_t recv(int fd, void *buf, size_t len, int flags)
    int poll(pollfd *fds, unsigned long nfds, int timeout)
    int c_setns "setns"(int fd, int nstype)
    int c_unshare "unshare"(int flags)
    int c_mount "mount"(const char *source, const char *target, const char *fstype,
                       unsigned long flags, const void *data)
    int c_umount2 "umount2"(const char *target, int flags)
    int c_close "close"(int fd)
    int c_open "open"(const char *path, int flags, int mode)
    int c_unlink "unlink"(const char *path)
    int inet_pton(int af, const char *src, void *dst)
    const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
    int errno

cdef extern from "compat.h" nogil:
    uint16_t htons(uint16_t)
    uint16_t ntohs(uint16_t)
    uint32_t htonl(uint32_t)
    uint32_t ntohl(uint32_t)
