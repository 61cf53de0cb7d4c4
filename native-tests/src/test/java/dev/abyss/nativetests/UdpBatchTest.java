package dev.abyss.nativetests;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.net.SockAddr;
import dev.abyss.ffi.net.Sockets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.SocketAddress;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** sendmmsg/recvmmsg through the real kernel over IPv4 and IPv6 loopback, errno and truncation. */
class UdpBatchTest {

    @ParameterizedTest(name = "{0}, batch {1}")
    @CsvSource({"127.0.0.1, 1", "127.0.0.1, 64", "::1, 1", "::1, 64"})
    void roundTripInBatches(String host, int batchSize) throws Exception {
        int server = Loopback.bound(host);
        int client = Loopback.bound(host);
        try (Arena arena = Arena.ofConfined()) {
            MessageBatch out = new MessageBatch(arena, batchSize, 256, 0);
            MessageBatch in = new MessageBatch(arena, batchSize, 256, 0);
            SocketAddress serverAddress = Loopback.local(server);
            SocketAddress clientAddress = Loopback.local(client);
            PeerKey expectedPeer = new PeerKey().set(clientAddress);

            // client -> server: batchSize datagrams in one sendmmsg, datagram i is i+1 bytes of value i
            for (int i = 0; i < batchSize; i++) {
                out.data().asSlice(out.dataOffset(i), i + 1).fill((byte) i);
                out.prepareSend(i, i + 1, Loopback.name(out, i, serverAddress));
            }
            assertEquals(batchSize, LibC.check(out.send(client, 0, batchSize, 0), "sendmmsg"));

            PeerKey key = new PeerKey();
            Loopback.receiveAll(server, in, batchSize, (seq, b, i) -> {
                assertEquals(seq + 1, b.length(i), "length of datagram " + seq);
                assertEquals(0, b.flags(i) & Net.MSG_TRUNC);
                for (int j = 0; j <= seq; j++) {
                    assertEquals((byte) seq, b.data().get(JAVA_BYTE, b.dataOffset(i) + j));
                }
                assertTrue(key.readFrom(b.names().asSlice(b.nameOffset(i)), b.nameLength(i)));
                assertEquals(expectedPeer, key, "sender of datagram " + seq);
            });
            // server -> client: one batch addressed with the key decoded above
            for (int i = 0; i < batchSize; i++) {
                in.data().asSlice(in.dataOffset(i), 4).set(JAVA_INT, 0, 1000 + i);
                in.prepareSend(i, 4, key.writeTo(in.names().asSlice(in.nameOffset(i))));
            }
            assertEquals(batchSize, LibC.check(in.send(server, 0, batchSize, 0), "sendmmsg"));
            PeerKey serverKey = new PeerKey().set(serverAddress);
            Loopback.receiveAll(client, out, batchSize, (seq, b, i) -> {
                assertEquals(4, b.length(i));
                assertEquals(1000 + seq, b.data().get(JAVA_INT, b.dataOffset(i)));
                PeerKey from = new PeerKey();
                assertTrue(from.readFrom(b.names().asSlice(b.nameOffset(i)), b.nameLength(i)));
                assertEquals(serverKey, from);
            });
        } finally {
            Loopback.close(server, client);
        }
    }

    @Test
    void aDatagramLargerThanTheSlotIsFlaggedTruncated() throws Exception {
        int server = Loopback.bound("127.0.0.1");
        int client = Loopback.bound("127.0.0.1");
        try (Arena arena = Arena.ofConfined()) {
            MessageBatch out = new MessageBatch(arena, 1, 2000, 0);
            MessageBatch in = new MessageBatch(arena, 1, 100, 0);
            out.prepareSend(0, 1500, Loopback.name(out, 0, Loopback.local(server)));
            assertEquals(1, out.send(client, 0, 1, 0));
            assertEquals(1, Loopback.receive(server, in, 1));
            assertTrue(in.truncated(0), "MSG_TRUNC expected, flags=" + in.flags(0));
            assertEquals(100, in.length(0), "only the slot's worth is copied");

            // with MSG_TRUNC in the call flags the kernel reports the real length
            out.prepareSend(0, 1500, Loopback.name(out, 0, Loopback.local(server)));
            assertEquals(1, out.send(client, 0, 1, 0));
            assertEquals(1, Loopback.receive(server, in, 1, Net.MSG_TRUNC));
            assertTrue(in.truncated(0));
            assertEquals(1500, in.length(0), "the datagram's real length");
        } finally {
            Loopback.close(server, client);
        }
    }

    @Test
    void zeroLengthDatagramsArriveAsEmpty() throws Exception {
        int server = Loopback.bound("127.0.0.1");
        int client = Loopback.bound("127.0.0.1");
        try (Arena arena = Arena.ofConfined()) {
            MessageBatch out = new MessageBatch(arena, 1, 16, 0);
            MessageBatch in = new MessageBatch(arena, 1, 16, 0);
            out.prepareSend(0, 0, Loopback.name(out, 0, Loopback.local(server)));
            assertEquals(1, out.send(client, 0, 1, 0));
            assertEquals(1, Loopback.receive(server, in, 1));
            assertEquals(0, in.length(0));
            assertEquals(0, in.flags(0));
        } finally {
            Loopback.close(server, client);
        }
    }

