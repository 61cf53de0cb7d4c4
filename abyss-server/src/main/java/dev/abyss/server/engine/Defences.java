package dev.abyss.server.engine;

import dev.abyss.server.FullTablePolicy;
import dev.abyss.server.ServerConfig;
import dev.abyss.server.engine.admission.PrefixQuota;
import dev.abyss.server.engine.outbound.ReplyLimits;
import dev.abyss.server.engine.outbound.ReplyRates;
import dev.abyss.server.engine.prefix.Prefixes;

/**
 * The open-internet defences of one server, made once from its config and shared by its acceptors:
 * the keyed prefix table, the reply budgets per prefix ({@link ReplyRates}, for the outbound path)
 * and the session quota per prefix ({@link PrefixQuota}, for admission). What is off is null, and
 * costs nothing.
 */
record Defences(Prefixes prefixes, ReplyRates rates, int amplificationFactor, int slip, PrefixQuota quota) {

    static Defences of(ServerConfig config) {
        ServerConfig.Defences d = config.defences();
        boolean rate = d.rateLimit() > 0;
        boolean quota = d.sessionsPerPrefix() > 0;
        Prefixes prefixes = rate || quota ? new Prefixes(d.ipv4PrefixLength(), d.ipv6PrefixLength(), d.prefixTableSize()) : null;
        return new Defences(prefixes, rate ? new ReplyRates(d.rateLimit(), d.rateLimitBurst(), d.prefixTableSize()) : null,
                d.amplificationLimit(), d.rateLimitSlip(), quota ? new PrefixQuota(prefixes, d.sessionsPerPrefix()) : null);
    }

    /** {@return a new acceptor's reply limits, or null when no reply limit is on} */
    ReplyLimits replyLimits() {
        return rates == null && amplificationFactor == 0 ? null : new ReplyLimits(prefixes, rates, amplificationFactor, slip);
    }
}
