package dev.abyss.server.transport;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.TransportKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The transport contract, the same for every transport, driven through its factory with a
 * recording sink (no engine): receive with the sender's key, a send result per tag, a wake-up
 * ending a blocking poll, stop receiving while sending goes on, close freeing the port, a burst
 * larger than the receive buffers, truncation, send results settled outside send(). All calls on
 * the test thread (io_uring's single issuer).
 */
@Timeout(60)
class TransportContractTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private static void assumeAvailable(TransportKind kind) {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable here: " + why);
    }

    private Transport open(TransportKind kind, String host, int maxDatagram, int batch, RecordingSink sink) throws IOException {
        Transport t = Transports.select(kind).open(new TransportSettings(batch, maxDatagram, 0, 0, true, false),
                new InetSocketAddress(InetAddress.getByName(host), 0), true, true, sink, sink);
        open.add(t);
        return t;
    }

    private DatagramChannel client(String host) throws IOException {
        DatagramChannel c = DatagramChannel.open(host.contains(":") ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
        c.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        open.add(c);
        return c;
    }

    private static void pollUntil(Transport t, BooleanSupplier done, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 5 s: " + what);
            }
            t.poll(10_000_000L);
        }
    }

    /** {@code c} sends {@code text} to {@code t}; returns its key as the transport reported it. */
    private static PeerKey firstPeer(Transport t, RecordingSink sink, DatagramChannel c, String text) throws IOException {
        c.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), t.localAddress());
        pollUntil(t, () -> sink.received.size() == 1, "the first datagram");
        return sink.senders.getFirst();
    }

    private static String receive(DatagramChannel c) throws IOException {
        c.configureBlocking(true);
        c.socket().setSoTimeout(5000);
        ByteBuffer b = ByteBuffer.allocate(100);
        c.socket().receive(new java.net.DatagramPacket(b.array(), 100));
        return new String(b.array(), StandardCharsets.UTF_8).trim();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void receivesWithTheSendersKeyAndReportsEachSendByItsTag(TransportKind kind) throws Exception {
        assumeAvailable(kind);
        for (String host : List.of("127.0.0.1", "::1")) {
            RecordingSink sink = new RecordingSink();
            Transport t = open(kind, host, 2048, 64, sink);
            DatagramChannel c = client(host);
            c.send(ByteBuffer.wrap("ping".getBytes(StandardCharsets.UTF_8)), t.localAddress());
            pollUntil(t, () -> sink.received.size() == 1, "the datagram arrives");
            assertEquals("ping", sink.received.getFirst());
            assertEquals(new PeerKey().set(c.getLocalAddress()), sink.senders.getFirst(), "keyed by its sender");
            MemorySegment reply = MemorySegment.ofArray("xxpong".getBytes(StandardCharsets.UTF_8));
            assertTrue(t.send("tag-1", sink.senders.getFirst(), reply, 2, 4), "queued");
            t.flush();
            pollUntil(t, () -> sink.sent.contains("tag-1"), "its result, by tag");
            assertEquals("pong", receive(c));
            assertEquals(List.of(), sink.failed);
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aWakeupFromAnotherThreadEndsABlockingPoll(TransportKind kind) throws Exception {
        assumeAvailable(kind);
        RecordingSink sink = new RecordingSink();
        Transport t = open(kind, "127.0.0.1", 2048, 64, sink);
        t.poll(0); // the owner's first turn (io_uring: the ring's issuer is this thread)
        Thread waker = Thread.ofPlatform().start(t::wakeup);
        waker.join();
        long start = System.nanoTime();
        int work = t.poll(-1); // returns thanks to the wake-up, or the @Timeout fails the test
        assertTrue(work >= 1, "the wake-up is work done: " + work);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void stopReceivingKeepsSendingAndCloseFreesThePort(TransportKind kind) throws Exception {
        assumeAvailable(kind);
        RecordingSink sink = new RecordingSink();
        Transport t = open(kind, "127.0.0.1", 2048, 64, sink);
        DatagramChannel c = client("127.0.0.1");
        PeerKey peer = firstPeer(t, sink, c, "one");
        t.stopReceiving();
        c.send(ByteBuffer.wrap("two".getBytes(StandardCharsets.UTF_8)), t.localAddress());
        assertTrue(t.send("after-stop", peer, MemorySegment.ofArray("still".getBytes(StandardCharsets.UTF_8)), 0, 5));
        t.flush();
        pollUntil(t, () -> sink.sent.contains("after-stop"), "sending goes on");
        assertEquals("still", receive(c));
        for (int i = 0; i < 5; i++) {
            t.poll(10_000_000L);
        }
        assertEquals(List.of("one"), sink.received, "nothing received after stopReceiving");
        InetSocketAddress at = (InetSocketAddress) t.localAddress();
        t.close();
        assertTrue(t.isClosed());
        try (DatagramChannel again = DatagramChannel.open()) {
            again.bind(at); // no SO_REUSEPORT: proves nothing holds the port any more
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aBurstLargerThanTheReceiveBuffersArrivesWhole(TransportKind kind) throws Exception {
        assumeAvailable(kind);
        RecordingSink sink = new RecordingSink();
        Transport t = open(kind, "127.0.0.1", 256, 1, sink); // batch 1: io_uring's smallest buffer ring
        DatagramChannel c = client("127.0.0.1");
        int n = 1_000;
        for (int i = 0; i < n; i++) {
            c.send(ByteBuffer.wrap(("d" + i).getBytes(StandardCharsets.UTF_8)), t.localAddress());
        }
        pollUntil(t, () -> sink.received.size() == n, n + " datagrams (got " + sink.received.size() + ")");
        for (int i = 0; i < n; i++) {
            assertEquals("d" + i, sink.received.get(i), "in order, none lost");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void aDatagramLongerThanMaxDatagramSizeIsCutAndFlagged(TransportKind kind) throws Exception {
        assumeAvailable(kind);
        RecordingSink sink = new RecordingSink();
        Transport t = open(kind, "127.0.0.1", 100, 64, sink);
        DatagramChannel c = client("127.0.0.1");
        byte[] big = new byte[500];
        java.util.Arrays.fill(big, (byte) 'x');
        c.send(ByteBuffer.wrap(big), t.localAddress());
        c.send(ByteBuffer.wrap(new byte[]{'y'}), t.localAddress());
        pollUntil(t, () -> sink.received.size() == 2, "both datagrams");
        assertEquals(100, sink.received.getFirst().length(), "cut at maxDatagramSize");
        assertEquals(List.of(true, false), sink.truncated, "flagged");
        assertArrayEquals("y".getBytes(StandardCharsets.UTF_8), sink.received.get(1).getBytes(StandardCharsets.UTF_8),
                "nothing of the cut one spills into the next");
    }

    /**
     * No send result reaches the sink from inside send(), even when sends overflow what the
     * transport holds and it must hand them to the kernel there (EPOLL and NIO: a batch of 4;
     * IO_URING: its 64 send slots): they are kept and reported, in order, each once and with its
     * bytes, by the next flush or poll. Both outside a poll and from a receive callback that sends,
     * as a handler does.
     */
    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void sendResultsAreReportedAtTheEndOfTheTurnNeverInsideSend(TransportKind kind) throws Exception {
        assumeAvailable(kind);
        RecordingSink sink = new RecordingSink();
        Transport t = open(kind, "127.0.0.1", 2048, 4, sink);
        DatagramChannel c = client("127.0.0.1");
        c.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
        PeerKey peer = firstPeer(t, sink, c, "hello");
        int n = 150; // more than any transport holds here

        for (int i = 0; i < n; i++) {
            sendWatched(t, sink, peer, i);
        }
        assertEquals(0, sink.reportedInsideSend, "results reported from inside send()");
        t.flush();
        pollUntil(t, () -> sink.sent.size() == n, n + " results (got " + sink.sent.size() + ")");

        sink.onEach = from -> { // a handler that answers one datagram with n
            for (int i = n; i < 2 * n; i++) {
                sendWatched(t, sink, from, i);
            }
        };
        c.send(ByteBuffer.wrap("again".getBytes(StandardCharsets.UTF_8)), t.localAddress());
        pollUntil(t, () -> sink.sent.size() == 2 * n, 2 * n + " results (got " + sink.sent.size() + ")");
        assertEquals(0, sink.reportedInsideSend, "results reported from inside send() in a receive callback");
        assertEquals(List.of(), sink.failed);
        for (int i = 0; i < 2 * n; i++) {
            assertEquals(i, sink.sent.get(i), "each result once, in order");
            assertEquals("reply " + i, sink.sentData.get(i), "with the bytes that went out");
        }
    }

    private static void sendWatched(Transport t, RecordingSink sink, PeerKey to, int i) {
        MemorySegment reply = MemorySegment.ofArray(("reply " + i).getBytes(StandardCharsets.UTF_8));
        sink.sending = true;
        try {
            assertTrue(t.send(i, to, reply, 0, (int) reply.byteSize()), "queued " + i);
        } finally {
            sink.sending = false;
        }
    }
}
