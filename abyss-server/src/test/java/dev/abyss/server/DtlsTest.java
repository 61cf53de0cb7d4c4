package dev.abyss.server;

import dev.abyss.server.ServerStats.Counter;
import dev.abyss.testsupport.Await;
import dev.abyss.testsupport.DtlsClient;
import dev.abyss.testsupport.TestCertificates;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DTLS 1.2 on every transport, with the JDK's SSLEngine as the client ({@link DtlsClient}) and
 * certificates made at test time ({@link TestCertificates}).
 */
class DtlsTest extends TransportSuite {
    private static final Duration HANDSHAKE = Duration.ofSeconds(10);
    private static final Duration QUICK_STOP = Duration.ofMillis(500);

    /** Every callback the handler saw, in order, as text. */
    private final List<String> calls = new CopyOnWriteArrayList<>();

    /** Echoes, recording each callback and what the session negotiated. */
    private final Handler<Object> echo = new Handler<>() {
        @Override
        public HandlerResult<Object> handleConnection(Session s, Object state) {
            Negotiated n = s.negotiated().orElseThrow();
            calls.add("connection " + n.protocol() + " alpn " + n.applicationProtocol().orElse("-") + " peer "
                    + n.peerPrincipal().map(Object::toString).orElse("-"));
            return HandlerResult.continueWith(state);
        }

        @Override
        public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
            String text = new String(data.toArray(JAVA_BYTE), StandardCharsets.UTF_8);
            calls.add("data " + text);
            if (text.equals("bye")) {
                s.close();
            } else {
                s.send(data);
            }
            return HandlerResult.continueWith(state);
        }

        @Override
        public void handleClose(Object state) {
            calls.add("close");
        }

        @Override
        public void handleError(Object reason, Object state) {
            calls.add("error " + (reason instanceof Throwable t ? t.getClass().getSimpleName() : reason));
        }

        @Override
        public void handleTimeout(Object state) {
            calls.add("timeout");
        }
    };

    private static Dtls.Builder serverDtls() {
        TestCertificates certs = TestCertificates.get();
        return Dtls.fromKeyStore(certs.server, TestCertificates.PASSWORD.toCharArray())
                .trustStore(certs.trust, TestCertificates.PASSWORD.toCharArray());
    }

    private Server start(Dtls dtls, DispatchMode mode) throws Exception {
        return start(builder().handler(echo).bindLoopback().port(0).numAcceptors(1).dispatchMode(mode)
                .shutdownTimeout(QUICK_STOP).dtls(dtls).build());
    }

    private static DtlsClient client(Server server, java.nio.file.Path key, String... alpn) throws Exception {
        TestCertificates certs = TestCertificates.get();
        return new DtlsClient((InetSocketAddress) server.localAddress(), TestCertificates.context(key, certs.trust), alpn);
    }

    private static long count(Server server, Counter c) {
        return server.stats().get(c);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void echoesAfterTheHandshakeAndTellsWhatWasNegotiated(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().alpn("coap", "h2").build(), mode);
             DtlsClient c = client(server, null, "h2")) {
            c.handshake(HANDSHAKE);
            c.send(bytes("ping"));
            assertArrayEquals(bytes("ping"), c.receive(HANDSHAKE), "the echo, decrypted");
            assertEquals(List.of("connection DTLSv1.2 alpn h2 peer -", "data ping"), calls);
            assertEquals(1, count(server, Counter.DTLS_HANDSHAKES_COMPLETED));
            assertEquals(1, count(server, Counter.DTLS_COOKIES_SENT), "one stateless HelloVerifyRequest");
            assertEquals(1, count(server, Counter.SESSIONS_OPENED), "the cookie-less hello opened no session");
        }
    }
}
