package dev.abyss.ffi.xdp;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;

import static dev.abyss.ffi.xdp.BpfAssembler.BPF_B;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_H;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_JGT;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_JEQ;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_JNE;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_JSET;
import static dev.abyss.ffi.xdp.BpfAssembler.BPF_W;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R0;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R1;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R2;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R3;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R4;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R5;
import static dev.abyss.ffi.xdp.BpfAssembler.Reg.R6;

/**
 * The XDP program that steers one UDP port to AF_XDP sockets, with its XSKMAP and its link: UDP
 * datagrams to the bound address and port go to the socket of the RX queue they arrived on; every
 * other frame (ARP, ICMP, other ports, IPv4 with options or fragments, IPv6 with extension headers,
 * anything too short) is passed to the kernel's stack unchanged. When the queue has no socket in the
 * map the frame is passed too (the {@code bpf_redirect_map} fallback), so nothing is dropped here.
 *
 * <p>Closing this detaches the program: it was attached through a BPF link, whose last file
 * descriptor closing (at {@link #close}, or when the process dies) removes it from the interface.
 */
public final class XdpRedirect implements AutoCloseable {
    /** {@code XDP_PASS}: the program's verdict: on to the kernel's stack. */
    public static final int XDP_PASS = 2;
    /** {@code BPF_FUNC_redirect_map}: helper number of {@code bpf_redirect_map(map, key, flags)}. */
    public static final int BPF_FUNC_redirect_map = 51;

    // struct xdp_md field offsets (the context of an XDP program)
    private static final int MD_DATA = 0;
    private static final int MD_DATA_END = 4;
    private static final int MD_RX_QUEUE_INDEX = 16;

    private final int mapFd;
    private final int progFd;
    private final int linkFd;
    private final boolean nativeMode;
    private boolean closed;

    private XdpRedirect(int mapFd, int progFd, int linkFd, boolean nativeMode) {
        this.mapFd = mapFd;
        this.progFd = progFd;
        this.linkFd = linkFd;
        this.nativeMode = nativeMode;
    }

