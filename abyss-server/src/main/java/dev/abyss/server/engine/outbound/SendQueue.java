package dev.abyss.server.engine.outbound;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The bounded many-producer, one-consumer queue through which other threads hand datagrams to an
 * acceptor: a ring of bytes in off-heap memory, so a send from another thread costs one copy and no
 * Java object.
 *
 * <p>A record is {@code [int length][int toLength | fromLength << 8 | (trafficClass + 1) << 16][to sockaddr]
 * [from sockaddr, 8-aligned][payload]}, 8-aligned: where it goes, where it leaves from (empty: the route's source)
 * and its traffic class are taken when the send is made, not when the acceptor drains it. A producer
 * claims space by advancing {@code tail} with a CAS, writes the body with plain stores and publishes
 * the record by storing its length last (release). The consumer reads the length (acquire); 0 means
 * "not yet published". It zeroes what it consumed before moving {@code head} (release), so a
 * producer that sees the new head also sees zeroed memory. A record that would not fit before the
 * end of the ring is preceded by a padding record (nameLength -1) that fills the rest.
 *
 * <p>Public, with its constructor, {@code offer} and {@code drain}, for abyss-bench's
 * {@code SendQueueBenchmark} (class path); the package stays unexported.
 */
public final class SendQueue {
    /** Told each queued datagram, in order; the segments are valid during the call only. */
    public interface Consumer {
        /**
         * One datagram: its destination's sockaddr at {@code nameAt}, its source's at {@code fromAt}
         * ({@code fromLength} 0: none), its traffic class (-1: the socket's) and its payload.
         */
        void onSend(MemorySegment ring, long nameAt, int nameLength, long fromAt, int fromLength, int trafficClass, long dataAt,
                    int dataLength);
    }

    static final int HEADER = 8;
    static final int MIN_CAPACITY = 1 << 18; // two records of the largest datagram fit
    private static final int PADDING = -1;
    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final VarHandle TAIL;
    private static final VarHandle HEAD;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TAIL = l.findVarHandle(SendQueue.class, "tail", long.class);
            HEAD = l.findVarHandle(SendQueue.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MemorySegment ring;
    private final MemorySegment zeros;
    private final long capacity;
    private final long mask;
    @SuppressWarnings("unused") // via TAIL
    private volatile long tail;
    @SuppressWarnings("unused") // via HEAD
    private volatile long head;

    /** A ring of at least {@code bytes} (rounded up to a power of two, at least {@link #MIN_CAPACITY}). */
    public SendQueue(Arena arena, int bytes) {
        long cap = Long.highestOneBit(Math.max(MIN_CAPACITY, bytes) - 1L) << 1;
        this.capacity = cap;
        this.mask = cap - 1;
        this.ring = arena.allocate(cap, 8);
        this.zeros = arena.allocate(align(HEADER + SockAddr.STORAGE_SIZE + 65_536), 8);
    }

    long capacity() {
        return capacity;
    }

    /**
     * Queues {@code length} bytes of {@code data} at {@code offset} for {@code peer}; any thread.
     *
     * @return false when the ring has no room (the caller counts the drop)
     */
    public boolean offer(PeerKey peer, MemorySegment data, long offset, int length) {
        return offer(peer, null, -1, data, offset, length);
    }

    /**
     * {@link #offer(PeerKey, MemorySegment, long, int)} from the source address {@code from} (null:
     * the route's) with the traffic class the datagram leaves with (-1: the socket's), both taken now
     * rather than when the acceptor drains it.
     */
    boolean offer(PeerKey peer, PeerKey from, int trafficClass, MemorySegment data, long offset, int length) {
        int nameLength = peer.encodedLength();
        int fromLength = from == null ? 0 : from.encodedLength();
        int fromOffset = fromOffset(nameLength, fromLength);
        int recordLength = fromOffset + fromLength + length;
        long aligned = align(recordLength);
        long at;
        long claimed;
        boolean pad;
        while (true) {
            long t = (long) TAIL.getVolatile(this);
            long h = (long) HEAD.getAcquire(this);
            long toEnd = capacity - (t & mask);
            pad = aligned > toEnd;
            claimed = pad ? toEnd + aligned : aligned;
            if (t + claimed - h > capacity) {
                return false;
            }
            if (TAIL.compareAndSet(this, t, t + claimed)) {
                at = t;
                break;
            }
        }
        if (pad) {
            long index = at & mask;
            ring.set(JAVA_INT, index + 4, PADDING);
            INT.setRelease(ring, index, (int) (capacity - index));
            at += capacity - index;
        }
        long index = at & mask;
        try {
            ring.set(JAVA_INT, index + 4, nameLength | fromLength << 8 | (trafficClass + 1) << 16); // a sockaddr is < 256 bytes
            peer.writeTo(ring, index + HEADER);
            if (from != null) {
                from.writeTo(ring, index + fromOffset); // aligned: sockaddr fields are read with aligned layouts
            }
            MemorySegment.copy(data, offset, ring, index + fromOffset + fromLength, length);
        } catch (RuntimeException e) {
            // the caller's segment is closed or confined to another thread: the claimed space is
            // published as padding, or every record behind it would wait forever
            ring.set(JAVA_INT, index + 4, PADDING);
            INT.setRelease(ring, index, (int) aligned);
            throw e;
        }
        INT.setRelease(ring, index, recordLength);
        return true;
    }

    /** True once the acceptor freed the ring (it exited): nothing can be queued any more. */
    boolean isClosed() {
        return !ring.scope().isAlive();
    }

    /** True when nothing is published or being written. */
    boolean isEmpty() {
        return (long) HEAD.getVolatile(this) == (long) TAIL.getVolatile(this);
    }

    /**
     * Hands up to {@code max} published datagrams to {@code consumer} (the owning acceptor only).
     *
     * @return how many datagrams were handed over
     */
    public int drain(Consumer consumer, int max) {
        long h = (long) HEAD.getVolatile(this); // plain would do: only this thread writes head
        int n = 0;
        while (n < max) {
            long index = h & mask;
            int length = (int) INT.getAcquire(ring, index);
            if (length == 0) {
                break; // not yet published
            }
            int nameAndClass = ring.get(JAVA_INT, index + 4);
            long aligned;
            if (nameAndClass == PADDING) {
                aligned = length;
            } else {
                aligned = align(length);
                int nameLength = nameAndClass & 0xFF;
                int fromLength = (nameAndClass >>> 8) & 0xFF;
                int fromOffset = fromOffset(nameLength, fromLength);
                consumer.onSend(ring, index + HEADER, nameLength, index + fromOffset, fromLength, (nameAndClass >>> 16) - 1,
                        index + fromOffset + fromLength, length - fromOffset - fromLength);
                n++;
            }
            MemorySegment.copy(zeros, 0, ring, index, aligned);
            h += aligned;
            HEAD.setRelease(this, h);
        }
        return n;
    }

    /** Where the source address starts in a record: after the destination, 8-aligned (none: right after it). */
    private static int fromOffset(int nameLength, int fromLength) {
        return fromLength == 0 ? HEADER + nameLength : (int) align(HEADER + nameLength);
    }

    private static long align(long n) {
        return (n + 7) & ~7L;
    }
}
