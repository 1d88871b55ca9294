# Errors raised by the core.
#
# One NetlinkError(OSError) carries the errno, the kernel's extended-ack
# message and offset, the sequence number and the operation that failed.
# Subclasses by errno also inherit the built-in exception a caller would
# catch for the same condition (FileExistsError for EEXIST, ...), so
# `except FileExistsError` works on netlink failures too.

import os as _os


class NetlinkError(OSError):
    """A request the kernel refused.

    Attributes: ``errno``, ``strerror``, ``ext_ack`` (the kernel's extended-ack
    message or None), ``offset`` (byte offset of the offending attribute in the
    request, or None), ``seq`` (sequence number), ``operation`` (what was asked,
    e.g. ``"link_add veth0"``), ``index`` (position in a batch) and ``errors``
    (every failure of the batch, this one first).
    """

    def __init__(self, code, ext_ack=None, operation=None, seq=None,
                 offset=None, index=None):
        super().__init__(code, _os.strerror(code))
        self.ext_ack = ext_ack
        self.operation = operation
        self.seq = seq
        self.offset = offset
        self.index = index
        self._others = ()

    @property
    def errors(self):
        """Every failure of the batch, this one first.  (Kept as the others
        only: an error listing itself would be a reference cycle, left with
        its traceback's frames to the garbage collector.)"""
        return [self, *self._others]

    @errors.setter
    def errors(self, value):
        self._others = tuple(e for e in value if e is not self)

    def __str__(self):
        text = self.strerror
        if self.ext_ack:
            text = f"{text}: {self.ext_ack}"
        if self.operation:
            text = f"{self.operation}: {text}"
        return f"[Errno {self.errno}] {text}"

    def __reduce__(self):
        return (type(self), (self.errno, self.ext_ack, self.operation,
                             self.seq, self.offset, self.index))


class NetlinkExistsError(NetlinkError, FileExistsError):
    """EEXIST: the object is already there."""


class NetlinkNotFoundError(NetlinkError, FileNotFoundError):
    """ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL: the object is not there."""


class NetlinkPermissionError(NetlinkError, PermissionError):
    """EPERM, EACCES: the caller lacks the capability."""


class DumpInterrupted(NetlinkError):
    """A dump kept changing under the reader (NLM_F_DUMP_INTR) past its retries."""

    def __init__(self, operation=None, seq=None, attempts=0):
        super().__init__(_errno.EINTR, f"dump inconsistent after {attempts} attempts",
                         operation, seq)
        self.attempts = attempts

    def __reduce__(self):
        return (type(self), (self.operation, self.seq, self.attempts))


import errno as _errno

_ERROR_CLASSES = {
    _errno.EEXIST: NetlinkExistsError,
    _errno.ENOENT: NetlinkNotFoundError,
    _errno.ENODEV: NetlinkNotFoundError,
    _errno.ESRCH: NetlinkNotFoundError,
    _errno.EADDRNOTAVAIL: NetlinkNotFoundError,
    _errno.EPERM: NetlinkPermissionError,
    _errno.EACCES: NetlinkPermissionError,
}


def netlink_error(int code, ext_ack=None, operation=None, seq=None,
                  offset=None, index=None):
    """Build the NetlinkError subclass that matches ``code`` (a positive errno)."""
    cls = _ERROR_CLASSES.get(code, NetlinkError)
    return cls(code, ext_ack, operation, seq, offset, index)
