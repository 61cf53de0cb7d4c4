package dev.abyss.ffi;

import java.io.IOException;

/**
 * A failed native call: which call, the errno number, its symbolic name and the C library's text.
 *
 * <p>Every failure of a call in {@link LibC} that a caller chooses to raise becomes this one type,
 * through {@link LibC#check(long, String)}. Callers branch on {@link #errno()} (compare with the
 * constants in {@link Errno}), never on the message.
 */
public final class NativeException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The positive errno value. */
    private final int errno;
    /** The call that failed, as the caller named it. */
    private final String call;

    /**
     * A failure of {@code call} with {@code errno}.
     *
     * @param call  the call that failed, e.g. {@code "bind"}
     * @param errno the positive errno value
     */
    public NativeException(String call, int errno) {
        this(call, errno, null);
    }

    /**
     * A failure of {@code call} with {@code errno}, with more context in the message.
     *
     * @param call    the call that failed, and optionally what it was called on, e.g. {@code "bind(127.0.0.1:53)"}
     * @param errno   the positive errno value
     * @param context extra text appended to the message, or null
     */
    public NativeException(String call, int errno, String context) {
        super(call + " failed: " + Errno.name(errno) + " (errno " + errno + "): " + Errno.describe(errno)
                + (context == null ? "" : " [" + context + "]"));
        this.call = call;
        this.errno = errno;
    }

    /** {@return the positive errno value, e.g. {@link Errno#EADDRINUSE}} */
    public int errno() {
        return errno;
    }

    /** {@return the symbolic name of {@link #errno()}, e.g. {@code "EADDRINUSE"}} */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** {@return the native call that failed, as given by the caller, e.g. {@code "bind"}} */
    public String call() {
        return call;
    }
}
