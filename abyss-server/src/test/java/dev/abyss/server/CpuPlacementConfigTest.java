package dev.abyss.server;

import dev.abyss.ffi.CpuSet;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What build() makes of pinAcceptors and steerByCpu, and what it refuses, naming both options. */
class CpuPlacementConfigTest {
    private static final DatagramHandler NONE = (peer, data) -> {
    };

    private static ServerConfig.Builder builder() {
        return ServerConfig.builder().datagramHandler(NONE);
    }

    @Test
    void offByDefault() {
        ServerConfig c = builder().build();
        assertFalse(c.placement().pinned());
        assertFalse(c.placement().steerByCpu());
        assertEquals(List.of(), c.placement().acceptorCpus());
    }

    @Test
    void pinAcceptorsTakesTheAllowedCpusInTurn() throws Exception {
        int[] allowed = CpuSet.allowed();
        ServerConfig c = builder().numAcceptors(allowed.length + 1).pinAcceptors(true).build();
        List<Integer> cpus = c.placement().acceptorCpus();
        assertEquals(allowed.length + 1, cpus.size());
        for (int i = 0; i < cpus.size(); i++) {
            assertEquals(allowed[i % allowed.length], cpus.get(i), "acceptor " + i);
        }
        assertFalse(builder().pinAcceptors(true).pinAcceptors(false).build().placement().pinned());
    }

    @Test
    void anExplicitListIsTakenModuloItsLength() throws Exception {
        int cpu = CpuSet.allowed()[0];
        assertEquals(List.of(cpu, cpu, cpu), builder().numAcceptors(3).pinAcceptors(cpu).build().placement().acceptorCpus());
    }

    @Test
    void aCpuTheProcessMayNotRunOnIsRefused() throws Exception {
        int[] allowed = CpuSet.allowed();
        int outside = allowed[allowed.length - 1] + 1;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder().pinAcceptors(outside).build());
        assertTrue(e.getMessage().contains("CPU " + outside) && e.getMessage().contains(Arrays.toString(allowed)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder().pinAcceptors(-1));
        assertThrows(IllegalArgumentException.class, () -> builder().pinAcceptors(new int[0]));
    }

    @Test
    void steeringIsRefusedWhereThereIsNothingToSteer() throws Exception {
        assertRefused(builder().steerByCpu(true).bindUnix("/tmp/abyss-cpu-test.sock"), "steerByCpu true", "bindUnix");
        assertRefused(builder().steerByCpu(true).transport(TransportKind.NIO), "steerByCpu true", "transport NIO");
        assertRefused(builder().steerByCpu(true).numAcceptors(1), "steerByCpu true", "numAcceptors 1");
        int fd = dev.abyss.ffi.net.Sockets.openDatagram(dev.abyss.ffi.net.Net.AF_INET, true);
        try {
            dev.abyss.ffi.net.Sockets.bind(fd, new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
            assertRefused(builder().steerByCpu(true).inheritedSockets(fd), "steerByCpu true", "inheritedSockets");
        } finally {
            dev.abyss.ffi.LibC.close(fd);
        }
        assertTrue(builder().steerByCpu(true).numAcceptors(2).build().placement().steerByCpu());
        // pinning is the thread: it works on NIO
        assertTrue(builder().transport(TransportKind.NIO).pinAcceptors(true).build().placement().pinned());
    }

    private static void assertRefused(ServerConfig.Builder b, String option, String other) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(e.getMessage().contains(option) && e.getMessage().contains(other), e.getMessage());
    }
}
