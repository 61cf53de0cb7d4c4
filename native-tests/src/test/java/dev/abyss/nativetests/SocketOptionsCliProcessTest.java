package dev.abyss.nativetests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bin/abyss}'s socket-option flags in a real process: the start line says which options are
 * in force, and a value the kernel refuses at start (an unknown device) fails naming it.
 */
class SocketOptionsCliProcessTest {

    @Test
    @Timeout(60)
    void theStartLineShowsTheOptionsInForce() throws Exception {
        Process server = new ProcessBuilder(EchoCliProcessTest.javaBin(), "--enable-native-access=ALL-UNNAMED", "-jar",
                EchoCliProcessTest.serverJar().toString(), "--port", "0", "--bind", "127.0.0.1", "--acceptors", "1",
                "--transport", "epoll", "--ttl", "9", "--broadcast", "--mtu-discover", "omit",
                "--socket-option", "socket:so_priority=2").redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            List<String> seen = new ArrayList<>();
            String options = null;
            for (String l; options == null && (l = out.readLine()) != null; ) {
                seen.add(l);
                if (l.startsWith("abyss: socket options: ")) {
                    options = l;
                }
            }
            assertEquals("abyss: socket options: broadcast=true, ttl=9, mtu_discover=OMIT, raw(1,12)=0x02000000", options,
                    "printed: " + seen);
            assertTrue(seen.stream().anyMatch(l -> l.contains("abyss.listener.start") && l.contains("ttl=9, mtu_discover=OMIT")),
                    "the listener span's transport_options show them too: " + seen);
        } finally {
            server.destroyForcibly();
            server.waitFor();
        }
    }

    @Test
    @Timeout(60)
    void aDeviceTheKernelDoesNotKnowFailsNamingIt() throws Exception {
        Process p = new ProcessBuilder(EchoCliProcessTest.javaBin(), "--enable-native-access=ALL-UNNAMED", "-jar",
                EchoCliProcessTest.serverJar().toString(), "--port", "0", "--bind", "127.0.0.1", "--transport", "epoll",
                "--bind-device", "nosuch0").redirectErrorStream(true).start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.waitFor(), printed);
        assertTrue(printed.contains("BIND_TO_DEVICE") && printed.contains("nosuch0"), printed);
    }
}
