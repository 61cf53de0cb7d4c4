package dev.abyss.server.engine.telemetry;

import dev.abyss.ffi.Errno;
import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;
import dev.abyss.server.telemetry.EventKind;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * Builds and emits the telemetry events of the engine. Every method first asks whether anyone
 * listens ({@link EventKind#enabled()}, one field read) and does nothing more when not.
 */
public final class Spans {
    /** The engine's only way to emit events (the telemetry package's unexported side). */
    private static final dev.abyss.server.telemetry.spi.Emitter EMITTER = dev.abyss.server.telemetry.spi.Emitter.get();

    /** {@return a new span context, unique in this JVM} */
    public static long newSpanContext() {
        return EMITTER.newSpanContext();
    }

    private Spans() {
    }

    public static Map<String, Object> address(String prefix, SocketAddress a, Map<String, Object> into) {
        if (a instanceof InetSocketAddress inet) {
            into.put(prefix + "_address", inet.getAddress());
            into.put(prefix + "_port", inet.getPort());
        } else {
            into.put(prefix + "_address", String.valueOf(a));
            into.put(prefix + "_port", 0);
        }
        return into;
    }

    private static Map<String, Object> ctx(long span) {
        Map<String, Object> m = new HashMap<>();
        m.put("telemetry_span_context", span);
        return m;
    }

    private static Map<String, Object> ctx(long span, long parent) {
        Map<String, Object> m = ctx(span);
        m.put("parent_telemetry_span_context", parent);
        return m;
    }

    private static Map<String, Object> time(long now) {
        Map<String, Object> m = new HashMap<>();
        m.put("monotonic_time", now);
        return m;
    }

    public static void listenerStart(long span, SocketAddress local, String transport, Map<String, Object> options, long now) {
        if (EventKind.LISTENER_START.enabled()) {
            Map<String, Object> md = address("local", local, ctx(span));
            md.put("transport_module", transport);
            md.put("transport_options", options);
            EMITTER.emit(EventKind.LISTENER_START, time(now), md);
        }
    }

    public static void listenerStop(long span, SocketAddress local, String transport, Map<String, Object> options, long start, long now) {
        if (EventKind.LISTENER_STOP.enabled()) {
            Map<String, Object> md = address("local", local, ctx(span));
            md.put("transport_module", transport);
            md.put("transport_options", options);
            Map<String, Object> m = time(now);
            m.put("duration", now - start);
            EMITTER.emit(EventKind.LISTENER_STOP, m, md);
        }
    }

    public static void kernelDrops(long acceptorSpan, long count, long total, long now) {
        if (EventKind.ACCEPTOR_KERNEL_DROPS.enabled()) {
            Map<String, Object> m = time(now);
            m.put("count", count);
            m.put("total", total);
            EMITTER.emit(EventKind.ACCEPTOR_KERNEL_DROPS, m, ctx(acceptorSpan));
        }
    }

    public static void acceptorStart(long span, long parent, long now) {
        if (EventKind.ACCEPTOR_START.enabled()) {
            EMITTER.emit(EventKind.ACCEPTOR_START, time(now), ctx(span, parent));
        }
    }

    public static void acceptorStop(long span, long parent, long start, long now, long connections, Throwable error) {
        if (EventKind.ACCEPTOR_STOP.enabled()) {
            Map<String, Object> m = time(now);
            m.put("duration", now - start);
            m.put("connections", connections);
            Map<String, Object> md = ctx(span, parent);
            if (error != null) {
                md.put("error", error);
            }
            EMITTER.emit(EventKind.ACCEPTOR_STOP, m, md);
        }
    }

    public static void spawnError(long acceptorSpan, PeerKey peer, long now) {
        if (EventKind.ACCEPTOR_SPAWN_ERROR.enabled()) {
            EMITTER.emit(EventKind.ACCEPTOR_SPAWN_ERROR, time(now), address("remote", peer.toSocketAddress(), ctx(acceptorSpan)));
        }
    }

    public static void connectionStart(SessionImpl s, long acceptorSpan) {
        if (EventKind.CONNECTION_START.enabled()) {
            EMITTER.emit(EventKind.CONNECTION_START, time(s.openedAt),
                    address("remote", s.remoteAddress(), ctx(s.spanContext, acceptorSpan)));
        }
    }

    /** The handler sees the session; a DTLS session's handshake (its duration, what it agreed) is in the event. */
    public static void ready(SessionImpl s) {
        if (EventKind.CONNECTION_READY.enabled()) {
            long now = System.nanoTime();
            Map<String, Object> m = time(now);
            Map<String, Object> md = ctx(s.spanContext);
            s.negotiated().ifPresent(n -> {
                m.put("handshake_duration", now - s.openedAt);
                md.put("handshake", "completed");
                md.put("protocol", n.protocol());
                md.put("cipher_suite", n.cipherSuite());
                n.applicationProtocol().ifPresent(p -> md.put("alpn", p));
            });
            EMITTER.emit(EventKind.CONNECTION_READY, m, md);
        }
    }

    /** recv (INLINE) or async_recv (VIRTUAL_THREADS): {@code data} is valid only during the listener call. */
    public static void recv(EventKind kind, SessionImpl s, MemorySegment data) {
        if (kind.enabled()) {
            Map<String, Object> m = new HashMap<>();
            m.put("data", data);
            m.put("bytes", data.byteSize());
            EMITTER.emit(kind, m, ctx(s.spanContext));
        }
    }

    public static void recvError(long span, PeerKey peer, long bytes, int maxDatagramSize) {
        if (EventKind.CONNECTION_RECV_ERROR.enabled()) {
            Map<String, Object> m = new HashMap<>();
            m.put("error", "truncated: a datagram larger than maxDatagramSize " + maxDatagramSize + " bytes");
            m.put("bytes", bytes);
            EMITTER.emit(EventKind.CONNECTION_RECV_ERROR, m, address("remote", peer.toSocketAddress(), ctx(span)));
        }
    }

    public static void send(long span, MemorySegment buffer, long offset, int bytes) {
        if (EventKind.CONNECTION_SEND.enabled()) {
            Map<String, Object> m = new HashMap<>();
            m.put("data", buffer.asSlice(offset, bytes).asReadOnly());
            m.put("bytes", (long) bytes);
            EMITTER.emit(EventKind.CONNECTION_SEND, m, ctx(span));
        }
    }

    public static void sendError(long span, MemorySegment buffer, long offset, int bytes, int errno) {
        if (EventKind.CONNECTION_SEND_ERROR.enabled()) {
            Map<String, Object> m = new HashMap<>();
            m.put("data", buffer.asSlice(offset, bytes).asReadOnly());
            m.put("bytes", (long) bytes);
            m.put("error", Errno.name(errno));
            EMITTER.emit(EventKind.CONNECTION_SEND_ERROR, m, ctx(span));
        }
    }

    public static void socketShutdown(SessionImpl s) {
        if (EventKind.CONNECTION_SOCKET_SHUTDOWN.enabled()) {
            Map<String, Object> m = time(System.nanoTime());
            m.put("way", "read_write");
            EMITTER.emit(EventKind.CONNECTION_SOCKET_SHUTDOWN, m, ctx(s.spanContext));
        }
    }

    public static void connectionStop(SessionImpl s, long acceptorSpan, long now) {
        if (EventKind.CONNECTION_STOP.enabled()) {
            Map<String, Object> m = time(now);
            m.put("duration", now - s.openedAt);
            m.put("send_oct", s.sentBytes());
            m.put("send_cnt", s.sentPackets());
            m.put("recv_oct", s.receivedBytes());
            m.put("recv_cnt", s.receivedPackets());
            Map<String, Object> md = address("remote", s.remoteAddress(), ctx(s.spanContext, acceptorSpan));
            if ((s.endedBy() == SessionEnd.ERROR || s.endedBy() == SessionEnd.UNREACHABLE) && s.endReason() != null) {
                md.put("error", s.endReason());
            }
            if (s.endedBy() == SessionEnd.EVICTED) {
                md.put("reason", "evicted");
            }
            EMITTER.emit(EventKind.CONNECTION_STOP, m, md);
        }
    }
}
