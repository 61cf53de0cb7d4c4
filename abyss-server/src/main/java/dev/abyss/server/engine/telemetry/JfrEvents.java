package dev.abyss.server.engine.telemetry;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.engine.session.SessionEnd;
import dev.abyss.server.engine.session.SessionImpl;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JDK Flight Recorder events: a session's whole life ({@value #CONNECTION}), every dropped
 * datagram or send ({@value #DROP}), and the kernel's drops per report ({@value #KERNEL_DROPS}). On in any recording ({@code -XX:StartFlightRecording}),
 * off with {@code dev.abyss.Drop#enabled=false}; without a recording they cost one check per
 * session or drop.
 */
public final class JfrEvents {
    public static final String CONNECTION = "dev.abyss.Connection";
    public static final String DROP = "dev.abyss.Drop";
    public static final String KERNEL_DROPS = "dev.abyss.KernelDrops";
    public static final String DTLS_HANDSHAKE = "dev.abyss.DtlsHandshake";

    private JfrEvents() {
    }

    @Name(CONNECTION)
    @Label("Abyss Session")
    @Category({"Abyss"})
    @Description("One remote peer's session, from its first datagram to its end")
    @StackTrace(false)
    static final class Connection extends Event {
        @Label("Remote Address")
        String remoteAddress;
        @Label("Received")
        @DataAmount
        long recvOctets;
        @Label("Datagrams Received")
        long recvPackets;
        @Label("Sent")
        @DataAmount
        long sendOctets;
        @Label("Datagrams Sent")
        long sendPackets;
        @Label("End")
        @Description("close, error, timeout, shutdown or user")
        String end;
        @Label("Error")
        String error;
    }

    @Name(DROP)
    @Label("Abyss Drop")
    @Category({"Abyss"})
    @Description("A datagram Abyss did not deliver or could not send, and why")
    @StackTrace(false)
    static final class Drop extends Event {
        @Label("Cause")
        String cause;
        @Label("Remote Address")
        String remoteAddress;
        @Label("Size")
        @DataAmount
        long bytes;
    }

    private static final EventType CONNECTION_TYPE = EventType.getEventType(Connection.class);
    private static final EventType DROP_TYPE = EventType.getEventType(Drop.class);
    private static final EventType KERNEL_DROPS_TYPE = EventType.getEventType(KernelDrops.class);
    private static final EventType DTLS_HANDSHAKE_TYPE = EventType.getEventType(DtlsHandshake.class);

    @Name(DTLS_HANDSHAKE)
    @Label("Abyss DTLS Handshake")
    @Category({"Abyss"})
    @Description("A DTLS handshake, from the admitted ClientHello to its end: completed, or why it failed")
    @StackTrace(false)
    static final class DtlsHandshake extends Event {
        @Label("Remote Address")
        String remoteAddress;
        @Label("Result")
        @Description("completed, timeout, certificate, alert or other")
        String result;
        @Label("Cipher Suite")
        String cipherSuite;
        @Label("Error")
        String error;
    }

    /** A DTLS handshake that ended ({@code startedAt}: its System.nanoTime start, kept for the span). */
    public static void dtlsHandshake(PeerKey peer, long startedAt, String result, String cipherSuite, Throwable error) {
        if (DTLS_HANDSHAKE_TYPE.isEnabled()) {
            DtlsHandshake e = new DtlsHandshake();
            e.begin();
            e.remoteAddress = peer == null ? null : String.valueOf(peer.toSocketAddress());
            e.result = result;
            e.cipherSuite = cipherSuite;
            e.error = error == null ? null : error.toString();
            e.commit(); // an instant event at the end; the handshake's start is in the connection span
        }
    }

    @Name(KERNEL_DROPS)
    @Label("Abyss Kernel Drops")
    @Category({"Abyss"})
    @Description("Datagrams the kernel dropped before an acceptor could read them (full receive buffer, io_uring CQ overflow)")
    @StackTrace(false)
    static final class KernelDrops extends Event {
        @Label("Local Address")
        String localAddress;
        @Label("Datagrams")
        long count;
    }

    public static void kernelDrops(java.net.SocketAddress local, long count) {
        if (KERNEL_DROPS_TYPE.isEnabled()) {
            KernelDrops e = new KernelDrops();
            e.localAddress = String.valueOf(local);
            e.count = count;
            e.commit();
        }
    }

    /** Starts the session's JFR event when recording wants it. */
    public static void sessionOpened(SessionImpl s) {
        if (CONNECTION_TYPE.isEnabled()) {
            Connection e = new Connection();
            e.begin();
            s.jfr(e);
        }
    }

    public static void sessionEnded(SessionImpl s) {
        if (s.jfr() instanceof Connection e) {
            e.end();
            if (e.shouldCommit()) {
                e.remoteAddress = String.valueOf(s.remoteAddress());
                e.recvOctets = s.receivedBytes();
                e.recvPackets = s.receivedPackets();
                e.sendOctets = s.sentBytes();
                e.sendPackets = s.sentPackets();
                e.end = s.endedBy() == null ? "unknown" : s.endedBy().name().toLowerCase(java.util.Locale.ROOT);
                e.error = s.endedBy() == SessionEnd.ERROR || s.endedBy() == SessionEnd.UNREACHABLE ? String.valueOf(s.endReason()) : null;
                e.commit();
            }
            s.jfr(null);
        }
    }

    public static void drop(String cause, PeerKey peer, long bytes) {
        if (DROP_TYPE.isEnabled()) {
            Drop e = new Drop();
            e.cause = cause;
            e.remoteAddress = peer == null ? null : String.valueOf(peer.toSocketAddress());
            e.bytes = bytes;
            e.commit();
        }
    }
}
