package clusterkv.kv;

import clusterkv.tensor.VectorMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Running softmax-weighted sums over tiles of scores (flash-attention style): each row keeps its
 * running max, its sum of exponentials and its weighted value sum, so attention over any number of
 * tokens needs memory for one tile only. Exponentials are vectorized: at long contexts they are a
 * large part of the attention work.
 */
final class OnlineSoftmax {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private OnlineSoftmax() {}

    /**
     * Folds {@code count} scores (overwritten with their exponentials) and the matching value rows
     * ({@code values}, [count][d]) into row {@code row} of the running state.
     */
    static void accumulate(float[] scores, int count, float[] values, int d,
                           float[] max, float[] sum, float[] acc, int row) {
        exponentiate(scores, count, d, max, sum, acc, row);
        weightedSum(scores, count, values, d, acc, row * d);
    }

    /**
     * The softmax half of {@link #accumulate}: raises row {@code row}'s running max to the tile's, rescales its sum
     * and weighted sum to the new max, overwrites the scores with their exponentials and adds them to the sum.
     */
    static void exponentiate(float[] scores, int count, int d, float[] max, float[] sum, float[] acc, int row) {
        float tileMax = max(scores, count);
        float newMax = Math.max(max[row], tileMax);
        if (newMax > max[row]) {
            float correction = (float) Math.exp(max[row] - newMax);
            sum[row] *= correction;
            scale(acc, row * d, d, correction);
            max[row] = newMax;
        }
        sum[row] += expInPlace(scores, count, newMax);
    }

    /**
     * acc[accOff ..+d) += sum over j of w[j] * values[j]. The row of acc is cut into blocks of 4 vectors that
     * stay in registers while all {@code count} value rows stream past, two rows per step into two sets of
     * accumulators (eight independent FMA chains: enough to hide the FMA latency); one axpy per value row
     * instead loaded and stored the whole acc row for every value.
     */
    static void weightedSum(float[] w, int count, float[] values, int d, float[] acc, int accOff) {
        int lanes = F.length(), block = 4 * lanes, c = 0;
        for (; c + block <= d; c += block) {
            int o = accOff + c;
            FloatVector a0 = FloatVector.fromArray(F, acc, o), a1 = FloatVector.fromArray(F, acc, o + lanes);
            FloatVector a2 = FloatVector.fromArray(F, acc, o + 2 * lanes), a3 = FloatVector.fromArray(F, acc, o + 3 * lanes);
            FloatVector b0 = FloatVector.zero(F), b1 = b0, b2 = b0, b3 = b0;
            int j = 0;
            for (; j + 2 <= count; j += 2) {
                FloatVector u = FloatVector.broadcast(F, w[j]), v = FloatVector.broadcast(F, w[j + 1]);
                int x = j * d + c, y = x + d;
                a0 = FloatVector.fromArray(F, values, x).fma(u, a0);
                a1 = FloatVector.fromArray(F, values, x + lanes).fma(u, a1);
                a2 = FloatVector.fromArray(F, values, x + 2 * lanes).fma(u, a2);
                a3 = FloatVector.fromArray(F, values, x + 3 * lanes).fma(u, a3);
                b0 = FloatVector.fromArray(F, values, y).fma(v, b0);
                b1 = FloatVector.fromArray(F, values, y + lanes).fma(v, b1);
                b2 = FloatVector.fromArray(F, values, y + 2 * lanes).fma(v, b2);
                b3 = FloatVector.fromArray(F, values, y + 3 * lanes).fma(v, b3);
            }
            if (j < count) {
                FloatVector u = FloatVector.broadcast(F, w[j]);
                int x = j * d + c;
                a0 = FloatVector.fromArray(F, values, x).fma(u, a0);
                a1 = FloatVector.fromArray(F, values, x + lanes).fma(u, a1);
                a2 = FloatVector.fromArray(F, values, x + 2 * lanes).fma(u, a2);
                a3 = FloatVector.fromArray(F, values, x + 3 * lanes).fma(u, a3);
            }
            a0.add(b0).intoArray(acc, o);
            a1.add(b1).intoArray(acc, o + lanes);
            a2.add(b2).intoArray(acc, o + 2 * lanes);
            a3.add(b3).intoArray(acc, o + 3 * lanes);
        }
        if (c < d) { // head sizes that are not a multiple of 4 vectors
            for (int j = 0; j < count; j++) VectorMath.axpy(w[j], values, j * d + c, acc, accOff + c, d - c);
        }
    }

    static float max(float[] v, int n) {
        int i = 0;
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int upper = F.loopBound(n); i < upper; i += F.length()) m = m.max(FloatVector.fromArray(F, v, i));
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) r = Math.max(r, v[i]);
        return r;
    }

    /** v[i] = exp(v[i] - shift); returns the sum. */
    static float expInPlace(float[] v, int n, float shift) {
        int i = 0;
        FloatVector s = FloatVector.zero(F);
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            FloatVector e = FloatVector.fromArray(F, v, i).sub(shift).lanewise(VectorOperators.EXP);
            e.intoArray(v, i);
            s = s.add(e);
        }
        float total = s.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            v[i] = (float) Math.exp(v[i] - shift);
            total += v[i];
        }
        return total;
    }

    private static void scale(float[] v, int off, int n, float factor) {
        for (int i = 0; i < n; i++) v[off + i] *= factor;
    }

    /** Writes acc[row] / sum[row] into out[outOffset ..]. */
    static void finish(float[] acc, float[] sum, int row, int d, float[] out, int outOffset) {
        float inv = 1f / sum[row];
        for (int i = 0; i < d; i++) out[outOffset + i] = acc[row * d + i] * inv;
    }
}
