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
    NIO
}
