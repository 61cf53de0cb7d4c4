package dev.abyss.nativetests;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.epoll.Epoll;
import dev.abyss.ffi.net.MessageBatch;
import dev.abyss.ffi.net.Net;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EpollTest {
    @Test
    void reportsSocketAndEventfdReadabilityWithTheirData() throws Exception {
        int server = Loopback.bound("127.0.0.1");
        int client = Loopback.bound("127.0.0.1");
        int wake = LibC.check(LibC.eventfd(0, Net.EFD_NONBLOCK | Net.EFD_CLOEXEC), "eventfd");
        try (Epoll ep = Epoll.create(8); Arena arena = Arena.ofConfined()) {
            ep.add(server, Epoll.EPOLLIN, 0xABCDEF0123L);
            ep.add(wake, Epoll.EPOLLIN, 7);
            assertEquals(0, ep.await(0), "nothing is ready yet");

            MessageBatch out = new MessageBatch(arena, 1, 8, 0);
            out.prepareSend(0, 8, Loopback.name(out, 0, Loopback.local(server)));
            assertEquals(1, out.send(client, 0, 1, 0));
            assertEquals(1, ep.await(5000));
            assertEquals(0xABCDEF0123L, ep.data(0));
            assertTrue((ep.events(0) & Epoll.EPOLLIN) != 0);

            MemorySegment one = arena.allocateFrom(JAVA_LONG, 1L);
            assertEquals(8, LibC.write(wake, one, 8));
            int n = ep.await(5000);
            assertEquals(2, n, "socket still readable (level-triggered) and the eventfd");
            boolean sawWake = false;
            for (int i = 0; i < n; i++) {
                sawWake |= ep.data(i) == 7;
            }
            assertTrue(sawWake);

            ep.delete(server);
            assertEquals(8, LibC.read(wake, one, 8));
            assertEquals(0, ep.await(0), "deleted socket and drained eventfd are not reported");
        } finally {
            Loopback.close(server, client, wake);
        }
    }

    @Test
    void controlErrorsNameTheDescriptor() throws Exception {
        try (Epoll ep = Epoll.create(1)) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(dev.abyss.ffi.NativeException.class,
                    () -> ep.add(987654, Epoll.EPOLLIN, 0));
            assertEquals(dev.abyss.ffi.Errno.EBADF, e.errno());
            assertTrue(e.getMessage().contains("fd 987654"), e.getMessage());
        }
    }
}
