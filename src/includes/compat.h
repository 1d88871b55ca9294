/* libnet compat: every kernel UAPI header the core reads, plus back-fills for
 * constants that older userspace headers lack.  The running kernel decides
 * what is supported; these only let the core name newer features.  Each
 * back-fill carries the value from the upstream header that introduced it. */
#ifndef LIBNET_COMPAT_H
#define LIBNET_COMPAT_H

#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sched.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <poll.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/veth.h>
#include <linux/if_bridge.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11            /* linux 4.12 */
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12     /* linux 4.20 */
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200          /* linux 4.12 */
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100            /* linux 4.12 */
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif
#ifndef NFT_TABLE_F_OWNER
#define NFT_TABLE_F_OWNER 0x2         /* linux 5.12 */
#endif
#ifndef NFT_TABLE_F_PERSIST
#define NFT_TABLE_F_PERSIST 0x4       /* linux 6.9 */
#endif

/* Link attributes newer than the oldest headers we build against.  They are
 * enum members upstream, which the preprocessor cannot test for, so they
 * carry a LIBNET_ prefix; values are from include/uapi/linux/if_link.h. */
#define LIBNET_IFLA_DEVLINK_PORT 62                 /* linux 6.2 */
#define LIBNET_IFLA_GSO_IPV4_MAX_SIZE 63            /* linux 6.3 */
#define LIBNET_IFLA_GRO_IPV4_MAX_SIZE 64            /* linux 6.3 */
#define LIBNET_IFLA_DPLL_PIN 65                     /* linux 6.7 */
#define LIBNET_IFLA_MAX_PACING_OFFLOAD_HORIZON 66   /* linux 6.13 */
#define LIBNET_IFLA_NETNS_IMMUTABLE 67              /* linux 6.14 */
#define LIBNET_IFLA_HEADROOM 68                     /* linux 6.15 */
#define LIBNET_IFLA_TAILROOM 69                     /* linux 6.15 */

/* Message-level helpers the core uses through Cython. */
static inline uint32_t libnet_nlmsg_align(uint32_t len) { return NLMSG_ALIGN(len); }
static inline uint32_t libnet_nla_align(uint32_t len) { return NLA_ALIGN(len); }

#endif
