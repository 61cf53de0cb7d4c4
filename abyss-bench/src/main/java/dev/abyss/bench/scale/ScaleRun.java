package dev.abyss.bench.scale;

import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.loopback.LoopbackPeers;
import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * A million peers through the echo server: peer {@code n} is 127.(1 + n / 65536).(n / 256 % 256).(n % 256),
 * all sent from one client socket with an IP_PKTINFO source address per datagram. For 10k, 100k and
 * 1M peers (up to {@code --peers}), the new peers each send one datagram (each opens a session),
 * then every peer so far sends one more (each a lookup of a known peer); it prints datagrams per
 * second of both phases and the server process's RSS with that many live sessions. {@code --mode
 * sessions} runs a SegmentHandler echo (sessions on, table unlimited), {@code --mode stateless} a
 * DatagramHandler echo (no sessions); the server runs in its own JVM so its RSS is its own.
 *
 * <p>{@code bin/bench scale --mode sessions --peers 1000000 [--transport epoll]}
 */
public final class ScaleRun {
    private static final int WINDOW = 512;
    private static final int SIZE = 32;

    private ScaleRun() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("server")) {
            serve(args[1], Integer.parseInt(args[2]), TransportKind.valueOf(args[3]));
            return;
        }
        String mode = "sessions";
        int peers = 1_000_000;
        String transport = "EPOLL";
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--mode" -> mode = args[i + 1];
                case "--peers" -> peers = Integer.parseInt(args[i + 1]);
                case "--transport" -> transport = args[i + 1].toUpperCase(Locale.ROOT);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; use --mode sessions|stateless --peers N --transport epoll|io_uring|nio");
            }
        }
        if (!mode.equals("sessions") && !mode.equals("stateless")) {
            throw new IllegalArgumentException("--mode must be sessions or stateless, was " + mode);
        }
        if (peers < 1 || peers > 3_000_000) {
            throw new IllegalArgumentException("--peers must be 1..3,000,000, was " + peers);
        }
        int port = 20_000 + (int) (ProcessHandle.current().pid() % 20_000);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process server = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx8g",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), ScaleRun.class.getName(), "server", mode,
                String.valueOf(port), transport).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream()));
        String line;
        StringBuilder said = new StringBuilder();
        while ((line = out.readLine()) != null && !line.startsWith("ready")) {
            said.append(line).append('\n'); // logging set-up lines before it is ready
        }
        if (line == null) {
            throw new IllegalStateException("the server did not start:\n" + said);
        }
        System.out.printf("%s echo on %s, %s; one client socket, window %d, %d-byte datagrams%n", mode, transport, line, WINDOW, SIZE);
        System.out.printf("%10s %18s %18s %12s %14s%n", "peers", "new peers/s", "known peers/s", "server RSS", "RSS growth/peer");
        long rssStart;
        try (Client c = new Client(new InetSocketAddress("127.0.0.1", port))) {
            // warm-up: both JITs, from 5,000 peers far above the measured range (they stay as sessions)
            for (int round = 0; round < 10; round++) {
                c.exchange(4_000_000, 4_005_000);
            }
            rssStart = rssKiB(server.pid());
            int done = 0;
            for (int target : new int[]{10_000, 100_000, 1_000_000, 3_000_000}) {
                if (done >= peers) {
                    break;
                }
                target = Math.min(target, peers);
                double fresh = c.exchange(done, target);
                double known = c.exchange(0, target);
                long rss = rssKiB(server.pid());
                System.out.printf("%,10d %,18.0f %,18.0f %,10d MiB %,12d B%n", target, fresh, known, rss / 1024,
                        (rss - rssStart) * 1024 / target);
                done = target;
            }
        } finally {
            server.getOutputStream().close();
            String last;
            while ((last = out.readLine()) != null) {
                System.out.println("server: " + last);
            }
            server.waitFor();
        }
    }

    private static void serve(String mode, int port, TransportKind transport) throws Exception {
        ServerConfig.Builder b = ServerConfig.builder().bindAddress(InetAddress.getByName("127.0.0.1")).port(port)
                .transport(transport).numAcceptors(1).receiveBufferSize(8 << 20).shutdownTimeout(Duration.ZERO);
        if (mode.equals("sessions")) {
            b.segmentHandler((session, data) -> session.send(data)).unlimitedConnections().readTimeout(Duration.ofHours(1));
        } else {
            b.datagramHandler((peer, data) -> peer.send(data));
        }
        try (Server s = Abyss.start(b.build())) {
            System.out.println("ready " + s.transport());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the runner closes our stdin
            }
            System.out.println(s.stats());
        }
    }

    private static long rssKiB(long pid) throws java.io.IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    /** One socket on 0.0.0.0:P sending as any 127.a.b.c:P ({@link LoopbackPeers}), receiving every reply with recvmmsg. */
    private static final class Client implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        private final LoopbackPeers peers;
        private final MemorySegment data = arena.allocate(SIZE);
        private final MessageBatch in = new MessageBatch(arena, 64, 256, 0);

        Client(InetSocketAddress server) throws Exception {
            peers = new LoopbackPeers(server, 8 << 20);
        }

        /** Peers {@code from..to-1} each send one datagram, at most WINDOW unanswered; returns datagrams/s. */
        double exchange(int from, int to) {
            long start = System.nanoTime();
            int next = from;
            long answered = 0;
            long total = to - from;
            long idleSince = System.nanoTime();
            while (answered < total) {
                while (next < to && next - from - answered < WINDOW) {
                    if (peers.send(next, data, SIZE, 0) < 0) { // 127.1.0.0 up to 127.62.x.y
                        throw new IllegalStateException("sendmsg failed for peer " + next);
                    }
                    next++;
                }
                int n = in.receive(peers.fd(), 64, Net.MSG_DONTWAIT);
                if (n > 0) {
                    answered += n;
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince > 1_000_000_000L) {
                    // a lost datagram: count it and move the window on rather than wait forever
                    System.out.printf("  (%d datagrams unanswered after 1 s: counted as lost)%n", next - from - answered);
                    answered = next - from;
                    idleSince = System.nanoTime();
                }
            }
            return total * 1e9 / (System.nanoTime() - start);
        }

        @Override
        public void close() {
            peers.close();
            arena.close();
        }
    }
}
