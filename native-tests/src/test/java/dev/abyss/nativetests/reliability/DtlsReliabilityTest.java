package dev.abyss.nativetests.reliability;

import dev.abyss.loopback.LoopbackPeers;
import dev.abyss.server.Abyss;
import dev.abyss.server.Dtls;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.ServerStats.Counter;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.ffi.net.Net;
import dev.abyss.testsupport.DtlsClient;
import dev.abyss.testsupport.Skip;
import dev.abyss.testsupport.TestCertificates;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static dev.abyss.nativetests.reliability.Reliability.figures;
import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenarios "dtls-flood" and "dtls-abandoned" (issue 18), on every transport.
 *
 * <p>dtls-flood: ClientHellos from {@value #FLOOD_SHORT} forged source addresses ({@link LoopbackPeers}),
 * half without a cookie and half with a bogus one, while {@value #ESTABLISHED} established DTLS peers
 * keep echoing. Expected: no session opened for a forged address (an SSLEngine is made only after a
 * cookie verified, and a forged address never sees its cookie), every hello answered by a stateless
 * HelloVerifyRequest or counted, the established peers lose nothing, and the live heap after GC
 * grows by less than {@value #HEAP_BOUND_MIB} MiB (an SSLEngine per forged peer would be well over
 * 10 kB each: 200 MB for 20,000; the bound catches anything above ~1.6 kB per forged peer while leaving
 * room for the JIT, the GC and the test's own threads).
 * RSS is printed, not asserted here: the server shares this JVM with the 16 DTLS clients, whose
 * garbage (a 20 kB buffer per record) grows the heap's touched pages by 40-250 MiB, which no bound
 * here could tell from the server's own; {@link DtlsFloodRssTest} asserts it on a server alone in its JVM.
 *
 * <p>dtls-abandoned: a client that stops after each of its flights ({@link AbandoningClient}) against
 * a server with {@code maxHandshakes(1)} and a 1 s handshakeTimeout; after each, a fresh client
 * handshakes, proving the one place was given back.
 */
@Timeout(300)
class DtlsReliabilityTest {
    private static final int ESTABLISHED = 16;
    private static final int FLOOD_SHORT = 20_000;
    private static final int FLOOD = Reliability.size(FLOOD_SHORT, 200_000);
    private static final int BURST = 200;
    private static final int HEAP_BOUND_MIB = 32;
    private static final Duration HANDSHAKE = Duration.ofSeconds(10);
    /** An established peer's patience for one echo: a loss is an echo not back within it. */
    private static final Duration PATIENCE = Duration.ofSeconds(5);

    /** Echoes; counts each peer's end by kind. */
    private static final class Echo implements Handler<Object> {
        final AtomicLong connections = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicLong timeouts = new AtomicLong();

        @Override
        public HandlerResult<Object> handleConnection(Session session, Object state) {
            connections.incrementAndGet();
            return HandlerResult.continueWith(state);
        }

        @Override
        public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
            session.send(data);
            return HandlerResult.continueWith(state);
        }

        @Override
        public void handleError(Object reason, Object state) {
            errors.incrementAndGet();
        }

        @Override
        public void handleTimeout(Object state) {
            timeouts.incrementAndGet();
        }
    }

    private static Dtls.Builder serverDtls() {
        TestCertificates certs = TestCertificates.get();
        return Dtls.fromKeyStore(certs.server, TestCertificates.PASSWORD.toCharArray())
                .trustStore(certs.trust, TestCertificates.PASSWORD.toCharArray());
    }

    private static DtlsClient client(Server server) throws Exception {
        return new DtlsClient((InetSocketAddress) server.localAddress(), TestCertificates.context(null, TestCertificates.get().trust));
    }

    private static long count(Server server, Counter c) {
        return server.stats().get(c);
    }

    /**
     * {@code hello} (one DTLS 1.2 ClientHello record, no cookie, one fragment) with a cookie of
     * {@code cookie} inserted, its three lengths (record, handshake, fragment) grown to match.
     */
    static byte[] withCookie(byte[] hello, byte[] cookie) {
        int sessionIdAt = 13 + 12 + 2 + 32;
        int cookieAt = sessionIdAt + 1 + (hello[sessionIdAt] & 0xff);
        assertEquals(0, hello[cookieAt], "the captured hello has no cookie");
        byte[] out = new byte[hello.length + cookie.length];
        System.arraycopy(hello, 0, out, 0, cookieAt);
        out[cookieAt] = (byte) cookie.length;
        System.arraycopy(cookie, 0, out, cookieAt + 1, cookie.length);
        System.arraycopy(hello, cookieAt + 1, out, cookieAt + 1 + cookie.length, hello.length - cookieAt - 1);
        addU16(out, 11, cookie.length); // record length
        addU24(out, 14, cookie.length); // handshake length
        addU24(out, 22, cookie.length); // fragment length
        return out;
    }

    private static void addU16(byte[] b, int at, int delta) {
        int v = ((b[at] & 0xff) << 8 | (b[at + 1] & 0xff)) + delta;
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }

    private static void addU24(byte[] b, int at, int delta) {
        int v = ((b[at] & 0xff) << 16 | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff)) + delta;
        b[at] = (byte) (v >>> 16);
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) v;
    }

    /** {@value #ESTABLISHED} handshaken DTLS clients, each echoing on its own thread until stopped. */
    private static final class DtlsTalkers implements AutoCloseable {
        final List<DtlsClient> clients = new ArrayList<>();
        final List<Thread> threads = new ArrayList<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicLong exchanges = new AtomicLong();
        final AtomicLong lost = new AtomicLong();
        final AtomicLong corrupt = new AtomicLong();
        final AtomicLong failures = new AtomicLong();

        DtlsTalkers(Server server) throws Exception {
            for (int i = 0; i < ESTABLISHED; i++) {
                DtlsClient c = client(server);
                clients.add(c);
                c.handshake(HANDSHAKE);
            }
        }

        void start() {
            for (int i = 0; i < clients.size(); i++) {
                DtlsClient c = clients.get(i);
                int id = i;
                threads.add(Thread.ofPlatform().name("dtls-talker-" + i).daemon(true).start(() -> {
                    for (long n = 0; running.get() && n < 10_000_000; n++) {
                        byte[] msg = ("peer " + id + " exchange " + n).getBytes(StandardCharsets.UTF_8);
                        try {
                            c.send(msg);
                            byte[] echo = c.receive(PATIENCE);
                            if (echo == null) {
                                lost.incrementAndGet();
                            } else if (!Arrays.equals(msg, echo)) {
                                corrupt.incrementAndGet();
                            } else {
                                exchanges.incrementAndGet();
                            }
                        } catch (Exception e) {
                            failures.incrementAndGet();
                            return;
                        }
                    }
                }));
            }
        }

        void stop() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(PATIENCE.toSeconds() + 5));
            }
        }

        @Override
        public void close() {
            try {
                stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                clients.forEach(DtlsClient::close);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void forgedClientHellosOpenNothingWhileEstablishedPeersLoseNothing(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Echo echo = new Echo();
        Server server = Abyss.start(ServerConfig.builder().handler(echo, null).transport(kind)
                .bindAddress(InetAddress.getByName("127.0.0.1")).numAcceptors(2).readTimeout(Duration.ofMinutes(10))
                .shutdownTimeout(Duration.ofMillis(200)).inlineCallbackLimit(Duration.ofSeconds(30))
                .dtls(serverDtls().build()).build());
        try (DtlsTalkers talkers = new DtlsTalkers(server);
             LoopbackPeers flood = new LoopbackPeers(server.localAddress(), 4 << 20)) {
            byte[] hello;
            try (DtlsClient source = client(server)) {
                hello = source.firstHello(); // the JDK's own first flight: a valid DTLS 1.2 ClientHello, no cookie
            }
            byte[] bogus = withCookie(hello, "sixteen bogus by".getBytes(StandardCharsets.US_ASCII));
            MemorySegment plain = Arena.ofAuto().allocate(hello.length);
            plain.copyFrom(MemorySegment.ofArray(hello));
            MemorySegment cookied = Arena.ofAuto().allocate(bogus.length);
            cookied.copyFrom(MemorySegment.ofArray(bogus));
            MemorySegment in = Arena.ofAuto().allocate(65_536);
            assertEquals(ESTABLISHED, server.stats().sessionsOpened(), "the established peers");

            long base = handled(server, 0); // the established peers' own cookie exchanges
            long cookiesBefore = count(server, Counter.DTLS_COOKIES_SENT);
            talkers.start();
            long heapBefore = Reliability.heapAfterGc();
            long rssBefore = Reliability.rssKiB();
            long t0 = System.nanoTime();
            long answers = 0;
            for (int start = 0; start < FLOOD; start += BURST) {
                int end = Math.min(FLOOD, start + BURST);
                for (int n = start; n < end; n++) {
                    boolean withCookie = (n & 1) == 1;
                    while (flood.send(n, withCookie ? cookied : plain, withCookie ? bogus.length : hello.length, Net.MSG_DONTWAIT) < 0) {
                        answers += drain(flood, in);
                    }
                }
                // paced by the server: the next burst once this one is answered or counted (no socket buffer overflows)
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (System.nanoTime() < deadline && handled(server, base) < end) {
                    long got = drain(flood, in);
                    answers += got;
                    if (got == 0) {
                        Thread.onSpinWait();
                    }
                }
            }
            long floodNanos = System.nanoTime() - t0;
            await("every forged hello answered or counted", () -> handled(server, base), n -> n >= FLOOD);
            long[] received = {answers};
            long cookiesToFlood = count(server, Counter.DTLS_COOKIES_SENT) - cookiesBefore;
            await("every HelloVerifyRequest sent reached the forged addresses", () -> received[0] += drain(flood, in),
                    n -> n >= cookiesToFlood);
            talkers.stop();
            long heapAfter = Reliability.heapAfterGc();
            long rssAfter = Reliability.rssKiB();
            ServerStats st = server.stats();
            figures("dtls-flood", "%s: %,d forged ClientHellos (half with a bogus cookie) in %d ms: %,d HelloVerifyRequests sent "
                            + "(%,d to the established peers' handshakes), %,d received by the forged addresses, %,d hellos dropped, "
                            + "%,d kernel drops, %d sessions opened, %d handshakes completed; %d established DTLS peers: %,d exchanges, "
                            + "lost %d, corrupt %d, failed %d; heap after GC %d -> %d MiB (bound +%d MiB), RSS %d -> %d MiB",
                    kind, FLOOD, floodNanos / 1_000_000, st.get(Counter.DTLS_COOKIES_SENT), cookiesBefore, received[0],
                    st.get(Counter.DTLS_HELLOS_DROPPED), st.kernelDrops(), st.sessionsOpened(), st.get(Counter.DTLS_HANDSHAKES_COMPLETED),
                    ESTABLISHED, talkers.exchanges.get(), talkers.lost.get(), talkers.corrupt.get(), talkers.failures.get(),
                    heapBefore >> 20, heapAfter >> 20, HEAP_BOUND_MIB, rssBefore >> 10, rssAfter >> 10);

            assertEquals(ESTABLISHED, st.sessionsOpened(), "no session for a forged address: " + st);
            assertEquals(ESTABLISHED, st.get(Counter.DTLS_HANDSHAKES_COMPLETED), "only the established peers handshook");
            assertEquals(0, st.get(Counter.DTLS_HANDSHAKES_BUSY), "no forged hello reached the handshake bound");
            assertEquals(0, talkers.lost.get(), "the established peers lost no echo: " + st);
            assertEquals(0, talkers.corrupt.get(), "every echo intact");
            assertEquals(0, talkers.failures.get(), "no established client failed");
            assertTrue(talkers.exchanges.get() > 0, "the established peers talked during the flood");
            assertEquals(0, st.kernelDrops(), "the paced flood overflowed no socket buffer: " + st);
            assertEquals(FLOOD, handled(server, base), "every forged hello answered by a HelloVerifyRequest or counted: " + st);
            assertTrue(heapAfter - heapBefore < (long) HEAP_BOUND_MIB << 20,
                    "live heap grew by " + ((heapAfter - heapBefore) >> 20) + " MiB (bound " + HEAP_BOUND_MIB + ")");
            for (DtlsClient c : talkers.clients) { // and they are still served after it
                c.send("after".getBytes(StandardCharsets.UTF_8));
                assertArrayEquals("after".getBytes(StandardCharsets.UTF_8), c.receive(PATIENCE), "served after the flood");
            }
            assertEquals(0, echo.errors.get() + echo.timeouts.get(), "no established session ended");
        } finally {
            server.stop(Duration.ZERO);
        }
    }

    /**
     * A handshake abandoned after each client flight, against one acceptor with {@code maxHandshakes(1)}:
     * <ul>
     *   <li>after flight 1 (the cookie-less hello): only a stateless HelloVerifyRequest; no session, no place taken;</li>
     *   <li>after flight 2 (the hello with the cookie; the server's flight is sent): the server's handshake
     *       ends at handshakeTimeout, counted in DTLS_HANDSHAKES_TIMED_OUT with handleError as its only
     *       callback, and its one place comes back: a fresh client, held back meanwhile (DTLS_HANDSHAKES_BUSY),
     *       handshakes then;</li>
     *   <li>after flight 3 (ClientKeyExchange, ChangeCipherSpec, Finished; the server's Finished never read): in
     *       DTLS 1.2 the server's side is complete once it has sent its Finished, so it counts as completed
     *       (handleConnection), the place comes back at once (no fresh client held back), and the idle session
     *       ends at readTimeout.</li>
     * </ul>
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aHandshakeAbandonedAtEachFlightGivesItsPlaceBack(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Duration handshakeTimeout = Duration.ofSeconds(1); // short; long enough that the fresh client is surely held back first
        Duration readTimeout = Duration.ofSeconds(3);
        Echo echo = new Echo();
        Server server = Abyss.start(ServerConfig.builder().handler(echo, null).transport(kind)
                .bindAddress(InetAddress.getByName("127.0.0.1")).numAcceptors(1).readTimeout(readTimeout)
                .shutdownTimeout(Duration.ofMillis(200))
                .dtls(serverDtls().handshakeTimeout(handshakeTimeout).maxHandshakes(1).build()).build());
        InetSocketAddress at = (InetSocketAddress) server.localAddress();
        javax.net.ssl.SSLContext context = TestCertificates.context(null, TestCertificates.get().trust);
        try {
            // flight 1: nothing but a HelloVerifyRequest
            try (AbandoningClient a = new AbandoningClient(at, context)) {
                a.abandonAfterFlight(1, HANDSHAKE);
            }
            await("the cookie-less hello answered statelessly", () -> count(server, Counter.DTLS_COOKIES_SENT), n -> n == 1);
            assertEquals(0, server.stats().sessionsOpened(), "flight 1 opened no session");
            handshakeAndEcho(server, "after flight 1");
            assertEquals(0, count(server, Counter.DTLS_HANDSHAKES_BUSY), "flight 1 took no place");

            // flight 2: the server's handshake is in progress and holds the one place until handshakeTimeout
            long t0 = System.nanoTime();
            try (AbandoningClient a = new AbandoningClient(at, context)) {
                a.abandonAfterFlight(2, HANDSHAKE);
                assertEquals(List.of("22/0/1", "22/0/1"), a.recordsSent, "flight 2: the second ClientHello, with the cookie");
                handshakeAndEcho(server, "after flight 2"); // held back until the abandoned one timed out
            }
            long flight2Nanos = System.nanoTime() - t0;
            long heldBack = count(server, Counter.DTLS_HANDSHAKES_BUSY);
            assertEquals(1, count(server, Counter.DTLS_HANDSHAKES_TIMED_OUT), "the handshake abandoned after flight 2 timed out: " + server.stats());
            assertEquals(2, count(server, Counter.DTLS_HANDSHAKES_COMPLETED), "only the fresh clients' completed");
            assertTrue(heldBack >= 1, "the fresh client was held back by maxHandshakes(1)");
            assertTrue(flight2Nanos >= handshakeTimeout.toNanos(), "the place came back no sooner than handshakeTimeout");
            await("handleError for the timed-out handshake", echo.errors::get, n -> n == 1);

            // flight 3: the server has the client's Finished and sends its own: its side is complete (DTLS 1.2), the place
            // comes back at once, and the session, never used, ends at readTimeout
            try (AbandoningClient a = new AbandoningClient(at, context)) {
                a.abandonAfterFlight(3, HANDSHAKE);
                assertTrue(a.recordsSent.contains("22/0/16") && a.recordsSent.contains("20/0") && a.recordsSent.contains("22/1"),
                        "flight 3 was ClientKeyExchange, ChangeCipherSpec, Finished (epoch 1): " + a.recordsSent);
                await("the server completed the abandoned handshake", () -> count(server, Counter.DTLS_HANDSHAKES_COMPLETED), n -> n == 3);
                handshakeAndEcho(server, "after flight 3");
            }
            assertEquals(heldBack, count(server, Counter.DTLS_HANDSHAKES_BUSY), "the completed handshake gave its place back at once");
            assertEquals(1, count(server, Counter.DTLS_HANDSHAKES_TIMED_OUT), "flight 3 did not time out: its server side completed");
            await("every session ended at readTimeout", () -> server.stats().sessionsLive(), n -> n == 0);
            ServerStats st = server.stats();
            figures("dtls-abandoned", "%s maxHandshakes 1, handshakeTimeout %d ms: flight 1 -> 1 cookie sent, no session, no place; "
                            + "flight 2 -> timed out, a fresh client held back %d times, served %d ms after the abandoned hello; "
                            + "flight 3 -> completed server-side, place back at once, ended at readTimeout; totals: %d timed out, "
                            + "%d opened, %d completed, %d handleError, %d handleTimeout",
                    kind, handshakeTimeout.toMillis(), heldBack, flight2Nanos / 1_000_000, st.get(Counter.DTLS_HANDSHAKES_TIMED_OUT),
                    st.sessionsOpened(), st.get(Counter.DTLS_HANDSHAKES_COMPLETED), echo.errors.get(), echo.timeouts.get());
            assertEquals(5, st.sessionsOpened(), "flights 2 and 3 and the three fresh clients");
            assertEquals(4, st.get(Counter.DTLS_HANDSHAKES_COMPLETED), "flight 3's and the fresh clients'");
            assertEquals(1, echo.errors.get(), "handleError: the timed-out handshake's only callback");
            assertEquals(4, echo.timeouts.get(), "each established session ended at readTimeout");
            assertEquals(4, echo.connections.get(), "handleConnection for each completed handshake");
        } finally {
            server.stop(Duration.ZERO);
        }
    }

    /** A fresh client handshakes and gets one echo. */
    private static void handshakeAndEcho(Server server, String text) throws Exception {
        try (DtlsClient c = client(server)) {
            c.handshake(HANDSHAKE);
            byte[] msg = text.getBytes(StandardCharsets.UTF_8);
            c.send(msg);
            assertArrayEquals(msg, c.receive(PATIENCE), "a fresh client is served " + text);
        }
    }

    /** Hellos the server answered with a HelloVerifyRequest or counted as dropped, minus {@code base} (those before the flood). */
    private static long handled(Server server, long base) {
        ServerStats st = server.stats();
        return st.get(Counter.DTLS_COOKIES_SENT) + st.get(Counter.DTLS_HELLOS_DROPPED) + st.kernelDrops() - base;
    }

    private static long drain(LoopbackPeers flood, MemorySegment in) {
        long n = 0;
        while (flood.receive(in, Net.MSG_DONTWAIT) > 0) {
            n++;
        }
        return n;
    }
}
