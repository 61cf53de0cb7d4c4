package dev.abyss.server.transport.xdp;

/**
 * Where a reply goes at layer 2, learned from the latest frame of a peer: the peer's next hop (the
 * frame's Ethernet source: the peer itself on the link, or its router), this side's MAC (the frame's
 * Ethernet destination) and the 802.1Q tag the frame came with, if any. Mutable so a transport keeps
 * one per session and rewrites it in place; owner thread only.
 */
public final class NextHop {
    /** No 802.1Q tag. */
    public static final int UNTAGGED = -1;
    private long remoteMac;
    private long localMac;
    private int vlanTci = UNTAGGED;
    private boolean known;

    /** {@return the MAC replies are sent to (48 bits, first octet most significant)} */
    public long remoteMac() {
        return remoteMac;
    }

    /** {@return the MAC replies are sent from} */
    public long localMac() {
        return localMac;
    }

    /** {@return the 802.1Q tag control (priority, DEI, VLAN id) replies carry, or {@link #UNTAGGED}} */
    public int vlanTci() {
        return vlanTci;
    }

    /** {@return whether a frame has taught this hop anything} */
    public boolean known() {
        return known;
    }

    /**
     * Sets the hop.
     *
     * @param remoteMac the MAC to send to
     * @param localMac  the MAC to send from
     * @param vlanTci   the tag's control field (0..0xFFFF), or {@link #UNTAGGED}
     * @return this hop
     */
    public NextHop set(long remoteMac, long localMac, int vlanTci) {
        if (vlanTci < UNTAGGED || vlanTci > 0xFFFF) {
            throw new IllegalArgumentException("802.1Q TCI out of range: " + vlanTci);
        }
        this.remoteMac = remoteMac & 0xFFFF_FFFF_FFFFL;
        this.localMac = localMac & 0xFFFF_FFFF_FFFFL;
        this.vlanTci = vlanTci;
        this.known = true;
        return this;
    }

    /** {@return whether {@code other} sends to the same MAC, from the same MAC, with the same tag} */
    public boolean sameAs(NextHop other) {
        return remoteMac == other.remoteMac && localMac == other.localMac && vlanTci == other.vlanTci;
    }

    /** Makes this hop equal to {@code other}. */
    public void copyFrom(NextHop other) {
        remoteMac = other.remoteMac;
        localMac = other.localMac;
        vlanTci = other.vlanTci;
        known = other.known;
    }

    /** Forgets the hop. */
    public void clear() {
        known = false;
        vlanTci = UNTAGGED;
        remoteMac = 0;
        localMac = 0;
    }

    /** {@return {@code mac} as xx:xx:xx:xx:xx:xx (allocates; for logs)} */
    public static String macString(long mac) {
        StringBuilder b = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            int octet = (int) (mac >>> shift) & 0xFF;
            b.append(Character.forDigit(octet >>> 4, 16)).append(Character.forDigit(octet & 15, 16));
            if (shift > 0) {
                b.append(':');
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return known ? "NextHop[" + macString(localMac) + " -> " + macString(remoteMac)
                + (vlanTci == UNTAGGED ? "" : ", vlan " + (vlanTci & 0xFFF)) + "]" : "NextHop[unknown]";
    }
}
