package dev.abyss.nativetests.reliability;

import dev.abyss.ffi.LibC;
import dev.abyss.server.Abyss;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child JVM of {@link TransportFaultsTest#aSocketClosedUnderneathAnAcceptor}: a server with two
 * acceptors (two SO_REUSEPORT sockets on one port) and 64 peers it answers; then one of its socket
 * descriptors is closed behind its back ({@code close(2)} on the fd found through /proc/self/fd and
 * /proc/net/udp). Observes for 3 s what the peers get, how much CPU the acceptors burn, what the
 * server reports ({@code failure()}, counters), then whether {@code stop(2 s)} returns. Opens no
 * file between the close and the stop, so the closed number is not reused by this process meanwhile.
 * One RESULT line.
 *
 * <p>Argument: transport kind.
 */
public final class ClosedSocketChild {
    private static final int PEERS = 64;

    private ClosedSocketChild() {
    }

    public static void main(String[] args) throws Exception {
        TransportKind kind = TransportKind.valueOf(args[0]);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        AtomicLong handled = new AtomicLong();
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                handled.incrementAndGet();
                session.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        Server server = Abyss.start(ServerConfig.builder().handler(echo).transport(kind).bindAddress(loopback).numAcceptors(2)
                .silentTerminateOnError(true).shutdownTimeout(Duration.ofMillis(200)).build());
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        List<DatagramSocket> peers = new ArrayList<>();
        for (int i = 0; i < PEERS; i++) {
            DatagramSocket s = new DatagramSocket(new InetSocketAddress(loopback, 0));
            peers.add(s);
        }
        int answeredBefore = round(peers, server, "before", 3000);
        List<Integer> fds = serverSocketFds(port);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        List<Long> acceptorIds = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("abyss-acceptor")).map(Thread::threadId).toList();
        // ---- from here until the stop: no file is opened (the closed number must not be reused meanwhile)
        int victim = fds.getFirst();
        long cpu0 = cpu(threads, acceptorIds);
        long t0 = System.nanoTime();
        int rc = LibC.close(victim);
        long handledAtClose = handled.get();
        int[] answeredAfter = new int[3];
        for (int r = 0; r < answeredAfter.length; r++) {
            answeredAfter[r] = round(peers, server, "after-" + r, 1000);
        }
        // an observation window on purpose, not a wait for something: the acceptors' CPU over these 3 s is the measurement
        long observeDeadline = t0 + TimeUnit.SECONDS.toNanos(3);
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(observeDeadline - System.nanoTime())));
        long window = System.nanoTime() - t0;
        long acceptorCpu = cpu(threads, acceptorIds) - cpu0;
        ServerStats st = server.stats();
        String failure = server.failure().map(f -> f.getClass().getSimpleName() + ":" + f.getMessage()).orElse("none");
        boolean stoppedByItself = server.isStopped();
        // the stop, in a thread of its own: a hang must show, not block this child for ever
        CountDownLatch stopped = new CountDownLatch(1);
        long s0 = System.nanoTime();
        Thread stopper = Thread.ofPlatform().daemon(true).name("stopper").start(() -> {
            server.stop(Duration.ofSeconds(2));
            stopped.countDown();
        });
        boolean stopReturned = stopped.await(20, TimeUnit.SECONDS);
        long stopMs = (System.nanoTime() - s0) / 1_000_000;
        String acceptorsAlive = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("abyss-acceptor"))
                .map(Thread::getName).sorted().toList().toString().replace(" ", "");
        if (!stopReturned) {
            for (var e : Thread.getAllStackTraces().entrySet()) {
                if (e.getKey().getName().startsWith("abyss") || e.getKey() == stopper) {
                    System.out.println("STACK " + e.getKey().getName() + ": " + List.of(e.getValue()));
                }
            }
        }
        Reliability.result("closedFd", victim, "closeRc", rc, "socketFds", fds.toString().replace(" ", ""),
                "answeredBefore", answeredBefore, "answeredAfter0", answeredAfter[0], "answeredAfter1", answeredAfter[1],
                "answeredAfter2", answeredAfter[2], "handledAfterClose", handled.get() - handledAtClose,
                "acceptorCpuPercent", String.format(Locale.ROOT, "%.1f", 100.0 * acceptorCpu / window),
                "failure", failure.replace(' ', '_'), "stoppedByItself", stoppedByItself,
                "acceptorFailures", st.acceptorFailures(), "receiveErrors", st.receiveErrors(), "sendErrors", st.sendErrors(),
                "sessions", st.sessionsLive(), "stopReturned", stopReturned, "stopMs", stopMs, "acceptorsAlive", acceptorsAlive,
                "released", stopReturned && server.isStopped(),
                "failureAfterStop", server.failure().map(f -> f.getClass().getSimpleName() + ":" + f.getMessage()).orElse("none")
                        .replace(' ', '_'));
        System.out.flush();
        Runtime.getRuntime().halt(0); // no shutdown hook may touch the server's descriptors again
    }

    /** One datagram from every peer; returns how many were answered within {@code millis} of the last send. */
    private static int round(List<DatagramSocket> peers, Server server, String tag, int millis) throws IOException {
        for (int i = 0; i < peers.size(); i++) {
            byte[] b = (tag + " " + i).getBytes(StandardCharsets.UTF_8);
            peers.get(i).send(new DatagramPacket(b, b.length, server.localAddress()));
        }
        int answered = 0;
        byte[] in = new byte[256];
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        for (DatagramSocket p : peers) {
            DatagramPacket d = new DatagramPacket(in, in.length);
            try {
                while (true) {
                    p.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                    d.setLength(in.length);
                    p.receive(d);
                    if (new String(in, 0, d.getLength(), StandardCharsets.UTF_8).startsWith(tag + " ")) {
                        answered++;
                        break;
                    }
                }
            } catch (SocketTimeoutException e) {
                // not answered
            }
        }
        return answered;
    }

    private static long cpu(ThreadMXBean threads, List<Long> ids) {
        long sum = 0;
        for (long id : ids) {
            long t = threads.getThreadCpuTime(id);
            if (t > 0) {
                sum += t;
            }
        }
        return sum;
    }

    /** The descriptors of this process that are UDP sockets bound to {@code port} (via /proc/net/udp inodes). */
    static List<Integer> serverSocketFds(int port) throws IOException {
        Set<String> inodes = new HashSet<>();
        String hexPort = String.format(Locale.ROOT, ":%04X", port);
        for (String table : List.of("/proc/net/udp", "/proc/net/udp6")) {
            Path p = Path.of(table);
            if (!Files.exists(p)) {
                continue;
            }
            for (String line : Files.readAllLines(p)) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 9 && f[1].endsWith(hexPort)) {
                    inodes.add(f[9]);
                }
            }
        }
        List<Integer> fds = new ArrayList<>();
        try (var dir = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : dir.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[") && inodes.contains(target.substring(8, target.length() - 1))) {
                        fds.add(Integer.parseInt(fd.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // the directory stream's own descriptor, closed meanwhile
                }
            }
        }
        fds.sort(null);
        if (fds.size() != 2) {
            throw new IllegalStateException("expected the 2 acceptor sockets on port " + port + ", found fds " + fds + " for inodes " + inodes);
        }
        return fds;
    }
}
