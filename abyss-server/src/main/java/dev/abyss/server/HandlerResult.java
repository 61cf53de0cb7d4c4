package dev.abyss.server;

import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link Handler} callback returns: the session's next state and what happens next. The
 * Java form of Abyss's {@code {:continue, s}}, {@code {:continue, s, timeout}},
 * {@code {:continue, s, {:persistent, timeout}}}, {@code {:close, s}} and {@code {:error, reason, s}}.
 *
 * @param <S> the session state type
 */
public sealed interface HandlerResult<S> {

    /** {@return the state that replaces the session's state} */
    S state();

    /**
     * Keep the session; made by {@link #continueWith(Object)}, {@link #continueWith(Object, Duration)}
     * and {@link #continuePersistent(Object, Duration)}.
     *
     * @param <S> the session state type
     */
    final class Continue<S> implements HandlerResult<S> {
        private final S state;
        private final Duration timeout;
        private final boolean persistent;

        private Continue(S state, Duration timeout, boolean persistent) {
            this.state = state;
            this.timeout = timeout;
            this.persistent = persistent;
        }

        @Override
        public S state() {
            return state;
        }

        /** {@return the idle timeout this result sets (positive), or null to keep the session's current one} */
        public Duration timeout() {
            return timeout;
        }

        /**
         * {@return true when {@link #timeout()} replaces the session's idle timeout from now on, false
         * when it holds only until the next datagram or message}
         */
        public boolean persistent() {
            return persistent;
        }

        @Override
        public String toString() {
            return "Continue[state=" + state + (timeout == null ? "" : ", timeout=" + timeout + (persistent ? " persistent" : "")) + "]";
        }
    }

    /**
     * End the session: {@link Handler#handleClose} runs last.
     *
     * @param state the session's last state
     * @param <S>   the session state type
     */
    record Close<S>(S state) implements HandlerResult<S> {
    }

    /**
     * End the session in error: {@link Handler#handleError} runs last with {@code reason}.
     *
     * @param reason why, handed to {@link Handler#handleError}
     * @param state  the session's last state
     * @param <S>    the session state type
     */
    record Failure<S>(Object reason, S state) implements HandlerResult<S> {
    }

    /**
     * {@code {:continue, state}}. Results are immutable: a handler may keep one and return it again
     * to allocate nothing per datagram; for a null state this method already returns a shared one.
     *
     * @param state the session's new state
     * @param <S>   the session state type
     * @return the result
     */
    @SuppressWarnings("unchecked")
    static <S> HandlerResult<S> continueWith(S state) {
        return state == null ? (HandlerResult<S>) Shared.CONTINUE_NULL : new Continue<>(state, null, false);
    }

    /**
     * {@code {:continue, state, timeout}}: a one-shot idle timeout, until the next datagram or message.
     *
     * @param state   the session's new state
     * @param timeout positive
     * @param <S>     the session state type
     * @return the result
     */
    static <S> HandlerResult<S> continueWith(S state, Duration timeout) {
        return new Continue<>(state, positive(timeout), false);
    }

    /**
     * {@code {:continue, state, {:persistent, timeout}}}: this session's idle timeout from now on.
     *
     * @param state   the session's new state
     * @param timeout positive
     * @param <S>     the session state type
     * @return the result
     */
    static <S> HandlerResult<S> continuePersistent(S state, Duration timeout) {
        return new Continue<>(state, positive(timeout), true);
    }

    /**
     * {@code {:close, state}}.
     *
     * @param state the session's last state
     * @param <S>   the session state type
     * @return the result
     */
    static <S> HandlerResult<S> close(S state) {
        return new Close<>(state);
    }

    /**
     * {@code {:error, reason, state}}.
     *
     * @param reason why, not null
     * @param state  the session's last state
     * @param <S>    the session state type
     * @return the result
     */
    static <S> HandlerResult<S> error(Object reason, S state) {
        return new Failure<>(Objects.requireNonNull(reason, "reason"), state);
    }

    private static Duration positive(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        return timeout;
    }

    /** Holder of shared results (an interface cannot have private static fields). */
    final class Shared {
        static final HandlerResult<Object> CONTINUE_NULL = new Continue<>(null, null, false);

        private Shared() {
        }
    }
}
