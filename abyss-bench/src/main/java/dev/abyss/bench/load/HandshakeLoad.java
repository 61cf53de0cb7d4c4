package dev.abyss.bench.load;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import org.HdrHistogram.Histogram;

import javax.net.ssl.SSLException;
import java.lang.foreign.Arena;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Full DTLS handshakes, back to back: {@code concurrency} handshakes in flight, each from a source
 * address no handshake of this JVM used before (127.x.y.z, so the server never takes one for a
 * returning peer), each with a fresh client engine. A handshake done, its socket closes (the
 * server keeps its session) and the next starts. One thread, the echo worker's receive round
 * ({@link DatagramReceiver}) and handshake driver ({@link DtlsLink}).
 *
 * <pre>
 * java -cp abyss-bench/target/benchmarks.jar dev.abyss.bench.load.LoadGenerator --target 127.0.0.1:1234 --dtls --handshakes 16 --duration 5s
 * </pre>
 */
public final class HandshakeLoad implements DatagramReceiver, AutoCloseable {
    /** A handshake not done in this long counts as failed and its slot starts another. */
    static final long GIVE_UP_NANOS = 10_000_000_000L;
    private static final int BATCH = 64;
    private static final long DRAIN_NANOS = 5_000_000_000L;
    /** Source addresses handed out in this JVM: 127.(1 + n / 65,536).(n / 256).(n % 256), n below 2^22. */
    private static final AtomicInteger SOURCES = new AtomicInteger();

    /**
     * @param target      the server
     * @param dtls        the client engines' settings
     * @param concurrency handshakes in flight
     * @param duration    how long, unless {@code count} is reached first
     * @param count       stop after this many completed (0: no limit)
     * @param confirm     a handshake counts once one record sent after it came back (an echo server):
     *                    the server then holds an established session and nothing of the handshake
     */
    public record Options(InetSocketAddress target, DtlsClient dtls, int concurrency, Duration duration, long count, boolean confirm) {
        /** Handshakes counted when done, without an echo. */
        public Options(InetSocketAddress target, DtlsClient dtls, int concurrency, Duration duration, long count) {
            this(target, dtls, concurrency, duration, count, false);
        }

        /** Checks the options, naming the bad value. */
        public Options {
            if (concurrency < 1 || concurrency > 4096) {
                throw new IllegalArgumentException("--handshakes must be 1..4096 in flight, was " + concurrency);
            }
            if (!(target.getAddress() instanceof java.net.Inet4Address) || !target.getAddress().isLoopbackAddress()) {
                throw new IllegalArgumentException("the handshake load sends from 127.x.y.z: its target must be an IPv4 loopback address, was "
                        + target);
            }
        }
    }

    /**
     * What a handshake load measured: handshakes {@code completed} and {@code failed} in {@code
     * seconds}, the handshake's time (first ClientHello to established) in µs, and the flights resent.
     */
    public record Result(long completed, long failed, double seconds, double p50Micros, double p99Micros, long retransmissions) {
        /** Handshakes completed per second. */
        public double perSecond() {
            return completed / seconds;
        }

        /** The result as lines for a terminal. */
        public String table() {
            return String.format(java.util.Locale.ROOT, """
                    handshakes  %,d completed in %.1f s: %,.0f/s   failed %,d   flights resent %,d
                    time µs     p50 %.0f   p99 %.0f""", completed, seconds, perSecond(), failed, retransmissions, p50Micros, p99Micros);
        }

        /** The result as one JSON object. */
        public String json() {
            return String.format(java.util.Locale.ROOT, "{\"handshakes\":%d,\"failed\":%d,\"seconds\":%.3f,\"handshakes_per_second\":%.1f,"
                    + "\"time_us\":{\"p50\":%.0f,\"p99\":%.0f},\"retransmissions\":%d}", completed, failed, seconds, perSecond(),
                    p50Micros, p99Micros, retransmissions);
        }
    }

    private final Options o;
    private final Arena arena = Arena.ofConfined();
    private final MessageBatch out;
    private final MessageBatch in;
    private final DtlsLink link;
    private final Epoll epoll;
    private final int[] fds;
    private final DtlsLink.Peer[] peers;
    private final long[] startedAt;
    /** Why the handshake in a slot failed this round, else null. */
    private final String[] broken;
    /** With {@link Options#confirm()}: the slot's record went out / came back. */
    private final boolean[] probeSent;
    private final boolean[] probeBack;
    private final Histogram time = new Histogram(60_000_000_000L, 3);
    private long completed;
    private long failed;
    private long retransmissions;
    private String lastFailure;

    private HandshakeLoad(Options o) throws NativeException {
        this.o = o;
        this.out = new MessageBatch(arena, 1, o.dtls().packetBuffer(), 0);
        this.in = new MessageBatch(arena, BATCH, o.dtls().maxPacket() + 1, 0);
        this.link = new DtlsLink(o.dtls(), arena, out, in, PROBE_SIZE);
        this.epoll = Epoll.create(Math.min(o.concurrency(), 1024));
        this.fds = new int[o.concurrency()];
        java.util.Arrays.fill(fds, -1);
        this.peers = new DtlsLink.Peer[o.concurrency()];
        this.startedAt = new long[o.concurrency()];
        this.broken = new String[o.concurrency()];
        this.probeSent = new boolean[o.concurrency()];
        this.probeBack = new boolean[o.concurrency()];
    }

    /** Runs the handshakes and returns what they measured. */
    public static Result run(Options o) throws Exception {
        try (HandshakeLoad h = new HandshakeLoad(o)) {
            return h.go();
        }
    }

