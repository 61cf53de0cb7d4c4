/**
 * Abyss for Micrometer: {@link dev.abyss.micrometer.AbyssMetrics} registers a
 * {@link dev.abyss.server.Server}'s {@link dev.abyss.server.ServerStats} as Micrometer meters, read
 * from the stats on scrape, so counting costs the server nothing per datagram.
 */
module dev.abyss.micrometer {
    requires transitive dev.abyss.server;
    requires transitive micrometer.core;

    exports dev.abyss.micrometer;
}
