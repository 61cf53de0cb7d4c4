package dev.abyss.nativetests;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GSO never loses what a plain send would deliver: on a path whose MTU is smaller than a segment
 * (here the namespace's loopback at 1,400 bytes, 4 × 1,400-byte segments) the kernel refuses the
 * GSO send with EMSGSIZE where it would fragment a plain datagram; the transport sends those
 * datagrams one by one, and keeps GSO for sends that fit (4 × 1,000 bytes: still one GSO send).
 * Runs in a child JVM in a network namespace of its own ({@link NetworkNamespace}); skipped with
 * the reason where one cannot be made.
 */
@Timeout(90)
class GsoPathMtuTest {
    private static final String SETUP = "ip link set lo up && ip link set lo mtu 1400";

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void segmentsAboveThePathMtuAreSentOneByOneAndGsoStaysOn(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Skip.ifUnavailable("a network namespace with a 1,400-byte loopback MTU",
                NetworkNamespace.unavailable(SETUP, "ip link show dev lo", "mtu 1400"));
        NetworkNamespace.Run child = NetworkNamespace.runJava(SETUP, GsoPathMtuChild.class, List.of(kind.name()), 40);
        if (child.code() == 3) {
            Skip.unless(false, "transport " + kind + " unavailable inside the namespace: " + child.describe());
        }
        assertEquals(0, child.code(), child::describe);
        Map<String, String> r = child.result();
        assertNotNull(r, child::describe);
        System.out.println("GSO PATH MTU " + kind + ": " + r);
        assertEquals("4", r.get("big"), () -> "4 x 1,400 B through a 1,400 B MTU all arrive: " + child.describe());
        assertEquals("1400", r.get("bigSize"), child::describe);
        assertEquals("4", r.get("small"), child::describe);
        assertEquals("0", r.get("sendErrors"), () -> "nothing failed: " + child.describe());
        assertEquals("16", r.get("datagramsOut"), child::describe);
        assertTrue(Long.parseLong(r.get("gsoSends")) >= 2, () -> "the small replies still left as GSO sends: " + child.describe());
        assertEquals("8", r.get("gsoSegments"), () -> "only the small ones were coalesced sends that succeeded: " + child.describe());
    }
}
