package dev.abyss.server.engine.session;

import java.util.ArrayList;

/**
 * Idle timeouts of one acceptor's sessions: a hashed wheel of {@value #SLOTS} slots of
 * {@value #TICK_MILLIS} ms, no thread and no scheduled task per session.
 *
 * <p>A datagram only moves the session's deadline forward (one field write); the wheel files the
 * session under a tick and, when that tick comes, either times it out or files it again under its
 * current deadline. An entry whose session was re-filed under another tick, or ended, is skipped.
 * Owner thread only.
 */
public final class TimerWheel {
    static final int TICK_MILLIS = 10;
    static final int SLOTS = 4096;
    private static final long TICK_NANOS = TICK_MILLIS * 1_000_000L;

    private final long origin;
    @SuppressWarnings("unchecked")
    private final ArrayList<SessionImpl>[] slots = new ArrayList[SLOTS];
    private long processedTick; // every tick below this one has been handled
    private int filed;

    public TimerWheel(long nowNanos) {
        this.origin = nowNanos;
        this.processedTick = tickOf(nowNanos);
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new ArrayList<>();
        }
    }

    private long tickOf(long nanos) {
        return (nanos - origin + TICK_NANOS - 1) / TICK_NANOS; // round up: never fire early
    }

    /** Files {@code s} under its deadline ({@link SessionImpl#deadlineNanos}); re-filing earlier moves it. */
    public void schedule(SessionImpl s) {
        long tick = Math.max(tickOf(s.wakeNanos()), processedTick);
        if (s.wheelTick == tick) {
            return;
        }
        s.wheelTick = tick;
        slots[(int) (tick & (SLOTS - 1))].add(s);
        filed++;
    }

    /** Called when a session's deadline may have moved earlier than where it is filed. */
    public void deadlineChanged(SessionImpl s) {
        if (tickOf(s.wakeNanos()) < s.wheelTick) {
            schedule(s);
        }
    }

    /** Sessions filed (an upper bound of the live ones: stale entries count until their tick). */
    public int filed() {
        return filed;
    }

    /** Milliseconds until the next tick worth waking for, or -1 when nothing is filed. */
    public int millisToNextTick(long nowNanos) {
        if (filed == 0) {
            return -1;
        }
        long next = origin + processedTick * TICK_NANOS;
        return (int) Math.max(0, (next - nowNanos + 999_999) / 1_000_000);
    }

    /** Processes every tick up to {@code nowNanos}, handing expired open sessions to {@code expired}. */
    public void advance(long nowNanos, java.util.function.Consumer<SessionImpl> expired) {
        long target = (nowNanos - origin) / TICK_NANOS;
        while (processedTick <= target) {
            long tick = processedTick++;
            ArrayList<SessionImpl> slot = slots[(int) (tick & (SLOTS - 1))];
            if (slot.isEmpty()) {
                continue;
            }
            int n = slot.size();
            for (int i = 0; i < n; i++) {
                SessionImpl s = slot.get(i);
                if (s.wheelTick != tick) {
                    if (s.wheelTick > tick && (s.wheelTick & (SLOTS - 1)) == (tick & (SLOTS - 1)) && s.isOpenLocal()) {
                        slot.add(s); // filed for a later round of the wheel: keep it here
                    } else {
                        filed--; // stale: re-filed elsewhere, already handled, or ended
                    }
                    continue;
                }
                filed--;
                s.wheelTick = -1;
                if (!s.isOpenLocal()) {
                    continue;
                }
                if (s.wakeNanos() <= nowNanos) {
                    expired.accept(s);
                } else {
                    schedule(s);
                }
            }
            slot.subList(0, n).clear();
        }
    }
}
