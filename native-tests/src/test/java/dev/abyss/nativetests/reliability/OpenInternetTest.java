package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.FullTablePolicy;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.abyss.nativetests.reliability.Reliability.figures;
import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reliability scenarios of issue 19, on every transport: a server on the open internet is neither a
 * weapon nor a victim.
 *
 * <p><b>Reflection</b>: 100,000 forged requests of 40 B, all naming one victim as their source (sent
 * through one socket with IP_PKTINFO, {@link ManyPeers}), to a stateless server that answers each
 * request with 10 datagrams of its size (10×), with the reply rate limit (200/s, burst 200) and the
 * amplification limit (3×) on. Expected: what the server sends the victim stays within the rate
 * (burst + rate × duration datagrams) and within 3 × the bytes it received; every suppressed reply
 * is counted (past 3 × 40 B of a request by the amplification limit, past the rate by the rate); and a
 * legitimate client in another prefix, which presents a cookie (the handler marks it validated, as a
 * DNS server does with a valid cookie), gets every one of its answers throughout.
 *
 * <p><b>Prefix flood</b>: 50,000 one-shot peers from one prefix against a table of 2,000 with a quota
 * of 200 sessions per prefix (the prefix length set to /16 so that one prefix holds them all: the
 * peers are 127.1.x.y), while 64 peers of 64 other prefixes talk. Expected: none of the 64 is
 * evicted and each gets every echo; the flooding prefix never holds more than 200 sessions; every
 * newcomer over the quota is counted.
 */
@Timeout(300)
class OpenInternetTest {
    private static final int REQUESTS = Reliability.size(100_000, 1_000_000);
    private static final int REQUEST_BYTES = 40;
    private static final int REPLIES_PER_REQUEST = 10;
    private static final int RATE = 200;
    private static final int BURST = 200;
    private static final int FACTOR = 3;
    private static final long COOKIE = 0x636f6f6b69652121L;

