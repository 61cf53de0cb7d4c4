package dev.abyss.bench.peers;

import dev.abyss.bench.dtls.DtlsPki;
import dev.abyss.bench.dtls.ScandiumEcho;
import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The Java echo servers of the comparison, each run in its own JVM:
 * {@code java -cp benchmarks.jar dev.abyss.bench.peers.EchoServers SERVER PORT THREADS [TRANSPORT]}, where
 * SERVER is abyss-segment, abyss-handler, abyss-stateless, abyss-stateless-limited, netty-epoll, netty-iouring, netty-nio or jdk, and TRANSPORT
 * (abyss-* only) a {@link TransportKind}: EPOLL (the default), IO_URING, NIO or AUTO; or one of the
 * bulk scenario's servers ({@link BulkServers}): abyss-bulk, abyss-bulk-gso, netty-bulk,
 * netty-bulk-gso (Netty on epoll), which answer requests instead of echoing; or the DTLS baseline
 * ({@link ScandiumEcho}): scandium, scandium-nocookie (no HelloVerifyRequest), whose arguments after
 * THREADS are KEYSTORE.p12 PASSWORD ({@link DtlsPki}). It prints
 * "ready" once bound and echoes until stdin closes. Every server gets the same treatment: one
 * socket per thread with SO_REUSEPORT where the transport has it, 64-datagram batches where it can,
 * a 4 MiB socket receive buffer.
 */
public final class EchoServers {
    private static final int MAX_PAYLOAD = 2048;
    private static final int BATCH = 64;
    /** Every server asks for the same socket receive buffer: a 2-core box deschedules servers for milliseconds. */
    static final int RCVBUF = 4 << 20;

    private EchoServers() {
    }

    public static void main(String[] args) throws Exception {
        String kind = args[0];
        int port = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        TransportKind transport = args.length > 3 && !kind.startsWith("scandium") ? transport(kind, args[3]) : TransportKind.EPOLL;
        InetSocketAddress at = new InetSocketAddress("127.0.0.1", port);
        AutoCloseable running = switch (kind) {
            case "abyss-segment" -> abyss(at, threads, transport, true);
            case "abyss-handler" -> abyss(at, threads, transport, false);
            case "abyss-stateless" -> abyssStateless(at, threads, transport, false);
            case "abyss-stateless-limited" -> abyssStateless(at, threads, transport, true);
            case "netty-epoll" -> netty(at, threads, "epoll", new NettyEcho());
            case "netty-iouring" -> netty(at, threads, "iouring", new NettyEcho());
            case "netty-nio" -> netty(at, 1, "nio", new NettyEcho()); // NIO datagram channels have no SO_REUSEPORT: one socket
            case "jdk" -> jdk(at, threads);
            case "abyss-bulk" -> BulkServers.abyss(at, threads, transport, false);
            case "abyss-bulk-gso" -> BulkServers.abyss(at, threads, transport, true);
            case "netty-bulk" -> BulkServers.netty(at, threads, false);
            case "netty-bulk-gso" -> BulkServers.netty(at, threads, true);
            // the DTLS baseline: KEYSTORE.p12 PASSWORD follow THREADS
            case "scandium" -> ScandiumEcho.start(at, new DtlsPki(Path.of(args[3]), args[4]), true, threads, RCVBUF);
            case "scandium-nocookie" -> ScandiumEcho.start(at, new DtlsPki(Path.of(args[3]), args[4]), false, threads, RCVBUF);
            default -> throw new IllegalArgumentException("unknown server " + kind);
        };
        System.out.println("ready");
        System.out.flush();
        while (System.in.read() >= 0) {
            // runs until the runner closes our stdin
        }
        running.close();
    }

    private static TransportKind transport(String kind, String name) {
        if (!kind.startsWith("abyss-")) {
            throw new IllegalArgumentException("a transport applies to abyss-* servers only, not " + kind);
        }
        try {
            return TransportKind.valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown transport " + name + "; one of " + Arrays.toString(TransportKind.values()));
        }
    }

