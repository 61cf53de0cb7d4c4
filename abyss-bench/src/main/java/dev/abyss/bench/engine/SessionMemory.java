package dev.abyss.bench.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.engine.session.SessionTable;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Heap per live session with {@code N} sessions (default 1,000,000): the session table with its
 * sessions, against the ConcurrentHashMap design it replaced (a PeerKey copy per entry and the
 * peer's InetSocketAddress made up front). Heap measured after GC, before and after filling.
 *
 * <p>{@code bin/bench main dev.abyss.bench.engine.SessionMemory [N]}
 */
public final class SessionMemory {
    private SessionMemory() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        PeerKey scratch = new PeerKey();
        for (String impl : new String[]{"chm (before)", "table (now)"}) {
            long before = heapAfterGc();
            Object keep;
            if (impl.startsWith("chm")) {
                ConcurrentHashMap<PeerKey, Object[]> chm = new ConcurrentHashMap<>();
                for (int i = 0; i < n; i++) {
                    scratch.set(address(i));
                    PeerKey k = scratch.copy();
                    // the old session held its remote address from the start
                    chm.put(k, new Object[]{new SessionImpl(k, null, null, null, 0, 0, 0), k.toSocketAddress()});
                }
                keep = chm;
            } else {
                SessionTable table = new SessionTable();
                for (int i = 0; i < n; i++) {
                    scratch.set(address(i));
                    table.put(new SessionImpl(scratch.copy(), null, null, null, 0, 0, 0));
                }
                keep = table;
            }
            long after = heapAfterGc();
            System.out.printf("%-13s %,d sessions: %,d bytes of heap each%n", impl, n, (after - before) / n);
            if (keep.hashCode() == 42) {
                System.out.print(""); // keeps the structure reachable until measured
            }
        }
    }

    private static InetSocketAddress address(int i) throws java.net.UnknownHostException {
        return new InetSocketAddress(InetAddress.getByAddress(new byte[]{127, (byte) (1 + (i >> 16)), (byte) (i >> 8), (byte) i}),
                1024 + i % 50_000);
    }

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
