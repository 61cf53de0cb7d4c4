package dev.abyss.server.transport;

/**
 * Turns the SO_RXQ_OVFL control messages of one socket's datagrams (read by
 * {@link ReceivedDatagram}) into {@link Transport.ReceiveSink#onKernelDrops} reports. The kernel
 * stamps each datagram it queues with the socket's cumulative drop count at that moment (a
 * {@code uint32}), and only once that count is
 * not zero: so a socket that never dropped costs one {@code msg_controllen} test per datagram. The
 * count is remembered and its increase reported, modulo 2<sup>32</sup> (an increase is less than
 * 2<sup>31</sup> between two datagrams); an older, smaller stamp (datagrams queued concurrently) is
 * ignored.
 *
 * <p>Drops are seen when the next datagram after them is read: the last drops of a burst are
 * reported with the first datagram that arrives after it. One per socket, owner thread only.
 */
public final class DropCounter {
    private final Transport.ReceiveSink sink;
    private int last;

    public DropCounter(Transport.ReceiveSink sink) {
        this.sink = sink;
    }

    /** Reports the increase of the cumulative count {@code count} (an SO_RXQ_OVFL value) over the last one seen. */
    void report(long count) {
        int delta = (int) count - last;
        if (delta > 0) {
            last = (int) count;
            sink.onKernelDrops(delta);
        }
    }

    /** The cumulative count last seen (the kernel's {@code uint32}). */
    public long lastCount() {
        return Integer.toUnsignedLong(last);
    }
}
