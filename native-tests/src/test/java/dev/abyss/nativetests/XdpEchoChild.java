package dev.abyss.nativetests;

import dev.abyss.ffi.xdp.XdpRedirect;
import dev.abyss.ffi.xdp.Xsk;
import dev.abyss.ffi.xdp.XskRing;
import dev.abyss.ffi.xdp.XskSocket;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The raw AF_XDP echo, without the server: runs in the server namespace, attaches
 * {@link XdpRedirect} to an interface (native mode), opens one {@link XskSocket} per RX queue and
 * answers every UDP datagram the program steers to it by swapping the Ethernet, IP and UDP addresses
 * in place (which leaves both checksums valid) and sending the same frame back on the TX ring. Prints
 * {@code READY pid=.. native=.. zerocopy=.. queues=..}, then on each line from stdin
 * {@code STATS echoed=.. q0=.. q1=..} with each socket's XDP_STATISTICS drops and the last TX kick's
 * result; exits when stdin closes.
 *
 * <p>Arguments: interface, UDP port, address to match ({@code any} for both families).
 */
public final class XdpEchoChild {
    private XdpEchoChild() {
    }

    private static volatile long lastKick;

    public static void main(String[] args) throws Exception {
        String iface = args[0];
        int port = Integer.parseInt(args[1]);
        byte[] address = "any".equals(args[2]) ? null : InetAddress.getByName(args[2]).getAddress();
        int ifindex = Xsk.interfaceIndex(iface);
        int queues = Xsk.rxQueues(iface);
        List<XskSocket> sockets = new ArrayList<>();
        long[] echoed = new long[queues];
        try (XdpRedirect redirect = XdpRedirect.attach(ifindex, queues, address, port, true)) {
            for (int q = 0; q < queues; q++) {
                XskSocket s = XskSocket.open(ifindex, q, 4096, 2048, 1024, XskSocket.CopyMode.AUTO);
                sockets.add(s);
                redirect.register(q, s.fd());
            }
            System.out.println("READY pid=" + ProcessHandle.current().pid() + " native=" + redirect.nativeMode()
                    + " zerocopy=" + sockets.getFirst().zeroCopy() + " queues=" + queues);
            Thread stdin = new Thread(() -> {
                try {
                    for (int c; (c = System.in.read()) >= 0; ) {
                        if (c == '\n') {
                            synchronized (echoed) {
                                StringBuilder b = new StringBuilder("STATS echoed=");
                                long sum = 0;
                                for (long e : echoed) {
                                    sum += e;
                                }
                                b.append(sum);
                                for (int q = 0; q < echoed.length; q++) {
                                    b.append(" q").append(q).append('=').append(echoed[q]);
                                }
                                for (int q = 0; q < sockets.size(); q++) {
                                    long[] st = new long[6];
                                    if (sockets.get(q).statistics(st)) {
                                        b.append(" q").append(q).append("_rx_dropped=").append(st[0])
                                                .append(" q").append(q).append("_rx_ring_full=").append(st[3]);
                                    } else {
                                        b.append(" q").append(q).append("_statistics=refused");
                                    }
                                }
                                b.append(" last_kick=").append(lastKick);
                                System.out.println(b);
                            }
                        }
                    }
                } catch (IOException ignored) {
                    // stdin gone: stop
                }
            }, "stdin");
            stdin.start();
            while (stdin.isAlive()) {
                boolean idle = true;
                for (int q = 0; q < queues; q++) {
                    int n = echo(sockets.get(q));
                    if (n > 0) {
                        idle = false;
                        synchronized (echoed) {
                            echoed[q] += n;
                        }
                    }
                }
                if (idle) {
                    sockets.getFirst().pollRx(queues == 1 ? 50 : 1);
                }
            }
        } finally {
            sockets.forEach(XskSocket::close);
        }
    }

    /** Echoes what the RX ring holds: each frame answered in place. */
    private static int echo(XskSocket s) {
        s.collectCompleted();
        XskRing rx = s.rx;
        XskRing tx = s.tx;
        int n = rx.available(64);
        n = tx.freeSlots(n);
        MemorySegment umem = s.umem();
        for (int i = 0; i < n; i++) {
            long at = rx.consumerEntry(i);
            long addr = rx.descAddress(at);
            int len = rx.descLength(at);
            swapInPlace(umem, addr, len);
            tx.desc(tx.producerEntry(i), addr, len);
        }
        if (n > 0) {
            rx.release(n);
            tx.submit(n);
            lastKick = s.kickTx();
        }
        s.refill();
        if (s.fill.needsWakeup()) {
            s.pollRx(0);
        }
        return n;
    }

    private static void swapInPlace(MemorySegment f, long base, int len) {
        swap(f, base, base + 6, 6);
        int l3 = 14;
        int type = ((f.get(JAVA_BYTE, base + 12) & 0xff) << 8) | (f.get(JAVA_BYTE, base + 13) & 0xff);
        if (type == 0x8100) {
            l3 = 18;
            type = ((f.get(JAVA_BYTE, base + 16) & 0xff) << 8) | (f.get(JAVA_BYTE, base + 17) & 0xff);
        }
        long ip = base + l3;
        long udp;
        long sum;
        if (type == 0x0800) {
            swap(f, ip + 12, ip + 16, 4);
            udp = ip + 20;
            sum = sum(f, ip + 12, 8) + 17;
        } else {
            swap(f, ip + 8, ip + 24, 16);
            udp = ip + 40;
            sum = sum(f, ip + 8, 32) + 17;
        }
        swap(f, udp, udp + 2, 2);
        // the whole UDP checksum again: over veth the sender's frame carries only the pseudo-header
        // part (checksum offload, CHECKSUM_PARTIAL), which XDP sees as it is
        int udpLength = ((f.get(JAVA_BYTE, udp + 4) & 0xff) << 8) | (f.get(JAVA_BYTE, udp + 5) & 0xff);
        f.set(JAVA_BYTE, udp + 6, (byte) 0);
        f.set(JAVA_BYTE, udp + 7, (byte) 0);
        sum += udpLength + sum(f, udp, Math.min(udpLength, (int) (base + len - udp)));
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        int check = (int) (~sum & 0xffff);
        if (check == 0) {
            check = 0xffff;
        }
        f.set(JAVA_BYTE, udp + 6, (byte) (check >>> 8));
        f.set(JAVA_BYTE, udp + 7, (byte) check);
    }

    private static long sum(MemorySegment f, long at, int n) {
        long s = 0;
        for (int i = 0; i + 1 < n; i += 2) {
            s += ((f.get(JAVA_BYTE, at + i) & 0xff) << 8) | (f.get(JAVA_BYTE, at + i + 1) & 0xff);
        }
        if ((n & 1) != 0) {
            s += (f.get(JAVA_BYTE, at + n - 1) & 0xff) << 8;
        }
        return s;
    }

    private static void swap(MemorySegment f, long a, long b, int n) {
        for (int i = 0; i < n; i++) {
            byte x = f.get(JAVA_BYTE, a + i);
            f.set(JAVA_BYTE, a + i, f.get(JAVA_BYTE, b + i));
            f.set(JAVA_BYTE, b + i, x);
        }
    }
}
