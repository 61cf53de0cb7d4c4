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

    /**
     * The server's first flight (its certificate) is many times the client's hello: under an
     * amplification limit it would be held back, unless the cookie exchange validated the peer.
     */
    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void theCookieValidatesThePeerSoTheAmplificationLimitLetsTheHandshakeThrough(DispatchMode mode) throws Exception {
        try (Server server = start(builder().handler(echo).bindLoopback().port(0).numAcceptors(1).dispatchMode(mode)
                .shutdownTimeout(QUICK_STOP).dtls(serverDtls().build()).amplificationLimit(1).build());
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            c.send(bytes("ping"));
            assertArrayEquals(bytes("ping"), c.receive(HANDSHAKE), "the echo, decrypted");
            assertEquals(0, count(server, Counter.AMPLIFICATION_LIMITED), "nothing held back after the cookie");
            assertEquals(1, count(server, Counter.DTLS_HANDSHAKES_COMPLETED));
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void mutualAuthenticationNeedPassesASignedClientAndFailsTheOthersWithHandleErrorOnly(DispatchMode mode) throws Exception {
        TestCertificates certs = TestCertificates.get();
        try (Server server = start(serverDtls().clientAuth(Dtls.ClientAuth.NEED).build(), mode)) {
            try (DtlsClient good = client(server, certs.client)) {
                good.handshake(HANDSHAKE);
                good.send(bytes("signed"));
                assertArrayEquals(bytes("signed"), good.receive(HANDSHAKE));
            }
            assertEquals(List.of("connection DTLSv1.2 alpn - peer CN=abyss-test-client", "data signed"), calls);
            calls.clear();
            try (DtlsClient none = client(server, null)) {
                assertThrows(SSLException.class, () -> none.handshake(HANDSHAKE), "no certificate under NEED: the client sees an alert");
            }
            try (DtlsClient rogue = client(server, certs.rogue)) {
                assertThrows(SSLException.class, () -> rogue.handshake(HANDSHAKE), "a certificate nobody trusted signed");
            }
            Await.await("both failures reported", () -> List.copyOf(calls), c -> c.size() == 2);
            assertEquals(List.of("error SSLHandshakeException", "error SSLHandshakeException"), calls,
                    "handleError is each failed peer's only callback");
            assertEquals(2, count(server, Counter.DTLS_HANDSHAKES_FAILED_CERTIFICATE));
            assertEquals(1, count(server, Counter.DTLS_HANDSHAKES_COMPLETED));
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void wantServesAClientWithoutACertificate(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().clientAuth(Dtls.ClientAuth.WANT).build(), mode);
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            c.send(bytes("anon"));
            assertArrayEquals(bytes("anon"), c.receive(HANDSHAKE));
            assertEquals(List.of("connection DTLSv1.2 alpn - peer -", "data anon"), calls);
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void closeNotifyEndsTheSessionBothWays(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().build(), mode)) {
            try (DtlsClient c = client(server, null)) {
                c.handshake(HANDSHAKE);
                c.send(bytes("one"));
                assertArrayEquals(bytes("one"), c.receive(HANDSHAKE));
                c.closeNotify();
                Await.await("handleClose after the client's close_notify", () -> List.copyOf(calls), l -> l.contains("close"));
            }
            try (DtlsClient c = client(server, null)) {
                c.handshake(HANDSHAKE);
                c.send(bytes("bye")); // the handler closes the session
                assertEquals(null, c.receive(HANDSHAKE), "no data: a close_notify");
                assertTrue(c.peerClosed(), "the server's close_notify reached the client");
            }
            Await.await("both sessions ended", () -> server.stats().sessionsLive(), n -> n == 0);
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void aLostFlightIsSentAgainOnTheServersTimer(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().build(), mode);
             DtlsClient c = client(server, null)) {
            c.retransmitMillis = 30_000; // the client never sends again: only the server's timer can save the handshake
            boolean[] droppedOne = {false};
            c.dropIncoming = d -> {
                boolean serverHello = d.length > 13 && d[0] == 22 && d[13] == 2;
                if (serverHello && !droppedOne[0]) {
                    droppedOne[0] = true;
                    return true;
                }
                return false;
            };
            c.handshake(Duration.ofSeconds(20));
            assertEquals(1, c.dropped, "the server's ServerHello was lost once");
            assertEquals(0, c.retransmissions, "the client did not retransmit");
            c.send(bytes("after"));
            assertArrayEquals(bytes("after"), c.receive(HANDSHAKE));
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void anEmptyHandshakeRecordFromThePeersAddressDoesNotEndItsSession(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().build(), mode);
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            c.send(bytes("first"));
            assertArrayEquals(bytes("first"), c.receive(HANDSHAKE));
            c.sendRaw(new byte[] {22, (byte) 0xfe, (byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0}); // 13 bytes: a header, no fragment
            c.send(bytes("still here"));
            assertArrayEquals(bytes("still here"), c.receive(HANDSHAKE), "the session survived: " + calls);
            assertEquals(List.of("connection DTLSv1.2 alpn - peer -", "data first", "data still here"), calls);
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void badRecordsAreCountedAndTheSessionGoesOn(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().build(), mode);
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            c.send(bytes("first"));
            assertArrayEquals(bytes("first"), c.receive(HANDSHAKE));
            byte[] record = c.lastSent();
            c.sendRaw(record); // replayed
            c.sendRaw(java.util.Arrays.copyOf(record, record.length / 2)); // truncated
            c.sendRaw(bytes("garbage, not a DTLS record at all")); // malformed
            byte[] forged = c.seal(bytes("forged"));
            forged[forged.length - 1] ^= 1; // the tag no longer matches
            c.sendRaw(forged);
            byte[] wrongEpoch = c.seal(bytes("epoch"));
            wrongEpoch[4] = 2;
            c.sendRaw(wrongEpoch);
            c.send(bytes("still here"));
            assertArrayEquals(bytes("still here"), c.receive(HANDSHAKE), "the session survived every bad record");
            assertEquals(1, count(server, Counter.DTLS_RECORDS_REPLAYED));
            assertEquals(2, count(server, Counter.DTLS_RECORDS_MALFORMED));
            assertEquals(1, count(server, Counter.DTLS_RECORDS_BAD_MAC));
            assertEquals(1, count(server, Counter.DTLS_RECORDS_WRONG_EPOCH));
            assertEquals(List.of("connection DTLSv1.2 alpn - peer -", "data first", "data still here"), calls);
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void aRenegotiationIsRefusedAndTheSessionGoesOn(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().build(), mode);
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            c.send(bytes("before"));
            assertArrayEquals(bytes("before"), c.receive(HANDSHAKE));
            c.sendRaw(c.firstHello()); // a new ClientHello inside the session: a renegotiation
            Await.await("the renegotiation refused", () -> count(server, Counter.DTLS_RENEGOTIATIONS_REFUSED), n -> n >= 1);
            assertEquals(1, server.stats().sessionsLive(), "the session goes on");
            assertEquals(List.of("connection DTLSv1.2 alpn - peer -", "data before"), calls, "no callback for the refusal");
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void aHandshakePastItsTimeoutEndsWithHandleError(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().handshakeTimeout(Duration.ofMillis(300)).build(), mode);
             DtlsClient c = client(server, null)) {
            c.dropIncoming = d -> d.length > 13 && d[13] != 3; // the client hears the HelloVerifyRequests only: it never gets further
            assertThrows(java.io.IOException.class, () -> c.handshake(Duration.ofSeconds(2)));
            c.close(); // its retransmissions may have opened another handshake (a fresh cookie): it times out as well
            Await.await("every handshake timed out, its place freed, handleError ran", () -> server.stats().sessionsLive() == 0
                    && calls.size() == count(server, Counter.DTLS_HANDSHAKES_TIMED_OUT) && !calls.isEmpty(), done -> done);
            assertTrue(!calls.isEmpty() && calls.stream().allMatch("error SSLHandshakeException"::equals), calls.toString());
            assertEquals(calls.size(), count(server, Counter.DTLS_HANDSHAKES_TIMED_OUT), "each counted as timed out");
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void aClientRestartingOnTheSameAddressEndsTheOldSessionAndGetsANewOne(DispatchMode mode) throws Exception {
        try (Server server = start(serverDtls().build(), mode)) {
            int port;
            try (DtlsClient old = client(server, null)) {
                old.handshake(HANDSHAKE);
                old.send(bytes("old"));
                assertArrayEquals(bytes("old"), old.receive(HANDSHAKE));
                port = old.socket().getLocalPort();
            }
            java.net.DatagramSocket same = new java.net.DatagramSocket(null);
            same.setReuseAddress(true);
            same.bind(new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port));
            try (DtlsClient fresh = new DtlsClient(same, (InetSocketAddress) server.localAddress(),
                    TestCertificates.context(null, TestCertificates.get().trust))) {
                fresh.handshake(HANDSHAKE);
                fresh.send(bytes("new"));
                assertArrayEquals(bytes("new"), fresh.receive(HANDSHAKE));
            }
            assertEquals(List.of("connection DTLSv1.2 alpn - peer -", "data old", "close", "connection DTLSv1.2 alpn - peer -", "data new"),
                    calls);
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void aSendThatDoesNotFitOneRecordIsRefused(DispatchMode mode) throws Exception {
        java.util.concurrent.atomic.AtomicReference<Throwable> refused = new java.util.concurrent.atomic.AtomicReference<>();
        Handler<Object> big = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session s, MemorySegment data, Object state) {
                try {
                    s.send(new byte[5_000]);
                } catch (IllegalArgumentException e) {
                    refused.set(e);
                }
                s.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        try (Server server = start(builder().handler(big).bindLoopback().port(0).numAcceptors(1).dispatchMode(mode)
                .shutdownTimeout(QUICK_STOP).dtls(serverDtls().build()).build());
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            c.send(bytes("x"));
            assertArrayEquals(bytes("x"), c.receive(HANDSHAKE), "the small send went, alone");
            assertNotNull(refused.get());
            assertTrue(refused.get().getMessage().contains("5000 bytes does not fit in one record"), refused.get().getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void forgedHellosFromManyAddressesOpenNothingWhileAnEstablishedPeerIsServed(DispatchMode mode) throws Exception {
        int forged = 2_000;
        try (Server server = start(serverDtls().build(), mode);
             DtlsClient c = client(server, null);
             dev.abyss.loopback.LoopbackPeers peers = new dev.abyss.loopback.LoopbackPeers(server.localAddress())) {
            c.handshake(HANDSHAKE);
            byte[] hello;
            try (DtlsClient source = client(server, null)) {
                hello = source.firstHello();
            }
            MemorySegment h = java.lang.foreign.Arena.global().allocate(hello.length);
            h.copyFrom(MemorySegment.ofArray(hello));
            for (int i = 0; i < forged; i++) {
                peers.send(i, h, hello.length, 0);
                if (i % 100 == 0) {
                    c.send(bytes("alive " + i));
                    assertArrayEquals(bytes("alive " + i), c.receive(HANDSHAKE), "the established peer is served during the flood");
                }
            }
            Await.await("every forged hello answered or dropped", () -> count(server, Counter.DTLS_COOKIES_SENT)
                    + server.stats().kernelDrops(), n -> n >= forged);
            assertEquals(1, server.stats().sessionsOpened(), "no session (and so no SSLEngine) for a forged address");
            assertTrue(count(server, Counter.DTLS_COOKIES_SENT) > 1, "HelloVerifyRequests answered the flood");
        }
    }

    /** A SegmentHandler (INLINE only) sees plaintext too. */
    @org.junit.jupiter.api.Test
    void aSegmentHandlerEchoesOverDtls() throws Exception {
        SegmentHandler echoSegments = (s, data) -> s.send(data);
        try (Server server = start(builder().segmentHandler(echoSegments).bindLoopback().port(0).numAcceptors(1)
                .shutdownTimeout(QUICK_STOP).dtls(serverDtls().build()).build());
             DtlsClient c = client(server, null)) {
            c.handshake(HANDSHAKE);
            for (String m : List.of("a", "bb", "ccc")) {
                c.send(bytes(m));
                assertArrayEquals(bytes(m), c.receive(HANDSHAKE));
            }
            assertEquals(1, count(server, Counter.DTLS_HANDSHAKES_COMPLETED));
        }
    }

    @org.junit.jupiter.api.Test
    void buildRefusesDtlsWithADatagramHandler() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder().datagramHandler((peer, data) -> { })
                .dtls(serverDtls().build()).build());
        assertTrue(e.getMessage().contains("DatagramHandler keeps no session"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void badSettingsAreRefusedNamingTheValue() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> serverDtls().maxRecordSize(100)).getMessage()
                .contains("maxRecordSize must be 256..16709, was 100"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> serverDtls().maxHandshakes(0)).getMessage()
                .contains("maxHandshakes must be 1..1000000, was 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Dtls.fromKeyStore(java.nio.file.Path.of("/nonexistent.p12"),
                new char[0])).getMessage().contains("/nonexistent.p12"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Dtls.fromKeyStore(TestCertificates.get().server,
                "wrong".toCharArray())).getMessage().contains("server.p12"));
    }
}
