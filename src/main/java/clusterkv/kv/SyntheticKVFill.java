package clusterkv.kv;

import clusterkv.tensor.Parallel;

import java.util.SplittableRandom;

/**
 * Fills a KV cache with generated keys and values that have the structure of real post-RoPE keys:
 * per layer and KV head, a mixture of directions (one per 80 tokens, at least 400), each key a
 * component's direction plus noise, and a few outliers. Decode speed does not depend on values, so
 * this measures 32k-128k-token decoding without running the prefill.
 */
public final class SyntheticKVFill {

    private static final double OUTLIER_RATE = 0.02;
    private static final double NOISE = 0.35;
    private static final int FILL_CHUNK = 1024;

    private SyntheticKVFill() {}

    /**
     * Writes slots [0, length) of every layer and KV head; returns components[layer][kvHead][slot], the
     * mixture component of each key (-1 for outliers).
     */
    public static int[][][] fill(KVCache cache, int length, long seed) {
        int components = Math.max(400, length / 80);
        int[][][] out = new int[cache.layers][cache.kvHeads][];
        Parallel.forEach(cache.layers * cache.kvHeads, task -> {
            int layer = task / cache.kvHeads, head = task % cache.kvHeads;
            out[layer][head] = fillHead(cache, layer, head, length, Math.min(components, length), seed * 7919 + task);
        });
        return out;
    }

    private static int[] fillHead(KVCache cache, int layer, int head, int length, int components, long seed) {
        int d = cache.headDim;
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] directions = new float[components * d];
        for (int c = 0; c < components; c++) randomDirection(rnd, directions, c * d, d, 4.0);
        int[] component = new int[length];
        float[] k = new float[FILL_CHUNK * d], v = new float[FILL_CHUNK * d];
        for (int from = 0; from < length; from += FILL_CHUNK) {
            int n = Math.min(FILL_CHUNK, length - from);
            for (int t = 0; t < n; t++) {
                boolean outlier = rnd.nextDouble() < OUTLIER_RATE;
                int c = outlier ? -1 : rnd.nextInt(components);
                component[from + t] = c;
                if (outlier) randomDirection(rnd, k, t * d, d, 8.0);
                else for (int i = 0; i < d; i++) k[t * d + i] = (float) (directions[c * d + i] + NOISE * rnd.nextGaussian());
                for (int i = 0; i < d; i++) v[t * d + i] = (float) rnd.nextGaussian();
            }
            cache.write(layer, head, from, n, k, v);
        }
        return component;
    }

    private static void randomDirection(SplittableRandom rnd, float[] dst, int off, int d, double norm) {
        double ss = 0;
        for (int i = 0; i < d; i++) {
            double x = rnd.nextGaussian();
            dst[off + i] = (float) x;
            ss += x * x;
        }
        float scale = (float) (norm / Math.sqrt(ss));
        for (int i = 0; i < d; i++) dst[off + i] *= scale;
    }
}
