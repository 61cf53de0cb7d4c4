package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.transport.Transport;
import dev.abyss.server.transport.xdp.FrameCheck;
import dev.abyss.server.transport.xdp.FrameLayout;
import dev.abyss.server.transport.xdp.FrameParser;
import dev.abyss.server.transport.xdp.FrameWriter;
import dev.abyss.server.transport.xdp.NextHop;
import dev.abyss.server.transport.xdp.ReceivedFrame;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The test double of the frame-transport seam: a transport that owns Ethernet frames rather than a
 * socket, as an AF_XDP transport will (its rings here are two in-memory queues, nothing leaves the
 * JVM). It parses Ethernet / IPv4 / UDP with the AF_XDP transport's codec ({@link FrameParser},
 * {@link FrameWriter}), hands the engine the payload as a read-only view of its "UMEM" frame and
 * the facts it read from the IP header, and writes replies as whole frames through the next hop it
 * learned from the latest frame. It
 * follows the transport rules: send results reach the sink at the end of a turn, never inside send.
 */
final class FrameTransportDouble implements Transport {
    static final int MAX_FRAME = 2048;
    private static final Object WAKE = new Object();
    private static final long CLIENT_MAC = 0x02_00_00_00_00_02L;
    private static final long SERVER_MAC = 0x02_00_00_00_00_01L;
    private static final int INTERFACE = 7; // the double's "queue's interface"

    /** Frames arriving from the wire (byte[]), and wake-ups. */
    final LinkedBlockingQueue<Object> rx = new LinkedBlockingQueue<>();
    /** Frames the transport put on the wire. */
    final LinkedBlockingQueue<byte[]> tx = new LinkedBlockingQueue<>();
    /** Frames that were not IPv4/UDP to this address: dropped here, as a frame transport would pass them on. */
    int foreignFrames;

    private final InetSocketAddress local;
    private final PeerKey localKey;
    private final ReceiveSink receiver;
    private final SendSink sender;
    private final Arena arena = Arena.ofShared();
    /** The frame being delivered: the engine's view points into it, as into a UMEM chunk. */
    private final MemorySegment umem = arena.allocate(MAX_FRAME);
    /**
     * The AF_XDP transport's codec. Bound to the wildcard of the local family so that it reports the
     * destination it read (the double checks the address itself), as the double always did.
     */
    private final FrameParser parser;
    private final FrameWriter writer = new FrameWriter(64, 64, true);
    private final ReceivedFrame facts = new ReceivedFrame();
    /** The next hop learned from the latest frame (the double has one peer at a time). */
    private final NextHop hop = new NextHop();
    private final ArrayList<Object> settledTags = new ArrayList<>();
    private final ArrayList<byte[]> settledFrames = new ArrayList<>();
    private volatile boolean receiving = true;
    private volatile boolean closed;

    FrameTransportDouble(SocketAddress local, ReceiveSink receiver, SendSink sender) {
        this.local = (InetSocketAddress) local;
        this.localKey = new PeerKey().set(local);
        this.receiver = receiver;
        this.sender = sender;
        InetSocketAddress any = new InetSocketAddress(this.local.getAddress() instanceof java.net.Inet6Address ? "::" : "0.0.0.0",
                this.local.getPort());
        this.parser = new FrameParser(new PeerKey().set(any), false, INTERFACE, true, true, MAX_FRAME);
    }

    /** An Ethernet frame carrying UDP over IPv4 from {@code from} to {@code to} with {@code tos}, built by the codec. */
    static byte[] frame(InetSocketAddress from, InetSocketAddress to, int tos, byte[] payload) {
        MemorySegment f = MemorySegment.ofArray(new byte[MAX_FRAME]);
        int n = new FrameWriter(64, 64, true).write(f, 0, MAX_FRAME, new NextHop().set(SERVER_MAC, CLIENT_MAC, NextHop.UNTAGGED),
                new PeerKey().set(to), new PeerKey().set(from), tos, MemorySegment.ofArray(payload), 0, payload.length);
        if (n < 0) {
            throw new IllegalArgumentException("cannot frame " + from + " -> " + to + ": " + n);
        }
        return f.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }

