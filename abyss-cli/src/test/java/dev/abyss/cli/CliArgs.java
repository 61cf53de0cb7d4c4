package dev.abyss.cli;

import dev.abyss.server.ServerConfig;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** The CLI's flags as a test types them: the config they make, or what a refusal says. */
final class CliArgs {
    private CliArgs() {
    }

    /** {@return the config {@code args} make, without starting a server} */
    static ServerConfig config(String... args) {
        CommandLine cl = Main.commandLine();
        cl.parseArgs(args);
        Main main = cl.getCommand();
        return main.config();
    }

    /** {@return what the CLI printed on stderr refusing {@code args} (asserts it exited non-zero)} */
    static String failure(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        assertNotEquals(0, cl.execute(args));
        return err.toString();
    }
}
