package dev.abyss.server.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.transport.DatagramFacts;
import dev.abyss.server.transport.Transport;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The test double of the frame-transport seam: a transport that owns Ethernet frames rather than a
 * socket, as an AF_XDP transport will (its rings here are two in-memory queues, nothing leaves the
 * JVM). It parses Ethernet / IPv4 / UDP in Java, hands the engine the payload as a read-only view of
 * its "UMEM" frame and the facts it read from the IP header, and writes replies as whole frames. It
 * follows the transport rules: send results reach the sink at the end of a turn, never inside send.
 */
final class FrameTransportDouble implements Transport {
    static final int ETH = 14;
    static final int IPV4 = 20;
    static final int UDP = 8;
    static final int HEADERS = ETH + IPV4 + UDP;
    private static final Object WAKE = new Object();

    /** Frames arriving from the wire (byte[]), and wake-ups. */
    final LinkedBlockingQueue<Object> rx = new LinkedBlockingQueue<>();
    /** Frames the transport put on the wire. */
    final LinkedBlockingQueue<byte[]> tx = new LinkedBlockingQueue<>();
    /** Frames that were not IPv4/UDP to this address: dropped here, as a frame transport would pass them on. */
    int foreignFrames;

    private final InetSocketAddress local;
    private final ReceiveSink receiver;
    private final SendSink sender;
    private final Arena arena = Arena.ofShared();
    /** The frame being delivered: the engine's view points into it, as into a UMEM chunk. */
    private final MemorySegment umem = arena.allocate(2048);
    private final Facts facts = new Facts();
    private final PeerKey peer = new PeerKey();
    private final ArrayList<Object> settledTags = new ArrayList<>();
    private final ArrayList<byte[]> settledFrames = new ArrayList<>();
    private volatile boolean receiving = true;
    private volatile boolean closed;

    FrameTransportDouble(SocketAddress local, ReceiveSink receiver, SendSink sender) {
        this.local = (InetSocketAddress) local;
        this.receiver = receiver;
        this.sender = sender;
    }

    /** What the IP and UDP headers said about the frame being delivered. */
    private static final class Facts implements DatagramFacts {
        final PeerKey destination = new PeerKey();
        int tos;

        @Override
        public PeerKey destinationKey() {
            return destination;
        }

        @Override
        public SocketAddress destination() {
            return destination.toSocketAddress();
        }

        @Override
        public int interfaceIndex() {
            return 7; // the double's "queue's interface"
        }

        @Override
        public int trafficClass() {
            return tos;
        }

        @Override
        public long timestampNanos() {
            return -1;
        }

        @Override
        public int segmentSize() {
            return 0;
        }

        @Override
        public boolean truncated() {
            return false;
        }
    }

    /** An Ethernet frame carrying UDP over IPv4 from {@code from} to {@code to} with {@code tos}. */
    static byte[] frame(InetSocketAddress from, InetSocketAddress to, int tos, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(HEADERS + payload.length);
        b.put(new byte[]{2, 0, 0, 0, 0, 2}).put(new byte[]{2, 0, 0, 0, 0, 1}).putShort((short) 0x0800);
        int ipStart = b.position();
        b.put((byte) 0x45).put((byte) tos).putShort((short) (IPV4 + UDP + payload.length)).putShort((short) 0).putShort((short) 0)
                .put((byte) 64).put((byte) 17).putShort((short) 0)
                .put(from.getAddress().getAddress()).put(to.getAddress().getAddress());
        int sum = 0;
        for (int i = ipStart; i < ipStart + IPV4; i += 2) {
            sum += b.getShort(i) & 0xFFFF;
        }
        sum = (sum & 0xFFFF) + (sum >>> 16);
        b.putShort(ipStart + 10, (short) ~(sum + (sum >>> 16)));
        b.putShort((short) from.getPort()).putShort((short) to.getPort()).putShort((short) (UDP + payload.length)).putShort((short) 0);
        b.put(payload);
        return b.array();
    }

    /** The parts of a frame a test checks: source, destination, TOS, payload. */
    record Parsed(InetSocketAddress from, InetSocketAddress to, int tos, byte[] payload) {
        static Parsed of(byte[] f) throws UnknownHostException {
            ByteBuffer b = ByteBuffer.wrap(f);
            byte[] src = new byte[4];
            byte[] dst = new byte[4];
            b.get(ETH + 12, src).get(ETH + 16, dst);
            int udp = ETH + IPV4;
            byte[] payload = new byte[(b.getShort(udp + 4) & 0xFFFF) - UDP];
            b.get(HEADERS, payload);
            return new Parsed(new InetSocketAddress(InetAddress.getByAddress(src), b.getShort(udp) & 0xFFFF),
                    new InetSocketAddress(InetAddress.getByAddress(dst), b.getShort(udp + 2) & 0xFFFF), b.get(ETH + 1) & 0xFF, payload);
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
        if (f.length < HEADERS || f.length > umem.byteSize()) {
            foreignFrames++;
            return;
        }
        MemorySegment.copy(MemorySegment.ofArray(f), 0, umem, 0, f.length);
        ByteBuffer b = umem.asByteBuffer();
        int dstPort = b.getShort(ETH + IPV4 + 2) & 0xFFFF;
        int dstIp = b.getInt(ETH + 16);
        if (b.getShort(12) != 0x0800 || b.get(ETH) != 0x45 || b.get(ETH + 9) != 17 || dstPort != local.getPort()
                || dstIp != ByteBuffer.wrap(local.getAddress().getAddress()).getInt()) {
            foreignFrames++;
            return;
        }
        int length = (b.getShort(ETH + IPV4 + 4) & 0xFFFF) - UDP;
        peer.setInet4(b.getInt(ETH + 12), b.getShort(ETH + IPV4) & 0xFFFF, false);
        facts.destination.setInet4(dstIp, dstPort, false);
        facts.tos = b.get(ETH + 1) & 0xFF;
        receiver.onDatagram(peer, umem.asSlice(HEADERS, length).asReadOnly(), facts);
    }

    @Override
    public boolean send(Object tag, PeerKey to, PeerKey from, int trafficClass, MemorySegment src, long offset, int length) {
        InetSocketAddress source = from != null ? (InetSocketAddress) from.toSocketAddress() : local;
        byte[] payload = src.asSlice(offset, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] f = frame(new InetSocketAddress(source.getAddress(), local.getPort()), (InetSocketAddress) to.toSocketAddress(),
                Math.max(0, trafficClass), payload);
        settledTags.add(tag); // reported at the end of the turn, not here
        settledFrames.add(f);
        return true;
    }

    /** Puts the queued frames on the wire and reports each to the send sink. */
    private int settle() {
        int n = settledFrames.size();
        for (int i = 0; i < n; i++) {
            byte[] f = settledFrames.get(i);
            sender.sent(settledTags.get(i), MemorySegment.ofArray(f), HEADERS, f.length - HEADERS);
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
