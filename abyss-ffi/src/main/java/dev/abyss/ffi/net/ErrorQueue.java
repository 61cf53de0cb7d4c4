package dev.abyss.ffi.net;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Reads a socket's error queue ({@code recvmsg(fd, MSG_ERRQUEUE | MSG_DONTWAIT)}) into a
 * preallocated {@code msghdr}: with IP_RECVERR / IPV6_RECVERR on, each ICMP error about a datagram
 * the socket sent (port, host or network unreachable, ...) waits there as one entry whose
 * {@code msg_name} is the destination of that datagram and whose control message is a
 * {@code struct sock_extended_err} (level SOL_IP type IP_RECVERR, or SOL_IPV6 IPV6_RECVERR, also for
 * an IPv4 error read from a dual-stack IPv6 socket).
 *
 * <p>The entry's payload is the quote the ICMP error carried of the datagram it answers, from the
 * byte after its UDP header: as much of the UDP payload as the error quoted (Linux quotes up to 576
 * bytes of IPv4 packet, up to 1280 of IPv6; an old router may quote 8 bytes of UDP header, no payload
 * at all). Its first {@link #QUOTE_CAPACITY} bytes are read into {@link #quote()}; the rest of the
 * entry is consumed with it. Reading allocates nothing. One owner thread; the memory lives as long as
 * the owner's arena.
 */
public final class ErrorQueue {
    /** Control space: one extended error with its offender address (sockaddr_in6), and room to spare. */
    public static final int CONTROL_SPACE =
            (int) MsgLayouts.cmsgSpace(MsgLayouts.SOCK_EXTENDED_ERR.byteSize() + SockAddr.SOCKADDR_IN6.byteSize()) + 64;
    private static final long EE_SIZE = MsgLayouts.SOCK_EXTENDED_ERR.byteSize();
    /** Bytes of the quoted datagram read per entry: more than anyone compares. */
    public static final int QUOTE_CAPACITY = 64;

    private final MemorySegment msghdr;
    private final MemorySegment name;
    private final MemorySegment control;
    private final MemorySegment quote;
    private int quoteLength;
    private boolean quoteTruncated;
    private int errno;
    private int origin;
    private int type;
    private int code;
    private int nameLength;

    /**
     * A reader with its {@code msghdr}, address and control space in {@code arena}'s memory.
     *
     * @param arena owns the memory; the reader is unusable once it is closed
     */
    public ErrorQueue(Arena arena) {
        msghdr = arena.allocate(MsgLayouts.MSGHDR);
        name = arena.allocate(SockAddr.SOCKADDR_STORAGE);
        control = arena.allocate(CONTROL_SPACE, 8);
        quote = arena.allocate(QUOTE_CAPACITY, 8);
        MemorySegment iov = arena.allocate(MsgLayouts.IOVEC);
        iov.set(ADDRESS, MsgLayouts.IOV_BASE, quote);
        iov.set(JAVA_LONG, MsgLayouts.IOV_LEN, QUOTE_CAPACITY);
        msghdr.set(ADDRESS, MsgLayouts.MSG_NAME, name);
        msghdr.set(ADDRESS, MsgLayouts.MSG_IOV, iov);
        msghdr.set(JAVA_LONG, MsgLayouts.MSG_IOVLEN, 1);
        msghdr.set(ADDRESS, MsgLayouts.MSG_CONTROL, control);
    }

    /**
     * Reads the next entry of {@code fd}'s error queue without blocking.
     *
     * @param fd the socket
     * @return 1 when one was read (see the accessors), 0 when the queue is empty, {@code -errno} when the
     *         read failed otherwise
     */
    public int read(int fd) {
        msghdr.set(JAVA_INT, MsgLayouts.MSG_NAMELEN, SockAddr.STORAGE_SIZE);
        msghdr.set(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN, CONTROL_SPACE);
        msghdr.set(JAVA_INT, MsgLayouts.MSG_FLAGS, 0);
        long rc = LibC.recvmsg(fd, msghdr, Net.MSG_ERRQUEUE | Net.MSG_DONTWAIT);
        if (rc < 0) {
            return rc == -Errno.EAGAIN ? 0 : (int) rc;
        }
        quoteLength = (int) Math.min(rc, QUOTE_CAPACITY);
        quoteTruncated = (msghdr.get(JAVA_INT, MsgLayouts.MSG_FLAGS) & Net.MSG_TRUNC) != 0;
        nameLength = msghdr.get(JAVA_INT, MsgLayouts.MSG_NAMELEN);
        long controlLength = Math.min(msghdr.get(JAVA_LONG, MsgLayouts.MSG_CONTROLLEN), CONTROL_SPACE);
        long ee = ControlMessages.find(control, 0, controlLength, Net.SOL_IP, Net.IP_RECVERR);
        if (ee < 0) {
            ee = ControlMessages.find(control, 0, controlLength, Net.SOL_IPV6, Net.IPV6_RECVERR);
        }
        if (ee < 0 || ControlMessages.dataLength(control, ee) < EE_SIZE) {
            errno = 0;
            origin = Net.SO_EE_ORIGIN_NONE;
            type = 0;
            code = 0;
        } else {
            errno = control.get(JAVA_INT_UNALIGNED, ee + MsgLayouts.EE_ERRNO);
            origin = Byte.toUnsignedInt(control.get(JAVA_BYTE, ee + MsgLayouts.EE_ORIGIN));
            type = Byte.toUnsignedInt(control.get(JAVA_BYTE, ee + MsgLayouts.EE_TYPE));
            code = Byte.toUnsignedInt(control.get(JAVA_BYTE, ee + MsgLayouts.EE_CODE));
        }
        return 1;
    }

    /** {@return {@code ee_errno} of the last entry read: ECONNREFUSED for port unreachable, EHOSTUNREACH, ...; 0 when it had none} */
    public int errno() {
        return errno;
    }

    /** {@return {@code ee_origin} of the last entry read ({@link Net#SO_EE_ORIGIN_ICMP}, ...)} */
    public int origin() {
        return origin;
    }

    /** {@return true when the last entry read is an ICMP or ICMPv6 error (not a local one)} */
    public boolean fromIcmp() {
        return origin == Net.SO_EE_ORIGIN_ICMP || origin == Net.SO_EE_ORIGIN_ICMP6;
    }

    /** {@return the ICMP type of the last entry read ({@code ee_type})} */
    public int icmpType() {
        return type;
    }

    /** {@return the ICMP code of the last entry read ({@code ee_code})} */
    public int icmpCode() {
        return code;
    }

    /**
     * {@return the quote of the last entry read: the first {@link #quoteLength()} bytes of the UDP
     * payload of the datagram the error is about, as the error quoted it} Valid until the next read;
     * the segment is {@link #QUOTE_CAPACITY} bytes long, only the first {@code quoteLength()} are the quote.
     */
    public MemorySegment quote() {
        return quote;
    }

    /** {@return how many bytes of the last entry's quote were read (0..{@link #QUOTE_CAPACITY})} */
    public int quoteLength() {
        return quoteLength;
    }

    /** {@return true when the last entry's quote was longer than {@link #QUOTE_CAPACITY} (only that much was read)} */
    public boolean quoteTruncated() {
        return quoteTruncated;
    }

    /**
     * Reads the destination of the datagram the last entry is about (the peer the error concerns)
     * into {@code key}.
     *
     * @param key receives the address
     * @return false when the kernel gave no readable address
     */
    public boolean peer(PeerKey key) {
        return nameLength > 0 && nameLength <= SockAddr.STORAGE_SIZE && key.readFrom(name, 0, nameLength);
    }
}
