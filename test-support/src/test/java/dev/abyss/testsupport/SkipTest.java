package dev.abyss.testsupport;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SkipTest {

    @Test
    void anUnavailableThingSkipsWithWhatAndWhy() {
        TestAbortedException e = assertThrows(TestAbortedException.class,
                () -> Skip.ifUnavailable("the thing SkipTest asks for", "SkipTest pretends it is missing"));
        assertEquals("the thing SkipTest asks for unavailable here: SkipTest pretends it is missing", e.getMessage());
    }

    @Test
    void anAvailableThingRunsTheTest() {
        Skip.ifUnavailable("the thing SkipTest has", null);
        Skip.unless(true, "never seen");
    }

    @Test
    void aMissingNeedSkipsWithItsReason() {
        TestAbortedException e = assertThrows(TestAbortedException.class, () -> Skip.unless(false, "SkipTest pretends a need is not met"));
        assertEquals("SkipTest pretends a need is not met", e.getMessage());
    }
}
