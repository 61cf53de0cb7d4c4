package dev.abyss.nativetests;

import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI on transport XDP, as the README's "AF_XDP" section runs it: {@code abyss --transport xdp
 * --xdp-interface veth-s --bind 198.18.0.1 --handler echo} in the server namespace of a
 * {@link VethPair} says on its start line which mode, copy and queues it runs, and answers UDP echoes
 * from the client namespace, IPv4 and IPv6. Skipped with the reason where namespaces or python3 are
 * missing.
 */
@Timeout(180)
class XdpCliProcessTest {
    private static final int PORT = 7400;

    @Test
    void theCliEchoesOverXdpAndNamesItsModeOnTheStartLine() {
        Skip.unless(NetworkNamespace.sh("command -v python3", 10).code() == 0, "python3 is not installed");
        try (VethPair pair = VethPair.create("xcli", 1, false);
             NetworkNamespace.Child cli = NetworkNamespace.start(pair.serverNs(), List.of(EchoCliProcessTest.javaBin(),
                     "--enable-native-access=ALL-UNNAMED", "-jar", EchoCliProcessTest.serverJar().toAbsolutePath().toString(),
                     "--transport", "xdp", "--xdp-interface", VethPair.SERVER_IF, "--bind", "::", "--port", Integer.toString(PORT),
                     "--handler", "echo"))) {
            String start = cli.expect("abyss: echo listening on udp ", Duration.ofSeconds(60));
            assertTrue(start.contains("xdp transport") && start.contains("native mode") && start.contains("copy")
                    && start.contains("queues 0-0 of 1 on " + VethPair.SERVER_IF), "the start line names mode, copy and queues: " + start);
            for (String server : List.of(VethPair.SERVER_V4, VethPair.SERVER_V6)) {
                String py = """
                        import socket, sys
                        addr, port = sys.argv[1], int(sys.argv[2])
                        s = socket.socket(socket.AF_INET6 if ':' in addr else socket.AF_INET, socket.SOCK_DGRAM)
                        s.settimeout(2.0)
                        ok = 0
                        for i in range(20):
                            msg = b'xdp-cli %02d' % i
                            for attempt in range(3):
                                s.sendto(msg, (addr, port))
                                try:
                                    if s.recvfrom(2048)[0] == msg:
                                        ok += 1
                                        break
                                except socket.timeout:
                                    pass
                        print('ECHOED %d' % ok)
                        """;
                NetworkNamespace.Run run = NetworkNamespace.run(List.of("ip", "netns", "exec", pair.clientNs(), "python3", "-c", py,
                        server, Integer.toString(PORT)), 60);
                assertEquals("ECHOED 20", run.output().strip(), () -> server + ": " + run.describe() + "\nthe CLI said:\n" + cli.output());
            }
            // the bound socket would answer too: the veth's own count shows the frames went to the AF_XDP socket
            Skip.unless(NetworkNamespace.sh("command -v ethtool", 10).code() == 0,
                    "ethtool is not installed: the echoes came back, but which path took them is not checked");
            String counters = pair.inServer("ethtool -S " + VethPair.SERVER_IF, 10).output();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("rx_queue_0_xdp_redirect: (\\d+)").matcher(counters);
            assertTrue(m.find() && Long.parseLong(m.group(1)) >= 40, "40 echoes redirected to the AF_XDP socket: " + counters);
        }
    }
}
