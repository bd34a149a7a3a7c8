package clusterkv.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outcome of one case, as one line of results.jsonl.
 *
 * @param score   accuracy in [0, 1], or the perplexity of the chunk for {@code ppl}
 * @param n       predictions behind the score (1 for a retrieval answer; tokens for copy and ppl)
 * @param nll     mean negative log-likelihood per prediction, for the teacher-forced tasks (copy, ppl)
 * @param kvStats fidelity of the selection ({@code --kv-stats} figures), null for full attention
 * @param detail  a short human-readable account (expected and produced answer)
 */
public record EvalResult(EvalCase evalCase, double score, int n, Double nll, Map<String, Object> kvStats,
                         double seconds, String model, String detail) {

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", evalCase.task());
        m.put("policy", evalCase.policy());
        m.put("budget", evalCase.budget());
        m.put("context", evalCase.context());
        m.put("depth", evalCase.depth());
        m.put("sample", evalCase.sample());
        m.put("score", score);
        m.put("n", n);
        m.put("nll", nll);
        m.put("seconds", Math.round(seconds * 1000) / 1000.0);
        m.put("model", model);
        m.put("detail", detail);
        m.put("kv_stats", kvStats);
        return m;
    }

    @SuppressWarnings("unchecked")
    public static EvalResult fromJson(Map<String, Object> m) {
        EvalCase c = new EvalCase(string(m, "task"), string(m, "policy"), number(m, "budget").intValue(),
                number(m, "context").intValue(), m.get("depth") == null ? null : number(m, "depth").doubleValue(),
                number(m, "sample").intValue());
        Object stats = m.get("kv_stats");
        if (stats != null && !(stats instanceof Map)) throw new IllegalArgumentException("kv_stats is not an object");
        return new EvalResult(c, number(m, "score").doubleValue(), number(m, "n").intValue(),
                m.get("nll") == null ? null : number(m, "nll").doubleValue(), (Map<String, Object>) stats,
                m.get("seconds") == null ? 0 : number(m, "seconds").doubleValue(),
                m.get("model") == null ? "" : m.get("model").toString(), m.get("detail") == null ? "" : m.get("detail").toString());
    }

    private static String string(Map<String, Object> m, String field) {
        if (!(m.get(field) instanceof String s)) throw new IllegalArgumentException("field '" + field + "' is missing or not a string");
        return s;
    }

    private static Number number(Map<String, Object> m, String field) {
        if (!(m.get(field) instanceof Number n)) throw new IllegalArgumentException("field '" + field + "' is missing or not a number");
        return n;
    }
}
