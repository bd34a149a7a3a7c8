package clusterkv.kv;

import clusterkv.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Folds one tile of decoded keys and values into the running softmax state of several query heads that read
 * the same KV head (a GQA group), four heads at a time.
 *
 * <p>Why four together: one head alone spends, per key, four FMAs on q.k and a horizontal lane sum whose
 * shuffles (and the F16 conversion's) compete with the FMAs for the same port, then reloads every key and
 * value for the next head. Here each key and value vector is loaded once for four heads whose queries stay in
 * registers, q.k is left as one vector of partial sums per (head, key), and with 16 lanes the partial sums of a
 * vector's worth of keys are added up by a transposing tree (two-vector permutes: each level halves the partials
 * per key and packs two vectors into one), which ends with one vector of scores in key order: about 2 shuffles per
 * (head, key) instead of 4 and a scalar store; with fewer lanes by a sum across lanes per (head, key) (see
 * {@link #reduce}). One KV head's group of four on the 1B shape
 * ({@code SparseAttentionBenchmark}): see the README.
 *
 * <p>Head sizes that are not a multiple of four vectors, and the heads left over when the group is not a
 * multiple of four, go one head at a time through {@link VectorMath#dots} and {@link OnlineSoftmax#accumulate}.
 */
final class GroupTile {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** A head's dimensions are taken four vectors at a time: four heads' queries are then 16 registers. */
    private static final int CHUNK = 4 * L;
    private static final int HEADS = 4;
    /** Per level of the reduction tree (16 lanes only, see {@link #reduce}): lanes of two vectors that hold the first and the second half of each key's partial sums. */
    private static final float[][] FIRST_HALVES, SECOND_HALVES;

    static {
        int levels = Integer.numberOfTrailingZeros(L);
        FIRST_HALVES = new float[levels][L];
        SECOND_HALVES = new float[levels][L];
        for (int level = 0, partials = L; level < levels; level++, partials /= 2) {
            int half = partials / 2, keysPerVector = L / partials;
            for (int lane = 0; lane < L; lane++) {
                int key = lane / half, within = lane % half;
                // keys of the first vector, then those of the second (indexes L.. select from the second)
                int index = key < keysPerVector ? key * partials + within : L + (key - keysPerVector) * partials + within;
                FIRST_HALVES[level][lane] = index;
                SECOND_HALVES[level][lane] = index + half;
            }
        }
    }

    private final float[][] scores;
    /** Partial q.k sums of four heads for one vector's worth of keys: [head][key][lane]. */
    private final float[] partials = new float[HEADS * L * L];

    /** For tiles of at most {@code tile} keys. */
    GroupTile(int tile) {
        int padded = (tile + L - 1) / L * L; // the tree writes whole vectors of scores
        scores = new float[HEADS][padded];
    }

    /**
     * Folds keys and values [count][d] into rows {@code rows[0..n)} of max, sum and acc (acc is [row][d]), for the
     * queries at {@code q[qOffsets[i] ..+d)}; scores are {@code scale * q.k}.
     */
    void fold(float[] q, int[] qOffsets, int[] rows, int n, float[] keys, float[] values, int count, int d, float scale,
              float[] max, float[] sum, float[] acc) {
        int i = 0;
        if (d % CHUNK == 0) {
            for (; i + HEADS <= n; i += HEADS) {
                for (int j0 = 0; j0 < count; j0 += L) {
                    partialDots(q, qOffsets, i, keys, j0, Math.min(L, count - j0), d);
                    for (int h = 0; h < HEADS; h++) reduce(h, scale, scores[h], j0);
                }
                for (int h = 0; h < HEADS; h++) OnlineSoftmax.exponentiate(scores[h], count, d, max, sum, acc, rows[i + h]);
                weightedSums(count, values, d, acc, rows[i] * d, rows[i + 1] * d, rows[i + 2] * d, rows[i + 3] * d);
            }
        }
        for (; i < n; i++) {
            VectorMath.dots(q, qOffsets[i], keys, count, d, scale, scores[0]);
            OnlineSoftmax.accumulate(scores[0], count, values, d, max, sum, acc, rows[i]);
        }
    }

    /** partials[h][jj] = per-lane partial sums of q_h . key (j0 + jj), for jj < n; zeros for the rest of the vector. */
    void partialDots(float[] q, int[] qOffsets, int i, float[] keys, int j0, int n, int d) {
        int qa = qOffsets[i], qb = qOffsets[i + 1], qc = qOffsets[i + 2], qe = qOffsets[i + 3];
        int headStride = L * L;
        for (int c = 0; c < d; c += CHUNK) {
            FloatVector a0 = load(q, qa + c), a1 = load(q, qa + c + L), a2 = load(q, qa + c + 2 * L), a3 = load(q, qa + c + 3 * L);
            FloatVector b0 = load(q, qb + c), b1 = load(q, qb + c + L), b2 = load(q, qb + c + 2 * L), b3 = load(q, qb + c + 3 * L);
            FloatVector c0 = load(q, qc + c), c1 = load(q, qc + c + L), c2 = load(q, qc + c + 2 * L), c3 = load(q, qc + c + 3 * L);
            FloatVector e0 = load(q, qe + c), e1 = load(q, qe + c + L), e2 = load(q, qe + c + 2 * L), e3 = load(q, qe + c + 3 * L);
            boolean first = c == 0;
            for (int jj = 0; jj < n; jj++) {
                int k = (j0 + jj) * d + c, p = jj * L;
                FloatVector k0 = load(keys, k), k1 = load(keys, k + L), k2 = load(keys, k + 2 * L), k3 = load(keys, k + 3 * L);
                accumulate(k0, k1, k2, k3, a0, a1, a2, a3, p, first);
                accumulate(k0, k1, k2, k3, b0, b1, b2, b3, p + headStride, first);
                accumulate(k0, k1, k2, k3, c0, c1, c2, c3, p + 2 * headStride, first);
                accumulate(k0, k1, k2, k3, e0, e1, e2, e3, p + 3 * headStride, first);
            }
        }
        FloatVector zero = FloatVector.zero(F);
        for (int jj = n; jj < L; jj++) {
            for (int h = 0; h < HEADS; h++) zero.intoArray(partials, h * headStride + jj * L);
        }
    }

    private void accumulate(FloatVector k0, FloatVector k1, FloatVector k2, FloatVector k3,
                            FloatVector q0, FloatVector q1, FloatVector q2, FloatVector q3, int p, boolean first) {
        FloatVector s = first ? FloatVector.zero(F) : load(partials, p);
        k3.fma(q3, k2.fma(q2, k1.fma(q1, k0.fma(q0, s)))).intoArray(partials, p);
    }

    /**
     * Adds up head h's L x L partial sums into L scores in key order, written (times scale) at out[j0 ..+L): with 16
     * lanes by the transposing tree, with fewer by a sum across each key's lanes. Why: the tree's two-vector permute
     * ({@code selectFrom(x, y)}) is one instruction on AVX-512 (vpermt2ps); on AVX2 and at 128 bits it takes 9-56 ns
     * a call (PrintIntrinsics flags nothing), and the tree of one head and 8 keys took 43-53 ns against 9-10 for 8
     * sums across lanes (4 keys at 128 bits: 25-27 against 2.5-4; one-vector permutes and blends instead: 72-108 and
     * 42-72), AMD EPYC Zen 3. With AVX-512 the tree in registers took 2.x ns per key for four heads.
     */
    void reduce(int h, float scale, float[] out, int j0) {
        int base = h * L * L;
        if (L == 16) {
            reduce16(base, scale, out, j0);
            return;
        }
        for (int k = 0; k < L; k++) out[j0 + k] = scale * load(partials, base + k * L).reduceLanes(VectorOperators.ADD);
    }

    /**
     * The tree for 16 lanes (AVX-512) in registers: through memory, each level waited for the previous level's
     * stores (7 ns per key for four heads, against 2.x here).
     */
    private void reduce16(int base, float scale, float[] out, int j0) {
        FloatVector f0 = FloatVector.fromArray(F, FIRST_HALVES[0], 0), s0 = FloatVector.fromArray(F, SECOND_HALVES[0], 0);
        FloatVector a = pair(load(partials, base), load(partials, base + L), f0, s0);
        FloatVector b = pair(load(partials, base + 2 * L), load(partials, base + 3 * L), f0, s0);
        FloatVector c = pair(load(partials, base + 4 * L), load(partials, base + 5 * L), f0, s0);
        FloatVector e = pair(load(partials, base + 6 * L), load(partials, base + 7 * L), f0, s0);
        FloatVector g = pair(load(partials, base + 8 * L), load(partials, base + 9 * L), f0, s0);
        FloatVector i = pair(load(partials, base + 10 * L), load(partials, base + 11 * L), f0, s0);
        FloatVector k = pair(load(partials, base + 12 * L), load(partials, base + 13 * L), f0, s0);
        FloatVector m = pair(load(partials, base + 14 * L), load(partials, base + 15 * L), f0, s0);
        FloatVector f1 = FloatVector.fromArray(F, FIRST_HALVES[1], 0), s1 = FloatVector.fromArray(F, SECOND_HALVES[1], 0);
        a = pair(a, b, f1, s1);
        c = pair(c, e, f1, s1);
        g = pair(g, i, f1, s1);
        k = pair(k, m, f1, s1);
        FloatVector f2 = FloatVector.fromArray(F, FIRST_HALVES[2], 0), s2 = FloatVector.fromArray(F, SECOND_HALVES[2], 0);
        a = pair(a, c, f2, s2);
        g = pair(g, k, f2, s2);
        FloatVector f3 = FloatVector.fromArray(F, FIRST_HALVES[3], 0), s3 = FloatVector.fromArray(F, SECOND_HALVES[3], 0);
        pair(a, g, f3, s3).mul(scale).intoArray(out, j0);
    }

    /** One level of the tree: the first halves of x's and y's keys' partial sums plus their second halves. */
    private static FloatVector pair(FloatVector x, FloatVector y, FloatVector first, FloatVector second) {
        return first.selectFrom(x, y).add(second.selectFrom(x, y));
    }

    /**
     * acc rows at o0..o3 += the exponentiated scores of heads 0..3 times the value rows: eight accumulators (four
     * heads x two vectors) stay in registers while the values stream past, each value vector loaded once. Two vectors
     * per head, not four: sixteen accumulators, the values and the weight spilled on AVX2's 16 registers, and exact
     * attention over 32768 F16 positions (14 layers, the 1B shape) took 138-173 against 102-108 ms per token
     * (DecodeAttentionBench full, AMD EPYC Zen 3, alternating runs).
     */
    void weightedSums(int count, float[] values, int d, float[] acc, int o0, int o1, int o2, int o3) {
        float[] w0 = scores[0], w1 = scores[1], w2 = scores[2], w3 = scores[3];
        for (int c = 0; c < d; c += 2 * L) {
            FloatVector x0 = load(acc, o0 + c), x1 = load(acc, o0 + c + L), y0 = load(acc, o1 + c), y1 = load(acc, o1 + c + L);
            FloatVector z0 = load(acc, o2 + c), z1 = load(acc, o2 + c + L), u0 = load(acc, o3 + c), u1 = load(acc, o3 + c + L);
            for (int j = 0; j < count; j++) {
                int v = j * d + c;
                FloatVector v0 = load(values, v), v1 = load(values, v + L);
                FloatVector w = FloatVector.broadcast(F, w0[j]);
                x0 = v0.fma(w, x0); x1 = v1.fma(w, x1);
                w = FloatVector.broadcast(F, w1[j]);
                y0 = v0.fma(w, y0); y1 = v1.fma(w, y1);
                w = FloatVector.broadcast(F, w2[j]);
                z0 = v0.fma(w, z0); z1 = v1.fma(w, z1);
                w = FloatVector.broadcast(F, w3[j]);
                u0 = v0.fma(w, u0); u1 = v1.fma(w, u1);
            }
            x0.intoArray(acc, o0 + c); x1.intoArray(acc, o0 + c + L);
            y0.intoArray(acc, o1 + c); y1.intoArray(acc, o1 + c + L);
            z0.intoArray(acc, o2 + c); z1.intoArray(acc, o2 + c + L);
            u0.intoArray(acc, o3 + c); u1.intoArray(acc, o3 + c + L);
        }
    }

    private static FloatVector load(float[] a, int offset) {
        return FloatVector.fromArray(F, a, offset);
    }
}
