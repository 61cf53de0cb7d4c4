package dev.abyss.nativetests;

import dev.abyss.server.Abyss;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.examples.Echo;
import dev.abyss.testsupport.Skip;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SO_RCVBUF / SO_SNDBUF as the kernel reports them to {@code ss} (an outside view of the sockets). */
class SocketBuffersTest {
    private static final Pattern SKMEM = Pattern.compile("rb(\\d+),t\\d+,tb(\\d+)");

    /** A procfs number (read with a stream: procfs files report size 0). */
    private static long sysctl(String path) throws java.io.IOException {
        try (var r = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of(path))) {
            return Long.parseLong(r.readLine().strip());
        }
    }

    @Test
    @Timeout(30)
    void theBufferOptionsReachEveryAcceptorsSocket() throws Exception {
        Skip.unless(new ProcessBuilder("sh", "-c", "command -v ss").start().waitFor() == 0,
                "ss is not installed (apt-get install iproute2)");
        int rcv = 1 << 20;
        int snd = 1 << 19;
        try (Server server = Abyss.start(ServerConfig.builder().handler(new Echo()).numAcceptors(2)
                .receiveBufferSize(rcv).sendBufferSize(snd).shutdownTimeout(Duration.ZERO).build())) {
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            Process ss = new ProcessBuilder("ss", "-uamn", "sport = :" + port).redirectErrorStream(true).start();
            String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ss.waitFor(10, TimeUnit.SECONDS));
            long rmemMax = sysctl("/proc/sys/net/core/rmem_max");
            long wmemMax = sysctl("/proc/sys/net/core/wmem_max");
            Matcher m = SKMEM.matcher(out);
            int sockets = 0;
            while (m.find()) {
                sockets++;
                // Linux doubles what setsockopt asked for (bookkeeping overhead), capped at rmem_max/wmem_max
                assertEquals(2L * Math.min(rcv, rmemMax), Long.parseLong(m.group(1)), "SO_RCVBUF: " + out);
                assertEquals(2L * Math.min(snd, wmemMax), Long.parseLong(m.group(2)), "SO_SNDBUF: " + out);
            }
            assertEquals(2, sockets, "one socket per acceptor: " + out);
        }
    }
}
