package dev.abyss.server;

import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;
import java.nio.ByteBuffer;

/**
 * A remote peer (address and port) the server can answer: the one send API of Abyss. A
 * {@link Session} is a peer with a lifecycle and a state; a {@link DatagramHandler} gets the sender
 * of the datagram it handles as a bare {@code Peer}, a reply handle reused for every datagram and
 * valid only during that callback (afterwards its methods throw {@link IllegalStateException}; keep
 * {@link #remoteAddress()} and answer later with {@link Server#send(SocketAddress, MemorySegment)}).
 *
 * <p>A send copies the payload and never blocks. On the acceptor thread (INLINE callbacks, a
 * {@code DatagramHandler}) it joins the acceptor's send batch, which goes to the kernel in one
 * {@code sendmmsg} or one {@code io_uring_enter} per receive batch; from any other thread it is queued
 * to the acceptor. It returns {@link SendResult#OK}, {@link SendResult#FULL} (counted in
 * {@link ServerStats#sendBatchFull()} on the acceptor thread, {@link ServerStats#sendQueueFull()}
 * elsewhere) or {@link SendResult#CLOSED}.
 *
 * <p>A datagram carries 0 to {@value #MAX_PAYLOAD_IPV4} bytes to an IPv4 peer (a v4-mapped one
 * included), 0 to {@value #MAX_PAYLOAD_IPV6} to an IPv6 or AF_UNIX peer: the most one UDP datagram
 * carries. A longer one is refused with an {@link IllegalArgumentException} that names its size and
 * the limit; the same limits bound {@link #sendSegments}'s segment size.
 */
public interface Peer {

    /** The largest payload a send takes to an IPv4 peer: 65,507 bytes, what fits one IPv4 UDP datagram. */
    int MAX_PAYLOAD_IPV4 = 65_507;

    /** The largest payload a send takes to an IPv6 (or AF_UNIX) peer: 65,527 bytes, what fits one IPv6 UDP datagram. */
    int MAX_PAYLOAD_IPV6 = 65_527;

    /**
     * {@return the peer's address ({@link java.net.InetSocketAddress}, or
     * {@link java.net.UnixDomainSocketAddress} on an AF_UNIX server): a durable value, safe to keep}
     */
    SocketAddress remoteAddress();

    /**
     * {@return the server address the peer talks to: on a wildcard bind (0.0.0.0, ::) the address its
     * datagrams were sent to (IP_PKTINFO), which is also the source of the replies; else the bound
     * address (NIO: always the bound address)}
     */
    SocketAddress localAddress();

    /**
     * Sends {@code length} bytes of {@code data} from {@code offset} as one datagram: no slice (and
     * so no object) per reply.
     *
     * @param data   the buffer holding the payload
     * @param offset where the payload starts in {@code data}
     * @param length the payload's length, 0..{@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6}
     * @return {@link SendResult#OK}, {@link SendResult#FULL} (counted) or {@link SendResult#CLOSED}
     * @throws IllegalArgumentException  when {@code length} is larger than {@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6}
     * @throws IndexOutOfBoundsException when the range is not inside {@code data}
     */
    SendResult send(MemorySegment data, long offset, long length);

    /**
     * Sends all of {@code data} as one datagram.
     *
     * @param data the payload, 0..{@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6} bytes
     * @return {@link SendResult#OK}, {@link SendResult#FULL} (counted) or {@link SendResult#CLOSED}
     * @throws IllegalArgumentException when {@code data} is larger than {@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6}
     */
    default SendResult send(MemorySegment data) {
        return send(data, 0, data.byteSize());
    }

    /**
     * Sends all of {@code data} as one datagram.
     *
     * @param data the payload, 0..{@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6} bytes
     * @return {@link SendResult#OK}, {@link SendResult#FULL} (counted) or {@link SendResult#CLOSED}
     * @throws IllegalArgumentException when {@code data} is larger than {@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6}
     */
    default SendResult send(byte[] data) {
        return send(MemorySegment.ofArray(data), 0, data.length);
    }

    /**
     * Sends the remaining bytes of {@code data} as one datagram; its position is not changed. On the
     * acceptor thread nothing is allocated; from other threads the buffer is wrapped.
     *
     * @param data the payload, 0..{@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6} bytes remaining
     * @return {@link SendResult#OK}, {@link SendResult#FULL} (counted) or {@link SendResult#CLOSED}
     * @throws IllegalArgumentException when more than {@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6} bytes remain
     */
    SendResult send(ByteBuffer data);

