package dev.abyss.server;

import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;
import dev.abyss.server.transport.SendControl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Datagram control, seen from real sockets on both sides: the TOS / traffic class a peer sent
 * (ECN bits included) and the one a reply carries, kernel receive timestamps, replies sent as GSO
 * segments and coalesced receives split again (GRO), all through {@link DatagramInfo} and the
 * send API. A transport without {@link Capability#DATAGRAM_CONTROL} (NIO) reads no control messages:
 * there every fact reads as unknown and a segmented send is plain datagrams, which its own case checks.
 */
@Timeout(60)
class DatagramControlTest extends TransportSuite {
    private static final int CLIENT_TOS = 0x28 | DatagramInfo.ECT_0; // AF11 with ECT(0)
    private static final int REPLY_TOS = 0x28 | DatagramInfo.ECT_1;

    /** What a handler saw of each datagram. */
    private record Seen(String text, int trafficClass, int ecn, long timestampNanos, int segmentSize, int length,
                        SocketAddress destination) {
        static Seen of(MemorySegment data, DatagramInfo info) {
            return new Seen(new String(data.toArray(JAVA_BYTE), java.nio.charset.StandardCharsets.ISO_8859_1), info.trafficClass(),
                    info.ecn(), info.timestampNanos(), info.segmentSize(), (int) data.byteSize(), info.destination());
        }
    }

    /**
     * Records what it saw of each datagram; echoes short ones (not "quiet...") with REPLY_TOS;
     * "bulk:N:S" replies with N bytes as S-byte segments.
     */
    private static final class Recording implements Handler<Object> {
        final BlockingQueue<Seen> seen = new ArrayBlockingQueue<>(10_000);

        @Override
        public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
            Seen s = Seen.of(data, session.datagram());
            seen.add(s);
            if (s.text().startsWith("bulk:")) {
                String[] p = s.text().split(":");
                int length = Integer.parseInt(p[1]);
                MemorySegment out = MemorySegment.ofArray(pattern(length));
                session.sendSegments(out, 0, length, Integer.parseInt(p[2]));
            } else if (s.length() < 100 && !s.text().startsWith("quiet")) { // short texts are echoed
                session.setTrafficClass(REPLY_TOS);
                session.send(data);
            }
            return HandlerResult.continueWith(state);
        }
    }

    private static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 7 + i / 251);
        }
        return b;
    }

    private ServerConfig.Builder at(String host) throws Exception {
        return builder().bindAddress(InetAddress.getByName(host)).numAcceptors(1).shutdownTimeout(Duration.ZERO);
    }

    private static DatagramChannel client(String host, int tos) throws Exception {
        DatagramChannel c = DatagramChannel.open(host.contains(":") ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        c.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        c.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
        if (tos >= 0) {
            c.setOption(StandardSocketOptions.IP_TOS, tos); // IPV6_TCLASS on an IPv6 channel
        }
        c.socket().setSoTimeout(5000);
        return c;
    }

    private static byte[] receive(DatagramChannel c) throws Exception {
        java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[65_536], 65_536);
        c.socket().receive(p);
        return java.util.Arrays.copyOf(p.getData(), p.getLength());
    }

    private static Seen next(BlockingQueue<Seen> q) throws InterruptedException {
        Seen s = q.poll(5, TimeUnit.SECONDS);
        assertNotNull(s, "no datagram reached the handler within 5 s");
        return s;
    }

    // ---- TOS / traffic class, ECN ----------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void theTrafficClassOfEachDatagramIsReadAndARepliesIsSet(String host) throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        Recording server = new Recording();
        List<Seen> repliesSeen = new CopyOnWriteArrayList<>();
        try (Server s = start(at(host).handler(server).receiveTrafficClass(true).build());
             Server peer = start(at(host).receiveTrafficClass(true)
                     .datagramHandler((p, data) -> repliesSeen.add(Seen.of(data, p.datagram()))).build());
             DatagramChannel c = client(host, CLIENT_TOS)) {
            c.send(ByteBuffer.wrap("marked".getBytes()), s.localAddress());
            Seen in = next(server.seen);
            assertEquals(CLIENT_TOS, in.trafficClass(), "the TOS the client's socket set");
            assertEquals(DatagramInfo.ECT_0, in.ecn());
            assertEquals("marked", new String(receive(c)));

            // the reply's traffic class, read by a second server as its peer
            assertEquals(SendResult.OK, peer.send(s.localAddress(), MemorySegment.ofArray("from-peer".getBytes())));
            assertEquals(0, next(server.seen).trafficClass(), "the peer server's sockets send with the default");
            await("the reply reaches the peer server", repliesSeen::size, n -> n == 1);
            assertEquals(REPLY_TOS, repliesSeen.getFirst().trafficClass(), "session.setTrafficClass marks the reply");
            assertEquals(DatagramInfo.ECT_1, repliesSeen.getFirst().ecn());
        }
    }

    @Test
    void aStatelessReplyCarriesTheTrafficClassItWasGivenAndOnlyIt() throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        List<Seen> repliesSeen = new CopyOnWriteArrayList<>();
        try (Server s = start(at("127.0.0.1").datagramHandler((p, data) -> {
                    if (data.byteSize() == 3) { // "tos": marked; anything else: the default
                        p.setTrafficClass(DatagramInfo.CE);
                    }
                    p.send(data);
                }).build());
             Server peer = start(at("127.0.0.1").receiveTrafficClass(true)
                     .datagramHandler((p, data) -> repliesSeen.add(Seen.of(data, p.datagram()))).build())) {
            peer.send(s.localAddress(), MemorySegment.ofArray("tos".getBytes()));
            await("the marked reply", repliesSeen::size, n -> n == 1);
            peer.send(s.localAddress(), MemorySegment.ofArray("plain".getBytes()));
            await("the plain reply", repliesSeen::size, n -> n == 2);
            assertEquals(DatagramInfo.CE, repliesSeen.get(0).trafficClass());
            assertEquals(0, repliesSeen.get(1).trafficClass(), "a new callback starts with the socket's default");
        }
    }

    @Test
    void aTrafficClassOnAnAfUnixSocketIsIgnored(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        assumeSupports(Capability.AF_UNIX);
        try (Server s = start(builder().numAcceptors(1).shutdownTimeout(Duration.ZERO).bindUnix(dir.resolve("s.sock").toString())
                .datagramHandler((p, data) -> {
                    p.setTrafficClass(DatagramInfo.ECT_0); // no TOS on AF_UNIX: ignored, the reply still goes
                    p.send(data);
                }).build());
             Client c = new Client(s.localAddress())) {
            c.send("unix");
            assertEquals("unix", c.receive(5_000));
            assertEquals(0, s.stats().handlerErrors());
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(DispatchMode.class)
    void aSendCarriesTheTrafficClassSetWhenItWasMadeFromAnyThread(DispatchMode mode) throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        List<Seen> repliesSeen = new CopyOnWriteArrayList<>();
        try (Server s = start(at("127.0.0.1").dispatchMode(mode).handler(new Handler<>() {
                    @Override
                    public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                        Thread.ofVirtual().start(() -> { // another thread: through the send queue in both modes
                            for (int i = 0; i < 20; i++) {
                                session.setTrafficClass(i % 2 == 0 ? DatagramInfo.ECT_0 : -1);
                                session.send(MemorySegment.ofArray(new byte[]{(byte) i}));
                            }
                        });
                        return HandlerResult.continueWith(state);
                    }
                }).build());
             Server peer = start(at("127.0.0.1").receiveTrafficClass(true)
                     .datagramHandler((p, data) -> repliesSeen.add(Seen.of(data, p.datagram()))).build())) {
            peer.send(s.localAddress(), MemorySegment.ofArray("go".getBytes()));
            await("20 replies", repliesSeen::size, n -> n == 20);
            for (Seen r : repliesSeen) {
                int i = r.text().charAt(0);
                assertEquals(i % 2 == 0 ? DatagramInfo.ECT_0 : 0, r.trafficClass(), "datagram " + i + " left with the class set before it");
            }
        }
    }

    @Test
    void virtualThreadSessionsSeeTheFactsOfTheirOwnDatagram() throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        Recording server = new Recording();
        try (Server s = start(at("127.0.0.1").handler(server).dispatchMode(DispatchMode.VIRTUAL_THREADS)
                .receiveTrafficClass(true).receiveTimestamps(true).build());
             DatagramChannel c = client("127.0.0.1", CLIENT_TOS)) {
            for (int i = 0; i < 3; i++) {
                c.send(ByteBuffer.wrap(("quiet" + i).getBytes()), s.localAddress());
            }
            for (int i = 0; i < 3; i++) {
                Seen in = next(server.seen);
                assertEquals("quiet" + i, in.text());
                assertEquals(CLIENT_TOS, in.trafficClass());
                assertTrue(in.timestampNanos() > 0, "a timestamp travels with the copy");
            }
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(DispatchMode.class)
    void handleConnectionSeesTheFirstDatagramsFactsAndOnlyDuringCallbacks(DispatchMode mode) throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        BlockingQueue<Integer> connections = new ArrayBlockingQueue<>(4);
        try (Server s = start(at("127.0.0.1").dispatchMode(mode).receiveTrafficClass(true).handler(new Handler<>() {
                    @Override
                    public HandlerResult<Object> handleConnection(Session session, Object state) {
                        connections.add(session.datagram().trafficClass());
                        return HandlerResult.continueWith(state);
                    }

                    @Override
                    public HandlerResult<Object> handleMessage(Session session, Object message, Object state) {
                        connections.add(session.datagram().trafficClass()); // not a datagram's callback
                        return HandlerResult.continueWith(state);
                    }
                }).build());
             DatagramChannel c = client("127.0.0.1", CLIENT_TOS)) {
            c.send(ByteBuffer.wrap("first".getBytes()), s.localAddress());
            assertEquals(CLIENT_TOS, connections.poll(5, TimeUnit.SECONDS));
            SocketAddress from = c.getLocalAddress();
            await("the session", () -> s.session(from), java.util.Objects::nonNull);
            assertTrue(s.session(from).post("tick"));
            assertEquals(-1, connections.poll(5, TimeUnit.SECONDS), "outside a datagram's callback every fact reads as unknown");
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(DispatchMode.class)
    void eachDatagramNamesTheAddressItWasSentTo(DispatchMode mode) throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        Recording server = new Recording();
        try (Server s = start(builder().numAcceptors(1).shutdownTimeout(Duration.ZERO).bindAny().dispatchMode(mode)
                .handler(server).build());
             DatagramChannel c = client("127.0.0.1", -1)) {
            int port = ((InetSocketAddress) s.localAddress()).getPort();
            c.send(ByteBuffer.wrap("quiet-a".getBytes()), new InetSocketAddress("127.0.0.5", port));
            c.send(ByteBuffer.wrap("quiet-b".getBytes()), new InetSocketAddress("127.0.0.1", port));
            assertEquals(new InetSocketAddress("127.0.0.5", port), next(server.seen).destination());
            assertEquals(new InetSocketAddress("127.0.0.1", port), next(server.seen).destination(),
                    "the second datagram of the same session came to another address");
            assertEquals(new InetSocketAddress("127.0.0.5", port), s.session(c.getLocalAddress()).localAddress(),
                    "the session answers from its first address");
        }
    }

    @Test
    void factsNotAskedForReadAsUnknown() throws Exception {
        Recording server = new Recording();
        try (Server s = start(at("127.0.0.1").handler(server).gro(false).build());
             DatagramChannel c = client("127.0.0.1", CLIENT_TOS)) {
            c.send(ByteBuffer.wrap("quiet".getBytes()), s.localAddress());
            Seen in = next(server.seen);
            assertEquals(-1, in.trafficClass());
            assertEquals(-1, in.ecn());
            assertEquals(-1, in.timestampNanos());
            assertEquals(0, in.segmentSize());
            assertEquals(null, in.destination(), "a specific bind: the destination is the bound address, not read");
        }
    }

    @Test
    void aBadTrafficClassOrSegmentSizeIsRefusedNamingIt() throws Exception {
        BlockingQueue<String> errors = new ArrayBlockingQueue<>(4);
        try (Server s = start(at("127.0.0.1").datagramHandler((p, data) -> {
                    errors.add(assertThrows(IllegalArgumentException.class, () -> p.setTrafficClass(256)).getMessage());
                    errors.add(assertThrows(IllegalArgumentException.class,
                            () -> p.sendSegments(data, 0, data.byteSize(), 0)).getMessage());
                }).build());
             DatagramChannel c = client("127.0.0.1", -1)) {
            c.send(ByteBuffer.wrap("x".getBytes()), s.localAddress());
            String tos = errors.poll(5, TimeUnit.SECONDS);
            String segment = errors.poll(5, TimeUnit.SECONDS);
            assertNotNull(tos);
            assertTrue(tos.contains("trafficClass") && tos.contains("256"), tos);
            assertNotNull(segment);
            assertTrue(segment.contains("segmentSize") && segment.contains("was 0"), segment);
        }
    }

    @Test
    void theReflectorExampleReportsWhatTheKernelSaidAndAnswersBulkRequestsInSegments() throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        try (Server s = start(at("127.0.0.1").datagramHandler(new dev.abyss.server.examples.Reflector())
                .receiveTrafficClass(true).receiveTimestamps(true).build());
             DatagramChannel c = client("127.0.0.1", CLIENT_TOS)) {
            c.send(ByteBuffer.wrap("hello".getBytes()), s.localAddress());
            ByteBuffer report = ByteBuffer.wrap(receive(c));
            assertEquals(16, report.remaining());
            assertEquals(CLIENT_TOS, report.getInt(0), "the request's traffic class");
            long waited = report.getLong(4);
            // microseconds on an idle machine; a wrong clock or sign is off by years: 10 s leaves room for load
            assertTrue(waited >= 0 && waited < TimeUnit.SECONDS.toNanos(10), "time in the socket: " + waited);
            assertEquals(0, report.getInt(12), "not a coalesced receive");
            c.send(ByteBuffer.allocate(5).put(0, (byte) 'B').putInt(1, 20), s.localAddress());
            for (int i = 0; i < 20; i++) {
                assertEquals(dev.abyss.server.examples.Reflector.BULK_SEGMENT, receive(c).length, "bulk datagram " + i);
            }
            await("20 segments in GSO sends", s::stats, st -> st.gsoSegments() == 20);
        }
    }

    // ---- timestamps ----------------------------------------------------------------------------

    @Test
    void kernelReceiveTimestampsFallBetweenTheSendAndTheCallback() throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        Recording server = new Recording();
        List<Long> handled = new CopyOnWriteArrayList<>();
        try (Server s = start(at("127.0.0.1").handler(new Handler<>() {
                    @Override
                    public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                        Instant now = Instant.now();
                        handled.add(now.getEpochSecond() * 1_000_000_000L + now.getNano());
                        return server.handleData(session, data, state);
                    }
                }).receiveTimestamps(true).build());
             DatagramChannel c = client("127.0.0.1", -1)) {
            Instant before = Instant.now();
            c.send(ByteBuffer.wrap("quiet".getBytes()), s.localAddress());
            Seen in = next(server.seen);
            long sent = before.getEpochSecond() * 1_000_000_000L + before.getNano();
            long slack = TimeUnit.MILLISECONDS.toNanos(2); // Instant.now's resolution against the kernel's clock
            assertTrue(in.timestampNanos() >= sent - slack && in.timestampNanos() <= handled.getFirst() + slack,
                    "kernel timestamp " + in.timestampNanos() + " between the send " + sent + " and the callback " + handled.getFirst());
        }
    }

    // ---- GSO -----------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aSegmentedReplyArrivesAsItsDatagramsWithOrWithoutGso(boolean gso) throws Exception {
        if (gso) {
            assumeSupports(Capability.DATAGRAM_CONTROL); // build() refuses gso(true) with NIO
        }
        Recording server = new Recording();
        try (Server s = start(at("127.0.0.1").handler(server).gso(gso).build());
             DatagramChannel c = client("127.0.0.1", -1)) {
            int length = 10 * 1_000 + 500;
            c.send(ByteBuffer.wrap(("bulk:" + length + ":1000").getBytes()), s.localAddress());
            byte[] all = pattern(length);
            for (int i = 0; i < 11; i++) {
                byte[] d = receive(c);
                int expected = i < 10 ? 1_000 : 500;
                assertEquals(expected, d.length, "datagram " + i + "'s size");
                assertTrue(java.util.Arrays.equals(all, i * 1_000, i * 1_000 + expected, d, 0, expected), "datagram " + i + "'s bytes");
            }
            await("11 datagrams counted out", s::stats, st -> st.datagramsOut() == 11);
            boolean coalesces = gso && supports(Capability.DATAGRAM_CONTROL);
            assertEquals(coalesces ? 1 : 0, s.stats().gsoSends(), "kernel sends with UDP_SEGMENT: " + s.stats());
            assertEquals(coalesces ? 11 : 0, s.stats().gsoSegments());
        }
    }

    @Test
    void gsoSegmentsFromOneCallbackToSeveralPeersDoNotMix() throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        try (Server s = start(at("127.0.0.1").datagramHandler((p, data) -> {
                    p.sendSegments(data, 0, data.byteSize(), 100); // 3 x 100 + 40 each
                }).build());
             DatagramChannel a = client("127.0.0.1", -1); DatagramChannel b = client("127.0.0.1", -1)) {
            byte[] pa = pattern(340);
            byte[] pb = pattern(340);
            pb[0] = 99;
            a.send(ByteBuffer.wrap(pa), s.localAddress());
            b.send(ByteBuffer.wrap(pb), s.localAddress());
            for (DatagramChannel c : List.of(a, b)) {
                byte[] whole = c == a ? pa : pb;
                ByteBuffer got = ByteBuffer.allocate(340);
                for (int i = 0; i < 4; i++) {
                    got.put(receive(c));
                }
                assertTrue(java.util.Arrays.equals(whole, got.array()), "each peer gets its own bytes back in order");
            }
        }
    }

    @Test
    void segmentedRepliesThroughASmallSendBufferAreEachSentOrCounted() throws Exception {
        int peers = 8;
        int requests = 5;
        int replies = 64; // 54 + 10 segments: two GSO sends per request
        MemorySegment bulk = Arena.ofAuto().allocate((long) replies * 1_200);
        try (Server s = start(at("127.0.0.1").sendBufferSize(8 * 1024).receiveBatchSize(8).datagramHandler((p, data) ->
                p.sendSegments(bulk, 0, bulk.byteSize(), 1_200)).build())) {
            List<DatagramChannel> clients = new ArrayList<>();
            try {
                for (int i = 0; i < peers; i++) {
                    DatagramChannel c = client("127.0.0.1", -1);
                    c.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
                    clients.add(c);
                }
                for (int r = 0; r < requests; r++) {
                    for (DatagramChannel c : clients) {
                        c.send(ByteBuffer.wrap(new byte[]{1}), s.localAddress());
                    }
                }
                long attempted = (long) peers * requests * replies;
                await("every datagram sent or counted", s::stats, st -> st.datagramsOut() + st.sendBatchFull() + st.sendErrors() == attempted);
                long received = 0;
                for (DatagramChannel c : clients) {
                    c.configureBlocking(false);
                    ByteBuffer b = ByteBuffer.allocate(2_048);
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                    long got = 0;
                    while (got < (long) requests * replies && System.nanoTime() < deadline) {
                        b.clear();
                        if (c.receive(b) != null) {
                            assertEquals(1_200, b.position(), "a whole segment");
                            got++;
                        }
                    }
                    received += got;
                }
                assertEquals(s.stats().datagramsOut(), received, "what was counted out arrived, once: " + s.stats());
            } finally {
                for (DatagramChannel c : clients) {
                    c.close();
                }
            }
        }
    }

    // ---- GRO -----------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aCoalescedReceiveIsSplitAtItsSegmentSize(boolean gro) throws Exception {
        assumeSupports(Capability.DATAGRAM_CONTROL);
        Recording server = new Recording();
        try (Server s = start(at("127.0.0.1").handler(server).gro(gro).build())) {
            int length = 8 * 1_000 + 300;
            byte[] bytes = pattern(length);
            sendGso(s.localAddress(), bytes, 1_000);
            for (int i = 0; i < 9; i++) {
                Seen in = next(server.seen);
                int expected = i < 8 ? 1_000 : 300;
                assertEquals(expected, in.length(), "datagram " + i);
                byte[] want = java.util.Arrays.copyOfRange(bytes, i * 1_000, i * 1_000 + expected);
                assertEquals(new String(want, java.nio.charset.StandardCharsets.ISO_8859_1), in.text(), "datagram " + i + "'s bytes");
                assertEquals(gro ? 1_000 : 0, in.segmentSize(), "datagram " + i + "'s GRO segment size");
            }
            assertEquals(9, s.stats().datagramsIn());
            assertEquals(gro ? 1 : 0, s.stats().groReceives(), "loopback hands a GSO send to a GRO socket whole: " + s.stats());
            assertEquals(gro ? 9 : 0, s.stats().groSegments());
        }
    }

    /** Sends {@code bytes} to {@code to} as one UDP_SEGMENT send of {@code segment}-byte datagrams, from a raw socket. */
    private static void sendGso(SocketAddress to, byte[] bytes, int segment) throws Exception {
        int fd = Sockets.openDatagram(SockAddr.familyOf(to), false);
        try (Arena arena = Arena.ofConfined()) {
            MessageBatch out = new MessageBatch(arena, 1, 65_536, SendControl.SEGMENT_SPACE);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, out.data(), out.dataOffset(0), bytes.length);
            int control = SendControl.writeSegment(out.controls(), out.controlOffset(0), segment);
            out.prepareSend(0, bytes.length, new PeerKey().set(to).writeTo(out.names(), out.nameOffset(0)), control);
            assertEquals(1, out.send(fd, 0, 1, 0), "the GSO send");
        } finally {
            Sockets.close(fd);
        }
    }

    @Test
    void withoutDatagramControlNoFactIsReadAndSegmentsLeaveAsPlainDatagrams() throws Exception {
        assumeLacks(Capability.DATAGRAM_CONTROL); // NIO's case
        Recording server = new Recording();
        // asking NIO for the facts is refused by build() (ServerConfigTest): by default they read as -1
        try (Server s = start(at("127.0.0.1").handler(server).build());
             DatagramChannel c = client("127.0.0.1", CLIENT_TOS)) {
            c.send(ByteBuffer.wrap("quiet".getBytes()), s.localAddress());
            Seen in = next(server.seen);
            assertEquals(-1, in.trafficClass(), "documented: " + transport() + " reads no TOS");
            assertEquals(-1, in.timestampNanos(), "documented: " + transport() + " reads no timestamps");
            List<Integer> sizes = new ArrayList<>();
            c.send(ByteBuffer.wrap("bulk:2500:1000".getBytes()), s.localAddress());
            for (int i = 0; i < 3; i++) {
                sizes.add(receive(c).length);
            }
            assertEquals(List.of(1_000, 1_000, 500), sizes);
        }
    }
}
