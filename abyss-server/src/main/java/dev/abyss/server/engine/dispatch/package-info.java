/**
 * How callbacks run. {@code Dispatcher} is sealed: {@code InlineDispatcher} runs them on the acceptor
 * thread (zero copy, the timer wheel, session layers, the {@code Inbox} for posts and closes from other
 * threads, {@code CallbackClock} and {@code CallbackWatchdog} for the callback limit);
 * {@code VirtualDispatcher} gives each session a {@code VirtualSession}: a virtual thread and a bounded
 * mailbox. {@code StatelessDispatch} serves a {@code DatagramHandler} with no session at all.
 * {@code Callbacks} is the one end-of-session path, whoever ends it.
 */
package dev.abyss.server.engine.dispatch;
