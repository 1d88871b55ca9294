# rtnetlink: attribute sets, family headers and parsed objects for links,
# addresses, routes and neighbours (include/uapi/linux/rtnetlink.h,
# if_link.h, if_addr.h, neighbour.h; names follow the kernel's
# Documentation/netlink/specs/rt-link.yaml, rt-addr.yaml, rt-route.yaml,
# rt-neigh.yaml).

# ------------------------------------------------------------ family headers

IFINFOMSG = StructSpec("ifinfomsg", "=BxHiII", ("family", "type", "index", "flags", "change"))
IFADDRMSG = StructSpec("ifaddrmsg", "=BBBBI", ("family", "prefixlen", "flags", "scope", "index"))
RTMSG = StructSpec("rtmsg", "=BBBBBBBBI", ("family", "dst_len", "src_len", "tos", "table",
                                           "protocol", "scope", "type", "flags"))
NDMSG = StructSpec("ndmsg", "=BxxxiHBB", ("family", "ifindex", "state", "flags", "type"))

_STATS_FIELDS = (
    "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
    "rx_dropped", "tx_dropped", "multicast", "collisions", "rx_length_errors",
    "rx_over_errors", "rx_crc_errors", "rx_frame_errors", "rx_fifo_errors",
    "rx_missed_errors", "tx_aborted_errors", "tx_carrier_errors", "tx_fifo_errors",
    "tx_heartbeat_errors", "tx_window_errors", "rx_compressed", "tx_compressed",
    "rx_nohandler", "rx_otherhost_dropped")
LINK_STATS64 = StructSpec("rtnl_link_stats64", "=" + "Q" * 25, _STATS_FIELDS)
LINK_STATS = StructSpec("rtnl_link_stats", "=" + "I" * 25, _STATS_FIELDS)
LINK_IFMAP = StructSpec("rtnl_link_ifmap", "=QQQHBB4x",
                        ("mem_start", "mem_end", "base_addr", "irq", "dma", "port"))
IFA_CACHEINFO_SPEC = StructSpec("ifa_cacheinfo", "=IIII", ("preferred", "valid", "cstamp", "tstamp"))
RTA_CACHEINFO_SPEC = StructSpec("rta_cacheinfo", "=IIiIIIII",
                                ("clntref", "lastuse", "expires", "error", "used", "id", "ts", "tsage"))
NDA_CACHEINFO_SPEC = StructSpec("nda_cacheinfo", "=IIII", ("confirmed", "used", "updated", "refcnt"))
VXLAN_PORT_RANGE = StructSpec("ifla_vxlan_port_range", ">HH", ("low", "high"))
VLAN_FLAGS = StructSpec("ifla_vlan_flags", "=II", ("flags", "mask"))
BR_BOOLOPT_MULTI = StructSpec("br_boolopt_multi", "=II", ("optval", "optmask"))

# The structs above mirror the kernel's; a mismatch with the headers this
# module was built against is a bug, found at import rather than on the wire.
assert IFINFOMSG.size == sizeof(ifinfomsg)
assert IFADDRMSG.size == sizeof(ifaddrmsg)
assert RTMSG.size == sizeof(rtmsg)
assert NDMSG.size == sizeof(ndmsg)
assert LINK_STATS64.size >= sizeof(rtnl_link_stats64)
assert LINK_IFMAP.size == sizeof(rtnl_link_ifmap)
assert IFA_CACHEINFO_SPEC.size == sizeof(ifa_cacheinfo)
assert RTA_CACHEINFO_SPEC.size == sizeof(rta_cacheinfo)
assert NDA_CACHEINFO_SPEC.size == sizeof(nda_cacheinfo)

# ------------------------------------------------------------ link kinds

