package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.SegmentHandler;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import dev.abyss.server.TruncationPolicy;
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
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Reliability scenario "odd datagrams": edge sizes (0, 1, 1,472, 8,000, 65,507 bytes over IPv4,
 * 65,527 over IPv6), random garbage of random sizes, and maxDatagramSize ± 1 with a small
 * maxDatagramSize (1,000, not a multiple of any buffer alignment).
 *
 * <p>Expected: every datagram that fits comes back byte for byte (a large one followed by a small
 * one leaves no trace in it); one that does not fit is, with TruncationPolicy DROP, never delivered
 * and counted in {@code truncated}, with DELIVER delivered cut to maxDatagramSize, flagged
 * ({@code session.datagram().truncated()}) and counted. The handler runs in checkViews(true) debug
 * mode and reads one byte past the end of every view it gets: that read must fail every time
 * (nothing is visible past a datagram).
 */
@Timeout(120)
class OddDatagramsTest {
    private static final int SMALL_MAX = 1_000;
    private static final int GARBAGE = Reliability.size(300, 5_000);

    /** Echoes; counts views whose end could be read past and views longer than maxDatagramSize. */
    private static final class CheckingEcho implements SegmentHandler {
        final AtomicLong delivered = new AtomicLong();
        final AtomicLong readPastEnd = new AtomicLong();
        final AtomicLong truncatedFlags = new AtomicLong();
        private final boolean flagReplies;

        CheckingEcho(boolean flagReplies) {
            this.flagReplies = flagReplies;
        }

        @Override
        public void handle(dev.abyss.server.Session s, MemorySegment data) {
            delivered.incrementAndGet();
            try {
                data.get(JAVA_BYTE, data.byteSize());
                readPastEnd.incrementAndGet(); // must not happen: the view ends where the datagram does
            } catch (IndexOutOfBoundsException expected) {
                // nothing to see past the datagram
            }
            boolean cut = s.datagram().truncated();
            if (cut) {
                truncatedFlags.incrementAndGet();
            }
            if (flagReplies) {
                byte[] reply = new byte[(int) data.byteSize() + 1];
                reply[0] = (byte) (cut ? 1 : 0);
                MemorySegment.copy(data, JAVA_BYTE, 0, reply, 1, (int) data.byteSize());
                s.send(reply);
            } else {
                s.send(data);
            }
        }
    }

    private static Server start(TransportKind kind, InetAddress bind, CheckingEcho h, int maxDatagramSize, TruncationPolicy policy)
            throws java.io.IOException {
        return Abyss.start(ServerConfig.builder().segmentHandler(h).transport(kind).bindAddress(bind).numAcceptors(1)
                .checkViews(true).maxDatagramSize(maxDatagramSize).truncationPolicy(policy)
                .shutdownTimeout(Duration.ofMillis(100)).build());
    }

    private static byte[] random(Random r, int size) {
        byte[] b = new byte[size];
        r.nextBytes(b);
        return b;
    }

    /** Sends {@code data} and returns the reply, or null when none came within {@code millis}. */
    private static byte[] exchange(DatagramSocket c, Server server, byte[] data, int millis) throws java.io.IOException {
        c.send(new DatagramPacket(data, data.length, server.localAddress()));
        return receive(c, millis);
    }

