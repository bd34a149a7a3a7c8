package clusterkv.kv.policy;

import clusterkv.kv.KVPolicy;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.PolicyState;
import clusterkv.kv.Selection;

import java.util.Arrays;

/**
 * SnapKV (Li et al., 2024): the prompt is compressed once, when it has been prefilled. The last
 * {@code window} prompt tokens (the observation window, 32 by default or {@code window} when set) vote:
 * every other prompt token is scored by the attention that the window's queries pay it (causal softmax
 * over the prompt, summed over the window's queries, averaged over the query heads of the GQA group),
 * the scores are max-pooled over neighbouring tokens (kernel {@value #POOL_KERNEL}, same padding), and
 * the best budget - window tokens are kept with the window itself, per KV head. Ties go to the later token.
 *
 * <p>Decoding (our choice; the reference keeps every generated token and so grows past the budget): the
 * compressed prompt stays as it is, and the observation window and the generated tokens form one sliding
 * window holding the rest of the budget, the current token included. Each new token evicts the oldest
 * token of that window, so every step attends to at most budget tokens. A later prefill (a new chat turn)
 * compresses again what is kept at that point, the previous window and generated tokens included,
 * pooling over the kept tokens in order. Evicted tokens never come back. {@code sink} is ignored.
 */
public final class SnapKVPolicy implements KVPolicy {

    public static final int DEFAULT_WINDOW = 32;
    public static final int POOL_KERNEL = 7;

    private final PolicyConfig config;
    private final int window;

    public SnapKVPolicy(PolicyConfig config) {
        this.config = config;
        this.window = config.window() > 0 ? config.window() : DEFAULT_WINDOW;
        if (window >= config.budget()) {
            throw new IllegalArgumentException("snapkv: --kv-budget (" + config.budget() + ") must exceed the observation window ("
                    + window + (config.window() > 0 ? ", --window" : ", the default") + ")");
        }
    }

    @Override public String name() { return "snapkv"; }
    @Override public PolicyConfig config() { return config; }
    @Override public boolean evicts() { return true; }
    @Override public int prefillQueriesWanted() { return window; }

    public int window() { return window; }

    @Override
    public LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim) {
        return new Layer(heads, kvHeads, config.budget(), window);
    }

    static final class Layer implements LayerPolicy {

        private final int heads, kvHeads, group, budget, window;
        private final KeptTokens[] kept;
        private final Selection[] selections;

        Layer(int heads, int kvHeads, int budget, int window) {
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.group = heads / kvHeads;
            this.budget = budget;
            this.window = window;
            this.kept = new KeptTokens[kvHeads];
            this.selections = new Selection[kvHeads];
            for (int g = 0; g < kvHeads; g++) {
                kept[g] = new KeptTokens();
                selections[g] = new Selection();
            }
        }

        /**
         * Compresses what is kept of [0, length): the queries are those of the last queryCount positions
         * (at most the window's are used).
         */
        @Override
        public void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount) {
            int used = Math.min(queryCount, window);
            int[][] alive = new int[kvHeads][];
            int[] counts = new int[kvHeads];
            double[][] sums = new double[kvHeads][];
            for (int g = 0; g < kvHeads; g++) {
                alive[g] = kept[g].alive(length, new int[0]);
                counts[g] = kept[g].count(length);
                sums[g] = new double[counts[g]];
            }
            AttentionColumns.accumulate(kv, heads, alive, counts, queries, queryCount - used, used, length - used, sums);
            for (int g = 0; g < kvHeads; g++) {
                KeptTokens k = kept[g];
                // the observation window: the last `window` tokens, or what is left of the sliding window
                k.advanceWindow(length - window, true);
                int candidates = k.olderCount();
                double[] pooled = maxPool(sums[g], candidates, POOL_KERNEL);
                int[] ids = new int[candidates];
                for (int j = 0; j < candidates; j++) ids[j] = j;
                int n = TopTokens.keepLargest(ids, candidates, budget - window, pooled);
                int[] chosen = new int[n];
                for (int j = 0; j < n; j++) chosen[j] = alive[g][ids[j]];
                k.setOlder(chosen, n);
            }
        }

        /** out[j] = max of v[j - kernel/2 .. j + kernel/2] within [0, n). */
        static double[] maxPool(double[] v, int n, int kernel) {
            double[] out = new double[n];
            int half = kernel / 2;
            for (int j = 0; j < n; j++) {
                double m = Double.NEGATIVE_INFINITY;
                for (int i = Math.max(0, j - half); i <= Math.min(n - 1, j + half); i++) m = Math.max(m, v[i]);
                out[j] = m;
            }
            return out;
        }

        @Override
        public void select(LayerKV kv, float[] q, int length, Selection[] perHead) {
            for (int g = 0; g < kvHeads; g++) {
                KeptTokens k = kept[g];
                k.advanceWindow(length - (budget - k.olderCount()), false);
                k.select(selections[g], length);
                for (int i = 0; i < group; i++) perHead[g * group + i] = selections[g];
            }
        }

        @Override
        public void save(PolicyState state) {
            for (int g = 0; g < kvHeads; g++) kept[g].save(state.scope("head" + g));
        }

        @Override
        public void restore(LayerKV kv, PolicyState state) {
            for (int g = 0; g < kvHeads; g++) kept[g].restore(state.scope("head" + g), kv.capacity());
        }

        @Override
        public void truncate(LayerKV kv, int length) {
            for (KeptTokens k : kept) k.truncate(length);
        }

        /** The kept older (compressed) slots of KV head g, for tests. */
        int[] compressed(int g) {
            return Arrays.copyOf(kept[g].older(), kept[g].olderCount());
        }
    }
}
