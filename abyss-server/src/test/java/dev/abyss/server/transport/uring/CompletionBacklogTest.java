package dev.abyss.server.transport.uring;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Completions waiting their turn: first in, first out, across wrap-around and growth. */
class CompletionBacklogTest {

    @Test
    void oldestFirstAcrossWrapAndGrowth() {
        CompletionBacklog backlog = new CompletionBacklog(4);
        assertTrue(backlog.isEmpty());
        int in = 0;
        int out = 0;
        for (; in < 3; in++) {
            backlog.add(in, -in, 10 * in);
        }
        for (; out < 2; out++) { // the head moves on: the next adds wrap around
            assertEquals(out, backlog.userData());
            backlog.remove();
        }
        for (; in < 12; in++) { // past the capacity: grows, twice
            backlog.add(in, -in, 10 * in);
        }
        for (; out < 12; out++) {
            assertEquals(out, backlog.userData());
            assertEquals(-out, backlog.res());
            assertEquals(10 * out, backlog.flags());
            backlog.remove();
        }
        assertTrue(backlog.isEmpty());
    }
}
