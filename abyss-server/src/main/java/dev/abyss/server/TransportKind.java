package dev.abyss.server;

/** The kernel interface an acceptor uses for socket I/O. */
public enum TransportKind {
    /** The best transport that works on this machine. */
    AUTO,
    /** Non-blocking socket, epoll, recvmmsg and sendmmsg. */
    EPOLL,
    /** io_uring with multishot receive into provided buffers. */
    IO_URING,
    /** Portable java.nio DatagramChannel. */
    NIO,
    /**
     * AF_XDP: UDP frames of one network interface steered by an XDP program to AF_XDP sockets (one
     * per RX queue), Ethernet/IP/UDP read and written in Java; a bound UDP socket is kept for the
     * port, ICMP and what cannot be sent at layer 2. Explicit opt-in only ({@link #AUTO} never picks
     * it); needs CAP_NET_ADMIN and CAP_BPF, and an interface ({@code ServerConfig.Builder.xdpInterface}).
     */
    XDP
}
