/**
 * Abyss: a UDP server library for Linux. Start a server with {@link dev.abyss.server.Abyss#start},
 * configured by {@link dev.abyss.server.ServerConfig}, around a {@link dev.abyss.server.Handler}
 * (per-peer sessions with a lifecycle), a {@link dev.abyss.server.SegmentHandler} (the raw
 * zero-copy callback) or a {@link dev.abyss.server.DatagramHandler} (request/response without
 * sessions). Telemetry events and SLF4J logging are in {@code dev.abyss.server.telemetry};
 * small example handlers in {@code dev.abyss.server.examples}.
 *
 * <p>The engine ({@code dev.abyss.server.engine}), the transports
 * ({@code dev.abyss.server.transport.*}) and the emitting side of telemetry
 * ({@code dev.abyss.server.telemetry.spi}) are not exported. Native calls are made by
 * {@code dev.abyss.ffi}: run with {@code --enable-native-access=dev.abyss.ffi} on the module path,
 * or {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
module dev.abyss.server {
    requires dev.abyss.ffi;
    requires org.slf4j;
    requires jdk.jfr;

    exports dev.abyss.server;
    exports dev.abyss.server.telemetry;
    exports dev.abyss.server.examples;
}
