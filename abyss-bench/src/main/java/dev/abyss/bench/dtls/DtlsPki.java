package dev.abyss.bench.dtls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The DTLS comparison's server identity: a P-256 ECDSA key and a self-signed certificate for
 * "localhost", made at run time by the JDK's keytool into a PKCS#12 key store (no private key is
 * ever committed). Every DTLS server of the comparison (Scandium, the Abyss CLI) serves this one.
 *
 * @param keystore the PKCS#12 file
 * @param password its password (a throwaway: the key lives as long as the run)
 */
public record DtlsPki(Path keystore, String password) {
    /** The alias of the server's key entry. */
    public static final String ALIAS = "server";
    private static final String PASSWORD = "abyss-bench";

    /**
     * Makes {@code dir/server.p12} (or reuses it when it is there and still valid for a day), with
     * keytool from the running JDK.
     *
     * @throws IOException when keytool cannot be run or fails (its output is in the message)
     */
    public static DtlsPki generate(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path p12 = dir.resolve("server.p12");
        DtlsPki pki = new DtlsPki(p12, PASSWORD);
        if (Files.exists(p12) && pki.stillValid()) {
            return pki;
        }
        Files.deleteIfExists(p12);
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        List<String> cmd = new ArrayList<>(List.of(keytool.toString(), "-genkeypair", "-alias", ALIAS, "-keyalg", "EC",
                "-groupname", "secp256r1", "-sigalg", "SHA256withECDSA", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
                "-validity", "7", "-storetype", "PKCS12", "-keystore", p12.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes());
        }
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.exists(p12)) {
            p.destroyForcibly();
            throw new IOException("keytool could not make " + p12 + ": " + out.trim());
        }
        return pki;
    }

    private boolean stillValid() {
        try {
            X509Certificate c = (X509Certificate) load().getCertificate(ALIAS);
            c.checkValidity(new java.util.Date(System.currentTimeMillis() + TimeUnit.DAYS.toMillis(1)));
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /** The key store, loaded. */
    public KeyStore load() throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, password.toCharArray());
        }
        return ks;
    }

    /** The server's private key. */
    public PrivateKey privateKey() throws IOException, GeneralSecurityException {
        return (PrivateKey) load().getKey(ALIAS, password.toCharArray());
    }

    /** The server's certificate chain (one self-signed certificate). */
    public Certificate[] chain() throws IOException, GeneralSecurityException {
        return load().getCertificateChain(ALIAS);
    }
}
