package dev.abyss.server;

import dev.abyss.server.examples.Echo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Peers that try to hurt the server: what each gets, and that the server stays bounded and up. */
@Timeout(60)
class HostileTrafficTest extends TransportSuite {

    private ServerConfig.Builder base() {
        return builder().bindAddress(InetAddress.getLoopbackAddress()).numAcceptors(1)
                .shutdownTimeout(Duration.ofMillis(200)).silentTerminateOnError(true);
    }

    @Test
    void largeDatagramsOfWaitingPeersAreBoundedByTheRetryBufferAndCounted() throws Exception {
        try (Server server = start(base().handler(new Echo()).numConnections(1).fullTablePolicy(FullTablePolicy.REFUSE).maxConnectionsRetryCount(5)
                .maxConnectionsRetryWait(Duration.ofSeconds(10)).retryBufferBytes(1 << 16).receiveBufferSize(4 << 20).build());
             Client holder = new Client(server.localAddress())) {
            holder.send("hold the only place");
            assertEquals("hold the only place", holder.receive(5000));
            List<Client> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    Client c = new Client(server.localAddress());
                    flood.add(c);
                    c.send(new byte[60_000]);
                }
                // one 60 kB datagram fits the 64 KiB buffer; the other 19 are dropped on arrival,
                // long before their 10 s retry wait (so the wait ends well before it)
                await("19 dropped at once", Duration.ofSeconds(5), server::stats, st -> st.droppedTableFull() == 19);
                holder.send("still served");
                assertEquals("still served", holder.receive(5000));
            } finally {
                for (Client c : flood) {
                    c.close();
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void stopDoesNotWaitForIdleSessions(DispatchMode mode) throws Exception {
        CountDownLatch shutdown = new CountDownLatch(1);
        Handler<Object> h = new Handler<>() {
            @Override
            public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                session.send(data);
                return HandlerResult.continueWith(state);
            }

            @Override
            public void handleShutdown(Object state) {
                shutdown.countDown();
            }
        };
        Server server = start(base().handler(h).dispatchMode(mode).shutdownTimeout(Duration.ofSeconds(15)).build());
        try (Client c = new Client(server.localAddress())) {
            c.send("x");
            assertEquals("x", c.receive(5000));
        } finally {
            long t = System.nanoTime();
            server.close();
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t);
            // waiting for the idle session would take the whole 15 s; anything well below is load, not that bug
            assertTrue(ms < 10_000, "close() with one idle session took " + ms + " ms of its 15 s");
        }
        assertEquals(0, shutdown.getCount(), "the idle session got handleShutdown");
    }

    @ParameterizedTest
    @EnumSource(DispatchMode.class)
    void aSessionClosedByHandleConnectionCountsTheDatagramThatOpenedIt(DispatchMode mode) throws Exception {
        AtomicReference<Session> seen = new AtomicReference<>();
        CountDownLatch closed = new CountDownLatch(1);
        Handler<Object> h = new Handler<>() {
            @Override
            public HandlerResult<Object> handleConnection(Session session, Object state) {
                seen.set(session);
                session.send("hello".getBytes());
                return HandlerResult.close(state);
            }

            @Override
            public void handleClose(Object state) {
                closed.countDown();
            }
        };
        try (Server server = start(base().handler(h).dispatchMode(mode).build());
             Client c = new Client(server.localAddress())) {
            c.send("12345");
            assertEquals("hello", c.receive(5000));
            assertTrue(closed.await(5, TimeUnit.SECONDS));
            assertEquals(1, seen.get().receivedPackets());
            assertEquals(5, seen.get().receivedBytes());
        }
    }
}
