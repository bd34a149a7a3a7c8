package clusterkv.kv;

import clusterkv.tensor.VectorMath;

import java.util.Arrays;

/**
 * Exact softmax attention of one decode query per head over a {@link Selection} of cache slots.
 * Query heads that share one Selection object (a GQA group selecting together) are processed
 * together, so each selected key and value is read and decoded once for the whole group.
 */
final class SparseAttention {

    static final int TILE = 128;

    /** Per-thread buffers: one tile of keys and values, scores, and the running softmax state of a group. */
    static final class Scratch {
        final float[] keys, values, scores, max, sum, acc;
        final int[] rows, queryOffsets;
        final GroupTile tile = new GroupTile(TILE);
        /** attendEach: range boundaries of a group, each head's ranges in slot order (start << 32 | end), cursors. */
        int[] bounds = new int[64];
        long[][] sorted;
        int[] rangeCount, cursor;

        Scratch(int headDim, int maxGroup) {
            keys = new float[TILE * headDim];
            values = new float[TILE * headDim];
            scores = new float[TILE];
            max = new float[maxGroup];
            sum = new float[maxGroup];
            acc = new float[maxGroup * headDim];
            rows = new int[maxGroup];
            queryOffsets = new int[maxGroup];
            sorted = new long[maxGroup][16];
            rangeCount = new int[maxGroup];
            cursor = new int[maxGroup];
        }
    }

    private SparseAttention() {}

    /**
     * Attention for the query heads {@code heads[0..n)} of one KV head, which all use {@code sel}.
     * q and out are [allHeads * d]; when weights != null, weights[h] receives each head's softmax
     * weights in selection order.
     */
    static void attend(LayerKV kv, int kvHead, Selection sel, int[] heads, int n, float[] q, float[] out,
                       float[][] weights, Scratch s) {
        int d = kv.headDim();
        float scale = (float) (1.0 / Math.sqrt(d));
        Arrays.fill(s.max, 0, n, Float.NEGATIVE_INFINITY);
        Arrays.fill(s.sum, 0, n, 0f);
        Arrays.fill(s.acc, 0, n * d, 0f);
        for (int g = 0; g < n; g++) {
            s.rows[g] = g;
            s.queryOffsets[g] = heads[g] * d;
        }
        int seen = 0;
        for (int r = 0; r < sel.ranges(); r++) {
            for (int from = sel.start(r); from < sel.end(r); from += TILE) {
                int count = Math.min(TILE, sel.end(r) - from);
                kv.readKeysValues(kvHead, from, count, s.keys, s.values);
                if (weights == null) {
                    s.tile.fold(q, s.queryOffsets, s.rows, n, s.keys, s.values, count, d, scale, s.max, s.sum, s.acc);
                } else { // the raw scores are kept, one head at a time
                    for (int g = 0; g < n; g++) {
                        VectorMath.dots(q, heads[g] * d, s.keys, count, d, scale, s.scores);
                        System.arraycopy(s.scores, 0, weights[heads[g]], seen, count);
                        OnlineSoftmax.accumulate(s.scores, count, s.values, d, s.max, s.sum, s.acc, g);
                    }
                }
                seen += count;
            }
        }
        if (weights == null) for (int g = 0; g < n; g++) foldEstimates(sel, q, heads[g] * d, d, scale, s, g);
        for (int g = 0; g < n; g++) {
            OnlineSoftmax.finish(s.acc, s.sum, g, d, out, heads[g] * d);
            if (weights != null) normalize(weights[heads[g]], seen, s.max[g], s.sum[g]);
        }
    }

