package dev.abyss.ffi;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ErrnoTest {
    @Test
    void namesAndDescriptions() {
        assertEquals("EAGAIN", Errno.name(Errno.EAGAIN));
        assertEquals("EADDRINUSE", Errno.name(98));
        assertEquals("E?4242", Errno.name(4242));
        assertEquals("Connection refused", Errno.describe(Errno.ECONNREFUSED));
    }

    @Test
    void checkIsTheOnePlaceANegativeResultBecomesAnException() throws NativeException {
        assertEquals(7, LibC.check(7, "read"));
        assertEquals(0L, LibC.check(0L, "write"));
        NativeException e = assertThrows(NativeException.class, () -> LibC.check(-Errno.EBADF, "close(99)"));
        assertEquals(Errno.EBADF, e.errno());
        assertEquals("EBADF", e.errnoName());
        assertEquals("close(99)", e.call());
        assertTrue(e.getMessage().contains("close(99) failed: EBADF (errno 9): Bad file descriptor"), e.getMessage());
    }

    @Test
    void errnoIsCapturedAtTheCall() {
        assertEquals(-Errno.EBADF, LibC.close(-1));
        assertEquals(-Errno.EAFNOSUPPORT, LibC.socket(4242, 2, 0));
    }
}
