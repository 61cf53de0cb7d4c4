package dev.abyss.bench.peers;

import dev.abyss.bench.load.Bulk;
import dev.abyss.server.Abyss;
import dev.abyss.server.DatagramHandler;
import dev.abyss.server.Peer;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.SegmentedDatagramPacket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The Java servers of the comparison's bulk scenario ({@link Bulk}): each answers a request with N
 * datagrams of {@link Bulk#SEGMENT} bytes to its sender, N read from the request. Run through
 * {@link EchoServers} (kinds abyss-bulk, abyss-bulk-gso, netty-bulk, netty-bulk-gso). Each builds
 * the N replies in one buffer, bodies written once and headers stamped per request, and hands it
 * to its transport in one piece: Abyss through {@link Peer#sendSegments} (coalesced into
 * UDP_SEGMENT sends when {@code gso}, one sendmmsg entry per datagram when not), Netty as
 * {@link SegmentedDatagramPacket}s of at most {@link Bulk#SEGMENTS_PER_GSO_SEND} segments, or as N
 * {@link DatagramPacket}s, flushed once per read batch.
 */
final class BulkServers {
    private BulkServers() {
    }

    /** The replies of one request: the bodies written once, the headers stamped per request. */
    private static MemorySegment replyBuffer() {
        MemorySegment buf = Arena.ofAuto().allocate((long) Bulk.MAX_REPLIES * Bulk.SEGMENT, 64);
        Bulk.fillBodies(buf, 0, Bulk.MAX_REPLIES);
        return buf;
    }

    /** Abyss's bulk reply: a stateless {@link DatagramHandler}, one reply buffer per acceptor thread. */
    static final class AbyssBulk implements DatagramHandler {
        private final ThreadLocal<MemorySegment> buffers = ThreadLocal.withInitial(BulkServers::replyBuffer);

        @Override
        public void handle(Peer peer, MemorySegment request) {
            if (request.byteSize() < Bulk.REQUEST) {
                return;
            }
            int n = Bulk.replies(request, 0);
            if (n < 1 || n > Bulk.MAX_REPLIES) {
                return;
            }
            MemorySegment buf = buffers.get();
            Bulk.stamp(buf, 0, request, 0, n);
            peer.sendSegments(buf, 0, (long) n * Bulk.SEGMENT, Bulk.SEGMENT);
        }
    }

    static AutoCloseable abyss(InetSocketAddress at, int threads, TransportKind transport, boolean gso) throws Exception {
        Server s = Abyss.start(ServerConfig.builder().bindAddress(at.getAddress()).port(at.getPort()).numAcceptors(threads)
                .transport(transport).receiveBufferSize(EchoServers.RCVBUF).shutdownTimeout(Duration.ZERO).gso(gso)
                .datagramHandler(new AbyssBulk()).build());
        return s;
    }

    /** Netty's bulk reply: N datagrams in one pooled direct buffer, as GSO packets or as N plain ones. */
    @ChannelHandler.Sharable
    static final class NettyBulk extends ChannelInboundHandlerAdapter {
        private final boolean gso;
        private final MemorySegment template = replyBuffer(); // kept reachable: bodies is a view of it
        private final ByteBuf bodies = io.netty.buffer.Unpooled.wrappedBuffer(template.asByteBuffer());

        NettyBulk(boolean gso) {
            this.gso = gso;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket p = (DatagramPacket) msg;
            try {
                ByteBuf req = p.content();
                if (req.readableBytes() < Bulk.REQUEST) {
                    return;
                }
                int n = req.getIntLE(req.readerIndex());
                if (n < 1 || n > Bulk.MAX_REPLIES) {
                    return;
                }
                int total = n * Bulk.SEGMENT;
                ByteBuf out = ctx.alloc().directBuffer(total);
                out.writeBytes(bodies, 0, total);
                for (int i = 0; i < n; i++) {
                    int s = i * Bulk.SEGMENT;
                    out.setBytes(s, req, req.readerIndex(), Bulk.REQUEST);
                    out.setIntLE(s + Bulk.REQUEST, i);
                }
                InetSocketAddress to = p.sender();
                if (gso) {
                    int per = Bulk.SEGMENTS_PER_GSO_SEND * Bulk.SEGMENT;
                    for (int at = 0; at < total; at += per) {
                        int len = Math.min(per, total - at);
                        ctx.write(new SegmentedDatagramPacket(out.retainedSlice(at, len), Bulk.SEGMENT, to), ctx.voidPromise());
                    }
                } else {
                    for (int at = 0; at < total; at += Bulk.SEGMENT) {
                        ctx.write(new DatagramPacket(out.retainedSlice(at, Bulk.SEGMENT), to), ctx.voidPromise());
                    }
                }
                out.release();
            } finally {
                p.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush(); // one flush per read batch
        }
    }

    static AutoCloseable netty(InetSocketAddress at, int threads, boolean gso) throws Exception {
        if (gso && !EpollDatagramChannel.isSegmentedDatagramPacketSupported()) {
            throw new IllegalStateException("Netty epoll has no UDP_SEGMENT support here (EpollDatagramChannel.isSegmentedDatagramPacketSupported)");
        }
        return EchoServers.netty(at, threads, "epoll", new NettyBulk(gso));
    }
}
