package dev.abyss.bench.load;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import org.HdrHistogram.Histogram;

import javax.net.ssl.SSLException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One load-generator thread and its share of the peers: each peer a connected non-blocking socket;
 * sends go out with one sendmmsg per peer and round, echoes come back with recvmmsg, all sockets
 * in one epoll set. Every echo is checked byte for byte and timed. Over DTLS ({@link LoadOptions#dtls()}),
 * each peer first completes its handshake ({@link #handshake}), then every payload is sealed into one
 * record before the send and every echo opened before the check ({@link DtlsLink}).
 */
final class Worker implements Runnable, AutoCloseable, DatagramReceiver {
    private static final int BATCH = 64;
    private static final long STALL_NANOS = 200_000_000L; // a peer with nothing back this long: its in-flight ones are lost

    final Histogram latency = new Histogram(60_000_000_000L, 3);
    final AtomicLong sent = new AtomicLong();
    final AtomicLong echoed = new AtomicLong();
    long reordered;
    long corrupt;
    /** Heap this worker's thread allocated while it ran, in bytes (-1: the JVM cannot tell). */
    volatile long allocated = -1;

    private final LoadOptions o;
    private final int firstPeer;
    private final int[] fds;
    private final long[] nextSeq;
    private final long[] expected;
    private final int[] inflight;
    private final long[] lastEcho;
    private final Arena arena = Arena.ofShared();
    private final MessageBatch out;
    private final MessageBatch in;
    private final Epoll epoll;
    /** Null in plaintext. */
    private final DtlsLink dtls;
    private final DtlsLink.Peer[] secure;
    private final double tokensPerNano;
    private final long budget;
    private volatile boolean stop;
    private double tokens;
    private int rotate;

    Worker(LoadOptions o, int firstPeer, int peers) throws NativeException, UnknownHostException {
        this.o = o;
        this.firstPeer = firstPeer;
        this.fds = new int[peers];
        this.nextSeq = new long[peers];
        this.expected = new long[peers];
        this.inflight = new int[peers];
        this.lastEcho = new long[peers];
        this.out = new MessageBatch(arena, BATCH, o.dtls() == null ? o.size() : o.dtls().packetBuffer(), 0);
        int largest = o.dtls() == null ? o.size() : Math.max(o.size() + DtlsClient.RECORD_OVERHEAD, o.dtls().maxPacket());
        this.in = new MessageBatch(arena, BATCH, Math.max(largest + 1, 2048), 0);
        this.dtls = o.dtls() == null ? null : new DtlsLink(o.dtls(), arena, out, in, o.size());
        this.secure = o.dtls() == null ? null : new DtlsLink.Peer[peers];
        this.epoll = Epoll.create(Math.min(peers, 1024));
        this.tokensPerNano = o.rate() / (double) o.threads() / 1e9;
        this.budget = o.count() == 0 ? Long.MAX_VALUE : (o.count() + o.threads() - 1) / o.threads();
        int family = o.target().getAddress() instanceof java.net.Inet6Address ? Net.AF_INET6 : Net.AF_INET;
        for (int i = 0; i < peers; i++) {
            int fd = Sockets.openDatagram(family, true);
            fds[i] = fd;
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, 1 << 20, "SO_RCVBUF");
            Sockets.bind(fd, new InetSocketAddress(source(firstPeer + i), 0));
            Sockets.connect(fd, o.target());
            epoll.add(fd, Epoll.EPOLLIN, i);
            if (dtls != null) {
                secure[i] = dtls.peer();
            }
        }
    }

    /**
     * Over DTLS: completes every peer's handshake, all at once, before {@code deadline} (nanoTime);
     * nothing in plaintext. Not counted in the results.
     *
     * @throws SSLException when a handshake fails or some did not finish in time (how many)
     */
    void handshake(long deadline) throws SSLException {
        if (dtls == null) {
            return;
        }
        try {
            long now = System.nanoTime();
            for (int p = 0; p < fds.length; p++) {
                dtls.begin(secure[p], fds[p], now);
            }
            int pending = fds.length;
            while (pending > 0) {
                now = System.nanoTime();
                if (now - deadline > 0) {
                    throw new SSLException(pending + " of " + fds.length + " peers did not complete the DTLS handshake with "
                            + o.target() + " in time");
                }
                receiveRound(10);
                pending = 0;
                for (int p = 0; p < fds.length; p++) {
                    dtls.retransmitIfDue(secure[p], fds[p], now);
                    pending += secure[p].established ? 0 : 1;
                }
            }
        } catch (UncheckedIOException e) {
            throw (SSLException) e.getCause();
        }
    }

    private InetAddress source(int peer) throws UnknownHostException {
        if (!o.target().getAddress().isLoopbackAddress() && !o.target().getAddress().isAnyLocalAddress()) {
            // another host (the veth scenario's server namespace): the route picks the source
            return o.target().getAddress() instanceof java.net.Inet6Address ? InetAddress.getByName("::") : InetAddress.getByName("0.0.0.0");
        }
        if (!o.spreadSources() || o.target().getAddress() instanceof java.net.Inet6Address) {
            return o.target().getAddress().isLoopbackAddress() ? o.target().getAddress() : InetAddress.getLoopbackAddress();
        }
        return InetAddress.getByAddress(new byte[]{127, 0, (byte) (1 + peer / 250), (byte) (1 + peer % 250)});
    }

    void stop() {
        stop = true;
    }

    @Override
    public void run() {
        long allocatedBefore = allocatedByThisThread();
        try {
            loop();
        } finally {
            long after = allocatedByThisThread();
            allocated = allocatedBefore < 0 || after < 0 ? -1 : after - allocatedBefore;
        }
    }

    private static long allocatedByThisThread() {
        return java.lang.management.ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemoryEnabled() ? t.getCurrentThreadAllocatedBytes() : -1;
    }

    private void loop() {
        long last = System.nanoTime();
        long nextStallCheck = last + STALL_NANOS;
        while (!stop && echoed.get() < budget) {
            long now = System.nanoTime();
            if (tokensPerNano > 0) {
                // at most 50 µs worth at once: a paced load must not arrive in bursts the server's
                // socket buffer cannot hold (that would be loss caused by the generator, not the server)
                tokens = Math.min(tokens + (now - last) * tokensPerNano, Math.max(4, tokensPerNano * 50_000));
            }
            last = now;
            boolean sentSome = sendRound(now);
            receiveRound(sentSome || tokensPerNano > 0 ? 0 : 1); // paced: never sleep a whole millisecond
            if (now >= nextStallCheck) {
                for (int p = 0; p < fds.length; p++) {
                    if (inflight[p] > 0 && now - lastEcho[p] > STALL_NANOS) {
                        inflight[p] = 0; // presumed lost: counted as sent minus echoed at the end
                    }
                }
                nextStallCheck = now + STALL_NANOS / 4;
            }
        }
        // let the in-flight ones come home before counting them lost
        long drainUntil = System.nanoTime() + 200_000_000L;
        while (System.nanoTime() < drainUntil && sent.get() > echoed.get() + corrupt) {
            receiveRound(10);
        }
    }

    private boolean sendRound(long now) {
        boolean any = false;
        int n = fds.length;
        for (int k = 0; k < n; k++) {
            int p = (rotate + k) % n;
            int allowed = o.window() - inflight[p];
            if (tokensPerNano > 0) {
                allowed = (int) Math.min(allowed, tokens);
            }
            if (allowed <= 0) {
                continue;
            }
            int count = Math.min(allowed, BATCH);
            MemorySegment data = out.data();
            for (int i = 0; i < count; i++) {
                if (dtls == null) {
                    Payload.write(data, out.dataOffset(i), o.size(), firstPeer + p, nextSeq[p] + i, now);
                    out.prepareSend(i, o.size(), 0);
                } else {
                    Payload.write(dtls.plainOut, 0, o.size(), firstPeer + p, nextSeq[p] + i, now);
                    out.prepareSend(i, seal(p, i), 0);
                }
            }
            int done = out.send(fds[p], 0, count, Net.MSG_DONTWAIT);
            if (done > 0) {
                if (inflight[p] == 0) {
                    lastEcho[p] = now;
                }
                nextSeq[p] += done;
                inflight[p] += done;
                sent.addAndGet(done);
                tokens -= done;
                any = true;
            }
        }
        rotate = (rotate + 1) % n;
        return any;
    }

    private void receiveRound(int timeoutMillis) {
        DatagramReceiver.receiveReady(epoll, fds, in, BATCH, timeoutMillis, this);
    }

    private int seal(int p, int slot) {
        try {
            return dtls.seal(secure[p], o.size(), slot);
        } catch (SSLException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void received(int p, MessageBatch in, int j, long now) {
        if (dtls == null) {
            check(p, in.data(), in.dataOffset(j), in.length(j), now);
            return;
        }
        try {
            if (!secure[p].established) {
                dtls.handshakeInput(secure[p], fds[p], j, in.length(j), now);
                return;
            }
            int n = dtls.open(secure[p], j, in.length(j));
            if (n > 0) {
                check(p, dtls.plainIn, 0, n, now);
            } else if (n < 0) {
                corrupt++;
            }
        } catch (SSLException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void check(int p, MemorySegment data, long at, int length, long now) {
        if (inflight[p] > 0) {
            inflight[p]--;
        }
        int peer = firstPeer + p;
        if (length != o.size() || Payload.peer(data, at) != peer) {
            corrupt++;
            return;
        }
        long seq = Payload.seq(data, at);
        if (!Payload.intact(data, at, length, peer, seq)) {
            corrupt++;
            return;
        }
        if (seq >= expected[p]) {
            expected[p] = seq + 1;
        } else {
            reordered++;
        }
        lastEcho[p] = now;
        latency.recordValue(Math.max(0, Math.min(now - Payload.sentAt(data, at), latency.getHighestTrackableValue())));
        echoed.incrementAndGet();
    }

    @Override
    public void close() {
        for (int fd : fds) {
            LibC.close(fd);
        }
        epoll.close();
        arena.close();
    }
}
