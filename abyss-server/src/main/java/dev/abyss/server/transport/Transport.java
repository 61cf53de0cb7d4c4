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
 * The sinks are called on the owner thread, from the calls their javadoc names, never from
 * {@link #send}: a handler that sends is never re-entered by its own results.
 */
public interface Transport extends AutoCloseable {

    /**
     * Where received datagrams go, and what the transport learns about receiving. Called on the
     * owner thread from {@link #poll} only.
     */
    interface ReceiveSink {
        /** A batch of datagrams follows (the engine reads its clock once per batch, not per datagram). */
        void beginBatch();

        /**
         * A datagram from {@code peer}: {@code data} is a read-only view of its payload (cut to
         * maxDatagramSize when {@code facts.truncated()}), {@code facts} what the transport knows
         * about it. {@code peer}, {@code data} and {@code facts} belong to the transport and are
         * valid during this call only: a sink that keeps any of them copies it.
         */
        void onDatagram(PeerKey peer, MemorySegment data, DatagramFacts facts);

        /**
         * A receive failed with {@code errno} (not EAGAIN/EINTR); the transport goes on. Not called
         * for a receive that failed only because an ICMP error about a peer was pending on the socket
         * (IP_RECVERR): that error is reported once, by {@link #onUnreachable}; nor for a pause
         * ({@link #onReceivePaused}).
         */
        void onReceiveError(int errno);

        /**
         * Receiving paused because the transport's receive buffers were all in use (io_uring: the
         * provided buffer ring ran dry, {@code -ENOBUFS} ended the multishot receive; or its CQ was
         * full and the kernel held the completions back, IORING_SQ_CQ_OVERFLOW). Nothing was
         * lost: the datagrams wait in the socket, and the transport resumes by itself once buffers
         * are back (before its next wait). Not an error; frequent pauses say the handlers are slower
         * than the traffic, or the ring is small for it.
         */
        void onReceivePaused();

        /**
         * The kernel dropped {@code count} datagrams meant for this socket since the last report
         * (full receive buffer: SO_RXQ_OVFL), or the transport itself could not take them in
         * (io_uring: CQ overflow).
         */
        default void onKernelDrops(long count) {
        }

        /**
         * The kernel reported that {@code peer} cannot be reached (an ICMP error read from the
         * socket's error queue: port or host unreachable, ...), with the errno it maps to
         * (ECONNREFUSED for port unreachable, EHOSTUNREACH, ENETUNREACH, ...) and the error's quote
         * of the datagram it answers: the first {@code quoteLength} bytes of {@code quote}, from the
         * start of that datagram's UDP payload (valid during this call only).
         */
        default void onUnreachable(PeerKey peer, int errno, MemorySegment quote, int quoteLength) {
        }

        /**
         * A coalesced receive (UDP_GRO) was split into {@code segments} datagrams, delivered next to
         * {@link #onDatagram} one by one.
         */
        default void onCoalesced(int segments) {
        }

        // ---- AF_XDP (issue 20): what the XDP transport does besides receiving and sending datagrams

        /** A frame the transport's parser refused, {@code bytes} long: reported after its {@link #onReceiveError}. */
        default void onFrameRefused(int bytes) {
        }

        /** {@code count} datagrams were sent through the bound socket instead of a frame since the last report. */
        default void onSocketSends(long count) {
        }

        /** {@code count} frames came with a next hop other than their peer's live one, not learned, since the last report. */
        default void onHopsContested(long count) {
        }
    }

    /**
     * Told how each queued datagram ended. {@code tag} is what the caller gave to {@link #send}:
     * opaque to the transport (the engine passes its session, or null).
     *
     * <p><b>When.</b> On the owner thread, from {@link #poll}, {@link #flush}, {@link #settleSends}
     * and {@link #close} only: never from {@link #send} or {@link #sendRoom}, so that no result is
     * settled (counters, telemetry) inside the call of a handler that is sending. A transport that
     * has to hand sends to the kernel inside {@code send} to make room (a full sendmmsg batch, a
     * full io_uring send ring) keeps their results in preallocated storage ({@link DeferredResults})
     * and reports them, in order, at the next of those calls.
     *
     * <p><b>The bytes.</b> {@code buffer} holds the datagram at {@code offset}: the transport's own
     * copy, valid during the call only. For a result reported at once it is the copy that went to
     * the kernel. For a result kept from inside {@code send} it is a copy the transport made then,
     * if {@link #wantsBytes()} said so and the copy fitted ({@link DeferredResults#SPILL_BYTES} per
     * turn); otherwise {@code bytes} zero bytes (the counts are exact either way).
     */
    interface SendSink {
        /** The kernel took the {@code bytes} at {@code offset} in {@code buffer}. */
        void sent(Object tag, MemorySegment buffer, long offset, int bytes);

        /** The kernel refused the datagram with {@code errno}; it is not retried. */
        void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno);

        /** {@code segments} of the datagrams reported {@link #sent} left in one GSO send (UDP_SEGMENT). */
        default void coalesced(int segments) {
        }

        /**
         * Whether this sink reads the bytes of the datagrams it is told about (the engine: while
         * telemetry listens to sends). Asked when a result has to be kept for later: a transport
         * copies the datagram aside only when this is true, so keeping results costs no copy
         * otherwise. True by default.
         */
        default boolean wantsBytes() {
            return true;
        }
    }

    /** The address the socket is bound to (with the port the kernel chose for port 0). */
    SocketAddress localAddress();

    /**
     * {@return the socket's file descriptor, for handing it to another process; -1 where there is
     * none (NIO, test transports)} Any thread.
     */
    default int socketFd() {
        return -1;
    }

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
     * Calls no sink: its result, and those of the sends it hands to the kernel to make room, are
     * reported by the next {@link #poll}, {@link #flush}, {@link #settleSends} or {@link #close}.
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

    /**
     * How many datagrams {@link #send} takes now without refusing. It may make room first (hand
     * queued sends to the kernel), and like {@code send} it calls no sink: their results wait for
     * the next {@link #flush}.
     */
    int sendRoom();

    /**
     * Reports the results kept since the last report, then hands queued sends to the kernel; a
     * completion transport may leave those to the {@code io_uring_enter} of the next {@link #poll},
     * which the engine calls at once. The end of the engine's turn.
     */
    void flush();

    /**
     * Hands every queued send to the kernel now and reports every result it already has (kept ones
     * first), so a session's last datagrams are counted before its end is reported. By default
     * {@link #flush()}: a transport whose flush reports results at once needs nothing more.
     */
    default void settleSends() {
        flush();
    }

    /**
     * {@return the socket's options and multicast memberships, read and changed from any thread
     * while the transport runs ({@link dev.abyss.server.Server#setOption}); {@link SocketControl#NONE}
     * for a transport without a socket}
     */
    default SocketControl control() {
        return SocketControl.NONE;
    }

    /** Wakes a {@link #poll} in progress or the next one; any thread. */
    void wakeup();

    /** Stops receiving (sending still works). */
    void stopReceiving();

    /**
     * Sends what is queued (bounded in time) and reports every result, then frees the socket and
     * every buffer. Idempotent.
     */
    @Override
    void close();

    /** True once {@link #close()} freed the socket and its buffers; any thread. */
    boolean isClosed();

    /**
     * Attaches reuseport steering by CPU to this transport's SO_REUSEPORT group: each datagram goes
     * to the socket whose index in the group is its receiving CPU modulo {@code sockets}. Called once,
     * on the first acceptor's transport, before any thread runs. A transport without a socket
     * descriptor (NIO) cannot.
     *
     * @param sockets the sockets of the group (the acceptors)
     * @throws java.io.IOException when the kernel refuses, or the transport cannot steer
     */
    default void steerByCpu(int sockets) throws java.io.IOException {
        throw new java.io.IOException("steerByCpu: " + getClass().getSimpleName()
                + " has no socket descriptor to attach the BPF program to (use transport EPOLL or IO_URING)");
    }
}
