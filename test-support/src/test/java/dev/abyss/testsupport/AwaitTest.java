package dev.abyss.testsupport;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.abyss.testsupport.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AwaitTest {

    @Test
    void returnsTheFirstValueThatIsWhatItWaitsFor() {
        AtomicInteger rounds = new AtomicInteger();
        assertEquals(3, await("the third round", rounds::incrementAndGet, n -> n == 3));
        assertEquals(3, rounds.get(), "one observation per round, none after the condition held");
    }

    @Test
    void aMissedDeadlineNamesWhatWasAwaitedAndTheLastValueSeen() {
        AtomicInteger rounds = new AtomicInteger();
        AssertionError e = assertThrows(AssertionError.class,
                () -> await("the counter reaches -1", Duration.ofMillis(50), rounds::incrementAndGet, n -> n == -1));
        assertEquals("not within 50 ms: the counter reaches -1; last seen: " + rounds.get(), e.getMessage());
    }

    @Test
    void anInterruptDoesNotEndTheWait() {
        Thread.currentThread().interrupt();
        try {
            AtomicInteger rounds = new AtomicInteger();
            assertEquals(5, await("five rounds", rounds::incrementAndGet, n -> n == 5));
        } finally {
            Thread.interrupted();
        }
    }
}
