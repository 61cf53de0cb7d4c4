package dev.abyss.testsupport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

class TestLogTest {

    /** Run by the test below only (surefire leaves nested classes alone). */
    static class Sample {
        @Test
        void passes() {
        }

        @Test
        void fails() {
            fail("on purpose");
        }

        @Test
        void skips() {
            Skip.unless(false, "missing on purpose");
        }
    }

    /** As a behaviour class over the transports: the argument must show in the name. */
    @ParameterizedClass(name = "{0}")
    @ValueSource(strings = {"ONE", "TWO"})
    static class PerArgument {
        @Parameter
        String argument;

        @Test
        void runs() {
            Skip.unless(!argument.equals("TWO"), "not on TWO");
        }
    }

    @Test
    void namesEveryTestThatDidNotPassWithItsArgumentAndCountsWhatRan() {
        String log = run(Sample.class, PerArgument.class);
        assertTrue(log.contains("FAILED  TestLogTest$Sample > fails(): on purpose"), log);
        assertTrue(log.contains("SKIPPED TestLogTest$Sample > skips(): missing on purpose"), log);
        assertTrue(log.contains("SKIPPED TestLogTest$PerArgument > TWO > runs(): not on TWO"), log);
        assertTrue(!log.contains("passes()") && !log.contains("ONE"), "a test that passed is not named: " + log);
        assertTrue(log.contains("JUnit: 5 tests, 2 passed, 1 failed, 2 skipped"), log);
    }

    /** Runs {@code classes} with only a fresh TestLog listening, and returns what it printed. */
    private static String run(Class<?>... classes) {
        Launcher launcher = LauncherFactory.create(LauncherConfig.builder().enableTestExecutionListenerAutoRegistration(false).build());
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (Class<?> c : classes) {
            request.selectors(selectClass(c));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream before = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            launcher.execute(request.build(), new TestLog());
        } finally {
            System.setOut(before);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