BRIDGE_ATTRS = AttrSet("linkinfo-bridge-attrs", [
    (IFLA_BR_FORWARD_DELAY, "forward_delay", "u32"),
    (IFLA_BR_HELLO_TIME, "hello_time", "u32"),
    (IFLA_BR_MAX_AGE, "max_age", "u32"),
    (IFLA_BR_AGEING_TIME, "ageing_time", "u32"),
    (IFLA_BR_STP_STATE, "stp_state", "u32"),
    (IFLA_BR_PRIORITY, "priority", "u16"),
    (IFLA_BR_VLAN_FILTERING, "vlan_filtering", "u8"),
    (IFLA_BR_VLAN_PROTOCOL, "vlan_protocol", "be16"),
    (IFLA_BR_GROUP_FWD_MASK, "group_fwd_mask", "u16"),
    (IFLA_BR_ROOT_ID, "root_id", "binary"),
    (IFLA_BR_BRIDGE_ID, "bridge_id", "binary"),
    (IFLA_BR_ROOT_PORT, "root_port", "u16"),
    (IFLA_BR_ROOT_PATH_COST, "root_path_cost", "u32"),
    (IFLA_BR_TOPOLOGY_CHANGE, "topology_change", "u8"),
    (IFLA_BR_TOPOLOGY_CHANGE_DETECTED, "topology_change_detected", "u8"),
    (IFLA_BR_HELLO_TIMER, "hello_timer", "u64"),
    (IFLA_BR_TCN_TIMER, "tcn_timer", "u64"),
    (IFLA_BR_TOPOLOGY_CHANGE_TIMER, "topology_change_timer", "u64"),
    (IFLA_BR_GC_TIMER, "gc_timer", "u64"),
    (IFLA_BR_GROUP_ADDR, "group_addr", "lladdr"),
    (IFLA_BR_FDB_FLUSH, "fdb_flush", "flag"),
    (IFLA_BR_MCAST_ROUTER, "mcast_router", "u8"),
    (IFLA_BR_MCAST_SNOOPING, "mcast_snooping", "u8"),
    (IFLA_BR_MCAST_QUERY_USE_IFADDR, "mcast_query_use_ifaddr", "u8"),
    (IFLA_BR_MCAST_QUERIER, "mcast_querier", "u8"),
    (IFLA_BR_MCAST_HASH_ELASTICITY, "mcast_hash_elasticity", "u32"),
    (IFLA_BR_MCAST_HASH_MAX, "mcast_hash_max", "u32"),
    (IFLA_BR_MCAST_LAST_MEMBER_CNT, "mcast_last_member_cnt", "u32"),
    (IFLA_BR_MCAST_STARTUP_QUERY_CNT, "mcast_startup_query_cnt", "u32"),
    (IFLA_BR_MCAST_LAST_MEMBER_INTVL, "mcast_last_member_intvl", "u64"),
    (IFLA_BR_MCAST_MEMBERSHIP_INTVL, "mcast_membership_intvl", "u64"),
    (IFLA_BR_MCAST_QUERIER_INTVL, "mcast_querier_intvl", "u64"),
    (IFLA_BR_MCAST_QUERY_INTVL, "mcast_query_intvl", "u64"),
    (IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, "mcast_query_response_intvl", "u64"),
    (IFLA_BR_MCAST_STARTUP_QUERY_INTVL, "mcast_startup_query_intvl", "u64"),
    (IFLA_BR_NF_CALL_IPTABLES, "nf_call_iptables", "u8"),
    (IFLA_BR_NF_CALL_IP6TABLES, "nf_call_ip6tables", "u8"),
    (IFLA_BR_NF_CALL_ARPTABLES, "nf_call_arptables", "u8"),
    (IFLA_BR_VLAN_DEFAULT_PVID, "vlan_default_pvid", "u16"),
    (IFLA_BR_PAD, "pad", "binary"),
    (IFLA_BR_VLAN_STATS_ENABLED, "vlan_stats_enabled", "u8"),
    (IFLA_BR_MCAST_STATS_ENABLED, "mcast_stats_enabled", "u8"),
    (IFLA_BR_MCAST_IGMP_VERSION, "mcast_igmp_version", "u8"),
    (IFLA_BR_MCAST_MLD_VERSION, "mcast_mld_version", "u8"),
    (IFLA_BR_VLAN_STATS_PER_PORT, "vlan_stats_per_port", "u8"),
    (IFLA_BR_MULTI_BOOLOPT, "multi_boolopt", "struct", BR_BOOLOPT_MULTI),
    (IFLA_BR_MCAST_QUERIER_STATE, "mcast_querier_state", "binary"),
])

BRPORT_ATTRS = AttrSet("linkinfo-brport-attrs", [
    (IFLA_BRPORT_STATE, "state", "u8"),
    (IFLA_BRPORT_PRIORITY, "priority", "u16"),
    (IFLA_BRPORT_COST, "cost", "u32"),
    (IFLA_BRPORT_MODE, "mode", "u8"),
    (IFLA_BRPORT_GUARD, "guard", "u8"),
    (IFLA_BRPORT_PROTECT, "protect", "u8"),
    (IFLA_BRPORT_FAST_LEAVE, "fast_leave", "u8"),
    (IFLA_BRPORT_LEARNING, "learning", "u8"),
    (IFLA_BRPORT_UNICAST_FLOOD, "unicast_flood", "u8"),
    (IFLA_BRPORT_PROXYARP, "proxyarp", "u8"),
    (IFLA_BRPORT_LEARNING_SYNC, "learning_sync", "u8"),
    (IFLA_BRPORT_PROXYARP_WIFI, "proxyarp_wifi", "u8"),
    (IFLA_BRPORT_ROOT_ID, "root_id", "binary"),
    (IFLA_BRPORT_BRIDGE_ID, "bridge_id", "binary"),
    (IFLA_BRPORT_DESIGNATED_PORT, "designated_port", "u16"),
    (IFLA_BRPORT_DESIGNATED_COST, "designated_cost", "u16"),
    (IFLA_BRPORT_ID, "id", "u16"),
    (IFLA_BRPORT_NO, "no", "u16"),
    (IFLA_BRPORT_TOPOLOGY_CHANGE_ACK, "topology_change_ack", "u8"),
    (IFLA_BRPORT_CONFIG_PENDING, "config_pending", "u8"),
    (IFLA_BRPORT_MESSAGE_AGE_TIMER, "message_age_timer", "u64"),
    (IFLA_BRPORT_FORWARD_DELAY_TIMER, "forward_delay_timer", "u64"),
    (IFLA_BRPORT_HOLD_TIMER, "hold_timer", "u64"),
    (IFLA_BRPORT_FLUSH, "flush", "flag"),
    (IFLA_BRPORT_MULTICAST_ROUTER, "multicast_router", "u8"),
    (IFLA_BRPORT_PAD, "pad", "binary"),
    (IFLA_BRPORT_MCAST_FLOOD, "mcast_flood", "u8"),
    (IFLA_BRPORT_MCAST_TO_UCAST, "mcast_to_ucast", "u8"),
    (IFLA_BRPORT_VLAN_TUNNEL, "vlan_tunnel", "u8"),
    (IFLA_BRPORT_BCAST_FLOOD, "bcast_flood", "u8"),
    (IFLA_BRPORT_GROUP_FWD_MASK, "group_fwd_mask", "u16"),
    (IFLA_BRPORT_NEIGH_SUPPRESS, "neigh_suppress", "u8"),
    (IFLA_BRPORT_ISOLATED, "isolated", "u8"),
    (IFLA_BRPORT_BACKUP_PORT, "backup_port", "u32"),
    (IFLA_BRPORT_MRP_RING_OPEN, "mrp_ring_open", "u8"),
    (IFLA_BRPORT_MRP_IN_OPEN, "mrp_in_open", "u8"),
    (IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT, "mcast_eht_hosts_limit", "u32"),
    (IFLA_BRPORT_MCAST_EHT_HOSTS_CNT, "mcast_eht_hosts_cnt", "u32"),
    (IFLA_BRPORT_LOCKED, "locked", "u8"),
])

