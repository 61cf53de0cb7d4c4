package dev.abyss.server.cli;

import dev.abyss.server.Abyss;
import dev.abyss.server.telemetry.AbyssLogger;
import dev.abyss.server.Handler;
import dev.abyss.server.Server;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.ServerStats;
import dev.abyss.server.TransportKind;
import dev.abyss.server.examples.Echo;
import dev.abyss.server.examples.HelloWorld;
import dev.abyss.server.examples.Messenger;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar abyss-server.jar --port 1234 --handler echo|hello|messenger [--bind ADDRESS]
 * [--acceptors N] [--transport auto|epoll] [--dispatch inline|virtual] [--log error|info|debug|trace]}.
 *
 * <p>Prints where it listens, then a stats line every 5 s while traffic flows. With the messenger
 * handler, each line typed on stdin is posted to every live session, which sends it to its peer.
 * Ctrl-C (SIGINT/SIGTERM) stops the server gracefully.
 */
public final class Main {
    private static final String USAGE = """
            usage: java -jar abyss-server.jar [options]
              --port N               UDP port, 0..65535 (default 1234; 0 = any free port)
              --bind ADDRESS         address to listen on (default 0.0.0.0)
              --handler NAME         echo | hello | messenger (default echo)
              --acceptors N          acceptor threads (default: available processors)
              --transport NAME       auto | epoll (default auto)
              --dispatch MODE        inline | virtual: callbacks on the acceptor threads, or a
                                     virtual thread per session (default inline)
              --log LEVEL            error | info | debug | trace (default info)""";

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        int port = 1234;
        String bind = "0.0.0.0";
        String handlerName = "echo";
        String log = "info";
        ServerConfig.Builder builder = ServerConfig.builder();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--port" -> port = parseInt(a, value(args, ++i, a));
                    case "--bind" -> bind = value(args, ++i, a);
                    case "--handler" -> handlerName = value(args, ++i, a);
                    case "--acceptors" -> builder.numAcceptors(parseInt(a, value(args, ++i, a)));
                    case "--transport" -> builder.transport(transport(value(args, ++i, a)));
                    case "--dispatch" -> builder.dispatchMode(switch (value(args, ++i, a)) {
                        case "inline" -> dev.abyss.server.DispatchMode.INLINE;
                        case "virtual" -> dev.abyss.server.DispatchMode.VIRTUAL_THREADS;
                        default -> throw new IllegalArgumentException("--dispatch must be inline or virtual, was '" + args[i] + "'");
                    });
                    case "--log" -> log = logLevel(value(args, ++i, a));
                    case "--help", "-h" -> {
                        System.out.println(USAGE);
                        return;
                    }
                    default -> throw new IllegalArgumentException("unknown option '" + a + "' (try --help)");
                }
            }
            builder.port(port).bindAddress(InetAddress.getByName(bind)).shutdownTimeout(Duration.ofSeconds(5));
        } catch (IllegalArgumentException e) {
            fail(e.getMessage());
        } catch (UnknownHostException e) {
            fail("--bind: not an address: '" + bind + "'");
        }
        // before the first logger is created: slf4j-simple reads its level once
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", log);
        Handler<?> handler = switch (handlerName) {
            case "echo" -> new Echo();
            case "hello" -> new HelloWorld();
            case "messenger" -> new Messenger();
            default -> {
                fail("--handler must be echo, hello or messenger, was '" + handlerName + "'");
                yield null;
            }
        };
        // the original's attach_logger(level): --log trace shows every datagram's connection events
        AbyssLogger.attach(AbyssLogger.Level.valueOf(log.toUpperCase(Locale.ROOT)));
        Server server;
        try {
            server = Abyss.start(builder.handler(handler).build());
        } catch (java.io.IOException | IllegalStateException e) {
            fail(e.getMessage());
            return;
        }
        System.out.println("abyss: " + handlerName + " listening on udp " + server.localAddress() + " ("
                + server.transport().name().toLowerCase(Locale.ROOT) + ", " + server.config().numAcceptors() + " acceptors)");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            ServerStats st = server.stats();
            System.out.println("abyss: stopped after " + st.datagramsIn() + " datagrams in, " + st.datagramsOut() + " out");
            stopped.countDown();
        }));
        if (handlerName.equals("messenger")) {
            Thread input = new Thread(() -> postStdin(server), "abyss-stdin");
            input.setDaemon(true);
            input.start();
        }
        printStatsUntilStopped(server, stopped);
    }

    private static void postStdin(Server server) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
            String line;
            while ((line = in.readLine()) != null) {
                Messenger.Send msg = new Messenger.Send(line);
                server.forEachSession(s -> s.post(msg));
            }
        } catch (java.io.IOException ignored) {
            // stdin closed: nothing more to post
        }
    }

    private static void printStatsUntilStopped(Server server, CountDownLatch stopped) throws InterruptedException {
        ServerStats last = server.stats();
        while (!stopped.await(5, java.util.concurrent.TimeUnit.SECONDS)) {
            ServerStats now = server.stats();
            long in = now.datagramsIn() - last.datagramsIn();
            long out = now.datagramsOut() - last.datagramsOut();
            if (in > 0 || out > 0) {
                long drops = now.droppedTableFull() + now.droppedMailboxFull() + now.droppedSuspended() + now.droppedSessionEnded() + now.truncated()
                        + now.sendQueueFull() + now.sendErrors();
                System.out.printf(Locale.ROOT, "abyss: %,.1f in/s, %,.1f out/s, %d sessions, %d drops, %d handler errors%n",
                        in / 5.0, out / 5.0, now.sessionsLive(), drops, now.handlerErrors());
            }
            last = now;
        }
    }

    private static TransportKind transport(String name) {
        return switch (name) {
            case "auto" -> TransportKind.AUTO;
            case "epoll" -> TransportKind.EPOLL;
            default -> throw new IllegalArgumentException("--transport must be auto or epoll in this build, was '" + name + "'");
        };
    }

    private static String logLevel(String level) {
        return switch (level) {
            case "error", "info", "debug", "trace" -> level;
            default -> throw new IllegalArgumentException("--log must be error, info, debug or trace, was '" + level + "'");
        };
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int parseInt(String option, String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a number, was '" + s + "'");
        }
    }

    private static void fail(String message) {
        System.err.println("abyss: " + message);
        System.exit(2);
    }
}
