package dev.abyss.nativetests;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library as an application gets it: a fresh Maven project that depends on
 * {@code dev.abyss:abyss-server}, resolved by a real Maven from this build's jars and poms (a
 * private local repository holds them; every other artifact comes from the user's), gets only
 * abyss-ffi and slf4j-api at run time; a small program compiled against exactly those jars echoes a
 * datagram over 127.0.0.1 on the module path ({@code --enable-native-access=dev.abyss.ffi}, with a
 * JFR recording: the events live in an unexported package) and on the class path
 * ({@code ALL-UNNAMED}), with no warning.
 */
class EmbeddingTest {
    private static final String VERSION = System.getProperty("abyss.version", "0.1.0-SNAPSHOT");
    private static final Path ROOT = Path.of(System.getProperty("abyss.root", "..")).toAbsolutePath().normalize();

    @TempDir
    static Path work;

    /** The application's run-time class path, as Maven resolved it. */
    private static List<Path> runtimeJars;

    private static final String PROGRAM = """
            package demo;

            import dev.abyss.server.Abyss;
            import dev.abyss.server.Server;
            import dev.abyss.server.ServerConfig;
            import dev.abyss.server.examples.Echo;

            import java.net.DatagramPacket;
            import java.net.DatagramSocket;
            import java.net.InetSocketAddress;
            import java.nio.charset.StandardCharsets;

            public class Main {
                public static void main(String[] args) throws Exception {
                    ServerConfig config = ServerConfig.builder().handler(new Echo()).bindLoopback().port(0).numAcceptors(1).build();
                    try (Server server = Abyss.start(config);
                         DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                        client.setSoTimeout(5000);
                        byte[] ping = "ping from an application".getBytes(StandardCharsets.UTF_8);
                        client.send(new DatagramPacket(ping, ping.length, server.localAddress()));
                        DatagramPacket back = new DatagramPacket(new byte[64], 64);
                        client.receive(back);
                        String echoed = new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8);
                        Module lib = Server.class.getModule();
                        System.out.println("echoed '" + echoed + "' over " + server.transport() + "; library in "
                                + (lib.isNamed() ? "module " + lib.getName() + ", engine exported: "
                                        + lib.isExported("dev.abyss.server.engine") : "the unnamed module"));
                    }
                }
            }
            """;

