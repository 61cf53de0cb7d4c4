package dev.abyss.nativetests.reliability;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Established peers that keep talking: each has its own socket (one session) and a platform thread
 * that sends a numbered request, waits for its echo, checks it byte for byte and records the round
 * trip, then sends the next. A reply that does not come within {@code patience} is a loss (the next
 * request goes out; a late reply is counted as late, not as an answer).
 */
final class Talkers implements AutoCloseable {
    private static final int SIZE = 64;

    private final List<DatagramSocket> sockets = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<Reliability.Longs> rtts = new ArrayList<>();
    private final SocketAddress server;
    private final int patienceMillis;
    private final CountDownLatch started;
    private volatile boolean running = true;
    private volatile boolean recording;
    final AtomicLong exchanges = new AtomicLong();
    /** Exchanges per talker. */
    private final AtomicLongArray answered;
    final AtomicLong lost = new AtomicLong();
    final AtomicLong corrupt = new AtomicLong();
    final AtomicLong late = new AtomicLong();
    /** Longest round trip seen while recording, in nanoseconds. */
    final AtomicLong maxRtt = new AtomicLong();

    Talkers(SocketAddress server, int count, int patienceMillis) throws IOException {
        this.server = server;
        this.patienceMillis = patienceMillis;
        this.started = new CountDownLatch(count);
        this.answered = new AtomicLongArray(count);
        InetSocketAddress local = new InetSocketAddress(((InetSocketAddress) server).getAddress(), 0);
        for (int i = 0; i < count; i++) {
            DatagramSocket s = new DatagramSocket(local);
            s.setSoTimeout(patienceMillis);
            sockets.add(s);
            rtts.add(new Reliability.Longs());
        }
    }

    /** Starts every talker and waits until each has had its first answer. */
    Talkers start() throws InterruptedException {
        for (int i = 0; i < sockets.size(); i++) {
            int id = i;
            threads.add(Thread.ofPlatform().name("talker-" + i).daemon(true).start(() -> talk(id)));
        }
        if (!started.await(20, TimeUnit.SECONDS)) {
            throw new AssertionError("the established peers did not all get a first answer: " + started.getCount() + " missing");
        }
        return this;
    }

    /** Round trips from now on count in {@link #sortedRtts()} and {@link #maxRtt}. */
    void record(boolean on) {
        recording = on;
    }

    /** How many exchanges each talker has completed so far, in talker order. */
    List<Long> answeredPerTalker() {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < answered.length(); i++) {
            out.add(answered.get(i));
        }
        return out;
    }

    /** The addresses the talkers send from (their sessions' peers). */
    List<SocketAddress> addresses() {
        return sockets.stream().map(DatagramSocket::getLocalSocketAddress).toList();
    }

    private void talk(int id) {
        DatagramSocket s = sockets.get(id);
        byte[] out = new byte[SIZE];
        byte[] in = new byte[2048];
        DatagramPacket reply = new DatagramPacket(in, in.length);
        boolean first = true;
        long seq = 0;
        try {
            while (running) {
                seq++;
                ByteBuffer.wrap(out).putInt(id).putLong(seq);
                Arrays.fill(out, 12, SIZE, (byte) (seq * 7 + id));
                long t0 = System.nanoTime();
                boolean recordedWindow = recording;
                s.send(new DatagramPacket(out, SIZE, server));
                while (true) {
                    try {
                        reply.setLength(in.length);
                        s.receive(reply);
                    } catch (SocketTimeoutException e) {
                        if (running) {
                            lost.incrementAndGet();
                        }
                        break;
                    }
                    long gotSeq = ByteBuffer.wrap(in).getLong(4);
                    if (gotSeq != seq) {
                        late.incrementAndGet(); // an answer to an earlier request, after its patience ran out
                        continue;
                    }
                    long rtt = System.nanoTime() - t0;
                    if (reply.getLength() != SIZE || !Arrays.equals(in, 0, SIZE, out, 0, SIZE)) {
                        corrupt.incrementAndGet();
                    }
                    exchanges.incrementAndGet();
                    answered.incrementAndGet(id);
                    if (recordedWindow && recording) {
                        rtts.get(id).add(rtt);
                        maxRtt.accumulateAndGet(rtt, Math::max);
                    }
                    if (first) {
                        first = false;
                        started.countDown();
                    }
                    break;
                }
            }
        } catch (IOException e) {
            if (running) {
                lost.incrementAndGet();
            }
        }
    }

    /** Every recorded round trip, sorted (call after {@link #stop()}). */
    long[] sortedRtts() {
        return Reliability.Longs.sorted(rtts);
    }

    /**
     * Stops the talkers after their current exchange, keeping their sockets open (a closed socket
     * would draw ICMP port unreachable for the server's next reply and end its session).
     */
    void stop() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(patienceMillis + 5000L);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (DatagramSocket s : sockets) {
            s.close(); // a talker waiting for a reply stops at once
        }
        for (Thread t : threads) {
            t.join(patienceMillis + 5000L);
        }
    }
}
