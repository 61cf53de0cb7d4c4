package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.DispatchMode;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.testsupport.Await;

import javax.management.ObjectName;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Child JVM of {@link LifecycleTest#startStopCyclesLeakNoDescriptorThreadOrNativeMemory}, run with
 * {@code -XX:NativeMemoryTracking=summary}: per transport, {@code warmup} start/stop cycles, then the
 * baseline, then {@code cycles} more, then the same measurements again. Each cycle starts a server
 * with 2 acceptors (INLINE and VIRTUAL_THREADS in turn), has one exchange with a peer, and stops it.
 * Measures open descriptors, threads (Java, abyss-*, OS), NMT committed memory (total, without the
 * Java heap, and the "Other" category where FFM arenas allocate) and RSS. One RESULT line per kind.
 *
 * <p>Arguments: warm-up cycles, cycles, transport kinds...
 */
public final class LifecycleChild {
    private static final Pattern TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern CATEGORY = Pattern.compile("-\\s+([A-Za-z ]+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");

    private LifecycleChild() {
    }

    public static void main(String[] args) throws Exception {
        int warmup = Integer.parseInt(args[0]);
        int cycles = Integer.parseInt(args[1]);
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        Handler<Object> echo = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                session.send(data);
                return HandlerResult.continueWith(state);
            }
        };
        try (DatagramSocket peer = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
            peer.setSoTimeout(5000);
            for (int k = 2; k < args.length; k++) {
                TransportKind kind = TransportKind.valueOf(args[k]);
                for (int i = 0; i < warmup; i++) {
                    cycle(kind, echo, loopback, peer, i);
                }
                Snapshot before = Snapshot.take();
                if (Boolean.getBoolean("abyss.nmt.diff")) {
                    nmt("baseline");
                }
                long t0 = System.nanoTime();
                long maxAbyssThreadsAfterStop = 0;
                for (int i = 0; i < cycles; i++) {
                    cycle(kind, echo, loopback, peer, i);
                    maxAbyssThreadsAfterStop = Math.max(maxAbyssThreadsAfterStop, Reliability.javaThreads("abyss-"));
                    if (Boolean.getBoolean("abyss.lifecycle.trace") && (i + 1) % 25 == 0) {
                        System.out.println(kind + " after " + (i + 1) + " cycles: RSS " + (Reliability.rssKiB() >> 10) + " MiB, NMT malloc "
                                + nmt("summary").lines().filter(l -> l.trim().startsWith("malloc")).findFirst().orElse("?").trim());
                    }
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                Snapshot after = Snapshot.take();
                if (Boolean.getBoolean("abyss.nmt.diff")) {
                    System.out.println(kind + " NMT after " + cycles + " cycles:\n" + nmt("summary.diff"));
                }
                String p = kind.name() + ".";
                Reliability.result(p + "cycles", cycles, p + "ms", ms, p + "fdsBefore", before.fds, p + "fdsAfter", after.fds,
                        p + "javaThreadsBefore", before.javaThreads, p + "javaThreadsAfter", after.javaThreads,
                        p + "osThreadsBefore", before.osThreads, p + "osThreadsAfter", after.osThreads,
                        p + "abyssThreadsAfterStop", maxAbyssThreadsAfterStop,
                        p + "nmtTotalKBBefore", before.nmtTotal, p + "nmtTotalKBAfter", after.nmtTotal,
                        p + "nmtNonHeapKBBefore", before.nmtTotal - before.heap, p + "nmtNonHeapKBAfter", after.nmtTotal - after.heap,
                        p + "nmtOtherKBBefore", before.other, p + "nmtOtherKBAfter", after.other,
                        p + "rssKBBefore", before.rss, p + "rssKBAfter", after.rss, p + "mapsBefore", before.maps,
                        p + "mapsAfter", after.maps, p + "uringMapsBefore", before.uringMaps, p + "uringMapsAfter", after.uringMaps);
            }
        }
        System.exit(0);
    }

    private static void cycle(TransportKind kind, Handler<Object> echo, InetAddress loopback, DatagramSocket peer, int i)
            throws Exception {
        Server server = Abyss.start(ServerConfig.builder().handler(echo).transport(kind).bindAddress(loopback).numAcceptors(2)
                .dispatchMode(i % 2 == 0 ? DispatchMode.INLINE : DispatchMode.VIRTUAL_THREADS)
                .shutdownTimeout(Duration.ofMillis(200)).build());
        try {
            byte[] b = ("cycle " + i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            peer.send(new DatagramPacket(b, b.length, server.localAddress()));
            DatagramPacket back = new DatagramPacket(new byte[64], 64);
            peer.receive(back); // a SocketTimeoutException fails the child
            if (back.getLength() != b.length) {
                throw new AssertionError("cycle " + i + ": echo of " + back.getLength() + " bytes");
            }
        } finally {
            server.stop(Duration.ofMillis(200));
        }
        if (!server.isStopped()) {
            throw new AssertionError("cycle " + i + ": stop() returned with the server running");
        }
    }

    /** Runs {@code VM.native_memory <what>} in this JVM and returns its output. */
    static String nmt(String what) throws Exception {
        return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                new Object[]{new String[]{what}}, new String[]{String[].class.getName()});
    }

    /** The process's resources at one moment, after a GC. */
    private record Snapshot(int fds, int javaThreads, int osThreads, long nmtTotal, long heap, long other, long rss, long maps,
                            long uringMaps) {
        static Snapshot take() throws Exception {
            System.gc();
            // a joined thread's OS thread may still be on its way out: counted only once it is gone
            Await.await("the stopped servers' OS threads have exited", () -> Reliability.osThreadNames("abyss-"), List::isEmpty);
            String nmt = nmt("summary");
            Matcher t = TOTAL.matcher(nmt);
            if (!t.find()) {
                throw new IllegalStateException("no NMT total (run with -XX:NativeMemoryTracking=summary): " + nmt);
            }
            long heap = 0;
            long other = 0;
            Matcher c = CATEGORY.matcher(nmt);
            while (c.find()) {
                switch (c.group(1).trim()) {
                    case "Java Heap" -> heap = Long.parseLong(c.group(3));
                    case "Other" -> other = Long.parseLong(c.group(3));
                    default -> {
                    }
                }
            }
            return new Snapshot(Reliability.openFds(), Thread.getAllStackTraces().size(), Reliability.osThreads(),
                    Long.parseLong(t.group(2)), heap, other, Reliability.rssKiB(), maps(""), maps("io_uring"));
        }

        /** Mappings of this process whose line in /proc/self/maps contains {@code what}. */
        private static long maps(String what) throws java.io.IOException {
            try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/maps"))) {
                return lines.filter(l -> l.contains(what)).count();
            }
        }
    }
}
