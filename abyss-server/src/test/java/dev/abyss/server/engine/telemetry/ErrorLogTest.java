package dev.abyss.server.engine.telemetry;

import org.junit.jupiter.api.Test;
import org.slf4j.event.SubstituteLoggingEvent;
import org.slf4j.helpers.SubstituteLogger;

import java.util.concurrent.LinkedBlockingQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrorLogTest {

    @Test
    void tenThousandErrorsWriteTheBurstThenOneSummary() {
        LinkedBlockingQueue<SubstituteLoggingEvent> events = new LinkedBlockingQueue<>();
        ErrorLog log = new ErrorLog(new SubstituteLogger("test", events, false));
        for (int i = 0; i < 10_000; i++) {
            log.error("session {} ended in error", i, new IllegalStateException("bad datagram " + i));
        }
        assertEquals(ErrorLog.BURST, events.size(), "only the burst is written at once");
        assertNotNull(events.peek().getThrowable(), "with its stack trace");
        log.flush();
        assertEquals(ErrorLog.BURST + 1, events.size());
        SubstituteLoggingEvent summary = events.stream().reduce((a, b) -> b).orElseThrow();
        String text = org.slf4j.helpers.MessageFormatter.arrayFormat(summary.getMessage(), summary.getArgumentArray()).getMessage();
        assertTrue(text.startsWith((10_000 - ErrorLog.BURST) + " more errors"), text);
        assertTrue(text.contains("session 9999 ended in error"), text);
        assertEquals(10_000 - ErrorLog.BURST, log.suppressedTotal());
        log.flush();
        assertEquals(ErrorLog.BURST + 1, events.size(), "nothing more to summarize");
    }
}