VXLAN_ATTRS = AttrSet("linkinfo-vxlan-attrs", [
    (IFLA_VXLAN_ID, "id", "u32"),
    (IFLA_VXLAN_GROUP, "group", "ipaddr"),
    (IFLA_VXLAN_LINK, "link", "u32"),
    (IFLA_VXLAN_LOCAL, "local", "ipaddr"),
    (IFLA_VXLAN_TTL, "ttl", "u8"),
    (IFLA_VXLAN_TOS, "tos", "u8"),
    (IFLA_VXLAN_LEARNING, "learning", "u8"),
    (IFLA_VXLAN_AGEING, "ageing", "u32"),
    (IFLA_VXLAN_LIMIT, "limit", "u32"),
    (IFLA_VXLAN_PORT_RANGE, "port_range", "struct", VXLAN_PORT_RANGE),
    (IFLA_VXLAN_PROXY, "proxy", "u8"),
    (IFLA_VXLAN_RSC, "rsc", "u8"),
    (IFLA_VXLAN_L2MISS, "l2miss", "u8"),
    (IFLA_VXLAN_L3MISS, "l3miss", "u8"),
    (IFLA_VXLAN_PORT, "port", "be16"),
    (IFLA_VXLAN_GROUP6, "group6", "ipaddr"),
    (IFLA_VXLAN_LOCAL6, "local6", "ipaddr"),
    (IFLA_VXLAN_UDP_CSUM, "udp_csum", "u8"),
    (IFLA_VXLAN_UDP_ZERO_CSUM6_TX, "udp_zero_csum6_tx", "u8"),
    (IFLA_VXLAN_UDP_ZERO_CSUM6_RX, "udp_zero_csum6_rx", "u8"),
    (IFLA_VXLAN_REMCSUM_TX, "remcsum_tx", "u8"),
    (IFLA_VXLAN_REMCSUM_RX, "remcsum_rx", "u8"),
    (IFLA_VXLAN_GBP, "gbp", "flag"),
    (IFLA_VXLAN_REMCSUM_NOPARTIAL, "remcsum_nopartial", "flag"),
    (IFLA_VXLAN_COLLECT_METADATA, "collect_metadata", "u8"),
    (IFLA_VXLAN_LABEL, "label", "be32"),
    (IFLA_VXLAN_GPE, "gpe", "flag"),
    (IFLA_VXLAN_TTL_INHERIT, "ttl_inherit", "flag"),
    (IFLA_VXLAN_DF, "df", "u8"),
    (IFLA_VXLAN_VNIFILTER, "vnifilter", "u8"),
])

MACVLAN_ATTRS = AttrSet("linkinfo-macvlan-attrs", [
    (IFLA_MACVLAN_MODE, "mode", "u32"),
    (IFLA_MACVLAN_FLAGS, "flags", "u16"),
    (IFLA_MACVLAN_MACADDR_MODE, "macaddr_mode", "u32"),
    (IFLA_MACVLAN_MACADDR, "macaddr", "lladdr"),
    (IFLA_MACVLAN_MACADDR_DATA, "macaddr_data", "binary"),
    (IFLA_MACVLAN_MACADDR_COUNT, "macaddr_count", "u32"),
    (IFLA_MACVLAN_BC_QUEUE_LEN, "bc_queue_len", "u32"),
    (IFLA_MACVLAN_BC_QUEUE_LEN_USED, "bc_queue_len_used", "u32"),
])

IPVLAN_ATTRS = AttrSet("linkinfo-ipvlan-attrs", [
    (IFLA_IPVLAN_MODE, "mode", "u16"),
    (IFLA_IPVLAN_FLAGS, "flags", "u16"),
])

