package dev.abyss.nativetests;

import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transport XDP under the engine's other modes, each in a {@link VethPair} of its own (one XDP
 * program per interface): a session handler on VIRTUAL_THREADS, a SegmentHandler and a DatagramHandler (no session)
 * INLINE answer over IPv4 and IPv6; a suspended server refuses new peers (counted, nothing
 * answered) and answers again once resumed; stats count every datagram. {@link XdpTransportTest}
 * covers the INLINE session handler. Skipped with the reason where namespaces or python3 are missing.
 */
@Timeout(240)
class XdpDispatchTest {

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"virtual, tagged", "inline, stateless", "inline, segment"})
    void answersSuspendsAndResumes(String dispatch, String handler) {
        Skip.unless(NetworkNamespace.sh("command -v python3", 10).code() == 0, "python3 is not installed");
        try (VethPair pair = VethPair.create("xd" + dispatch.charAt(0) + handler.charAt(0), 2, false);
             NetworkNamespace.Child child = pair.startServerJava(XdpServerChild.class,
                     List.of(VethPair.SERVER_IF, "::", Integer.toString(XdpTransportTest.PORT), dispatch, handler))) {
            child.expect("READY", Duration.ofSeconds(60));
            String v4 = XdpTransportTest.taggedClient(pair.clientNs(), VethPair.SERVER_V4, 40, 4, 0);
            assertTrue(v4.startsWith("ECHOED 40 BY "), dispatch + " " + handler + " IPv4: " + v4);
            String v6 = XdpTransportTest.taggedClient(pair.clientNs(), VethPair.SERVER_V6, 40, 4, 0);
            assertTrue(v6.startsWith("ECHOED 40 BY "), dispatch + " " + handler + " IPv6: " + v6);

            if (!handler.equals("stateless")) { // suspend refuses new peers: sessions only (a DatagramHandler has none)
                child.send("SUSPEND");
                child.expect("SUSPENDED", Duration.ofSeconds(10));
                String refused = XdpTransportTest.taggedClient(pair.clientNs(), VethPair.SERVER_V4, 2, 1, 0);
                assertEquals("ECHOED 0 BY", refused.strip(), "a new peer is refused while suspended");
                child.send("RESUME");
                child.expect("RESUMED", Duration.ofSeconds(10));
                Map<String, String> stats = stats(child);
                assertTrue(Long.parseLong(stats.get("droppedSuspended")) >= 2, "counted: " + stats);
                String again = XdpTransportTest.taggedClient(pair.clientNs(), VethPair.SERVER_V4, 10, 2, 0);
                assertTrue(again.startsWith("ECHOED 10"), "answered again once resumed: " + again);
            }
            Await.await("stats count every datagram", Duration.ofSeconds(10), () -> stats(child),
                    s -> Long.parseLong(s.get("in")) >= 80 && Long.parseLong(s.get("out")) >= 80);
        }
    }

    private static Map<String, String> stats(NetworkNamespace.Child child) {
        child.send("STATS");
        return XdpEchoTest.parse(child.expect("STATS", Duration.ofSeconds(10)));
    }
}
