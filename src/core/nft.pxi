# nf_tables over nfnetlink: attribute sets, message types, element lists and
# transactions (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h;
# names follow the kernel's Documentation/netlink/specs/nftables.yaml).
#
# Every nf_tables message is a netlink message of protocol NETLINK_NETFILTER
# whose type is (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*, with a 4-byte
# nfgenmsg after the netlink header:
#
#   +----------+--------+---------+-----------+----------------------------+
#   | nlmsghdr | family | version | res_id    | attributes (big endian     |
#   | 16 bytes | u8     | u8 (0)  | be16      | integers: be32, be64)      |
#   +----------+--------+---------+-----------+----------------------------+
#
# A change is a transaction: one datagram holding
#
#   BATCH_BEGIN(res_id=NFNL_SUBSYS_NFTABLES [, NFNL_BATCH_GENID])
#   msg 1 ... msg N          (each with NLM_F_ACK and its own seq)
#   BATCH_END
#
# which the kernel applies all or nothing (nfnetlink_rcv_batch).  It runs the
# whole batch inside our sendmsg(), so every reply is queued on the socket by
# the time sendmsg returns; replies are then read without blocking, and a
# missing one is reported rather than waited for.  What comes back (checked
# against 6.18 by tests/test_nft_transaction.py::test_what_the_kernel_answers,
# except the commit-failure case, read from net/netfilter/nfnetlink.c):
#   - success: one ACK (error 0) per message, in order;
#   - a message fails: the whole batch is aborted, yet every message is still
#     answered: the failed ones with their errno, the others with 0;
#   - the generation id does not match: one error, ERESTART, for BATCH_BEGIN's
#     seq and nothing else (the batch is not even parsed);
#   - the commit itself fails: an error for BATCH_BEGIN's seq, then the acks.

from libc.stdlib cimport malloc, free
import errno as _errno_nft


cdef enum:
    NFT_ELEMS_NEST_MAX = 60000    # an element list is one nested attribute: < 64 KiB
    NFT_SUBSYS_SHIFT = 8


NFGENMSG = StructSpec("nfgenmsg", "!BBH", ("family", "version", "res_id"))
assert NFGENMSG.size == sizeof(nfgenmsg)


class GenerationChanged(NetlinkError):
    """ERESTART: the ruleset changed since the transaction's generation id
    was read, so the kernel refused the whole transaction.  Nothing was
    applied; re-read the state and retry."""

    retryable = True


# ------------------------------------------------------------ attribute sets

NFT_VERDICT_ATTRS = AttrSet("verdict-attrs", [
    (NFTA_VERDICT_CODE, "code", "be32"),
    (NFTA_VERDICT_CHAIN, "chain", "string", {"maxlen": 255}),
    (NFTA_VERDICT_CHAIN_ID, "chain_id", "be32"),
])

NFT_DATA_ATTRS = AttrSet("data-attrs", [
    (NFTA_DATA_VALUE, "value", "binary"),
    (NFTA_DATA_VERDICT, "verdict", "nest", NFT_VERDICT_ATTRS),
])

NFT_COUNTER_ATTRS = AttrSet("counter-attrs", [
    (NFTA_COUNTER_BYTES, "bytes", "be64"),
    (NFTA_COUNTER_PACKETS, "packets", "be64"),
    (NFTA_COUNTER_PAD, "pad", "binary"),
])

