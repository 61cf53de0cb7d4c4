package dev.abyss.ffi.net;

/**
 * Socket constants of Linux ({@code <sys/socket.h>}, {@code <netinet/in.h>}, {@code <netinet/udp.h>},
 * {@code <linux/errqueue.h>}).
 * Names are the C names so the ABI test can check every value against the headers.
 */
public final class Net {
    private Net() {
    }

    /** {@code AF_UNSPEC}: unspecified address family. */
    public static final int AF_UNSPEC = 0;
    /** {@code AF_UNIX}: local (AF_UNIX) sockets. */
    public static final int AF_UNIX = 1;
    /** {@code AF_INET}: IPv4. */
    public static final int AF_INET = 2;
    /** {@code AF_INET6}: IPv6. */
    public static final int AF_INET6 = 10;

    /** {@code SOCK_STREAM}: stream socket. */
    public static final int SOCK_STREAM = 1;
    /** {@code SOCK_DGRAM}: datagram socket. */
    public static final int SOCK_DGRAM = 2;
    /** {@code SOCK_NONBLOCK}: socket type flag: non-blocking. */
    public static final int SOCK_NONBLOCK = 0x800;
    /** {@code SOCK_CLOEXEC}: socket type flag: close on exec. */
    public static final int SOCK_CLOEXEC = 0x80000;

    /** {@code IPPROTO_IP}: IPv4 protocol level. */
    public static final int IPPROTO_IP = 0;
    /** {@code IPPROTO_UDP}: UDP. */
    public static final int IPPROTO_UDP = 17;
    /** {@code IPPROTO_IPV6}: IPv6 protocol level. */
    public static final int IPPROTO_IPV6 = 41;

    /** {@code SOL_SOCKET}: socket-level options. */
    public static final int SOL_SOCKET = 1;
    /** {@code SOL_IP}: IPv4-level options. */
    public static final int SOL_IP = 0;
    /** {@code SOL_IPV6}: IPv6-level options. */
    public static final int SOL_IPV6 = 41;
    /** {@code SOL_UDP}: UDP-level options. */
    public static final int SOL_UDP = 17;

    /** {@code SO_REUSEADDR}: reuse a local address. */
    public static final int SO_REUSEADDR = 2;
    /** {@code SO_TYPE}: the socket type (read only). */
    public static final int SO_TYPE = 3;
    /** {@code SO_ERROR}: the pending error (read and clear). */
    public static final int SO_ERROR = 4;
    /** {@code SO_SNDBUF}: send buffer size. */
    public static final int SO_SNDBUF = 7;
    /** {@code SO_RCVBUF}: receive buffer size. */
    public static final int SO_RCVBUF = 8;
    /** {@code SO_REUSEPORT}: several sockets on one port, the kernel spreads peers by hash. */
    public static final int SO_REUSEPORT = 15;
    /** {@code SO_PROTOCOL}: the socket's protocol, e.g. IPPROTO_UDP (read only). */
    public static final int SO_PROTOCOL = 38;
    /** {@code SO_DOMAIN}: the socket's address family (read only). */
    public static final int SO_DOMAIN = 39;
    /**
     * {@code SO_ATTACH_REUSEPORT_CBPF}: a classic BPF program ({@code struct sock_fprog}, see {@link Bpf})
     * that picks the socket of a SO_REUSEPORT group by its index, for the whole group.
     */
    public static final int SO_ATTACH_REUSEPORT_CBPF = 51;
    /** {@code SO_DETACH_REUSEPORT_BPF}: removes a group's program; the kernel hashes the 4-tuple again. */
    public static final int SO_DETACH_REUSEPORT_BPF = 68;
    /** {@code SO_RCVBUFFORCE}: receive buffer size beyond {@code rmem_max} (needs CAP_NET_ADMIN). */
    public static final int SO_RCVBUFFORCE = 33;
    /** {@code SCM_RIGHTS}: control message type (level SOL_SOCKET) of file descriptors passed over AF_UNIX. */
    public static final int SCM_RIGHTS = 1;
    /** {@code SO_RXQ_OVFL}: a control message with the socket's cumulative drop count on each datagram. */
    public static final int SO_RXQ_OVFL = 40;

