package dev.abyss.server;

/**
 * Path-MTU discovery policy of the server's sends ({@link UdpOption#MTU_DISCOVER}: IP_MTU_DISCOVER /
 * IPV6_MTU_DISCOVER). Not set, the kernel's default applies ({@link #WANT} for UDP on Linux, per
 * {@code net.ipv4.ip_no_pmtu_disc}).
 *
 * <p><b>Why DNS servers choose {@link #OMIT}.</b> Under the default, an ICMP "fragmentation needed"
 * (IPv4) or "packet too big" (IPv6) lowers the path MTU the kernel remembers for a destination,
 * and later replies to it are fragmented to fit. Anyone can forge such an ICMP message: an
 * attacker lowers the MTU towards a resolver, then injects a forged second fragment of a reply
 * (fragments carry no UDP checksum of their own, no ports, no DNS id): the cache-poisoning attack
 * of Herzberg and Shulman (2013). NSD ({@code ip-dontfrag}) and Knot DNS set
 * {@code IP_PMTUDISC_OMIT} (IPv4) and {@code IPV6_PMTUDISC_OMIT} (IPv6; {@code INTERFACE} before
 * Linux 3.15): the learnt path MTU is ignored, a reply leaves at the interface MTU without DF, so
 * forged ICMP changes nothing; a reply that does not fit is answered truncated at the DNS level
 * (TC bit, retry over TCP) rather than fragmented. {@link #DO} is the stricter choice (DF set,
 * EMSGSIZE for a send above the path MTU) for a protocol that sizes its datagrams itself (QUIC,
 * DTLS with path-MTU probing).
 */
public enum PathMtuDiscovery {
    /** {@code IP_PMTUDISC_DONT}: never set DF; fragment to the path MTU. */
    DONT(0),
    /** {@code IP_PMTUDISC_WANT}: the kernel's default: discovery per route, fragmenting when it says so. */
    WANT(1),
    /** {@code IP_PMTUDISC_DO}: always set DF; a send above the path MTU fails with EMSGSIZE. */
    DO(2),
    /** {@code IP_PMTUDISC_PROBE}: set DF and ignore the path MTU (send up to the interface MTU): for probing. */
    PROBE(3),
    /** {@code IP_PMTUDISC_INTERFACE}: the interface MTU, never the learnt one; larger sends fail. */
    INTERFACE(4),
    /** {@code IP_PMTUDISC_OMIT}: the interface MTU, never the learnt one (forged ICMP ignored), fragmenting beyond it. */
    OMIT(5);

    private final int value;

    PathMtuDiscovery(int value) {
        this.value = value;
    }

    /** {@return the {@code IP_PMTUDISC_*} / {@code IPV6_PMTUDISC_*} value (the same numbers)} */
    public int value() {
        return value;
    }

    /**
     * The policy of a kernel value.
     *
     * @param value an {@code IP_PMTUDISC_*} value
     * @return its policy
     * @throws IllegalArgumentException when no policy has it
     */
    public static PathMtuDiscovery of(int value) {
        for (PathMtuDiscovery p : values()) {
            if (p.value == value) {
                return p;
            }
        }
        throw new IllegalArgumentException("no path-MTU discovery policy has the value " + value);
    }
}