VLAN_ATTRS = AttrSet("linkinfo-vlan-attrs", [
    (IFLA_VLAN_ID, "id", "u16"),
    (IFLA_VLAN_FLAGS, "flags", "struct", VLAN_FLAGS),
    (IFLA_VLAN_EGRESS_QOS, "egress_qos", "binary"),
    (IFLA_VLAN_INGRESS_QOS, "ingress_qos", "binary"),
    (IFLA_VLAN_PROTOCOL, "protocol", "be16"),
])

# VETH_INFO_PEER holds a whole ifinfomsg plus link attributes; LINK_ATTRS is
# defined below, so the peer's set is filled in once it exists.
VETH_ATTRS = None

_INFO_DATA_KINDS = {
    "bridge": BRIDGE_ATTRS, "vxlan": VXLAN_ATTRS, "macvlan": MACVLAN_ATTRS,
    "macvtap": MACVLAN_ATTRS, "ipvlan": IPVLAN_ATTRS, "ipvtap": IPVLAN_ATTRS,
    "vlan": VLAN_ATTRS,
}

LINKINFO_ATTRS = AttrSet("linkinfo-attrs", [
    (IFLA_INFO_KIND, "kind", "string"),
    (IFLA_INFO_DATA, "data", "submsg", SubMessage("kind", _INFO_DATA_KINDS)),
    (IFLA_INFO_XSTATS, "xstats", "binary"),
    (IFLA_INFO_SLAVE_KIND, "slave_kind", "string"),
    (IFLA_INFO_SLAVE_DATA, "slave_data", "submsg",
     SubMessage("slave_kind", {"bridge": BRPORT_ATTRS})),
])

PROP_LIST_ATTRS = AttrSet("prop-list-link-attrs", [
    (IFLA_ALT_IFNAME, "alt_ifname", "string", {"multi": True, "maxlen": 127}),
])

# IFLA_AF_SPEC holds one nest per address family.  IFLA_INET_CONF is not
# symmetric: dumps carry the whole ipv4_devconf as an array of u32 (kept as
# bytes here), while RTM_SETLINK takes nested attributes whose type is the
# IPV4_DEVCONF_* index (built by libnet.netlink's ``ipv4_conf``).
INET_AF_ATTRS = AttrSet("ifla-af-inet", [
    (IFLA_INET_CONF, "conf", "binary"),
])
INET6_AF_ATTRS = AttrSet("ifla-af-inet6", [
    (IFLA_INET6_FLAGS, "flags", "u32"),
    (IFLA_INET6_CONF, "conf", "binary"),
    (IFLA_INET6_STATS, "stats", "binary"),
    (IFLA_INET6_MCAST, "mcast", "binary"),
    (IFLA_INET6_CACHEINFO, "cacheinfo", "binary"),
    (IFLA_INET6_ICMP6STATS, "icmp6stats", "binary"),
    (IFLA_INET6_TOKEN, "token", "ipaddr"),
    (IFLA_INET6_ADDR_GEN_MODE, "addr_gen_mode", "u8"),
    (IFLA_INET6_RA_MTU, "ra_mtu", "u32"),
])
AF_SPEC_ATTRS = AttrSet("af-spec-attrs", [
    (AF_INET, "inet", "nest", INET_AF_ATTRS),
    (AF_INET6, "inet6", "nest", INET6_AF_ATTRS),
])

