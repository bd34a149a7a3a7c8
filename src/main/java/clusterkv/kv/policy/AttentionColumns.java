package clusterkv.kv.policy;

import clusterkv.kv.LayerKV;
import clusterkv.tensor.Parallel;
import clusterkv.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The attention that a run of prefill queries paid to the kept tokens, per KV head: for each query (at
 * position p, post-RoPE) and each query head of the KV head's group, softmax(q . k / sqrt(d)) over the
 * kept slots up to p (causal), averaged over the group and summed over the queries. H2O's accumulated
 * scores and SnapKV's observation-window votes are both such column sums.
 *
 * <p>Work is split over (KV head, block of queries); each block computes its rows' scores against the
 * visible keys, read tile by tile, so memory stays O(block x kept tokens) whatever the context.
 */
final class AttentionColumns {

    private static final int QUERY_BLOCK = 16;
    private static final int KEY_TILE = 128;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private AttentionColumns() {}

    /**
     * For every KV head g, adds into {@code out[g][j]} the group-averaged attention column sum of slot
     * {@code slots[g][j]}, j in [0, counts[g]) (slots ascending), from the queries of positions
     * firstPosition .. firstPosition + queryCount - 1, stored at rows firstRow .. of {@code queries}
     * ([row][heads * headDim]).
     */
    static void accumulate(LayerKV kv, int heads, int[][] slots, int[] counts, float[] queries, int firstRow,
                           int queryCount, int firstPosition, double[][] out) {
        int kvHeads = kv.kvHeads();
        if (queryCount <= 0) return;
        int blocks = (queryCount + QUERY_BLOCK - 1) / QUERY_BLOCK;
        double[][] partial = new double[kvHeads * blocks][];
        Parallel.forEach(kvHeads * blocks, task -> {
            int g = task / blocks;
            int t0 = (task % blocks) * QUERY_BLOCK;
            int t1 = Math.min(queryCount, t0 + QUERY_BLOCK);
            partial[task] = block(kv, g, heads, slots[g], counts[g], queries, firstRow, t0, t1, firstPosition);
        });
        for (int task = 0; task < partial.length; task++) {
            double[] p = partial[task];
            double[] o = out[task / blocks];
            for (int j = 0; j < p.length; j++) o[j] += p[j];
        }
    }

    /** Column sums of queries t0..t1 (relative rows) of KV head g over the visible prefix of its slots. */
    private static double[] block(LayerKV kv, int g, int heads, int[] slots, int n, float[] queries, int firstRow,
                                  int t0, int t1, int firstPosition) {
        int d = kv.headDim();
        int group = heads / kv.kvHeads();
        int row = heads * d;
        float scale = (float) (1.0 / Math.sqrt(d));
        int visibleMax = visible(slots, n, firstPosition + t1 - 1);
        int rows = (t1 - t0) * group;
        float[] scores = new float[rows * visibleMax];
        float[] keys = new float[KEY_TILE * d];
        for (int j0 = 0; j0 < visibleMax; ) {
            int tile = Math.min(KEY_TILE, visibleMax - j0);
            readTile(kv, g, slots, j0, tile, keys);
            for (int t = t0; t < t1; t++) {
                int visible = Math.min(tile, visible(slots, n, firstPosition + t) - j0);
                for (int i = 0; i < group; i++) {
                    int qOff = (firstRow + t) * row + (g * group + i) * d;
                    int sOff = ((t - t0) * group + i) * visibleMax + j0;
                    for (int j = 0; j < visible; j++) scores[sOff + j] = VectorMath.dot(queries, qOff, keys, j * d, d) * scale;
                }
            }
            j0 += tile;
        }
        double[] sums = new double[visibleMax];
        for (int t = t0; t < t1; t++) {
            int visible = visible(slots, n, firstPosition + t);
            for (int i = 0; i < group; i++) {
                int sOff = ((t - t0) * group + i) * visibleMax;
                double norm = 1.0 / ((double) expInPlace(scores, sOff, visible) * group);
                for (int j = 0; j < visible; j++) sums[j] += scores[sOff + j] * norm;
            }
        }
        return sums;
    }

    /** How many of the ascending slots[0..n) are at most position. */
    static int visible(int[] slots, int n, int position) {
        int lo = 0, hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (slots[mid] <= position) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** v[off + i] = exp(v[off + i] - max), i in [0, n); returns their sum. */
    private static float expInPlace(float[] v, int off, int n) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) m = m.max(FloatVector.fromArray(F, v, off + i));
        float max = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) max = Math.max(max, v[off + i]);
        FloatVector sum = FloatVector.zero(F);
        i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            FloatVector e = FloatVector.fromArray(F, v, off + i).sub(max).lanewise(VectorOperators.EXP);
            e.intoArray(v, off + i);
            sum = sum.add(e);
        }
        float total = sum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            v[off + i] = (float) Math.exp(v[off + i] - max);
            total += v[off + i];
        }
        return total;
    }

    /** Reads the keys of slots[j0 .. j0 + count) into keys ([count][headDim]), one read per run of consecutive slots. */
    private static void readTile(LayerKV kv, int g, int[] slots, int j0, int count, float[] keys) {
        int d = kv.headDim();
        for (int filled = 0; filled < count; ) {
            int start = slots[j0 + filled];
            int len = 1;
            while (filled + len < count && slots[j0 + filled + len] == start + len) len++;
            kv.readKeys(g, start, len, keys, filled * d);
            filled += len;
        }
    }
}
