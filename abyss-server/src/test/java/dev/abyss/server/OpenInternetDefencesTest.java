package dev.abyss.server;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The open-internet defences as a handler sees them, on every transport: reply rate limiting with
 * its verdicts and slips, validation, and the amplification limit of a session, each held-back
 * reply returned as {@link SendResult#LIMITED} and counted.
 */
class OpenInternetDefencesTest extends TransportSuite {

    /** What a handler saw and got for one request. */
    record Turn(RateLimitVerdict verdict, boolean over, SendResult result) {
    }

    @Test
    void repliesPastTheBurstAreHeldBackAndOneOverLimitVerdictInTwoIsASlip() throws Exception {
        List<Turn> turns = new CopyOnWriteArrayList<>();
        byte[] slip = "TC".getBytes(StandardCharsets.US_ASCII);
        // one reply a minute after a burst of 3: no token comes back while the test runs
        try (Server server = start(builder().bindLoopback().port(0).rateLimit(1).rateLimitBurst(3).rateLimitSlip(2)
                .datagramHandler((peer, data) -> {
                    boolean over = peer.overRateLimit();
                    RateLimitVerdict v = peer.rateLimit();
                    SendResult r = v == RateLimitVerdict.SLIP ? peer.send(slip) : peer.send(data);
                    turns.add(new Turn(v, over, r));
                }).build());
             Client client = new Client(server.localAddress())) {
            int requests = 9;
            int replies = 0;
            for (int i = 0; i < requests; i++) {
                client.send("q" + i);
                int n = i + 1;
                await("the handler saw request " + i, turns::size, s -> s >= n);
            }
            for (String r; (r = client.receive(replies < 7 ? 2000 : 200)) != null; ) {
                replies++;
            }
            assertEquals(List.of(RateLimitVerdict.UNDER, RateLimitVerdict.UNDER, RateLimitVerdict.UNDER),
                    turns.subList(0, 3).stream().map(Turn::verdict).toList(), "the burst: " + turns);
            long slips = turns.stream().filter(t -> t.verdict() == RateLimitVerdict.SLIP).count();
            long overs = turns.stream().filter(t -> t.verdict() == RateLimitVerdict.OVER).count();
            assertEquals(3, slips, "one in 2 of the 6 over-limit verdicts is a slip: " + turns);
            assertEquals(3, overs, turns.toString());
            for (Turn t : turns) {
                assertEquals(t.verdict() != RateLimitVerdict.UNDER, t.over(), "overRateLimit agrees with the verdict: " + t);
                assertEquals(t.verdict() == RateLimitVerdict.OVER ? SendResult.LIMITED : SendResult.OK, t.result(),
                        "a slip passes once, an OVER reply is held back: " + t);
            }
            assertEquals(6, replies, "3 answers and 3 slips reached the client");
            ServerStats st = server.stats();
            assertEquals(3, st.rateLimited(), st.toString());
            assertEquals(0, st.amplificationLimited(), st.toString());
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"127.0.0.1", "::1"})
    void peersOfOnePrefixShareOneBudget(String address) throws Exception {
        List<SendResult> results = new CopyOnWriteArrayList<>();
        try (Server server = start(builder().bindAddress(java.net.InetAddress.getByName(address)).port(0).rateLimit(1).rateLimitBurst(2)
                .datagramHandler((peer, data) -> results.add(peer.send(data))).build());
             Client a = new Client(server.localAddress());
             Client b = new Client(server.localAddress())) { // another port of the same address: the same /24 or /56
            for (int i = 0; i < 2; i++) {
                a.send("a" + i);
                b.send("b" + i);
            }
            await("4 replies tried", results::size, n -> n == 4);
            assertEquals(2, results.stream().filter(r -> r == SendResult.OK).count(), "the prefix's burst of 2: " + results);
            assertEquals(2, server.stats().rateLimited(), server.stats().toString());
        }
    }

    @Test
    void aValidatedPeerIsNotLimited() throws Exception {
        List<SendResult> results = new CopyOnWriteArrayList<>();
        try (Server server = start(builder().bindLoopback().port(0).rateLimit(1).rateLimitBurst(1).amplificationLimit(1)
                .datagramHandler((peer, data) -> {
                    peer.markValidated();
                    assertTrue(peer.validated());
                    assertFalse(peer.overRateLimit());
                    for (int i = 0; i < 4; i++) { // 4x the request: past F = 1 and the burst of 1
                        results.add(peer.send(data));
                    }
                }).build());
             Client client = new Client(server.localAddress())) {
            client.send("cookie");
            await("4 replies", results::size, n -> n == 4);
            assertEquals(List.of(SendResult.OK, SendResult.OK, SendResult.OK, SendResult.OK), results);
            for (int i = 0; i < 4; i++) {
                assertEquals("cookie", client.receive(2000));
            }
            assertEquals(0, server.stats().rateLimited() + server.stats().amplificationLimited());
        }
    }

    /** Answers each datagram with 10 copies of it; "validate" marks the peer validated first. */
    static final class TenCopies implements Handler<Void> {
        final List<SendResult> results = new CopyOnWriteArrayList<>();

        @Override
        public HandlerResult<Void> handleData(Session session, MemorySegment data, Void state) {
            if (new String(data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).equals("validate")) {
                session.markValidated();
            }
            for (int i = 0; i < 10; i++) {
                results.add(session.send(data));
            }
            return HandlerResult.continueWith(state);
        }
    }

    @Test
    void aSessionIsSentAtMostFTimesWhatItSentUntilValidated() throws Exception {
        TenCopies handler = new TenCopies();
        try (Server server = start(builder().bindLoopback().port(0).amplificationLimit(3).handler(handler, null).build());
             Client client = new Client(server.localAddress())) {
            client.send("abcdefgh"); // 8 B in: 24 B may go out, 3 of the 10 copies
            await("10 sends", handler.results::size, n -> n == 10);
            assertEquals(3, handler.results.stream().filter(r -> r == SendResult.OK).count(), handler.results.toString());
            assertEquals(7, handler.results.stream().filter(r -> r == SendResult.LIMITED).count());
            client.send("abcdefgh"); // 16 B in: 48 B, 6 copies in all so far: 3 more
            await("20 sends", handler.results::size, n -> n == 20);
            assertEquals(6, handler.results.stream().filter(r -> r == SendResult.OK).count(), handler.results.toString());
            client.send("validate"); // validated: no limit from now on
            await("30 sends", handler.results::size, n -> n == 30);
            assertEquals(16, handler.results.stream().filter(r -> r == SendResult.OK).count(), handler.results.toString());
            int received = 0;
            while (client.receive(received < 16 ? 2000 : 200) != null) {
                received++;
            }
            assertEquals(16, received);
            Session s = server.session(client.localAddress());
            assertTrue(s != null && s.validated());
            assertEquals(14, server.stats().amplificationLimited(), server.stats().toString());
            assertEquals(0, server.stats().rateLimited());
        }
    }

    @Test
    void withNoLimitConfiguredNothingIsLimited() throws Exception {
        List<RateLimitVerdict> verdicts = new CopyOnWriteArrayList<>();
        try (Server server = start(builder().bindLoopback().port(0)
                .datagramHandler((peer, data) -> {
                    verdicts.add(peer.rateLimit());
                    for (int i = 0; i < 20; i++) {
                        peer.send(data);
                    }
                }).build());
             Client client = new Client(server.localAddress())) {
            client.send("x");
            for (int i = 0; i < 20; i++) {
                assertEquals("x", client.receive(2000));
            }
            assertNull(client.receive(100));
            assertEquals(List.of(RateLimitVerdict.UNDER), verdicts);
            assertEquals(ServerConfig.builder().datagramHandler((p, d) -> { }).build().defences(),
                    new ServerConfig.Defences(0, 1, 2, 24, 56, 0, 0, 1 << 20), "everything off by default");
        }
    }

    /** Echoes; records whose sessions ended by eviction (handleTimeout). */
    static final class Evictions implements Handler<java.net.SocketAddress> {
        final List<java.net.SocketAddress> evicted = new CopyOnWriteArrayList<>();

        @Override
        public HandlerResult<java.net.SocketAddress> handleConnection(Session session, java.net.SocketAddress state) {
            return HandlerResult.continueWith(session.remoteAddress());
        }

        @Override
        public HandlerResult<java.net.SocketAddress> handleData(Session session, MemorySegment data, java.net.SocketAddress state) {
            session.send(data);
            return HandlerResult.continueWith(state);
        }

        @Override
        public void handleTimeout(java.net.SocketAddress state) {
            evicted.add(state);
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(DispatchMode.class)
    void aPrefixAtItsQuotaDisplacesItsOwnOldestSession(DispatchMode mode) throws Exception {
        Evictions handler = new Evictions();
        try (Server server = start(builder().bindLoopback().port(0).numAcceptors(1).dispatchMode(mode).sessionsPerPrefix(2)
                .handler(handler, null).build());
             Client first = new Client(server.localAddress());
             Client second = new Client(server.localAddress());
             Client third = new Client(server.localAddress())) { // all three from 127.0.0.1: one /24
            first.send("1");
            assertEquals("1", first.receive(2000));
            second.send("2");
            assertEquals("2", second.receive(2000));
            third.send("3"); // at the quota: the prefix's oldest, first, makes room
            await("first evicted", () -> handler.evicted, e -> e.size() == 1);
            assertEquals(first.localAddress(), handler.evicted.getFirst());
            if (mode == DispatchMode.INLINE) {
                assertEquals("3", third.receive(2000), "INLINE: the newcomer takes the place at once");
            } else {
                // VIRTUAL_THREADS: the victim ends on its own thread; the newcomer was dropped meanwhile, its next datagram gets in
                await("the victim's place given back", () -> server.sessions(), n -> n == 1);
                third.send("3");
                assertEquals("3", third.receive(2000));
            }
            assertEquals(2, server.sessions(), "the prefix holds its quota");
            assertTrue(server.session(second.localAddress()) != null && server.session(third.localAddress()) != null);
            ServerStats st = server.stats();
            assertEquals(1, st.evicted(), st.toString());
            assertEquals(1, st.prefixQuota(), "the newcomer met the quota once: " + st);
        }
    }
}