_LINK_ATTR_LIST = [
    (IFLA_ADDRESS, "address", "lladdr"),
    (IFLA_BROADCAST, "broadcast", "lladdr"),
    (IFLA_IFNAME, "ifname", "string", {"maxlen": IFNAMSIZ - 1}),
    (IFLA_MTU, "mtu", "u32"),
    (IFLA_LINK, "link", "u32"),
    (IFLA_QDISC, "qdisc", "string"),
    (IFLA_STATS, "stats", "struct", LINK_STATS),
    (IFLA_COST, "cost", "binary"),
    (IFLA_PRIORITY, "priority", "binary"),
    (IFLA_MASTER, "master", "u32"),
    (IFLA_WIRELESS, "wireless", "binary"),
    (IFLA_PROTINFO, "protinfo", "binary"),
    (IFLA_TXQLEN, "txqlen", "u32"),
    (IFLA_MAP, "map", "struct", LINK_IFMAP),
    (IFLA_WEIGHT, "weight", "u32"),
    (IFLA_OPERSTATE, "operstate", "u8"),
    (IFLA_LINKMODE, "linkmode", "u8"),
    (IFLA_LINKINFO, "linkinfo", "nest", LINKINFO_ATTRS),
    (IFLA_NET_NS_PID, "net_ns_pid", "u32"),
    (IFLA_IFALIAS, "ifalias", "string"),
    (IFLA_NUM_VF, "num_vf", "u32"),
    (IFLA_VFINFO_LIST, "vfinfo_list", "binary"),
    (IFLA_STATS64, "stats64", "struct", LINK_STATS64),
    (IFLA_VF_PORTS, "vf_ports", "binary"),
    (IFLA_PORT_SELF, "port_self", "binary"),
    (IFLA_AF_SPEC, "af_spec", "nest", AF_SPEC_ATTRS),
    (IFLA_GROUP, "group", "u32"),
    (IFLA_NET_NS_FD, "net_ns_fd", "u32"),
    (IFLA_EXT_MASK, "ext_mask", "u32"),
    (IFLA_PROMISCUITY, "promiscuity", "u32"),
    (IFLA_NUM_TX_QUEUES, "num_tx_queues", "u32"),
    (IFLA_NUM_RX_QUEUES, "num_rx_queues", "u32"),
    (IFLA_CARRIER, "carrier", "u8"),
    (IFLA_PHYS_PORT_ID, "phys_port_id", "binary"),
    (IFLA_CARRIER_CHANGES, "carrier_changes", "u32"),
    (IFLA_PHYS_SWITCH_ID, "phys_switch_id", "binary"),
    (IFLA_LINK_NETNSID, "link_netnsid", "s32"),
    (IFLA_PHYS_PORT_NAME, "phys_port_name", "string"),
    (IFLA_PROTO_DOWN, "proto_down", "u8"),
    (IFLA_GSO_MAX_SEGS, "gso_max_segs", "u32"),
    (IFLA_GSO_MAX_SIZE, "gso_max_size", "u32"),
    (IFLA_PAD, "pad", "binary"),
    (IFLA_XDP, "xdp", "binary"),
    (IFLA_EVENT, "event", "u32"),
    (IFLA_NEW_NETNSID, "new_netnsid", "s32"),
    (IFLA_TARGET_NETNSID, "target_netnsid", "s32"),
    (IFLA_CARRIER_UP_COUNT, "carrier_up_count", "u32"),
    (IFLA_CARRIER_DOWN_COUNT, "carrier_down_count", "u32"),
    (IFLA_NEW_IFINDEX, "new_ifindex", "s32"),
    (IFLA_MIN_MTU, "min_mtu", "u32"),
    (IFLA_MAX_MTU, "max_mtu", "u32"),
    (IFLA_PROP_LIST, "prop_list", "nest", PROP_LIST_ATTRS, {"nested_flag": True}),
    (IFLA_ALT_IFNAME, "alt_ifname", "string", {"maxlen": 127}),
    (IFLA_PERM_ADDRESS, "perm_address", "lladdr"),
    (IFLA_PROTO_DOWN_REASON, "proto_down_reason", "binary"),
    (IFLA_PARENT_DEV_NAME, "parent_dev_name", "string"),
    (IFLA_PARENT_DEV_BUS_NAME, "parent_dev_bus_name", "string"),
    (IFLA_GRO_MAX_SIZE, "gro_max_size", "u32"),
    (IFLA_TSO_MAX_SIZE, "tso_max_size", "u32"),
    (IFLA_TSO_MAX_SEGS, "tso_max_segs", "u32"),
    (IFLA_ALLMULTI, "allmulti", "u32"),
    (LIBNET_IFLA_DEVLINK_PORT, "devlink_port", "binary", {"nested_flag": True}),
    (LIBNET_IFLA_GSO_IPV4_MAX_SIZE, "gso_ipv4_max_size", "u32"),
    (LIBNET_IFLA_GRO_IPV4_MAX_SIZE, "gro_ipv4_max_size", "u32"),
    (LIBNET_IFLA_DPLL_PIN, "dpll_pin", "binary", {"nested_flag": True}),
    (LIBNET_IFLA_MAX_PACING_OFFLOAD_HORIZON, "max_pacing_offload_horizon", "u32"),
    (LIBNET_IFLA_NETNS_IMMUTABLE, "netns_immutable", "u8"),
    (LIBNET_IFLA_HEADROOM, "headroom", "u16"),
    (LIBNET_IFLA_TAILROOM, "tailroom", "u16"),
]

# The peer of a veth is described by a whole link message body.
VETH_PEER_ATTRS = AttrSet("veth-peer", _LINK_ATTR_LIST, IFINFOMSG)
VETH_ATTRS = AttrSet("linkinfo-veth-attrs", [
    (VETH_INFO_PEER, "peer", "nest", VETH_PEER_ATTRS),
])
_INFO_DATA_KINDS["veth"] = VETH_ATTRS

LINK_ATTRS = AttrSet("link-attrs", _LINK_ATTR_LIST)

# ------------------------------------------------------------ addresses

ADDR_ATTRS = AttrSet("addr-attrs", [
    (IFA_ADDRESS, "address", "ipaddr"),
    (IFA_LOCAL, "local", "ipaddr"),
    (IFA_LABEL, "label", "string", {"maxlen": IFNAMSIZ - 1}),
    (IFA_BROADCAST, "broadcast", "ipaddr"),
    (IFA_ANYCAST, "anycast", "ipaddr"),
    (IFA_CACHEINFO, "cacheinfo", "struct", IFA_CACHEINFO_SPEC),
    (IFA_MULTICAST, "multicast", "ipaddr"),
    (IFA_FLAGS, "flags", "u32"),
    (IFA_RT_PRIORITY, "rt_priority", "u32"),
    (IFA_TARGET_NETNSID, "target_netnsid", "s32"),
    (IFA_PROTO, "proto", "u8"),
])

