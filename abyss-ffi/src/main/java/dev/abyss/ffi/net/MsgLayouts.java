package dev.abyss.ffi.net;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code struct iovec}, {@code struct msghdr}, {@code struct mmsghdr}, {@code struct cmsghdr} and
 * {@code struct sock_extended_err} of 64-bit Linux, with their field offsets as constants for the
 * hot paths, and the CMSG macros.
 */
public final class MsgLayouts {
    private MsgLayouts() {
    }

    /** {@code struct iovec}: one buffer of a scatter/gather list. */
    public static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"),
            JAVA_LONG.withName("iov_len")).withName("iovec");

    /** {@code struct msghdr} (64-bit Linux): address, buffers, control data and flags of one message. */
    public static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"),
            JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"),
            JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4)).withName("msghdr");

    /** {@code struct mmsghdr}: a {@code msghdr} and the length received or sent, one entry of recvmmsg/sendmmsg. */
    public static final StructLayout MMSGHDR = MemoryLayout.structLayout(
            MSGHDR.withName("msg_hdr"),
            JAVA_INT.withName("msg_len"),
            MemoryLayout.paddingLayout(4)).withName("mmsghdr");

    /** {@code struct cmsghdr}: the header of one control message. */
    public static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"),
            JAVA_INT.withName("cmsg_level"),
            JAVA_INT.withName("cmsg_type")).withName("cmsghdr");

    /**
     * {@code struct sock_extended_err} ({@code <linux/errqueue.h>}): the data of an IP_RECVERR /
     * IPV6_RECVERR control message read from a socket's error queue ({@code MSG_ERRQUEUE}); the
     * address of the ICMP sender (SO_EE_OFFENDER) follows it in the same control message.
     */
    public static final StructLayout SOCK_EXTENDED_ERR = MemoryLayout.structLayout(
            JAVA_INT.withName("ee_errno"),
            JAVA_BYTE.withName("ee_origin"),
            JAVA_BYTE.withName("ee_type"),
            JAVA_BYTE.withName("ee_code"),
            JAVA_BYTE.withName("ee_pad"),
            JAVA_INT.withName("ee_info"),
            JAVA_INT.withName("ee_data")).withName("sock_extended_err");

    /**
     * {@code struct in_pktinfo} (IP_PKTINFO): the interface and destination of a received IPv4
     * datagram; on send, {@code ipi_spec_dst} chooses the source address. Addresses in network order.
     */
    public static final StructLayout IN_PKTINFO = MemoryLayout.structLayout(
            JAVA_INT.withName("ipi_ifindex"),
            JAVA_INT.withName("ipi_spec_dst"),
            JAVA_INT.withName("ipi_addr")).withName("in_pktinfo");

    /** {@code struct in6_pktinfo} (IPV6_PKTINFO): a datagram's IPv6 destination, or a reply's source, and interface. */
    public static final StructLayout IN6_PKTINFO = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("ipi6_addr"),
            JAVA_INT.withName("ipi6_ifindex")).withName("in6_pktinfo");

    /** Offset of {@code ipi_spec_dst} in {@code struct in_pktinfo}. */
    public static final long IPI_SPEC_DST = IN_PKTINFO.byteOffset(groupElement("ipi_spec_dst"));
    /** Offset of {@code ipi_addr} in {@code struct in_pktinfo}. */
    public static final long IPI_ADDR = IN_PKTINFO.byteOffset(groupElement("ipi_addr"));
    /** Offset of {@code ipi6_addr} in {@code struct in6_pktinfo}. */
    public static final long IPI6_ADDR = IN6_PKTINFO.byteOffset(groupElement("ipi6_addr"));
    /** Offset of {@code ipi6_ifindex} in {@code struct in6_pktinfo}. */
    public static final long IPI6_IFINDEX = IN6_PKTINFO.byteOffset(groupElement("ipi6_ifindex"));

    /** Offset of {@code iov_base} in {@code struct iovec}. */
    public static final long IOV_BASE = IOVEC.byteOffset(groupElement("iov_base"));
    /** Offset of {@code iov_len} in {@code struct iovec}. */
    public static final long IOV_LEN = IOVEC.byteOffset(groupElement("iov_len"));

    /** Offset of {@code msg_name} in {@code struct msghdr}. */
    public static final long MSG_NAME = MSGHDR.byteOffset(groupElement("msg_name"));
    /** Offset of {@code msg_namelen} in {@code struct msghdr}. */
    public static final long MSG_NAMELEN = MSGHDR.byteOffset(groupElement("msg_namelen"));
    /** Offset of {@code msg_iov} in {@code struct msghdr}. */
    public static final long MSG_IOV = MSGHDR.byteOffset(groupElement("msg_iov"));
    /** Offset of {@code msg_iovlen} in {@code struct msghdr}. */
    public static final long MSG_IOVLEN = MSGHDR.byteOffset(groupElement("msg_iovlen"));
    /** Offset of {@code msg_control} in {@code struct msghdr}. */
    public static final long MSG_CONTROL = MSGHDR.byteOffset(groupElement("msg_control"));
    /** Offset of {@code msg_controllen} in {@code struct msghdr}. */
    public static final long MSG_CONTROLLEN = MSGHDR.byteOffset(groupElement("msg_controllen"));
    /** Offset of {@code msg_flags} in {@code struct msghdr}. */
    public static final long MSG_FLAGS = MSGHDR.byteOffset(groupElement("msg_flags"));

    /** Offset of {@code msg_len} in {@code struct mmsghdr}; the header itself is at 0. */
    public static final long MMSG_LEN = MMSGHDR.byteOffset(groupElement("msg_len"));

    /** Offset of {@code cmsg_len} in {@code struct cmsghdr}. */
    public static final long CMSG_LEN_FIELD = CMSGHDR.byteOffset(groupElement("cmsg_len"));
    /** Offset of {@code cmsg_level} in {@code struct cmsghdr}. */
    public static final long CMSG_LEVEL = CMSGHDR.byteOffset(groupElement("cmsg_level"));
    /** Offset of {@code cmsg_type} in {@code struct cmsghdr}. */
    public static final long CMSG_TYPE = CMSGHDR.byteOffset(groupElement("cmsg_type"));

    /** Offset of {@code ee_errno} in {@code struct sock_extended_err}. */
    public static final long EE_ERRNO = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_errno"));
    /** Offset of {@code ee_origin} in {@code struct sock_extended_err}. */
    public static final long EE_ORIGIN = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_origin"));
    /** Offset of {@code ee_type} (the ICMP type) in {@code struct sock_extended_err}. */
    public static final long EE_TYPE = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_type"));
    /** Offset of {@code ee_code} (the ICMP code) in {@code struct sock_extended_err}. */
    public static final long EE_CODE = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_code"));

    /**
     * {@code CMSG_ALIGN}: control data is aligned to {@code size_t}.
     *
     * @param length a length in bytes
     * @return {@code length} rounded up to a multiple of 8
     */
    public static long cmsgAlign(long length) {
        return (length + 7) & ~7L;
    }

    /**
     * {@code CMSG_SPACE}: bytes a control message with {@code dataLength} bytes of data occupies.
     *
     * @param dataLength bytes of data
     * @return header, data and padding
     */
    public static long cmsgSpace(long dataLength) {
        return cmsgAlign(dataLength) + cmsgAlign(CMSGHDR.byteSize());
    }

    /** Offset of a control message's data from its header ({@code CMSG_DATA(c) - c}). */
    public static final long CMSG_DATA_OFFSET = cmsgAlign(CMSGHDR.byteSize());

    /**
     * {@code CMSG_LEN}: the value of {@code cmsg_len} for {@code dataLength} bytes of data.
     *
     * @param dataLength bytes of data
     * @return header and data, without the trailing padding
     */
    public static long cmsgLen(long dataLength) {
        return cmsgAlign(CMSGHDR.byteSize()) + dataLength;
    }
}
