package dev.abyss.server;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * DTLS 1.2 for every session of a server ({@link ServerConfig.Builder#dtls(Dtls)}), on the JDK's
 * {@link javax.net.ssl.SSLEngine}. The handler sees plaintext only: {@code handleConnection} runs
 * once the handshake has completed, {@link Session#negotiated()} tells what was agreed, every
 * {@code send} is one record in one datagram, and a failed handshake ends the peer with
 * {@code handleError} as its only callback.
 *
 * <p>Before any per-peer state a ClientHello must carry a cookie the server issued statelessly (a
 * HelloVerifyRequest, never larger than the datagram it answers); handshakes in progress are bounded
 * per acceptor by {@link Builder#maxHandshakes(int)}. See the README's "DTLS" section.
 *
 * <pre>{@code
 * Dtls dtls = Dtls.fromKeyStore(Path.of("server.p12"), "secret".toCharArray())
 *         .clientAuth(Dtls.ClientAuth.NONE).alpn("coap").build();
 * ServerConfig config = ServerConfig.builder().handler(new Echo()).port(5684).dtls(dtls).build();
 * }</pre>
 */
public final class Dtls {
    /** The protocol versions a DTLS server speaks: the JDK has DTLS 1.0 and 1.2, and Abyss offers 1.2 only. */
    public static final List<String> PROTOCOLS = List.of("DTLSv1.2");

    /** Whether the server asks the client for a certificate. */
    public enum ClientAuth {
        /** No client certificate is asked for. */
        NONE,
        /** A certificate is asked for; a client without one is served, one with a bad one fails. */
        WANT,
        /** A certificate signed by the trust store is required: a client without one fails its handshake. */
        NEED
    }

    private final SSLContext context;
    private final ClientAuth clientAuth;
    private final List<String> alpn;
    private final Duration handshakeTimeout;
    private final int maxHandshakes;
    private final int maxRecordSize;

    private Dtls(Builder b) {
        this.context = b.context;
        this.clientAuth = b.clientAuth;
        this.alpn = List.copyOf(b.alpn);
        this.handshakeTimeout = b.handshakeTimeout;
        this.maxHandshakes = b.maxHandshakes;
        this.maxRecordSize = b.maxRecordSize;
    }

    /**
     * Settings around a context the caller made ({@code SSLContext.getInstance("DTLSv1.2")} or
     * {@code "DTLS"}, initialised with its key and trust managers).
     *
     * @param context a DTLS context
     * @return a builder with the other options at their defaults
     * @throws IllegalArgumentException when the context is not a DTLS one, naming its protocol
     */
    public static Builder builder(SSLContext context) {
        Objects.requireNonNull(context, "context");
        String protocol = context.getProtocol();
        if (protocol == null || !protocol.toUpperCase(java.util.Locale.ROOT).startsWith("DTLS")) {
            throw new IllegalArgumentException("context must be a DTLS context (SSLContext.getInstance(\"DTLSv1.2\")), was protocol "
                    + protocol);
        }
        return new Builder(context);
    }

    /**
     * Settings from a PKCS#12 key store holding the server's private key and certificate chain.
     * The trust store for client certificates is {@link Builder#trustStore(Path, char[])} (default:
     * the JDK's).
     *
     * @param pkcs12   the key store file
     * @param password its password (also the key's)
     * @return a builder with the other options at their defaults
     * @throws IllegalArgumentException when the file cannot be read or holds no key, naming it
     */
    public static Builder fromKeyStore(Path pkcs12, char[] password) {
        Objects.requireNonNull(pkcs12, "pkcs12");
        Objects.requireNonNull(password, "password");
        KeyStore keys = load(pkcs12, password, "key store");
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, password);
            boolean hasKey = false;
            for (String alias : java.util.Collections.list(keys.aliases())) {
                hasKey |= keys.isKeyEntry(alias);
            }
            if (!hasKey) {
                throw new IllegalArgumentException("key store " + pkcs12 + " holds no private key entry");
            }
            Builder b = new Builder(null);
            b.keyManagers = kmf.getKeyManagers();
            return b;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("key store " + pkcs12 + ": " + e.getMessage(), e);
        }
    }

    private static KeyStore load(Path file, char[] password, String what) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(what + " " + file + " cannot be read (missing, or no permission)");
        }
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(what + " " + file + " is not a PKCS#12 store this password opens: " + e.getMessage(), e);
        }
    }

    /** {@return the DTLS context every session's engine is made from} */
    public SSLContext context() {
        return context;
    }

    /** {@return whether client certificates are asked for} */
    public ClientAuth clientAuth() {
        return clientAuth;
    }

    /** {@return the ALPN protocols offered, in preference order; empty: no ALPN} */
    public List<String> alpn() {
        return alpn;
    }

    /** {@return how long a handshake may take from the ClientHello the server admitted} */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** {@return handshakes in progress allowed per acceptor} */
    public int maxHandshakes() {
        return maxHandshakes;
    }

    /** {@return the largest datagram the server sends (record header, MAC and padding included)} */
    public int maxRecordSize() {
        return maxRecordSize;
    }

    @Override
    public String toString() {
        return "Dtls[" + PROTOCOLS + ", clientAuth " + clientAuth + ", alpn " + alpn + ", handshakeTimeout " + handshakeTimeout
                + ", maxHandshakes " + maxHandshakes + ", maxRecordSize " + maxRecordSize + "]";
    }

    /** Builds a {@link Dtls}; every setter checks its value at once and names it when refused. */
    public static final class Builder {
        /** The smallest record size: a HelloVerifyRequest and a handshake fragment must fit. */
        public static final int MIN_RECORD_SIZE = 256;
        /** The largest: a DTLS record of 2^14 bytes of plaintext with its header and expansion. */
        public static final int MAX_RECORD_SIZE = 16_709;

        private SSLContext context;
        private javax.net.ssl.KeyManager[] keyManagers;
        private javax.net.ssl.TrustManager[] trustManagers;
        private ClientAuth clientAuth = ClientAuth.NONE;
        private List<String> alpn = List.of();
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private int maxHandshakes = 1024;
        private int maxRecordSize = 1400;

        private Builder(SSLContext context) {
            this.context = context;
        }

        /**
         * With {@link Dtls#fromKeyStore}: the PKCS#12 trust store client certificates are checked against.
         *
         * @param pkcs12   the trust store file
         * @param password its password
         * @return this builder
         */
        public Builder trustStore(Path pkcs12, char[] password) {
            if (context != null) {
                throw new IllegalArgumentException("trustStore " + pkcs12 + ": the SSLContext given to Dtls.builder has its own trust managers");
            }
            KeyStore ks = load(Objects.requireNonNull(pkcs12, "pkcs12"), Objects.requireNonNull(password, "password"), "trust store");
            try {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ks);
                trustManagers = tmf.getTrustManagers();
            } catch (GeneralSecurityException e) {
                throw new IllegalArgumentException("trust store " + pkcs12 + ": " + e.getMessage(), e);
            }
            return this;
        }

        /**
         * Whether the server asks clients for a certificate.
         *
         * @param auth whether client certificates are asked for (default NONE)
         * @return this builder
         */
        public Builder clientAuth(ClientAuth auth) {
            this.clientAuth = Objects.requireNonNull(auth, "clientAuth");
            return this;
        }

        /**
         * The ALPN protocols offered to clients.
         *
         * @param protocols the ALPN protocols offered, in preference order (default: none); each 1..255 bytes
         * @return this builder
         */
        public Builder alpn(String... protocols) {
            for (String p : protocols) {
                int bytes = p == null ? 0 : p.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                if (bytes < 1 || bytes > 255) {
                    throw new IllegalArgumentException("alpn protocol must be 1..255 bytes, was '" + p + "'");
                }
            }
            this.alpn = List.of(protocols);
            return this;
        }

        /**
         * How long a handshake may take from the admitted ClientHello.
         *
         * @param timeout how long a handshake may take, 100 ms..10 min (default 10 s); a handshake
         *                past it ends with handleError(SSLHandshakeException)
         * @return this builder
         */
        public Builder handshakeTimeout(Duration timeout) {
            if (timeout == null || timeout.compareTo(Duration.ofMillis(100)) < 0 || timeout.compareTo(Duration.ofMinutes(10)) > 0) {
                throw new IllegalArgumentException("handshakeTimeout must be 100ms..10min, was " + timeout);
            }
            this.handshakeTimeout = timeout;
            return this;
        }

        /**
         * The bound on handshakes in progress, per acceptor.
         *
         * @param n handshakes in progress per acceptor, 1..1,000,000 (default 1,024); a ClientHello
         *          with a valid cookie past it is dropped and counted, the client retransmits
         * @return this builder
         */
        public Builder maxHandshakes(int n) {
            if (n < 1 || n > 1_000_000) {
                throw new IllegalArgumentException("maxHandshakes must be 1..1000000, was " + n);
            }
            this.maxHandshakes = n;
            return this;
        }

        /**
         * The largest datagram the server sends.
         *
         * @param bytes the largest datagram the server sends, {@value #MIN_RECORD_SIZE}..{@value #MAX_RECORD_SIZE}
         *              (default 1,400: fits a 1,500-byte path with IPv6); handshake flights are cut to it,
         *              an application send that does not fit in one record is refused
         * @return this builder
         */
        public Builder maxRecordSize(int bytes) {
            if (bytes < MIN_RECORD_SIZE || bytes > MAX_RECORD_SIZE) {
                throw new IllegalArgumentException("maxRecordSize must be " + MIN_RECORD_SIZE + ".." + MAX_RECORD_SIZE + ", was " + bytes);
            }
            this.maxRecordSize = bytes;
            return this;
        }

        /**
         * Makes the settings (and the DTLS context, from a key store).
         *
         * @return the settings
         * @throws IllegalArgumentException when the DTLS context cannot be made
         */
        public Dtls build() {
            if (context == null) {
                try {
                    SSLContext c = SSLContext.getInstance("DTLSv1.2");
                    c.init(keyManagers, trustManagers, null);
                    context = c;
                } catch (GeneralSecurityException e) {
                    throw new IllegalArgumentException("DTLS context: " + e.getMessage(), e);
                }
            }
            return new Dtls(this);
        }
    }
}