    /** {@code SO_TIMESTAMPNS} (= {@code SCM_TIMESTAMPNS}, the 64-bit {@code timespec} form): each datagram's kernel receive time. */
    public static final int SO_TIMESTAMPNS = 35;

    /** {@code IP_TOS}: the TOS byte (option, and control message on send and receive). */
    public static final int IP_TOS = 1;
    /** {@code IP_RECVTOS}: ask for the TOS byte of each IPv4 datagram ({@link #IP_TOS} control message). */
    public static final int IP_RECVTOS = 13;
    /** {@code IPV6_RECVTCLASS}: ask for the traffic class of each IPv6 datagram. */
    public static final int IPV6_RECVTCLASS = 66;
    /** {@code IPV6_TCLASS}: the traffic class (option, and control message on send and receive, an {@code int}). */
    public static final int IPV6_TCLASS = 67;

    /** {@code IP_PKTINFO}: a control message with the destination address and interface of each IPv4 datagram. */
    public static final int IP_PKTINFO = 8;
    /** {@code IP_RECVERR}: queue ICMP errors on the socket's error queue (IPv4). */
    public static final int IP_RECVERR = 11;
    /** {@code IPV6_RECVERR}: queue ICMPv6 errors on the socket's error queue. */
    public static final int IPV6_RECVERR = 25;
    /** {@code IPV6_V6ONLY}: an IPv6 socket refuses IPv4-mapped peers. */
    public static final int IPV6_V6ONLY = 26;
    /** {@code IPV6_RECVPKTINFO}: ask for the destination address and interface of each IPv6 datagram. */
    public static final int IPV6_RECVPKTINFO = 49;
    /** {@code IPV6_PKTINFO}: the control message type of IPv6 packet info. */
    public static final int IPV6_PKTINFO = 50;

    /** Who reported an error-queue entry ({@code ee_origin} of {@code struct sock_extended_err}, {@code <linux/errqueue.h>}). */
    public static final int SO_EE_ORIGIN_NONE = 0;
    /** {@code SO_EE_ORIGIN_LOCAL}: error-queue origin: the local stack. */
    public static final int SO_EE_ORIGIN_LOCAL = 1;
    /** {@code SO_EE_ORIGIN_ICMP}: error-queue origin: an ICMP message. */
    public static final int SO_EE_ORIGIN_ICMP = 2;
    /** {@code SO_EE_ORIGIN_ICMP6}: error-queue origin: an ICMPv6 message. */
    public static final int SO_EE_ORIGIN_ICMP6 = 3;

    /** {@code UDP_SEGMENT}: UDP generic segmentation offload (GSO) segment size. */
    public static final int UDP_SEGMENT = 103;
    /** {@code UDP_GRO}: UDP generic receive offload. */
    public static final int UDP_GRO = 104;

    /** {@code MSG_PEEK}: receive without removing the data. */
    public static final int MSG_PEEK = 0x2;
    /** {@code MSG_CTRUNC}: control data was cut (in msg_flags). */
    public static final int MSG_CTRUNC = 0x8;
    /** {@code MSG_TRUNC}: the datagram was longer than the buffer (in msg_flags). */
    public static final int MSG_TRUNC = 0x20;
    /** {@code MSG_DONTWAIT}: non-blocking for this call. */
    public static final int MSG_DONTWAIT = 0x40;
    /** {@code MSG_ERRQUEUE}: read the socket's error queue. */
    public static final int MSG_ERRQUEUE = 0x2000;
    /** {@code MSG_WAITFORONE}: recvmmsg: block for the first datagram only. */
    public static final int MSG_WAITFORONE = 0x10000;

    /** {@code F_GETFD}: fcntl command: read the descriptor flags. */
    public static final int F_GETFD = 1;
    /** {@code F_SETFD}: fcntl command: set the descriptor flags. */
    public static final int F_SETFD = 2;
    /** {@code F_GETFL}: fcntl command: read the file status flags. */
    public static final int F_GETFL = 3;
    /** {@code F_SETFL}: fcntl command: set the file status flags. */
    public static final int F_SETFL = 4;
    /** {@code FD_CLOEXEC}: descriptor flag: closed on exec. */
    public static final int FD_CLOEXEC = 1;
    /** {@code O_NONBLOCK}: file status flag: non-blocking. */
    public static final int O_NONBLOCK = 0x800;

