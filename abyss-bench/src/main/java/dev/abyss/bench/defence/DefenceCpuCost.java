package dev.abyss.bench.defence;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.AddressTokens;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.engine.dispatch.CallbackClock;
import dev.abyss.server.engine.dispatch.StatelessDispatch;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.telemetry.Counters;
import dev.abyss.server.engine.telemetry.ErrorLog;
import dev.abyss.server.transport.DatagramFacts;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The JMH benchmarks of this package ({@link AddressTokensBenchmark}, {@link SentFingerprintsBenchmark})
 * measured in the CPU time of the measuring thread instead of wall time, for a machine shared with
 * other work: time the thread spent descheduled is not counted. Each case runs {@code calls} times per
 * round, five rounds after a warm-up of the same size; the best round is printed, in ns per call, with
 * the baseline ({@code dispatch}: the same call to a handler that does nothing) from the same run.
 *
 * <p>{@code bin/bench main dev.abyss.bench.defence.DefenceCpuCost [calls]}
 */
public final class DefenceCpuCost {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static boolean verdict;
    private static long sink;

    private DefenceCpuCost() {
    }

    public static void main(String[] args) {
        int calls = args.length > 0 ? Integer.parseInt(args[0]) : 5_000_000;
        for (String address : new String[]{"127.0.0.1", "fd00::1"}) {
            for (boolean previous : new boolean[]{false, true}) {
                tokens(address, previous, calls);
            }
        }
        for (int size : new int[]{7, 64, 1400}) {
            fingerprints(size, calls);
        }
    }

    private static void tokens(String address, boolean previous, int calls) {
        AddressTokens tokens = AddressTokens.builder().build();
        if (previous) {
            tokens.rotate();
        }
        InetSocketAddress from = new InetSocketAddress(address, 53000);
        PeerKey peer = new PeerKey().set(from);
        MemorySegment request = Arena.ofAuto().allocate(24);
        for (int i = 0; i < 8; i++) {
            request.set(JAVA_BYTE, i, (byte) (0x20 + i));
        }
        tokens.issue(from, request, 0, 8, request, 8);
        MemorySegment forgedRequest = Arena.ofAuto().allocate(24);
        forgedRequest.copyFrom(request);
        forgedRequest.set(JAVA_BYTE, 23, (byte) ~request.get(JAVA_BYTE, 23));
        MemorySegment reply = Arena.ofAuto().allocate(64);
        StatelessDispatch nothing = dispatch((p, data) -> { });
        StatelessDispatch verify = dispatch((p, data) -> verdict = tokens.verify(p, data, 8, 16, data, 0, 8));
        StatelessDispatch issue = dispatch((p, data) -> tokens.issue(p, data, 0, 8, reply, 8));
        double base = best(calls, () -> nothing.handle(peer, request, DatagramFacts.NONE));
        double ok = best(calls, () -> verify.handle(peer, request, DatagramFacts.NONE));
        if (!verdict) {
            throw new IllegalStateException("the valid token did not verify");
        }
        double bad = best(calls, () -> verify.handle(peer, forgedRequest, DatagramFacts.NONE));
        if (verdict) {
            throw new IllegalStateException("the forged token verified");
        }
        double made = best(calls, () -> issue.handle(peer, request, DatagramFacts.NONE));
        System.out.printf(Locale.ROOT, "AddressTokens %-9s previous=%-5s dispatch %6.1f ns, verify %6.1f ns (+%.1f), forged %6.1f ns (+%.1f), "
                        + "issue %6.1f ns (+%.1f) per call (CPU time, best of 5 x %,d)%n",
                address, previous, base, ok, ok - base, bad, bad - base, made, made - base, calls);
    }

    private static void fingerprints(int size, int calls) {
        SessionImpl session = new SessionImpl(new PeerKey().set(new InetSocketAddress("127.0.0.1", 4000)), null, null, null, 0, 0, 0);
        MemorySegment datagram = Arena.ofAuto().allocate(size);
        for (int i = 0; i < size; i++) {
            datagram.set(JAVA_BYTE, i, (byte) i);
        }
        double record = best(calls, () -> session.recordSent(datagram, 0, size));
        double match = best(calls, () -> sink += session.sentMatches(datagram, Math.min(size, 64)) ? 1 : 0);
        System.out.printf(Locale.ROOT, "SentFingerprints size=%-5d record %5.1f ns, match %5.1f ns per call (CPU time, best of 5 x %,d)%n",
                size, record, match, calls);
    }

    private static StatelessDispatch dispatch(DatagramHandler handler) {
        return new StatelessDispatch(handler, null, new CallbackClock(),
                new ErrorLog(LoggerFactory.getLogger(DefenceCpuCost.class)), new Counters());
    }

    /** The best of five rounds of {@code calls} runs of {@code r}, after one round of warm-up: CPU ns per call. */
    private static double best(int calls, Runnable r) {
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 6; round++) {
            long start = THREADS.getCurrentThreadCpuTime();
            for (int i = 0; i < calls; i++) {
                r.run();
            }
            long took = THREADS.getCurrentThreadCpuTime() - start;
            if (round > 0) {
                best = Math.min(best, (double) took / calls);
            }
        }
        return best;
    }
}
