package dev.abyss.server.dtls;

import dev.abyss.ffi.net.PeerKey;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Stateless DTLS cookies (RFC 6347 4.2.1): HMAC-SHA256, truncated to {@value #LENGTH} bytes, over
 * the client's address and port and the ClientHello's version, random, session id, cipher suites
 * and compression methods, keyed by a secret that rotates every {@link #ROTATION_NANOS}; a cookie
 * made with the current or the previous secret verifies, so one lives 30 to 60 s. Nothing is kept
 * per client. Any thread (a {@link Mac} per thread).
 */
final class Cookies {
    static final int LENGTH = 16;
    static final long ROTATION_NANOS = 30_000_000_000L;

    /** The two secrets and when the current one was made; replaced whole on rotation. */
    private record Secrets(long generation, byte[] current, byte[] previous, long madeAt) {
    }

    /** One thread's MACs, keyed by the secrets of {@code generation}. */
    private static final class Macs {
        long generation = -1;
        Mac current;
        Mac previous;
        final byte[] scratch = new byte[512];
        final byte[] out = new byte[32];
    }

    private final SecureRandom random = new SecureRandom();
    private final AtomicReference<Secrets> secrets;
    private final ThreadLocal<Macs> macs = ThreadLocal.withInitial(Macs::new);

    Cookies(long now) {
        byte[] first = newSecret();
        secrets = new AtomicReference<>(new Secrets(0, first, first, now));
    }

    private byte[] newSecret() {
        byte[] s = new byte[32];
        random.nextBytes(s);
        return s;
    }

    /** The secrets, rotated first when the current one is older than the rotation period. */
    private Secrets secrets(long now) {
        Secrets s = secrets.get();
        if (now - s.madeAt() >= ROTATION_NANOS) {
            Secrets next = new Secrets(s.generation() + 1, newSecret(), s.current(), now);
            secrets.compareAndSet(s, next); // a racing thread's rotation is as good
            s = secrets.get();
        }
        return s;
    }

    private Macs macs(Secrets s) {
        Macs m = macs.get();
        if (m.generation != s.generation()) {
            try {
                m.current = Mac.getInstance("HmacSHA256");
                m.current.init(new SecretKeySpec(s.current(), "HmacSHA256"));
                m.previous = Mac.getInstance("HmacSHA256");
                m.previous.init(new SecretKeySpec(s.previous(), "HmacSHA256"));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
            }
            m.generation = s.generation();
        }
        return m;
    }

    /** Writes the cookie for {@code hello} from {@code peer} (current secret) at {@code at} in {@code out}. */
    void write(PeerKey peer, MemorySegment datagram, ClientHello hello, long now, MemorySegment out, long at) {
        Macs m = macs(secrets(now));
        mac(m.current, m, peer, datagram, hello);
        MemorySegment.copy(m.out, 0, out, ValueLayout.JAVA_BYTE, at, LENGTH);
    }

    /** True when {@code hello} carries a cookie made for it and {@code peer} with the current or previous secret. */
    boolean verify(PeerKey peer, MemorySegment datagram, ClientHello hello, long now) {
        if (hello.cookieLength != LENGTH) {
            return false;
        }
        Secrets s = secrets(now);
        Macs m = macs(s);
        mac(m.current, m, peer, datagram, hello);
        if (equal(m.out, datagram, hello.cookieLengthAt + 1)) {
            return true;
        }
        mac(m.previous, m, peer, datagram, hello);
        return equal(m.out, datagram, hello.cookieLengthAt + 1);
    }

    /** Constant time over the cookie's bytes. */
    private static boolean equal(byte[] mac, MemorySegment datagram, long at) {
        int diff = 0;
        for (int i = 0; i < LENGTH; i++) {
            diff |= mac[i] ^ datagram.get(ValueLayout.JAVA_BYTE, at + i);
        }
        return diff == 0;
    }

    private static void mac(Mac mac, Macs m, PeerKey peer, MemorySegment datagram, ClientHello hello) {
        byte[] b = m.scratch;
        int n = 0;
        long hi = peer.hi();
        long lo = peer.lo();
        for (int i = 0; i < 8; i++) {
            b[n++] = (byte) (hi >>> (56 - 8 * i));
        }
        for (int i = 0; i < 8; i++) {
            b[n++] = (byte) (lo >>> (56 - 8 * i));
        }
        b[n++] = (byte) peer.family();
        b[n++] = (byte) (peer.port() >>> 8);
        b[n++] = (byte) peer.port();
        mac.update(b, 0, n);
        update(mac, m, datagram, ClientHello.BODY_AT, hello.cookieLengthAt); // version, random, session id
        update(mac, m, datagram, hello.suitesAt, hello.suitesEnd);          // cipher suites, compression methods
        try {
            mac.doFinal(m.out, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(Mac mac, Macs m, MemorySegment d, long from, long to) {
        for (long at = from; at < to; ) {
            int n = (int) Math.min(m.scratch.length, to - at);
            MemorySegment.copy(d, ValueLayout.JAVA_BYTE, at, m.scratch, 0, n);
            mac.update(m.scratch, 0, n);
            at += n;
        }
    }
}
