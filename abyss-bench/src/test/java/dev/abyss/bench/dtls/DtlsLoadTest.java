package dev.abyss.bench.dtls;

import dev.abyss.bench.load.DtlsClient;
import dev.abyss.bench.load.HandshakeLoad;
import dev.abyss.bench.load.LoadGenerator;
import dev.abyss.bench.load.LoadOptions;
import dev.abyss.bench.load.LoadResult;
import dev.abyss.server.Abyss;
import dev.abyss.server.Dtls;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DTLS mode of the load generator against the comparison's baseline, a Scandium echo server,
 * and against Abyss with DTLS on, both serving a certificate made here: handshakes complete, echoes
 * come back decrypted and intact, so the DTLS benchmark cannot rot unseen.
 */
@Timeout(120)
class DtlsLoadTest {
    @TempDir
    static Path dir;
    static DtlsPki pki;

    @BeforeAll
    static void certificate() throws Exception {
        pki = DtlsPki.generate(dir);
    }

    private static ScandiumEcho scandium(boolean cookie) throws Exception {
        return ScandiumEcho.start(new InetSocketAddress("127.0.0.1", 0), pki, cookie, 1, 1 << 20);
    }

    @ParameterizedTest(name = "{0} B")
    @ValueSource(ints = {64, 1200})
    void everyPeerHandshakesOnceThenEchoesComeBackVerified(int size) throws Exception {
        try (ScandiumEcho server = scandium(true)) {
            LoadOptions o = new LoadOptions(server.address(), 4, 8, size, Duration.ofSeconds(60), 400, 0, false, 1, false)
                    .withDtls(DtlsClient.trustingAnyServer());
            LoadResult r = LoadGenerator.run(o);
            assertTrue(r.echoed() >= 400, r.table());
            assertEquals(0, r.corrupt(), r.table());
            assertEquals(r.sent(), r.echoed() + r.lost(), "every record is echoed or lost");
        }
    }

    @ParameterizedTest(name = "cookie {0}")
    @ValueSource(booleans = {true, false})
    void fullHandshakesBackToBackEachFromANewSource(boolean cookie) throws Exception {
        try (ScandiumEcho server = scandium(cookie)) {
            HandshakeLoad.Result r = HandshakeLoad.run(new HandshakeLoad.Options(server.address(), DtlsClient.trustingAnyServer(), 3,
                    Duration.ofSeconds(60), 12));
            assertTrue(r.completed() >= 12, r.table());
            assertEquals(0, r.failed(), r.table());
            assertTrue(r.p50Micros() > 0 && r.p50Micros() <= r.p99Micros(), r.table());
        }
    }

    @Test
    void aConfirmedHandshakeCountsOnceARecordCameBackThroughTheNewSession() throws Exception {
        try (ScandiumEcho server = scandium(true)) {
            HandshakeLoad.Result r = HandshakeLoad.run(new HandshakeLoad.Options(server.address(), DtlsClient.trustingAnyServer(), 2,
                    Duration.ofSeconds(60), 6, true));
            assertTrue(r.completed() >= 6, r.table());
            assertEquals(0, r.failed(), r.table());
        }
    }

    /** Abyss with DTLS on, as the CLI's session_echo runs it: the other side of the comparison. */
    private static Server abyss() throws Exception {
        return Abyss.start(ServerConfig.builder().handler(new Echo()).bindAddress(InetAddress.getLoopbackAddress()).port(0).numAcceptors(1)
                .shutdownTimeout(Duration.ZERO).dtls(Dtls.fromKeyStore(pki.keystore(), pki.password().toCharArray()).build()).build());
    }

    @ParameterizedTest(name = "{0} B")
    @ValueSource(ints = {64, 1200})
    void theSameAgainstAbyssWithDtlsOn(int size) throws Exception {
        try (Server server = abyss()) {
            LoadOptions o = new LoadOptions((InetSocketAddress) server.localAddress(), 4, 8, size, Duration.ofSeconds(60), 400, 0, false,
                    1, false).withDtls(DtlsClient.trustingAnyServer());
            LoadResult r = LoadGenerator.run(o);
            assertTrue(r.echoed() >= 400, r.table());
            assertEquals(0, r.corrupt(), r.table());
            assertEquals(r.sent(), r.echoed() + r.lost(), "every record is echoed or lost");
            HandshakeLoad.Result h = HandshakeLoad.run(new HandshakeLoad.Options((InetSocketAddress) server.localAddress(),
                    DtlsClient.trustingAnyServer(), 3, Duration.ofSeconds(60), 6, true));
            assertTrue(h.completed() >= 6, h.table());
            assertEquals(0, h.failed(), h.table());
        }
    }

    @Test
    void optionsTheModeCannotServeAreRefusedByName() throws Exception {
        DtlsClient c = DtlsClient.trustingAnyServer();
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", 9);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoadOptions.of(at, 1, 1, 20_000, Duration.ofSeconds(1)).withDtls(c));
        assertTrue(e.getMessage().contains("--size") && e.getMessage().contains("20000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new HandshakeLoad.Options(new InetSocketAddress("::1", 9), c, 1, Duration.ofSeconds(1), 0));
        assertTrue(e.getMessage().contains("IPv4 loopback"), e.getMessage());
    }
}
