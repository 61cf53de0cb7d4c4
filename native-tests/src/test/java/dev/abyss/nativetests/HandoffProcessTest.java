package dev.abyss.nativetests;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.abyss.nativetests.EchoCliProcessTest.javaBin;
import static dev.abyss.nativetests.EchoCliProcessTest.serverJar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Restart without loss, as an operator runs it: {@code bin/abyss --handoff PATH} serves 16 steady
 * peers (200 datagrams/s each, numbered); {@code --takeover PATH} starts a second process on the
 * same sockets, the first one exits 0; every datagram is answered exactly once, by one of the two
 * (the reply's prefix names which), the first ones by A, the last ones by B.
 */
class HandoffProcessTest {
    private static final Pattern LISTENING = Pattern.compile("listening on udp .*:(\\d+)");
    private static final int PEERS = 16;
    private static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(5); // 200/s per peer

    @Test
    @Timeout(120)
    void sixteenPeersThroughATakeoverOnEpoll() throws Exception {
        takeover(TransportKind.EPOLL);
    }

    @Test
    @Timeout(120)
    void sixteenPeersThroughATakeoverOnIoUring() throws Exception {
        takeover(TransportKind.IO_URING);
    }

    /** Lines of a process's output, read in the background. */
    private static List<String> drain(Process p, String who) {
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        }, "drain-" + who);
        t.setDaemon(true);
        t.start();
        return lines;
    }

    private static String await(List<String> lines, Pattern p, long seconds, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < until) {
            for (String l : lines) {
                Matcher m = p.matcher(l);
                if (m.find()) {
                    return m.groupCount() > 0 ? m.group(1) : l;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError(what + " never came: " + lines);
    }

    private void takeover(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        String transport = kind == TransportKind.EPOLL ? "epoll" : "io_uring";
        Path dir = Files.createTempDirectory("abyss-handoff");
        Path path = dir.resolve("handoff.sock");
        Process a = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--port", "0", "--bind", "127.0.0.1",
                "--transport", transport, "--reply-prefix", "A:", "--handoff", path.toString(),
                "--rate-limit", "0") // 16 peers of one /24 at 200/s each: over echo's default rate limit, by design
                .redirectErrorStream(true).start();
        Process b = null;
        List<DatagramSocket> sockets = new ArrayList<>();
        try {
            List<String> aOut = drain(a, "A");
            int port = Integer.parseInt(await(aOut, LISTENING, 30, "A's listening line"));
            await(aOut, Pattern.compile("offering the sockets at"), 10, "A's offer");
            InetSocketAddress server = new InetSocketAddress("127.0.0.1", port);

            // replies[peer][seq]: how many answers, and by whom
            int maxSeq = 200 * 60;
            AtomicInteger[][] byA = new AtomicInteger[PEERS][maxSeq];
            AtomicInteger[][] byB = new AtomicInteger[PEERS][maxSeq];
            AtomicInteger[] sent = new AtomicInteger[PEERS];
            List<String> strays = Collections.synchronizedList(new ArrayList<>());
            AtomicBoolean receiving = new AtomicBoolean(true);
            List<Thread> receivers = new ArrayList<>();
            for (int i = 0; i < PEERS; i++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
                s.setSoTimeout(100);
                s.setReceiveBufferSize(1 << 20);
                sockets.add(s);
                sent[i] = new AtomicInteger();
                for (int q = 0; q < maxSeq; q++) {
                    byA[i][q] = new AtomicInteger();
                    byB[i][q] = new AtomicInteger();
                }
                int peer = i;
                Thread r = Thread.ofPlatform().daemon().name("peer-" + i).start(() -> {
                    byte[] buf = new byte[256];
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    while (receiving.get()) {
                        try {
                            p.setLength(buf.length);
                            s.receive(p);
                        } catch (SocketTimeoutException e) {
                            continue;
                        } catch (java.io.IOException e) {
                            return;
                        }
                        String text = new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII);
                        String[] parts = text.split(":");
                        try {
                            int q = Integer.parseInt(parts[2]);
                            if (parts.length == 3 && Integer.parseInt(parts[1]) == peer && (parts[0].equals("A") || parts[0].equals("B"))) {
                                (parts[0].equals("A") ? byA : byB)[peer][q].incrementAndGet();
                                continue;
                            }
                        } catch (RuntimeException ignored) {
                            // a stray, below
                        }
                        strays.add(text);
                    }
                });
                receivers.add(r);
            }
            AtomicBoolean sending = new AtomicBoolean(true);
            Thread sender = Thread.ofPlatform().daemon().name("senders").start(() -> {
                long next = System.nanoTime();
                while (sending.get()) {
                    for (int i = 0; i < PEERS; i++) {
                        int q = sent[i].get();
                        if (q >= maxSeq) {
                            return;
                        }
                        byte[] msg = (i + ":" + q).getBytes(StandardCharsets.US_ASCII);
                        try {
                            sockets.get(i).send(new DatagramPacket(msg, msg.length, server));
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        sent[i].incrementAndGet();
                    }
                    next += PERIOD_NANOS;
                    LockSupport.parkNanos(next - System.nanoTime());
                }
            });

            Thread.sleep(1500); // A alone
            b = new ProcessBuilder(javaBin(), "-jar", serverJar().toString(), "--transport", transport,
                    "--reply-prefix", "B:", "--takeover", path.toString(), "--handoff", path.toString(), "--rate-limit", "0")
                    .redirectErrorStream(true).start(); // and offers at the same path in turn, for the next release
            List<String> bOut = drain(b, "B");
            assertEquals(String.valueOf(port), await(bOut, LISTENING, 60, "B's listening line"), "B serves A's port: " + bOut);
            assertTrue(a.waitFor(30, TimeUnit.SECONDS), "A exits once B serves: " + aOut);
            assertEquals(0, a.exitValue(), "A's exit status: " + aOut);
            assertTrue(aOut.stream().anyMatch(l -> l.contains("handed off to the successor")), "A says so: " + aOut);
            for (int i = 0; i < 200 && Files.notExists(path); i++) {
                Thread.sleep(50);
            }
            assertTrue(Files.exists(path), "B offers at the same path in turn, once A removed its socket: " + bOut);
            Thread.sleep(1500); // B alone
            sending.set(false);
            sender.join(5000);
            Thread.sleep(1000); // the last replies
            receiving.set(false);
            for (Thread r : receivers) {
                r.join(5000);
            }

            long total = 0;
            long fromA = 0;
            long fromB = 0;
            List<String> problems = new ArrayList<>();
            for (int i = 0; i < PEERS; i++) {
                int n = sent[i].get();
                total += n;
                for (int q = 0; q < n; q++) {
                    int ra = byA[i][q].get();
                    int rb = byB[i][q].get();
                    fromA += ra;
                    fromB += rb;
                    if (ra + rb != 1 && problems.size() < 20) {
                        problems.add("peer " + i + " #" + q + ": " + ra + " from A, " + rb + " from B");
                    }
                }
                assertTrue(n > 0 && byA[i][0].get() == 1, "peer " + i + "'s first datagram answered by A");
                assertTrue(byB[i][n - 1].get() == 1, "peer " + i + "'s last datagram answered by B");
            }
            System.out.printf("handoff on %s: %d datagrams sent by %d peers, %d answered by A, %d by B%n",
                    transport, total, PEERS, fromA, fromB);
            assertEquals(List.of(), problems, "every datagram answered exactly once (" + total + " sent, "
                    + fromA + " by A, " + fromB + " by B)");
            assertEquals(List.of(), strays, "no reply that is not one of ours");
            assertEquals(total, fromA + fromB, "0 lost");
            assertTrue(fromA > 0 && fromB > 0, "some answered by each");
            b.toHandle().destroy();
            assertTrue(b.waitFor(20, TimeUnit.SECONDS), "B stops on SIGTERM: " + bOut);
            assertTrue(Files.notExists(path), "B removes its offer's socket when it stops");
        } finally {
            for (DatagramSocket s : sockets) {
                s.close();
            }
            a.destroyForcibly();
            if (b != null) {
                b.destroyForcibly();
            }
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }
}
