package dev.abyss.bench.engine;

import dev.abyss.ffi.net.PeerKey;
import dev.abyss.server.Dtls;
import dev.abyss.server.SendResult;
import dev.abyss.server.dtls.DtlsLayers;
import dev.abyss.server.engine.session.SessionLayer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The DTLS data path after the handshake, per record, in memory (no socket): Abyss's layer
 * ({@code layerSend}: {@code Session.send} through the layer to the wire; {@code layerReceive}: a
 * client record to the plaintext view) against the JDK's bare SSLEngine doing the same work with
 * buffers it was given ({@code jdkWrap}, {@code jdkUnwrap}). {@code -prof gc}'s
 * {@code gc.alloc.rate.norm} of a layer benchmark minus its jdk twin is what Abyss's own code
 * allocates per record; {@code engineSend}/{@code engineReceive} do the same JDK work on the layer's
 * own engine (reached by reflection, the class path), so {@code layerSend - engineSend} and
 * {@code layerReceive - engineReceive} are exactly Abyss's code. The receive benchmarks include the client's wrap of a fresh record (the
 * replay window drops a record seen before) on both sides, so it cancels out of the difference.
 * {@code engineSendDirect}/{@code engineReceiveDirect}: the same engine work with direct buffers
 * (the engine allocates more with them: why the layer's buffers are heap ones).
 *
 * <p>{@code bin/bench DtlsRecord -prof gc}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DtlsRecordBenchmark {
    @Param({"64", "1200"})
    public int size;

    private SessionLayer layer;
    private SSLEngine client;
    private SSLEngine jdkServer;
    /** The layer's own engine: {@code engineSend}/{@code engineReceive} do its JDK work alone, for the difference. */
    private SSLEngine layerEngine;
    private SSLEngine jdkClient;
    private MemorySegment plain;
    // the JDK twins get heap buffers, as the layer gives its engine: the engine's allocation differs by buffer kind
    private final ByteBuffer plainBuffer = ByteBuffer.allocate(2048);
    private final ByteBuffer netBuffer = ByteBuffer.allocate(17_408);
    private final ByteBuffer netInBuffer = ByteBuffer.allocate(2048);
    private final ByteBuffer appBuffer = ByteBuffer.allocate(17_408);
    private final ByteBuffer directPlain = ByteBuffer.allocateDirect(2048);
    private final ByteBuffer directNet = ByteBuffer.allocateDirect(17_408);
    private final ByteBuffer directNetIn = ByteBuffer.allocateDirect(2048);
    private final ByteBuffer directApp = ByteBuffer.allocateDirect(17_408);
    private final MemorySegment sent = MemorySegment.ofArray(new byte[17_408]);
    private long sentBytes;
    private final ArrayDeque<byte[]> toClient = new ArrayDeque<>();
    private final ByteBuffer clientOut = ByteBuffer.allocateDirect(17_408);
    private final ByteBuffer clientPlain = ByteBuffer.allocateDirect(2048);
    private MemorySegment recordView;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path dir = Files.createTempDirectory("abyss-dtls-bench");
        Path p12 = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-keystore", p12.toString(), "-storetype", "PKCS12", "-storepass", "bench1", "-alias", "s", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost", "-validity", "2").inheritIO().start();
        if (keytool.waitFor() != 0) {
            throw new IllegalStateException("keytool failed");
        }
        Dtls dtls = Dtls.fromKeyStore(p12, "bench1".toCharArray()).build();
        SSLContext clientContext = context(p12);
        plain = MemorySegment.ofArray(new byte[size]);
        plainBuffer.clear().limit(size);

        DtlsLayers layers = new DtlsLayers(dtls);
        SessionLayer.Factory acceptor = layers.forAcceptor(new SessionLayer.Acceptor() {
            @Override
            public SendResult reply(PeerKey to, PeerKey from, MemorySegment data, long offset, long length) {
                toClient.add(data.asSlice(offset, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                return SendResult.OK;
            }

            @Override
            public void count(int counter) {
            }
        });
        PeerKey peer = new PeerKey().set(new InetSocketAddress("127.0.0.1", 40000));
        SessionLayer.Wire handshakeWire = new SessionLayer.Wire() {
            @Override
            public SendResult send(MemorySegment data, long offset, long length) {
                if (layer == null || !layer.ready()) {
                    toClient.add(data.asSlice(offset, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                } else {
                    MemorySegment.copy(data, offset, sent, 0, length); // what an outbox does: a copy, nothing kept
                    sentBytes += length;
                }
                return SendResult.OK;
            }

            @Override
            public PeerKey peer() {
                return peer;
            }
        };
        client = clientContext.createSSLEngine("localhost", 40000);
        client.setUseClientMode(true);
        javax.net.ssl.SSLParameters cp = client.getSSLParameters();
        cp.setMaximumPacketSize(1400);
        client.setSSLParameters(cp);
        client.beginHandshake();
        for (int round = 0; round < 200 && !(layer != null && layer.ready()
                && client.getHandshakeStatus() == HandshakeStatus.NOT_HANDSHAKING); round++) {
            for (byte[] d : drive(client, toClient)) {
                MemorySegment m = MemorySegment.ofArray(d);
                if (layer == null) {
                    if (acceptor.admits(peer, null, m)) {
                        layer = acceptor.open(handshakeWire);
                        layer.unwrap(m);
                    }
                } else {
                    layer.unwrap(m);
                }
            }
        }
        if (layer == null || !layer.ready()) {
            throw new IllegalStateException("no DTLS handshake with the layer");
        }
        // a bare JDK pair, for what the engine alone allocates
        jdkServer = dtls.context().createSSLEngine();
        jdkServer.setUseClientMode(false);
        jdkClient = clientContext.createSSLEngine("localhost", 40001);
        jdkClient.setUseClientMode(true);
        for (SSLEngine e : new SSLEngine[]{jdkServer, jdkClient}) {
            javax.net.ssl.SSLParameters p = e.getSSLParameters();
            p.setMaximumPacketSize(dtls.maxRecordSize()); // as the layer's engine and its client: the same records
            e.setSSLParameters(p);
        }
        jdkServer.beginHandshake();
        jdkClient.beginHandshake();
        ArrayDeque<byte[]> toServer = new ArrayDeque<>();
        ArrayDeque<byte[]> toJdkClient = new ArrayDeque<>();
        for (int round = 0; round < 200 && (jdkServer.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING
                || jdkClient.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING); round++) {
            toServer.addAll(drive(jdkClient, toJdkClient));
            toJdkClient.addAll(drive(jdkServer, toServer));
        }
        if (jdkServer.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING) {
            throw new IllegalStateException("no JDK DTLS handshake");
        }
        recordViews();
        java.lang.reflect.Field f = layer.getClass().getDeclaredField("engine"); // the class path: the layer's own engine
        f.setAccessible(true);
        layerEngine = (SSLEngine) f.get(layer);
    }

    /** Feeds {@code in} to {@code e}, then returns every datagram it wants to send. */
    private static List<byte[]> drive(SSLEngine e, ArrayDeque<byte[]> in) throws Exception {
        List<byte[]> out = new ArrayList<>();
        ByteBuffer sink = ByteBuffer.allocate(17_408);
        for (byte[] d; (d = in.poll()) != null; ) {
            sink.clear();
            e.unwrap(ByteBuffer.wrap(d), sink);
            tasks(e);
        }
        for (int i = 0; i < 32; i++) {
            HandshakeStatus hs = e.getHandshakeStatus();
            if (hs == HandshakeStatus.NEED_TASK) {
                tasks(e);
            } else if (hs == HandshakeStatus.NEED_WRAP) {
                ByteBuffer o = ByteBuffer.allocate(17_408);
                e.wrap(ByteBuffer.allocate(0), o);
                o.flip();
                if (o.hasRemaining()) {
                    byte[] b = new byte[o.remaining()];
                    o.get(b);
                    out.add(b);
                }
            } else if (hs == HandshakeStatus.NEED_UNWRAP_AGAIN) {
                sink.clear();
                e.unwrap(ByteBuffer.allocate(0), sink);
            } else {
                break;
            }
        }
        return out;
    }

    private static void tasks(SSLEngine e) {
        for (Runnable t; (t = e.getDelegatedTask()) != null; ) {
            t.run();
        }
    }

    private static SSLContext context(Path trusted) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(trusted)) {
            ks.load(in, "bench1".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "bench1".toCharArray());
        SSLContext c = SSLContext.getInstance("DTLSv1.2");
        c.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return c;
    }

    /** A client record of {@code size} bytes of plaintext has one length: one view of the client's buffer serves every record. */
    private void recordViews() throws Exception {
        clientOut.clear();
        client.wrap(ByteBuffer.wrap(new byte[size]), clientOut);
        recordView = MemorySegment.ofBuffer(clientOut.duplicate().clear()).asSlice(0, clientOut.position()).asReadOnly();
        if (layer.unwrap(recordView) == null) {
            throw new IllegalStateException("the layer refused the client's record");
        }
    }

    @Benchmark
    public SendResult layerSend() {
        return layer.wrap(plain, 0, size);
    }

    /** The layer's engine alone doing {@link #layerSend}'s JDK work, with the same kind of buffers. */
    @Benchmark
    public int engineSend() throws Exception {
        plainBuffer.clear().limit(size);
        netBuffer.clear();
        return layerEngine.wrap(plainBuffer, netBuffer).bytesProduced();
    }

    /** The layer's engine alone doing {@link #layerReceive}'s work: the client's wrap, a copy, the unwrap. */
    @Benchmark
    public int engineReceive() throws Exception {
        clientPlain.clear().limit(size);
        clientOut.clear();
        client.wrap(clientPlain, clientOut);
        clientOut.flip();
        netInBuffer.clear();
        netInBuffer.put(clientOut).flip();
        appBuffer.clear();
        return layerEngine.unwrap(netInBuffer, appBuffer).bytesProduced();
    }

    /** {@link #engineSend} with direct buffers: what the engine costs and allocates when given off-heap memory. */
    @Benchmark
    public int engineSendDirect() throws Exception {
        directPlain.clear().limit(size);
        directNet.clear();
        return layerEngine.wrap(directPlain, directNet).bytesProduced();
    }

    /** {@link #engineReceive} with direct buffers (the client's record copied into one, the plaintext into another). */
    @Benchmark
    public int engineReceiveDirect() throws Exception {
        clientPlain.clear().limit(size);
        clientOut.clear();
        client.wrap(clientPlain, clientOut);
        clientOut.flip();
        directNetIn.clear();
        directNetIn.put(clientOut).flip();
        directApp.clear();
        return layerEngine.unwrap(directNetIn, directApp).bytesProduced();
    }

    @Benchmark
    public int jdkWrap() throws Exception {
        plainBuffer.clear().limit(size);
        netBuffer.clear();
        return jdkServer.wrap(plainBuffer, netBuffer).bytesProduced();
    }

    /** A fresh client record (the replay window drops one seen before) into the layer, to the plaintext view. */
    @Benchmark
    public long layerReceive() throws Exception {
        clientPlain.clear().limit(size);
        clientOut.clear();
        client.wrap(clientPlain, clientOut);
        MemorySegment p = layer.unwrap(recordView);
        return p.byteSize(); // a refused record would be null: the benchmark fails rather than measure the drop path
    }

    /** The client's wrap alone: what {@link #layerReceive} and {@link #engineReceive} spend before the server's side. */
    @Benchmark
    public int clientWrap() throws Exception {
        clientPlain.clear().limit(size);
        clientOut.clear();
        return client.wrap(clientPlain, clientOut).bytesProduced();
    }

    /** The same with the JDK alone: the client's wrap, the server engine's unwrap, buffers given. */
    @Benchmark
    public int jdkUnwrap() throws Exception {
        clientPlain.clear().limit(size);
        clientOut.clear();
        jdkClient.wrap(clientPlain, clientOut);
        clientOut.flip();
        netInBuffer.clear();
        netInBuffer.put(clientOut).flip(); // the layer copies the datagram into its buffer too
        appBuffer.clear();
        return jdkServer.unwrap(netInBuffer, appBuffer).bytesProduced();
    }
}
