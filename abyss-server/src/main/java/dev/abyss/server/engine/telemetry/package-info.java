/**
 * The engine's own accounting, beside the public {@code dev.abyss.server.telemetry}: per-acceptor
 * {@code Counters}, the causes of a drop ({@code Drop}) and the one place a drop is counted
 * ({@code Drops}: counter and JFR), telemetry spans ({@code Spans}), JFR events ({@code JfrEvents}),
 * session stops held until their last sends settle ({@code SessionStops}), and error logs bounded in
 * volume ({@code ErrorLog}).
 */
package dev.abyss.server.engine.telemetry;
