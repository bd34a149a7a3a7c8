package clusterkv.kv;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Causal attention of a block of query rows (the tokens of a prefill chunk times the query heads of one GQA
 * group) over one KV head, flash-attention style, with the rows in the lanes of the vectors: queries, scores,
 * softmax state and the weighted value sums are all kept transposed ([dim or key][row]), and keys and values
 * enter as broadcast scalars. Why: a prefill block has many rows per key (32 tokens x 4 heads), so every
 * product is a plain FMA over 16 rows at once, register-blocked (4 keys x 2 row vectors for q.k, 4 dims x 2
 * row vectors for the value sums), with no sum across lanes; {@link GroupTile}, built for the 4 rows of a
 * decode step, adds each key's partial sums up with permutes. One KV head, 128 rows over 8192 F16 keys, two
 * threads: see the README.
 */
final class RowBlockAttention {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Keys per tile: keys and values of a tile (2 x 64 x d floats) stay in L1/L2 while every row block uses them. */
    private static final int KEY_TILE = 64;

    private final int d, rows, padded;
    /** Queries times the softmax scale, transposed: qt[i * padded + r] = scale * q_r[i]. */
    private final float[] qt;
    /** Weighted value sums, transposed: acc[i * padded + r]. */
    private final float[] acc;
    /** Per row: running max, sum of exponentials, and the last key position it may see. */
    private final float[] max, sum, limit;
    /** Scores of a tile, then their exponentials: s[j * padded + r]. */
    private final float[] s;
    private final float[] keys, values;

    RowBlockAttention(int d, int maxRows) {
        this.d = d;
        this.rows = maxRows;
        this.padded = (maxRows + 2 * L - 1) / (2 * L) * (2 * L);
        this.qt = new float[d * padded];
        this.acc = new float[d * padded];
        this.max = new float[padded];
        this.sum = new float[padded];
        this.limit = new float[padded];
        this.s = new float[KEY_TILE * padded];
        this.keys = new float[KEY_TILE * d];
        this.values = new float[KEY_TILE * d];
    }

    int headDim() {
        return d;
    }

    int maxRows() {
        return rows;
    }