    /** {@code EFD_NONBLOCK}: eventfd flag: non-blocking. */
    public static final int EFD_NONBLOCK = 0x800;
    /** {@code EFD_CLOEXEC}: eventfd flag: close on exec. */
    public static final int EFD_CLOEXEC = 0x80000;

    /** {@code PROT_READ}: mmap protection: readable. */
    public static final int PROT_READ = 0x1;
    /** {@code PROT_WRITE}: mmap protection: writable. */
    public static final int PROT_WRITE = 0x2;
    /** {@code MAP_SHARED}: mmap: shared mapping. */
    public static final int MAP_SHARED = 0x01;
    /** {@code MAP_PRIVATE}: mmap: private mapping. */
    public static final int MAP_PRIVATE = 0x02;
    /** {@code MAP_ANONYMOUS}: mmap: no file behind. */
    public static final int MAP_ANONYMOUS = 0x20;
    /** {@code MAP_POPULATE}: mmap: fault the pages in now. */
    public static final int MAP_POPULATE = 0x8000;

    // ---- listen options (issue 21): what a server may ask of its sockets besides the defaults ----

    /** {@code SO_DONTROUTE}: send only to directly connected hosts, bypassing the routing table. */
    public static final int SO_DONTROUTE = 5;
    /** {@code SO_BROADCAST}: allow sending to a broadcast address. */
    public static final int SO_BROADCAST = 6;
    /** {@code SO_PRIORITY}: the queueing priority of sent packets (0..6 without CAP_NET_ADMIN). */
    public static final int SO_PRIORITY = 12;
    /** {@code SO_BINDTODEVICE}: receive and send through one interface only (a name, up to 15 bytes). */
    public static final int SO_BINDTODEVICE = 25;
    /** {@code SO_MARK}: the packet mark of sent packets, for policy routing (needs CAP_NET_ADMIN). */
    public static final int SO_MARK = 36;
    /** {@code IP_TTL}: the TTL of unicast IPv4 packets sent. */
    public static final int IP_TTL = 2;
    /** {@code IP_MTU_DISCOVER}: path-MTU discovery policy of IPv4 sends ({@code IP_PMTUDISC_*}). */
    public static final int IP_MTU_DISCOVER = 10;
    /** {@code IP_RECVTTL}: ask for the TTL of each IPv4 datagram (an {@link #IP_TTL} control message, an {@code int}). */
    public static final int IP_RECVTTL = 12;
    /** {@code IP_FREEBIND}: bind to an address not (yet) configured on the host. */
    public static final int IP_FREEBIND = 15;
    /** {@code IP_MULTICAST_IF}: the interface of multicast sends ({@code struct ip_mreqn}). */
    public static final int IP_MULTICAST_IF = 32;
    /** {@code IP_MULTICAST_TTL}: the TTL of multicast sends. */
    public static final int IP_MULTICAST_TTL = 33;
    /** {@code IP_MULTICAST_LOOP}: multicast sends are looped back to local members. */
    public static final int IP_MULTICAST_LOOP = 34;
    /** {@code IP_PMTUDISC_DONT}: never set DF; fragment locally. */
    public static final int IP_PMTUDISC_DONT = 0;
    /** {@code IP_PMTUDISC_WANT}: per-route discovery (the kernel's default). */
    public static final int IP_PMTUDISC_WANT = 1;
    /** {@code IP_PMTUDISC_DO}: always set DF; a send larger than the path MTU fails with EMSGSIZE. */
    public static final int IP_PMTUDISC_DO = 2;
    /** {@code IP_PMTUDISC_PROBE}: set DF, ignore the path MTU (send up to the interface MTU). */
    public static final int IP_PMTUDISC_PROBE = 3;
    /** {@code IP_PMTUDISC_INTERFACE}: use the interface MTU, never the learnt path MTU; no DF for larger. */
    public static final int IP_PMTUDISC_INTERFACE = 4;
    /** {@code IP_PMTUDISC_OMIT}: as INTERFACE, and fragment beyond it, but ignore forged ICMP "fragmentation needed". */
    public static final int IP_PMTUDISC_OMIT = 5;
    /** {@code MCAST_JOIN_GROUP}: join a group ({@code struct group_req}), IPv4 or IPv6. */
    public static final int MCAST_JOIN_GROUP = 42;
    /** {@code MCAST_LEAVE_GROUP}: leave a group ({@code struct group_req}). */
    public static final int MCAST_LEAVE_GROUP = 45;
    /** {@code MCAST_JOIN_SOURCE_GROUP}: join a group for one source ({@code struct group_source_req}). */
    public static final int MCAST_JOIN_SOURCE_GROUP = 46;
    /** {@code MCAST_LEAVE_SOURCE_GROUP}: leave a source of a group ({@code struct group_source_req}). */
    public static final int MCAST_LEAVE_SOURCE_GROUP = 47;
    /** {@code IPV6_UNICAST_HOPS}: the hop limit of unicast IPv6 packets sent. */
    public static final int IPV6_UNICAST_HOPS = 16;
    /** {@code IPV6_MULTICAST_IF}: the interface index of multicast IPv6 sends. */
    public static final int IPV6_MULTICAST_IF = 17;
    /** {@code IPV6_MULTICAST_HOPS}: the hop limit of multicast IPv6 sends. */
    public static final int IPV6_MULTICAST_HOPS = 18;
    /** {@code IPV6_MULTICAST_LOOP}: multicast IPv6 sends are looped back to local members. */
    public static final int IPV6_MULTICAST_LOOP = 19;
    /** {@code IPV6_MTU_DISCOVER}: path-MTU discovery policy of IPv6 sends ({@code IPV6_PMTUDISC_*}). */
    public static final int IPV6_MTU_DISCOVER = 23;
    /** {@code IPV6_RECVHOPLIMIT}: ask for the hop limit of each IPv6 datagram. */
    public static final int IPV6_RECVHOPLIMIT = 51;
    /** {@code IPV6_HOPLIMIT}: the control message type of a received hop limit (an {@code int}). */
    public static final int IPV6_HOPLIMIT = 52;
    /** {@code IPV6_FREEBIND}: {@link #IP_FREEBIND} at the IPv6 level. */
    public static final int IPV6_FREEBIND = 78;
    /** {@code IPV6_PMTUDISC_DONT}. */
    public static final int IPV6_PMTUDISC_DONT = 0;
    /** {@code IPV6_PMTUDISC_WANT}. */
    public static final int IPV6_PMTUDISC_WANT = 1;
    /** {@code IPV6_PMTUDISC_DO}. */
    public static final int IPV6_PMTUDISC_DO = 2;
    /** {@code IPV6_PMTUDISC_PROBE}. */
    public static final int IPV6_PMTUDISC_PROBE = 3;
    /** {@code IPV6_PMTUDISC_INTERFACE}. */
    public static final int IPV6_PMTUDISC_INTERFACE = 4;
    /** {@code IPV6_PMTUDISC_OMIT}. */
    public static final int IPV6_PMTUDISC_OMIT = 5;
    /** {@code IP_MULTICAST_ALL}: 1 (the default): a wildcard socket receives every group any socket of the host joined on its port; 0: only its own. */
    public static final int IP_MULTICAST_ALL = 49;
    /** {@code IPV6_MULTICAST_ALL}: {@link #IP_MULTICAST_ALL} for IPv6 (Linux 4.20). */
    public static final int IPV6_MULTICAST_ALL = 29;
    /** {@code SIOCGIFINDEX}: ioctl: an interface's index by name ({@code struct ifreq}), in the socket's namespace. */
    public static final int SIOCGIFINDEX = 0x8933;
    /** {@code IFNAMSIZ}: bytes of an interface name, with its terminating NUL. */
    public static final int IFNAMSIZ = 16;
    /** {@code CLONE_NEWNET}: {@code setns} type: a network namespace. */
    public static final int CLONE_NEWNET = 0x40000000;
    /** {@code O_RDONLY}: open for reading. */
    public static final int O_RDONLY = 0;
    /** {@code O_CLOEXEC}: open close-on-exec. */
    public static final int O_CLOEXEC = 0x80000;
}