# One AttrSet per expression; NFTA_EXPR_DATA is a sub-message chosen by
# NFTA_EXPR_NAME (the kernel's nft_expr_type.name).
NFT_EXPR_DATA = {
    "payload": AttrSet("expr-payload-attrs", [
        (NFTA_PAYLOAD_DREG, "dreg", "be32"),
        (NFTA_PAYLOAD_BASE, "base", "be32"),
        (NFTA_PAYLOAD_OFFSET, "offset", "be32"),
        (NFTA_PAYLOAD_LEN, "len", "be32"),
        (NFTA_PAYLOAD_SREG, "sreg", "be32"),
        (NFTA_PAYLOAD_CSUM_TYPE, "csum_type", "be32"),
        (NFTA_PAYLOAD_CSUM_OFFSET, "csum_offset", "be32"),
        (NFTA_PAYLOAD_CSUM_FLAGS, "csum_flags", "be32"),
    ]),
    "meta": AttrSet("expr-meta-attrs", [
        (NFTA_META_DREG, "dreg", "be32"),
        (NFTA_META_KEY, "key", "be32"),
        (NFTA_META_SREG, "sreg", "be32"),
    ]),
    "cmp": AttrSet("expr-cmp-attrs", [
        (NFTA_CMP_SREG, "sreg", "be32"),
        (NFTA_CMP_OP, "op", "be32"),
        (NFTA_CMP_DATA, "data", "nest", NFT_DATA_ATTRS),
    ]),
    "bitwise": AttrSet("expr-bitwise-attrs", [
        (NFTA_BITWISE_SREG, "sreg", "be32"),
        (NFTA_BITWISE_DREG, "dreg", "be32"),
        (NFTA_BITWISE_LEN, "len", "be32"),
        (NFTA_BITWISE_MASK, "mask", "nest", NFT_DATA_ATTRS),
        (NFTA_BITWISE_XOR, "xor", "nest", NFT_DATA_ATTRS),
        (NFTA_BITWISE_OP, "op", "be32"),
        (NFTA_BITWISE_DATA, "data", "nest", NFT_DATA_ATTRS),
    ]),
    "immediate": AttrSet("expr-immediate-attrs", [
        (NFTA_IMMEDIATE_DREG, "dreg", "be32"),
        (NFTA_IMMEDIATE_DATA, "data", "nest", NFT_DATA_ATTRS),
    ]),
    "lookup": AttrSet("expr-lookup-attrs", [
        (NFTA_LOOKUP_SET, "set", "string", {"maxlen": 255}),
        (NFTA_LOOKUP_SREG, "sreg", "be32"),
        (NFTA_LOOKUP_DREG, "dreg", "be32"),
        (NFTA_LOOKUP_SET_ID, "set_id", "be32"),
        (NFTA_LOOKUP_FLAGS, "flags", "be32"),
    ]),
    "nat": AttrSet("expr-nat-attrs", [
        (NFTA_NAT_TYPE, "type", "be32"),
        (NFTA_NAT_FAMILY, "family", "be32"),
        (NFTA_NAT_REG_ADDR_MIN, "reg_addr_min", "be32"),
        (NFTA_NAT_REG_ADDR_MAX, "reg_addr_max", "be32"),
        (NFTA_NAT_REG_PROTO_MIN, "reg_proto_min", "be32"),
        (NFTA_NAT_REG_PROTO_MAX, "reg_proto_max", "be32"),
        (NFTA_NAT_FLAGS, "flags", "be32"),
    ]),
    "masq": AttrSet("expr-masq-attrs", [
        (NFTA_MASQ_FLAGS, "flags", "be32"),
        (NFTA_MASQ_REG_PROTO_MIN, "reg_proto_min", "be32"),
        (NFTA_MASQ_REG_PROTO_MAX, "reg_proto_max", "be32"),
    ]),
    "redir": AttrSet("expr-redir-attrs", [
        (NFTA_REDIR_REG_PROTO_MIN, "reg_proto_min", "be32"),
        (NFTA_REDIR_REG_PROTO_MAX, "reg_proto_max", "be32"),
        (NFTA_REDIR_FLAGS, "flags", "be32"),
    ]),
    "ct": AttrSet("expr-ct-attrs", [
        (NFTA_CT_DREG, "dreg", "be32"),
        (NFTA_CT_KEY, "key", "be32"),
        (NFTA_CT_DIRECTION, "direction", "u8"),
        (NFTA_CT_SREG, "sreg", "be32"),
    ]),
    "counter": NFT_COUNTER_ATTRS,
    "fib": AttrSet("expr-fib-attrs", [
        (NFTA_FIB_DREG, "dreg", "be32"),
        (NFTA_FIB_RESULT, "result", "be32"),
        (NFTA_FIB_FLAGS, "flags", "be32"),
    ]),
    "reject": AttrSet("expr-reject-attrs", [
        (NFTA_REJECT_TYPE, "type", "be32"),
        (NFTA_REJECT_ICMP_CODE, "icmp_code", "u8"),
    ]),
    "range": AttrSet("expr-range-attrs", [
        (NFTA_RANGE_SREG, "sreg", "be32"),
        (NFTA_RANGE_OP, "op", "be32"),
        (NFTA_RANGE_FROM_DATA, "from_data", "nest", NFT_DATA_ATTRS),
        (NFTA_RANGE_TO_DATA, "to_data", "nest", NFT_DATA_ATTRS),
    ]),
}

