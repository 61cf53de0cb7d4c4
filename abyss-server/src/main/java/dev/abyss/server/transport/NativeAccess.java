package dev.abyss.server.transport;

import dev.abyss.ffi.LibC;

/**
 * Whether this JVM lets abyss-ffi call the C library: native access can be denied
 * ({@code --illegal-native-access=deny}, a module without {@code --enable-native-access}) or the
 * bindings may not load on this platform. Checked once, by a harmless call.
 */
final class NativeAccess {
    private static final String PROBLEM = probe();

    private NativeAccess() {
    }

    /** Null when native calls work, else why not. */
    static String unavailableReason() {
        return PROBLEM;
    }

    private static String probe() {
        try {
            LibC.close(-1); // EBADF, and nothing else: proves the downcall links and runs
            return null;
        } catch (Throwable t) { // IllegalCallerException, ExceptionInInitializerError, UnsatisfiedLinkError, ...
            Throwable cause = t instanceof ExceptionInInitializerError && t.getCause() != null ? t.getCause() : t;
            return "native access to the C library failed (" + cause + "); run with --enable-native-access="
                    + (LibC.class.getModule().isNamed() ? LibC.class.getModule().getName() : "ALL-UNNAMED");
        }
    }
}
