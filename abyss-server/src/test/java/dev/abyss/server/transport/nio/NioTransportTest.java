package dev.abyss.server.transport.nio;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.DatagramFacts;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.TransportSettings;
import dev.abyss.server.transport.Transports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.UnsupportedAddressTypeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

import static dev.abyss.testsupport.Await.await;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The transport contract, driven through {@link NioTransport#FACTORY} with a recording sink and
 * real UDP clients on 127.0.0.1 and ::1.
 */
@Timeout(60)
class NioTransportTest {
    private static final TransportSettings DEFAULTS = new TransportSettings(64, 65_536, 0, 0, true, false);

    private final List<AutoCloseable> open = new ArrayList<>();
    private final ExecutorService other = Executors.newSingleThreadExecutor();

    @AfterEach
    void closeAll() throws Exception {
        other.shutdownNow();
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    /** What a transport handed to its sinks. Filled on the polling thread. */
    static final class Sink implements Transport.ReceiveSink, Transport.SendSink {
        record Datagram(PeerKey peer, byte[] data, boolean truncated) {
            String text() {
                return new String(data, StandardCharsets.UTF_8);
            }
        }

        record Sent(Object tag, byte[] data) {
        }

        record Failed(Object tag, int bytes, int errno) {
        }

        final List<Datagram> received = new ArrayList<>();
        final List<Sent> sent = new ArrayList<>();
        final List<Failed> failed = new ArrayList<>();
        final List<Integer> receiveErrors = new ArrayList<>();
        int batches;

        @Override
        public void beginBatch() {
            batches++;
        }

        @Override
        public void onDatagram(PeerKey peer, MemorySegment data, DatagramFacts facts) {
            assertTrue(data.isReadOnly(), "the sink gets a read-only view");
            received.add(new Datagram(peer.copy(), data.toArray(JAVA_BYTE), facts.truncated()));
        }

        @Override
        public void onReceiveError(int errno) {
            receiveErrors.add(errno);
        }

        @Override
        public void onReceivePaused() {
        }

        @Override
        public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
            sent.add(new Sent(tag, buffer.asSlice(offset, bytes).toArray(JAVA_BYTE)));
        }

        @Override
        public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
            failed.add(new Failed(tag, bytes, errno));
        }

        List<Object> sentTags() {
            return sent.stream().map(Sent::tag).toList();
        }
    }

    private NioTransport open(TransportSettings settings, String host, int port, Sink sink) throws IOException {
        NioTransport t = (NioTransport) NioTransport.FACTORY.open(settings,
                new InetSocketAddress(InetAddress.getByName(host), port), true, true, sink, sink);
        open.add(t);
        return t;
    }

    private UdpPeer peer(String host) throws IOException {
        UdpPeer p = new UdpPeer(host);
        open.add(p);
        return p;
    }

    /** Drives {@code t} (the transport does nothing unless polled), 10 ms a poll, until {@code count} is {@code expected}. */
    private static void pollUntil(Transport t, IntSupplier count, int expected, String what) {
        await(what, () -> {
            t.poll(10_000_000L);
            return count.getAsInt();
        }, n -> n == expected);
    }

    private static int port(Transport t) {
        return ((InetSocketAddress) t.localAddress()).getPort();
    }

    private static byte[] pattern(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    private static MemorySegment bytes(String text) {
        return MemorySegment.ofArray(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void availableAndSelectedForNio() {
        assertNull(NioTransport.unavailableReason());
        assertSame(NioTransport.FACTORY, Transports.select(TransportKind.NIO));
        assertEquals(TransportKind.NIO, NioTransport.FACTORY.kind());
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void receivesEachDatagramWithItsSender(String host) throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, host, 0, sink);
        InetSocketAddress local = (InetSocketAddress) t.localAddress();
        assertEquals(InetAddress.getByName(host), local.getAddress());
        assertNotEquals(0, local.getPort(), "the port the kernel chose for port 0");
        UdpPeer c = peer(host);
        for (String s : List.of("one", "two", "", "three")) {
            c.send(s, local);
        }
        pollUntil(t, sink.received::size, 4, "4 datagrams");
        assertEquals(List.of("one", "two", "", "three"), sink.received.stream().map(Sink.Datagram::text).toList());
        for (Sink.Datagram d : sink.received) {
            assertEquals(c.key(), d.peer(), "keyed by the sender's address");
            assertFalse(d.truncated());
        }
        assertTrue(sink.batches >= 1 && sink.batches <= 4, "beginBatch once per batch: " + sink.batches);
        assertTrue(sink.receiveErrors.isEmpty());
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void reportsEachSendByTag(String host) throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, host, 0, sink);
        UdpPeer c = peer(host);
        PeerKey to = c.key();
        MemorySegment src = bytes("xxA-B-C");
        assertEquals(64, t.sendRoom());
        assertTrue(t.send("a", to, src, 2, 1));
        assertTrue(t.send("big", to, MemorySegment.ofArray(new byte[65_530]), 0, 65_530)); // over UDP's limit
        assertTrue(t.send("b", to, src, 4, 1));
        assertTrue(t.send("port0", new PeerKey().set(new InetSocketAddress(InetAddress.getByName(host), 0)), src, 6, 1));
        assertTrue(t.send("c", to, src, 6, 1));
        assertEquals(59, t.sendRoom(), "queued until flushed");
        t.flush();
        assertEquals(64, t.sendRoom());
        assertEquals(List.of("a", "b", "c"), sink.sentTags());
        assertEquals(List.of("A", "B", "C"), sink.sent.stream().map(s -> new String(s.data(), StandardCharsets.UTF_8)).toList(),
                "sent() points at the bytes that went out");
        assertEquals(List.of(new Sink.Failed("big", 65_530, Errno.EMSGSIZE), new Sink.Failed("port0", 1, Errno.EINVAL)),
                sink.failed);
        assertEquals("A", c.receiveText(5000));
        assertEquals("B", c.receiveText(5000));
        assertEquals("C", c.receiveText(5000));
    }

    @Test
    void ipv6DestinationOnIpv4SocketFails() throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, "127.0.0.1", 0, sink);
        assertTrue(t.send("v6", new PeerKey().set(new InetSocketAddress("::1", 9)), bytes("x"), 0, 1));
        t.flush();
        assertEquals(List.of(new Sink.Failed("v6", 1, Errno.EAFNOSUPPORT)), sink.failed);
    }

    @Test
    void wakeupEndsBlockingPoll() throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, "127.0.0.1", 0, sink);
        // a wakeup from another thread while the poll blocks (or just before it: it must not be lost)
        CountDownLatch polling = new CountDownLatch(1);
        Future<Integer> blocked = other.submit(() -> {
            polling.countDown();
            return t.poll(-1);
        });
        polling.await();
        t.wakeup();
        assertEquals(1, blocked.get(5, TimeUnit.SECONDS), "the wake-up is the work done");

        // wake-ups before a poll are kept for it, and coalesce
        t.wakeup();
        t.wakeup();
        assertEquals(1, other.submit(() -> t.poll(-1)).get(5, TimeUnit.SECONDS));
        assertEquals(0, other.submit(() -> t.poll(0)).get(5, TimeUnit.SECONDS), "consumed");
        assertEquals(0, other.submit(() -> t.poll(5_000_000L)).get(5, TimeUnit.SECONDS), "timed out: no work");
    }

    /** The watchdog of INLINE callbacks interrupts the acceptor thread: that must neither spin nor break the socket. */
    @Test
    void interruptStatusDoesNotCutTheWaitShortAndIsKept() throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, "127.0.0.1", 0, sink);
        UdpPeer c = peer("127.0.0.1");
        Future<Boolean> f = other.submit(() -> {
            Thread.currentThread().interrupt();
            // without setting it aside every select would return at once and an idle acceptor would spin
            int work = t.poll(0);
            long start = System.nanoTime();
            t.poll(30_000_000L);
            long waited = System.nanoTime() - start;
            boolean waitedAndKept = work == 0 && waited >= 25_000_000L && Thread.currentThread().isInterrupted();
            // a non-blocking channel is not closed by an interrupt: it still receives and sends
            c.send("while interrupted", t.localAddress());
            pollUntil(t, sink.received::size, 1, "a datagram while interrupted");
            t.send("reply", c.key(), bytes("ok"), 0, 2);
            t.flush();
            return waitedAndKept && Thread.interrupted();
        });
        assertTrue(f.get(5, TimeUnit.SECONDS));
        assertEquals("ok", c.receiveText(5000));
        assertEquals(List.of("reply"), sink.sentTags());
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void stopReceivingKeepsSending(String host) throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, host, 0, sink);
        UdpPeer c = peer(host);
        c.send("before", t.localAddress());
        pollUntil(t, sink.received::size, 1, "the first datagram");
        t.stopReceiving();
        c.send("after", t.localAddress());
        for (int i = 0; i < 3; i++) {
            assertEquals(0, t.poll(20_000_000L));
        }
        assertEquals(1, sink.received.size(), "nothing read after stopReceiving");
        assertTrue(t.send("reply", c.key(), bytes("still sending"), 0, 13));
        t.flush();
        assertEquals("still sending", c.receiveText(5000));
        assertEquals(List.of("reply"), sink.sentTags());
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void probeAndReusePortAndCloseFreesThePort(String host) throws Exception {
        Sink sink = new Sink();
        NioTransport first = open(DEFAULTS, host, 0, sink);
        int port = port(first);
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(host), port);

        BindException taken = assertThrows(BindException.class,
                () -> NioTransport.FACTORY.open(DEFAULTS, address, true, true, sink, sink),
                "the probe binds without sharing options: a taken port is refused");
        assertTrue(taken.getMessage().contains(String.valueOf(port)), taken.getMessage());

        Transport second = NioTransport.FACTORY.open(DEFAULTS, address, true, false, sink, sink);
        assertEquals(address, second.localAddress(), "SO_REUSEPORT: a second acceptor shares the port");
        second.close();

        first.close();
        assertTrue(first.isClosed());
        first.close(); // idempotent
        assertEquals(0, first.poll(0));
        assertFalse(first.send("late", new PeerKey().set(address), bytes("x"), 0, 1));
        first.wakeup(); // harmless after close
        try (DatagramChannel plain = DatagramChannel.open(address.getAddress() instanceof java.net.Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET)) {
            plain.bind(address); // no sharing options: only works when nothing holds the port
        }
        NioTransport again = open(DEFAULTS, host, port, sink);
        assertEquals(address, again.localAddress());
    }

    /**
     * A full kernel send buffer cannot be provoked on loopback (the loopback device frees the
     * sender's buffer at once), so the call that hands a datagram over plays "EAGAIN" (returns 0).
     * The real socket stays writable, so the OP_WRITE the transport registers is what ends the
     * blocking poll that sends the rest.
     */
    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void fullKernelBufferKeepsDatagramsQueued(String host) throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(new TransportSettings(4, 65_536, 0, 0, true, false), host, 0, sink);
        AtomicInteger refusals = new AtomicInteger(Integer.MAX_VALUE);
        t.sendVia((channel, src, to) -> refusals.getAndDecrement() > 0 ? 0 : channel.send(src, to));
        UdpPeer c = peer(host);
        for (int i = 0; i < 4; i++) {
            assertTrue(t.send(i, c.key(), bytes("d" + i), 0, 2));
        }
        t.flush();
        assertTrue(sink.sent.isEmpty() && sink.failed.isEmpty(), "nothing taken, nothing reported yet");
        assertEquals(0, t.sendRoom(), "our queue and the kernel's buffer are full");
        assertFalse(t.send(4, c.key(), bytes("d4"), 0, 2), "refused: the caller counts the drop");

        refusals.set(1); // the kernel refuses once more (the flush that starts the poll), then takes
        int work = other.submit(() -> t.poll(-1)).get(5, TimeUnit.SECONDS);
        assertEquals(4, work, "OP_WRITE ended the wait and the 4 queued sends completed");
        assertEquals(List.of(0, 1, 2, 3), sink.sentTags());
        for (int i = 0; i < 4; i++) {
            assertEquals("d" + i, c.receiveText(5000), "in order");
        }
        assertEquals(4, t.sendRoom());

        // what the kernel still refuses at close is reported, not dropped silently
        refusals.set(Integer.MAX_VALUE);
        assertTrue(t.send("x", c.key(), bytes("x"), 0, 1));
        assertTrue(t.send("y", c.key(), bytes("y"), 0, 1));
        t.close();
        assertEquals(List.of(new Sink.Failed("x", 1, Errno.EAGAIN), new Sink.Failed("y", 1, Errno.EAGAIN)), sink.failed);
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void longerThanMaxDatagramSizeIsCutAndFlagged(String host) throws Exception {
        Sink sink = new Sink();
        NioTransport small = open(new TransportSettings(64, 100, 0, 0, true, false), host, 0, sink);
        UdpPeer c = peer(host);
        byte[] big = pattern(60_000);
        c.send(Arrays.copyOf(big, 100), small.localAddress());
        c.send(Arrays.copyOf(big, 101), small.localAddress());
        c.send(big, small.localAddress());
        pollUntil(small, sink.received::size, 3, "3 datagrams");
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(Arrays.copyOf(big, 100), sink.received.get(i).data(), "the first maxDatagramSize bytes");
        }
        assertEquals(List.of(false, true, true), sink.received.stream().map(Sink.Datagram::truncated).toList());

        // at the default size every UDP payload arrives whole
        Sink whole = new Sink();
        NioTransport t = open(DEFAULTS, host, 0, whole);
        byte[] largest = pattern(host.contains(":") ? 65_527 : 65_507);
        c.send(largest, t.localAddress());
        pollUntil(t, whole.received::size, 1, "the largest datagram");
        assertArrayEquals(largest, whole.received.getFirst().data());
        assertFalse(whole.received.getFirst().truncated());
    }

    @Test
    void dualStackSocketKeysIpv4PeersAsMapped() throws Exception {
        Sink sink = new Sink();
        NioTransport t = open(DEFAULTS, "::", 0, sink);
        UdpPeer c = peer("127.0.0.1");
        c.send("v4", new InetSocketAddress("127.0.0.1", port(t)));
        pollUntil(t, sink.received::size, 1, "a datagram from an IPv4 peer");
        PeerKey from = sink.received.getFirst().peer();
        assertEquals(c.key().v4Mapped(), from, "::ffff:127.0.0.1, as the native transports key it");
        assertTrue(t.send("r", from, bytes("back"), 0, 4));
        t.flush();
        assertEquals("back", c.receiveText(5000));
    }

    @Test
    void unixAddressIsRefused() throws Exception {
        Path dir = Files.createTempDirectory("abyss-nio");
        try {
            Sink sink = new Sink();
            SocketAddress unix = UnixDomainSocketAddress.of(dir.resolve("s.sock"));
            IOException e = assertThrows(IOException.class,
                    () -> NioTransport.FACTORY.open(DEFAULTS, unix, false, false, sink, sink));
            assertTrue(e.getMessage().contains("AF_UNIX"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("s.sock")));
        } finally {
            Files.delete(dir);
        }
    }

    @Test
    void exceptionsMapToErrno() {
        assertEquals(Errno.EMSGSIZE, NioErrno.of(new SocketException("Message too long")));
        assertEquals(Errno.ENETUNREACH, NioErrno.of(new SocketException("Network is unreachable")));
        assertEquals(Errno.EACCES, NioErrno.of(new BindException("Permission denied")));
        assertEquals(Errno.ENOBUFS, NioErrno.of(new IOException("No buffer space available")));
        assertEquals(Errno.EBADF, NioErrno.of(new ClosedChannelException()));
        assertEquals(Errno.EAFNOSUPPORT, NioErrno.of(new UnsupportedAddressTypeException()));
        assertEquals(Errno.EIO, NioErrno.of(new IOException("something new")));
        assertEquals(Errno.EIO, NioErrno.of(new IOException()));
    }
}
