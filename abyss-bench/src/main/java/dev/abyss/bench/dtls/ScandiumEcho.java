package dev.abyss.bench.dtls;

import org.eclipse.californium.elements.RawData;
import org.eclipse.californium.elements.config.CertificateAuthenticationMode;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.scandium.DTLSConnector;
import org.eclipse.californium.scandium.config.DtlsConfig;
import org.eclipse.californium.scandium.config.DtlsConnectorConfig;
import org.eclipse.californium.scandium.dtls.CertificateType;
import org.eclipse.californium.scandium.dtls.cipher.CipherSuite;
import org.eclipse.californium.scandium.dtls.x509.SingleCertificateProvider;

import java.net.InetSocketAddress;

/**
 * The DTLS comparison's baseline: an echo server on Eclipse Californium's Scandium, its
 * {@link DTLSConnector} serving {@link DtlsPki}'s P-256 certificate, every application record
 * sent back to its peer. One receiver thread and {@code threads} connector threads (Scandium's
 * executor for handshakes and records); clients are not asked for a certificate.
 */
public final class ScandiumEcho implements AutoCloseable {
    private final DTLSConnector connector;

    private ScandiumEcho(DTLSConnector connector) {
        this.connector = connector;
    }

    /**
     * Starts the echo on {@code at}.
     *
     * @param cookie  whether a ClientHello without a valid cookie is answered with a HelloVerifyRequest
     *                (Scandium's default), or a handshake starts at once (DTLS_USE_HELLO_VERIFY_REQUEST false)
     * @param threads Scandium's connector threads
     * @param receiveBuffer SO_RCVBUF
     */
    public static ScandiumEcho start(InetSocketAddress at, DtlsPki pki, boolean cookie, int threads, int receiveBuffer) throws Exception {
        DtlsConfig.register();
        Configuration config = new Configuration();
        DtlsConnectorConfig.Builder b = DtlsConnectorConfig.builder(config)
                .setAddress(at)
                .set(DtlsConfig.DTLS_ROLE, DtlsConfig.DtlsRole.SERVER_ONLY)
                .set(DtlsConfig.DTLS_CLIENT_AUTHENTICATION_MODE, CertificateAuthenticationMode.NONE)
                .set(DtlsConfig.DTLS_USE_HELLO_VERIFY_REQUEST, cookie)
                .set(DtlsConfig.DTLS_RECEIVER_THREAD_COUNT, 1)
                .set(DtlsConfig.DTLS_CONNECTOR_THREAD_COUNT, threads)
                .set(DtlsConfig.DTLS_RECEIVE_BUFFER_SIZE, receiveBuffer)
                .set(DtlsConfig.DTLS_MAX_CONNECTIONS, 200_000)
                .setAsList(DtlsConfig.DTLS_CIPHER_SUITES, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
                .setCertificateIdentityProvider(new SingleCertificateProvider(pki.privateKey(), pki.chain(), CertificateType.X_509));
        DTLSConnector connector = new DTLSConnector(b.build());
        connector.setRawDataReceiver(in -> connector.send(RawData.outbound(in.getBytes(), in.getEndpointContext(), null, false)));
        connector.start();
        return new ScandiumEcho(connector);
    }

    /** Where it listens. */
    public InetSocketAddress address() {
        return connector.getAddress();
    }

    @Override
    public void close() {
        connector.destroy();
    }
}
