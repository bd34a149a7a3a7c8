package clusterkv.kv;

import clusterkv.tensor.Parallel;

import java.util.Arrays;

/**
 * Exact causal attention over the KV cache, tiled with a running (online) softmax: keys and
 * values are decoded one tile of positions at a time and shared by every query of the chunk and
 * every query head of the GQA group, so memory stays O(chunk x headDim) whatever the context.
 */
public final class CausalAttention {

    private static final int KEY_TILE = 128;
    /**
     * A decode step (one query) takes keys in tiles of 32: with 128, the decoded keys and values of a tile
     * (64 KB at head size 64) no longer fit in L1 beside everything else, and full attention at 32k decoded at
     * 6.4-6.6 tokens/s against 7.8-8.1 with 32 (1B shape, alternating runs); 16 and 64 were slower than 32.
     * Prefill shares each tile among 32 queries x the group and ran at the same speed with either.
     */
    private static final int DECODE_KEY_TILE = 32;
    private static final int QUERY_BLOCK = 32;

    private CausalAttention() {}

    /** Per-thread tile and softmax-state buffers, so that a decode step allocates nothing. */
    private static final class Scratch {
        float[] max = new float[0], sum = new float[0], acc = new float[0], keys = new float[0], values = new float[0];
        int[] queryOffsets = new int[0], rows = new int[0];
        final GroupTile tile = new GroupTile(KEY_TILE);

        Scratch ensure(int rows, int d, int group) {
            if (queryOffsets.length < group) {
                queryOffsets = new int[group];
                this.rows = new int[group];
            }
            if (max.length < rows || acc.length < rows * d) {
                max = new float[rows];
                sum = new float[rows];
                acc = new float[rows * d];
            }
            if (keys.length < KEY_TILE * d) {
                keys = new float[KEY_TILE * d];
                values = new float[KEY_TILE * d];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * out[t] = softmax(q[t] K^T / sqrt(d)) V over positions [0, p0 + t], for t in [0, n).
     * q and out are [n][heads * headDim]; the keys and values of positions up to p0 + n - 1 are in the cache.
     */
    public static void forward(KVCache cache, int layer, float[] q, float[] out, int p0, int n, int heads) {
        int kvHeads = cache.kvHeads;
        int queryBlocks = (n + QUERY_BLOCK - 1) / QUERY_BLOCK;
        if (cache.type == KVType.F16) roundToHalf(q, n * heads * cache.headDim);
        Parallel.forEach(kvHeads * queryBlocks, task -> {
            int kvHead = task % kvHeads;
            int t0 = (task / kvHeads) * QUERY_BLOCK;
            block(cache, layer, q, out, p0, t0, Math.min(n, t0 + QUERY_BLOCK), heads, kvHead);
        });
    }

    /**
     * With an F16 cache llama.cpp multiplies F16 keys by queries converted to F16; doing the same
     * halves our logit differences from it at long contexts (the query buffer is scratch, so in place).
     */
    static void roundToHalf(float[] q, int n) {
        for (int i = 0; i < n; i++) q[i] = Float.float16ToFloat(Float.floatToFloat16(q[i]));
    }

    private static void block(KVCache cache, int layer, float[] q, float[] out, int p0, int t0, int t1,
                              int heads, int kvHead) {
        int d = cache.headDim;
        int group = heads / cache.kvHeads;
        int queryDim = heads * d;
        float scale = (float) (1.0 / Math.sqrt(d));
        int rows = (t1 - t0) * group;
        Scratch s = SCRATCH.get().ensure(rows, d, group);
        float[] max = s.max, sum = s.sum, acc = s.acc, keys = s.keys, values = s.values;
        Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
        Arrays.fill(sum, 0, rows, 0f);
        Arrays.fill(acc, 0, rows * d, 0f);
        int lastPosition = p0 + t1 - 1;
        int keyTile = t1 - t0 == 1 ? DECODE_KEY_TILE : KEY_TILE;
        for (int j0 = 0; j0 <= lastPosition; j0 += keyTile) {
            int tile = Math.min(keyTile, lastPosition + 1 - j0);
            cache.readKeysValues(layer, kvHead, j0, tile, keys, values);
            for (int t = t0; t < t1; t++) {
                int visible = Math.min(tile, p0 + t + 1 - j0); // causal mask
                if (visible <= 0) continue;
                for (int g = 0; g < group; g++) {
                    s.queryOffsets[g] = t * queryDim + (kvHead * group + g) * d;
                    s.rows[g] = (t - t0) * group + g;
                }
                s.tile.fold(q, s.queryOffsets, s.rows, group, keys, values, visible, d, scale, max, sum, acc);
            }
        }
        for (int t = t0; t < t1; t++) {
            for (int g = 0; g < group; g++) {
                OnlineSoftmax.finish(acc, sum, (t - t0) * group + g, d, out, t * queryDim + (kvHead * group + g) * d);
            }
        }
    }

}