NFT_EXPR_ATTRS = AttrSet("expr-attrs", [
    (NFTA_EXPR_NAME, "name", "string", {"maxlen": 15}),
    (NFTA_EXPR_DATA, "data", "submsg", SubMessage("name", NFT_EXPR_DATA)),
])

# Lists of expressions: NFTA_LIST_ELEM repeated.  The kernel nests these
# without NLA_F_NESTED (nla_nest_start_noflag), and so do we, so dumps and
# requests have the same bytes.
NFT_EXPR_LIST = AttrSet("expr-list-attrs", [
    (NFTA_LIST_ELEM, "elem", "nest", NFT_EXPR_ATTRS, {"multi": True}),
])

NFT_TABLE_ATTRS = AttrSet("table-attrs", [
    (NFTA_TABLE_NAME, "name", "string", {"maxlen": 255}),
    (NFTA_TABLE_FLAGS, "flags", "be32"),
    (NFTA_TABLE_USE, "use", "be32"),
    (NFTA_TABLE_HANDLE, "handle", "be64"),
    (NFTA_TABLE_PAD, "pad", "binary"),
    (NFTA_TABLE_USERDATA, "userdata", "binary"),
    (NFTA_TABLE_OWNER, "owner", "be32"),
])

NFT_HOOK_ATTRS = AttrSet("hook-attrs", [
    (NFTA_HOOK_HOOKNUM, "hooknum", "be32"),
    (NFTA_HOOK_PRIORITY, "priority", "be32"),
    (NFTA_HOOK_DEV, "dev", "string", {"maxlen": 15}),
    (NFTA_HOOK_DEVS, "devs", "binary"),
])

NFT_CHAIN_ATTRS = AttrSet("chain-attrs", [
    (NFTA_CHAIN_TABLE, "table", "string", {"maxlen": 255}),
    (NFTA_CHAIN_HANDLE, "handle", "be64"),
    (NFTA_CHAIN_NAME, "name", "string", {"maxlen": 255}),
    (NFTA_CHAIN_HOOK, "hook", "nest", NFT_HOOK_ATTRS),
    (NFTA_CHAIN_POLICY, "policy", "be32"),
    (NFTA_CHAIN_USE, "use", "be32"),
    (NFTA_CHAIN_TYPE, "type", "string", {"maxlen": 15}),
    (NFTA_CHAIN_COUNTERS, "counters", "nest", NFT_COUNTER_ATTRS),
    (NFTA_CHAIN_PAD, "pad", "binary"),
    (NFTA_CHAIN_FLAGS, "flags", "be32"),
    (NFTA_CHAIN_ID, "id", "be32"),
    (NFTA_CHAIN_USERDATA, "userdata", "binary"),
])

NFT_RULE_ATTRS = AttrSet("rule-attrs", [
    (NFTA_RULE_TABLE, "table", "string", {"maxlen": 255}),
    (NFTA_RULE_CHAIN, "chain", "string", {"maxlen": 255}),
    (NFTA_RULE_HANDLE, "handle", "be64"),
    (NFTA_RULE_EXPRESSIONS, "expressions", "nest", NFT_EXPR_LIST),
    (NFTA_RULE_COMPAT, "compat", "binary"),
    (NFTA_RULE_POSITION, "position", "be64"),
    (NFTA_RULE_USERDATA, "userdata", "binary"),
    (NFTA_RULE_PAD, "pad", "binary"),
    (NFTA_RULE_ID, "id", "be32"),
    (NFTA_RULE_POSITION_ID, "position_id", "be32"),
    (NFTA_RULE_CHAIN_ID, "chain_id", "be32"),
])

