package dev.abyss.server;

import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.dispatch.StatelessDispatch;
import dev.abyss.server.engine.session.SessionImpl;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Stateless address-validation tokens: proof that a peer can receive at the address it claims,
 * without keeping any state for it. The server {@link #issue issues} a token to the address a request
 * came from; a peer that sends it back from that same address (and, when {@link Builder#bindPort
 * bound to it}, port) within the token's lifetime has shown it is not forging its source, so the
 * server may answer it in full, open a session for it, or take it off a rate limit.
 *
 * <h2>The token</h2>
 * {@value #TOKEN_LENGTH} bytes, the layout of an RFC 9018 interoperable DNS server cookie:
 * <pre>
 *  0      1      2      3      4                          8                                  16
 *  +------+------+------+------+--------------------------+----------------------------------+
 *  | ver=1|     reserved (0)   | timestamp (s, uint32 BE) | SipHash-2-4, 64 bits (LE)        |
 *  +------+------+------+------+--------------------------+----------------------------------+
 *  hash = SipHash-2-4(context | bytes 0..7 of the token | peer address [| peer port], secret)
 * </pre>
 * The address is 4 bytes for IPv4 (a v4-mapped IPv6 peer included, so a token verifies on an IPv4
 * and a dual-stack socket alike), 16 for IPv6; the port (2 bytes, big-endian) is hashed only with
 * {@link Builder#bindPort}. The context is whatever the protocol wants the token bound to (a DNS client
 * cookie, a QUIC connection ID), hashed but not carried. Without a port the token <em>is</em> the
 * RFC 9018 server cookie for the client cookie given as context (checked against the RFC's test
 * vectors). The secret is 128 bits; the timestamp is the issue time in seconds since the epoch modulo
 * 2<sup>32</sup>, compared in serial-number arithmetic.
 *
 * <h2>Verification</h2>
 * {@link #verify} accepts a token when its length is {@value #TOKEN_LENGTH}, its version is 1, it
 * was issued at most {@link Builder#lifetime lifetime} ago (default 1 hour) and at most
 * {@link Builder#clockSkew clockSkew} in the future (default 5 minutes: another server of the same
 * set, a clock a little ahead), and its hash matches under the current secret or the previous one.
 * Anything else (a short or long token, an out-of-range slice, a flipped bit, another address or port,
 * an old secret) is {@code false}: never an exception, whatever the bytes. Both secrets are always
 * tried and the hashes compared as whole 64-bit words, so the time taken does not tell how much of a
 * guess was right. A verify allocates nothing (for a {@link Peer} handed to a handler by the server;
 * another {@code Peer} implementation is asked for its {@link Peer#remoteAddress()}) and takes 50-80 ns
 * of CPU (see the README's figures).
 *
 * <h2>Secrets and rotation</h2>
 * Two secrets are held: the current one signs and verifies, the previous one only verifies. {@link
 * #rotate()} makes a fresh random secret current (and the current one previous), {@link
 * #rotate(byte[])} installs a given one (servers of one anycast set rotate to the same secrets, as
 * RFC 9018 describes); {@link Builder#rotateEvery} rotates by itself. A token lives across one
 * rotation, not two: keep {@code lifetime} at most the rotation period, or tokens issued just before a
 * rotation die early. Thread-safe: issue, verify and rotate from any thread.
 *
 * <h2>Use 1: a DNS server cookie (RFC 7873, RFC 9018)</h2>
 * <pre>{@code
 * AddressTokens cookies = AddressTokens.builder().secret(secretShared16Bytes).build(); // 1 h, port not bound
 * // in a DatagramHandler, with the COOKIE option (client cookie 8 bytes [+ server cookie 16]) at `at`:
 * boolean valid = optionLength == 24
 *         && cookies.verify(peer, query, at + 8, 16, query, at, 8);       // server cookie, client cookie as context
 * if (!valid || cookies.ageSeconds(query, at + 8) > 1800) {                // absent, bad, or half-way to expiry
 *     cookies.issue(peer, query, at, 8, reply, cookieAt + 8);              // a fresh server cookie in the reply
 * }
 * // a valid cookie: answer in full (and skip rate limiting); none or bad: a truncated answer, or BADCOOKIE
 * }</pre>
 *
 * <h2>Use 2: a QUIC-style Retry token (RFC 9000 §8.1)</h2>
 * <pre>{@code
 * AddressTokens retry = AddressTokens.builder().lifetime(Duration.ofSeconds(10)).bindPort(true).build();
 * // first Initial from an unvalidated address: no state, a Retry carrying token || original DCID
 * retry.issue(peer, dcid, 0, dcidLength, retryPacket, tokenAt);
 * MemorySegment.copy(dcid, 0, retryPacket, tokenAt + AddressTokens.TOKEN_LENGTH, dcidLength);
 * // the Initial that comes back carries the token: the original DCID is its tail, and the context
 * if (retry.verify(peer, token, 0, AddressTokens.TOKEN_LENGTH, token, AddressTokens.TOKEN_LENGTH, odcidLength)) {
 *     // the address is validated: create the connection, lift the 3x amplification limit
 * }
 * }</pre>
 */
public final class AddressTokens {
    /** Length of a token: 16 bytes (version, 3 reserved, timestamp, 8-byte hash). */
    public static final int TOKEN_LENGTH = 16;
    /** The version byte of a token, RFC 9018's SipHash-2-4 method. */
    public static final int VERSION = 1;
    /** Length of a secret: 128 bits. */
    public static final int SECRET_LENGTH = 16;
    /** The longest context a token may be bound to; a longer one is refused (bounded work per verify). */
    public static final int MAX_CONTEXT_LENGTH = 255;

    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final MemorySegment NO_CONTEXT = MemorySegment.ofArray(new byte[0]);

    /** The secrets in use, replaced whole on rotation so a reader sees a consistent pair. */
    private record Secrets(long k0, long k1, boolean hasPrevious, long p0, long p1, long rotateAtSecond) {
    }

    private final long lifetimeSeconds;
    private final long skewSeconds;
    private final boolean bindPort;
    private final long rotateEverySeconds;
    private final InstantSource clock;
    private final SecureRandom random;
    private volatile Secrets secrets;

    private AddressTokens(Builder b) {
        this.lifetimeSeconds = b.lifetime.toSeconds();
        this.skewSeconds = b.clockSkew.toSeconds();
        this.bindPort = b.bindPort;
        this.rotateEverySeconds = b.rotateEvery.toSeconds();
        this.clock = b.clock;
        this.random = new SecureRandom();
        byte[] current = b.secret != null ? b.secret : randomSecret();
        long next = rotateEverySeconds > 0 ? nowSeconds() + rotateEverySeconds : Long.MAX_VALUE;
        this.secrets = b.previous != null
                ? new Secrets(word(current, 0), word(current, 8), true, word(b.previous, 0), word(b.previous, 8), next)
                : new Secrets(word(current, 0), word(current, 8), false, 0, 0, next);
    }

    /** {@return a builder: a random secret, 1 hour lifetime, 5 minutes of clock skew, port not bound, no automatic rotation} */
    public static Builder builder() {
        return new Builder();
    }

    // ---- issue ---------------------------------------------------------------------------------

    /**
     * Writes a fresh token for {@code peer}, bound to {@code contextLength} bytes of {@code context}
     * from {@code contextOffset}, at {@code outOffset} of {@code out} ({@value #TOKEN_LENGTH} bytes).
     * Allocates nothing for a peer handed out by the server.
     *
     * @param peer          the peer, as the server handed it to the handler
     * @param context       the bytes the token is bound to (a DNS client cookie, a connection ID)
     * @param contextOffset where they start in {@code context}
     * @param contextLength how many, 0..{@value #MAX_CONTEXT_LENGTH}
     * @param out           where the token is written
     * @param outOffset     where in {@code out}
     * @return {@value #TOKEN_LENGTH}, the bytes written
     * @throws IllegalArgumentException  when the peer has no IP address (AF_UNIX) or the context is longer
     *                                   than {@value #MAX_CONTEXT_LENGTH} bytes
     * @throws IndexOutOfBoundsException when a range is not inside its segment
     */
    public int issue(Peer peer, MemorySegment context, long contextOffset, long contextLength, MemorySegment out, long outOffset) {
        PeerKey key = keyOf(peer);
        if (key != null) {
            return issue(key, context, contextOffset, contextLength, out, outOffset);
        }
        return issue(inet(peer.remoteAddress()), context, contextOffset, contextLength, out, outOffset);
    }

    /**
     * {@link #issue(Peer, MemorySegment, long, long, MemorySegment, long)} without a context.
     *
     * @param peer          the peer, as the server handed it to the handler
     * @param out           where the token is written
     * @param outOffset     where in {@code out}
     * @return {@value #TOKEN_LENGTH}, the bytes written
     * @throws IllegalArgumentException  when the peer has no IP address (AF_UNIX)
     * @throws IndexOutOfBoundsException when the token does not fit in {@code out}
     */
    public int issue(Peer peer, MemorySegment out, long outOffset) {
        return issue(peer, NO_CONTEXT, 0, 0, out, outOffset);
    }

    /**
     * {@link #issue(Peer, MemorySegment, long, long, MemorySegment, long)} for an address (e.g. one
     * kept from {@link Peer#remoteAddress()}).
     *
     * @param peer          the peer's address
     * @param context       the bytes the token is bound to (a DNS client cookie, a connection ID)
     * @param contextOffset where they start in {@code context}
     * @param contextLength how many, 0..{@value #MAX_CONTEXT_LENGTH}
     * @param out           where the token is written
     * @param outOffset     where in {@code out}
     * @return {@value #TOKEN_LENGTH}
     * @throws IllegalArgumentException  when the address is unresolved or the context too long
     * @throws IndexOutOfBoundsException when a range is not inside its segment
     */
    public int issue(InetSocketAddress peer, MemorySegment context, long contextOffset, long contextLength,
                     MemorySegment out, long outOffset) {
        return issue(keyOf(peer), context, contextOffset, contextLength, out, outOffset);
    }

    /**
     * Issues a token for {@code peer} bound to all of {@code context} (may be empty).
     *
     * @param peer    the peer's address
     * @param context the bytes the token is bound to, 0..{@value #MAX_CONTEXT_LENGTH}
     * @return a new array of {@value #TOKEN_LENGTH} bytes
     * @throws IllegalArgumentException when the address is unresolved or the context too long
     */
    public byte[] issue(InetSocketAddress peer, byte[] context) {
        byte[] token = new byte[TOKEN_LENGTH];
        issue(keyOf(peer), MemorySegment.ofArray(context), 0, context.length, MemorySegment.ofArray(token), 0);
        return token;
    }

    private int issue(PeerKey key, MemorySegment context, long contextOffset, long contextLength, MemorySegment out, long outOffset) {
        if (contextLength < 0 || contextLength > MAX_CONTEXT_LENGTH) {
            throw new IllegalArgumentException("a token's context is 0.." + MAX_CONTEXT_LENGTH + " bytes, was " + contextLength);
        }
        Objects.checkFromIndexSize(contextOffset, contextLength, context.byteSize());
        Objects.checkFromIndexSize(outOffset, TOKEN_LENGTH, out.byteSize());
        if (!hasIp(key)) {
            throw new IllegalArgumentException("address tokens need an IP peer, not " + key);
        }
        long now = nowSeconds();
        Secrets s = current(now);
        out.set(JAVA_BYTE, outOffset, (byte) VERSION);
        out.set(JAVA_BYTE, outOffset + 1, (byte) 0);
        out.set(JAVA_BYTE, outOffset + 2, (byte) 0);
        out.set(JAVA_BYTE, outOffset + 3, (byte) 0);
        out.set(BE_INT, outOffset + 4, (int) now);
        long header = out.get(LE_LONG, outOffset);
        out.set(LE_LONG, outOffset + 8, mac(s.k0, s.k1, key, context, contextOffset, (int) contextLength, header));
        return TOKEN_LENGTH;
    }

    // ---- verify --------------------------------------------------------------------------------

    /**
     * Whether {@code tokenLength} bytes of {@code token} from {@code tokenOffset} are a valid token for
     * {@code peer} and the given context (see the class comment for the rules). Never throws for bad
     * bytes, lengths or ranges (a range outside its segment is {@code false}); allocates nothing for a
     * peer handed out by the server.
     *
     * @param peer          the peer, as the server handed it to the handler
     * @param token         the bytes holding the token (as received)
     * @param tokenOffset   where it starts in {@code token}
     * @param tokenLength   its length (anything but {@value #TOKEN_LENGTH} is refused)
     * @param context       the bytes the token must be bound to
     * @param contextOffset where they start in {@code context}
     * @param contextLength how many
     * @return true when the token is valid
     */
    public boolean verify(Peer peer, MemorySegment token, long tokenOffset, long tokenLength,
                          MemorySegment context, long contextOffset, long contextLength) {
        PeerKey key = keyOf(peer);
        if (key == null) {
            SocketAddress a = peer.remoteAddress();
            if (!(a instanceof InetSocketAddress ia) || ia.isUnresolved()) {
                return false;
            }
            key = keyOf(ia);
        }
        return verify(key, token, tokenOffset, tokenLength, context, contextOffset, contextLength);
    }

    /**
     * {@link #verify(Peer, MemorySegment, long, long, MemorySegment, long, long)} without a context.
     *
     * @param peer          the peer, as the server handed it to the handler
     * @param token         the bytes holding the token (as received)
     * @param tokenOffset   where it starts in {@code token}
     * @param tokenLength   its length (anything but {@value #TOKEN_LENGTH} is refused)
     * @return true when the token is valid
     */
    public boolean verify(Peer peer, MemorySegment token, long tokenOffset, long tokenLength) {
        return verify(peer, token, tokenOffset, tokenLength, NO_CONTEXT, 0, 0);
    }

    /**
     * {@link #verify(Peer, MemorySegment, long, long, MemorySegment, long, long)} for an address.
     *
     * @param peer          the peer's address (null or unresolved: {@code false})
     * @param token         the bytes holding the token (as received)
     * @param tokenOffset   where it starts in {@code token}
     * @param tokenLength   its length (anything but {@value #TOKEN_LENGTH} is refused)
     * @param context       the bytes the token must be bound to
     * @param contextOffset where they start in {@code context}
     * @param contextLength how many
     * @return true when the token is valid
     */
    public boolean verify(InetSocketAddress peer, MemorySegment token, long tokenOffset, long tokenLength,
                          MemorySegment context, long contextOffset, long contextLength) {
        if (peer == null || peer.isUnresolved()) {
            return false;
        }
        return verify(keyOf(peer), token, tokenOffset, tokenLength, context, contextOffset, contextLength);
    }

    /**
     * Whether all of {@code token} is a valid token for {@code peer} and all of {@code context}.
     *
     * @param peer    the peer's address (null or unresolved: {@code false})
     * @param token   the token as received
     * @param context the bytes it must be bound to
     * @return true when the token is valid
     */
    public boolean verify(InetSocketAddress peer, byte[] token, byte[] context) {
        return verify(peer, MemorySegment.ofArray(token), 0, token.length, MemorySegment.ofArray(context), 0, context.length);
    }

    private boolean verify(PeerKey key, MemorySegment token, long tokenOffset, long tokenLength,
                           MemorySegment context, long contextOffset, long contextLength) {
        if (tokenLength != TOKEN_LENGTH || contextLength < 0 || contextLength > MAX_CONTEXT_LENGTH
                || !inside(token, tokenOffset, TOKEN_LENGTH) || !inside(context, contextOffset, contextLength)
                || !hasIp(key)) {
            return false;
        }
        if (token.get(JAVA_BYTE, tokenOffset) != VERSION) {
            return false;
        }
        long now = nowSeconds();
        int age = (int) now - token.get(BE_INT, tokenOffset + 4); // serial arithmetic: wraps with the timestamp
        if (age > lifetimeSeconds || -age > skewSeconds) {
            return false;
        }
        Secrets s = current(now);
        long header = token.get(LE_LONG, tokenOffset); // hashed as received: reserved bytes included (RFC 9018)
        long given = token.get(LE_LONG, tokenOffset + 8);
        long diff = mac(s.k0, s.k1, key, context, contextOffset, (int) contextLength, header) ^ given;
        // Both secrets, always, and no early exit: the time does not depend on which matched, or how closely.
        long previous = s.hasPrevious
                ? mac(s.p0, s.p1, key, context, contextOffset, (int) contextLength, header) ^ given
                : -1L;
        return (diff == 0) | (previous == 0);
    }

    /**
     * {@return the age in seconds of the token at {@code offset} of {@code token} (negative when it claims to
     * come from the future), by serial-number arithmetic on its timestamp; says nothing of its validity}
     * A DNS server re-issues a cookie older than half its lifetime (RFC 9018).
     *
     * @param token  the bytes holding the token
     * @param offset where it starts
     * @throws IndexOutOfBoundsException when the token is not inside {@code token}
     */
    public int ageSeconds(MemorySegment token, long offset) {
        Objects.checkFromIndexSize(offset, TOKEN_LENGTH, token.byteSize());
        return (int) nowSeconds() - token.get(BE_INT, offset + 4);
    }

    // ---- rotation ------------------------------------------------------------------------------

    /** Makes a fresh random secret current; the current one becomes the previous (still verifies). */
    public void rotate() {
        rotate(randomSecret());
    }

    /**
     * Makes {@code secret} current; the current one becomes the previous (its tokens still verify),
     * the previous one is forgotten (its tokens no longer verify).
     *
     * @param secret {@value #SECRET_LENGTH} bytes, copied
     * @throws IllegalArgumentException when it is not {@value #SECRET_LENGTH} bytes
     */
    public synchronized void rotate(byte[] secret) {
        checkSecret(secret, "secret");
        Secrets s = secrets;
        long next = rotateEverySeconds > 0 ? nowSeconds() + rotateEverySeconds : Long.MAX_VALUE;
        secrets = new Secrets(word(secret, 0), word(secret, 8), true, s.k0, s.k1, next);
    }

    private Secrets current(long now) {
        Secrets s = secrets;
        if (now >= s.rotateAtSecond) {
            synchronized (this) {
                s = secrets;
                if (now >= s.rotateAtSecond) {
                    rotate();
                    s = secrets;
                }
            }
        }
        return s;
    }

    // ---- the hash ------------------------------------------------------------------------------

    /** SipHash-2-4(context | header | address [| port]), the address and port packed as the hash's tail. */
    private long mac(long k0, long k1, PeerKey key, MemorySegment context, long contextOffset, int contextLength, long header) {
        int port = bindPort ? key.port() : -1;
        // The port's two bytes in network order, as they sit in the tail (low byte first).
        long portBytes = port < 0 ? 0 : ((port >>> 8) & 0xffL) | ((port & 0xffL) << 8);
        int portLength = port < 0 ? 0 : 2;
        if (key.family() == Net.AF_INET || key.isV4Mapped()) {
            long address = Integer.toUnsignedLong(Integer.reverseBytes((int) key.lo()));
            return SipHash24.hash(k0, k1, context, contextOffset, contextLength,
                    header, address | portBytes << 32, 0, 0, 8 + 4 + portLength);
        }
        return SipHash24.hash(k0, k1, context, contextOffset, contextLength,
                header, Long.reverseBytes(key.hi()), Long.reverseBytes(key.lo()), portBytes, 8 + 16 + portLength);
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** The server's own peers carry their key: no address object per call. */
    private static PeerKey keyOf(Peer peer) {
        if (peer instanceof SessionImpl s) {
            return s.key;
        }
        if (peer instanceof StatelessDispatch d) {
            return d.peerKey();
        }
        return null;
    }

    private static InetSocketAddress inet(SocketAddress a) {
        if (a instanceof InetSocketAddress ia) {
            return ia;
        }
        throw new IllegalArgumentException("address tokens need an IP peer, not " + a);
    }

    private static PeerKey keyOf(InetSocketAddress peer) {
        if (peer.isUnresolved()) {
            throw new IllegalArgumentException("address tokens need a resolved address, not " + peer);
        }
        return new PeerKey().set(peer);
    }

    private static boolean hasIp(PeerKey key) {
        int f = key.family();
        return f == Net.AF_INET || f == Net.AF_INET6;
    }

    private static boolean inside(MemorySegment s, long offset, long length) {
        return offset >= 0 && length >= 0 && offset <= s.byteSize() - length;
    }

    private long nowSeconds() {
        return Math.floorDiv(clock.millis(), 1000L);
    }

    private byte[] randomSecret() {
        byte[] s = new byte[SECRET_LENGTH];
        random.nextBytes(s);
        return s;
    }

    private static long word(byte[] b, int at) {
        return MemorySegment.ofArray(b).get(LE_LONG, at);
    }

    private static void checkSecret(byte[] secret, String what) {
        if (secret == null || secret.length != SECRET_LENGTH) {
            throw new IllegalArgumentException(what + " must be " + SECRET_LENGTH + " bytes, was "
                    + (secret == null ? "null" : secret.length + " bytes"));
        }
    }

    /** Options of an {@link AddressTokens}; {@link #build()} makes one. */
    public static final class Builder {
        private byte[] secret;
        private byte[] previous;
        private Duration lifetime = Duration.ofHours(1);
        private Duration clockSkew = Duration.ofMinutes(5);
        private boolean bindPort;
        private Duration rotateEvery = Duration.ZERO;
        private InstantSource clock = InstantSource.system();

        private Builder() {
        }

        /**
         * The current secret (default: 16 random bytes from {@link SecureRandom}). Give one to share it
         * between the servers of a set, or across a restart.
         *
         * @param secret {@value #SECRET_LENGTH} bytes, copied
         * @return this builder
         * @throws IllegalArgumentException when it is not {@value #SECRET_LENGTH} bytes
         */
        public Builder secret(byte[] secret) {
            checkSecret(secret, "secret");
            this.secret = secret.clone();
            return this;
        }

        /**
         * The previous secret, still accepted (default: none): after a restart, the secret before the last
         * rotation.
         *
         * @param secret {@value #SECRET_LENGTH} bytes, copied
         * @return this builder
         * @throws IllegalArgumentException when it is not {@value #SECRET_LENGTH} bytes
         */
        public Builder previousSecret(byte[] secret) {
            checkSecret(secret, "previousSecret");
            this.previous = secret.clone();
            return this;
        }

        /**
         * How long a token stays valid after it was issued (default 1 hour, RFC 9018's; a QUIC Retry
         * token wants seconds).
         *
         * @param lifetime 1 second .. 24 days
         * @return this builder
         * @throws IllegalArgumentException when out of range
         */
        public Builder lifetime(Duration lifetime) {
            long s = lifetime.toSeconds();
            if (s < 1 || s > Duration.ofDays(24).toSeconds()) {
                throw new IllegalArgumentException("lifetime must be 1 s .. 24 days, was " + lifetime);
            }
            this.lifetime = lifetime;
            return this;
        }

        /**
         * How far in the future a token's timestamp may be (default 5 minutes, RFC 9018's): tokens from
         * another server of the set whose clock runs ahead.
         *
         * @param skew 0 .. 1 day
         * @return this builder
         * @throws IllegalArgumentException when out of range
         */
        public Builder clockSkew(Duration skew) {
            if (skew.isNegative() || skew.toSeconds() > 86_400) {
                throw new IllegalArgumentException("clockSkew must be 0 .. 1 day, was " + skew);
            }
            this.clockSkew = skew;
            return this;
        }

        /**
         * Whether a token is bound to the peer's port too (default false: the address only, as a DNS
         * cookie is, since resolvers change ports per query). True for a Retry token, whose peer
         * comes back from the same port.
         *
         * @param bindPort hash the port into the token
         * @return this builder
         */
        public Builder bindPort(boolean bindPort) {
            this.bindPort = bindPort;
            return this;
        }

        /**
         * Rotates to a fresh random secret every {@code period} (default {@link Duration#ZERO}: only
         * when {@link AddressTokens#rotate} is called). The rotation happens on the first issue or
         * verify after the period. Keep the lifetime at most this period.
         *
         * @param period 0 (off), or at least 1 second
         * @return this builder
         * @throws IllegalArgumentException when negative or below a second
         */
        public Builder rotateEvery(Duration period) {
            if (period.isNegative() || (!period.isZero() && period.toSeconds() < 1)) {
                throw new IllegalArgumentException("rotateEvery must be 0 (off) or at least 1 s, was " + period);
            }
            this.rotateEvery = period;
            return this;
        }

        /**
         * The clock of timestamps and rotation (default the system clock); for tests.
         *
         * @param clock the source of the current time
         * @return this builder
         */
        public Builder clock(InstantSource clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * {@return the tokens}
         *
         * @throws IllegalArgumentException when the lifetime is longer than the rotation period
         */
        public AddressTokens build() {
            if (!rotateEvery.isZero() && lifetime.compareTo(rotateEvery) > 0) {
                throw new IllegalArgumentException("lifetime (" + lifetime + ") must not exceed rotateEvery ("
                        + rotateEvery + "): a token lives across one rotation, not two");
            }
            return new AddressTokens(this);
        }
    }
}
