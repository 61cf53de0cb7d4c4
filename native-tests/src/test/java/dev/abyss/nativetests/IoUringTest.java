package dev.abyss.nativetests;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.ffi.uring.BufferRing;
import dev.abyss.ffi.uring.IoUring;
import dev.abyss.ffi.uring.Probe;
import dev.abyss.ffi.uring.RecvmsgOut;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.abyss.ffi.uring.IoUringConstants.IORING_CQE_F_BUFFER;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_CQE_F_MORE;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_FEAT_EXT_ARG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_NOP;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_RECV;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_RECVMSG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_SENDMSG;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_OP_SEND_ZC;
import static dev.abyss.ffi.uring.IoUringConstants.IORING_RECV_MULTISHOT;
import static dev.abyss.ffi.uring.IoUringConstants.IOSQE_BUFFER_SELECT;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The io_uring ring against the real kernel: NOP, SENDMSG/RECVMSG, provided buffers, multishot, probe. */
class IoUringTest {
    record Cqe(long userData, int res, int flags) {
    }

    @BeforeAll
    static void ioUringIsAvailableOnTheTestMachine() {
        // CI machines run a 6.x kernel with io_uring on; a machine without it skips these
        // (the server's fallback tests cover that case by forcing the transport).
        Skip.unless(IoUring.isAvailable(), "io_uring unavailable (kernel.io_uring_disabled or seccomp)");
    }

    private static List<Cqe> reap(IoUring ring, int count) {
        List<Cqe> got = new ArrayList<>();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (got.size() < count && System.nanoTime() < deadline) {
            int rc = ring.submitAndWait(1, 100_000_000L);
            assertTrue(rc >= 0 || rc == -Errno.ETIME || rc == -Errno.EINTR, "io_uring_enter: " + Errno.name(-rc));
            ring.forEachCompletion((u, r, f) -> got.add(new Cqe(u, r, f)));
        }
        assertEquals(count, got.size(), "completions within 5 s: " + got);
        return got;
    }

    @Test
    void nopCompletesWithItsUserData() throws Exception {
        try (IoUring ring = IoUring.setup(8, 0)) {
            assertTrue(ring.sqEntries() >= 8);
            for (int i = 0; i < 3; i++) {
                int sqe = ring.nextSqe();
                ring.prep(sqe, IORING_OP_NOP, -1, 0, 0, 0, 0, 0x1234_0000L + i);
            }
            assertEquals(3, ring.pending());
            List<Cqe> cqes = reap(ring, 3);
            for (int i = 0; i < 3; i++) {
                assertEquals(new Cqe(0x1234_0000L + i, 0, 0), cqes.get(i));
            }
            assertEquals(0, ring.pending());
            assertEquals(0, ring.completionsReady());
        }
    }

    @Test
    void fullSubmissionQueueSaysSo() throws Exception {
        try (IoUring ring = IoUring.setup(4, 0)) {
            for (int i = 0; i < ring.sqEntries(); i++) {
                assertTrue(ring.nextSqe() >= 0);
            }
            assertEquals(-1, ring.nextSqe(), "no SQE left until the kernel consumes some");
            assertTrue(ring.submit() > 0);
            assertTrue(ring.nextSqe() >= 0);
        }
    }

    @Test
    void waitWithATimeoutReturnsEtime() throws Exception {
        try (IoUring ring = IoUring.setup(4, 0)) {
            Skip.unless(ring.hasFeature(IORING_FEAT_EXT_ARG), "this kernel's io_uring has no IORING_FEAT_EXT_ARG");
            assertEquals(-Errno.ETIME, ring.submitAndWait(1, 20_000_000L));
        }
    }

    @Test
    void sendmsgAndRecvmsgRoundTrip() throws Exception {
        int server = Loopback.bound("::1");
        int client = Loopback.bound("::1");
        try (IoUring ring = IoUring.setup(8, 0); Arena arena = Arena.ofConfined()) {
            MessageBatch out = new MessageBatch(arena, 1, 128, 0);
            MessageBatch in = new MessageBatch(arena, 1, 128, 0);
            out.data().asSlice(0, 100).fill((byte) 0x5A);
            out.prepareSend(0, 100, Loopback.name(out, 0, Loopback.local(server)));
            in.prepareReceive(1);

            int r = ring.nextSqe();
            ring.prep(r, IORING_OP_RECVMSG, server, in.msghdrAddress(0), 1, 0, 0, 1);
            int s = ring.nextSqe();
            ring.prep(s, IORING_OP_SENDMSG, client, out.msghdrAddress(0), 1, 0, 0, 2);
            List<Cqe> cqes = reap(ring, 2);
            for (Cqe c : cqes) {
                assertEquals(100, c.res(), "bytes for user_data " + c.userData());
            }
            assertEquals(Set.of(1L, 2L), Set.of(cqes.get(0).userData(), cqes.get(1).userData()));
            MemorySegment got = in.data().asSlice(0, 100);
            for (int i = 0; i < 100; i++) {
                assertEquals(0x5A, got.get(JAVA_BYTE, i));
            }
            PeerKey from = new PeerKey();
            assertTrue(from.readFrom(in.names(), in.nameLength(0)));
            assertEquals(new PeerKey().set(Loopback.local(client)), from);
        } finally {
            Loopback.close(server, client);
        }
    }

