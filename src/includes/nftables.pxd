# C declarations: nfnetlink and nf_tables constants and the nfgenmsg header
# (linux/netfilter/nfnetlink.h, nf_tables.h, nf_nat.h, linux/netfilter.h).
# Names only: every value comes from the kernel headers (through compat.h).
# `cpdef enum` also exposes each name as a Python int on libnet._netlink
# (tools/gen_constants.py).
from libc.stdint cimport uint8_t, uint16_t

cdef extern from "compat.h" nogil:
    cdef struct nfgenmsg:
        uint8_t nfgen_family
        uint8_t version
        uint16_t res_id

    # nfnetlink
    cpdef enum:
        NFNETLINK_V0
        NFNL_SUBSYS_NFTABLES
        NFNL_MSG_BATCH_BEGIN
        NFNL_MSG_BATCH_END
        NFNL_BATCH_GENID
        NFNLGRP_NFTABLES

    # linux/netfilter.h: verdicts, hooks, families
    cpdef enum:
        NF_DROP
        NF_ACCEPT
        NF_INET_PRE_ROUTING
        NF_INET_LOCAL_IN
        NF_INET_FORWARD
        NF_INET_LOCAL_OUT
        NF_INET_POST_ROUTING
        NF_INET_INGRESS
        NFPROTO_UNSPEC
        NFPROTO_INET
        NFPROTO_IPV4
        NFPROTO_ARP
        NFPROTO_NETDEV
        NFPROTO_BRIDGE
        NFPROTO_IPV6

    # linux/netfilter/nf_nat.h: nat range flags
    cpdef enum:
        NF_NAT_RANGE_MAP_IPS
        NF_NAT_RANGE_PROTO_SPECIFIED
        NF_NAT_RANGE_PROTO_RANDOM
        NF_NAT_RANGE_PERSISTENT
        NF_NAT_RANGE_PROTO_RANDOM_FULLY
        NF_NAT_RANGE_PROTO_OFFSET
        NF_NAT_RANGE_NETMAP

    # enum nft_registers
    cpdef enum:
        NFT_REG_VERDICT
        NFT_REG_1
        NFT_REG_2
        NFT_REG_3
        NFT_REG_4
        NFT_REG32_00
        NFT_REG32_01
        NFT_REG32_02
        NFT_REG32_03
        NFT_REG32_04
        NFT_REG32_05
        NFT_REG32_06
        NFT_REG32_07
        NFT_REG32_08
        NFT_REG32_09
        NFT_REG32_10
        NFT_REG32_11
        NFT_REG32_12
        NFT_REG32_13
        NFT_REG32_14
        NFT_REG32_15

    # enum nft_verdicts
    cpdef enum:
        NFT_CONTINUE
        NFT_BREAK
        NFT_JUMP
        NFT_GOTO
        NFT_RETURN

    # enum nf_tables_msg_types
    cpdef enum:
        NFT_MSG_NEWTABLE
        NFT_MSG_GETTABLE
        NFT_MSG_DELTABLE
        NFT_MSG_NEWCHAIN
        NFT_MSG_GETCHAIN
        NFT_MSG_DELCHAIN
        NFT_MSG_NEWRULE
        NFT_MSG_GETRULE
        NFT_MSG_DELRULE
        NFT_MSG_NEWSET
        NFT_MSG_GETSET
        NFT_MSG_DELSET
        NFT_MSG_NEWSETELEM
        NFT_MSG_GETSETELEM
        NFT_MSG_DELSETELEM
        NFT_MSG_NEWGEN
        NFT_MSG_GETGEN
        NFT_MSG_TRACE
        NFT_MSG_NEWOBJ
        NFT_MSG_GETOBJ
        NFT_MSG_DELOBJ
        NFT_MSG_GETOBJ_RESET
        NFT_MSG_NEWFLOWTABLE
        NFT_MSG_GETFLOWTABLE
        NFT_MSG_DELFLOWTABLE
        NFT_MSG_MAX

    # enum nft_list_attributes
    cpdef enum:
        NFTA_LIST_UNSPEC
        NFTA_LIST_ELEM

    # enum nft_hook_attributes
    cpdef enum:
        NFTA_HOOK_UNSPEC
        NFTA_HOOK_HOOKNUM
        NFTA_HOOK_PRIORITY
        NFTA_HOOK_DEV
        NFTA_HOOK_DEVS

    # enum nft_table_flags
    cpdef enum:
        NFT_TABLE_F_DORMANT
        NFT_TABLE_F_OWNER
        NFT_TABLE_F_PERSIST

    # enum nft_table_attributes
    cpdef enum:
        NFTA_TABLE_UNSPEC
        NFTA_TABLE_NAME
        NFTA_TABLE_FLAGS
        NFTA_TABLE_USE
        NFTA_TABLE_HANDLE
        NFTA_TABLE_PAD
        NFTA_TABLE_USERDATA
        NFTA_TABLE_OWNER

    # enum nft_chain_flags
    cpdef enum:
        NFT_CHAIN_BASE
        NFT_CHAIN_HW_OFFLOAD
        NFT_CHAIN_BINDING

    # enum nft_chain_attributes
    cpdef enum:
        NFTA_CHAIN_UNSPEC
        NFTA_CHAIN_TABLE
        NFTA_CHAIN_HANDLE
        NFTA_CHAIN_NAME
        NFTA_CHAIN_HOOK
        NFTA_CHAIN_POLICY
        NFTA_CHAIN_USE
        NFTA_CHAIN_TYPE
        NFTA_CHAIN_COUNTERS
        NFTA_CHAIN_PAD
        NFTA_CHAIN_FLAGS
        NFTA_CHAIN_ID
        NFTA_CHAIN_USERDATA

    # enum nft_rule_attributes
    cpdef enum:
        NFTA_RULE_UNSPEC
        NFTA_RULE_TABLE
        NFTA_RULE_CHAIN
        NFTA_RULE_HANDLE
        NFTA_RULE_EXPRESSIONS
        NFTA_RULE_COMPAT
        NFTA_RULE_POSITION
        NFTA_RULE_USERDATA
        NFTA_RULE_PAD
        NFTA_RULE_ID
        NFTA_RULE_POSITION_ID
        NFTA_RULE_CHAIN_ID

    # enum nft_set_flags
    cpdef enum:
        NFT_SET_ANONYMOUS
        NFT_SET_CONSTANT
        NFT_SET_INTERVAL
        NFT_SET_MAP
        NFT_SET_TIMEOUT
        NFT_SET_EVAL
        NFT_SET_OBJECT
        NFT_SET_CONCAT
        NFT_SET_EXPR

    # enum nft_set_policies
    cpdef enum:
        NFT_SET_POL_PERFORMANCE
        NFT_SET_POL_MEMORY

    # enum nft_set_desc_attributes
    cpdef enum:
        NFTA_SET_DESC_UNSPEC
        NFTA_SET_DESC_SIZE
        NFTA_SET_DESC_CONCAT

    # enum nft_set_field_attributes
    cpdef enum:
        NFTA_SET_FIELD_UNSPEC
        NFTA_SET_FIELD_LEN

    # enum nft_set_attributes
    cpdef enum:
        NFTA_SET_UNSPEC
        NFTA_SET_TABLE
        NFTA_SET_NAME
        NFTA_SET_FLAGS
        NFTA_SET_KEY_TYPE
        NFTA_SET_KEY_LEN
        NFTA_SET_DATA_TYPE
        NFTA_SET_DATA_LEN
        NFTA_SET_POLICY
        NFTA_SET_DESC
        NFTA_SET_ID
        NFTA_SET_TIMEOUT
        NFTA_SET_GC_INTERVAL
        NFTA_SET_USERDATA
        NFTA_SET_PAD
        NFTA_SET_OBJ_TYPE
        NFTA_SET_HANDLE
        NFTA_SET_EXPR
        NFTA_SET_EXPRESSIONS

    # enum nft_set_elem_flags
    cpdef enum:
        NFT_SET_ELEM_INTERVAL_END
        NFT_SET_ELEM_CATCHALL

    # enum nft_set_elem_attributes
    cpdef enum:
        NFTA_SET_ELEM_UNSPEC
        NFTA_SET_ELEM_KEY
        NFTA_SET_ELEM_DATA
        NFTA_SET_ELEM_FLAGS
        NFTA_SET_ELEM_TIMEOUT
        NFTA_SET_ELEM_EXPIRATION
        NFTA_SET_ELEM_USERDATA
        NFTA_SET_ELEM_EXPR
        NFTA_SET_ELEM_PAD
        NFTA_SET_ELEM_OBJREF
        NFTA_SET_ELEM_KEY_END
        NFTA_SET_ELEM_EXPRESSIONS

    # enum nft_set_elem_list_attributes
    cpdef enum:
        NFTA_SET_ELEM_LIST_UNSPEC
        NFTA_SET_ELEM_LIST_TABLE
        NFTA_SET_ELEM_LIST_SET
        NFTA_SET_ELEM_LIST_ELEMENTS
        NFTA_SET_ELEM_LIST_SET_ID

    # enum nft_data_types
    cpdef enum:
        NFT_DATA_VALUE
        NFT_DATA_VERDICT

    # enum nft_data_attributes
    cpdef enum:
        NFTA_DATA_UNSPEC
        NFTA_DATA_VALUE
        NFTA_DATA_VERDICT

    # enum nft_verdict_attributes
    cpdef enum:
        NFTA_VERDICT_UNSPEC
        NFTA_VERDICT_CODE
        NFTA_VERDICT_CHAIN
        NFTA_VERDICT_CHAIN_ID

    # enum nft_expr_attributes
    cpdef enum:
        NFTA_EXPR_UNSPEC
        NFTA_EXPR_NAME
        NFTA_EXPR_DATA

    # enum nft_immediate_attributes
    cpdef enum:
        NFTA_IMMEDIATE_UNSPEC
        NFTA_IMMEDIATE_DREG
        NFTA_IMMEDIATE_DATA

    # enum nft_bitwise_ops
    cpdef enum:
        NFT_BITWISE_MASK_XOR
        NFT_BITWISE_LSHIFT
        NFT_BITWISE_RSHIFT

    # enum nft_bitwise_attributes
    cpdef enum:
        NFTA_BITWISE_UNSPEC
        NFTA_BITWISE_SREG
        NFTA_BITWISE_DREG
        NFTA_BITWISE_LEN
        NFTA_BITWISE_MASK
        NFTA_BITWISE_XOR
        NFTA_BITWISE_OP
        NFTA_BITWISE_DATA

    # enum nft_cmp_ops
    cpdef enum:
        NFT_CMP_EQ
        NFT_CMP_NEQ
        NFT_CMP_LT
        NFT_CMP_LTE
        NFT_CMP_GT
        NFT_CMP_GTE

    # enum nft_cmp_attributes
    cpdef enum:
        NFTA_CMP_UNSPEC
        NFTA_CMP_SREG
        NFTA_CMP_OP
        NFTA_CMP_DATA

    # enum nft_range_ops
    cpdef enum:
        NFT_RANGE_EQ
        NFT_RANGE_NEQ

    # enum nft_range_attributes
    cpdef enum:
        NFTA_RANGE_UNSPEC
        NFTA_RANGE_SREG
        NFTA_RANGE_OP
        NFTA_RANGE_FROM_DATA
        NFTA_RANGE_TO_DATA

    # enum nft_lookup_flags
    cpdef enum:
        NFT_LOOKUP_F_INV

    # enum nft_lookup_attributes
    cpdef enum:
        NFTA_LOOKUP_UNSPEC
        NFTA_LOOKUP_SET
        NFTA_LOOKUP_SREG
        NFTA_LOOKUP_DREG
        NFTA_LOOKUP_SET_ID
        NFTA_LOOKUP_FLAGS

    # enum nft_payload_bases
    cpdef enum:
        NFT_PAYLOAD_LL_HEADER
        NFT_PAYLOAD_NETWORK_HEADER
        NFT_PAYLOAD_TRANSPORT_HEADER
        NFT_PAYLOAD_INNER_HEADER

    # enum nft_payload_attributes
    cpdef enum:
        NFTA_PAYLOAD_UNSPEC
        NFTA_PAYLOAD_DREG
        NFTA_PAYLOAD_BASE
        NFTA_PAYLOAD_OFFSET
        NFTA_PAYLOAD_LEN
        NFTA_PAYLOAD_SREG
        NFTA_PAYLOAD_CSUM_TYPE
        NFTA_PAYLOAD_CSUM_OFFSET
        NFTA_PAYLOAD_CSUM_FLAGS

    # enum nft_meta_keys
    cpdef enum:
        NFT_META_LEN
        NFT_META_PROTOCOL
        NFT_META_PRIORITY
        NFT_META_MARK
        NFT_META_IIF
        NFT_META_OIF
        NFT_META_IIFNAME
        NFT_META_OIFNAME
        NFT_META_IFTYPE
        NFT_META_OIFTYPE
        NFT_META_SKUID
        NFT_META_SKGID
        NFT_META_NFTRACE
        NFT_META_RTCLASSID
        NFT_META_SECMARK
        NFT_META_NFPROTO
        NFT_META_L4PROTO
        NFT_META_BRI_IIFNAME
        NFT_META_BRI_OIFNAME
        NFT_META_PKTTYPE
        NFT_META_CPU
        NFT_META_IIFGROUP
        NFT_META_OIFGROUP
        NFT_META_CGROUP
        NFT_META_PRANDOM
        NFT_META_SECPATH
        NFT_META_IIFKIND
        NFT_META_OIFKIND
        NFT_META_BRI_IIFPVID
        NFT_META_BRI_IIFVPROTO
        NFT_META_TIME_NS
        NFT_META_TIME_DAY
        NFT_META_TIME_HOUR
        NFT_META_SDIF
        NFT_META_SDIFNAME

    # enum nft_meta_attributes
    cpdef enum:
        NFTA_META_UNSPEC
        NFTA_META_DREG
        NFTA_META_KEY
        NFTA_META_SREG

    # enum nft_ct_keys
    cpdef enum:
        NFT_CT_STATE
        NFT_CT_DIRECTION
        NFT_CT_STATUS
        NFT_CT_MARK
        NFT_CT_SECMARK
        NFT_CT_EXPIRATION
        NFT_CT_HELPER
        NFT_CT_L3PROTOCOL
        NFT_CT_SRC
        NFT_CT_DST
        NFT_CT_PROTOCOL
        NFT_CT_PROTO_SRC
        NFT_CT_PROTO_DST
        NFT_CT_LABELS
        NFT_CT_PKTS
        NFT_CT_BYTES
        NFT_CT_AVGPKT
        NFT_CT_ZONE
        NFT_CT_EVENTMASK
        NFT_CT_SRC_IP
        NFT_CT_DST_IP
        NFT_CT_SRC_IP6
        NFT_CT_DST_IP6
        NFT_CT_ID

    # enum nft_ct_attributes
    cpdef enum:
        NFTA_CT_UNSPEC
        NFTA_CT_DREG
        NFTA_CT_KEY
        NFTA_CT_DIRECTION
        NFTA_CT_SREG

    # enum nft_counter_attributes
    cpdef enum:
        NFTA_COUNTER_UNSPEC
        NFTA_COUNTER_BYTES
        NFTA_COUNTER_PACKETS
        NFTA_COUNTER_PAD

    # enum nft_reject_types
    cpdef enum:
        NFT_REJECT_ICMP_UNREACH
        NFT_REJECT_TCP_RST
        NFT_REJECT_ICMPX_UNREACH

    # enum nft_reject_inet_code
    cpdef enum:
        NFT_REJECT_ICMPX_NO_ROUTE
        NFT_REJECT_ICMPX_PORT_UNREACH
        NFT_REJECT_ICMPX_HOST_UNREACH
        NFT_REJECT_ICMPX_ADMIN_PROHIBITED

    # enum nft_reject_attributes
    cpdef enum:
        NFTA_REJECT_UNSPEC
        NFTA_REJECT_TYPE
        NFTA_REJECT_ICMP_CODE

    # enum nft_nat_types
    cpdef enum:
        NFT_NAT_SNAT
        NFT_NAT_DNAT

    # enum nft_nat_attributes
    cpdef enum:
        NFTA_NAT_UNSPEC
        NFTA_NAT_TYPE
        NFTA_NAT_FAMILY
        NFTA_NAT_REG_ADDR_MIN
        NFTA_NAT_REG_ADDR_MAX
        NFTA_NAT_REG_PROTO_MIN
        NFTA_NAT_REG_PROTO_MAX
        NFTA_NAT_FLAGS

    # enum nft_masq_attributes
    cpdef enum:
        NFTA_MASQ_UNSPEC
        NFTA_MASQ_FLAGS
        NFTA_MASQ_REG_PROTO_MIN
        NFTA_MASQ_REG_PROTO_MAX

    # enum nft_redir_attributes
    cpdef enum:
        NFTA_REDIR_UNSPEC
        NFTA_REDIR_REG_PROTO_MIN
        NFTA_REDIR_REG_PROTO_MAX
        NFTA_REDIR_FLAGS

    # enum nft_gen_attributes
    cpdef enum:
        NFTA_GEN_UNSPEC
        NFTA_GEN_ID
        NFTA_GEN_PROC_PID
        NFTA_GEN_PROC_NAME

    # enum nft_fib_attributes
    cpdef enum:
        NFTA_FIB_UNSPEC
        NFTA_FIB_DREG
        NFTA_FIB_RESULT
        NFTA_FIB_FLAGS

    # enum nft_fib_result
    cpdef enum:
        NFT_FIB_RESULT_UNSPEC
        NFT_FIB_RESULT_OIF
        NFT_FIB_RESULT_OIFNAME
        NFT_FIB_RESULT_ADDRTYPE

    # enum nft_fib_flags
    cpdef enum:
        NFTA_FIB_F_SADDR
        NFTA_FIB_F_DADDR
        NFTA_FIB_F_MARK
        NFTA_FIB_F_IIF
        NFTA_FIB_F_OIF
        NFTA_FIB_F_PRESENT
