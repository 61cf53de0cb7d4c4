package dev.abyss.testsupport;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Certificates made at test time with the JDK's keytool (no private key is ever committed), once
 * per JVM, in a temporary directory removed at exit: a test CA; a server and a client certificate
 * signed by it; a "rogue" client certificate signed by nobody the server trusts; and a trust store
 * holding the CA. Every store is PKCS#12 with the password {@link #PASSWORD}; keys are EC P-256.
 */
public final class TestCertificates {
    public static final String PASSWORD = "abyss-test";

    private static TestCertificates made;

    /** The directory every file is in. */
    public final Path dir;
    /** The server's key and chain (alias server). */
    public final Path server;
    /** A client's key and chain signed by the CA (alias client). */
    public final Path client;
    /** A client's self-signed key (alias rogue): not trusted by {@link #trust}. */
    public final Path rogue;
    /** The CA certificate as a trusted entry. */
    public final Path trust;
    /** The CA certificate, PEM. */
    public final Path caPem;

    private TestCertificates(Path dir) {
        this.dir = dir;
        this.server = dir.resolve("server.p12");
        this.client = dir.resolve("client.p12");
        this.rogue = dir.resolve("rogue.p12");
        this.trust = dir.resolve("trust.p12");
        this.caPem = dir.resolve("ca.pem");
    }

    /** The certificates, made on first use. */
    public static synchronized TestCertificates get() {
        if (made == null) {
            try {
                Path dir = Files.createTempDirectory("abyss-certs");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
                TestCertificates c = new TestCertificates(dir);
                c.make();
                made = c;
            } catch (IOException e) {
                throw new IllegalStateException("cannot make test certificates: " + e.getMessage(), e);
            }
        }
        return made;
    }

    private void make() throws IOException {
        Path ca = dir.resolve("ca.p12");
        keytool("-genkeypair", "-keystore", ca.toString(), "-alias", "ca", "-dname", "CN=Abyss Test CA", "-ext", "bc:c");
        keytool("-exportcert", "-keystore", ca.toString(), "-alias", "ca", "-rfc", "-file", caPem.toString());
        keytool("-importcert", "-keystore", trust.toString(), "-alias", "ca", "-file", caPem.toString(), "-noprompt");
        signed(ca, server, "server", "CN=localhost");
        signed(ca, client, "client", "CN=abyss-test-client");
        keytool("-genkeypair", "-keystore", rogue.toString(), "-alias", "rogue", "-dname", "CN=rogue");
    }

    /** A key pair in {@code store} whose certificate {@code ca} signs, with the CA in its chain. */
    private void signed(Path ca, Path store, String alias, String dname) throws IOException {
        Path csr = dir.resolve(alias + ".csr");
        Path pem = dir.resolve(alias + ".pem");
        keytool("-genkeypair", "-keystore", store.toString(), "-alias", alias, "-dname", dname);
        keytool("-certreq", "-keystore", store.toString(), "-alias", alias, "-file", csr.toString());
        keytool("-gencert", "-keystore", ca.toString(), "-alias", "ca", "-infile", csr.toString(), "-outfile", pem.toString(), "-rfc");
        keytool("-importcert", "-keystore", store.toString(), "-alias", "ca", "-file", caPem.toString(), "-noprompt");
        keytool("-importcert", "-keystore", store.toString(), "-alias", alias, "-file", pem.toString(), "-noprompt");
    }

    private void keytool(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        if (List.of(args).contains("-genkeypair")) {
            cmd.addAll(List.of("-keyalg", "EC", "-groupname", "secp256r1", "-validity", "3"));
        }
        cmd.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("keytool " + String.join(" ", args) + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** A DTLS 1.2 context with the key in {@code keyStore} (null: none) trusting {@code trustStore} (null: trust nobody). */
    public static SSLContext context(Path keyStore, Path trustStore) {
        try {
            KeyManagerFactory kmf = null;
            if (keyStore != null) {
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(load(keyStore), PASSWORD.toCharArray());
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trustStore != null ? load(trustStore) : emptyStore());
            SSLContext c = SSLContext.getInstance("DTLSv1.2");
            c.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return c;
        } catch (Exception e) {
            throw new IllegalStateException("DTLS context: " + e, e);
        }
    }

    private static KeyStore emptyStore() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        return ks;
    }

    private static KeyStore load(Path p) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p)) {
            ks.load(in, PASSWORD.toCharArray());
        }
        return ks;
    }

    private static void delete(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory: the system cleans it eventually
        }
    }
}
