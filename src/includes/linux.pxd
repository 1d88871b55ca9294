# C declarations: kernel UAPI constants and structs for netlink and rtnetlink.
# Names only: every value comes from the kernel headers (through compat.h).
# `cpdef enum` also exposes each name as a Python int on libnet._netlink.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, uint64_t

cdef extern from "compat.h" nogil:
    # netlink
    cpdef enum:
        NETLINK_ROUTE
        NETLINK_NETFILTER
        NETLINK_EXT_ACK
        NETLINK_CAP_ACK
        NETLINK_GET_STRICT_CHK
        NETLINK_ADD_MEMBERSHIP
        NETLINK_DROP_MEMBERSHIP
        NETLINK_NO_ENOBUFS
        NETLINK_LISTEN_ALL_NSID
        SOL_NETLINK
        NLM_F_REQUEST
        NLM_F_MULTI
        NLM_F_ACK
        NLM_F_ECHO
        NLM_F_DUMP_INTR
        NLM_F_DUMP_FILTERED
        NLM_F_ROOT
        NLM_F_MATCH
        NLM_F_ATOMIC
        NLM_F_DUMP
        NLM_F_REPLACE
        NLM_F_EXCL
        NLM_F_CREATE
        NLM_F_APPEND
        NLM_F_NONREC
        NLM_F_CAPPED
        NLM_F_ACK_TLVS
        NLMSG_NOOP
        NLMSG_ERROR
        NLMSG_DONE
        NLMSG_OVERRUN
        NLMSG_HDRLEN
        NLA_F_NESTED
        NLA_F_NET_BYTEORDER
        NLA_TYPE_MASK
        NLMSGERR_ATTR_MSG
        NLMSGERR_ATTR_OFFS
        NLMSGERR_ATTR_COOKIE
        NLMSGERR_ATTR_POLICY
        NLMSGERR_ATTR_MISS_TYPE
        NLMSGERR_ATTR_MISS_NEST
        NLMSGERR_ATTR_MAX

    # address families
    cpdef enum:
        AF_UNSPEC
        AF_INET
        AF_INET6
        AF_BRIDGE

    # rtm
    cpdef enum:
        RTNH_F_ONLINK
        RTEXT_FILTER_VF
        RTEXT_FILTER_SKIP_STATS
        RTM_NEWLINK
        RTM_DELLINK
        RTM_GETLINK
        RTM_SETLINK
        RTM_NEWADDR
        RTM_DELADDR
        RTM_GETADDR
        RTM_NEWROUTE
        RTM_DELROUTE
        RTM_GETROUTE
        RTM_NEWNEIGH
        RTM_DELNEIGH
        RTM_GETNEIGH
        RTM_NEWNSID
        RTM_DELNSID
        RTM_GETNSID

    # rtnlgrp
    cpdef enum:
        RTNLGRP_LINK
        RTNLGRP_NEIGH
        RTNLGRP_IPV4_IFADDR
        RTNLGRP_IPV4_ROUTE
        RTNLGRP_IPV6_IFADDR
        RTNLGRP_IPV6_ROUTE
        RTNLGRP_NSID

    # ifla
    cpdef enum:
        IFLA_UNSPEC
        IFLA_ADDRESS
        IFLA_BROADCAST
        IFLA_IFNAME
        IFLA_MTU
        IFLA_LINK
        IFLA_QDISC
        IFLA_STATS
        IFLA_COST
        IFLA_PRIORITY
        IFLA_MASTER
        IFLA_WIRELESS
        IFLA_PROTINFO
        IFLA_TXQLEN
        IFLA_MAP
        IFLA_WEIGHT
        IFLA_OPERSTATE
        IFLA_LINKMODE
        IFLA_LINKINFO
        IFLA_NET_NS_PID
        IFLA_IFALIAS
        IFLA_NUM_VF
        IFLA_VFINFO_LIST
        IFLA_STATS64
        IFLA_VF_PORTS
        IFLA_PORT_SELF
        IFLA_AF_SPEC
        IFLA_GROUP
        IFLA_NET_NS_FD
        IFLA_EXT_MASK
        IFLA_PROMISCUITY
        IFLA_NUM_TX_QUEUES
        IFLA_NUM_RX_QUEUES
        IFLA_CARRIER
        IFLA_PHYS_PORT_ID
        IFLA_CARRIER_CHANGES
        IFLA_PHYS_SWITCH_ID
        IFLA_LINK_NETNSID
        IFLA_PHYS_PORT_NAME
        IFLA_PROTO_DOWN
        IFLA_GSO_MAX_SEGS
        IFLA_GSO_MAX_SIZE
        IFLA_PAD
        IFLA_XDP
        IFLA_EVENT
        IFLA_NEW_NETNSID
        IFLA_TARGET_NETNSID
        IFLA_CARRIER_UP_COUNT
        IFLA_CARRIER_DOWN_COUNT
        IFLA_NEW_IFINDEX
        IFLA_MIN_MTU
        IFLA_MAX_MTU
        IFLA_PROP_LIST
        IFLA_ALT_IFNAME
        IFLA_PERM_ADDRESS
        IFLA_PROTO_DOWN_REASON
        IFLA_PARENT_DEV_NAME
        IFLA_PARENT_DEV_BUS_NAME
        IFLA_GRO_MAX_SIZE
        IFLA_TSO_MAX_SIZE
        IFLA_TSO_MAX_SEGS
        IFLA_ALLMULTI
        LIBNET_IFLA_DEVLINK_PORT
        LIBNET_IFLA_GSO_IPV4_MAX_SIZE
        LIBNET_IFLA_GRO_IPV4_MAX_SIZE
        LIBNET_IFLA_DPLL_PIN
        LIBNET_IFLA_MAX_PACING_OFFLOAD_HORIZON
        LIBNET_IFLA_NETNS_IMMUTABLE
        LIBNET_IFLA_HEADROOM
        LIBNET_IFLA_TAILROOM

    # IFLA_AF_SPEC: per-family link attributes (AF_INET, AF_INET6)
    cpdef enum:
        IFLA_INET_CONF

    cpdef enum:
        IPV4_DEVCONF_FORWARDING
        IPV4_DEVCONF_MC_FORWARDING
        IPV4_DEVCONF_PROXY_ARP
        IPV4_DEVCONF_ACCEPT_REDIRECTS
        IPV4_DEVCONF_SECURE_REDIRECTS
        IPV4_DEVCONF_SEND_REDIRECTS
        IPV4_DEVCONF_SHARED_MEDIA
        IPV4_DEVCONF_RP_FILTER
        IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE
        IPV4_DEVCONF_BOOTP_RELAY
        IPV4_DEVCONF_LOG_MARTIANS
        IPV4_DEVCONF_TAG
        IPV4_DEVCONF_ARPFILTER
        IPV4_DEVCONF_MEDIUM_ID
        IPV4_DEVCONF_NOXFRM
        IPV4_DEVCONF_NOPOLICY
        IPV4_DEVCONF_FORCE_IGMP_VERSION
        IPV4_DEVCONF_ARP_ANNOUNCE
        IPV4_DEVCONF_ARP_IGNORE
        IPV4_DEVCONF_PROMOTE_SECONDARIES
        IPV4_DEVCONF_ARP_ACCEPT
        IPV4_DEVCONF_ARP_NOTIFY
        IPV4_DEVCONF_ACCEPT_LOCAL
        IPV4_DEVCONF_SRC_VMARK
        IPV4_DEVCONF_PROXY_ARP_PVLAN
        IPV4_DEVCONF_ROUTE_LOCALNET
        IPV4_DEVCONF_IGMPV2_UNSOLICITED_REPORT_INTERVAL
        IPV4_DEVCONF_IGMPV3_UNSOLICITED_REPORT_INTERVAL
        IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN
        IPV4_DEVCONF_DROP_UNICAST_IN_L2_MULTICAST
        IPV4_DEVCONF_DROP_GRATUITOUS_ARP
        IPV4_DEVCONF_BC_FORWARDING
        IPV4_DEVCONF_ARP_EVICT_NOCARRIER

    cpdef enum:
        IFLA_INET6_FLAGS
        IFLA_INET6_CONF
        IFLA_INET6_STATS
        IFLA_INET6_MCAST
        IFLA_INET6_CACHEINFO
        IFLA_INET6_ICMP6STATS
        IFLA_INET6_TOKEN
        IFLA_INET6_ADDR_GEN_MODE
        IFLA_INET6_RA_MTU
        IN6_ADDR_GEN_MODE_EUI64
        IN6_ADDR_GEN_MODE_NONE
        IN6_ADDR_GEN_MODE_STABLE_PRIVACY
        IN6_ADDR_GEN_MODE_RANDOM
        IFLA_MAX
        IFLA_INFO_KIND
        IFLA_INFO_DATA
        IFLA_INFO_XSTATS
        IFLA_INFO_SLAVE_KIND
        IFLA_INFO_SLAVE_DATA
        IFLA_INFO_MAX
        VETH_INFO_PEER
        VETH_INFO_MAX

    # ifla_br
    cpdef enum:
        IFLA_BR_FORWARD_DELAY
        IFLA_BR_HELLO_TIME
        IFLA_BR_MAX_AGE
        IFLA_BR_AGEING_TIME
        IFLA_BR_STP_STATE
        IFLA_BR_PRIORITY
        IFLA_BR_VLAN_FILTERING
        IFLA_BR_VLAN_PROTOCOL
        IFLA_BR_GROUP_FWD_MASK
        IFLA_BR_ROOT_ID
        IFLA_BR_BRIDGE_ID
        IFLA_BR_ROOT_PORT
        IFLA_BR_ROOT_PATH_COST
        IFLA_BR_TOPOLOGY_CHANGE
        IFLA_BR_TOPOLOGY_CHANGE_DETECTED
        IFLA_BR_HELLO_TIMER
        IFLA_BR_TCN_TIMER
        IFLA_BR_TOPOLOGY_CHANGE_TIMER
        IFLA_BR_GC_TIMER
        IFLA_BR_GROUP_ADDR
        IFLA_BR_FDB_FLUSH
        IFLA_BR_MCAST_ROUTER
        IFLA_BR_MCAST_SNOOPING
        IFLA_BR_MCAST_QUERY_USE_IFADDR
        IFLA_BR_MCAST_QUERIER
        IFLA_BR_MCAST_HASH_ELASTICITY
        IFLA_BR_MCAST_HASH_MAX
        IFLA_BR_MCAST_LAST_MEMBER_CNT
        IFLA_BR_MCAST_STARTUP_QUERY_CNT
        IFLA_BR_MCAST_LAST_MEMBER_INTVL
        IFLA_BR_MCAST_MEMBERSHIP_INTVL
        IFLA_BR_MCAST_QUERIER_INTVL
        IFLA_BR_MCAST_QUERY_INTVL
        IFLA_BR_MCAST_QUERY_RESPONSE_INTVL
        IFLA_BR_MCAST_STARTUP_QUERY_INTVL
        IFLA_BR_NF_CALL_IPTABLES
        IFLA_BR_NF_CALL_IP6TABLES
        IFLA_BR_NF_CALL_ARPTABLES
        IFLA_BR_VLAN_DEFAULT_PVID
        IFLA_BR_PAD
        IFLA_BR_VLAN_STATS_ENABLED
        IFLA_BR_MCAST_STATS_ENABLED
        IFLA_BR_MCAST_IGMP_VERSION
        IFLA_BR_MCAST_MLD_VERSION
        IFLA_BR_VLAN_STATS_PER_PORT
        IFLA_BR_MULTI_BOOLOPT
        IFLA_BR_MCAST_QUERIER_STATE
        IFLA_BR_MAX

    # ifla_brport
    cpdef enum:
        IFLA_BRPORT_STATE
        IFLA_BRPORT_PRIORITY
        IFLA_BRPORT_COST
        IFLA_BRPORT_MODE
        IFLA_BRPORT_GUARD
        IFLA_BRPORT_PROTECT
        IFLA_BRPORT_FAST_LEAVE
        IFLA_BRPORT_LEARNING
        IFLA_BRPORT_UNICAST_FLOOD
        IFLA_BRPORT_PROXYARP
        IFLA_BRPORT_LEARNING_SYNC
        IFLA_BRPORT_PROXYARP_WIFI
        IFLA_BRPORT_ROOT_ID
        IFLA_BRPORT_BRIDGE_ID
        IFLA_BRPORT_DESIGNATED_PORT
        IFLA_BRPORT_DESIGNATED_COST
        IFLA_BRPORT_ID
        IFLA_BRPORT_NO
        IFLA_BRPORT_TOPOLOGY_CHANGE_ACK
        IFLA_BRPORT_CONFIG_PENDING
        IFLA_BRPORT_MESSAGE_AGE_TIMER
        IFLA_BRPORT_FORWARD_DELAY_TIMER
        IFLA_BRPORT_HOLD_TIMER
        IFLA_BRPORT_FLUSH
        IFLA_BRPORT_MULTICAST_ROUTER
        IFLA_BRPORT_PAD
        IFLA_BRPORT_MCAST_FLOOD
        IFLA_BRPORT_MCAST_TO_UCAST
        IFLA_BRPORT_VLAN_TUNNEL
        IFLA_BRPORT_BCAST_FLOOD
        IFLA_BRPORT_GROUP_FWD_MASK
        IFLA_BRPORT_NEIGH_SUPPRESS
        IFLA_BRPORT_ISOLATED
        IFLA_BRPORT_BACKUP_PORT
        IFLA_BRPORT_MRP_RING_OPEN
        IFLA_BRPORT_MRP_IN_OPEN
        IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT
        IFLA_BRPORT_MCAST_EHT_HOSTS_CNT
        IFLA_BRPORT_LOCKED
        IFLA_BRPORT_MAX

    # ifla_vxlan
    cpdef enum:
        IFLA_VXLAN_ID
        IFLA_VXLAN_GROUP
        IFLA_VXLAN_LINK
        IFLA_VXLAN_LOCAL
        IFLA_VXLAN_TTL
        IFLA_VXLAN_TOS
        IFLA_VXLAN_LEARNING
        IFLA_VXLAN_AGEING
        IFLA_VXLAN_LIMIT
        IFLA_VXLAN_PORT_RANGE
        IFLA_VXLAN_PROXY
        IFLA_VXLAN_RSC
        IFLA_VXLAN_L2MISS
        IFLA_VXLAN_L3MISS
        IFLA_VXLAN_PORT
        IFLA_VXLAN_GROUP6
        IFLA_VXLAN_LOCAL6
        IFLA_VXLAN_UDP_CSUM
        IFLA_VXLAN_UDP_ZERO_CSUM6_TX
        IFLA_VXLAN_UDP_ZERO_CSUM6_RX
        IFLA_VXLAN_REMCSUM_TX
        IFLA_VXLAN_REMCSUM_RX
        IFLA_VXLAN_GBP
        IFLA_VXLAN_REMCSUM_NOPARTIAL
        IFLA_VXLAN_COLLECT_METADATA
        IFLA_VXLAN_LABEL
        IFLA_VXLAN_GPE
        IFLA_VXLAN_TTL_INHERIT
        IFLA_VXLAN_DF
        IFLA_VXLAN_VNIFILTER
        IFLA_VXLAN_MAX

    # ifla_misc
    cpdef enum:
        IFLA_MACVLAN_MODE
        IFLA_MACVLAN_FLAGS
        IFLA_MACVLAN_MACADDR_MODE
        IFLA_MACVLAN_MACADDR
        IFLA_MACVLAN_MACADDR_DATA
        IFLA_MACVLAN_MACADDR_COUNT
        IFLA_MACVLAN_BC_QUEUE_LEN
        IFLA_MACVLAN_BC_QUEUE_LEN_USED
        IFLA_MACVLAN_MAX
        MACVLAN_MODE_PRIVATE
        MACVLAN_MODE_VEPA
        MACVLAN_MODE_BRIDGE
        MACVLAN_MODE_PASSTHRU
        MACVLAN_MODE_SOURCE
        IFLA_IPVLAN_MODE
        IFLA_IPVLAN_FLAGS
        IFLA_IPVLAN_MAX
        IPVLAN_MODE_L2
        IPVLAN_MODE_L3
        IPVLAN_MODE_L3S
        IPVLAN_F_PRIVATE
        IPVLAN_F_VEPA
        IFLA_VLAN_ID
        IFLA_VLAN_FLAGS
        IFLA_VLAN_EGRESS_QOS
        IFLA_VLAN_INGRESS_QOS
        IFLA_VLAN_PROTOCOL
        IFLA_VLAN_MAX

    # iff
    cpdef enum:
        IFF_UP
        IFF_BROADCAST
        IFF_DEBUG
        IFF_LOOPBACK
        IFF_POINTOPOINT
        IFF_NOTRAILERS
        IFF_RUNNING
        IFF_NOARP
        IFF_PROMISC
        IFF_ALLMULTI
        IFF_MASTER
        IFF_SLAVE
        IFF_MULTICAST
        IFF_PORTSEL
        IFF_AUTOMEDIA
        IFF_DYNAMIC
        IFF_LOWER_UP
        IFF_DORMANT
        IFF_ECHO
        IF_OPER_UNKNOWN
        IF_OPER_NOTPRESENT
        IF_OPER_DOWN
        IF_OPER_LOWERLAYERDOWN
        IF_OPER_TESTING
        IF_OPER_DORMANT
        IF_OPER_UP
        IFNAMSIZ
        ARPHRD_ETHER
        ARPHRD_LOOPBACK
        ARPHRD_NONE

    # ifa
    cpdef enum:
        IFA_ADDRESS
        IFA_LOCAL
        IFA_LABEL
        IFA_BROADCAST
        IFA_ANYCAST
        IFA_CACHEINFO
        IFA_MULTICAST
        IFA_FLAGS
        IFA_RT_PRIORITY
        IFA_TARGET_NETNSID
        IFA_PROTO
        IFA_MAX
        IFA_F_SECONDARY
        IFA_F_NODAD
        IFA_F_OPTIMISTIC
        IFA_F_DADFAILED
        IFA_F_HOMEADDRESS
        IFA_F_DEPRECATED
        IFA_F_TENTATIVE
        IFA_F_PERMANENT
        IFA_F_MANAGETEMPADDR
        IFA_F_NOPREFIXROUTE
        IFA_F_MCAUTOJOIN
        IFA_F_STABLE_PRIVACY

    # rta
    cpdef enum:
        RTA_DST
        RTA_SRC
        RTA_IIF
        RTA_OIF
        RTA_GATEWAY
        RTA_PRIORITY
        RTA_PREFSRC
        RTA_METRICS
        RTA_MULTIPATH
        RTA_PROTOINFO
        RTA_FLOW
        RTA_CACHEINFO
        RTA_SESSION
        RTA_MP_ALGO
        RTA_TABLE
        RTA_MARK
        RTA_MFC_STATS
        RTA_VIA
        RTA_NEWDST
        RTA_PREF
        RTA_ENCAP_TYPE
        RTA_ENCAP
        RTA_EXPIRES
        RTA_PAD
        RTA_UID
        RTA_TTL_PROPAGATE
        RTA_IP_PROTO
        RTA_SPORT
        RTA_DPORT
        RTA_NH_ID
        RTA_MAX
        RTAX_LOCK
        RTAX_MTU
        RTAX_WINDOW
        RTAX_RTT
        RTAX_RTTVAR
        RTAX_SSTHRESH
        RTAX_CWND
        RTAX_ADVMSS
        RTAX_REORDERING
        RTAX_HOPLIMIT
        RTAX_INITCWND
        RTAX_FEATURES
        RTAX_RTO_MIN
        RTAX_INITRWND
        RTAX_QUICKACK
        RTAX_CC_ALGO
        RTAX_FASTOPEN_NO_COOKIE
        RTAX_MAX
        RTN_UNSPEC
        RTN_UNICAST
        RTN_LOCAL
        RTN_BROADCAST
        RTN_ANYCAST
        RTN_MULTICAST
        RTN_BLACKHOLE
        RTN_UNREACHABLE
        RTN_PROHIBIT
        RTN_THROW
        RTN_NAT
        RTN_XRESOLVE
        RTPROT_UNSPEC
        RTPROT_REDIRECT
        RTPROT_KERNEL
        RTPROT_BOOT
        RTPROT_STATIC
        RT_SCOPE_UNIVERSE
        RT_SCOPE_SITE
        RT_SCOPE_LINK
        RT_SCOPE_HOST
        RT_SCOPE_NOWHERE
        RT_TABLE_UNSPEC
        RT_TABLE_DEFAULT
        RT_TABLE_MAIN
        RT_TABLE_LOCAL
        RTM_F_NOTIFY
        RTM_F_CLONED

    # nda
    cpdef enum:
        NDA_DST
        NDA_LLADDR
        NDA_CACHEINFO
        NDA_PROBES
        NDA_VLAN
        NDA_PORT
        NDA_VNI
        NDA_IFINDEX
        NDA_MASTER
        NDA_LINK_NETNSID
        NDA_SRC_VNI
        NDA_PROTOCOL
        NDA_NH_ID
        NDA_FDB_EXT_ATTRS
        NDA_FLAGS_EXT
        NDA_MAX
        NUD_INCOMPLETE
        NUD_REACHABLE
        NUD_STALE
        NUD_DELAY
        NUD_PROBE
        NUD_FAILED
        NUD_NOARP
        NUD_PERMANENT
        NUD_NONE
        NTF_USE
        NTF_SELF
        NTF_MASTER
        NTF_PROXY
        NTF_EXT_LEARNED
        NTF_OFFLOADED
        NTF_STICKY
        NTF_ROUTER

    struct nlmsghdr:
        uint32_t nlmsg_len
        uint16_t nlmsg_type
        uint16_t nlmsg_flags
        uint32_t nlmsg_seq
        uint32_t nlmsg_pid

    struct nlmsgerr:
        int error
        nlmsghdr msg

    struct nlattr:
        uint16_t nla_len
        uint16_t nla_type

    struct sockaddr_nl:
        unsigned short nl_family
        unsigned short nl_pad
        uint32_t nl_pid
        uint32_t nl_groups

    uint32_t libnet_nlmsg_align(uint32_t len)
    uint32_t libnet_nla_align(uint32_t len)

    # family headers (linux/rtnetlink.h, linux/if_addr.h, linux/neighbour.h)
    struct ifinfomsg:
        unsigned char ifi_family
        unsigned short ifi_type
        int ifi_index
        unsigned int ifi_flags
        unsigned int ifi_change

    struct ifaddrmsg:
        uint8_t ifa_family
        uint8_t ifa_prefixlen
        uint8_t ifa_flags
        uint8_t ifa_scope
        uint32_t ifa_index

    struct rtmsg:
        unsigned char rtm_family
        unsigned char rtm_dst_len
        unsigned char rtm_src_len
        unsigned char rtm_tos
        unsigned char rtm_table
        unsigned char rtm_protocol
        unsigned char rtm_scope
        unsigned char rtm_type
        unsigned int rtm_flags

    struct ndmsg:
        uint8_t ndm_family
        int32_t ndm_ifindex
        uint16_t ndm_state
        uint8_t ndm_flags
        uint8_t ndm_type

    struct rtnl_link_stats64:
        uint64_t rx_packets

    struct rtnl_link_stats:
        uint32_t rx_packets

    struct rtnl_link_ifmap:
        uint64_t mem_start

    struct ifa_cacheinfo:
        uint32_t ifa_prefered

    struct rta_cacheinfo:
        uint32_t rta_clntref

    struct nda_cacheinfo:
        uint32_t ndm_confirmed