    private static AutoCloseable abyss(InetSocketAddress at, int threads, TransportKind transport, boolean segment) throws Exception {
        ServerConfig.Builder b = ServerConfig.builder().bindAddress(at.getAddress()).port(at.getPort()).numAcceptors(threads)
                .transport(transport).receiveBufferSize(RCVBUF).shutdownTimeout(Duration.ZERO);
        Server s = Abyss.start(segment ? b.segmentHandler((session, data) -> session.send(data)).build() : b.handler(new Echo()).build());
        return s;
    }

    /**
     * The stateless echo ({@code DatagramHandler}), with the open-internet reply limits off, or on
     * ({@code limited}) at a rate no run reaches: 10,000,000 replies/s per prefix and the
     * amplification limit 3 (an echo answers 1x). What the limits cost when they let everything through.
     */
    private static AutoCloseable abyssStateless(InetSocketAddress at, int threads, TransportKind transport, boolean limited)
            throws Exception {
        ServerConfig.Builder b = ServerConfig.builder().bindAddress(at.getAddress()).port(at.getPort()).numAcceptors(threads)
                .transport(transport).receiveBufferSize(RCVBUF).shutdownTimeout(Duration.ZERO)
                .datagramHandler((peer, data) -> peer.send(data));
        if (limited) {
            b.rateLimit(10_000_000).amplificationLimit(3);
        }
        return Abyss.start(b.build());
    }

    @ChannelHandler.Sharable
    static final class NettyEcho extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket p = (DatagramPacket) msg;
            ctx.write(new DatagramPacket(p.content(), p.sender()), ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush(); // one flush per read batch
        }
    }

    /**
     * A Netty server running {@code handler} on {@code transport} (epoll, iouring or nio): one event
     * loop and one socket per thread, bound to {@code at}; closing it closes the sockets and the loops.
     */
    static AutoCloseable netty(InetSocketAddress at, int threads, String transport, ChannelHandler handler) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, switch (transport) {
            case "epoll" -> EpollIoHandler.newFactory();
            case "iouring" -> IoUringIoHandler.newFactory();
            default -> NioIoHandler.newFactory();
        });
        Bootstrap b = new Bootstrap().group(group).handler(handler).option(ChannelOption.SO_RCVBUF, RCVBUF);
        switch (transport) {
            // a fixed buffer of 64 datagrams plus MAX_DATAGRAM_PAYLOAD_SIZE: what lets epoll read with recvmmsg
            case "epoll" -> b.channel(EpollDatagramChannel.class).option(EpollChannelOption.SO_REUSEPORT, true)
                    .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, MAX_PAYLOAD)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_PAYLOAD * BATCH));
            case "iouring" -> b.channel(IoUringDatagramChannel.class).option(IoUringChannelOption.SO_REUSEPORT, true)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_PAYLOAD));
            default -> b.channel(NioDatagramChannel.class).option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(MAX_PAYLOAD));
        }
        List<Channel> channels = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            channels.add(b.bind(at).sync().channel());
        }
        return () -> {
            for (Channel c : channels) {
                c.close().sync();
            }
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        };
    }

    private static AutoCloseable jdk(InetSocketAddress at, int threads) throws Exception {
        List<DatagramChannel> channels = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            DatagramChannel ch = DatagramChannel.open();
            ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, RCVBUF);
            ch.bind(at);
            channels.add(ch);
            Thread.ofPlatform().daemon(true).name("jdk-echo-" + i).start(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(MAX_PAYLOAD);
                try {
                    while (true) {
                        buf.clear();
                        var from = ch.receive(buf);
                        buf.flip();
                        ch.send(buf, from);
                    }
                } catch (java.io.IOException closed) {
                    // stopped
                }
            });
        }
        return () -> {
            for (DatagramChannel ch : channels) {
                ch.close();
            }
        };
    }
}