    private static byte[] receive(DatagramSocket c, int millis) throws java.io.IOException {
        byte[] in = new byte[70_000];
        DatagramPacket p = new DatagramPacket(in, in.length);
        c.setSoTimeout(millis);
        try {
            c.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return Arrays.copyOf(in, p.getLength());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void edgeSizesAndGarbageComeBackExactlyOverIpv4(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        long seed = System.nanoTime();
        Random r = new Random(seed);
        CheckingEcho h = new CheckingEcho(false);
        InetAddress v4 = InetAddress.getByName("127.0.0.1");
        List<Integer> sizes = new ArrayList<>(List.of(0, 1, 1_472, 8_000, 65_507, 0, 65_507, 1, 8_000, 1_472));
        for (int i = 0; i < GARBAGE; i++) {
            // mostly small, some large: a large one followed by a small one would show stale bytes
            sizes.add(r.nextInt(4) == 0 ? r.nextInt(65_508) : r.nextInt(1_500));
        }
        long bytes = 0;
        try (Server server = start(kind, v4, h, 65_536, TruncationPolicy.DROP);
             DatagramSocket c = new DatagramSocket(new InetSocketAddress(v4, 0))) {
            c.setReceiveBufferSize(1 << 20);
            for (int i = 0; i < sizes.size(); i++) {
                byte[] d = random(r, sizes.get(i));
                byte[] back = exchange(c, server, d, 5000);
                assertNotNull(back, "datagram " + i + " of " + d.length + " bytes answered (seed " + seed + ")");
                assertArrayEquals(d, back, "datagram " + i + " of " + d.length + " bytes echoed exactly (seed " + seed + ")");
                bytes += d.length;
            }
            ServerStats st = server.stats();
            figures(kind, "IPv4", sizes.size(), bytes, st, h);
            assertEquals(sizes.size(), st.datagramsIn());
            assertEquals(bytes, st.bytesIn());
            assertEquals(0, st.truncated());
            assertEquals(sizes.size(), h.delivered.get());
            assertEquals(0, h.readPastEnd.get(), "no view could be read past its datagram");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void theLargestIpv6DatagramComesBackExactly(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Skip.unless(Files.readString(Path.of("/proc/net/if_inet6")).contains("00000000000000000000000000000001"),
                "no IPv6 loopback (::1) here");
        Random r = new Random(42);
        CheckingEcho h = new CheckingEcho(false);
        InetAddress v6 = InetAddress.getByName("::1");
        List<Integer> sizes = List.of(65_527, 0, 1, 1_452, 65_527, 8_000, 65_508);
        long bytes = 0;
        try (Server server = start(kind, v6, h, 65_536, TruncationPolicy.DROP);
             DatagramSocket c = new DatagramSocket(new InetSocketAddress(v6, 0))) {
            c.setReceiveBufferSize(1 << 20);
            for (int size : sizes) {
                byte[] d = random(r, size);
                byte[] back = exchange(c, server, d, 5000);
                assertNotNull(back, size + " bytes over IPv6 answered");
                assertArrayEquals(d, back, size + " bytes over IPv6 echoed exactly");
                bytes += size;
            }
            ServerStats st = server.stats();
            figures(kind, "IPv6", sizes.size(), bytes, st, h);
            assertEquals(0, st.truncated());
            assertEquals(0, h.readPastEnd.get(), "no view could be read past its datagram");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void pastASmallMaxDatagramSizeDropIsNeverDeliveredAndCounted(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Random r = new Random(7);
        CheckingEcho h = new CheckingEcho(true);
        InetAddress v4 = InetAddress.getByName("127.0.0.1");
        int oversize = 0;
        int fitting = 0;
        try (Server server = start(kind, v4, h, SMALL_MAX, TruncationPolicy.DROP);
             DatagramSocket c = new DatagramSocket(new InetSocketAddress(v4, 0))) {
            int[] sizes = {SMALL_MAX - 1, SMALL_MAX, SMALL_MAX + 1, 65_507, 0, SMALL_MAX + 1, SMALL_MAX, 2 * SMALL_MAX};
            for (int size : sizes) {
                byte[] d = random(r, size);
                c.send(new DatagramPacket(d, d.length, server.localAddress()));
                if (size > SMALL_MAX) {
                    oversize++;
                    continue; // dropped: the next reply must be the next fitting datagram's
                }
                fitting++;
                byte[] back = receive(c, 5000);
                assertNotNull(back, size + " bytes (fits " + SMALL_MAX + ") answered");
                assertEquals(0, back[0], "not flagged as cut");
                assertArrayEquals(d, Arrays.copyOfRange(back, 1, back.length), size + " bytes echoed exactly");
            }
            assertEquals(null, receive(c, 200), "no reply to a cut datagram");
            ServerStats st = server.stats();
            figures(kind, "DROP past maxDatagramSize " + SMALL_MAX, sizes.length, -1, st, h);
            assertEquals(oversize, st.truncated(), "every datagram past maxDatagramSize counted");
            assertEquals(fitting, h.delivered.get(), "none of them delivered");
            assertEquals(0, h.truncatedFlags.get());
            assertEquals(0, h.readPastEnd.get(), "no view could be read past its datagram");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void pastASmallMaxDatagramSizeDeliverCutsFlagsAndCounts(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Random r = new Random(11);
        CheckingEcho h = new CheckingEcho(true);
        InetAddress v4 = InetAddress.getByName("127.0.0.1");
        int oversize = 0;
        List<Integer> sizes = new ArrayList<>(List.of(SMALL_MAX - 1, SMALL_MAX, SMALL_MAX + 1, 65_507, 0, 1, SMALL_MAX + 1));
        for (int i = 0; i < GARBAGE / 3; i++) {
            sizes.add(SMALL_MAX - 8 + r.nextInt(17)); // around the edge
        }
        try (Server server = start(kind, v4, h, SMALL_MAX, TruncationPolicy.DELIVER);
             DatagramSocket c = new DatagramSocket(new InetSocketAddress(v4, 0))) {
            for (int size : sizes) {
                byte[] d = random(r, size);
                byte[] back = exchange(c, server, d, 5000);
                assertNotNull(back, size + " bytes answered");
                boolean cut = size > SMALL_MAX;
                if (cut) {
                    oversize++;
                }
                assertEquals(cut ? 1 : 0, back[0], size + " bytes: flagged as cut exactly when cut");
                assertArrayEquals(Arrays.copyOf(d, Math.min(size, SMALL_MAX)), Arrays.copyOfRange(back, 1, back.length),
                        size + " bytes: delivered whole, or its first " + SMALL_MAX);
            }
            ServerStats st = server.stats();
            figures(kind, "DELIVER past maxDatagramSize " + SMALL_MAX, sizes.size(), -1, st, h);
            assertEquals(oversize, st.truncated(), "every cut datagram counted");
            assertEquals(oversize, h.truncatedFlags.get(), "and flagged");
            assertEquals(sizes.size(), h.delivered.get());
            assertEquals(0, h.readPastEnd.get(), "no view could be read past its datagram");
        }
    }

    private static void figures(TransportKind kind, String what, int datagrams, long bytes, ServerStats st, CheckingEcho h) {
        Reliability.figures("odd-datagrams", "%s %s: %,d datagrams%s, %,d delivered, %,d truncated (counted), %,d flagged, "
                        + "%d views readable past their end",
                kind, what, datagrams, bytes < 0 ? "" : String.format(java.util.Locale.ROOT, " (%,d bytes) echoed exactly", bytes),
                h.delivered.get(), st.truncated(), h.truncatedFlags.get(), h.readPastEnd.get());
    }
}