    /** Answers each request with 10 copies of it; a request that starts with the cookie validates its peer. */
    private static final DatagramHandler TEN_TIMES = (peer, data) -> {
        if (data.byteSize() >= 8 && data.get(JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0) == COOKIE) {
            peer.markValidated();
        }
        for (int i = 0; i < REPLIES_PER_REQUEST; i++) {
            peer.send(data);
        }
    };

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aForgedFloodReflectsNoMoreThanTheLimitsAllowAndARealClientIsServed(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Server server = Abyss.start(ServerConfig.builder().datagramHandler(TEN_TIMES).transport(kind)
                .bindAddress(InetAddress.getByName("127.0.0.1")).numAcceptors(2)
                .rateLimit(RATE).rateLimitBurst(BURST).amplificationLimit(FACTOR).shutdownTimeout(Duration.ofMillis(200)).build());
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong legitSent = new AtomicLong();
        AtomicLong legitAnswered = new AtomicLong();
        AtomicLong legitLost = new AtomicLong();
        Thread legit = null;
        try (ManyPeers forger = new ManyPeers(server.localAddress());
             DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            client.setSoTimeout(2000);
            legit = Thread.ofPlatform().name("legitimate-client").daemon(true).start(
                    () -> legitimate(client, server.localAddress(), running, legitSent, legitAnswered, legitLost));
            await("the legitimate client's first answer", legitAnswered::get, n -> n > 0);
            long t0 = System.nanoTime();
            long victimDatagrams = 0;
            int burst = 500;
            for (int start = 0; start < REQUESTS; start += burst) {
                int end = Math.min(REQUESTS, start + burst);
                for (int n = start; n < end; n++) {
                    while (!forger.send(0, REQUEST_BYTES)) { // peer 0, 127.1.0.0: the victim
                        victimDatagrams += drain(forger);
                    }
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (System.nanoTime() < deadline && server.stats().datagramsIn() - legitSent.get() < end) {
                    long got = drain(forger);
                    victimDatagrams += got;
                    if (got == 0) {
                        Thread.onSpinWait();
                    }
                }
            }
            running.set(false);
            legit.join(5000);
            // every reply the server tried is sent or counted: 10 per request received
            await("every reply sent or counted", () -> {
                ServerStats s = server.stats();
                return 10 * s.datagramsIn() - (s.datagramsOut() + s.rateLimited() + s.amplificationLimited() + s.sendBatchFull()
                        + s.sendErrors());
            }, d -> d == 0);
            long seconds = System.nanoTime() - t0;
            for (long until = System.nanoTime() + 200_000_000L; System.nanoTime() < until; ) {
                victimDatagrams += drain(forger); // the last replies on their way
            }
            ServerStats st = server.stats();
            long forgedIn = st.datagramsIn() - legitSent.get();
            long toVictim = st.datagramsOut() - REPLIES_PER_REQUEST * legitSent.get();
            double duration = seconds / 1e9;
            long rateAllows = BURST + (long) Math.ceil(RATE * duration);
            figures("reflection", "%s: %,d forged requests of %d B in %.2f s (%,d received), %d replies each: %,d sent to the victim "
                            + "(%,d B; the rate allows %,d, 3x allows %,d B), %,d received there; rateLimited %,d, amplificationLimited %,d; "
                            + "legitimate client: %,d requests, %,d answered in full, %d lost",
                    kind, REQUESTS, REQUEST_BYTES, duration, forgedIn, REPLIES_PER_REQUEST, toVictim, toVictim * REQUEST_BYTES, rateAllows,
                    FACTOR * REQUEST_BYTES * forgedIn, victimDatagrams, st.rateLimited(), st.amplificationLimited(),
                    legitSent.get(), legitAnswered.get(), legitLost.get());
            assertTrue(forgedIn > REQUESTS / 2, "the flood reached the server: " + st);
            assertTrue(toVictim <= rateAllows, "the victim got at most burst + rate x duration = " + rateAllows + ": " + toVictim);
            assertTrue(toVictim * REQUEST_BYTES <= (long) FACTOR * REQUEST_BYTES * forgedIn, "and at most 3x what was received");
            assertTrue(victimDatagrams <= toVictim, "the victim received no more than was sent to it: " + victimDatagrams);
            assertEquals(REPLIES_PER_REQUEST * forgedIn - toVictim, st.rateLimited() + st.amplificationLimited(),
                    "every reply to the victim not sent was counted, by cause: " + st);
            assertTrue(st.amplificationLimited() > 0, "replies past 3 x 40 B of a request were held back: " + st);
            assertEquals(0, st.sendBatchFull() + st.sendErrors(), "no send refused otherwise: " + st);
            assertEquals(0, legitLost.get(), "the legitimate client lost nothing");
            assertEquals(legitSent.get(), legitAnswered.get(), "and got every answer in full");
        } finally {
            running.set(false);
            server.stop(Duration.ZERO);
        }
    }

    /** Sends a 40 B request with the cookie every 5 ms and waits for its 10 answers (2 s patience each). */
    private static void legitimate(DatagramSocket s, SocketAddress server, AtomicBoolean running, AtomicLong sent,
                                   AtomicLong answered, AtomicLong lost) {
        byte[] out = new byte[REQUEST_BYTES];
        byte[] in = new byte[2048];
        DatagramPacket reply = new DatagramPacket(in, in.length);
        long seq = 0;
        try {
            while (running.get()) {
                seq++;
                ByteBuffer.wrap(out).putLong(COOKIE).putLong(seq);
                s.send(new DatagramPacket(out, out.length, server));
                sent.incrementAndGet();
                int got = 0;
                while (got < REPLIES_PER_REQUEST) {
                    try {
                        reply.setLength(in.length);
                        s.receive(reply);
                    } catch (SocketTimeoutException e) {
                        lost.incrementAndGet();
                        break;
                    }
                    if (reply.getLength() == REQUEST_BYTES && ByteBuffer.wrap(in).getLong(8) == seq) {
                        got++;
                    }
                }
                if (got == REPLIES_PER_REQUEST) {
                    answered.incrementAndGet();
                }
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
            }
        } catch (java.io.IOException e) {
            lost.incrementAndGet();
        }
    }

    private static long drain(ManyPeers peers) {
        long n = 0;
        while (peers.receive() >= 0) {
            n++;
        }
        return n;
    }

    // ---- prefix flood ------------------------------------------------------------------------------

    private static final int FLOOD_PEERS = Reliability.size(50_000, 65_000);
    private static final int TABLE = 2_000;
    private static final int QUOTA = 200;
    private static final int TALKERS = 64;

    /** Echoes; counts the flooding prefix's live sessions (127.1.x.y) and remembers any other peer's session that ended. */
    private static final class QuotaEcho implements Handler<SocketAddress> {
        final AtomicInteger floodLive = new AtomicInteger();
        final AtomicInteger maxFloodLive = new AtomicInteger();
        final Set<SocketAddress> othersEnded = ConcurrentHashMap.newKeySet();

        private static boolean flooding(SocketAddress a) {
            return ((InetSocketAddress) a).getAddress().getAddress()[1] == 1;
        }

        @Override
        public HandlerResult<SocketAddress> handleConnection(Session session, SocketAddress state) {
            if (flooding(session.remoteAddress())) {
                maxFloodLive.accumulateAndGet(floodLive.incrementAndGet(), Math::max);
            }
            return HandlerResult.continueWith(session.remoteAddress());
        }

        @Override
        public HandlerResult<SocketAddress> handleData(Session session, MemorySegment data, SocketAddress state) {
            session.send(data);
            return HandlerResult.continueWith(state);
        }

        @Override
        public void handleTimeout(SocketAddress peer) { // an eviction
            if (flooding(peer)) {
                floodLive.decrementAndGet();
            } else {
                othersEnded.add(peer);
            }
        }

        @Override
        public void handleClose(SocketAddress peer) {
            handleTimeout(peer);
        }

        @Override
        public void handleError(Object reason, SocketAddress peer) {
            handleTimeout(peer);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aFloodingPrefixKeepsToItsQuotaAndEvictsNoOtherPrefix(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        QuotaEcho echo = new QuotaEcho();
        Server server = Abyss.start(ServerConfig.builder().handler(echo, null).transport(kind)
                .bindAddress(InetAddress.getByName("127.0.0.1")).numAcceptors(2).numConnections(TABLE)
                .fullTablePolicy(FullTablePolicy.EVICT).sessionsPerPrefix(QUOTA).sourcePrefixLengths(16, 56)
                .readTimeout(Duration.ofMinutes(10)).shutdownTimeout(Duration.ofMillis(200))
                .inlineCallbackLimit(Duration.ofSeconds(30)).build());
        try (ManyPeers peers = new ManyPeers(server.localAddress())) {
            long[] talkerSent = new long[TALKERS];
            long[] talkerAnswered = new long[TALKERS];
            long talkersTotal = 0;
            long t0 = System.nanoTime();
            int burst = 200;
            for (int start = 0; start < FLOOD_PEERS; start += burst) {
                int end = Math.min(FLOOD_PEERS, start + burst);
                for (int n = start; n < end; n++) { // peer n < 65,536: 127.1.x.y, one /16
                    while (!peers.send(n, 32)) {
                        receive(peers, talkerAnswered);
                    }
                }
                for (int k = 0; k < TALKERS; k++) { // one request from each talker per burst: 127.(2 + k).0.0
                    while (!peers.send(talker(k), 32)) {
                        receive(peers, talkerAnswered);
                    }
                    talkerSent[k]++;
                    talkersTotal++;
                }
                long want = end + talkersTotal;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                while (System.nanoTime() < deadline && server.stats().datagramsIn() < want) {
                    if (!receive(peers, talkerAnswered)) {
                        Thread.onSpinWait();
                    }
                }
            }
            long floodNanos = System.nanoTime() - t0;
            long total = talkersTotal;
            // each socket delivers in order, and the talkers' last requests went after the last flood datagrams (on
            // both acceptors: 64 talkers spread over them), so once they are answered the flood has been dealt with
            await("every talker's echo back", () -> {
                receive(peers, talkerAnswered);
                long n = 0;
                for (long a : talkerAnswered) {
                    n += a;
                }
                return n;
            }, n -> n >= total);
            ServerStats st = server.stats();
            figures("prefix-flood", "%s: %,d one-shot peers of one prefix in %d ms against a table of %,d, quota %d per prefix, while %d "
                            + "peers of %d other prefixes talked (%,d exchanges): most sessions of the flooding prefix at once %d; "
                            + "prefixQuota %,d, evicted %,d, kernelDrops %d; other prefixes' sessions ended %d",
                    kind, FLOOD_PEERS, floodNanos / 1_000_000, TABLE, QUOTA, TALKERS, TALKERS, total, echo.maxFloodLive.get(),
                    st.prefixQuota(), st.evicted(), st.kernelDrops(), echo.othersEnded.size());
            assertEquals(Set.of(), echo.othersEnded, "no session of another prefix ended");
            for (int k = 0; k < TALKERS; k++) {
                assertEquals(talkerSent[k], talkerAnswered[k], "talker " + k + " got every echo");
                assertTrue(server.session(dev.abyss.loopback.LoopbackPeers.peer(talker(k), peersPort(peers))) != null,
                        "talker " + k + " keeps its session");
            }
            assertTrue(echo.maxFloodLive.get() <= QUOTA, "the flooding prefix never held more than " + QUOTA + ": "
                    + echo.maxFloodLive.get());
            long floodIn = st.datagramsIn() - total;
            long floodOpened = st.sessionsOpened() - TALKERS;
            // a newcomer either got a session (its prefix's own place, or its oldest's: counted) or was dropped (counted);
            // one that found a place just freed by another acceptor's displacement met no quota and is not counted
            assertTrue(st.prefixQuota() >= floodIn - floodOpened, "every newcomer without a session counted: " + st);
            assertTrue(st.prefixQuota() >= floodIn - QUOTA - floodIn / 100, "nearly every newcomer past the quota met it: " + st);
            assertTrue(st.evicted() <= st.prefixQuota(), "evictions only for newcomers of the flooding prefix: " + st);
            assertTrue(floodOpened - st.evicted() <= QUOTA, "the flooding prefix's sessions left: at most its quota: " + st);
            assertTrue(server.sessions() <= QUOTA + TALKERS, "the table holds the quota and the talkers: " + server.sessions());
            assertEquals(0, st.droppedTableFull(), "the table never filled: " + st);
        } finally {
            server.stop(Duration.ZERO);
        }
    }

    /** Talker k: 127.(2 + k).0.0, a prefix of its own. */
    private static int talker(int k) {
        return 65_536 * (k + 1);
    }

    private static int peersPort(ManyPeers peers) {
        return peers.port();
    }

    /** Reads the replies waiting: the talkers' are counted, the flood's dropped. */
    private static boolean receive(ManyPeers peers, long[] talkerAnswered) {
        boolean any = false;
        for (int n; (n = peers.receive()) >= 0; ) {
            any = true;
            if (n >= 65_536 && n % 65_536 == 0) {
                talkerAnswered[n / 65_536 - 1]++;
            }
        }
        return any;
    }
}
