package dev.abyss.server;

import java.security.Principal;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * What a DTLS handshake agreed, from {@link Session#negotiated()} once {@code handleConnection} runs:
 * the reference's {@code negotiated_protocol} (ALPN) and the rest a handler may check.
 *
 * @param protocol            the protocol version, e.g. {@code "DTLSv1.2"}
 * @param cipherSuite         the cipher suite, e.g. {@code "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}
 * @param peerCertificates    the client's certificate chain, its own first; empty when it sent none
 * @param applicationProtocol the ALPN protocol agreed; empty when the client offered none or none was configured
 */
public record Negotiated(String protocol, String cipherSuite, List<X509Certificate> peerCertificates,
                         Optional<String> applicationProtocol) {
    /** Copies the certificate list: the record is immutable. */
    public Negotiated {
        peerCertificates = List.copyOf(peerCertificates);
    }

    /** {@return the client's identity (its certificate's subject), or empty when it sent no certificate} */
    public Optional<Principal> peerPrincipal() {
        return peerCertificates.isEmpty() ? Optional.empty() : Optional.of(peerCertificates.getFirst().getSubjectX500Principal());
    }
}