    /**
     * Attention for the query heads {@code heads[0..n)} of one KV head, each over its own selection
     * ({@code perHead[heads[i]]}), reading and decoding every selected slot once for all of them: the slots are
     * swept in ascending order, cut at every range boundary of any of the heads, and each piece is scored for
     * the heads that selected it. Per head, the same exact softmax over the same slots as {@link #attend} (in slot
     * order rather than selection order, so equal up to the order of float additions). Heads of a GQA group
     * that choose each for itself share the sinks, the recent window and whatever clusters or pages they both
     * picked: on the 1B shape at 32k with generated keys (random queries, so little overlap) ClusterKV read 3 %
     * fewer bytes than four separate passes and Quest 15 % fewer; real heads of one group agree more.
     *
     * @return the number of slots read
     */
    static int attendEach(LayerKV kv, int kvHead, Selection[] perHead, int[] heads, int n, float[] q, float[] out, Scratch s) {
        int d = kv.headDim();
        float scale = (float) (1.0 / Math.sqrt(d));
        int m = 0;
        for (int g = 0; g < n; g++) {
            Selection sel = perHead[heads[g]];
            int r = sel.ranges();
            if (s.sorted[g].length < r) s.sorted[g] = new long[Math.max(r, 2 * s.sorted[g].length)];
            if (s.bounds.length < m + 2 * r) s.bounds = Arrays.copyOf(s.bounds, Math.max(m + 2 * r, 2 * s.bounds.length));
            for (int i = 0; i < r; i++) {
                s.sorted[g][i] = (long) sel.start(i) << 32 | sel.end(i);
                s.bounds[m++] = sel.start(i);
                s.bounds[m++] = sel.end(i);
            }
            Arrays.sort(s.sorted[g], 0, r);
            s.rangeCount[g] = r;
            s.cursor[g] = 0;
        }
        Arrays.sort(s.bounds, 0, m);
        Arrays.fill(s.max, 0, n, Float.NEGATIVE_INFINITY);
        Arrays.fill(s.sum, 0, n, 0f);
        Arrays.fill(s.acc, 0, n * d, 0f);
        int read = 0;
        for (int b = 0; b + 1 < m; b++) {
            int from = s.bounds[b], to = s.bounds[b + 1];
            if (from == to) continue;
            int covering = 0;
            for (int g = 0; g < n; g++) {
                if (covers(s, g, from)) {
                    s.queryOffsets[covering] = heads[g] * d;
                    s.rows[covering++] = g;
                }
            }
            if (covering == 0) continue;
            read += to - from;
            for (int t = from; t < to; t += TILE) {
                int count = Math.min(TILE, to - t);
                kv.readKeysValues(kvHead, t, count, s.keys, s.values);
                s.tile.fold(q, s.queryOffsets, s.rows, covering, s.keys, s.values, count, d, scale, s.max, s.sum, s.acc);
            }
        }
        for (int g = 0; g < n; g++) {
            foldEstimates(perHead[heads[g]], q, heads[g] * d, d, scale, s, g);
            OnlineSoftmax.finish(s.acc, s.sum, g, d, out, heads[g] * d);
        }
        return read;
    }

    /**
     * The selection's estimates into row g's running softmax: each is one key (the group's mean) whose score is
     * raised by ln(count), with the group's mean value, so it weighs count * exp(q.k / sqrt(d)) as its tokens would
     * if their keys were all the mean. (Not with per-token weights: the policies that ask for them make none.)
     */
    private static void foldEstimates(Selection sel, float[] q, int qOff, int d, float scale, Scratch s, int g) {
        int m = sel.estimates();
        if (m == 0) return;
        float[] keys = sel.estimateKeys(), values = sel.estimateValues();
        for (int from = 0; from < m; from += TILE) {
            int count = Math.min(TILE, m - from);
            for (int j = 0; j < count; j++) {
                s.scores[j] = scale * VectorMath.dot(q, qOff, keys, sel.estimateOffset(from + j), d) + sel.estimateLogCount(from + j);
            }
            OnlineSoftmax.exponentiate(s.scores, count, d, s.max, s.sum, s.acc, g);
            for (int j = 0; j < count; j++) VectorMath.axpy(s.scores[j], values, sel.estimateOffset(from + j), s.acc, g * d, d);
        }
    }

    /** Whether head g's selection holds slot {@code slot}; slots are asked in ascending order. */
    private static boolean covers(Scratch s, int g, int slot) {
        long[] ranges = s.sorted[g];
        int c = s.cursor[g];
        while (c < s.rangeCount[g] && (int) ranges[c] <= slot) c++; // ranges ending at or before slot are behind
        s.cursor[g] = c;
        return c < s.rangeCount[g] && (int) (ranges[c] >>> 32) <= slot;
    }

    private static void normalize(float[] w, int n, float max, float sum) {
        for (int i = 0; i < n; i++) w[i] = (float) Math.exp(w[i] - max) / sum;
    }
}
