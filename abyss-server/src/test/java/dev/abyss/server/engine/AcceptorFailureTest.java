package dev.abyss.server.engine;

import dev.abyss.server.TransportKind;
import dev.abyss.server.transport.Transports;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A Throwable in an acceptor's duty cycle: it resumes, and after repeated failures the server stops loudly. */
@Timeout(30)
class AcceptorFailureTest {

    @AfterEach
    void clearHook() {
        Acceptor.faultInjector = null;
    }

    private static String echo(DatagramChannel c, String text) throws Exception {
        c.write(ByteBuffer.wrap(text.getBytes()));
        ByteBuffer b = ByteBuffer.allocate(100);
        c.read(b);
        return new String(b.array(), 0, b.position());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void oneFailureIsLoggedAndTheAcceptorGoesOnServing(TransportKind kind) throws Exception {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable here: " + why);
        AtomicInteger thrown = new AtomicInteger();
        try (Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(new Echo()).numAcceptors(1)
                .shutdownTimeout(Duration.ofMillis(100)).build());
             DatagramChannel c = DatagramChannel.open()) {
            c.connect(server.localAddress());
            assertEquals("before", echo(c, "before"));
            Acceptor.faultInjector = () -> {
                if (thrown.getAndIncrement() == 0) {
                    throw new OutOfMemoryError("injected");
                }
            };
            assertEquals("after", echo(c, "after")); // answered in the turn that delivered it, or after the fault
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (thrown.get() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1); // polling with a deadline: the fault hits the turn after the wake-up
            }
            assertTrue(thrown.get() > 0, "the fault was injected");
            assertEquals("again", echo(c, "again"), "the acceptor serves on after the failure");
            assertTrue(server.failure().isEmpty());
            assertTrue(!server.isStopped());
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void repeatedFailuresStopTheWholeServerWithTheReason(TransportKind kind) throws Exception {
        String why = Transports.unavailableReason(kind);
        assumeTrue(why == null, () -> kind + " unavailable here: " + why);
        Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(new Echo()).numAcceptors(2)
                .shutdownTimeout(Duration.ofMillis(100)).bindAddress(InetAddress.getLoopbackAddress()).build());
        try {
            Acceptor.faultInjector = () -> {
                throw new IllegalStateException("injected engine bug");
            };
            try (DatagramChannel c = DatagramChannel.open()) {
                c.send(ByteBuffer.wrap(new byte[1]), server.localAddress()); // wakes nobody in particular: the loops fail by themselves
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.failure().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10); // polling with a deadline
            }
            assertInstanceOf(IllegalStateException.class, server.failure().orElseThrow());
            Acceptor.faultInjector = null;
            server.stop(Duration.ofSeconds(1));
            assertTrue(server.isStopped(), "every acceptor exited");
        } finally {
            Acceptor.faultInjector = null;
            server.close();
        }
    }
}
