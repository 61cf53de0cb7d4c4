package dev.abyss.server.telemetry.spi;

import dev.abyss.server.telemetry.EventKind;

import java.util.Map;

/**
 * The engine's side of telemetry: building span contexts and delivering events. In a package the
 * module does not export, so only the server itself can emit events (no application can forge
 * one); {@link dev.abyss.server.telemetry.Telemetry} installs the implementation when it loads.
 */
public abstract class Emitter {
    private static volatile Emitter instance;

    /** Called once, by Telemetry's static initializer. */
    protected Emitter() {
    }

    /**
     * {@return the installed emitter (loading Telemetry first if needed)}
     */
    public static Emitter get() {
        Emitter e = instance;
        if (e == null) {
            try {
                Class.forName("dev.abyss.server.telemetry.Telemetry", true, Emitter.class.getClassLoader());
            } catch (ClassNotFoundException cnf) {
                throw new IllegalStateException(cnf);
            }
            e = instance;
        }
        return e;
    }

    /**
     * Installs the implementation; only the first call counts.
     *
     * @param emitter the implementation
     */
    protected static void install(Emitter emitter) {
        if (instance == null) {
            instance = emitter;
        }
    }

    /** {@return a new span context, unique in this JVM} */
    public abstract long newSpanContext();

    /**
     * Delivers an event to the listeners of {@code kind}; call only when {@link EventKind#enabled()}.
     *
     * @param kind         which event
     * @param measurements its measurements
     * @param metadata     its metadata
     */
    public abstract void emit(EventKind kind, Map<String, Object> measurements, Map<String, Object> metadata);
}