    @Test
    void providedBufferRingHandsOutAndRecyclesBuffers() throws Exception {
        int server = Loopback.bound("127.0.0.1");
        int client = Loopback.bound("127.0.0.1");
        try (IoUring ring = IoUring.setup(8, 0); Arena arena = Arena.ofConfined()) {
            BufferRing buffers = BufferRing.register(ring, 3, 4, 256);
            MessageBatch out = new MessageBatch(arena, 1, 64, 0);
            int nameLen = Loopback.name(out, 0, Loopback.local(server));
            Set<Integer> bidsSeen = new HashSet<>();
            for (int k = 0; k < 12; k++) {
                out.data().set(JAVA_INT, 0, k);
                out.prepareSend(0, 4, nameLen);
                assertEquals(1, out.send(client, 0, 1, 0));
                int sqe = ring.nextSqe();
                ring.prep(sqe, IORING_OP_RECV, server, 0, 0, 0, 0, k);
                ring.sqeFlags(sqe, IOSQE_BUFFER_SELECT);
                ring.bufferGroup(sqe, 3);
                Cqe c = reap(ring, 1).getFirst();
                assertEquals(4, c.res(), "recv " + k);
                assertTrue((c.flags() & IORING_CQE_F_BUFFER) != 0, "a provided buffer was used");
                int bid = BufferRing.bufferId(c.flags());
                bidsSeen.add(bid);
                assertEquals(k, buffers.buffer(bid).get(JAVA_INT, 0));
                buffers.recycle(bid);
                buffers.publish();
            }
            assertTrue(bidsSeen.size() <= 4, "12 receives over 4 recycled buffers: " + bidsSeen);

            // without recycling, the fifth receive finds the group empty
            List<Integer> results = new ArrayList<>();
            for (int k = 0; k < 5; k++) {
                out.prepareSend(0, 4, nameLen);
                assertEquals(1, out.send(client, 0, 1, 0));
                int sqe = ring.nextSqe();
                ring.prep(sqe, IORING_OP_RECV, server, 0, 0, 0, 0, 100 + k);
                ring.sqeFlags(sqe, IOSQE_BUFFER_SELECT);
                ring.bufferGroup(sqe, 3);
                results.add(reap(ring, 1).getFirst().res());
            }
            assertEquals(List.of(4, 4, 4, 4, -Errno.ENOBUFS), results);
            buffers.close();
        } finally {
            Loopback.close(server, client);
        }
    }

    @Test
    void multishotRecvmsgDeliversNameAndPayloadPerBuffer() throws Exception {
        int server = Loopback.bound("127.0.0.1");
        int client = Loopback.bound("127.0.0.1");
        try (IoUring ring = IoUring.setup(8, 0); Arena arena = Arena.ofConfined()) {
            Skip.unless(Probe.of(ring).supports(IORING_OP_RECVMSG), "this kernel's io_uring has no IORING_OP_RECVMSG");
            BufferRing buffers = BufferRing.register(ring, 0, 8, 512);
            MessageBatch template = new MessageBatch(arena, 1, 0, 0); // name space only: the kernel fills ring buffers
            int sqe = ring.nextSqe();
            ring.prep(sqe, IORING_OP_RECVMSG, server, template.msghdrAddress(0), 1, 0, 0, 42);
            ring.ioprio(sqe, IORING_RECV_MULTISHOT);
            ring.sqeFlags(sqe, IOSQE_BUFFER_SELECT);
            ring.bufferGroup(sqe, 0);
            assertEquals(1, ring.submit());

            MessageBatch out = new MessageBatch(arena, 5, 64, 0);
            int nameLen = Loopback.name(out, 0, Loopback.local(server));
            for (int i = 0; i < 5; i++) {
                Loopback.name(out, i, Loopback.local(server));
                out.data().asSlice(out.dataOffset(i), 10 + i).fill((byte) (i + 1));
                out.prepareSend(i, 10 + i, nameLen);
            }
            assertEquals(5, out.send(client, 0, 5, 0));

            PeerKey expected = new PeerKey().set(Loopback.local(client));
            List<Cqe> cqes = reap(ring, 5);
            int namelen = template.nameLength(0); // sockaddr_storage, as reserved in the msghdr
            for (int i = 0; i < 5; i++) {
                Cqe c = cqes.get(i);
                assertEquals(42, c.userData());
                assertTrue((c.flags() & IORING_CQE_F_MORE) != 0, "still armed after datagram " + i);
                assertTrue((c.flags() & IORING_CQE_F_BUFFER) != 0);
                MemorySegment buf = buffers.buffer(BufferRing.bufferId(c.flags()));
                int payload = RecvmsgOut.payloadLength(buf, 0);
                assertEquals(10 + i, payload);
                assertEquals(RecvmsgOut.payloadOffset(namelen, 0) + payload, c.res(), "CQE res covers the whole record");
                PeerKey from = new PeerKey();
                assertTrue(from.readFrom(buf.asSlice(RecvmsgOut.nameOffset()), RecvmsgOut.nameLength(buf, 0)));
                assertEquals(expected, from);
                assertEquals((byte) (i + 1), buf.get(JAVA_BYTE, RecvmsgOut.payloadOffset(namelen, 0) + payload - 1));
            }
            buffers.close();
        } finally {
            Loopback.close(server, client);
        }
    }

    @Test
    void probeListsTheOpcodesWeUse() throws Exception {
        try (IoUring ring = IoUring.setup(2, 0)) {
            Probe p = Probe.of(ring);
            assertTrue(p.lastOp() >= IORING_OP_SEND_ZC, "a 6.x kernel knows SEND_ZC, lastOp=" + p.lastOp());
            assertTrue(p.supports(IORING_OP_NOP));
            assertTrue(p.supports(IORING_OP_SENDMSG));
            assertTrue(p.supports(IORING_OP_RECVMSG));
            assertTrue(!p.supports(250), "opcode 250 does not exist");
        }
    }
}
