package dev.abyss.server.examples;

import dev.abyss.server.DatagramHandler;
import dev.abyss.server.DatagramInfo;
import dev.abyss.server.Peer;

import java.lang.foreign.MemorySegment;
import java.time.Instant;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Datagram control in one handler: what the kernel said about each request ({@link DatagramInfo})
 * goes back to the sender, and a bulk request is answered with many datagrams in few kernel sends.
 * Run it with {@code receiveTrafficClass(true)} and {@code receiveTimestamps(true)}.
 *
 * <ul>
 *   <li>A request whose first byte is {@code 'B'} followed by a big-endian count N is answered with
 *       N datagrams of 1,200 bytes ({@link Peer#sendSegments}: GSO sends on the native transports).</li>
 *   <li>Any other request is answered with a 16-byte report: its traffic class (int, -1 when not
 *       read), then how long it waited in the socket in nanoseconds (long, -1 without timestamps),
 *       then its GRO segment size (int). The reply carries the request's ECN codepoint back, as a
 *       QUIC endpoint reflects what it saw.</li>
 * </ul>
 *
 * <p>Not for the open internet as it stands: a 5-byte request with a forged source address makes
 * it send 64 KB to the victim (an amplifier). A real bulk protocol answers big only to a peer that
 * proved its address (a handshake, a token), as QUIC limits what it sends before validation. Run
 * with {@link dev.abyss.server.ServerConfig.Builder#amplificationLimit amplificationLimit(3)} and
 * {@link dev.abyss.server.ServerConfig.Builder#rateLimit rateLimit(200)} (the CLI's defaults for
 * it), a bulk answer to a peer not validated is held to 3 × its request (the 16-byte report still
 * goes to a request of 6 bytes or more) and counted in {@code amplificationLimited}; the CLI
 * lifts both with {@code --rate-limit 0 --amplification-limit 0} for a trusted network.
 */
public final class Reflector implements DatagramHandler {
    /** Bytes per datagram of a bulk answer: a QUIC-sized packet. */
    public static final int BULK_SEGMENT = 1_200;

    private static final java.lang.foreign.ValueLayout.OfInt NET_INT = JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfLong NET_LONG = JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    /** One instance serves every datagram. */
    public Reflector() {
    }

    @Override
    public void handle(Peer peer, MemorySegment data) {
        MemorySegment out = peer.scratch();
        if (data.byteSize() == 5 && data.get(JAVA_BYTE, 0) == 'B') {
            int n = Math.max(0, Math.min(data.get(NET_INT, 1), (int) (out.byteSize() / BULK_SEGMENT))); // what scratch holds
            peer.sendSegments(out, 0, (long) n * BULK_SEGMENT, BULK_SEGMENT);
            return;
        }
        DatagramInfo info = peer.datagram();
        long waited = -1;
        if (info.timestampNanos() >= 0) {
            Instant now = Instant.now();
            waited = now.getEpochSecond() * 1_000_000_000L + now.getNano() - info.timestampNanos();
        }
        out.set(NET_INT, 0, info.trafficClass());
        out.set(NET_LONG, 4, waited);
        out.set(NET_INT, 12, info.segmentSize());
        if (info.ecn() > 0) {
            peer.setTrafficClass(info.ecn()); // reflect the codepoint
        }
        peer.send(out, 0, 16);
    }
}
