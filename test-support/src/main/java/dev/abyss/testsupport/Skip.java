package dev.abyss.testsupport;

import org.junit.jupiter.api.Assumptions;

/**
 * The one way a test skips when something it needs is not available on this machine (a transport,
 * a tool, a kernel feature, a network namespace): it is skipped, never failed, with the reason as
 * its skip message, which {@link TestLog} prints under the test's name and the reports keep.
 *
 * <pre>{@code
 * Skip.ifUnavailable("transport " + kind, Transports.unavailableReason(kind));
 * Skip.unless(gccWorks(), "gcc is not installed");
 * }</pre>
 */
public final class Skip {

    private Skip() {
    }

    /**
     * Skips the running test when {@code unavailableReason} is not null: the convention of probes such
     * as {@code Transports.unavailableReason(kind)}, which say why something cannot work here, or null.
     */
    public static void ifUnavailable(String what, String unavailableReason) {
        if (unavailableReason != null) {
            Assumptions.abort(what + " unavailable here: " + unavailableReason);
        }
    }

    /** Skips the running test unless {@code needed} holds; {@code whyNot} says what is missing. */
    public static void unless(boolean needed, String whyNot) {
        if (!needed) {
            Assumptions.abort(whyNot);
        }
    }
}