NFT_SET_FIELD_ATTRS = AttrSet("set-field-attrs", [
    (NFTA_SET_FIELD_LEN, "len", "be32"),
])

NFT_SET_FIELD_LIST = AttrSet("set-field-list-attrs", [
    (NFTA_LIST_ELEM, "elem", "nest", NFT_SET_FIELD_ATTRS, {"multi": True}),
])

NFT_SET_DESC_ATTRS = AttrSet("set-desc-attrs", [
    (NFTA_SET_DESC_SIZE, "size", "be32"),
    (NFTA_SET_DESC_CONCAT, "concat", "nest", NFT_SET_FIELD_LIST),
])

NFT_SET_ATTRS = AttrSet("set-attrs", [
    (NFTA_SET_TABLE, "table", "string", {"maxlen": 255}),
    (NFTA_SET_NAME, "name", "string", {"maxlen": 255}),
    (NFTA_SET_FLAGS, "flags", "be32"),
    (NFTA_SET_KEY_TYPE, "key_type", "be32"),
    (NFTA_SET_KEY_LEN, "key_len", "be32"),
    (NFTA_SET_DATA_TYPE, "data_type", "be32"),
    (NFTA_SET_DATA_LEN, "data_len", "be32"),
    (NFTA_SET_POLICY, "policy", "be32"),
    (NFTA_SET_DESC, "desc", "nest", NFT_SET_DESC_ATTRS),
    (NFTA_SET_ID, "id", "be32"),
    (NFTA_SET_TIMEOUT, "timeout", "be64"),
    (NFTA_SET_GC_INTERVAL, "gc_interval", "be32"),
    (NFTA_SET_USERDATA, "userdata", "binary"),
    (NFTA_SET_PAD, "pad", "binary"),
    (NFTA_SET_OBJ_TYPE, "obj_type", "be32"),
    (NFTA_SET_HANDLE, "handle", "be64"),
    (NFTA_SET_EXPR, "expr", "binary"),
    (NFTA_SET_EXPRESSIONS, "expressions", "binary"),
])

NFT_SET_ELEM_ATTRS = AttrSet("set-elem-attrs", [
    (NFTA_SET_ELEM_KEY, "key", "nest", NFT_DATA_ATTRS),
    (NFTA_SET_ELEM_DATA, "data", "nest", NFT_DATA_ATTRS),
    (NFTA_SET_ELEM_FLAGS, "flags", "be32"),
    (NFTA_SET_ELEM_TIMEOUT, "timeout", "be64"),
    (NFTA_SET_ELEM_EXPIRATION, "expiration", "be64"),
    (NFTA_SET_ELEM_USERDATA, "userdata", "binary"),
    (NFTA_SET_ELEM_EXPR, "expr", "binary"),
    (NFTA_SET_ELEM_PAD, "pad", "binary"),
    (NFTA_SET_ELEM_OBJREF, "objref", "string"),
    (NFTA_SET_ELEM_KEY_END, "key_end", "nest", NFT_DATA_ATTRS),
    (NFTA_SET_ELEM_EXPRESSIONS, "expressions", "binary"),
])

NFT_SET_ELEM_LIST = AttrSet("set-elem-list-elements", [
    (NFTA_LIST_ELEM, "elem", "nest", NFT_SET_ELEM_ATTRS, {"multi": True}),
])

NFT_SET_ELEM_LIST_ATTRS = AttrSet("set-elem-list-attrs", [
    (NFTA_SET_ELEM_LIST_TABLE, "table", "string", {"maxlen": 255}),
    (NFTA_SET_ELEM_LIST_SET, "set", "string", {"maxlen": 255}),
    (NFTA_SET_ELEM_LIST_ELEMENTS, "elements", "nest", NFT_SET_ELEM_LIST),
    (NFTA_SET_ELEM_LIST_SET_ID, "set_id", "be32"),
])

