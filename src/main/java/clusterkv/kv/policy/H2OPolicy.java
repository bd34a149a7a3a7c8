package clusterkv.kv.policy;

import clusterkv.kv.KVPolicy;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.PolicyState;
import clusterkv.kv.Selection;

import java.util.Arrays;

/**
 * H2O, Heavy-Hitter Oracle (Zhang et al., NeurIPS 2023): eviction by accumulated attention. Each KV head
 * keeps a recent window of the last {@code recent} tokens (the current one included) and the
 * {@code heavy} older tokens with the largest accumulated attention, heavy = budget / 2 and
 * recent = budget - heavy by default ({@code window}, when set, is the recent size). A token's score is
 * the attention it received, summed over every query so far and averaged over the query heads of the
 * group: the prefill queries' (column sums of the causal softmax, accumulated chunk by chunk in
 * {@link Layer#observePrefill}) and every decode step's (from {@link LayerPolicy#observe}).
 *
 * <p>Eviction happens as tokens are appended, before the step attends: the token that leaves the recent
 * window becomes a heavy-hitter candidate, and while there are more than {@code heavy} candidates the one
 * with the lowest score (ties: the older one) is evicted for good. So every step attends to at most
 * budget tokens, the new one included. The reference implementation evicts after the step instead,
 * attending to budget + 1 tokens.
 *
 * <p>Prefill scores need every prefill query: {@link Layer#observePrefill} accumulates each chunk of
 * queries as it is attended exactly, so no prompt-sized query buffer is kept; queries already accounted
 * for are not counted twice.
 * {@code sink} is ignored: H2O has none.
 */
public final class H2OPolicy implements KVPolicy {

    /** H2O sees prefill queries chunk by chunk through observePrefill, so it keeps none. */
    public static final int PREFILL_QUERIES = 0;

    private final PolicyConfig config;
    private final int recent;

    public H2OPolicy(PolicyConfig config) {
        this.config = config;
        if (config.window() >= config.budget()) {
            throw new IllegalArgumentException("h2o: --kv-budget (" + config.budget() + ") must exceed the recent window --window ("
                    + config.window() + ")");
        }
        this.recent = config.window() > 0 ? config.window() : config.budget() - config.budget() / 2;
    }

    @Override public String name() { return "h2o"; }
    @Override public PolicyConfig config() { return config; }
    @Override public boolean evicts() { return true; }
    @Override public int prefillQueriesWanted() { return PREFILL_QUERIES; }

    /** Tokens of the recent window (the current one included). */
    public int recent() { return recent; }

    /** Heavy-hitter tokens kept besides the window. */
    public int heavy() { return config.budget() - recent; }

