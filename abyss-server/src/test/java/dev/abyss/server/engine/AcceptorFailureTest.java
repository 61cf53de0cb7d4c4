package dev.abyss.server.engine;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
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

    @Test
    void oneFailureIsLoggedAndTheAcceptorGoesOnServing() throws Exception {
        AtomicInteger thrown = new AtomicInteger();
        try (Server server = Abyss.start(ServerConfig.builder().handler(new Echo()).numAcceptors(1)
                .shutdownTimeout(Duration.ofMillis(100)).build());
             DatagramChannel c = DatagramChannel.open()) {
            c.connect(server.localAddress());
            assertEquals("before", echo(c, "before"));
            Acceptor.faultInjector = () -> {
                if (thrown.getAndIncrement() == 0) {
                    throw new OutOfMemoryError("injected");
                }
            };
            assertEquals("after", echo(c, "after"));
            assertTrue(thrown.get() > 0, "the fault was injected");
            assertTrue(server.failure().isEmpty());
            assertTrue(!server.isStopped());
        }
    }

    @Test
    void repeatedFailuresStopTheWholeServerWithTheReason() throws Exception {
        Server server = Abyss.start(ServerConfig.builder().handler(new Echo()).numAcceptors(2)
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
