package dev.abyss.server.engine.session;

import dev.abyss.ffi.net.PeerKey;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which ICMP quotes a session believes: the rules of {@link SentFingerprints}, without a socket. */
class SentFingerprintsTest {
    private static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static SessionImpl session() {
        return new SessionImpl(new PeerKey().set(new InetSocketAddress("127.0.0.1", 4000)), null, null, null, 0, 0, 0);
    }

    @Test
    void aQuoteMatchesOneOfTheLastFourDatagramsSent() {
        SessionImpl s = session();
        assertFalse(s.sentMatches(bytes(""), 0), "nothing sent yet: even an empty quote is not believed");
        String[] sent = {"first reply", "second reply", "third reply", "fourth reply", "fifth reply"};
        for (String d : sent) {
            MemorySegment seg = bytes("..." + d);
            s.recordSent(seg, 3, d.length()); // an offset into a larger buffer, as the send path passes it
        }
        assertFalse(s.sentMatches(bytes("first reply"), 11), "the fifth send pushed the first out");
        for (int i = 1; i < sent.length; i++) {
            assertTrue(s.sentMatches(bytes(sent[i]), sent[i].length()), sent[i]);
        }
        assertFalse(s.sentMatches(bytes("fifth replY"), 11), "one byte differs");
        assertFalse(s.sentMatches(bytes("fifth repl"), 10), "a short datagram's quote must be all of it");
        assertFalse(s.sentMatches(bytes("fifth reply!"), 12), "longer than what was sent");
    }

    @Test
    void aLongDatagramMatchesAQuoteOfItsFirst32BytesOrMore() {
        SessionImpl s = session();
        String reply = "0123456789abcdef0123456789ABCDEF and then the rest of a long reply";
        s.recordSent(bytes(reply), 0, reply.length());
        assertTrue(s.sentMatches(bytes(reply), reply.length()), "the whole datagram quoted");
        assertTrue(s.sentMatches(bytes(reply.substring(0, 40)), 40), "a quote cut at 40 bytes");
        assertTrue(s.sentMatches(bytes(reply.substring(0, 32)), 32), "a quote cut at 32 bytes");
        assertFalse(s.sentMatches(bytes(reply.substring(0, 31)), 31), "31 bytes are too few to tell: not believed");
        assertFalse(s.sentMatches(bytes(""), 0), "an 8-byte quote (UDP header, no payload): not believed");
        assertFalse(s.sentMatches(bytes("1123456789abcdef0123456789ABCDEF"), 32), "its first byte differs");
    }

    @Test
    void fingerprintsAreNeverZeroAndDependOnTheLength() {
        MemorySegment zeros = MemorySegment.ofArray(new byte[64]);
        for (int n = 0; n <= 64; n++) {
            assertNotEquals(0, SentFingerprints.of(zeros, 0, n));
        }
        assertNotEquals(SentFingerprints.of(zeros, 0, 3), SentFingerprints.of(zeros, 0, 4), "3 zero bytes are not 4");
        assertTrue(SentFingerprints.of(zeros, 0, 32) == SentFingerprints.of(zeros, 0, 64), "past 32 bytes the length is not seen");
    }
}