# ------------------------------------------------------------ routes

ROUTE_METRICS_ATTRS = AttrSet("route-metrics", [
    (RTAX_LOCK, "lock", "u32"),
    (RTAX_MTU, "mtu", "u32"),
    (RTAX_WINDOW, "window", "u32"),
    (RTAX_RTT, "rtt", "u32"),
    (RTAX_RTTVAR, "rttvar", "u32"),
    (RTAX_SSTHRESH, "ssthresh", "u32"),
    (RTAX_CWND, "cwnd", "u32"),
    (RTAX_ADVMSS, "advmss", "u32"),
    (RTAX_REORDERING, "reordering", "u32"),
    (RTAX_HOPLIMIT, "hoplimit", "u32"),
    (RTAX_INITCWND, "initcwnd", "u32"),
    (RTAX_FEATURES, "features", "u32"),
    (RTAX_RTO_MIN, "rto_min", "u32"),
    (RTAX_INITRWND, "initrwnd", "u32"),
    (RTAX_QUICKACK, "quickack", "u32"),
    (RTAX_CC_ALGO, "cc_algo", "string"),
    (RTAX_FASTOPEN_NO_COOKIE, "fastopen_no_cookie", "u32"),
])

ROUTE_ATTRS = AttrSet("route-attrs", [
    (RTA_DST, "dst", "ipaddr"),
    (RTA_SRC, "src", "ipaddr"),
    (RTA_IIF, "iif", "u32"),
    (RTA_OIF, "oif", "u32"),
    (RTA_GATEWAY, "gateway", "ipaddr"),
    (RTA_PRIORITY, "priority", "u32"),
    (RTA_PREFSRC, "prefsrc", "ipaddr"),
    (RTA_METRICS, "metrics", "nest", ROUTE_METRICS_ATTRS),
    (RTA_MULTIPATH, "multipath", "binary"),
    (RTA_PROTOINFO, "protoinfo", "binary"),
    (RTA_FLOW, "flow", "u32"),
    (RTA_CACHEINFO, "cacheinfo", "struct", RTA_CACHEINFO_SPEC),
    (RTA_SESSION, "session", "binary"),
    (RTA_MP_ALGO, "mp_algo", "binary"),
    (RTA_TABLE, "table", "u32"),
    (RTA_MARK, "mark", "u32"),
    (RTA_MFC_STATS, "mfc_stats", "binary"),
    (RTA_VIA, "via", "binary"),
    (RTA_NEWDST, "newdst", "binary"),
    (RTA_PREF, "pref", "u8"),
    (RTA_ENCAP_TYPE, "encap_type", "u16"),
    (RTA_ENCAP, "encap", "binary"),
    (RTA_EXPIRES, "expires", "u32"),
    (RTA_PAD, "pad", "binary"),
    (RTA_UID, "uid", "u32"),
    (RTA_TTL_PROPAGATE, "ttl_propagate", "u8"),
    (RTA_IP_PROTO, "ip_proto", "u8"),
    (RTA_SPORT, "sport", "be16"),
    (RTA_DPORT, "dport", "be16"),
    (RTA_NH_ID, "nh_id", "u32"),
])

# ------------------------------------------------------------ neighbours

NEIGH_ATTRS = AttrSet("neigh-attrs", [
    (NDA_DST, "dst", "ipaddr"),
    (NDA_LLADDR, "lladdr", "lladdr"),
    (NDA_CACHEINFO, "cacheinfo", "struct", NDA_CACHEINFO_SPEC),
    (NDA_PROBES, "probes", "u32"),
    (NDA_VLAN, "vlan", "u16"),
    (NDA_PORT, "port", "be16"),
    (NDA_VNI, "vni", "u32"),
    (NDA_IFINDEX, "ifindex", "u32"),
    (NDA_MASTER, "master", "u32"),
    (NDA_LINK_NETNSID, "link_netnsid", "s32"),
    (NDA_SRC_VNI, "src_vni", "u32"),
    (NDA_PROTOCOL, "protocol", "u8"),
    (NDA_NH_ID, "nh_id", "u32"),
    (NDA_FDB_EXT_ATTRS, "fdb_ext_attrs", "binary"),
    (NDA_FLAGS_EXT, "flags_ext", "u32"),
])

# ------------------------------------------------------------ parsed objects

_OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING",
               "DORMANT", "UP")