    @Test
    void bindToAPortInUseIsEaddrinuseNamingTheAddress() throws Exception {
        int first = Loopback.bound("127.0.0.1");
        int second = Sockets.openDatagram(Net.AF_INET, true);
        try {
            SocketAddress taken = Loopback.local(first);
            NativeException e = assertThrows(NativeException.class, () -> Sockets.bind(second, taken));
            assertEquals(Errno.EADDRINUSE, e.errno());
            assertEquals("EADDRINUSE", e.errnoName());
            assertTrue(e.getMessage().contains(taken.toString()), e.getMessage());
        } finally {
            Loopback.close(first, second);
        }
    }

    @Test
    void callsOnABadDescriptorAreEbadf() throws Exception {
        int fd = Loopback.bound("127.0.0.1");
        Sockets.close(fd);
        NativeException e = assertThrows(NativeException.class, () -> Sockets.close(fd));
        assertEquals(Errno.EBADF, e.errno());
        try (Arena arena = Arena.ofConfined()) {
            MessageBatch b = new MessageBatch(arena, 4, 64, 0);
            assertEquals(-Errno.EBADF, b.receive(fd, 4, Net.MSG_DONTWAIT));
            assertEquals(-Errno.EBADF, b.send(fd, 0, 1, 0));
        }
        assertEquals(Errno.EBADF, assertThrows(NativeException.class, () -> Sockets.localAddress(fd)).errno());
    }

    @Test
    void anEmptyNonBlockingSocketIsEagain() throws Exception {
        int fd = Loopback.bound("::1");
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(-Errno.EAGAIN, new MessageBatch(arena, 8, 64, 0).receive(fd, 8, Net.MSG_DONTWAIT));
        } finally {
            Loopback.close(fd);
        }
    }

    @Test
    void socketOptionsRoundTrip() throws Exception {
        int fd = Sockets.openDatagram(Net.AF_INET6, true);
        try {
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEPORT, 1, "SO_REUSEPORT");
            assertEquals(1, Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_REUSEPORT, "SO_REUSEPORT"));
            Sockets.setInt(fd, Net.IPPROTO_IPV6, Net.IPV6_V6ONLY, 1, "IPV6_V6ONLY");
            assertEquals(1, Sockets.getInt(fd, Net.IPPROTO_IPV6, Net.IPV6_V6ONLY, "IPV6_V6ONLY"));
            Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, 65536, "SO_RCVBUF");
            assertTrue(Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_RCVBUF, "SO_RCVBUF") >= 65536);
            assertEquals(Net.SOCK_DGRAM, Sockets.getInt(fd, Net.SOL_SOCKET, Net.SO_TYPE, "SO_TYPE"));
            NativeException bad = assertThrows(NativeException.class,
                    () -> Sockets.setInt(fd, Net.SOL_SOCKET, 4242, 1, "option 4242"));
            assertEquals(Errno.ENOPROTOOPT, bad.errno());
            assertTrue(bad.getMessage().contains("option 4242"), bad.getMessage());
        } finally {
            Loopback.close(fd);
        }
    }

    @Test
    void unixDatagramSocketsCarryTheirPathAsPeer() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("abyss-unix");
        SocketAddress serverPath = java.net.UnixDomainSocketAddress.of(dir.resolve("s"));
        SocketAddress clientPath = java.net.UnixDomainSocketAddress.of(dir.resolve("c"));
        int server = Sockets.openDatagram(Net.AF_UNIX, true);
        int client = Sockets.openDatagram(Net.AF_UNIX, true);
        try (Arena arena = Arena.ofConfined()) {
            Sockets.bind(server, serverPath);
            Sockets.bind(client, clientPath);
            MessageBatch out = new MessageBatch(arena, 1, 64, 0);
            MessageBatch in = new MessageBatch(arena, 1, 64, 0);
            out.data().set(JAVA_INT, 0, 77);
            out.prepareSend(0, 4, Loopback.name(out, 0, serverPath));
            assertEquals(1, out.send(client, 0, 1, 0));
            assertEquals(1, Loopback.receive(server, in, 1));
            assertEquals(77, in.data().get(JAVA_INT, 0));
            MemorySegment name = in.names().asSlice(0, in.nameLength(0));
            assertEquals(clientPath, SockAddr.read(name, in.nameLength(0)));
        } finally {
            Loopback.close(server, client);
            java.nio.file.Files.deleteIfExists(dir.resolve("s"));
            java.nio.file.Files.deleteIfExists(dir.resolve("c"));
            java.nio.file.Files.deleteIfExists(dir);
        }
    }
}
