package dev.abyss.bench.load;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.ControlMessages;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;
import org.HdrHistogram.Histogram;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

/**
 * The bulk load generator's thread: every peer a connected non-blocking socket keeping
 * {@code window} requests in flight (one sendmmsg per peer and round), reply datagrams received
 * with recvmmsg (with UDP_GRO: coalesced receives of up to 64 KiB split at the segment size the
 * kernel reports in the UDP_GRO control message). Every reply datagram is checked (length, request,
 * index, no duplicate, body pattern) and counted against the request it answers; a request not
 * answered in full within {@link #TIMEOUT_NANOS} is lost and its slot reused.
 */
final class BulkWorker implements Runnable, AutoCloseable, DatagramReceiver {
    /** A request with replies missing this long after it was sent is lost. */
    static final long TIMEOUT_NANOS = 300_000_000L;
    private static final int GRO_SLOT = 65_536;
    private static final int SOCKET_BUFFER = 4 << 20;

    final Histogram latency = new Histogram(60_000_000_000L, 3);
    long requests;
    long completed;
    long lost;
    long late;
    long corrupt;
    long datagrams;
    long receives;
    /** Reply bytes so far, for the progress line of another thread. */
    volatile long publishedBytes;
    /** Requests answered in full so far, for the count limit seen by another thread. */
    volatile long publishedCompleted;

    private final BulkOptions o;
    private final int window;
    private final int[] fds;
    private final long[] nextSeq;
    private final int[] inflight;
    // per peer p and slot w, at p * window + w
    private final boolean[] used;
    private final long[] slotSeq;
    private final long[] slotMask;
    private final int[] slotGot;
    private final long[] slotSent;
    private final int[] pending;
    private final Arena arena = Arena.ofShared();
    private final MessageBatch out;
    private final MessageBatch in;
    private final int batch;
    private final Epoll epoll;
    private final long budget;
    private volatile boolean stop;