@cython.no_gc
cdef class Link(Message):
    """A network interface (RTM_NEWLINK / RTM_DELLINK)."""

    cdef inline const ifinfomsg *_ifi(self):
        return <const ifinfomsg *>self._header(sizeof(ifinfomsg))

    @property
    def index(self):
        return self._ifi().ifi_index

    @property
    def family(self):
        return self._ifi().ifi_family

    @property
    def link_type(self):
        """ARPHRD_* hardware type (1: ether, 772: loopback)."""
        return self._ifi().ifi_type

    @property
    def flags(self):
        """IFF_* flags (IFF_UP, IFF_LOWER_UP, ...)."""
        return self._ifi().ifi_flags

    @property
    def is_up(self):
        return bool(self._ifi().ifi_flags & IFF_UP)

    @property
    def name(self):
        cdef Py_ssize_t n
        cdef const uint8_t *p = self._attr(IFLA_IFNAME, &n)
        return string_decode(p, n) if p != NULL else None

    @property
    def mtu(self):
        cdef Py_ssize_t n
        cdef const uint8_t *p = self._attr(IFLA_MTU, &n)
        return read_u32(p) if p != NULL and n >= 4 else None

    @property
    def mac(self):
        """IFLA_ADDRESS as 'aa:bb:cc:dd:ee:ff' (None for links without one)."""
        return self._value(IFLA_ADDRESS)

    @property
    def broadcast(self):
        return self._value(IFLA_BROADCAST)

    @property
    def perm_address(self):
        return self._value(IFLA_PERM_ADDRESS)

    @property
    def master(self):
        """Index of the master device (bridge), or None."""
        cdef Py_ssize_t n
        cdef const uint8_t *p = self._attr(IFLA_MASTER, &n)
        return read_u32(p) if p != NULL and n >= 4 else None

    @property
    def link(self):
        """IFLA_LINK: the peer's or parent's index, or None."""
        return self._value(IFLA_LINK)

    @property
    def operstate(self):
        """RFC 2863 operational state as `ip` prints it ('UP', 'DOWN', ...)."""
        cdef Py_ssize_t n
        cdef const uint8_t *p = self._attr(IFLA_OPERSTATE, &n)
        if p == NULL or n < 1:
            return None
        return _OPERSTATES[p[0]] if p[0] < len(_OPERSTATES) else str(p[0])

    @property
    def link_netnsid(self):
        """The peer's namespace id as seen from this namespace, or None."""
        return self._value(IFLA_LINK_NETNSID)

    @property
    def txqlen(self):
        return self._value(IFLA_TXQLEN)

    @property
    def group(self):
        return self._value(IFLA_GROUP)

    @property
    def alias(self):
        return self._value(IFLA_IFALIAS)

    @property
    def qdisc(self):
        return self._value(IFLA_QDISC)

    @property
    def carrier(self):
        return self._value(IFLA_CARRIER)

    @property
    def promiscuity(self):
        return self._value(IFLA_PROMISCUITY)

    @property
    def min_mtu(self):
        return self._value(IFLA_MIN_MTU)

    @property
    def max_mtu(self):
        return self._value(IFLA_MAX_MTU)

    @property
    def num_tx_queues(self):
        return self._value(IFLA_NUM_TX_QUEUES)

    @property
    def num_rx_queues(self):
        return self._value(IFLA_NUM_RX_QUEUES)

    @property
    def stats(self):
        """Interface counters (rtnl_link_stats64) as a dict, or None."""
        return self._value(IFLA_STATS64)

    @property
    def linkinfo(self):
        """IFLA_LINKINFO decoded: kind, data, slave_kind, slave_data."""
        return self._value(IFLA_LINKINFO) or {}

    cdef object _linkinfo_str(self, int which):
        cdef Py_ssize_t n, vn
        cdef const uint8_t *p = self._attr(IFLA_LINKINFO, &n)
        cdef Cursor c
        cdef uint16_t t
        cdef const uint8_t *v
        if p == NULL:
            return None
        cursor_init(&c, p, n)
        while nla_next(&c, &t, &v, &vn):
            if (t & NLA_TYPE_MASK) == which:
                return string_decode(v, vn)
        return None

    @property
    def kind(self):
        """IFLA_INFO_KIND ('veth', 'bridge', ...), or None for plain devices."""
        return self._linkinfo_str(IFLA_INFO_KIND)

    @property
    def slave_kind(self):
        return self._linkinfo_str(IFLA_INFO_SLAVE_KIND)

    @property
    def info_data(self):
        """The kind-specific attributes (IFLA_INFO_DATA) as a dict, or None."""
        return self.linkinfo.get("data")

    @property
    def slave_data(self):
        return self.linkinfo.get("slave_data")

    def __repr__(self):
        return f"<Link {self.index}: {self.name} kind={self.kind} mtu={self.mtu} {self.operstate}>"


@cython.no_gc
cdef class Address(Message):
    """An interface address (RTM_NEWADDR / RTM_DELADDR)."""

    cdef inline const ifaddrmsg *_ifa(self):
        return <const ifaddrmsg *>self._header(sizeof(ifaddrmsg))

    @property
    def family(self):
        return self._ifa().ifa_family

    @property
    def prefixlen(self):
        return self._ifa().ifa_prefixlen

    @property
    def flags(self):
        """IFA_F_* flags, all 32 bits (IFA_FLAGS when present)."""
        v = self._value(IFA_FLAGS)
        return v if v is not None else self._ifa().ifa_flags

    @property
    def scope(self):
        return self._ifa().ifa_scope

    @property
    def index(self):
        return self._ifa().ifa_index

    @property
    def address(self):
        return self._value(IFA_ADDRESS)

    @property
    def local(self):
        """The interface's own address: IFA_LOCAL (IFA_ADDRESS when absent, as on IPv6)."""
        v = self._value(IFA_LOCAL)
        return v if v is not None else self._value(IFA_ADDRESS)

    @property
    def broadcast(self):
        return self._value(IFA_BROADCAST)

    @property
    def label(self):
        return self._value(IFA_LABEL)

    @property
    def cidr(self):
        """'address/prefixlen' of the local address."""
        return f"{self.local}/{self.prefixlen}"

    def __repr__(self):
        return f"<Address {self.cidr} index={self.index}>"


