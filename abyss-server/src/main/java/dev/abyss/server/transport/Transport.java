package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

/**
 * An acceptor's socket I/O, whatever the kernel interface: one bound socket, opened by a
 * {@link TransportFactory} with its {@link ReceiveSink} and {@link SendSink} bound once. The
 * acceptor's duty cycle calls {@link #poll} and gets the work done back; readiness (epoll),
 * completions (io_uring) and selection keys (NIO) never leave the transport.
 *
 * <p>Owner thread only, except {@link #wakeup()}, {@link #isClosed()} and {@link #localAddress()}.
 */
public interface Transport extends AutoCloseable {

    /** Where received datagrams go. {@code data} is a read-only view, valid only during the call. */
    interface ReceiveSink {
        /** A batch of datagrams follows (the engine reads its clock once per batch, not per datagram). */
        void beginBatch();

        /**
         * A datagram from {@code peer}: {@code data} is a read-only view and {@code facts} what the
         * transport knows about it (destination, traffic class, time, GRO size, truncation); both are
         * valid during this call only.
         */
        void onDatagram(PeerKey peer, MemorySegment data, DatagramFacts facts);

        /**
         * A receive failed with {@code errno} (not EAGAIN/EINTR); the transport goes on. Not called
         * for a receive that failed only because an ICMP error about a peer was pending on the socket
         * (IP_RECVERR): that error is reported once, by {@link #onUnreachable}.
         */
        void onReceiveError(int errno);

        /**
         * The transport stopped taking datagrams in for a moment and resumes by itself (io_uring: its
         * provided buffers ran out, -ENOBUFS ended the multishot receive, re-armed once buffers are
         * back). Nothing is lost: the datagrams wait in the socket (what the socket itself then drops
         * is reported by {@link #onKernelDrops}).
         */
        void onReceivePaused();

        /**
         * The kernel dropped {@code count} datagrams meant for this socket since the last report
         * (full receive buffer: SO_RXQ_OVFL), or the transport itself could not take them in
         * (io_uring: no free buffer, CQ overflow).
         */
        default void onKernelDrops(long count) {
        }

        /**
         * The kernel reported that {@code peer} cannot be reached (an ICMP error read from the
         * socket's error queue: port or host unreachable, ...), with the errno it maps to
         * (ECONNREFUSED for port unreachable, EHOSTUNREACH, ENETUNREACH, ...).
         */
        default void onUnreachable(PeerKey peer, int errno) {
        }

        /**
         * A coalesced receive (UDP_GRO) was split into {@code segments} datagrams, delivered next to
         * {@link #onDatagram} one by one.
         */
        default void onCoalesced(int segments) {
        }
    }

    /**
     * Told how each queued datagram ended. {@code tag} is what the caller gave to {@link #send}:
     * opaque to the transport (the engine passes its session, or null).
     */
    interface SendSink {
        /** The kernel took the {@code bytes} at {@code offset} in {@code buffer}. */
        void sent(Object tag, MemorySegment buffer, long offset, int bytes);

        /** The kernel refused the datagram with {@code errno}; it is not retried. */
        void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno);

        /** {@code segments} of the datagrams reported {@link #sent} left in one GSO send (UDP_SEGMENT). */
        default void coalesced(int segments) {
        }
    }

    /** The address the socket is bound to (with the port the kernel chose for port 0). */
    SocketAddress localAddress();

    /**
     * One turn of I/O: sends what is queued, waits up to {@code timeoutNanos} (0: not at all,
     * negative: until something happens) for datagrams, send results or a {@link #wakeup()}, and
     * hands what came to the sinks. Returns the work done: datagrams delivered plus sends
     * completed plus wake-ups consumed (0 when the wait timed out).
     */
    int poll(long timeoutNanos);

    /**
     * Queues a copy of {@code length} bytes at {@code offset} in {@code src} to {@code to}; it goes
     * out at the latest with the next {@link #flush()} or {@link #poll}. False when nothing can be
     * queued now (the kernel's buffer and the transport's are full): the caller counts the drop.
     */
    default boolean send(Object tag, PeerKey to, MemorySegment src, long offset, int length) {
        return send(tag, to, null, -1, src, offset, length);
    }

    /**
     * {@link #send(Object, PeerKey, MemorySegment, long, int)} from the source address {@code from}
     * (the address the peer's request came to, on a wildcard socket: IP_PKTINFO; null, or a
     * transport that cannot choose, leaves the source to the kernel's route) with the IP TOS /
     * traffic class {@code trafficClass} (-1: the socket's). Consecutive sends to one peer may
     * leave in one GSO send: each is still reported to {@link SendSink#sent} on its own.
     */
    boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length);


    /** How many datagrams {@link #send} takes now without refusing (it may make room first). */
    int sendRoom();

    /**
     * Hands queued sends to the kernel; a completion transport may leave them to the
     * {@code io_uring_enter} of the next {@link #poll}, which the engine calls at once.
     */
    void flush();

    /**
     * Hands every queued send to the kernel now and reports the results it already has, so a
     * session's last datagrams are counted before its end is reported. By default {@link #flush()}:
     * a transport whose flush reports results at once needs nothing more.
     */
    default void settleSends() {
        flush();
    }

    /** Wakes a {@link #poll} in progress or the next one; any thread. */
    void wakeup();

    /** Stops receiving (sending still works). */
    void stopReceiving();

    /** Sends what is queued (bounded in time), then frees the socket and every buffer. Idempotent. */
    @Override
    void close();

    /** True once {@link #close()} freed the socket and its buffers; any thread. */
    boolean isClosed();
}