    private Result go() throws Exception {
        long start = System.nanoTime();
        for (int s = 0; s < fds.length; s++) {
            restart(s, start);
        }
        long end = start + o.duration().toNanos();
        long budget = o.count() == 0 ? Long.MAX_VALUE : o.count();
        long now = start;
        while (now < end && completed < budget) {
            DatagramReceiver.receiveReady(epoll, fds, in, BATCH, 1, this);
            now = System.nanoTime();
            for (int s = 0; s < fds.length; s++) {
                DtlsLink.Peer p = peers[s];
                if (broken[s] != null) {
                    String why = broken[s];
                    broken[s] = null;
                    fail(s, now, why);
                } else if (p.established && !confirmed(s)) {
                    if (now - startedAt[s] > GIVE_UP_NANOS) {
                        fail(s, now, "no echo of the record sent after the handshake in " + GIVE_UP_NANOS / 1_000_000_000L + " s");
                    }
                } else if (p.established) {
                    completed++;
                    time.recordValue(Math.min(now - startedAt[s], time.getHighestTrackableValue()));
                    retransmissions += p.retransmissions;
                    restart(s, now);
                } else if (now - startedAt[s] > GIVE_UP_NANOS) {
                    fail(s, now, "no answer in " + GIVE_UP_NANOS / 1_000_000_000L + " s");
                } else {
                    try {
                        link.retransmitIfDue(p, fds[s], now);
                    } catch (SSLException e) {
                        fail(s, now, e.toString());
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        drain();
        if (completed == 0 && lastFailure != null) {
            throw new SSLException("no DTLS handshake with " + o.target() + " completed; the last failure: " + lastFailure);
        }
        return new Result(completed, failed, seconds, time.getValueAtPercentile(50) / 1e3, time.getValueAtPercentile(99) / 1e3,
                retransmissions);
    }

    /**
     * Lets the handshakes still in flight finish (not counted, at most {@link #DRAIN_NANOS}), so the
     * server is left with established sessions only, none half done (a memory measurement would
     * otherwise see them freed later, at the server's handshake timeout).
     */
    private void drain() {
        long until = System.nanoTime() + DRAIN_NANOS;
        for (long now = System.nanoTime(); now < until; now = System.nanoTime()) {
            boolean pending = false;
            for (int s = 0; s < fds.length; s++) {
                if (peers[s].established && broken[s] == null && !confirmed(s)) {
                    pending = true;
                } else if (!peers[s].established && broken[s] == null) {
                    pending = true;
                    try {
                        link.retransmitIfDue(peers[s], fds[s], now);
                    } catch (SSLException e) {
                        broken[s] = e.toString();
                    }
                }
            }
            if (!pending) {
                return;
            }
            DatagramReceiver.receiveReady(epoll, fds, in, BATCH, 1, this);
        }
    }

    /**
     * Whether slot {@code s}'s handshake is confirmed: always without {@link Options#confirm()}; else
     * once its probe record came back (sent here the first time it is asked).
     */
    private boolean confirmed(int s) {
        if (!o.confirm() || probeBack[s]) {
            return true;
        }
        if (!probeSent[s]) {
            probeSent[s] = true;
            link.plainOut.copyFrom(PROBE);
            try {
                link.sendRecord(peers[s], fds[s], PROBE_SIZE);
            } catch (SSLException e) {
                broken[s] = e.toString();
            }
        }
        return false;
    }

    private static final int PROBE_SIZE = 16;
    private static final java.lang.foreign.MemorySegment PROBE = java.lang.foreign.MemorySegment.ofArray(
            "abyss-dtls-probe".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

    private void fail(int s, long now, String why) throws Exception {
        failed++;
        lastFailure = why;
        restart(s, now);
    }

    /** Slot {@code s} starts a handshake from a new source address (its old socket, if any, closed). */
    private void restart(int s, long now) throws Exception {
        if (fds[s] >= 0) {
            LibC.close(fds[s]);
        }
        int fd = Sockets.openDatagram(Net.AF_INET, true);
        fds[s] = fd;
        Sockets.bind(fd, new InetSocketAddress(nextSource(), 0));
        Sockets.connect(fd, o.target());
        epoll.add(fd, Epoll.EPOLLIN, s);
        peers[s] = link.peer();
        probeSent[s] = false;
        probeBack[s] = false;
        startedAt[s] = now;
        link.begin(peers[s], fd, now);
    }

    private static InetAddress nextSource() throws UnknownHostException {
        int n = SOURCES.getAndIncrement() & ((1 << 22) - 1);
        return InetAddress.getByAddress(new byte[]{127, (byte) (1 + (n >>> 16)), (byte) (n >>> 8), (byte) n});
    }

    @Override
    public void received(int s, MessageBatch in, int j, long now) {
        DtlsLink.Peer p = peers[s];
        if (broken[s] != null) {
            return; // the slot restarts after this round; the rest of the batch was the old handshake's
        }
        if (p.established) {
            if (probeSent[s] && !probeBack[s]) {
                try {
                    int n = link.open(p, j, in.length(j));
                    probeBack[s] = n == PROBE_SIZE && link.plainIn.asSlice(0, PROBE_SIZE).mismatch(PROBE) < 0;
                } catch (SSLException e) {
                    broken[s] = e.toString();
                }
            }
            return;
        }
        try {
            link.handshakeInput(p, fds[s], j, in.length(j), now);
        } catch (SSLException e) {
            broken[s] = e.toString(); // the slot fails and restarts after this round
        }
    }

    @Override
    public void close() {
        for (int fd : fds) {
            if (fd >= 0) {
                LibC.close(fd);
            }
        }
        epoll.close();
        arena.close();
    }
}
