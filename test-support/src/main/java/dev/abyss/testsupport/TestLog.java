package dev.abyss.testsupport;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Prints each test that did not pass under its whole name, and at the end what JUnit ran: the test
 * log every module's tests write (registered for the JUnit launcher as a service, so present
 * wherever this module is on the test class path).
 *
 * <pre>
 * SKIPPED DatagramControlTest &gt; NIO &gt; theReflectorExample...(): NIO cannot do DATAGRAM_CONTROL: ...
 * FAILED  StatsTest &gt; IO_URING &gt; everyCounterIsExact(): expected: &lt;...&gt; but was: &lt;...&gt;
 * JUnit: 612 tests, 570 passed, 0 failed, 42 skipped
 * </pre>
 *
 * <p>Why: surefire names the invocations of a {@code @ParameterizedClass} by index only
 * ({@code StatsTest[1]}), not by their argument (the transport), and its summary merges them by
 * method name (a case that ran on one transport and was skipped on another counts once, as run).
 * The names and the count here are JUnit's own.
 */
public final class TestLog implements TestExecutionListener {
    private volatile TestPlan plan;
    private final AtomicLong passed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final AtomicLong containersFailed = new AtomicLong();
    /** Tests already counted: a container that aborts after some of its tests ran skips only the rest. */
    private final Set<String> counted = ConcurrentHashMap.newKeySet();

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        long tests = notCountedTestsIn(id);
        skipped.addAndGet(tests);
        System.out.println("SKIPPED " + name(id) + (id.isTest() ? "" : " (" + tests + " tests)") + ": " + reason);
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        String why = result.getThrowable().map(Throwable::getMessage).orElse("");
        if (id.isTest() && !counted.add(id.getUniqueId())) {
            return;
        }
        switch (result.getStatus()) {
            case SUCCESSFUL -> {
                if (id.isTest()) {
                    passed.incrementAndGet();
                }
            }
            case ABORTED -> { // an assumption failed: in a test, or in a container's @BeforeAll before its tests ran
                long tests = id.isTest() ? 1 : notCountedTestsIn(id);
                skipped.addAndGet(tests);
                System.out.println("SKIPPED " + name(id) + (id.isTest() ? "" : " (" + tests + " tests)") + ": " + why);
            }
            case FAILED -> {
                (id.isTest() ? failed : containersFailed).incrementAndGet();
                System.out.println("FAILED  " + name(id) + ": " + why);
            }
        }
    }

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        System.out.printf("JUnit: %d tests, %d passed, %d failed, %d skipped%s%n", passed.get() + failed.get() + skipped.get(),
                passed.get(), failed.get(), skipped.get(),
                containersFailed.get() == 0 ? "" : "; " + containersFailed.get() + " test classes or templates failed");
    }

    /** The tests known under {@code id} (itself when it is one) not counted yet; counted from now on. */
    private long notCountedTestsIn(TestIdentifier id) {
        Stream<TestIdentifier> tests = id.isTest() ? Stream.of(id) : plan.getDescendants(id).stream().filter(TestIdentifier::isTest);
        return tests.filter(t -> counted.add(t.getUniqueId())).count();
    }

    /** The display names from the test class down, e.g. "StatsTest > EPOLL > everyCounterIsExact()". */
    private String name(TestIdentifier id) {
        Deque<String> names = new ArrayDeque<>();
        for (TestIdentifier at = id; at != null && at.getParentId().isPresent(); at = plan.getParent(at).orElse(null)) {
            names.addFirst(at.getDisplayName()); // the engine, the root, has no parent and no place in the name
        }
        return String.join(" > ", names);
    }
}
