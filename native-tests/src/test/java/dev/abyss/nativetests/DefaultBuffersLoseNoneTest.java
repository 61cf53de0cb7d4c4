package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import dev.abyss.server.transport.ReceiveBuffer;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the library's default receive buffer (4 MiB asked for; no {@code receiveBufferSize} set) the
 * 16-peer × window-32 echo of 64-byte datagrams that lost hundreds of datagrams with the kernel's
 * default buffer loses none: for EPOLL and IO_URING, 16 client sockets on 127.0.0.1 each keep 32
 * numbered requests outstanding for about two seconds; every request gets its reply (each one
 * counted once, byte for byte), the server counted every request, and it saw no kernel drop
 * (SO_RXQ_OVFL). Where the sockets got less than 4 MiB (net.core.rmem_max below it and no
 * CAP_NET_ADMIN) the run still happens but the no-loss assertions are skipped with the figures.
 */
@Timeout(60)
class DefaultBuffersLoseNoneTest {
    private static final int PEERS = 16;
    private static final int WINDOW = 32;
    private static final int SIZE = 64;
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final long MAX_PER_PEER = 250_000; // the count bound, next to the time bound
    private static final Duration DRAIN = Duration.ofSeconds(5);
    private static final Pattern SKMEM_RB = Pattern.compile("skmem:\\(r\\d+,rb(\\d+)");

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void sixteenPeersWithWindowsOf32LoseNothing(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        try (Server server = Abyss.start(ServerConfig.builder().handler(new Echo()).transport(kind).bindAddress(loopback)
                .shutdownTimeout(Duration.ofMillis(100)).build());
             Peers peers = new Peers((InetSocketAddress) server.localAddress())) {
            long granted = grantedReceiveBuffer(((InetSocketAddress) server.localAddress()).getPort());
            long started = System.nanoTime();
            peers.run(started + RUN_NANOS);
            long ran = System.nanoTime() - started;
            boolean drained = peers.drain(System.nanoTime() + DRAIN.toNanos());
            long sent = peers.sent;
            long lost = sent - peers.received;
            // the acceptors' counters, written by their threads, catch up with what was answered
            ServerStats stats = await("the server counted every answered request", DRAIN, server::stats,
                    st -> st.datagramsIn() >= peers.received);
            String figures = String.format(Locale.ROOT,
                    "%s: %d peers x window %d x %d B for %d ms: sent %d, replies %d, lost %d, duplicates %d, corrupt %d; "
                            + "server in %d out %d, kernel drops %d, send errors %d, queue full %d, batch full %d; receive buffer granted %s",
                    kind, PEERS, WINDOW, SIZE, ran / 1_000_000, sent, peers.received, lost, peers.duplicates, peers.corrupt,
                    stats.datagramsIn(), stats.datagramsOut(), stats.kernelDrops(), stats.sendErrors(), stats.sendQueueFull(), stats.sendBatchFull(),
                    granted < 0 ? "unknown" : granted + " B");
            System.out.println("DEFAULT BUFFERS " + figures);

            assertEquals(0, peers.corrupt, () -> "every reply is a request's bytes: " + figures);
            assertEquals(0, peers.duplicates, () -> "no request answered twice: " + figures);
            assertTrue(sent >= PEERS * WINDOW * 10L, () -> "the run made real load (at least ten windows per peer): " + figures);
            boolean fullBuffer = granted >= ReceiveBuffer.DEFAULT;
            Skip.unless(fullBuffer, "the server's sockets got " + granted + " bytes of receive buffer, less than the "
                    + ReceiveBuffer.DEFAULT + " asked for (net.core.rmem_max, no CAP_NET_ADMIN): loss not asserted; " + figures);
            assertTrue(drained, () -> "every outstanding request answered within " + DRAIN.toMillis() + " ms: " + figures);
            assertEquals(0, lost, () -> "no request lost: " + figures);
            assertEquals(sent, stats.datagramsIn(), () -> "the server counted every request: " + figures);
            assertEquals(0, stats.kernelDrops(), () -> "no kernel drop: " + figures);
        }
    }

