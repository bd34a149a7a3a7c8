package clusterkv.generate;

import clusterkv.kv.KVStats;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.policy.KVPolicies;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * --kv-stats figures are produced for every policy on the trained 2k model under sparse decoding, and
 * lie where they must: recalls and mass in [0, 1], errors and KL >= 0; full attention is exact.
 */
class KVStatsTest {

    private static LanguageModel lm;
    private static String text;

    @BeforeAll
    static void load() throws Exception {
        lm = LanguageModel.load(Path.of("src/test/data/models/ckv-tiny-2k.gguf"));
        text = Files.readString(Path.of("src/test/data/corpus/pg19_firstbook.txt")).substring(0, 1600);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    static List<String> policies() {
        return KVPolicies.NAMES;
    }

    @ParameterizedTest
    @MethodSource("policies")
    @SuppressWarnings("unchecked")
    void statsAreProducedAndInRange(String policy) {
        KVStats stats = new KVStats(lm.config().layers());
        PolicyConfig config = PolicyConfig.DEFAULT.withBudget(64);
        SessionOptions options = SessionOptions.defaults().withContextSize(256).withPolicy(policy, config);
        Perplexity.Result r = Perplexity.compute(lm, text, options, null, stats);
        Map<String, Object> m = stats.toMap();
        assertTrue(r.ppl() > 1 && r.ppl() < 100, "ppl " + r.ppl());
        if (policy.equals("full")) return; // full attention takes the exact path: nothing to compare
        for (String key : List.of("topk_recall", "attention_mass_recall")) {
            double v = ((Number) m.get(key)).doubleValue();
            assertTrue(v >= 0 && v <= 1 + 1e-9, key + " = " + v);
        }
        assertTrue(((Number) m.get("output_rel_error")).doubleValue() >= 0);
        assertTrue(((Number) m.get("kl")).doubleValue() >= 0);
        List<Map<String, Object>> layers = (List<Map<String, Object>>) m.get("per_layer");
        assertEquals(lm.config().layers() - config.denseLayers(), layers.size(), "one row per sparse layer");
        if (policy.equals("clusterkv")) {
            double hit = ((Number) m.get("cache_hit_rate")).doubleValue();
            assertTrue(hit >= 0 && hit <= 1, "cache hit rate " + hit);
        }
    }

    @Test
    void theClusterCacheChangesNoFigure() {
        // the same tokens attended, read from the working set's copies: the selection's figures are the same
        // (they count tokens by the slot that stores them), up to the order of float sums in the attention
        // outputs, which reaches the next layers' queries and can tip a near tie between two clusters
        PolicyConfig plain = PolicyConfig.DEFAULT.withBudget(64);
        PolicyConfig cached = new PolicyConfig(64, -1, 0, 0, 20, 2, false, true, 16, 0);
        Map<String, Object> a = clusterKVStats(plain), b = clusterKVStats(cached);
        for (String key : List.of("topk_recall", "attention_mass_recall", "cache_hit_rate")) {
            assertEquals(((Number) a.get(key)).doubleValue(), ((Number) b.get(key)).doubleValue(), 1e-3, key);
        }
        double errA = ((Number) a.get("output_rel_error")).doubleValue(), errB = ((Number) b.get("output_rel_error")).doubleValue();
        assertEquals(errA, errB, 1e-2 * errA, "output_rel_error");
    }

    private static Map<String, Object> clusterKVStats(PolicyConfig config) {
        KVStats stats = new KVStats(lm.config().layers());
        SessionOptions options = SessionOptions.defaults().withContextSize(256).withPolicy("clusterkv", config);
        Perplexity.compute(lm, text, options, null, stats);
        return stats.toMap();
    }

    @ParameterizedTest
    @MethodSource("policies")
    void budgetCoveringTheContextEqualsFullAttention(String policy) {
        SessionOptions full = SessionOptions.defaults().withContextSize(256);
        SessionOptions sparse = full.withPolicy(policy, PolicyConfig.DEFAULT.withBudget(256));
        double a = Perplexity.compute(lm, text, full, null).ppl();
        double b = Perplexity.compute(lm, text, sparse, null).ppl();
        assertEquals(a, b, 1e-4 * a, policy + ": a budget >= the context is full attention");
    }
}