NFT_GEN_ATTRS = AttrSet("gen-attrs", [
    (NFTA_GEN_ID, "id", "be32"),
    (NFTA_GEN_PROC_PID, "proc_pid", "be32"),
    (NFTA_GEN_PROC_NAME, "proc_name", "string"),
])

NFT_BATCH_ATTRS = AttrSet("batch-attrs", [
    (NFNL_BATCH_GENID, "genid", "be32"),
])


cdef inline int nft_msg_type(int msg) noexcept:
    return (NFNL_SUBSYS_NFTABLES << NFT_SUBSYS_SHIFT) | msg


def nft_type(int msg):
    """The netlink message type of nf_tables message NFT_MSG_``msg``."""
    return nft_msg_type(msg)


# Message types: (NFT_MSG_*, name, attribute set).
for _msg, _name, _attrs in (
        (NFT_MSG_NEWTABLE, "nft_newtable", NFT_TABLE_ATTRS),
        (NFT_MSG_GETTABLE, "nft_gettable", NFT_TABLE_ATTRS),
        (NFT_MSG_DELTABLE, "nft_deltable", NFT_TABLE_ATTRS),
        (NFT_MSG_NEWCHAIN, "nft_newchain", NFT_CHAIN_ATTRS),
        (NFT_MSG_GETCHAIN, "nft_getchain", NFT_CHAIN_ATTRS),
        (NFT_MSG_DELCHAIN, "nft_delchain", NFT_CHAIN_ATTRS),
        (NFT_MSG_NEWRULE, "nft_newrule", NFT_RULE_ATTRS),
        (NFT_MSG_GETRULE, "nft_getrule", NFT_RULE_ATTRS),
        (NFT_MSG_DELRULE, "nft_delrule", NFT_RULE_ATTRS),
        (NFT_MSG_NEWSET, "nft_newset", NFT_SET_ATTRS),
        (NFT_MSG_GETSET, "nft_getset", NFT_SET_ATTRS),
        (NFT_MSG_DELSET, "nft_delset", NFT_SET_ATTRS),
        (NFT_MSG_NEWSETELEM, "nft_newsetelem", NFT_SET_ELEM_LIST_ATTRS),
        (NFT_MSG_GETSETELEM, "nft_getsetelem", NFT_SET_ELEM_LIST_ATTRS),
        (NFT_MSG_DELSETELEM, "nft_delsetelem", NFT_SET_ELEM_LIST_ATTRS),
        (NFT_MSG_NEWGEN, "nft_newgen", NFT_GEN_ATTRS),
        (NFT_MSG_GETGEN, "nft_getgen", NFT_GEN_ATTRS)):
    register_message_type(NETLINK_NETFILTER, nft_msg_type(_msg), _name, NFGENMSG, _attrs)
register_message_type(NETLINK_NETFILTER, NFNL_MSG_BATCH_BEGIN, "nfnl_batch_begin",
                      NFGENMSG, NFT_BATCH_ATTRS)
register_message_type(NETLINK_NETFILTER, NFNL_MSG_BATCH_END, "nfnl_batch_end",
                      NFGENMSG, NFT_BATCH_ATTRS)


# ------------------------------------------------------------ element lists

cdef inline void _put_nfgenmsg(WriteBuffer b, uint8_t family, uint16_t res_id):
    cdef nfgenmsg *g = <nfgenmsg *>b.reserve(sizeof(nfgenmsg))
    g.nfgen_family = family
    g.version = NFNETLINK_V0
    g.res_id = htons(res_id)


