# Namespaces and mounts: thin wrappers over the syscalls libnet.netns needs,
# with the GIL released and errno turned into OSError.  Python's os module
# only gained setns/unshare in 3.12; the core offers them from 3.10 on.

import threading as _threading

# Switching a thread's namespace to open a socket there is short and
# thread-local, but serialised so that nested switches on one thread and
# concurrent ones never interleave their restore steps.
_netns_lock = _threading.RLock()


cdef int _check(int rc, str what) except -1:
    cdef int e
    if rc < 0:
        e = errno
        raise OSError(e, f"{what}: {_os.strerror(e)}")
    return rc


def setns(int fd, int nstype=CLONE_NEWNET):
    """Move the calling thread into the namespace open as ``fd``."""
    cdef int rc
    with nogil:
        rc = c_setns(fd, nstype)
    _check(rc, "setns")


def unshare(int flags):
    """Give the calling thread new namespaces (e.g. CLONE_NEWNET)."""
    cdef int rc
    with nogil:
        rc = c_unshare(flags)
    _check(rc, "unshare")


def mount(source, target, fstype, unsigned long flags=0, data=None):
    """mount(2); ``source``, ``fstype`` and ``data`` may be None."""
    cdef bytes s = _os.fsencode(source) if source is not None else None
    cdef bytes t = _os.fsencode(target)
    cdef bytes f = _os.fsencode(fstype) if fstype is not None else None
    cdef bytes d = _os.fsencode(data) if data is not None else None
    cdef const char *sp = NULL
    cdef const char *tp = t
    cdef const char *fp = NULL
    cdef const char *dp = NULL
    if s is not None:
        sp = s
    if f is not None:
        fp = f
    if d is not None:
        dp = d
    cdef int rc
    with nogil:
        rc = c_mount(sp, tp, fp, flags, dp)
    _check(rc, f"mount {target}")


def umount(target, int flags=0):
    """umount2(2)."""
    cdef bytes t = _os.fsencode(target)
    cdef const char *tp = t
    cdef int rc
    with nogil:
        rc = c_umount2(tp, flags)
    _check(rc, f"umount {target}")


CLONE_NEWNET_FLAG = CLONE_NEWNET
MS_BIND_FLAG = MS_BIND
MS_REC_FLAG = MS_REC
MS_PRIVATE_FLAG = MS_PRIVATE
MS_SHARED_FLAG = MS_SHARED
MNT_DETACH_FLAG = MNT_DETACH
