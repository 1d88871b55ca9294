# cython: language_level=3
"""libnet's netlink core: buffers, attribute codecs, messages and sockets.

The hub of the core: it only includes the fragments below, each one concern.
Declarations of C functions and kernel constants live in includes/*.pxd; the
extension types are declared in _netlink.pxd.
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t, int32_t, int64_t
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE

from includes.linux cimport *
from includes.sys cimport *
from includes.nftables cimport *

include "core/constants.pxi"
include "core/errors.pxi"
include "core/buffer.pxi"
include "core/cursor.pxi"
include "core/attrs.pxi"
include "core/message.pxi"
include "core/rtnl.pxi"
include "core/system.pxi"
include "core/ports.pxi"
include "core/socket.pxi"
include "core/netns.pxi"
include "core/nft.pxi"
