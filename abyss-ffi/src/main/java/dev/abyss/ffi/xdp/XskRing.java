package dev.abyss.ffi.xdp;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One of the four single-producer single-consumer rings an AF_XDP socket shares with the kernel:
 * a power-of-two array of entries plus a producer and a consumer index (free-running u32) and a
 * flags word, at the offsets the kernel gave ({@code XDP_MMAP_OFFSETS}).
 *
 * <p>User space produces on the fill and TX rings and consumes the RX and completion rings. Each
 * side keeps a cached copy of the other side's index and reads the shared one only when the cache
 * says the ring looks full (producing) or empty (consuming), as libxdp does. Ordering, matching the
 * kernel's {@code smp_load_acquire}/{@code smp_store_release} pairs in {@code net/xdp/xsk_queue.h}:
 * <ul>
 *   <li>the other side's index is read with <b>acquire</b>, so the entries it covers (written by
 *       the kernel before it published the index) are seen;</li>
 *   <li>our index is written with <b>release</b>, so the entries we wrote (producing) or read
 *       (consuming) are done before the kernel sees the index move.</li>
 * </ul>
 * Not thread-safe: one thread owns a ring.
 */
public final class XskRing {
    private static final VarHandle INT = JAVA_INT.varHandle();

    private final MemorySegment map;
    private final long producer;
    private final long consumer;
    private final long flags;
    private final long desc;
    private final int mask;
    private final int size;
    private final int entryBytes;
    /** Our own index (producer of a ring we produce on, consumer of one we consume). */
    private int cachedProducer;
    private int cachedConsumer;

    /**
     * A ring over its mapping.
     *
     * @param map        the ring's mapping
     * @param producer   offset of the producer index
     * @param consumer   offset of the consumer index
     * @param flags      offset of the flags word
     * @param desc       offset of the first entry
     * @param size       entries, a power of two
     * @param entryBytes 8 (fill, completion: a UMEM address) or 16 (RX, TX: an {@code xdp_desc})
     */
    public XskRing(MemorySegment map, long producer, long consumer, long flags, long desc, int size, int entryBytes) {
        if (Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("ring size must be a power of two, was " + size);
        }
        this.map = map;
        this.producer = producer;
        this.consumer = consumer;
        this.flags = flags;
        this.desc = desc;
        this.size = size;
        this.mask = size - 1;
        this.entryBytes = entryBytes;
        // acquire: what the kernel set up before we mapped the ring
        this.cachedProducer = (int) INT.getAcquire(map, producer);
        this.cachedConsumer = (int) INT.getAcquire(map, consumer);
    }

    /**
     * {@return the ring's entries}
     */
    public int size() {
        return size;
    }

    // ---- producing (fill, TX) ------------------------------------------------------------------

    /**
     * How many of {@code wanted} entries can be written now (at {@link #producerEntry}).
     *
     * @param wanted entries the caller would like to write
     * @return at most {@code wanted}
     */
    public int freeSlots(int wanted) {
        int free = cachedConsumer + size - cachedProducer;
        if (free < wanted) {
            // acquire: the kernel has finished with the entries it consumed before it moved the index
            cachedConsumer = (int) INT.getAcquire(map, consumer);
            free = cachedConsumer + size - cachedProducer;
        }
        return Math.min(free, wanted);
    }

    /**
     * Byte offset (in {@link #memory()}) of the {@code i}-th entry past our producer index.
     *
     * @param i 0 up to what {@link #freeSlots} allowed
     * @return the entry's offset
     */
    public long producerEntry(int i) {
        return desc + (long) ((cachedProducer + i) & mask) * entryBytes;
    }

    /**
     * Publishes {@code n} written entries to the kernel.
     *
     * @param n entries written since the last submit
     */
    public void submit(int n) {
        cachedProducer += n;
        // release: the entries are written before the kernel can see the producer index cover them
        INT.setRelease(map, producer, cachedProducer);
    }

    /**
     * {@return entries submitted that the kernel has not taken yet (a producer ring)}
     */
    public int pending() {
        // acquire, as freeSlots: the kernel is done with what it consumed before it moved the index
        cachedConsumer = (int) INT.getAcquire(map, consumer);
        return cachedProducer - cachedConsumer;
    }

    // ---- consuming (RX, completion) ------------------------------------------------------------

    /**
     * How many entries, up to {@code max}, are ready to read (at {@link #consumerEntry}).
     *
     * @param max the most the caller will read
     * @return at most {@code max}
     */
    public int available(int max) {
        int ready = cachedProducer - cachedConsumer;
        if (ready == 0) {
            // acquire: the entries the kernel wrote before it published its producer index
            cachedProducer = (int) INT.getAcquire(map, producer);
            ready = cachedProducer - cachedConsumer;
        }
        return Math.min(ready, max);
    }

    /**
     * Byte offset of the {@code i}-th entry past our consumer index.
     *
     * @param i 0 up to what {@link #available} said
     * @return the entry's offset
     */
    public long consumerEntry(int i) {
        return desc + (long) ((cachedConsumer + i) & mask) * entryBytes;
    }

    /**
     * Gives {@code n} read entries back to the kernel.
     *
     * @param n entries read since the last release
     */
    public void release(int n) {
        cachedConsumer += n;
        // release: our reads of the entries are done before the kernel may overwrite them
        INT.setRelease(map, consumer, cachedConsumer);
    }

    // ---- flags and entries ---------------------------------------------------------------------

    /**
     * Whether the kernel waits for a syscall (XDP_USE_NEED_WAKEUP): the fill ring's flag asks for a
     * poll/recvfrom, the TX ring's for a sendto.
     *
     * @return whether to kick the kernel
     */
    public boolean needsWakeup() {
        // volatile: a full fence, so the flag is read after our index store (a stale flag would lose a wake-up)
        return ((int) INT.getVolatile(map, flags) & Xsk.XDP_RING_NEED_WAKEUP) != 0;
    }

    /**
     * {@return the ring's mapping, where the entries are read and written}
     */
    public MemorySegment memory() {
        return map;
    }

    /**
     * Reads a fill/completion entry (a UMEM address).
     *
     * @param at an entry's offset
     * @return the address
     */
    public long address(long at) {
        return map.get(JAVA_LONG, at);
    }

    /**
     * Writes a fill/completion entry.
     *
     * @param at an entry's offset
     * @param addr the UMEM address
     */
    public void address(long at, long addr) {
        map.set(JAVA_LONG, at, addr);
    }

    /**
     * Reads an RX/TX descriptor's address.
     *
     * @param at an entry's offset
     * @return the UMEM address
     */
    public long descAddress(long at) {
        return map.get(JAVA_LONG, at);
    }

    /**
     * Reads an RX/TX descriptor's length.
     *
     * @param at an entry's offset
     * @return the frame's length
     */
    public int descLength(long at) {
        return map.get(JAVA_INT, at + 8);
    }

    /**
     * Writes an RX/TX descriptor.
     *
     * @param at   an entry's offset
     * @param addr the frame's UMEM address
     * @param len  its length
     */
    public void desc(long at, long addr, int len) {
        map.set(JAVA_LONG, at, addr);
        map.set(JAVA_INT, at + 8, len);
        map.set(JAVA_INT, at + 12, 0);
    }
}