    /**
     * The program's instructions.
     *
     * @param mapFd   the XSKMAP
     * @param address the destination to match: 4 bytes (IPv4 only), 16 bytes (IPv6 only), all zero for
     *                any address of that family, or null for any address of both
     * @param port    the UDP destination port
     * @return the program, 8 bytes an instruction
     */
    public static byte[] program(int mapFd, byte[] address, int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, was " + port);
        }
        boolean v4 = address == null || address.length == 4;
        boolean v6 = address == null || address.length == 16;
        if (!v4 && !v6) {
            throw new IllegalArgumentException("an address is 4 or 16 bytes, was " + address.length);
        }
        boolean matchAddress = address != null && !allZero(address);
        int portImm = Short.toUnsignedInt(Short.reverseBytes((short) port)); // network order, read as little-endian
        BpfAssembler a = new BpfAssembler();
        a.mov64(R6, R1)                                 // r6 = ctx: kept across the helper call
                .load(BPF_W, R2, R1, MD_DATA)           // r2 = data
                .load(BPF_W, R3, R1, MD_DATA_END)       // r3 = data_end
                .mov64(R4, R2).add64Imm(R4, 14)
                .jump64(BPF_JGT, R4, R3, "pass")        // no Ethernet header
                .load(BPF_B, R5, R2, 0)
                .jump32Imm(BPF_JSET, R5, 1, "pass")     // multicast or broadcast MAC: the kernel's (group members, SO_BROADCAST)
                .load(BPF_H, R5, R2, 12)                // r5 = ethertype (network order)
                .jump32Imm(BPF_JNE, R5, 0x0081, "l3")   // not 802.1Q
                .mov64(R4, R2).add64Imm(R4, 18)
                .jump64(BPF_JGT, R4, R3, "pass")
                .load(BPF_H, R5, R2, 16)                // the ethertype behind the tag
                .add64Imm(R2, 4)                        // r2 + 14 is the IP header from here on
                .label("l3");
        if (v4) {
            a.jump32Imm(BPF_JEQ, R5, 0x0008, "ipv4");
        }
        if (v6) {
            a.jump32Imm(BPF_JEQ, R5, 0xdd86, "ipv6");
        }
        a.jump("pass");
        if (v4) {
            a.label("ipv4")
                    .mov64(R4, R2).add64Imm(R4, 14 + 20 + 8)
                    .jump64(BPF_JGT, R4, R3, "pass")     // IPv4 + UDP headers not all there
                    .load(BPF_B, R5, R2, 14)
                    .jump32Imm(BPF_JNE, R5, 0x45, "pass")  // not version 4, or options
                    .load(BPF_H, R5, R2, 14 + 6)
                    .jump32Imm(BPF_JSET, R5, 0xff3f, "pass") // MF or an offset: a fragment, the kernel reassembles
                    .load(BPF_B, R5, R2, 14 + 9)
                    .jump32Imm(BPF_JNE, R5, 17, "pass");  // not UDP
            if (matchAddress) {
                a.load(BPF_W, R5, R2, 14 + 16).jump32Imm(BPF_JNE, R5, littleEndianInt(address, 0), "pass");
            }
            a.load(BPF_H, R5, R2, 14 + 20 + 2)
                    .jump32Imm(BPF_JNE, R5, portImm, "pass")
                    .jump("redirect");
        }
        if (v6) {
            a.label("ipv6")
                    .mov64(R4, R2).add64Imm(R4, 14 + 40 + 8)
                    .jump64(BPF_JGT, R4, R3, "pass")
                    .load(BPF_B, R5, R2, 14)
                    .and32Imm(R5, 0xf0)
                    .jump32Imm(BPF_JNE, R5, 0x60, "pass") // not version 6
                    .load(BPF_B, R5, R2, 14 + 6)
                    .jump32Imm(BPF_JNE, R5, 17, "pass");  // next header not UDP (extension headers, fragments)
            if (matchAddress) {
                for (int i = 0; i < 4; i++) {
                    a.load(BPF_W, R5, R2, 14 + 24 + 4 * i).jump32Imm(BPF_JNE, R5, littleEndianInt(address, 4 * i), "pass");
                }
            }
            a.load(BPF_H, R5, R2, 14 + 40 + 2)
                    .jump32Imm(BPF_JNE, R5, portImm, "pass");
        }
        a.label("redirect")
                .load(BPF_W, R2, R6, MD_RX_QUEUE_INDEX)  // key: the RX queue
                .loadMapFd(R1, mapFd)
                .mov64Imm(R3, XDP_PASS)                  // flags: the verdict when the queue has no socket
                .call(BPF_FUNC_redirect_map)
                .exit()
                .label("pass")
                .mov64Imm(R0, XDP_PASS)
                .exit();
        return a.assemble();
    }

    /**
     * Creates the XSKMAP, loads the program and attaches it to {@code ifindex}: in the driver when
     * {@code nativeMode}, else generic.
     *
     * @param ifindex    the interface
     * @param queues     the XSKMAP's slots (the interface's RX queues)
     * @param address    as in {@link #program}
     * @param port       the UDP port
     * @param nativeMode driver mode (fails where the driver has no XDP) or generic
     * @return the attached program
     * @throws NativeException when a step fails (EPERM: CAP_BPF and CAP_NET_ADMIN needed; the
     *                         verifier's refusal with its log; EBUSY: the interface has a program)
     */
    public static XdpRedirect attach(int ifindex, int queues, byte[] address, int port, boolean nativeMode)
            throws NativeException {
        int map = BpfSyscall.createXskMap("abyss_xsks", queues);
        int prog = -1;
        try {
            prog = BpfSyscall.loadXdpProgram("abyss_udp", program(map, address, port));
            int link = BpfSyscall.attachXdp(prog, ifindex,
                    nativeMode ? BpfSyscall.XDP_FLAGS_DRV_MODE : BpfSyscall.XDP_FLAGS_SKB_MODE);
            return new XdpRedirect(map, prog, link, nativeMode);
        } catch (NativeException | RuntimeException e) {
            if (prog >= 0) {
                LibC.close(prog);
            }
            LibC.close(map);
            throw e;
        }
    }

    /**
     * Steers queue {@code queue}'s datagrams to socket {@code xskFd}.
     *
     * @param queue the RX queue
     * @param xskFd a bound AF_XDP socket on that queue
     * @throws NativeException when the kernel refuses
     */
    public void register(int queue, int xskFd) throws NativeException {
        BpfSyscall.updateElement(mapFd, queue, xskFd);
    }

    /**
     * {@return whether the program runs in the driver (native mode), else generic}
     */
    public boolean nativeMode() {
        return nativeMode;
    }

    /**
     * {@return the program's file descriptor}
     */
    public int programFd() {
        return progFd;
    }

    /** Detaches the program (the link closes) and frees it and the map. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LibC.close(linkFd);
        LibC.close(progFd);
        LibC.close(mapFd);
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static int littleEndianInt(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }
}
