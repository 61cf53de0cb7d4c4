package dev.abyss.nativetests.reliability;

import dev.abyss.server.Abyss;
import dev.abyss.server.Dtls;
import dev.abyss.server.Handler;
import dev.abyss.server.HandlerResult;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.ServerStats.Counter;
import dev.abyss.server.Session;
import dev.abyss.server.TransportKind;
import dev.abyss.testsupport.TestCertificates;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A DTLS echo server alone in its JVM, for {@link DtlsFloodRssTest}: its resident set is the
 * server's own. Argument: the transport. Prints {@code READY port=N}; on {@code STATS} prints
 * {@code STATS handled=.. opened=.. heap=.. rss=..} (hellos answered or counted, sessions opened,
 * live heap after GC in bytes, VmRSS in KiB). Exits when stdin closes.
 */
public final class DtlsServerChild {
    private DtlsServerChild() {
    }

    public static void main(String[] args) throws Exception {
        TestCertificates certs = TestCertificates.get();
        Dtls dtls = Dtls.fromKeyStore(certs.server, TestCertificates.PASSWORD.toCharArray())
                .trustStore(certs.trust, TestCertificates.PASSWORD.toCharArray()).build();
        try (Server server = Abyss.start(ServerConfig.builder()
                .handler(new Handler<Object>() {
                    @Override
                    public HandlerResult<Object> handleData(Session session, MemorySegment data, Object state) {
                        session.send(data);
                        return HandlerResult.continueWith(state);
                    }
                }, null)
                .transport(TransportKind.valueOf(args[0])).bindAddress(InetAddress.getByName("127.0.0.1")).numAcceptors(2)
                .readTimeout(Duration.ofMinutes(10)).shutdownTimeout(Duration.ofMillis(200)).dtls(dtls).build())) {
            System.out.println("READY port=" + ((InetSocketAddress) server.localAddress()).getPort());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                if (line.trim().equals("STATS")) {
                    ServerStats st = server.stats();
                    long handled = st.get(Counter.DTLS_COOKIES_SENT) + st.get(Counter.DTLS_HELLOS_DROPPED) + st.kernelDrops();
                    System.out.println("STATS handled=" + handled + " opened=" + st.sessionsOpened() + " heap="
                            + Reliability.heapAfterGc() + " rss=" + Reliability.rssKiB());
                }
            }
        }
    }
}
