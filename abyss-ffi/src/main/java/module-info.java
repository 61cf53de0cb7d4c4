/**
 * Linux bindings over the Foreign Function and Memory API: the C library downcalls with errno
 * capture ({@link dev.abyss.ffi.LibC}), socket and message layouts, sockaddr codecs,
 * {@code recvmmsg}/{@code sendmmsg} batches, epoll and the io_uring ring. Nothing server-specific.
 *
 * <p>Every downcall is linked in this module, so it is the one that needs native access:
 * {@code --enable-native-access=dev.abyss.ffi} on the module path, {@code ALL-UNNAMED} on the
 * class path.
 */
module dev.abyss.ffi {
    exports dev.abyss.ffi;
    exports dev.abyss.ffi.epoll;
    exports dev.abyss.ffi.net;
    exports dev.abyss.ffi.uring;
    exports dev.abyss.ffi.xdp;
}
