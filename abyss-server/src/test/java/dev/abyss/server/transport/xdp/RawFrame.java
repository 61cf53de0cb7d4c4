package dev.abyss.server.transport.xdp;

import java.io.ByteArrayOutputStream;

/**
 * Builds test frames byte by byte, independently of the codec (no shared constants, no shared
 * checksum code): every field can be set to a wrong value, and the checksums are computed by
 * {@link #referenceChecksum} the textbook way (16-bit words, carries folded on every add) unless a
 * test overrides them.
 */
final class RawFrame {
    byte[] dstMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    byte[] srcMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    int[][] tags = {}; // 802.1Q / QinQ tags: each {tpid, tci}
    int etherType = -1; // -1: from the IP version
    boolean ipv6;
    // IPv4
    int version = -1; // -1: 4 or 6
    int ihl = 5;
    byte[] options = {};
    int tos;
    int totalLength = -1; // -1: computed
    int id = 0x1234;
    int flagsFragment = 0x4000;
    int ttl = 64;
    int protocol = 17;
    int ipChecksum = -1; // -1: computed
    byte[] src = {(byte) 198, 18, 0, 2};
    byte[] dst = {(byte) 198, 18, 0, 1};
    // IPv6
    int flowLabel = 0x12345;
    int payloadLength = -1; // -1: computed
    int hopLimit = 64;
    // UDP
    int srcPort = 40000;
    int dstPort = 5353;
    int udpLength = -1; // -1: computed
    int udpChecksum = -1; // -1: computed; -2: zero (none)
    byte[] payload = "hello".getBytes();
    int trailer; // bytes of padding after the IP packet

    static RawFrame v4() {
        return new RawFrame();
    }

    static RawFrame v6() {
        RawFrame f = new RawFrame();
        f.ipv6 = true;
        f.src = addr6("fd00::2");
        f.dst = addr6("fd00::1");
        f.protocol = 17;
        return f;
    }

    static byte[] addr6(String s) {
        try {
            return java.net.InetAddress.getByName(s).getAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    byte[] build() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(dstMac);
        b.writeBytes(srcMac);
        for (int[] t : tags) {
            put16(b, t[0]);
            put16(b, t[1]);
        }
        put16(b, etherType >= 0 ? etherType : ipv6 ? 0x86DD : 0x0800);
        byte[] udp = udp();
        if (ipv6) {
            int v = version >= 0 ? version : 6;
            put32(b, v << 28 | tos << 20 | flowLabel);
            put16(b, payloadLength >= 0 ? payloadLength : udp.length);
            b.write(protocol);
            b.write(hopLimit);
            b.writeBytes(src);
            b.writeBytes(dst);
        } else {
            byte[] h = new byte[20 + options.length];
            int v = version >= 0 ? version : 4;
            h[0] = (byte) (v << 4 | ihl);
            h[1] = (byte) tos;
            int total = totalLength >= 0 ? totalLength : h.length + udp.length;
            h[2] = (byte) (total >> 8);
            h[3] = (byte) total;
            h[4] = (byte) (id >> 8);
            h[5] = (byte) id;
            h[6] = (byte) (flagsFragment >> 8);
            h[7] = (byte) flagsFragment;
            h[8] = (byte) ttl;
            h[9] = (byte) protocol;
            System.arraycopy(src, 0, h, 12, 4);
            System.arraycopy(dst, 0, h, 16, 4);
            System.arraycopy(options, 0, h, 20, options.length);
            int c = ipChecksum >= 0 ? ipChecksum : referenceChecksum(h, 0, h.length);
            h[10] = (byte) (c >> 8);
            h[11] = (byte) c;
            b.writeBytes(h);
        }
        b.writeBytes(udp);
        b.writeBytes(new byte[trailer]);
        return b.toByteArray();
    }

    private byte[] udp() {
        byte[] u = new byte[8 + payload.length];
        int len = udpLength >= 0 ? udpLength : u.length;
        u[0] = (byte) (srcPort >> 8);
        u[1] = (byte) srcPort;
        u[2] = (byte) (dstPort >> 8);
        u[3] = (byte) dstPort;
        u[4] = (byte) (len >> 8);
        u[5] = (byte) len;
        System.arraycopy(payload, 0, u, 8, payload.length);
        int c;
        if (udpChecksum == -2) {
            c = 0;
        } else if (udpChecksum >= 0) {
            c = udpChecksum;
        } else {
            c = referenceUdpChecksum(src, dst, u);
        }
        u[6] = (byte) (c >> 8);
        u[7] = (byte) c;
        return u;
    }

    /** The UDP checksum over the pseudo-header (IPv4 or IPv6 by the address length) and {@code udp} (checksum field 0). */
    static int referenceUdpChecksum(byte[] src, byte[] dst, byte[] udp) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(src);
        p.writeBytes(dst);
        if (src.length == 4) {
            p.write(0);
            p.write(17);
            put16(p, udp.length);
        } else {
            put32(p, udp.length);
            put32(p, 17);
        }
        byte[] copy = udp.clone();
        copy[6] = 0;
        copy[7] = 0;
        p.writeBytes(copy);
        byte[] all = p.toByteArray();
        int c = referenceChecksum(all, 0, all.length);
        return c == 0 ? 0xFFFF : c;
    }

    /** RFC 1071 the slow way: add each 16-bit word, fold the carry at once, complement. */
    static int referenceChecksum(byte[] b, int from, int length) {
        int sum = 0;
        for (int i = 0; i < length; i += 2) {
            int hi = b[from + i] & 0xFF;
            int lo = i + 1 < length ? b[from + i + 1] & 0xFF : 0;
            sum += hi << 8 | lo;
            if (sum > 0xFFFF) {
                sum = (sum & 0xFFFF) + 1;
            }
        }
        return ~sum & 0xFFFF;
    }

    static void put16(ByteArrayOutputStream b, int v) {
        b.write(v >> 8);
        b.write(v);
    }

    static void put32(ByteArrayOutputStream b, int v) {
        put16(b, v >>> 16);
        put16(b, v);
    }
}