    @BeforeAll
    static void resolveLikeAnApplication() throws Exception {
        Path repo = privateRepository();
        Path app = Files.createDirectories(work.resolve("app"));
        Files.writeString(app.resolve("pom.xml"), """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>demo</groupId>
                  <artifactId>demo</artifactId>
                  <version>1</version>
                  <dependencies>
                    <dependency>
                      <groupId>dev.abyss</groupId>
                      <artifactId>abyss-server</artifactId>
                      <version>%s</version>
                    </dependency>
                  </dependencies>
                </project>
                """.formatted(VERSION));
        String plugin = "org.apache.maven.plugins:maven-dependency-plugin:" + System.getProperty("abyss.dependency-plugin.version", "3.8.1");
        Path list = work.resolve("runtime-dependencies.txt");
        Path classpath = work.resolve("runtime-classpath.txt");
        List<String> cmd = new ArrayList<>(List.of(maven(), "-B", "-q", "-Dstyle.color=never", "-f", app.resolve("pom.xml").toString(),
                "-Dmaven.repo.local=" + repo,
                plugin + ":list", "-DincludeScope=runtime", "-DoutputFile=" + list,
                plugin + ":build-classpath", "-Dmdep.includeScope=runtime", "-Dmdep.outputFile=" + classpath));
        if (System.getProperty("abyss.maven.offline", "").endsWith("true")) { // "offline=true": the build runs offline
            cmd.add(1, "-o");
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(app.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("MAVEN_OPTS", "-Djansi.noreset=true");
        Run mvn = run(pb, 180);
        assertEquals(0, mvn.status(), "mvn dependency:list on a fresh project: " + mvn.output());

        // groupId:artifactId:type:version:scope, one per line after a header
        Pattern coordinates = Pattern.compile("^\\s+([\\w.-]+):([\\w.-]+):jar:([\\w.-]+):(\\w+)");
        Map<String, String> scopes = Files.readAllLines(list).stream().map(coordinates::matcher).filter(Matcher::find)
                .collect(Collectors.toMap(m -> m.group(1) + ":" + m.group(2), m -> m.group(4)));
        // abyss-server itself, and only abyss-ffi and slf4j-api with it (no logging backend)
        assertEquals(Set.of("dev.abyss:abyss-server", "dev.abyss:abyss-ffi", "org.slf4j:slf4j-api"), scopes.keySet(),
                "an application's run-time dependencies: " + Files.readString(list));
        assertEquals(Set.of("compile"), Set.copyOf(scopes.values()), "scopes: " + scopes);

        runtimeJars = Arrays.stream(Files.readString(classpath).strip().split(java.io.File.pathSeparator)).map(Path::of).toList();
        assertEquals(3, runtimeJars.size(), "abyss-server, abyss-ffi, slf4j-api: " + runtimeJars);
    }

    /** The links into the user's repository go before JUnit cleans the directory up (it would warn about each). */
    @AfterAll
    static void unlinkTheUsersRepository() throws IOException {
        Path repo = work.resolve("repository");
        for (Path dir : List.of(repo, repo.resolve("dev"))) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> entries = Files.list(dir)) {
                    for (Path e : entries.toList()) {
                        if (Files.isSymbolicLink(e)) {
                            Files.delete(e);
                        }
                    }
                }
            }
        }
    }

    @Test
    void theModulesExportTheApiOnly() {
        ModuleDescriptor server = descriptor(jar("abyss-server"));
        assertEquals("dev.abyss.server", server.name());
        assertEquals(Set.of("dev.abyss.server", "dev.abyss.server.telemetry", "dev.abyss.server.examples"),
                server.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
        assertTrue(server.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified));
        assertTrue(server.opens().isEmpty());
        assertTrue(server.packages().contains("dev.abyss.server.engine"), server.packages().toString());
        Set<String> requires = server.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertTrue(requires.containsAll(Set.of("dev.abyss.ffi", "org.slf4j", "jdk.jfr")), requires.toString());

        ModuleDescriptor ffi = descriptor(jar("abyss-ffi"));
        assertEquals("dev.abyss.ffi", ffi.name());
        assertEquals(ffi.packages(), ffi.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()),
                "a bindings library exports every package");
    }

    @Test
    @Timeout(120)
    void echoesOnTheModulePathWithAJfrRecording() throws Exception {
        Path src = work.resolve("modular-src");
        Files.createDirectories(src.resolve("demo"));
        Files.writeString(src.resolve("module-info.java"), "module demo { requires dev.abyss.server; }\n");
        Files.writeString(src.resolve("demo/Main.java"), PROGRAM);
        Path classes = work.resolve("modular-classes");
        String modulePath = path(runtimeJars);
        javac("--module-path", modulePath, "-d", classes.toString(),
                src.resolve("module-info.java").toString(), src.resolve("demo/Main.java").toString());

        Path recording = work.resolve("embedded.jfr");
        Run run = java("--enable-native-access=dev.abyss.ffi", "-XX:StartFlightRecording:filename=" + recording,
                "--module-path", classes + java.io.File.pathSeparator + modulePath, "--module", "demo/demo.Main");
        assertEquals(0, run.status(), run.output());
        assertTrue(run.output().contains("echoed 'ping from an application'"), run.output());
        assertTrue(run.output().contains("library in module dev.abyss.server, engine exported: false"), run.output());
        assertNoWarning(run);

        // JFR reaches its event classes in the unexported engine package
        List<RecordedEvent> events = RecordingFile.readAllEvents(recording);
        List<RecordedEvent> sessions = events.stream().filter(e -> e.getEventType().getName().equals("dev.abyss.Connection")).toList();
        assertEquals(1, sessions.size(), "one session recorded: " + sessions);
        assertTrue(sessions.getFirst().getString("remoteAddress").contains("127.0.0.1"), sessions.getFirst().toString());
    }

    @Test
    @Timeout(120)
    void echoesOnTheClassPath() throws Exception {
        Path src = Files.createDirectories(work.resolve("plain-src/demo"));
        Files.writeString(src.resolve("Main.java"), PROGRAM);
        Path classes = work.resolve("plain-classes");
        String classPath = path(runtimeJars);
        javac("--class-path", classPath, "-d", classes.toString(), src.resolve("Main.java").toString());

        Run run = java("--enable-native-access=ALL-UNNAMED", "--class-path", classes + java.io.File.pathSeparator + classPath, "demo.Main");
        assertEquals(0, run.status(), run.output());
        assertTrue(run.output().contains("echoed 'ping from an application'"), run.output());
        assertTrue(run.output().contains("library in the unnamed module"), run.output());
        assertNoWarning(run);
    }

    /** No JVM warning (restricted methods, native access): slf4j's note that no backend is bound is expected. */
    private static void assertNoWarning(Run run) {
        assertFalse(run.output().contains("WARNING"), "no JVM warning: " + run.output());
    }

    private static ModuleDescriptor descriptor(Path jar) {
        return ModuleFinder.of(jar).findAll().iterator().next().descriptor();
    }

    /** This build's jar of {@code module}: it must have been packaged (mvn verify does) before native-tests run. */
    private static Path jar(String module) {
        Path jar = ROOT.resolve(module).resolve("target").resolve(module + "-" + VERSION + ".jar");
        assertTrue(Files.isRegularFile(jar), "packaged before native-tests run (mvn verify or install): " + jar);
        return jar;
    }

    /**
     * A local repository with this build's abyss-parent, abyss-ffi and abyss-server (never what an
     * earlier {@code mvn install} left in the user's repository) and, through symbolic links,
     * everything else from the user's repository, so Maven runs offline when this build does.
     */
    private static Path privateRepository() throws IOException {
        Path user = Path.of(System.getProperty("abyss.maven.localRepository", System.getProperty("user.home") + "/.m2/repository"));
        Path repo = Files.createDirectories(work.resolve("repository"));
        linkAllBut(user, repo, "dev");
        Path dev = Files.createDirectories(repo.resolve("dev"));
        linkAllBut(user.resolve("dev"), dev, "abyss");
        put(repo, "abyss-parent", ROOT.resolve("pom.xml"), null);
        put(repo, "abyss-ffi", ROOT.resolve("abyss-ffi/pom.xml"), jar("abyss-ffi"));
        put(repo, "abyss-server", ROOT.resolve("abyss-server/pom.xml"), jar("abyss-server"));
        return repo;
    }

    private static void linkAllBut(Path from, Path to, String except) throws IOException {
        if (!Files.isDirectory(from)) {
            return;
        }
        try (Stream<Path> entries = Files.list(from)) {
            for (Path e : entries.toList()) {
                if (!e.getFileName().toString().equals(except)) {
                    Files.createSymbolicLink(to.resolve(e.getFileName().toString()), e);
                }
            }
        }
    }

    private static void put(Path repo, String artifact, Path pom, Path jar) throws IOException {
        Path dir = Files.createDirectories(repo.resolve("dev/abyss").resolve(artifact).resolve(VERSION));
        Files.copy(pom, dir.resolve(artifact + "-" + VERSION + ".pom"), StandardCopyOption.REPLACE_EXISTING);
        if (jar != null) {
            Files.copy(jar, dir.resolve(artifact + "-" + VERSION + ".jar"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static String maven() {
        String home = System.getProperty("abyss.maven.home");
        if (home != null && Files.isExecutable(Path.of(home, "bin", "mvn"))) {
            return Path.of(home, "bin", "mvn").toString();
        }
        return "mvn";
    }

    private static String path(List<Path> entries) {
        return entries.stream().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
    }

    private static void javac(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(jdkTool("javac")));
        cmd.addAll(Arrays.asList(args));
        Run run = run(new ProcessBuilder(cmd).redirectErrorStream(true), 120);
        assertEquals(0, run.status(), "javac " + String.join(" ", args) + ": " + run.output());
    }

    private static Run java(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(jdkTool("java"), "-Xmx128m"));
        cmd.addAll(Arrays.asList(args));
        return run(new ProcessBuilder(cmd).redirectErrorStream(true), 60);
    }

    private static String jdkTool(String name) {
        return Path.of(System.getProperty("java.home"), "bin", name).toString();
    }

    private record Run(int status, String output) {
    }

    private static Run run(ProcessBuilder pb, int seconds) throws Exception {
        Process p = pb.start();
        p.getOutputStream().close();
        StringBuilder out = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the process ended
            }
        });
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(5000);
            throw new AssertionError(pb.command() + " did not finish in " + seconds + " s: " + out);
        }
        reader.join(5000);
        return new Run(p.exitValue(), out.toString());
    }
}