    /**
     * What the server's sockets were granted, in the unit setsockopt takes (half what {@code ss}
     * shows): the smallest over its sockets, from {@code ss} when it is installed; else what
     * net.core.rmem_max allows without CAP_NET_ADMIN; -1 when neither is known.
     */
    private static long grantedReceiveBuffer(int port) throws IOException, InterruptedException {
        try {
            Process ss = new ProcessBuilder("ss", "-uamn", "sport = :" + port).redirectErrorStream(true).start();
            String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (ss.waitFor(10, TimeUnit.SECONDS) && ss.exitValue() == 0) {
                long min = Long.MAX_VALUE;
                Matcher m = SKMEM_RB.matcher(out);
                while (m.find()) {
                    min = Math.min(min, Long.parseLong(m.group(1)) / 2);
                }
                if (min != Long.MAX_VALUE) {
                    return min;
                }
            }
        } catch (IOException e) {
            // no ss: fall back to the sysctl
        }
        try (var r = Files.newBufferedReader(Path.of("/proc/sys/net/core/rmem_max"))) {
            return Math.min(ReceiveBuffer.DEFAULT, Long.parseLong(r.readLine().strip()));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * The clients: {@link #PEERS} non-blocking sockets connected to the server, one thread (the
     * test's) and one selector. A request is {@code [peer int][sequence long][filler]}; a reply is
     * matched to its request by peer and sequence, so each is counted once.
     */
    private static final class Peers implements AutoCloseable {
        private final Selector selector;
        private final DatagramChannel[] channels = new DatagramChannel[PEERS];
        private final long[] next = new long[PEERS];
        private final int[] inflight = new int[PEERS];
        private final BitSet[] answered = new BitSet[PEERS];
        private final ByteBuffer out = ByteBuffer.allocateDirect(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        private final ByteBuffer in = ByteBuffer.allocateDirect(2048).order(ByteOrder.LITTLE_ENDIAN);
        long sent;
        long received;
        long duplicates;
        long corrupt;

        Peers(InetSocketAddress server) throws IOException {
            selector = Selector.open();
            for (int p = 0; p < PEERS; p++) {
                DatagramChannel c = DatagramChannel.open();
                channels[p] = c;
                c.bind(new InetSocketAddress(server.getAddress(), 0));
                c.connect(server);
                c.configureBlocking(false);
                c.register(selector, SelectionKey.OP_READ, p);
                answered[p] = new BitSet();
            }
        }

        /** Keeps every peer's window full until {@code until} (or the count bound), receiving as replies come. */
        void run(long until) throws IOException {
            while (System.nanoTime() < until) {
                boolean more = false;
                for (int p = 0; p < PEERS; p++) {
                    while (inflight[p] < WINDOW && next[p] < MAX_PER_PEER) {
                        if (!send(p)) {
                            break; // the socket's send buffer is full: next round
                        }
                    }
                    more |= next[p] < MAX_PER_PEER;
                }
                if (!more) {
                    return;
                }
                receive(1);
            }
        }

        /** Receives until no request is outstanding or {@code until}; true when none is. */
        boolean drain(long until) throws IOException {
            while (outstanding() > 0) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                receive(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(left))));
            }
            return true;
        }

        private long outstanding() {
            long n = 0;
            for (int f : inflight) {
                n += f;
            }
            return n;
        }

        private boolean send(int p) throws IOException {
            long seq = next[p];
            out.clear();
            out.putInt(p).putLong(seq);
            while (out.hasRemaining()) {
                out.put(filler(p, seq, out.position()));
            }
            out.flip();
            if (channels[p].write(out) == 0) {
                return false;
            }
            next[p]++;
            inflight[p]++;
            sent++;
            return true;
        }

        private static byte filler(int p, long seq, int at) {
            return (byte) (p * 31 + seq * 7 + at);
        }

        private void receive(long timeoutMillis) throws IOException {
            if (selector.select(timeoutMillis) == 0) {
                return;
            }
            for (SelectionKey key : selector.selectedKeys()) {
                int p = (Integer) key.attachment();
                DatagramChannel c = channels[p];
                while (true) {
                    in.clear();
                    if (c.read(in) <= 0) {
                        break;
                    }
                    in.flip();
                    check(p);
                }
            }
            selector.selectedKeys().clear();
        }

        private void check(int p) {
            if (in.remaining() != SIZE || in.getInt(0) != p) {
                corrupt++;
                return;
            }
            long seq = in.getLong(4);
            if (seq < 0 || seq >= next[p]) {
                corrupt++;
                return;
            }
            for (int at = 12; at < SIZE; at++) {
                if (in.get(at) != filler(p, seq, at)) {
                    corrupt++;
                    return;
                }
            }
            if (answered[p].get((int) seq)) {
                duplicates++;
                return;
            }
            answered[p].set((int) seq);
            inflight[p]--;
            received++;
        }

        @Override
        public void close() throws IOException {
            for (DatagramChannel c : channels) {
                if (c != null) {
                    c.close();
                }
            }
            selector.close();
        }
    }
}
