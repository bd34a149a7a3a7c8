package clusterkv.eval;

import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVStats;
import clusterkv.kv.KVFormat;
import clusterkv.kv.PolicyConfig;

import java.util.Map;

/**
 * What every task needs to run a case: the model, the haystack text, the session settings, and whether to
 * measure the selection's fidelity (a full-attention twin runs alongside, which doubles the cost).
 *
 * @param corpus real text for haystacks and perplexity, or null when none was given
 * @param policy the policy knobs; each case sets its own budget
 */
public record EvalContext(LanguageModel lm, String corpus, SessionOptions base, PolicyConfig policy, boolean fidelity, long seed) {

    /** A session for the case, tracking fidelity when asked and the policy is sparse. */
    public Probed open(EvalCase c) {
        SessionOptions options = options(c);
        Session session = lm.newSession(options);
        KVStats stats = newStats(options);
        if (stats != null) session.trackFidelity(stats);
        return new Probed(session, stats);
    }

    public SessionOptions options(EvalCase c) {
        PolicyConfig config = EvalCase.exact(c.policy()) ? policy : policy.withBudget(c.budget());
        SessionOptions options = base.withContextSize(c.context()).withPolicy(EvalCase.policyOf(c.policy()), config);
        String kvType = EvalCase.kvTypeOf(c.policy());
        return kvType.equals("f16") ? options : options.withKvFormat(KVFormat.parse(kvType, null, null, null));
    }

    /** Fresh statistics for a session with these options, or null when fidelity is not measured for it. */
    public KVStats newStats(SessionOptions options) {
        return fidelity && options.sparse() ? new KVStats(lm.config().layers()) : null;
    }

    public String requireCorpus(String task) {
        if (corpus == null) throw new IllegalArgumentException("task '" + task + "' needs real text: pass --corpus FILE");
        return corpus;
    }

    /** A session and its fidelity statistics (null when not measured); closing frees the session. */
    public record Probed(Session session, KVStats stats) implements AutoCloseable {

        public Map<String, Object> statsMap() {
            return stats == null ? null : stats.toMap();
        }

        @Override
        public void close() {
            session.close();
        }
    }
}
