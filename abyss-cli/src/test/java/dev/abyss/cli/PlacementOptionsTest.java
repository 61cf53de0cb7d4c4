package dev.abyss.cli;

import dev.abyss.ffi.CpuSet;
import dev.abyss.server.ServerConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --pin-acceptors and --steer-by-cpu as typed: what they set, what a bad one says. */
class PlacementOptionsTest {

    @Test
    void offUnlessAsked() {
        ServerConfig c = CliArgs.config("--port", "0");
        assertFalse(c.placement().pinned());
        assertFalse(c.placement().steerByCpu());
    }

    @Test
    void optionsReachTheConfig() throws Exception {
        int[] allowed = CpuSet.allowed();
        ServerConfig all = CliArgs.config("--acceptors", "2", "--pin-acceptors", "--steer-by-cpu");
        assertEquals(List.of(allowed[0], allowed[1 % allowed.length]), all.placement().acceptorCpus());
        assertTrue(all.placement().steerByCpu());
        ServerConfig listed = CliArgs.config("--acceptors", "3", "--pin-acceptors=" + allowed[0]);
        assertEquals(List.of(allowed[0], allowed[0], allowed[0]), listed.placement().acceptorCpus());
    }

    @Test
    void refusalsNameTheOptions() throws Exception {
        assertTrue(CliArgs.failure("--pin-acceptors=zero").contains("--pin-acceptors must be a comma-separated list of CPU numbers, was 'zero'"),
                CliArgs.failure("--pin-acceptors=zero"));
        int outside = CpuSet.allowed()[CpuSet.allowed().length - 1] + 1;
        assertTrue(CliArgs.failure("--pin-acceptors=" + outside).contains("names CPU " + outside), CliArgs.failure("--pin-acceptors=" + outside));
        String nio = CliArgs.failure("--transport", "nio", "--acceptors", "2", "--steer-by-cpu");
        assertTrue(nio.contains("steerByCpu true contradicts transport NIO"), nio);
    }

    @Test
    void helpListsThem() {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.execute("--help");
        assertTrue(out.toString().contains("--pin-acceptors") && out.toString().contains("--steer-by-cpu")
                && out.toString().contains("(receiving CPU %"), out.toString());
    }
}
