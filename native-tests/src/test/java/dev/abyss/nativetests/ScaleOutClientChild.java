package dev.abyss.nativetests;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Child JVM of {@link ScaleOutTest}: the clients, in a namespace of their own. Arguments: the
 * client address to bind, the virtual address and port, the number of peers (one socket and so
 * one source port each). Prints {@code READY}; for each {@code ROUND r} line on stdin every peer
 * sends one datagram to the virtual address and waits (2 s at most for the round) for its reply,
 * then one line {@code ANSWERS r N1 N2 ...}: per peer, the instance that answered, {@code -} for
 * no answer, {@code ?} for a reply that did not come from the virtual address or did not name the
 * peer's own address and port and payload. Stops at the end of stdin.
 */
public final class ScaleOutClientChild {
    private ScaleOutClientChild() {
    }

    public static void main(String[] args) throws Exception {
        InetAddress local = InetAddress.getByName(args[0]);
        InetSocketAddress vip = new InetSocketAddress(InetAddress.getByName(args[1]), Integer.parseInt(args[2]));
        int peers = Integer.parseInt(args[3]);
        DatagramChannel[] channels = new DatagramChannel[peers];
        Selector selector = Selector.open();
        for (int i = 0; i < peers; i++) {
            channels[i] = DatagramChannel.open().bind(new InetSocketAddress(local, 0));
            channels[i].configureBlocking(false);
            channels[i].register(selector, SelectionKey.OP_READ, i);
        }
        System.out.println("READY " + peers);
        System.out.flush();
        ByteBuffer buf = ByteBuffer.allocate(2_048);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (!line.startsWith("ROUND ")) {
                continue;
            }
            String round = line.substring(6).trim();
            String[] answer = new String[peers];
            Arrays.fill(answer, "-");
            String[] expected = new String[peers];
            for (int i = 0; i < peers; i++) {
                InetSocketAddress me = (InetSocketAddress) channels[i].getLocalAddress();
                String payload = "r" + round + "p" + i;
                expected[i] = me.getAddress().getHostAddress() + ":" + me.getPort() + " " + payload;
                channels[i].send(ByteBuffer.wrap(payload.getBytes(StandardCharsets.UTF_8)), vip);
            }
            int pending = peers;
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (pending > 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0 || selector.select(left) < 0) {
                    break;
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    int i = (Integer) key.attachment();
                    for (SocketAddress from; (from = channels[i].receive(buf.clear())) != null; ) {
                        String reply = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
                        int space = reply.indexOf(' ');
                        boolean good = from.equals(vip) && space > 0 && reply.substring(space + 1).equals(expected[i]);
                        if (answer[i].equals("-")) {
                            pending--;
                        }
                        answer[i] = good ? reply.substring(0, space) : "?";
                    }
                }
                selector.selectedKeys().clear();
            }
            System.out.println("ANSWERS " + round + " " + String.join(" ", answer));
            System.out.flush();
        }
        System.exit(0);
    }
}
