package dev.abyss.server.transport;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.net.MsgLayouts;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Generic segmentation offload for one socket's sends: decides whether the datagram being queued
 * joins the send queued just before it (same peer, source, traffic class and tag; no larger than
 * its segments; the one before not shorter), so that several datagrams to one peer leave as one
 * kernel send with a UDP_SEGMENT control message ({@link SendControl#writeSegment}) and the kernel
 * cuts them apart. The transport keeps the bytes contiguous and tells it when the open send was
 * handed to the kernel ({@link #close()}).
 *
 * <p>Segments are at most {@link #MAX_SEGMENT_SIZE} bytes, so that they fit the MTU of an Ethernet
 * path. A refused GSO send ({@link #splits}) is sent again datagram by datagram
 * ({@link #reportRefused}), so nothing is lost to the offload:
 * <ul>
 *   <li>EMSGSIZE: the segments exceed the path MTU to that peer (a smaller MTU on the way, or one
 *       an ICMP "fragmentation needed" lowered), where a plain datagram would be fragmented. That
 *       send is split, and the peer is remembered with the segment size its path refused (a small
 *       direct-mapped table, {@link #SMALL_PATHS} places, newer peers overwrite older ones): sends
 *       to it of that size or more are no longer coalesced. GSO stays on for everyone else.</li>
 *   <li>EIO (the device cannot checksum) or EINVAL: when the datagrams then go out one by one, GSO
 *       was the cause and is turned off for the socket, said once in the log; when they fail too,
 *       the cause was elsewhere (e.g. a source address no longer local) and GSO stays on.</li>
 * </ul>
 * The one-by-one sends use MSG_DONTWAIT: one that finds the kernel's send buffer full fails with
 * EAGAIN (counted as a send error) rather than block the acceptor.
 *
 * <p>Both native transports report a GSO send's results through here ({@link #reportSent},
 * {@link #reportRefused}), each datagram on its own, to whichever send sink is current (the
 * engine's, or {@link DeferredResults} inside a send). Owner thread only.
 */
public final class Gso {
    private static final Logger LOG = LoggerFactory.getLogger(Gso.class);

    /** Largest segment coalesced: an IPv6 datagram's payload on a 1,500-byte MTU. */
    public static final int MAX_SEGMENT_SIZE = 1_452;
    /** Most payload bytes in one GSO send: what one IPv4 datagram could carry. */
    public static final int MAX_BYTES = 65_507;
    /** Most segments in one GSO send (the kernel takes 64 since 4.18, 128 since 6.9). */
    public static final int MAX_SEGMENTS = 64;

    /** Places in the table of peers whose path refused a segment size. */
    public static final int SMALL_PATHS = 64;

    private final String socketName;
    private final int maxSegments;
    private final MemorySegment single; // msghdr + iovec for sending a refused send's datagrams one by one
    private final PeerKey refusedPeer = new PeerKey(); // the peer of a refused send (rare path)
    private boolean on;
    /** Peers whose path MTU refused a GSO segment size, by hash; created on the first refusal. */
    private PeerKey[] smallPaths;
    private int[] refusedSizes;

    private boolean open;
    private Object tag;
    private final PeerKey to = new PeerKey();
    private final PeerKey from = new PeerKey();
    private boolean hasFrom;
    private int trafficClass;
    private int size;
    private int segments;
    private int bytes;

    /**
     * @param on          whether the server asked for GSO (and the socket is an IP socket)
     * @param maxSegments most segments per send ({@link #MAX_SEGMENTS}; larger only to test a refusal)
     * @param arena       where the fallback's msghdr lives
     * @param socketName  for the one log line
     */
    public Gso(boolean on, int maxSegments, Arena arena, String socketName) {
        this.on = on;
        this.maxSegments = maxSegments;
        this.socketName = socketName;
        this.single = arena.allocate(MsgLayouts.MSGHDR.byteSize() + MsgLayouts.IOVEC.byteSize(), 8);
    }

    /** True while the socket coalesces (not refused). */
    public boolean on() {
        return on;
    }

    /** True when a datagram with these attributes can join the open send. */
    public boolean joins(Object tag, PeerKey to, PeerKey from, int trafficClass, int length) {
        return open && length > 0 && length <= size && segments < maxSegments && bytes + length <= MAX_BYTES
                && tag == this.tag && trafficClass == this.trafficClass && to.equals(this.to)
                && (from == null ? !hasFrom : hasFrom && from.equals(this.from));
    }

    /** A send was queued on its own: later datagrams may join it. */
    public void start(Object tag, PeerKey to, PeerKey from, int trafficClass, int length) {
        open = on && length > 0 && length <= MAX_SEGMENT_SIZE && (smallPaths == null || fitsPath(to, length));
        if (!open) {
            return;
        }
        this.tag = tag;
        this.to.copyFrom(to);
        this.hasFrom = from != null;
        if (from != null) {
            this.from.copyFrom(from);
        }
        this.trafficClass = trafficClass;
        this.size = length;
        this.segments = 1;
        this.bytes = length;
    }

    /** A datagram of {@code length} bytes joined the open send; returns its segment count now. */
    public int join(int length) {
        segments++;
        bytes += length;
        if (length < size) {
            open = false; // a shorter segment can only be the last
        }
        return segments;
    }

    /** False when {@code to}'s path refused segments of {@code length} bytes or less. */
    private boolean fitsPath(PeerKey to, int length) {
        int i = to.hashCode() & (SMALL_PATHS - 1);
        PeerKey known = smallPaths[i];
        return known == null || length < refusedSizes[i] || !known.equals(to);
    }

    /** {@return the open send's segment size} */
    public int segmentSize() {
        return size;
    }

    /** {@return the open send's payload bytes so far} */
    public int bytes() {
        return bytes;
    }

    /** The open send was handed to the kernel (or moved): nothing joins it any more. */
    public void close() {
        open = false;
        tag = null;
    }

    /**
     * Whether a GSO send refused with {@code errno} is to be sent again datagram by datagram
     * ({@link #reportRefused}): EMSGSIZE, EIO, EINVAL. Any other errno fails the datagrams as it
     * would have failed them one by one.
     */
    public boolean splits(int errno) {
        return errno == Errno.EMSGSIZE || errno == Errno.EIO || errno == Errno.EINVAL;
    }

    /**
     * Reports a GSO send the kernel took: each of its datagrams ({@code total} bytes at
     * {@code offset} in {@code data}, cut every {@code segmentSize}) as sent on its own, then the
     * {@code segments} as coalesced.
     */
    public static void reportSent(Transport.SendSink to, Object tag, MemorySegment data, long offset, int total,
                                  int segmentSize, int segments) {
        for (int at = 0; at < total; at += segmentSize) {
            to.sent(tag, data, offset + at, Math.min(segmentSize, total - at));
        }
        to.coalesced(segments);
    }

    /**
     * Reports a GSO send the kernel refused with {@code errno}. Where GSO may be the cause
     * ({@link #splits}) its datagrams are sent again one by one now with sendmsg, each reported as
     * it went, and the refusal is learnt from ({@link #refused}); otherwise each fails with the
     * errno, as it would have alone.
     *
     * @param msghdr the refused send's: its peer and its control messages, the last one UDP_SEGMENT
     * @param names  where its peer's address is ({@code msg_namelen} bytes at {@code nameAt}), to
     *               remember a path too small for its segments
     * @param data   its {@code total} bytes at {@code offset}, {@code segmentSize}-byte datagrams
     */
    public void reportRefused(Transport.SendSink to, int fd, MemorySegment msghdr, MemorySegment names, long nameAt,
                              Object tag, MemorySegment data, long offset, int total, int segmentSize, int errno) {
        if (!splits(errno)) {
            for (int at = 0; at < total; at += segmentSize) {
                to.failed(tag, data, offset + at, Math.min(segmentSize, total - at), errno);
            }
            return;
        }
        boolean each = sendEach(to, fd, msghdr, tag, data, offset, total, segmentSize);
        boolean known = refusedPeer.readFrom(names, nameAt, msghdr.get(JAVA_INT, MsgLayouts.MSG_NAMELEN));
        refused(errno, each, known ? refusedPeer : null, segmentSize);
    }

    /**
     * A GSO send of {@code segmentSize}-byte segments to {@code to} refused with {@code errno} was
     * sent again one by one; {@code eachSent}: every datagram went out. EMSGSIZE with every datagram
     * sent: the path to that peer is too small for such segments, remembered. EIO or EINVAL with
     * every datagram sent: GSO itself was refused, and goes off for the socket.
     */
    public void refused(int errno, boolean eachSent, PeerKey to, int segmentSize) {
        if (!eachSent || !on) {
            return; // the datagrams failed alone too: the cause was not GSO
        }
        if (errno == Errno.EMSGSIZE) {
            if (to == null) {
                return;
            }
            if (smallPaths == null) {
                smallPaths = new PeerKey[SMALL_PATHS];
                refusedSizes = new int[SMALL_PATHS];
            }
            int i = to.hashCode() & (SMALL_PATHS - 1);
            if (smallPaths[i] == null) {
                smallPaths[i] = new PeerKey();
            }
            smallPaths[i].copyFrom(to);
            refusedSizes[i] = segmentSize;
            return;
        }
        on = false;
        close();
        LOG.warn("UDP GSO refused by the kernel on {} ({}): sending one datagram per send on this socket from now on",
                socketName, Errno.name(errno));
    }

    /**
     * Sends a refused GSO send's datagrams one by one with sendmsg (the send's {@code msghdr} gives
     * the peer and the control messages, less the trailing UDP_SEGMENT one) and reports each.
     * Returns true when every one was sent.
     */
    private boolean sendEach(Transport.SendSink to, int fd, MemorySegment msghdr, Object tag, MemorySegment data,
                             long offset, int total, int segmentSize) {
        long iov = MsgLayouts.MSGHDR.byteSize();
        MemorySegment.copy(msghdr, 0, single, 0, MsgLayouts.MSGHDR.byteSize());
        long control = msghdr.get(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN) - SendControl.SEGMENT_SPACE;
        single.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, Math.max(0, control));
        single.set(ADDRESS, MsgLayouts.MSG_IOV, single.asSlice(iov, MsgLayouts.IOVEC.byteSize()));
        single.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
        single.set(JAVA_INT, MsgLayouts.MSG_FLAGS, 0);
        boolean all = true;
        for (int at = 0; at < total; at += segmentSize) {
            int length = Math.min(segmentSize, total - at);
            single.set(JAVA_LONG, iov + MsgLayouts.IOV_BASE, data.address() + offset + at);
            single.set(JAVA_LONG, iov + MsgLayouts.IOV_LEN, length);
            long rc;
            do {
                rc = LibC.sendmsg(fd, single, Net.MSG_DONTWAIT);
            } while (rc == -Errno.EINTR);
            if (rc >= 0) {
                to.sent(tag, data, offset + at, length);
            } else {
                all = false;
                to.failed(tag, data, offset + at, length, (int) -rc);
            }
        }
        return all;
    }
}