cdef int _put_data_value(WriteBuffer b, uint16_t t, bytes value) except -1:
    cdef Py_ssize_t nest = b.nest_start(t)
    b.put_attr(NFTA_DATA_VALUE, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
    return b.nest_end(nest)


cdef int _put_elem(WriteBuffer b, tuple e) except -1:
    """One NFTA_LIST_ELEM of an element list, from an element tuple."""
    cdef Py_ssize_t nest, dnest, vnest
    cdef uint64_t v64
    key, key_end, data, flags, timeout = e
    nest = b.nest_start(NFTA_LIST_ELEM)
    if key is not None:
        _put_data_value(b, NFTA_SET_ELEM_KEY, <bytes?>key)
    if key_end is not None:
        _put_data_value(b, NFTA_SET_ELEM_KEY_END, <bytes?>key_end)
    if data is not None:
        if isinstance(data, bytes):
            _put_data_value(b, NFTA_SET_ELEM_DATA, <bytes>data)
        else:
            code, chain = data
            dnest = b.nest_start(NFTA_SET_ELEM_DATA)
            vnest = b.nest_start(NFTA_DATA_VERDICT)
            b.put_u32(NFTA_VERDICT_CODE, htonl(<uint32_t>(code & 0xFFFFFFFF)))
            if chain is not None:
                b.put_str(NFTA_VERDICT_CHAIN, chain)
            b.nest_end(vnest)
            b.nest_end(dnest)
    if flags:
        b.put_u32(NFTA_SET_ELEM_FLAGS, htonl(<uint32_t>flags))
    if timeout:
        v64 = <uint64_t>timeout
        b.put_u64(NFTA_SET_ELEM_TIMEOUT,
                  (<uint64_t>htonl(<uint32_t>v64) << 32) | htonl(<uint32_t>(v64 >> 32)))
    return b.nest_end(nest)


def nft_setelem_messages(int msg, int family, str table, str set_name, list elems,
                         int flags=0):
    """Encode an element list as NFT_MSG_``msg`` messages (NEWSETELEM, ...).

    Each element is a tuple ``(key, key_end, data, flags, timeout_ms)``:
    key and key_end are the key's bytes (or None), data the mapped value's
    bytes, a ``(verdict code, chain or None)`` pair, or None.  The elements
    go into as few messages as fit: NFTA_SET_ELEM_LIST_ELEMENTS is one nested
    attribute, whose length is 16 bits, so a long list is split (as nft does).
    Returns a list of messages (bytes) in order.
    """
    cdef WriteBuffer b = WriteBuffer(65536 + 1024)
    cdef list out = []
    cdef Py_ssize_t i = 0, n = len(elems), before, nest = -1
    cdef uint16_t mtype = <uint16_t>nft_msg_type(msg)
    cdef bint open_msg = False
    while i < n:
        if not open_msg:
            b.begin_message(mtype, <uint16_t>flags)
            _put_nfgenmsg(b, <uint8_t>family, 0)
            b.put_str(NFTA_SET_ELEM_LIST_TABLE, table)
            b.put_str(NFTA_SET_ELEM_LIST_SET, set_name)
            nest = b.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS)
            open_msg = True
            before = b.length
            _put_elem(b, <tuple?>elems[i])
            i += 1
            continue
        before = b.length
        _put_elem(b, <tuple?>elems[i])
        if b.length - nest > NFT_ELEMS_NEST_MAX:
            b.length = before
            b.nest_end(nest)
            b.end_message()
            out.append(b.take())
            open_msg = False
            continue
        i += 1
    if open_msg:
        b.nest_end(nest)
        b.end_message()
        out.append(b.take())
    return out


# ------------------------------------------------------------ transactions

