package dev.abyss.bench.load;

import org.HdrHistogram.Histogram;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A UDP echo load generator: P peers, W datagrams in flight each, size S, for a duration or a
 * count, optionally at a fixed total rate; every echo checked byte for byte (peer, sequence,
 * pattern) and timed. Sends and receives through abyss-ffi's sendmmsg/recvmmsg in batches of 64.
 *
 * <pre>
 * java -cp abyss-bench/target/benchmarks.jar dev.abyss.bench.load.LoadGenerator \
 *      --target 127.0.0.1:1234 --peers 16 --window 32 --size 64 --duration 10s [--rate PPS] [--json]
 * </pre>
 *
 * With {@code --dtls}: every peer a DTLS 1.2 client ({@link DtlsClient}: a JDK SSLEngine each, one
 * handshake per peer before the measured window, then every echo a record); with {@code --dtls
 * --handshakes N}: N full handshakes in flight, back to back ({@link HandshakeLoad}).
 *
 * <p>With {@code --bulk N [--gro]}: the bulk mode ({@link #runBulk}), each request answered with N
 * datagrams of {@link Bulk#SEGMENT} bytes, measured in MB/s of replies.
 */
public final class LoadGenerator {
    /** How long the peers of a DTLS run have to complete their handshakes, all together. */
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(30);

    private LoadGenerator() {
    }

    /**
     * Told when the measured window opens (every peer socket is ready, nothing sent yet) and when it
     * closes (every worker stopped and drained: every echo the result counts came in between).
     */
    public interface Window {
        void opened();

        void closed();
    }

    /** Runs one load and returns what it measured; {@code progress} prints a line a second to stderr. */
    public static LoadResult run(LoadOptions o) throws Exception {
        return run(o, null);
    }

    /** {@link #run(LoadOptions)}, telling {@code window} (if not null) when the measured window opens and closes. */
    public static LoadResult run(LoadOptions o, Window window) throws Exception {
        List<Worker> workers = new ArrayList<>();
        try {
            int per = o.peers() / o.threads();
            for (int t = 0; t < o.threads(); t++) {
                int first = t * per;
                int n = t == o.threads() - 1 ? o.peers() - first : per;
                workers.add(new Worker(o, first, n));
            }
            long handshakeDeadline = System.nanoTime() + HANDSHAKE_TIMEOUT.toNanos();
            for (Worker w : workers) {
                w.handshake(handshakeDeadline); // over DTLS: every peer's handshake, before the measured window
            }
            List<Thread> threads = new ArrayList<>();
            if (window != null) {
                window.opened();
            }
            long start = System.nanoTime();
            for (int t = 0; t < workers.size(); t++) {
                threads.add(Thread.ofPlatform().name("load-" + t).start(workers.get(t)));
            }
            long end = start + o.duration().toNanos();
            long lastEchoed = 0;
            long lastTime = start;
            while (System.nanoTime() < end && threads.stream().anyMatch(Thread::isAlive)) {
                Thread.sleep(Math.max(1, Math.min(1000, (end - System.nanoTime()) / 1_000_000)));
                if (o.progress()) {
                    long now = System.nanoTime();
                    long echoed = workers.stream().mapToLong(w -> w.echoed.get()).sum();
                    long sent = workers.stream().mapToLong(w -> w.sent.get()).sum();
                    System.err.printf(Locale.ROOT, "[%5.1fs] %,12.0f echoes/s   sent %,d   echoed %,d%n", (now - start) / 1e9,
                            (echoed - lastEchoed) / ((now - lastTime) / 1e9), sent, echoed);
                    lastEchoed = echoed;
                    lastTime = now;
                }
            }
            long stoppedAt = System.nanoTime();
            workers.forEach(Worker::stop);
            for (Thread t : threads) {
                t.join();
            }
            if (window != null) {
                window.closed();
            }
            Histogram all = new Histogram(60_000_000_000L, 3);
            long sent = 0;
            long echoed = 0;
            long reordered = 0;
            long corrupt = 0;
            long allocated = 0;
            for (Worker w : workers) {
                allocated = allocated < 0 || w.allocated < 0 ? -1 : allocated + w.allocated;
                all.add(w.latency);
                sent += w.sent.get();
                echoed += w.echoed.get();
                reordered += w.reordered;
                corrupt += w.corrupt;
            }
            double seconds = (stoppedAt - start) / 1e9;
            return new LoadResult(sent, echoed, Math.max(0, sent - echoed - corrupt), reordered, corrupt, seconds, o.size(),
                    all.getValueAtPercentile(50) / 1e3, all.getValueAtPercentile(99) / 1e3,
                    all.getValueAtPercentile(99.9) / 1e3, all.getMaxValue() / 1e3,
                    allocated < 0 || echoed == 0 ? Double.NaN : allocated / (double) echoed);
        } finally {
            workers.forEach(Worker::close);
        }
    }

    /** Runs one bulk load (requests answered with N datagrams each) and returns what it measured. */
    public static BulkResult runBulk(BulkOptions o) throws Exception {
        return runBulk(o, null);
    }

    /** {@link #runBulk(BulkOptions)}, telling {@code window} (if not null) when the measured window opens and closes. */
    public static BulkResult runBulk(BulkOptions o, Window window) throws Exception {
        try (BulkWorker w = new BulkWorker(o)) {
            if (window != null) {
                window.opened();
            }
            long start = System.nanoTime();
            Thread thread = Thread.ofPlatform().name("load-bulk").start(w);
            long end = start + o.duration().toNanos();
            long lastBytes = 0;
            long lastTime = start;
            while (System.nanoTime() < end && thread.isAlive()) {
                Thread.sleep(Math.max(1, Math.min(o.progress() ? 1000 : 50, (end - System.nanoTime()) / 1_000_000)));
                if (o.progress()) {
                    long now = System.nanoTime();
                    long bytes = w.publishedBytes;
                    System.err.printf(Locale.ROOT, "[%5.1fs] %,10.1f MB/s   requests answered %,d%n", (now - start) / 1e9,
                            (bytes - lastBytes) / ((now - lastTime) / 1e3), w.publishedCompleted);
                    lastBytes = bytes;
                    lastTime = now;
                }
            }
            long stoppedAt = System.nanoTime();
            w.stop();
            thread.join();
            if (window != null) {
                window.closed();
            }
            double seconds = (stoppedAt - start) / 1e9;
            return new BulkResult(w.requests, w.completed, w.lost, w.late, w.corrupt, w.datagrams, w.datagrams * Bulk.SEGMENT,
                    w.receives, seconds, o.replies(), o.gro(), w.latency.getValueAtPercentile(50) / 1e3,
                    w.latency.getValueAtPercentile(99) / 1e3, w.latency.getMaxValue() / 1e3);
        }
    }

    public static void main(String[] args) throws Exception {
        String target = null;
        int peers = 16;
        int window = 32;
        int size = 64;
        Duration duration = Duration.ofSeconds(10);
        long count = 0;
        long rate = 0;
        boolean spread = false;
        int threads = 1;
        boolean json = false;
        int bulk = 0;
        boolean gro = false;
        boolean dtls = false;
        int handshakes = 0;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--target" -> target = value(args, ++i, a);
                    case "--peers" -> peers = Integer.parseInt(value(args, ++i, a));
                    case "--window" -> window = Integer.parseInt(value(args, ++i, a));
                    case "--size" -> size = Integer.parseInt(value(args, ++i, a));
                    case "--duration" -> duration = duration(value(args, ++i, a));
                    case "--count" -> count = Long.parseLong(value(args, ++i, a));
                    case "--rate" -> rate = Long.parseLong(value(args, ++i, a));
                    case "--spread" -> spread = true;
                    case "--threads" -> threads = Integer.parseInt(value(args, ++i, a));
                    case "--json" -> json = true;
                    case "--bulk" -> bulk = Integer.parseInt(value(args, ++i, a));
                    case "--gro" -> gro = true;
                    case "--dtls" -> dtls = true;
                    case "--handshakes" -> handshakes = Integer.parseInt(value(args, ++i, a));
                    case "-h", "--help" -> {
                        System.out.println(usage());
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (target == null) {
                throw new IllegalArgumentException("--target HOST:PORT is required");
            }
            if (count > 0 && !List.of(args).contains("--duration")) {
                duration = Duration.ofHours(1); // a count alone: run until it is reached
            }
            int colon = target.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--target must be HOST:PORT, was '" + target + "'");
            }
            InetSocketAddress to = new InetSocketAddress(InetAddress.getByName(target.substring(0, colon).replace("[", "").replace("]", "")),
                    Integer.parseInt(target.substring(colon + 1)));
            if (handshakes > 0) {
                if (!dtls) {
                    throw new IllegalArgumentException("--handshakes is a DTLS mode: give --dtls too");
                }
                HandshakeLoad.Result r = HandshakeLoad.run(new HandshakeLoad.Options(to, DtlsClient.trustingAnyServer(), handshakes, duration, count));
                System.out.println(json ? r.json() : r.table());
                return;
            }
            if (dtls && bulk > 0) {
                throw new IllegalArgumentException("--dtls does not apply to the bulk mode");
            }
            if (bulk > 0 || gro) {
                if (bulk == 0) {
                    throw new IllegalArgumentException("--gro applies to the bulk mode: give --bulk N too");
                }
                for (String echoOnly : List.of("--size", "--rate", "--spread", "--threads")) {
                    if (List.of(args).contains(echoOnly)) {
                        throw new IllegalArgumentException(echoOnly + " does not apply to the bulk mode");
                    }
                }
                int bulkWindow = List.of(args).contains("--window") ? window : 2;
                BulkResult r = runBulk(new BulkOptions(to, peers, bulkWindow, bulk, gro, duration, count, !json));
                System.out.println(json ? r.json() : r.table());
                return;
            }
            LoadOptions o = new LoadOptions(to, peers, window, size, duration, count, rate, spread, threads, !json);
            if (dtls) {
                o = o.withDtls(DtlsClient.trustingAnyServer());
            }
            LoadResult r = run(o);
            System.out.println(json ? r.json() : r.table());
        } catch (NumberFormatException e) {
            System.err.println("load: not a number: " + e.getMessage() + "\n" + usage());
            System.exit(2);
        } catch (IllegalArgumentException e) {
            System.err.println("load: " + e.getMessage() + "\n" + usage());
            System.exit(2);
        }
    }

    static Duration duration(String s) {
        try {
            return parseDuration(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--duration must be a number ending in ms, s or m, was '" + s + "'");
        }
    }

    private static Duration parseDuration(String s) {
        if (s.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
        }
        if (s.endsWith("s")) {
            return Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
        }
        if (s.endsWith("m")) {
            return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
        }
        throw new IllegalArgumentException("--duration must end in ms, s or m, was '" + s + "'");
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    static String usage() {
        return """
                usage: LoadGenerator --target HOST:PORT [options]
                  --peers P        sockets, each its own source port (default 16)
                  --window W       datagrams in flight per peer (default 32)
                  --size S         payload bytes, >= 20 (default 64)
                  --duration D     e.g. 10s, 500ms, 2m (default 10s)
                  --count N        stop after N echoes
                  --rate PPS       offered datagrams per second in total (default: as fast as echoes return)
                  --spread         peers bind 127.0.x.y source addresses (IPv4 loopback targets)
                  --threads T      sender/receiver threads (default 1)
                  --json           one JSON object instead of the table
                  --dtls           DTLS 1.2 (JDK SSLEngine per peer, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, any server
                                   certificate accepted): one handshake per peer before the measured window, then each
                                   datagram a record; --size up to 16384
                handshake mode (with --dtls; handshakes per second):
                  --handshakes N   N full handshakes in flight, each from a new 127.x.y.z source and a fresh engine
                                   (--duration, or --count handshakes completed)
                bulk mode (a request of 16 bytes answered with N datagrams of 1,200 bytes; MB/s of replies):
                  --bulk N         replies per request, 1..64 (--window: requests in flight per peer, 1..16, default 2;
                                   --count: requests answered in full)
                  --gro            UDP_GRO on the client sockets: coalesced receives of up to 64 KiB, split at the
                                   segment size the kernel reports""";
    }
}
