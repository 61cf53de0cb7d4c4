package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which transport a server gets: AUTO's order and fallback, and an explicit kind that cannot work
 * here. Kinds are made unavailable with the
 * system property {@code abyss.transport.unavailable}, which Transports reads at each selection.
 */
@Timeout(60)
class TransportSelectionTest {
    private static final String UNAVAILABLE = "abyss.transport.unavailable";

    /** Runs {@code body} with {@code kinds} made unavailable, then puts the property back as it was. */
    private static void withUnavailable(String kinds, Executable body) throws Throwable {
        String before = System.getProperty(UNAVAILABLE);
        System.setProperty(UNAVAILABLE, kinds);
        try {
            body.execute();
        } finally {
            if (before == null) {
                System.clearProperty(UNAVAILABLE);
            } else {
                System.setProperty(UNAVAILABLE, before);
            }
        }
    }

    private static ServerConfig config(TransportKind kind) {
        return ServerConfig.builder().handler(new Echo()).transport(kind).shutdownTimeout(Duration.ofMillis(50)).build();
    }

    /** Starts {@code config}, checks the server runs on {@code expected} and echoes over it. */
    private static void assertServesOn(TransportKind expected, ServerConfig config) throws IOException {
        try (Server server = Abyss.start(config); Client c = new Client(server.localAddress())) {
            assertEquals(expected, server.transport(), "what " + config.socket().transport() + " resolved to");
            c.send("over " + expected);
            assertEquals("over " + expected, c.receive(5000));
        }
    }

    @Test
    void autoPicksTheBestTransportThatWorksHere() throws Exception {
        TransportKind best = Stream.of(TransportKind.IO_URING, TransportKind.EPOLL, TransportKind.NIO)
                .filter(k -> Transports.unavailableReason(k) == null).findFirst()
                .orElseThrow(() -> new AssertionError("no transport works here"));
        assertServesOn(best, config(TransportKind.AUTO));
    }

    @Test
    void autoFallsBackToEpollWhenIoUringIsUnavailable() throws Throwable {
        withUnavailable("io_uring", () -> {
            String uring = Transports.unavailableReason(TransportKind.IO_URING);
            assertNotNull(uring, "the property makes io_uring unavailable");
            assertTrue(uring.contains(UNAVAILABLE), uring);
            Skip.ifUnavailable("transport EPOLL", Transports.unavailableReason(TransportKind.EPOLL));
            assertServesOn(TransportKind.EPOLL, config(TransportKind.AUTO));
        });
    }

    @Test
    void autoFallsBackToNioWhenIoUringAndEpollAreUnavailable() throws Throwable {
        withUnavailable("io_uring,epoll", () -> {
            assertNotNull(Transports.unavailableReason(TransportKind.IO_URING), "the property makes io_uring unavailable");
            assertNotNull(Transports.unavailableReason(TransportKind.EPOLL), "the property makes epoll unavailable");
            Skip.ifUnavailable("transport NIO", Transports.unavailableReason(TransportKind.NIO));
            assertServesOn(TransportKind.NIO, config(TransportKind.AUTO));
        });
    }

    @Test
    void autoWithNoTransportLeftFailsAtStartWithEveryReason() throws Throwable {
        withUnavailable("io_uring,epoll,nio", () -> {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Abyss.start(config(TransportKind.AUTO)));
            for (TransportKind kind : explicitKinds()) {
                String reason = Transports.unavailableReason(kind);
                assertNotNull(reason, kind + " is disabled by the property");
                assertTrue(e.getMessage().contains(kind.name().toLowerCase(Locale.ROOT) + ": " + reason), e.getMessage());
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, mode = EnumSource.Mode.EXCLUDE, names = "AUTO")
    void anExplicitKindMadeUnavailableFailsAtStartNamingTheKindAndTheReason(TransportKind kind) throws Throwable {
        withUnavailable(kind.name().toLowerCase(Locale.ROOT), () -> {
            String reason = Transports.unavailableReason(kind);
            assertNotNull(reason, "the property makes " + kind + " unavailable");
            assertStartFails(kind, reason);
        });
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, mode = EnumSource.Mode.EXCLUDE, names = "AUTO")
    void anExplicitKindThatDoesNotWorkHereFailsAtStartWithItsOwnReason(TransportKind kind) throws Exception {
        String reason = Transports.unavailableReason(kind);
        Skip.unless(reason != null, kind + " works here: nothing to fail");
        assertStartFails(kind, reason);
    }

    private static void assertStartFails(TransportKind kind, String reason) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Abyss.start(config(kind)),
                "an explicit kind never falls back");
        assertTrue(e.getMessage().contains(kind.name()), "names the kind: " + e.getMessage());
        assertTrue(e.getMessage().contains(reason), "names the reason '" + reason + "': " + e.getMessage());
    }

    private static List<TransportKind> explicitKinds() {
        // AUTO never picks XDP, so its failure names the socket transports only
        return Arrays.stream(TransportKind.values()).filter(k -> k != TransportKind.AUTO && k != TransportKind.XDP).toList();
    }
}
