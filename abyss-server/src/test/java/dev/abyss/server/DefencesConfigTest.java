package dev.abyss.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The open-internet options of {@link ServerConfig}: defaults, ranges, and what contradicts what. */
class DefencesConfigTest {
    private static ServerConfig.Builder stateless() {
        return ServerConfig.builder().datagramHandler((peer, data) -> { });
    }

    private static ServerConfig.Builder sessions() {
        return ServerConfig.builder().segmentHandler((session, data) -> { });
    }

    private static void refused(String message, Runnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void everythingIsOffByDefaultAndTheBurstIsASecondsWorth() {
        ServerConfig.Defences off = stateless().build().defences();
        assertFalse(off.limitsReplies());
        assertEquals(0, off.rateLimit());
        assertEquals(0, off.amplificationLimit());
        assertEquals(0, off.sessionsPerPrefix());
        assertEquals(24, off.ipv4PrefixLength());
        assertEquals(56, off.ipv6PrefixLength());
        assertEquals(1 << 20, off.prefixTableSize());
        ServerConfig.Defences on = stateless().rateLimit(50).build().defences();
        assertTrue(on.limitsReplies());
        assertEquals(50, on.rateLimitBurst());
        assertEquals(2, on.rateLimitSlip());
        assertTrue(stateless().rateLimit(50).build().toString().contains("rateLimit=50"));
    }

    @Test
    void badValuesAreNamed() {
        refused("rateLimit must be 0..1000000000, was -1", () -> stateless().rateLimit(-1));
        refused("rateLimitBurst must be 1..", () -> stateless().rateLimitBurst(0));
        refused("rateLimitSlip must be >= 0, was -2", () -> stateless().rateLimitSlip(-2));
        refused("sourcePrefixLengths ipv4Bits must be 1..32, was 33", () -> stateless().sourcePrefixLengths(33, 56));
        refused("sourcePrefixLengths ipv6Bits must be 1..64, was 0", () -> stateless().sourcePrefixLengths(24, 0));
        refused("amplificationLimit must be 0..1000, was 1001", () -> stateless().amplificationLimit(1001));
        refused("sessionsPerPrefix must be >= 0, was -1", () -> sessions().sessionsPerPrefix(-1));
        refused("prefixTableSize must be a power of two, was 3000", () -> stateless().prefixTableSize(3000));
        refused("prefixTableSize must be 1024..16777216, was 512", () -> stateless().prefixTableSize(512));
    }

    @Test
    void contradictionsNameBothOptions() {
        refused("rateLimitBurst 10 contradicts rateLimit unset (off)", () -> stateless().rateLimitBurst(10).build());
        refused("rateLimitSlip 1 contradicts rateLimit 0", () -> stateless().rateLimit(0).rateLimitSlip(1).build());
        refused("sessionsPerPrefix 5 contradicts datagramHandler", () -> stateless().sessionsPerPrefix(5).build());
        assertEquals(5, sessions().sessionsPerPrefix(5).build().defences().sessionsPerPrefix());
        assertEquals(0, stateless().sessionsPerPrefix(0).build().defences().sessionsPerPrefix(), "0 (off) is no contradiction");
    }
}
