package clusterkv.cli;

import java.util.List;
import java.util.Map;

/** Prints --kv-stats figures as a small per-layer table on stderr. */
final class KVStatsReport {

    private KVStatsReport() {}

    @SuppressWarnings("unchecked")
    static void print(Map<String, Object> stats) {
        System.err.println("layer  topk_recall  attn_mass  out_rel_err  cache_hits  attended");
        for (Map<String, Object> row : (List<Map<String, Object>>) stats.get("per_layer")) {
            System.err.printf("%5s  %11s  %9s  %11s  %10s  %8s%n", row.get("layer"), fmt(row.get("topk_recall")),
                    fmt(row.get("attention_mass_recall")), fmt(row.get("output_rel_error")), fmt(row.get("cache_hit_rate")),
                    tokens(row.get("attended_tokens")));
        }
        System.err.printf("mean over layers >= 2: topk_recall %s, attention_mass_recall %s, output_rel_error %s, kl %s, cache_hit_rate %s, "
                        + "attended tokens per head and step %s%n",
                fmt(stats.get("topk_recall")), fmt(stats.get("attention_mass_recall")), fmt(stats.get("output_rel_error")),
                fmt(stats.get("kl")), fmt(stats.get("cache_hit_rate")), tokens(stats.get("attended_tokens")));
    }

    private static String tokens(Object v) {
        return v instanceof Number n ? String.format("%.1f", n.doubleValue()) : "-";
    }

    private static String fmt(Object v) {
        return v instanceof Number n ? String.format("%.4f", n.doubleValue()) : "-";
    }
}
