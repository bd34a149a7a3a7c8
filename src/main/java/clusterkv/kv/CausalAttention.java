package clusterkv.kv;

import clusterkv.tensor.Parallel;

import java.util.Arrays;

/**
 * Exact causal attention over the KV cache, tiled with a running (online) softmax: keys and values are decoded
 * one tile of positions at a time and shared by every query of the chunk and every query head of the GQA group,
 * so memory stays O(chunk x headDim) whatever the context. A query alone (a decode step) folds its group's
 * heads four at a time ({@link GroupTile}); a block of a prefill chunk's queries runs as one block of rows
 * ({@link RowBlockAttention}).
 */
public final class CausalAttention {

    /**
     * A decode step (one query) takes keys in tiles of 32: with 128, the decoded keys and values of a tile
     * (64 KB at head size 64) no longer fit in L1 beside everything else, and full attention at 32k decoded at
     * 6.4-6.6 tokens/s against 7.8-8.1 with 32 (1B shape, alternating runs); 16 and 64 were slower than 32.
     */
    private static final int DECODE_KEY_TILE = 32;
    /** Tokens of a prefill chunk per task: times a group of 4 heads, 128 rows of {@link RowBlockAttention}. */
    private static final int QUERY_BLOCK = 32;

    private CausalAttention() {}

    /** Per-thread tile, softmax-state and row buffers, so that a decode step allocates nothing. */
    private static final class Scratch {
        float[] max = new float[0], sum = new float[0], acc = new float[0], keys = new float[0], values = new float[0];
        int[] queryOffsets = new int[0], rows = new int[0];
        final GroupTile tile = new GroupTile(DECODE_KEY_TILE);
        RowBlockAttention rowBlock;
        int[] lastKeys = new int[0];

        Scratch forQuery(int d, int group) {
            if (queryOffsets.length < group) {
                queryOffsets = new int[group];
                rows = new int[group];
            }
            if (max.length < group) {
                max = new float[group];
                sum = new float[group];
            }
            if (acc.length < group * d) acc = new float[group * d];
            if (keys.length < DECODE_KEY_TILE * d) {
                keys = new float[DECODE_KEY_TILE * d];
                values = new float[DECODE_KEY_TILE * d];
            }
            return this;
        }

        RowBlockAttention forBlock(int d, int n) {
            if (rowBlock == null || rowBlock.headDim() != d || rowBlock.maxRows() < n) rowBlock = new RowBlockAttention(d, n);
            if (queryOffsets.length < n) {
                queryOffsets = new int[n];
                rows = new int[n];
            }
            if (lastKeys.length < n) lastKeys = new int[n];
            return rowBlock;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * out[t] = softmax(q[t] K^T / sqrt(d)) V over positions [0, p0 + t], for t in [0, n).
     * q and out are [n][heads * headDim]; the keys and values of positions up to p0 + n - 1 are in the cache, and
     * the queries were prepared for it ({@link KVCache#prepareQueries}).
     */
    public static void forward(KVCache cache, int layer, float[] q, float[] out, int p0, int n, int heads) {
        int kvHeads = cache.kvHeads;
        int queryBlocks = (n + QUERY_BLOCK - 1) / QUERY_BLOCK;
        Parallel.forEach(kvHeads * queryBlocks, task -> {
            int kvHead = task % kvHeads;
            int t0 = (task / kvHeads) * QUERY_BLOCK, t1 = Math.min(n, t0 + QUERY_BLOCK);
            if (t1 - t0 == 1) query(cache, layer, q, out, p0 + t0, t0, heads, kvHead);
            else block(cache, layer, q, out, p0, t0, t1, heads, kvHead);
        });
    }

    private static float scale(int d) {
        return (float) (1.0 / Math.sqrt(d));
    }

    /** Token t (at position {@code position}) of one KV head's group over keys 0 ..= position. */
    private static void query(KVCache cache, int layer, float[] q, float[] out, int position, int t, int heads, int kvHead) {
        int d = cache.headDim, group = heads / cache.kvHeads, queryDim = heads * d;
        Scratch s = SCRATCH.get().forQuery(d, group);
        Arrays.fill(s.max, 0, group, Float.NEGATIVE_INFINITY);
        Arrays.fill(s.sum, 0, group, 0f);
        Arrays.fill(s.acc, 0, group * d, 0f);
        for (int g = 0; g < group; g++) {
            s.queryOffsets[g] = t * queryDim + (kvHead * group + g) * d;
            s.rows[g] = g;
        }
        for (int j0 = 0; j0 <= position; j0 += DECODE_KEY_TILE) {
            int tile = Math.min(DECODE_KEY_TILE, position + 1 - j0);
            cache.readKeysValues(layer, kvHead, j0, tile, s.keys, s.values);
            s.tile.fold(q, s.queryOffsets, s.rows, group, s.keys, s.values, tile, d, scale(d), s.max, s.sum, s.acc);
        }
        for (int g = 0; g < group; g++) OnlineSoftmax.finish(s.acc, s.sum, g, d, out, s.queryOffsets[g]);
    }

    /** Tokens t0 .. t1 - 1 of a chunk times one KV head's group of query heads, as one block of rows. */
    private static void block(KVCache cache, int layer, float[] q, float[] out, int p0, int t0, int t1, int heads, int kvHead) {
        int d = cache.headDim, group = heads / cache.kvHeads, queryDim = heads * d, n = (t1 - t0) * group;
        Scratch s = SCRATCH.get();
        RowBlockAttention rows = s.forBlock(d, n);
        for (int t = t0, r = 0; t < t1; t++) {
            for (int g = 0; g < group; g++, r++) {
                s.queryOffsets[r] = t * queryDim + (kvHead * group + g) * d;
                s.lastKeys[r] = p0 + t; // causal: up to the token's own position
            }
        }
        rows.attend(cache, layer, kvHead, q, s.queryOffsets, s.lastKeys, n, scale(d), out);
    }
}