    BulkWorker(BulkOptions o) throws NativeException {
        this.o = o;
        this.window = o.window();
        int peers = o.peers();
        this.fds = new int[peers];
        this.nextSeq = new long[peers];
        this.inflight = new int[peers];
        this.used = new boolean[peers * window];
        this.slotSeq = new long[peers * window];
        this.slotMask = new long[peers * window];
        this.slotGot = new int[peers * window];
        this.slotSent = new long[peers * window];
        this.pending = new int[window];
        this.out = new MessageBatch(arena, window, Bulk.REQUEST, 0);
        // GRO: a receive holds up to 64 KiB of segments (one GSO send on loopback); its segment size comes in a control message
        this.batch = o.gro() ? 16 : 64;
        this.in = o.gro() ? new MessageBatch(arena, batch, GRO_SLOT, 32) : new MessageBatch(arena, batch, 2048, 0);
        this.epoll = Epoll.create(Math.min(peers, 1024));
        this.budget = o.count() == 0 ? Long.MAX_VALUE : o.count();
        int family = o.target().getAddress() instanceof java.net.Inet6Address ? Net.AF_INET6 : Net.AF_INET;
        try {
            for (int i = 0; i < peers; i++) {
                int fd = Sockets.openDatagram(family, true);
                fds[i] = fd;
                Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, SOCKET_BUFFER, "SO_RCVBUF");
                if (o.gro()) {
                    Sockets.setInt(fd, Net.SOL_UDP, Net.UDP_GRO, 1, "UDP_GRO");
                }
                Sockets.bind(fd, new InetSocketAddress(o.target().getAddress(), 0));
                Sockets.connect(fd, o.target());
                epoll.add(fd, Epoll.EPOLLIN, i);
            }
        } catch (NativeException | RuntimeException e) {
            close();
            throw e;
        }
    }

    void stop() {
        stop = true;
    }

    @Override
    public void run() {
        long nextExpiry = System.nanoTime() + TIMEOUT_NANOS / 8;
        while (!stop && completed < budget) {
            long now = System.nanoTime();
            boolean sentSome = sendRound(now);
            receiveRound(sentSome ? 0 : 1);
            if (now >= nextExpiry) {
                expire(now);
                nextExpiry = now + TIMEOUT_NANOS / 8;
            }
        }
        // let the requests in flight finish before counting them lost
        long drainUntil = System.nanoTime() + TIMEOUT_NANOS;
        while (System.nanoTime() < drainUntil && anyInflight()) {
            receiveRound(10);
        }
        expire(Long.MAX_VALUE);
    }

    private boolean anyInflight() {
        for (int n : inflight) {
            if (n > 0) {
                return true;
            }
        }
        return false;
    }

    private void expire(long now) {
        for (int s = 0; s < used.length; s++) {
            if (used[s] && (now == Long.MAX_VALUE || now - slotSent[s] > TIMEOUT_NANOS)) {
                used[s] = false;
                inflight[s / window]--;
                lost++;
            }
        }
    }

    private boolean sendRound(long now) {
        boolean any = false;
        MemorySegment data = out.data();
        for (int p = 0; p < fds.length; p++) {
            int free = window - inflight[p];
            if (free <= 0) {
                continue;
            }
            int count = 0;
            for (int w = 0; w < window && count < free; w++) {
                int s = p * window + w;
                if (!used[s]) {
                    pending[count] = s;
                    Bulk.writeRequest(data, out.dataOffset(count), o.replies(), p, nextSeq[p] + count);
                    out.prepareSend(count, Bulk.REQUEST, 0);
                    count++;
                }
            }
            int done = out.send(fds[p], 0, count, Net.MSG_DONTWAIT);
            for (int i = 0; i < done; i++) {
                int s = pending[i];
                used[s] = true;
                slotSeq[s] = nextSeq[p] + i;
                slotMask[s] = 0;
                slotGot[s] = 0;
                slotSent[s] = now;
            }
            if (done > 0) {
                nextSeq[p] += done;
                inflight[p] += done;
                requests += done;
                any = true;
            }
        }
        return any;
    }

    private void receiveRound(int timeoutMillis) {
        DatagramReceiver.receiveReady(epoll, fds, in, batch, timeoutMillis, this);
        publishedBytes = datagrams * Bulk.SEGMENT;
        publishedCompleted = completed;
    }

    /** A receive: one reply datagram, or with GRO several coalesced, split at the segment size the kernel reports. */
    @Override
    public void received(int p, MessageBatch in, int j, long now) {
        receives++;
        int length = in.length(j);
        if (in.truncated(j)) {
            corrupt++;
            return;
        }
        int segment = length;
        if (o.gro()) {
            long c = ControlMessages.find(in.controls(), in.controlOffset(j), in.controlLength(j), Net.SOL_UDP, Net.UDP_GRO);
            if (c >= 0) {
                segment = in.controls().get(JAVA_INT_UNALIGNED, c);
            }
        }
        if (segment <= 0) {
            corrupt++;
            return;
        }
        MemorySegment data = in.data();
        long base = in.dataOffset(j);
        for (int at = 0; at < length; at += segment) {
            check(p, data, base + at, Math.min(segment, length - at), now);
        }
    }

    private void check(int p, MemorySegment data, long at, int length, long now) {
        if (length != Bulk.SEGMENT || Bulk.replies(data, at) != o.replies() || Bulk.peer(data, at) != p) {
            corrupt++;
            return;
        }
        int index = Bulk.index(data, at);
        if (index < 0 || index >= o.replies() || !Bulk.bodyIntact(data, at)) {
            corrupt++;
            return;
        }
        long seq = Bulk.seq(data, at);
        int s = -1;
        for (int w = 0; w < window; w++) {
            int k = p * window + w;
            if (used[k] && slotSeq[k] == seq) {
                s = k;
                break;
            }
        }
        if (s < 0) {
            if (seq >= 0 && seq < nextSeq[p]) {
                late++; // its request was counted lost already
            } else {
                corrupt++;
            }
            return;
        }
        long bit = 1L << index;
        if ((slotMask[s] & bit) != 0) {
            corrupt++; // a duplicate
            return;
        }
        slotMask[s] |= bit;
        datagrams++;
        if (++slotGot[s] == o.replies()) {
            used[s] = false;
            inflight[p]--;
            completed++;
            latency.recordValue(Math.max(0, Math.min(now - slotSent[s], latency.getHighestTrackableValue())));
        }
    }

    @Override
    public void close() {
        for (int fd : fds) {
            if (fd > 0) {
                LibC.close(fd);
            }
        }
        epoll.close();
        arena.close();
    }
}
