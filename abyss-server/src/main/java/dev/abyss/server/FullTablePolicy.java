package dev.abyss.server;

/** What a datagram from a new peer gets when the session table is at numConnections. */
public enum FullTablePolicy {
    /**
     * The default: make room. The victim is the acceptor's oldest session that never got past its
     * first datagram (as the kernel's conntrack early-drop does), else its session idle longest, so a
     * flood of one-datagram peers cannot lock new peers out while sessions that keep talking
     * survive it. The victim ends as if it timed out: {@link Handler#handleTimeout} runs (INLINE: at
     * once, and it may still send; VIRTUAL_THREADS: on its own thread, the new peer waiting in the
     * retry queue meanwhile); counted in {@link ServerStats#evicted()}, reported as a connection
     * stop with {@code reason} "evicted" and in JFR.
     */
    EVICT,
    /**
     * The reference's behaviour: the new peer's datagrams wait in the retry queue
     * (maxConnectionsRetryCount times maxConnectionsRetryWait) and are dropped if no place frees up
     * ({@link ServerStats#droppedTableFull()}, telemetry spawn_error).
     */
    REFUSE
}
