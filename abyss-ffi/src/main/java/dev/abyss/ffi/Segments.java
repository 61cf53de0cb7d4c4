package dev.abyss.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Restricted segment operations the server needs, kept in this module, the one with native access. */
public final class Segments {
    private Segments() {
    }

    /**
     * {@return a read-only view of {@code data} that lives only as long as {@code lifetime}: once the
     * arena is closed, a kept view fails loudly instead of reading whatever the memory holds next}
     *
     * @param data     the memory to view (native memory owned elsewhere)
     * @param lifetime the view's lifetime
     */
    @SuppressWarnings("restricted") // same address and size, a shorter lifetime: nothing unsafe is exposed
    public static MemorySegment viewFor(MemorySegment data, Arena lifetime) {
        return data.reinterpret(lifetime, null).asReadOnly();
    }
}