    @Override
    public LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim) {
        return new Layer(heads, kvHeads, heavy(), recent);
    }

    /** One layer's kept sets and accumulated scores, per KV head. */
    static final class Layer implements LayerPolicy {

        private final int heads, kvHeads, group, heavy, recent;
        private final KeptTokens[] kept;
        /** Per KV head and slot: accumulated attention, averaged over the group. */
        private final double[][] score;
        private final Selection[] selections;
        /** Prefill queries of positions below this have been accumulated already. */
        private int scoredUpTo;
        private int[][] alive;
        private int[] slots = new int[64];

        Layer(int heads, int kvHeads, int heavy, int recent) {
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.group = heads / kvHeads;
            this.heavy = heavy;
            this.recent = recent;
            this.kept = new KeptTokens[kvHeads];
            this.score = new double[kvHeads][0];
            this.selections = new Selection[kvHeads];
            this.alive = new int[kvHeads][0];
            for (int g = 0; g < kvHeads; g++) {
                kept[g] = new KeptTokens();
                selections[g] = new Selection();
            }
        }

        @Override
        public void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount) {
            int first = Math.max(length - queryCount, scoredUpTo);
            accumulate(kv, queries, first - (length - queryCount), length - first, first);
        }

        /**
         * Accumulates the attention of a chunk of exactly attended queries ([n][heads*headDim], positions
         * p0 .. p0+n-1, their keys already in the cache) over the kept tokens. Queries of positions
         * already accounted for are skipped.
         */
        public void observePrefill(LayerKV kv, float[] q, int p0, int n) {
            int first = Math.max(p0, scoredUpTo);
            accumulate(kv, q, first - p0, p0 + n - first, first);
        }

        private void accumulate(LayerKV kv, float[] queries, int firstRow, int count, int firstPosition) {
            int length = firstPosition + count;
            ensureSlots(length, kv.cache().capacity);
            if (count <= 0) return;
            int[] counts = new int[kvHeads];
            for (int g = 0; g < kvHeads; g++) {
                alive[g] = kept[g].alive(length, alive[g]);
                counts[g] = kept[g].count(length);
            }
            double[][] sums = new double[kvHeads][];
            for (int g = 0; g < kvHeads; g++) sums[g] = new double[counts[g]];
            AttentionColumns.accumulate(kv, heads, alive, counts, queries, firstRow, count, firstPosition, sums);
            for (int g = 0; g < kvHeads; g++) {
                for (int j = 0; j < counts[g]; j++) score[g][alive[g][j]] += sums[g][j];
            }
            scoredUpTo = length;
        }

        @Override
        public void select(LayerKV kv, float[] q, int length, Selection[] perHead) {
            ensureSlots(length, kv.cache().capacity);
            for (int g = 0; g < kvHeads; g++) {
                KeptTokens k = kept[g];
                k.advanceWindow(length - recent, true);
                if (k.olderCount() > heavy) {
                    int[] older = k.older();
                    k.setOlder(older, TopTokens.keepLargest(older, k.olderCount(), heavy, score[g]));
                }
                k.select(selections[g], length);
                for (int i = 0; i < group; i++) perHead[g * group + i] = selections[g];
            }
        }

        @Override
        public boolean wantsWeights() {
            return true;
        }

        @Override
        public void observe(Selection[] perHead, float[][] weights) {
            for (int h = 0; h < heads; h++) {
                Selection sel = perHead[h];
                if (slots.length < sel.tokens()) slots = new int[Math.max(sel.tokens(), slots.length * 2)];
                sel.slots(slots);
                double[] s = score[h / group];
                float[] w = weights[h];
                for (int i = 0, n = sel.tokens(); i < n; i++) s[slots[i]] += (double) w[i] / group;
                scoredUpTo = Math.max(scoredUpTo, sel.tokens() == 0 ? 0 : slots[sel.tokens() - 1] + 1);
            }
        }

        @Override
        public void save(PolicyState state) {
            state.putInt("scored_up_to", scoredUpTo);
            for (int g = 0; g < kvHeads; g++) {
                PolicyState head = state.scope("head" + g);
                kept[g].save(head);
                head.put("score", Arrays.copyOf(score[g], Math.min(score[g].length, scoredUpTo)));
            }
        }

        @Override
        public void restore(LayerKV kv, PolicyState state) {
            scoredUpTo = state.getInt("scored_up_to", 0, kv.capacity());
            ensureSlots(scoredUpTo, kv.cache().capacity);
            for (int g = 0; g < kvHeads; g++) {
                PolicyState head = state.scope("head" + g);
                kept[g].restore(head, kv.capacity());
                double[] saved = head.doubles("score");
                if (saved.length > scoredUpTo) throw new IllegalStateException("H2O scores past the scored tokens");
                System.arraycopy(saved, 0, score[g], 0, saved.length);
            }
        }

        @Override
        public void truncate(LayerKV kv, int length) {
            for (int g = 0; g < kvHeads; g++) {
                kept[g].truncate(length);
                if (score[g].length > length) Arrays.fill(score[g], length, score[g].length, 0.0);
            }
            scoredUpTo = Math.min(scoredUpTo, length);
        }

        private void ensureSlots(int length, int capacity) {
            if (score[0].length >= length) return;
            int n = Math.max(length, Math.min(capacity, Math.max(1024, score[0].length * 2)));
            for (int g = 0; g < kvHeads; g++) score[g] = Arrays.copyOf(score[g], n);
        }

        /** The accumulated score of a slot of KV head g, for tests. */
        double score(int g, int slot) {
            return slot < score[g].length ? score[g][slot] : 0;
        }
    }
}
