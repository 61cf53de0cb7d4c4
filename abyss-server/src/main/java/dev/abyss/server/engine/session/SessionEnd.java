package dev.abyss.server.engine.session;

/** Why a session ended; decides which terminal callback runs and whether it runs before the close. */
public enum SessionEnd {
    /** A callback returned close: handleClose after the session closed. */
    CLOSE,
    /** A callback returned error, threw, returned null or overran its limit: handleError after the close. */
    ERROR,
    /** Idle past its timeout: handleTimeout while the session can still send. */
    TIMEOUT,
    /** The server stopped: handleShutdown while the session can still send. */
    SHUTDOWN,
    /** {@link dev.abyss.server.Session#close()}: no terminal callback. */
    USER,
    /** Made room in a full table (FullTablePolicy.EVICT): handleTimeout while the session can still send. */
    EVICTED,
    /**
     * The peer's port is unreachable (ICMP): handleError(PortUnreachableException) after the close.
     * The network's doing, not the handler's: not a handler error, not logged as one.
     */
    UNREACHABLE;

    /** True when the terminal callback runs before the session is closed (it may still send). */
    public boolean callbackBeforeClose() {
        return this == TIMEOUT || this == SHUTDOWN || this == EVICTED;
    }
}
