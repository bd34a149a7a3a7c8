package clusterkv.kv.policy;

import clusterkv.kv.KVPolicy;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.PolicyState;
import clusterkv.kv.Selection;
import clusterkv.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Quest (Tang et al., ICML 2024): query-aware page selection; nothing is evicted. The cache is cut into
 * pages of {@code pageSize} consecutive tokens; per page and channel the minimum and maximum of the
 * post-RoPE keys are kept (maintained as tokens are appended). A page's score for query head h is the
 * upper bound of q . k over the page, sum_i max(q_i max_i, q_i min_i). Each query head attends to its own
 * top pages, always including the current last page (which may be partial): with lastCount real tokens
 * in it, floor((budget - lastCount) / pageSize) other pages, so at most budget tokens. With
 * {@code sharedGqaSelection} the heads of a GQA group select together by their summed page scores.
 *
 * <p>Quest has no attention sink and no recent window: {@code sink} and {@code window} are ignored. The
 * budget must hold at least one page. Ties between page scores go to the later page.
 *
 * <p>With {@code estimate} E (the estimation zone, as ClusterKV's), the E pages ranked just after the chosen ones are
 * not read but estimated: each counts as pageSize tokens whose key and value are the page's mean key and mean value,
 * kept per page beside its bounds. Exact when a page's keys are all equal.
 */
public final class QuestPolicy implements KVPolicy {

    private final PolicyConfig config;

    public QuestPolicy(PolicyConfig config) {
        this.config = config;
        if (config.budget() < config.pageSize()) {
            throw new IllegalArgumentException("quest: --kv-budget (" + config.budget() + ") must be at least --page-size ("
                    + config.pageSize() + "): the current page is always attended");
        }
    }

    @Override public String name() { return "quest"; }
    @Override public PolicyConfig config() { return config; }
    @Override public boolean evicts() { return false; }

    @Override
    public LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim) {
        return new Layer(heads, kvHeads, headDim, config.pageSize(), config.budget(), config.sharedGqaSelection(), config.estimate());
    }

    /** The page index of one layer: per-page key bounds, and per-head selections. */
    static final class Layer implements LayerPolicy {

        private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
        private static final int READ_TILE = 128;

        private final int heads, kvHeads, group, d, pageSize, budget, estimate;
        private final boolean shared;
        /** Per KV head, [page][headDim]: channel-wise minimum and maximum of the page's keys. */
        private final float[][] min, max;
        /** With the estimation zone, per KV head, [page][headDim]: the mean key and the mean value of the page's tokens. */
        private final float[][] keyMean, valueMean;
        /** Tokens folded into the page bounds: slots [0, indexed). */
        private int indexed;
        private final Selection[] own;
        private final Selection all = new Selection();
        /** Per KV head scratch: page scores, page ids, keys being folded in. */
        private final double[][] scores;
        private final int[][] pages;
        /** Per KV head scratch, with the estimation zone: the pages read, of those ranked best. */
        private final int[][] chosen;
        private final float[][] keyTile, valueTile;

        Layer(int heads, int kvHeads, int headDim, int pageSize, int budget, boolean shared, int estimate) {
            this.estimate = estimate;
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.group = heads / kvHeads;
            this.d = headDim;
            this.pageSize = pageSize;
            this.budget = budget;
            this.shared = shared;
            this.min = new float[kvHeads][0];
            this.max = new float[kvHeads][0];
            this.own = new Selection[heads];
            for (int h = 0; h < heads; h++) own[h] = new Selection();
            this.scores = new double[kvHeads][0];
            this.pages = new int[kvHeads][0];
            this.chosen = new int[estimate > 0 ? kvHeads : 0][0];
            this.keyTile = new float[kvHeads][READ_TILE * headDim];
            this.valueTile = new float[estimate > 0 ? kvHeads : 0][READ_TILE * headDim];
            this.keyMean = new float[estimate > 0 ? kvHeads : 0][0];
            this.valueMean = new float[estimate > 0 ? kvHeads : 0][0];
        }

        @Override
        public void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount) {
            if (prefilledFrom < indexed) indexed = prefilledFrom / pageSize * pageSize;
            update(kv, length);
        }

        @Override
        public void select(LayerKV kv, float[] q, int length, Selection[] perHead) {
            update(kv, length);
            if (length <= budget) {
                all.clear();
                all.add(0, length);
                Arrays.fill(perHead, all);
                return;
            }
            int lastPage = (length - 1) / pageSize;
            int lastStart = lastPage * pageSize;
            int k = (budget - (length - lastStart)) / pageSize;
            Parallel.forEach(kvHeads, g -> {
                if (shared) {
                    Selection sel = own[g * group];
                    selectPages(g, q, g * group, group, lastPage, k, sel);
                    sel.add(lastStart, length);
                } else {
                    for (int i = 0; i < group; i++) {
                        Selection sel = own[g * group + i];
                        selectPages(g, q, g * group + i, 1, lastPage, k, sel);
                        sel.add(lastStart, length);
                    }
                }
            });
            for (int h = 0; h < heads; h++) perHead[h] = own[shared ? h / group * group : h];
        }

        /**
         * Clears sel and adds the k best of pages [0, pageCount) of KV head g, in page order, by the summed
         * scores of the query heads [firstHead, firstHead + count).
         */
        private void selectPages(int g, float[] q, int firstHead, int count, int pageCount, int k, Selection sel) {
            double[] s = scores[g];
            int[] ids = pages[g];
            for (int p = 0; p < pageCount; p++) {
                double score = 0;
                for (int h = firstHead; h < firstHead + count; h++) score += pageScore(q, h * d, min[g], max[g], p * d, d);
                s[p] = score;
                ids[p] = p;
            }
            int n = TopTokens.keepLargest(ids, pageCount, k + estimate, s);
            sel.clear();
            if (n > k) { // of the k + estimate best pages, the k best are read and the others estimated
                int[] best = chosen[g];
                System.arraycopy(ids, 0, best, 0, n);
                int m = TopTokens.keepLargest(best, n, k, s);
                sel.estimateFrom(keyMean[g], valueMean[g]);
                for (int i = 0, j = 0; i < n; i++) { // both in ascending page order
                    if (j < m && best[j] == ids[i]) j++;
                    else sel.addEstimate(ids[i] * d, pageSize);
                }
                System.arraycopy(best, 0, ids, 0, m);
                n = m;
            }
            for (int i = 0; i < n; i++) sel.add(ids[i] * pageSize, (ids[i] + 1) * pageSize);
        }

        /** sum_i max(q_i * max_i, q_i * min_i) over the d channels of one page. */
        static float pageScore(float[] q, int qOff, float[] min, float[] max, int off, int d) {
            int i = 0;
            FloatVector acc = FloatVector.zero(F);
            for (int upper = F.loopBound(d); i < upper; i += F.length()) {
                FloatVector qv = FloatVector.fromArray(F, q, qOff + i);
                acc = acc.add(qv.mul(FloatVector.fromArray(F, max, off + i)).max(qv.mul(FloatVector.fromArray(F, min, off + i))));
            }
            float sum = acc.reduceLanes(VectorOperators.ADD);
            for (; i < d; i++) sum += Math.max(q[qOff + i] * max[off + i], q[qOff + i] * min[off + i]);
            return sum;
        }

        /** Folds the keys of slots [indexed, length) into their pages' bounds. */
        private void update(LayerKV kv, int length) {
            if (length <= indexed) return;
            ensurePages((length + pageSize - 1) / pageSize);
            int from = indexed;
            Parallel.forEach(kvHeads, g -> {
                float[] keys = keyTile[g];
                for (int t0 = from; t0 < length; t0 += READ_TILE) {
                    int count = Math.min(READ_TILE, length - t0);
                    if (estimate > 0) kv.readKeysValues(g, t0, count, keys, valueTile[g]);
                    else kv.readKeys(g, t0, count, keys, 0);
                    for (int j = 0; j < count; j++) {
                        fold(min[g], max[g], keys, j * d, t0 + j);
                        if (estimate > 0) {
                            average(keyMean[g], keys, j * d, t0 + j);
                            average(valueMean[g], valueTile[g], j * d, t0 + j);
                        }
                    }
                }
            });
            indexed = length;
        }

        /** Folds one token's vector into its page's running mean (the page's first token starts it). */
        private void average(float[] mean, float[] x, int xOff, int slot) {
            int off = slot / pageSize * d, n = slot % pageSize + 1;
            if (n == 1) {
                System.arraycopy(x, xOff, mean, off, d);
                return;
            }
            for (int i = 0; i < d; i++) mean[off + i] += (x[xOff + i] - mean[off + i]) / n;
        }

        private void fold(float[] min, float[] max, float[] keys, int kOff, int slot) {
            int off = slot / pageSize * d;
            if (slot % pageSize == 0) {
                System.arraycopy(keys, kOff, min, off, d);
                System.arraycopy(keys, kOff, max, off, d);
                return;
            }
            for (int i = 0; i < d; i++) {
                float k = keys[kOff + i];
                if (k < min[off + i]) min[off + i] = k;
                if (k > max[off + i]) max[off + i] = k;
            }
        }

        private void ensurePages(int count) {
            if (min[0].length >= count * d) return;
            int grown = Math.max(count, min[0].length / d * 2);
            for (int g = 0; g < kvHeads; g++) {
                min[g] = Arrays.copyOf(min[g], grown * d);
                max[g] = Arrays.copyOf(max[g], grown * d);
                scores[g] = new double[grown];
                pages[g] = new int[grown];
            }
            for (int g = 0; g < keyMean.length; g++) {
                chosen[g] = new int[grown];
                keyMean[g] = Arrays.copyOf(keyMean[g], grown * d);
                valueMean[g] = Arrays.copyOf(valueMean[g], grown * d);
            }
        }

        @Override
        public void save(PolicyState state) {
            state.putInt("indexed", indexed);
            int used = Math.ceilDiv(indexed, pageSize) * d;
            for (int g = 0; g < kvHeads; g++) {
                state.put("min" + g, Arrays.copyOf(min[g], used));
                state.put("max" + g, Arrays.copyOf(max[g], used));
            }
            for (int g = 0; g < keyMean.length; g++) {
                state.put("keyMean" + g, Arrays.copyOf(keyMean[g], used));
                state.put("valueMean" + g, Arrays.copyOf(valueMean[g], used));
            }
        }

        @Override
        public void restore(LayerKV kv, PolicyState state) {
            indexed = state.getInt("indexed", 0, kv.capacity());
            ensurePages(Math.ceilDiv(indexed, pageSize));
            for (int g = 0; g < kvHeads; g++) {
                float[] lo = state.floats("min" + g), hi = state.floats("max" + g);
                if (lo.length != Math.ceilDiv(indexed, pageSize) * d || hi.length != lo.length) throw new IllegalStateException("Quest page bounds of the wrong size");
                System.arraycopy(lo, 0, min[g], 0, lo.length);
                System.arraycopy(hi, 0, max[g], 0, hi.length);
            }
            for (int g = 0; g < keyMean.length; g++) {
                float[] km = state.floats("keyMean" + g), vm = state.floats("valueMean" + g);
                if (km.length != Math.ceilDiv(indexed, pageSize) * d || vm.length != km.length) throw new IllegalStateException("Quest page means of the wrong size");
                System.arraycopy(km, 0, keyMean[g], 0, km.length);
                System.arraycopy(vm, 0, valueMean[g], 0, vm.length);
            }
        }

        @Override
        public void truncate(LayerKV kv, int length) {
            // the page holding slot `length` is rebuilt from its first token on the next update
            if (indexed > length) indexed = length / pageSize * pageSize;
        }

        /** The bounds of page p of KV head g, for tests: [0] the minimum, [1] the maximum. */
        float[][] pageBounds(int g, int p) {
            return new float[][]{Arrays.copyOfRange(min[g], p * d, (p + 1) * d), Arrays.copyOfRange(max[g], p * d, (p + 1) * d)};
        }

        /** The mean key and mean value of page p of KV head g, for tests. */
        float[][] pageMeans(int g, int p) {
            return new float[][]{Arrays.copyOfRange(keyMean[g], p * d, (p + 1) * d), Arrays.copyOfRange(valueMean[g], p * d, (p + 1) * d)};
        }

        /** The score of page p for query head h, for tests. */
        double score(float[] q, int h, int p) {
            int g = h / group;
            return pageScore(q, h * d, min[g], max[g], p * d, d);
        }
    }
}