    /**
     * Attention for rows r < n: row r's query is q[qOffsets[r] ..+d), it sees keys 0 ..= lastKey[r] of KV head
     * kvHead of the layer, and its output goes to out[qOffsets[r] ..+d) (q and out are laid out alike).
     */
    void attend(KVCache cache, int layer, int kvHead, float[] q, int[] qOffsets, int[] lastKey, int n, float scale, float[] out) {
        Arrays.fill(qt, 0f);
        Arrays.fill(acc, 0f);
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        Arrays.fill(sum, 0f);
        Arrays.fill(limit, Float.MAX_VALUE); // padding rows see everything (and are discarded)
        int last = 0;
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < d; i++) qt[i * padded + r] = scale * q[qOffsets[r] + i];
            limit[r] = lastKey[r];
            last = Math.max(last, lastKey[r]);
        }
        int vectors = (n + L - 1) / L;
        int pairs = (vectors + 1) / 2;
        for (int j0 = 0; j0 <= last; j0 += KEY_TILE) {
            int tile = Math.min(KEY_TILE, last + 1 - j0);
            cache.readKeysValues(layer, kvHead, j0, tile, keys, values);
            for (int p = 0; p < pairs; p++) {
                int r0 = 2 * p * L;
                scores(r0, tile);
                softmax(r0, j0, tile);
                softmax(r0 + L, j0, tile);
                weightedSums(r0, tile);
            }
        }
        for (int r = 0; r < n; r++) {
            float inv = 1f / sum[r];
            for (int i = 0; i < d; i++) out[qOffsets[r] + i] = acc[i * padded + r] * inv;
        }
    }

    /** s[j][r0 ..+2L) = q_r . key j for the tile's keys, four keys by two row vectors per pass over the dims. */
    private void scores(int r0, int tile) {
        int j = 0;
        for (; j + 4 <= tile; j += 4) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
            int k0 = j * d, k1 = k0 + d, k2 = k1 + d, k3 = k2 + d;
            for (int i = 0, at = r0; i < d; i++, at += padded) {
                FloatVector x = FloatVector.fromArray(F, qt, at), y = FloatVector.fromArray(F, qt, at + L);
                FloatVector k = FloatVector.broadcast(F, keys[k0 + i]);
                a0 = x.fma(k, a0);
                a1 = y.fma(k, a1);
                k = FloatVector.broadcast(F, keys[k1 + i]);
                b0 = x.fma(k, b0);
                b1 = y.fma(k, b1);
                k = FloatVector.broadcast(F, keys[k2 + i]);
                c0 = x.fma(k, c0);
                c1 = y.fma(k, c1);
                k = FloatVector.broadcast(F, keys[k3 + i]);
                e0 = x.fma(k, e0);
                e1 = y.fma(k, e1);
            }
            store(j, r0, a0, a1);
            store(j + 1, r0, b0, b1);
            store(j + 2, r0, c0, c1);
            store(j + 3, r0, e0, e1);
        }
        for (; j < tile; j++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int i = 0, at = r0; i < d; i++, at += padded) {
                FloatVector k = FloatVector.broadcast(F, keys[j * d + i]);
                a0 = FloatVector.fromArray(F, qt, at).fma(k, a0);
                a1 = FloatVector.fromArray(F, qt, at + L).fma(k, a1);
            }
            store(j, r0, a0, a1);
        }
    }

    private void store(int j, int r0, FloatVector lo, FloatVector hi) {
        lo.intoArray(s, j * padded + r0);
        hi.intoArray(s, j * padded + r0 + L);
    }

    /**
     * The online softmax of rows r0 ..+L over the tile (keys j0 ..): masks keys past each row's limit, raises the
     * running max, rescales the sum and the value sums by exp(old - new max), and turns the scores into
     * exponentials.
     */
    private void softmax(int r0, int j0, int tile) {
        FloatVector lim = FloatVector.fromArray(F, limit, r0);
        FloatVector tileMax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        boolean masked = j0 + tile - 1 > lim.reduceLanes(VectorOperators.MIN);
        for (int j = 0; j < tile; j++) {
            FloatVector v = FloatVector.fromArray(F, s, j * padded + r0);
            if (masked) {
                v = v.blend(Float.NEGATIVE_INFINITY, lim.compare(VectorOperators.LT, j0 + j));
                v.intoArray(s, j * padded + r0);
            }
            tileMax = tileMax.max(v);
        }
        FloatVector old = FloatVector.fromArray(F, max, r0), now = old.max(tileMax);
        // rows that have seen no key yet keep -inf: shift by 0 there, so that exp gives 0 rather than NaN
        FloatVector shift = now.blend(0f, now.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY));
        FloatVector correction = old.sub(shift).lanewise(VectorOperators.EXP);
        FloatVector total = FloatVector.fromArray(F, sum, r0).mul(correction);
        for (int j = 0; j < tile; j++) {
            FloatVector e = FloatVector.fromArray(F, s, j * padded + r0).sub(shift).lanewise(VectorOperators.EXP);
            e.intoArray(s, j * padded + r0);
            total = total.add(e);
        }
        total.intoArray(sum, r0);
        now.intoArray(max, r0);
        for (int i = 0, at = r0; i < d; i++, at += padded) FloatVector.fromArray(F, acc, at).mul(correction).intoArray(acc, at);
    }

    /** acc[i][r0 ..+2L) += sum over the tile's keys of s[j][r] * value j [i], four dims by two row vectors at a time. */
    private void weightedSums(int r0, int tile) {
        int i = 0;
        for (; i + 4 <= d; i += 4) {
            int o0 = i * padded + r0, o1 = o0 + padded, o2 = o1 + padded, o3 = o2 + padded;
            FloatVector a0 = FloatVector.fromArray(F, acc, o0), a1 = FloatVector.fromArray(F, acc, o0 + L);
            FloatVector b0 = FloatVector.fromArray(F, acc, o1), b1 = FloatVector.fromArray(F, acc, o1 + L);
            FloatVector c0 = FloatVector.fromArray(F, acc, o2), c1 = FloatVector.fromArray(F, acc, o2 + L);
            FloatVector e0 = FloatVector.fromArray(F, acc, o3), e1 = FloatVector.fromArray(F, acc, o3 + L);
            for (int j = 0, at = r0, v = i; j < tile; j++, at += padded, v += d) {
                FloatVector x = FloatVector.fromArray(F, s, at), y = FloatVector.fromArray(F, s, at + L);
                FloatVector w = FloatVector.broadcast(F, values[v]);
                a0 = x.fma(w, a0);
                a1 = y.fma(w, a1);
                w = FloatVector.broadcast(F, values[v + 1]);
                b0 = x.fma(w, b0);
                b1 = y.fma(w, b1);
                w = FloatVector.broadcast(F, values[v + 2]);
                c0 = x.fma(w, c0);
                c1 = y.fma(w, c1);
                w = FloatVector.broadcast(F, values[v + 3]);
                e0 = x.fma(w, e0);
                e1 = y.fma(w, e1);
            }
            a0.intoArray(acc, o0);
            a1.intoArray(acc, o0 + L);
            b0.intoArray(acc, o1);
            b1.intoArray(acc, o1 + L);
            c0.intoArray(acc, o2);
            c1.intoArray(acc, o2 + L);
            e0.intoArray(acc, o3);
            e1.intoArray(acc, o3 + L);
        }
        for (; i < d; i++) {
            int o = i * padded + r0;
            FloatVector a0 = FloatVector.fromArray(F, acc, o), a1 = FloatVector.fromArray(F, acc, o + L);
            for (int j = 0, at = r0; j < tile; j++, at += padded) {
                FloatVector w = FloatVector.broadcast(F, values[j * d + i]);
                a0 = FloatVector.fromArray(F, s, at).fma(w, a0);
                a1 = FloatVector.fromArray(F, s, at + L).fma(w, a1);
            }
            a0.intoArray(acc, o);
            a1.intoArray(acc, o + L);
        }
    }
}