    /** The parts of a frame a test checks: source, destination, TOS, payload; parsed by the codec. */
    record Parsed(InetSocketAddress from, InetSocketAddress to, int tos, byte[] payload) {
        static Parsed of(byte[] f) {
            MemorySegment s = MemorySegment.ofArray(f);
            int port = Short.toUnsignedInt(s.get(FrameLayout.NET_SHORT, FrameLayout.ETH_HEADER + FrameLayout.IP4_HEADER
                    + FrameLayout.UDP_DESTINATION_PORT)); // the peer's parser is bound to it
            ReceivedFrame r = new ReceivedFrame();
            FrameCheck c = new FrameParser(new PeerKey().setInet4(0, port, false), false, 1, true, true, MAX_FRAME).parse(s, 0, f.length, r);
            if (c != FrameCheck.OK) {
                throw new AssertionError("the transport wrote a bad frame: " + c);
            }
            return new Parsed((InetSocketAddress) r.source().toSocketAddress(),
                    (InetSocketAddress) r.destinationAddress().toSocketAddress(), r.receivedTrafficClass(),
                    s.asSlice(r.payloadOffset(), r.payloadLength()).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Override
    public SocketAddress localAddress() {
        return local;
    }

    @Override
    public int poll(long timeoutNanos) {
        int work = settle();
        try {
            Object first = timeoutNanos < 0 ? rx.take() : rx.poll(timeoutNanos, TimeUnit.NANOSECONDS);
            boolean begun = false;
            for (Object e = first; e != null; e = rx.poll()) {
                work++;
                if (e == WAKE || !receiving) {
                    continue;
                }
                if (!begun) {
                    receiver.beginBatch();
                    begun = true;
                }
                deliver((byte[]) e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return work + settle();
    }

    private void deliver(byte[] f) {
        if (f.length > umem.byteSize()) {
            foreignFrames++;
            return;
        }
        MemorySegment.copy(MemorySegment.ofArray(f), 0, umem, 0, f.length);
        if (parser.parse(umem, 0, f.length, facts) != FrameCheck.OK
                || (!local.getAddress().isAnyLocalAddress() && !facts.destinationAddress().equals(localKey))) {
            foreignFrames++;
            return;
        }
        hop.copyFrom(facts.hop());
        receiver.onDatagram(facts.source(), umem.asSlice(facts.payloadOffset(), facts.payloadLength()).asReadOnly(), facts);
    }

    @Override
    public boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        byte[] f = new byte[MAX_FRAME];
        int n = writer.write(MemorySegment.ofArray(f), 0, MAX_FRAME, hop, to, from != null ? from : localKey, trafficClass, src,
                offset, length);
        if (n < 0) {
            throw new IllegalStateException("the double cannot frame a send to " + to + ": " + n);
        }
        settledTags.add(tag); // reported at the end of the turn, not here
        settledFrames.add(Arrays.copyOf(f, n));
        return true;
    }

    /** Puts the queued frames on the wire and reports each to the send sink. */
    private int settle() {
        int n = settledFrames.size();
        for (int i = 0; i < n; i++) {
            byte[] f = settledFrames.get(i);
            int headers = FrameLayout.headerLength(false, false);
            sender.sent(settledTags.get(i), MemorySegment.ofArray(f), headers, f.length - headers);
            tx.add(f); // after the report: a test that sees the frame sees it counted
        }
        settledTags.clear();
        settledFrames.clear();
        return n;
    }

    @Override
    public int sendRoom() {
        return 64;
    }

    @Override
    public void flush() {
        settle();
    }

    @Override
    public void wakeup() {
        rx.add(WAKE);
    }

    @Override
    public void stopReceiving() {
        receiving = false;
    }

    @Override
    public void close() {
        if (!closed) {
            settle();
            closed = true;
            arena.close();
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }
}
