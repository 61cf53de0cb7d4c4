package dev.abyss.server;

import dev.abyss.ffi.CpuSet;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPU placement on a real machine: two acceptors pinned to two CPUs, the reuseport group steered by
 * the receiving CPU. Over loopback the kernel receives a datagram in softirq on the CPU that sent
 * it, so a client pinned to CPU {@code c} is served by acceptor {@code c % 2}, on CPU {@code c}.
 */
class CpuPlacementTest extends TransportSuite {
    /** Replies "thread-name@cpu": which acceptor served the datagram, and on which CPU it ran. */
    private static final DatagramHandler WHO = (peer, data) -> {
        String cpu;
        try {
            cpu = String.valueOf(CpuSet.current());
        } catch (java.io.IOException e) {
            cpu = "?";
        }
        peer.send((Thread.currentThread().getName() + "@" + cpu).getBytes(StandardCharsets.UTF_8));
    };

    private static final int ROUNDS = 20;

    @Test
    void aClientPinnedToCpuKIsServedByAcceptorKOnCpuK() throws Exception {
        Skip.unless(transport() != TransportKind.NIO,
                "NIO has no socket descriptor to steer: build() refuses it (steeringIsRefusedOnNio checks that)");
        int[] allowed = CpuSet.allowed();
        Skip.unless(allowed.length >= 2, "needs 2 CPUs; this process may run on " + Arrays.toString(allowed));
        int even = Arrays.stream(allowed).filter(c -> c % 2 == 0).findFirst().orElse(-1);
        int odd = Arrays.stream(allowed).filter(c -> c % 2 == 1).findFirst().orElse(-1);
        Skip.unless(even >= 0 && odd >= 0, "the BPF program steers by CPU % 2: needs an even and an odd CPU, has "
                + Arrays.toString(allowed));
        // acceptor i serves CPUs with cpu % 2 == i: pin it to one of them
        try (Server server = start(builder().datagramHandler(WHO).numAcceptors(2).pinAcceptors(even, odd).steerByCpu(true)
                .shutdownTimeout(Duration.ofMillis(100)).build())) {
            assertEquals(List.of(even, odd), server.config().placement().acceptorCpus());
            for (int cpu : new int[]{even, odd, even}) {
                List<String> replies = fromCpu(cpu, server);
                String expected = "abyss-acceptor-" + (cpu % 2) + "@" + cpu;
                assertEquals(ROUNDS, replies.size(), "every request answered: " + replies);
                assertTrue(replies.stream().allMatch(expected::equals),
                        "a client pinned to CPU " + cpu + " is served by acceptor " + (cpu % 2) + " on CPU " + cpu
                                + ", got " + replies);
            }
        }
    }

    @Test
    void pinnedAcceptorsRunOnTheirCpusWithoutSteering() throws Exception {
        int[] allowed = CpuSet.allowed();
        int last = allowed[allowed.length - 1];
        // one acceptor: every datagram goes to it, whatever CPU it came in on
        try (Server server = start(builder().datagramHandler(WHO).numAcceptors(1).pinAcceptors(last)
                .shutdownTimeout(Duration.ofMillis(100)).build())) {
            List<String> replies = fromCpu(allowed[0], server);
            assertEquals(ROUNDS, replies.size(), "every request answered: " + replies);
            assertTrue(replies.stream().allMatch(("abyss-acceptor-0@" + last)::equals), "the acceptor runs on CPU " + last
                    + ": " + replies);
        }
    }

    @Test
    void steeringIsRefusedOnNio() {
        Skip.unless(transport() == TransportKind.NIO, "only NIO refuses steering");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder().datagramHandler(WHO).numAcceptors(2).steerByCpu(true).build());
        assertTrue(e.getMessage().contains("steerByCpu true") && e.getMessage().contains("transport NIO"), e.getMessage());
    }

    /** ROUNDS requests from a fresh client on a thread pinned to {@code cpu}; the replies, each within 2 s. */
    private static List<String> fromCpu(int cpu, Server server) throws Exception {
        CompletableFuture<List<String>> done = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name("client-on-cpu-" + cpu).start(() -> {
            try {
                CpuSet.pinCurrentThread(cpu);
                List<String> replies = new ArrayList<>();
                try (Client c = new Client(server.localAddress())) {
                    for (int i = 0; i < ROUNDS; i++) {
                        c.send("who");
                        String r = c.receive(2_000);
                        if (r == null) {
                            break;
                        }
                        replies.add(r);
                    }
                }
                done.complete(replies);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        });
        List<String> replies = done.get(60, TimeUnit.SECONDS);
        t.join(5_000);
        return replies;
    }
}