@cython.no_gc
cdef class Route(Message):
    """A route (RTM_NEWROUTE / RTM_DELROUTE)."""

    cdef inline const rtmsg *_rtm(self):
        return <const rtmsg *>self._header(sizeof(rtmsg))

    @property
    def family(self):
        return self._rtm().rtm_family

    @property
    def dst_len(self):
        return self._rtm().rtm_dst_len

    @property
    def src_len(self):
        return self._rtm().rtm_src_len

    @property
    def tos(self):
        return self._rtm().rtm_tos

    @property
    def table(self):
        """RTA_TABLE when present (tables past 255), else rtm_table."""
        v = self._value(RTA_TABLE)
        return v if v is not None else self._rtm().rtm_table

    @property
    def protocol(self):
        return self._rtm().rtm_protocol

    @property
    def scope(self):
        return self._rtm().rtm_scope

    @property
    def route_type(self):
        """RTN_* type (RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE, ...)."""
        return self._rtm().rtm_type

    @property
    def flags(self):
        return self._rtm().rtm_flags

    @property
    def dst(self):
        """'prefix/len', or 'default' for a zero-length destination (as `ip` prints)."""
        v = self._value(RTA_DST)
        if v is None:
            return "default"
        return f"{v}/{self._rtm().rtm_dst_len}"

    @property
    def gateway(self):
        return self._value(RTA_GATEWAY)

    @property
    def oif(self):
        return self._value(RTA_OIF)

    @property
    def iif(self):
        return self._value(RTA_IIF)

    @property
    def priority(self):
        """The metric (RTA_PRIORITY), or None."""
        return self._value(RTA_PRIORITY)

    @property
    def metric(self):
        """Alias of ``priority``, as `ip route` calls it."""
        return self._value(RTA_PRIORITY)

    @property
    def prefsrc(self):
        return self._value(RTA_PREFSRC)

    @property
    def pref(self):
        return self._value(RTA_PREF)

    @property
    def metrics(self):
        return self._value(RTA_METRICS)

    def __repr__(self):
        return f"<Route {self.dst} via {self.gateway} oif={self.oif} table={self.table}>"


@cython.no_gc
cdef class Neighbour(Message):
    """A neighbour or bridge FDB entry (RTM_NEWNEIGH / RTM_DELNEIGH)."""

    cdef inline const ndmsg *_ndm(self):
        return <const ndmsg *>self._header(sizeof(ndmsg))

    @property
    def family(self):
        return self._ndm().ndm_family

    @property
    def ifindex(self):
        return self._ndm().ndm_ifindex

    @property
    def state(self):
        """NUD_* state bits."""
        return self._ndm().ndm_state

    @property
    def flags(self):
        """NTF_* flags."""
        return self._ndm().ndm_flags

    @property
    def ntype(self):
        return self._ndm().ndm_type

    @property
    def dst(self):
        return self._value(NDA_DST)

    @property
    def lladdr(self):
        return self._value(NDA_LLADDR)

    @property
    def master(self):
        return self._value(NDA_MASTER)

    @property
    def vlan(self):
        return self._value(NDA_VLAN)

    @property
    def vni(self):
        return self._value(NDA_VNI)

    @property
    def port(self):
        return self._value(NDA_PORT)

    def __repr__(self):
        return f"<Neighbour {self.dst} lladdr={self.lladdr} ifindex={self.ifindex}>"


for _t, _n in ((RTM_NEWLINK, "RTM_NEWLINK"), (RTM_DELLINK, "RTM_DELLINK"),
               (RTM_GETLINK, "RTM_GETLINK"), (RTM_SETLINK, "RTM_SETLINK")):
    register_message_type(NETLINK_ROUTE, _t, _n, IFINFOMSG, LINK_ATTRS, Link)
for _t, _n in ((RTM_NEWADDR, "RTM_NEWADDR"), (RTM_DELADDR, "RTM_DELADDR"),
               (RTM_GETADDR, "RTM_GETADDR")):
    register_message_type(NETLINK_ROUTE, _t, _n, IFADDRMSG, ADDR_ATTRS, Address)
for _t, _n in ((RTM_NEWROUTE, "RTM_NEWROUTE"), (RTM_DELROUTE, "RTM_DELROUTE"),
               (RTM_GETROUTE, "RTM_GETROUTE")):
    register_message_type(NETLINK_ROUTE, _t, _n, RTMSG, ROUTE_ATTRS, Route)
for _t, _n in ((RTM_NEWNEIGH, "RTM_NEWNEIGH"), (RTM_DELNEIGH, "RTM_DELNEIGH"),
               (RTM_GETNEIGH, "RTM_GETNEIGH")):
    register_message_type(NETLINK_ROUTE, _t, _n, NDMSG, NEIGH_ATTRS, Neighbour)
