package dev.abyss.server.engine.session;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.security.SecureRandom;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * What tells a real ICMP port unreachable from a forged one: an ICMP error quotes the start of the
 * datagram it answers (the kernel hands that quote over with the error, {@code ErrorQueue}), so the
 * error is believed only when its quote matches one of the last {@link #SLOTS} datagrams the server
 * sent to that peer. A session keeps their fingerprints ({@link SessionImpl#recordSent}, on the one
 * send path) and the acceptor compares an error's quote with them ({@link SessionImpl#sentMatches})
 * before it ends the session.
 *
 * <p>A fingerprint is a 64-bit hash of the datagram's first {@code n = min(length, }{@value #PREFIX}{@code )}
 * bytes and of {@code n}, keyed with a secret of the process, never 0 (0 is an empty slot). A quote
 * of {@code q} bytes matches a datagram when the hash of its first {@code min(q, PREFIX)} bytes is that
 * datagram's: a quote of at least {@value #PREFIX} bytes matches a datagram of at least as many that
 * starts with them; a shorter quote must be the whole datagram. So a quote cut below
 * {@value #PREFIX} bytes of a longer datagram (a router that quotes 8 bytes of UDP header and no
 * payload, as RFC 792 allows) never matches: its session is left to its idle timeout.
 *
 * <p>What it proves: that whoever sent the error saw, or could predict, the first bytes the server
 * sent the peer. An off-path forger sees nothing; a protocol whose replies are predictable (a fixed
 * "pong") gives that forger less to guess. Static, allocates nothing; the hashing reads 4 words.
 */
public final class SentFingerprints {
    /** Datagrams remembered per session: the last four sent. */
    public static final int SLOTS = 4;
    /** Bytes of a datagram's start that its fingerprint covers. */
    public static final int PREFIX = 32;

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** The process's key: nobody outside can compute a fingerprint offline. */
    private static final long SEED = new SecureRandom().nextLong();

    private SentFingerprints() {
    }

    /** {@return the fingerprint of {@code length} bytes of {@code data} from {@code offset}: never 0} */
    public static long of(MemorySegment data, long offset, long length) {
        int n = (int) Math.min(length, PREFIX);
        long h = SEED ^ n * 0x9E3779B97F4A7C15L;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            h = Long.rotateLeft((h ^ data.get(LE_LONG, offset + i)) * 0x9E3779B97F4A7C15L, 29);
        }
        if (i < n) {
            long last = 0;
            for (int k = 0; i < n; i++, k += 8) {
                last |= (data.get(JAVA_BYTE, offset + i) & 0xffL) << k;
            }
            h = Long.rotateLeft((h ^ last) * 0x9E3779B97F4A7C15L, 29);
        }
        h = mix(h);
        return h == 0 ? 1 : h;
    }

    /** A 64-bit finaliser (the MurmurHash3 one): every input bit reaches every output bit. */
    private static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
