package dev.abyss.server.engine;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import dev.abyss.server.transport.Transports;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.abyss.testsupport.Await.await;
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
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
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
            await("the fault injected (it hits the turn after the wake-up)", thrown::get, n -> n > 0);
            assertEquals("again", echo(c, "again"), "the acceptor serves on after the failure");
            assertTrue(server.failure().isEmpty());
            assertTrue(!server.isStopped());
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING", "NIO"})
    void repeatedFailuresStopTheWholeServerWithTheReason(TransportKind kind) throws Exception {
        Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
        Server server = Abyss.start(ServerConfig.builder().transport(kind).handler(new Echo()).numAcceptors(2)
                .shutdownTimeout(Duration.ofMillis(100)).bindAddress(InetAddress.getLoopbackAddress()).build());
        try {
            Acceptor.faultInjector = () -> {
                throw new IllegalStateException("injected engine bug");
            };
            try (DatagramChannel c = DatagramChannel.open()) {
                c.send(ByteBuffer.wrap(new byte[1]), server.localAddress()); // wakes nobody in particular: the loops fail by themselves
            }
            assertInstanceOf(IllegalStateException.class, await("the server's failure", server::failure, f -> f.isPresent()).orElseThrow());
            Acceptor.faultInjector = null;
            server.stop(Duration.ofSeconds(1));
            assertTrue(server.isStopped(), "every acceptor exited");
        } finally {
            Acceptor.faultInjector = null;
            server.close();
        }
    }
}
