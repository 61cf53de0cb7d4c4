package dev.abyss.bench.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionTable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The acceptor's session table ({@link SessionTable}, {@code impl=table}) against the
 * ConcurrentHashMap keyed by a {@link PeerKey} copy that it replaced ({@code impl=chm}, the baseline):
 * the per-datagram lookup of a known peer decoded in place from its sockaddr, and the insert + evict
 * of a new peer, with 1k, 100k and 1M live peers; {@code lookupContended} runs the lookup on two
 * threads at once (the acceptor plus any thread calling {@code server.session(addr)}).
 * Uses the engine's types (public, in a package the module does not export) on the class path,
 * where benchmarks.jar runs.
 *
 * <p>{@code bin/bench SessionTable -prof gc}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class SessionTableBenchmark {
    @Param({"1000", "100000", "1000000"})
    public int peers;

    @Param({"chm", "table"})
    public String impl;

    private final ConcurrentHashMap<PeerKey, SessionImpl> chm = new ConcurrentHashMap<>();
    private final SessionTable table = new SessionTable();
    private boolean useTable;
    private MemorySegment sockaddrs;
    private int[] lengths;
    private int next;
    private long fresh;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        useTable = impl.equals("table");
        Arena arena = Arena.ofAuto();
        sockaddrs = arena.allocate((long) SockAddr.STORAGE_SIZE * peers, 8);
        lengths = new int[peers];
        for (int i = 0; i < peers; i++) {
            InetSocketAddress a = new InetSocketAddress(InetAddress.getByAddress(
                    new byte[]{127, (byte) (i >> 16), (byte) (i >> 8), (byte) i}), 1024 + (i % 60_000));
            lengths[i] = SockAddr.write(a, sockaddrs.asSlice((long) SockAddr.STORAGE_SIZE * i, SockAddr.STORAGE_SIZE));
            PeerKey k = new PeerKey();
            k.readFrom(sockaddrs, (long) SockAddr.STORAGE_SIZE * i, lengths[i]);
            SessionImpl s = new SessionImpl(k, null, null, null, 0, 0, 0);
            if (useTable) {
                table.put(s);
            } else {
                chm.put(k, s);
            }
        }
    }

    @State(Scope.Thread)
    public static class Scratch {
        final PeerKey key = new PeerKey();
        int cursor = (int) (Math.random() * 1_000_000);
    }

    /** A datagram from a known peer: decode in place, look up. */
    @Benchmark
    public Object lookup(Scratch s) {
        int i = s.cursor++ % peers;
        s.key.readFrom(sockaddrs, (long) SockAddr.STORAGE_SIZE * i, lengths[i]);
        return useTable ? table.get(s.key) : chm.get(s.key);
    }

    @Benchmark
    @Threads(2)
    public Object lookupContended(Scratch s) {
        return lookup(s);
    }

    /**
     * A new peer arrives and an old one ends: the old session is removed, a new session (with the
     * key copy it keeps) is inserted; the table stays at {@code peers}. B/op counts the session.
     */
    @Benchmark
    public Object insertAndEvict(Scratch s) {
        int i = next++ % peers;
        long at = (long) SockAddr.STORAGE_SIZE * i;
        s.key.readFrom(sockaddrs, at, lengths[i]);
        SessionImpl old = useTable ? table.get(s.key) : chm.get(s.key);
        if (old != null) {
            if (useTable) {
                table.remove(old);
            } else {
                chm.remove(old.key, old);
            }
        }
        // the same address on a new port: a different peer
        short port = sockaddrs.get(java.lang.foreign.ValueLayout.JAVA_SHORT, at + 2); // sin_port: any change makes a new peer
        sockaddrs.set(java.lang.foreign.ValueLayout.JAVA_SHORT, at + 2, (short) (port + 1 + (fresh++ & 1)));
        s.key.readFrom(sockaddrs, at, lengths[i]);
        PeerKey key = s.key.copy();
        SessionImpl fresh = new SessionImpl(key, null, null, null, 0, 0, 0);
        if (useTable) {
            table.put(fresh);
        } else {
            chm.put(key, fresh);
        }
        return old;
    }
}