def nft_commit(NetlinkSocket sock, list msgs, list ops=None, genid=None):
    """Send ``msgs`` (pre-built nf_tables requests) as one atomic transaction.

    BATCH_BEGIN (with NFNL_BATCH_GENID when ``genid`` is given) and
    BATCH_END are added around them; every message gets NLM_F_ACK and its
    own sequence number.  Returns None when the kernel committed everything.
    Otherwise raises: GenerationChanged if the ruleset's generation is no
    longer ``genid``; else the NetlinkError of the first message that failed,
    its ``operation`` being ``ops[i]`` and its ``errors`` every failure.
    Nothing was applied in either case.
    """
    cdef Py_ssize_t count = len(msgs), i, n, off, pending
    cdef uint32_t begin_seq, first, mlen, idx, seq
    cdef const uint8_t *m
    cdef uint16_t mtype
    cdef WriteBuffer b = sock.wbuf
    cdef char *acked
    cdef list errors = []
    cdef object batch_error = None
    cdef int spins = 0
    sock._check_open()
    if ops is None:
        ops = [_op_name(NETLINK_NETFILTER, msg) for msg in msgs]
    elif len(ops) != count:
        raise ValueError("ops must name every message")
    if count == 0:
        return None
    b.clear()
    begin_seq = sock._next_seq()
    b.begin_message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin_seq)
    _put_nfgenmsg(b, AF_UNSPEC, NFNL_SUBSYS_NFTABLES)
    if genid is not None:
        b.put_u32(NFNL_BATCH_GENID, htonl(<uint32_t>genid))
    b.end_message()
    first = begin_seq + 1
    for i in range(count):
        sock._queue(msgs[i], NLM_F_REQUEST | NLM_F_ACK, sock._next_seq())
    b.begin_message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, sock._next_seq())
    _put_nfgenmsg(b, AF_UNSPEC, NFNL_SUBSYS_NFTABLES)
    b.end_message()
    if b.length > sock.sndbuf - 64:
        b.clear()
        raise ValueError(f"transaction of {count} messages is too large for one "
                         f"datagram ({b.length} bytes)")
    sock._send(b.data, b.length)
    b.clear()

    acked = <char *>malloc(count)
    if acked == NULL:
        raise MemoryError()
    memset(acked, 0, count)
    pending = count
    try:
        while pending > 0:
            n = sock._recv(MSG_DONTWAIT)
            if n < 0:
                # The kernel answers inside sendmsg(); an empty queue means
                # no more answers are coming.  A refused batch (generation,
                # commit failure) answers its BATCH_BEGIN only.
                if batch_error is not None:
                    break
                spins += 1
                if spins > 1:
                    raise netlink_error(
                        _errno_nft.EPROTO,
                        f"kernel acknowledged {count - pending} of {count} messages",
                        "nf_tables transaction", begin_seq)
                # Once more, blocking briefly, in case of a slow consumer.
                _poll_readable(sock.fd, 100)
                continue
            off = 0
            while off + <Py_ssize_t>sizeof(nlmsghdr) <= n:
                m = <const uint8_t *>sock.rbuf + off
                mlen = read_u32(m)
                if mlen < sizeof(nlmsghdr) or off + mlen > n:
                    break
                mtype = read_u16(m + 4)
                seq = read_u32(m + 8)
                if mtype == NLMSG_ERROR and mlen >= sizeof(nlmsghdr) + 4:
                    if seq == begin_seq:
                        code = -<int32_t>read_u32(m + sizeof(nlmsghdr))
                        batch_error = sock._error_from(m, mlen, "nf_tables transaction",
                                                       -1, seq)
                        if code == _errno_nft.ERESTART:
                            batch_error = GenerationChanged(
                                code, "ruleset generation changed", "nf_tables transaction",
                                seq)
                    else:
                        idx = seq - first
                        if idx < <uint32_t>count:
                            if not acked[idx]:
                                acked[idx] = 1
                                pending -= 1
                            if read_u32(m + sizeof(nlmsghdr)) != 0:
                                errors.append(sock._error_from(m, mlen, ops[idx], idx, seq))
                off += libnet_nlmsg_align(mlen)
    finally:
        free(acked)
    if errors:
        errors.sort(key=lambda e: e.index)
        err = errors[0]
        err.errors = errors
        raise err
    if batch_error is not None:
        raise batch_error
    return None


cdef int _poll_readable(int fd, int ms) except -1:
    cdef pollfd pfd
    pfd.fd = fd
    pfd.events = POLLIN
    pfd.revents = 0
    with nogil:
        poll(&pfd, 1, ms)
    return 0


# ------------------------------------------------------------ element values

# Field codes of nft_values_encode (the datatypes the bulk path knows).
cdef enum:
    NFT_F_IPV4 = 1       # ipv4_addr: str -> 4 bytes
    NFT_F_IPV6 = 2       # ipv6_addr: str -> 16 bytes
    NFT_F_PROTO = 3      # inet_proto: int -> 1 byte
    NFT_F_SERVICE = 4    # inet_service: int -> be16
    NFT_F_MARK = 5       # mark: int -> host-order u32
    NFT_F_IFNAME = 6     # ifname: str -> 16 bytes, NUL padded