    /**
     * Sends {@code length} bytes of {@code data} from {@code offset} as consecutive datagrams of
     * {@code segmentSize} bytes each (the last one shorter when {@code length} is not a multiple):
     * a bulk reply in one call. With {@link ServerConfig.Builder#gso GSO} on a native transport they
     * leave in as few kernel sends as the kernel allows (UDP_SEGMENT: up to 64 segments and 64 KiB
     * per send); otherwise as separate datagrams. Each datagram is counted as one.
     *
     * @param data        the buffer holding the payload
     * @param offset      where it starts in {@code data}
     * @param length      its length in bytes
     * @param segmentSize bytes per datagram, 1..{@value #MAX_PAYLOAD_IPV4} (IPv4) or {@value #MAX_PAYLOAD_IPV6}
     * @return datagrams queued, always the leading ones: when one is refused (no room) it and every
     *         later one are counted as a refused send ({@link SendResult#FULL}) and not sent, so a caller
     *         may resume at {@code offset + queued * segmentSize}; 0 when the peer is
     *         {@link SendResult#CLOSED closed}
     * @throws IllegalArgumentException  when {@code segmentSize} is out of range
     * @throws IndexOutOfBoundsException when the range is not inside {@code data}
     */
    int sendSegments(MemorySegment data, long offset, long length, int segmentSize);

    /**
     * Sets the IPv4 TOS / IPv6 traffic class byte of what is sent to this peer from now on (a
     * {@code DatagramHandler}'s peer: during this callback; each datagram's callback starts with
     * the socket's default). Its low two bits are the ECN codepoint, e.g. {@link DatagramInfo#ECT_0}.
     * Native transports only (NIO sends with the default); ignored on AF_UNIX.
     *
     * @param trafficClass 0..255, or -1 for the socket's default
     * @throws IllegalArgumentException when it is out of range
     */
    void setTrafficClass(int trafficClass);

    /**
     * {@return the traffic class set by {@link #setTrafficClass}, -1 for the socket's default (the
     * socket's is 0: setting 0 reads back as -1, with the same effect)}
     */
    int trafficClass();

    /**
     * {@return what the kernel said about the datagram being handled (its destination, ECN, receive
     * time, GRO segment size, truncation): valid during the callback that handles it
     * ({@link Handler#handleConnection}, {@link Handler#handleData}, a {@link SegmentHandler}'s or a
     * {@link DatagramHandler}'s call); outside them every fact reads as unknown}
     */
    DatagramInfo datagram();

    /**
     * A 64 KiB buffer of the acceptor this peer is served by, for building replies without
     * allocating (no ThreadLocal needed): valid during a callback on the acceptor thread, shared by
     * every peer of that acceptor, overwritten by the next callback. Send from it with
     * {@link #send(MemorySegment, long, long)}.
     *
     * @return the acceptor's scratch buffer
     * @throws IllegalStateException when called off the acceptor thread (e.g. from a virtual-thread session)
     */
    MemorySegment scratch();

    // ---- on the open internet: validation and the reply limits (ServerConfig.Builder#rateLimit) ----

    /**
     * Says that this peer's address is genuine: the protocol proved it (a token or cookie it could
     * only have received at that address came back, a handshake completed). A validated peer is
     * exempt from {@link ServerConfig.Builder#rateLimit reply rate limiting} and from the
     * {@link ServerConfig.Builder#amplificationLimit amplification limit}. For a {@link Session}
     * this lasts for the session's life; for a {@link DatagramHandler}'s peer, for the current
     * callback only (the next datagram may come from anyone). Any thread; idempotent.
     */
    void markValidated();

    /** {@return true once {@link #markValidated()} was called (a {@code DatagramHandler}'s peer: in this callback)} */
    boolean validated();

    /**
     * {@return true when a reply to this peer now would be suppressed by the reply rate limit of its
     * source prefix: its budget is spent} Takes nothing from the budget and counts nothing; false
     * when no rate limit is configured, the peer is {@link #validated() validated}, or on AF_UNIX.
     * {@link #rateLimit()} is the same question with slips.
     */
    boolean overRateLimit();

    /**
     * Asks, before building a reply, what the reply rate limit allows now: {@link RateLimitVerdict#UNDER}
     * (reply), {@link RateLimitVerdict#SLIP} (over the limit, but send one minimal reply: the next
     * datagram to this peer passes) or {@link RateLimitVerdict#OVER} (send nothing: anything sent is
     * suppressed and counted). Of the calls that find the prefix over its limit, one in
     * {@code rateLimitSlip} is a SLIP (0: none). A DNS server, as NSD, Knot and BIND do:
     * <pre>{@code
     * switch (peer.rateLimit()) {
     *     case UNDER -> peer.send(answer(query));             // the full answer
     *     case SLIP -> peer.send(truncated(query));           // TC=1, no records: a real client retries over TCP
     *     case OVER -> { }                                    // nothing: a forged source gets nothing
     * }
     * }</pre>
     *
     * @return the verdict; always {@link RateLimitVerdict#UNDER} when no rate limit applies
     */
    RateLimitVerdict rateLimit();
}
