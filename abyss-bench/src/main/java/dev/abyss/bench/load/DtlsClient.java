package dev.abyss.bench.load;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * How the load generator speaks DTLS 1.2: one JDK {@link SSLEngine} in client mode per peer, made
 * from {@code context}, offering only {@code cipherSuites} (one suite by default, so every server
 * of a comparison does the same work), with datagrams of at most {@code maxPacket} bytes.
 *
 * @param context     a "DTLSv1.2" context
 * @param cipherSuites the suites offered, in order
 * @param maxPacket   the engines' maximum datagram (SSLParameters.maximumPacketSize)
 */
public record DtlsClient(SSLContext context, List<String> cipherSuites, int maxPacket) {
    /** ECDHE with an ECDSA certificate (the comparison's P-256 one), AES-128-GCM. */
    public static final String DEFAULT_SUITE = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    /** The datagram size the engines are held to unless a payload needs more. */
    public static final int DEFAULT_PACKET = 1500;
    /** Bytes a DTLS 1.2 AES-GCM record adds to its payload: 13 header, 8 explicit nonce, 16 tag. */
    public static final int RECORD_OVERHEAD = 37;

    /** Checks the settings: at least one suite, packets of at least 256 bytes. */
    public DtlsClient {
        cipherSuites = List.copyOf(cipherSuites);
        if (cipherSuites.isEmpty()) {
            throw new IllegalArgumentException("cipherSuites must name at least one suite");
        }
        if (maxPacket < 256) {
            throw new IllegalArgumentException("maxPacket must be >= 256, was " + maxPacket);
        }
    }

    /**
     * A client that does not check the server's certificate: the generator measures the server, so
     * it spends nothing on verifying a chain (the server still signs its key exchange).
     */
    public static DtlsClient trustingAnyServer() throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("DTLSv1.2");
        ctx.init(null, new TrustManager[]{new AnyServer()}, null);
        return new DtlsClient(ctx, List.of(DEFAULT_SUITE), DEFAULT_PACKET);
    }

    /** This client with datagrams large enough for a record of {@code payload} bytes. */
    public DtlsClient forPayload(int payload) {
        int need = payload + RECORD_OVERHEAD;
        return need <= maxPacket ? this : new DtlsClient(context, cipherSuites, need);
    }

    /**
     * The room an engine asks for to write one datagram into (its session's packet buffer size: about
     * 16 KiB for DTLS whatever the maximum packet size; it refuses to wrap into less).
     */
    public int packetBuffer() {
        return engine().getSession().getPacketBufferSize();
    }

    /**
     * A fresh client engine, in DTLS 1.2 only. Made without the server's host and port on purpose:
     * the JDK resumes a cached session for an engine that names them (an abbreviated handshake, where
     * the client's Finished and its first records race to the server); every handshake here is full.
     */
    SSLEngine engine() {
        SSLEngine e = context.createSSLEngine();
        e.setUseClientMode(true);
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(new String[]{"DTLSv1.2"});
        p.setCipherSuites(cipherSuites.toArray(String[]::new));
        p.setMaximumPacketSize(maxPacket);
        e.setSSLParameters(p);
        return e;
    }

    private static final class AnyServer implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            throw new UnsupportedOperationException("a client's trust manager");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // the generator measures the server: any certificate will do
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
