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
        final int[] rows;

        Scratch(int headDim, int maxGroup) {
            keys = new float[TILE * headDim];
            values = new float[TILE * headDim];
            scores = new float[TILE];
            max = new float[maxGroup];
            sum = new float[maxGroup];
            acc = new float[maxGroup * headDim];
            rows = new int[maxGroup];
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
        int seen = 0;
        for (int r = 0; r < sel.ranges(); r++) {
            for (int from = sel.start(r); from < sel.end(r); from += TILE) {
                int count = Math.min(TILE, sel.end(r) - from);
                kv.readKeys(kvHead, from, count, s.keys, 0);
                kv.readValues(kvHead, from, count, s.values, 0);
                for (int g = 0; g < n; g++) {
                    int qOff = heads[g] * d;
                    VectorMath.dots(q, qOff, s.keys, count, d, scale, s.scores);
                    if (weights != null) System.arraycopy(s.scores, 0, weights[heads[g]], seen, count);
                    OnlineSoftmax.accumulate(s.scores, count, s.values, d, s.max, s.sum, s.acc, g);
                }
                seen += count;
            }
        }
        for (int g = 0; g < n; g++) {
            OnlineSoftmax.finish(s.acc, s.sum, g, d, out, heads[g] * d);
            if (weights != null) normalize(weights[heads[g]], seen, s.max[g], s.sum[g]);
        }
    }

    private static void normalize(float[] w, int n, float max, float sum) {
        for (int i = 0; i < n; i++) w[i] = (float) Math.exp(w[i] - max) / sum;
    }
}