cdef int _field_size(int code) noexcept:
    if code == NFT_F_IPV6 or code == NFT_F_IFNAME:
        return 16
    if code == NFT_F_PROTO:
        return 1
    if code == NFT_F_SERVICE:
        return 2
    return 4


cdef int _value_put(char *out, tuple codes, object value) except -1:
    """Write one key or data value (a tuple, one item per field) at ``out``;
    a concatenation's fields each take a 4-byte-aligned slot (nft registers)."""
    cdef Py_ssize_t i, n = len(codes), off = 0
    cdef int code, size
    cdef uint16_t v16
    cdef uint32_t v32
    cdef bytes raw
    if type(value) is not tuple or len(<tuple>value) != n:
        raise ValueError(f"value {value!r} does not have {n} field(s)")
    for i in range(n):
        code = codes[i]
        size = _field_size(code)
        v = (<tuple>value)[i]
        if code == NFT_F_IPV4 or code == NFT_F_IPV6:
            raw = ipaddr_encode(v)
            if len(raw) != size:
                raise ValueError(f"{v!r} is not an IPv{4 if size == 4 else 6} address")
            memcpy(out + off, PyBytes_AS_STRING(raw), size)
        elif code == NFT_F_PROTO:
            if not isinstance(v, int) or not 0 <= v <= 255:
                raise ValueError(f"inet_proto {v!r} is not 0-255")
            out[off] = <char><uint8_t>v
        elif code == NFT_F_SERVICE:
            if not isinstance(v, int) or not 0 <= v <= 0xFFFF:
                raise ValueError(f"inet_service {v!r} is not a port")
            v16 = htons(<uint16_t>v)
            memcpy(out + off, &v16, 2)
        elif code == NFT_F_MARK:
            if not isinstance(v, int) or not 0 <= v <= 0xFFFFFFFF:
                raise ValueError(f"mark {v!r} is not a u32")
            v32 = <uint32_t>v
            memcpy(out + off, &v32, 4)
        elif code == NFT_F_IFNAME:
            raw = (<str?>v).encode()
            if len(raw) > 15:
                raise ValueError(f"interface name {v!r} is longer than 15 bytes")
            memcpy(out + off, PyBytes_AS_STRING(raw), len(raw))
        else:
            raise ValueError(f"unknown field code {code}")
        off += (size + 3) & ~3 if n > 1 else size
    return 0


cdef Py_ssize_t _value_len(tuple codes):
    cdef Py_ssize_t n = len(codes), total = 0, i
    if n == 1:
        return _field_size(codes[0])
    for i in range(n):
        total += (_field_size(codes[i]) + 3) & ~3
    return total


def nft_values_encode(tuple key_codes, data_codes, list elements):
    """Element objects (``.key``, ``.data``, ``.timeout``) of a plain set or
    map as nft_setelem_messages tuples, values encoded in C: the bulk path
    of a 10,000-element transaction.  ``key_codes``/``data_codes`` are
    NFT_F_* per field (``data_codes`` None for a set, or to leave data out).
    """
    cdef Py_ssize_t klen = _value_len(key_codes)
    cdef Py_ssize_t dlen = _value_len(<tuple>data_codes) if data_codes is not None else 0
    cdef list out = []
    cdef bytes k, d
    for e in elements:
        k = PyBytes_FromStringAndSize(NULL, klen)
        memset(PyBytes_AS_STRING(k), 0, klen)
        _value_put(PyBytes_AS_STRING(k), key_codes, e.key)
        if data_codes is not None:
            v = e.data
            if v is None:
                raise ValueError(f"map element {e.key!r} needs a value")
            d = PyBytes_FromStringAndSize(NULL, dlen)
            memset(PyBytes_AS_STRING(d), 0, dlen)
            _value_put(PyBytes_AS_STRING(d), <tuple>data_codes, v)
            out.append((k, None, d, 0, e.timeout or 0))
        else:
            out.append((k, None, None, 0, e.timeout or 0))
    return out
