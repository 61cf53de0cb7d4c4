package dev.abyss.server.cli;

import dev.abyss.ffi.LibC;
import dev.abyss.ffi.NativeException;
import dev.abyss.ffi.net.Net;
import dev.abyss.ffi.net.Sockets;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;

/**
 * Command line entry point: {@code java -jar abyss-server.jar [--port N] [--bind ADDRESS] [--handler echo]}.
 *
 * <p>Until the server core lands, this runs {@link MinimalEcho}, an epoll + recvmmsg/sendmmsg echo
 * built directly on abyss-ffi. Ctrl-C stops it cleanly.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws Exception {
        int port = 1234;
        String bind = "0.0.0.0";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--port" -> port = parsePort(value(args, ++i, a));
                case "--bind" -> bind = value(args, ++i, a);
                case "--handler" -> {
                    String h = value(args, ++i, a);
                    if (!h.equals("echo")) {
                        fail("--handler '" + h + "' is not available yet: this build has only 'echo'");
                    }
                }
                case "--help", "-h" -> {
                    System.out.println("usage: java -jar abyss-server.jar [--port N (default 1234)] [--bind ADDRESS (default 0.0.0.0)] [--handler echo]");
                    return;
                }
                default -> fail("unknown option '" + a + "' (try --help)");
            }
        }
        SocketAddress address;
        try {
            address = new InetSocketAddress(InetAddress.getByName(bind), port);
        } catch (UnknownHostException e) {
            fail("--bind: not an address: '" + bind + "'");
            return;
        }
        try (MinimalEcho echo = MinimalEcho.open(address)) {
            System.out.println("abyss: echo listening on udp " + echo.localAddress());
            Thread loop = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                echo.stop();
                try {
                    loop.join(5000);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }));
            echo.run();
            System.out.println("abyss: stopped after " + echo.echoed() + " datagrams echoed");
        } catch (NativeException e) {
            fail(e.getMessage());
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            fail(option + " needs a value");
        }
        return args[i];
    }

    private static int parsePort(String s) {
        try {
            int p = Integer.parseInt(s);
            if (p >= 0 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the message
        }
        fail("--port must be 0..65535, was '" + s + "'");
        return -1;
    }

    private static void fail(String message) {
        System.err.println("abyss: " + message);
        System.exit(2);
    }

    static void closeQuietly(int fd) {
        if (fd >= 0) {
            LibC.close(fd);
        }
    }

    static void reuse(int fd) throws NativeException {
        Sockets.setInt(fd, Net.SOL_SOCKET, Net.SO_REUSEADDR, 1, "SO_REUSEADDR");
    }
}
