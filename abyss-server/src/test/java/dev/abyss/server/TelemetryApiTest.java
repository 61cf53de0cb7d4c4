package dev.abyss.server;

import dev.abyss.server.telemetry.AbyssLogger;
import dev.abyss.server.telemetry.Telemetry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Attaching and detaching telemetry listeners and log levels: no server is started, so these run once, not per transport. */
class TelemetryApiTest {

    @AfterEach
    void detach() {
        Telemetry.detach("test");
        AbyssLogger.detach(AbyssLogger.Level.ERROR);
    }

    @Test
    void attachRefusesDuplicatesAndUnknownNames() {
        Telemetry.attach("test", "abyss.connection", e -> { });
        assertThrows(IllegalArgumentException.class, () -> Telemetry.attach("test", "abyss.listener", e -> { }));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Telemetry.attach("other", "abyss.nope", x -> { }));
        assertTrue(e.getMessage().contains("abyss.nope"));
        assertTrue(Telemetry.detach("test"));
        assertFalse(Telemetry.detach("test"));
    }

    @Test
    void loggerLevelsCascadeLikeTheReference() {
        assertTrue(AbyssLogger.attach(AbyssLogger.Level.DEBUG));
        assertTrue(AbyssLogger.isAttached(AbyssLogger.Level.ERROR), "attaching debug attaches the higher levels");
        assertTrue(AbyssLogger.isAttached(AbyssLogger.Level.INFO));
        assertFalse(AbyssLogger.isAttached(AbyssLogger.Level.TRACE));
        assertFalse(AbyssLogger.attach(AbyssLogger.Level.DEBUG), "already_exists");
        assertTrue(AbyssLogger.attach(AbyssLogger.Level.TRACE));
        assertTrue(AbyssLogger.detach(AbyssLogger.Level.INFO));
        assertTrue(AbyssLogger.isAttached(AbyssLogger.Level.ERROR), "detaching info keeps error");
        assertFalse(AbyssLogger.isAttached(AbyssLogger.Level.DEBUG), "and drops the lower levels");
        assertFalse(AbyssLogger.isAttached(AbyssLogger.Level.TRACE));
        assertFalse(AbyssLogger.detach(AbyssLogger.Level.DEBUG), "not_found");
    }
}
