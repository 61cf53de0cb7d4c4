package dev.abyss.server.transport;

import java.lang.foreign.MemorySegment;

/**
 * Send results a transport has but may not report yet: those of the sends it handed to the kernel
 * inside {@link Transport#send} or {@link Transport#sendRoom} to make room (a full sendmmsg batch,
 * a full io_uring send ring, a datagram NIO refuses at once). A {@link Transport.SendSink} itself,
 * so the code that produces results (a flush, a completion, the GSO fallback) writes to whichever
 * sink is current: the engine's at a reporting point, this one inside {@code send}. The transport
 * calls {@link #report()} at the start of its next reporting point ({@link Transport#poll},
 * {@link Transport#flush}, {@link Transport#settleSends}, {@link Transport#close}), which replays
 * the results to the engine's sink in the order they came.
 *
 * <p><b>Allocation.</b> Results live in parallel arrays preallocated for {@link #INITIAL_CAPACITY}
 * datagrams; a turn that keeps more doubles them once (never per datagram, never shrunk). Bytes
 * are kept only when the sink {@link Transport.SendSink#wantsBytes wants them} (the engine: while
 * telemetry listens to sends), copied into a spill area of {@link #SPILL_BYTES} allocated on the
 * first such copy. A result whose bytes were not kept (not wanted then, or the spill full) is
 * reported with {@code bytes} zero bytes: its counts are exact, its content is not.
 *
 * <p>Owner thread only.
 */
public final class DeferredResults implements Transport.SendSink {
    /** Results kept before the arrays grow: four full receive batches of replies at the default batch size. */
    static final int INITIAL_CAPACITY = 256;
    /** Bytes of kept datagrams copied aside per turn, at most; later ones are reported as zeros. */
    public static final int SPILL_BYTES = 1 << 20;
    /** Marks a {@link #coalesced} record in {@link #errnos} (its {@link #lengths} entry holds the segments). */
    private static final int COALESCED = -1;
    /** What a result whose bytes were not kept is reported with: longer than any datagram (65,535 bytes). */
    private static final MemorySegment ZEROS = MemorySegment.ofArray(new byte[65_536]).asReadOnly();

    private final Transport.SendSink sink;
    private Object[] tags = new Object[INITIAL_CAPACITY];
    private int[] lengths = new int[INITIAL_CAPACITY];
    /** 0: sent; above 0: failed with that errno; {@link #COALESCED}. */
    private int[] errnos = new int[INITIAL_CAPACITY];
    /** Where each datagram's bytes were copied in {@link #spill}, -1 when they were not kept. */
    private int[] spillAt = new int[INITIAL_CAPACITY];
    private int count;
    /** The next result {@link #report()} replays: where a report cut short by a throwing sink resumes. */
    private int head;
    private MemorySegment spill;
    private int spillUsed;

    /** @param sink where {@link #report()} replays the results: the transport's send sink */
    public DeferredResults(Transport.SendSink sink) {
        this.sink = sink;
    }

    /** {@return true when results wait for {@link #report()}} */
    public boolean pending() {
        return count > 0;
    }

    /**
     * Replays every kept result to the sink, oldest first, and forgets them. Only from a reporting
     * point of the transport. Returns the datagrams reported (sent or failed).
     */
    public int report() {
        int datagrams = 0;
        // a sink that sends while told (none does today) appends behind: reported in this loop too
        while (head < count) {
            int i = head++;
            Object tag = tags[i];
            tags[i] = null;
            int errno = errnos[i];
            if (errno == COALESCED) {
                sink.coalesced(lengths[i]);
                continue;
            }
            int at = spillAt[i];
            MemorySegment buffer = at >= 0 ? spill : ZEROS;
            long offset = at >= 0 ? at : 0;
            if (errno == 0) {
                sink.sent(tag, buffer, offset, lengths[i]);
            } else {
                sink.failed(tag, buffer, offset, lengths[i], errno);
            }
            datagrams++;
        }
        count = 0;
        head = 0;
        spillUsed = 0;
        return datagrams;
    }

    @Override
    public void sent(Object tag, MemorySegment buffer, long offset, int bytes) {
        keep(tag, buffer, offset, bytes, 0);
    }

    @Override
    public void failed(Object tag, MemorySegment buffer, long offset, int bytes, int errno) {
        keep(tag, buffer, offset, bytes, errno);
    }

    @Override
    public void coalesced(int segments) {
        keep(null, null, 0, segments, COALESCED);
    }

    @Override
    public boolean wantsBytes() {
        return sink.wantsBytes();
    }

    private void keep(Object tag, MemorySegment buffer, long offset, int length, int errno) {
        if (count == tags.length) {
            grow();
        }
        int i = count++;
        tags[i] = tag;
        lengths[i] = length;
        errnos[i] = errno;
        spillAt[i] = -1;
        if (buffer != null && length <= SPILL_BYTES - spillUsed && sink.wantsBytes()) {
            if (spill == null) {
                spill = MemorySegment.ofArray(new byte[SPILL_BYTES]); // once, and only while someone reads bytes
            }
            MemorySegment.copy(buffer, offset, spill, spillUsed, length);
            spillAt[i] = spillUsed;
            spillUsed += length;
        }
    }

    private void grow() {
        int n = 2 * tags.length;
        tags = java.util.Arrays.copyOf(tags, n);
        lengths = java.util.Arrays.copyOf(lengths, n);
        errnos = java.util.Arrays.copyOf(errnos, n);
        spillAt = java.util.Arrays.copyOf(spillAt, n);
    }
}
