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
        float tileMax = max(scores, count);
        float newMax = Math.max(max[row], tileMax);
        if (newMax > max[row]) {
            float correction = (float) Math.exp(max[row] - newMax);
            sum[row] *= correction;
            scale(acc, row * d, d, correction);
            max[row] = newMax;
        }
        sum[row] += expInPlace(scores, count, newMax);
        for (int j = 0; j < count; j++) {
            VectorMath.axpy(scores[j], values, j * d, acc, row * d, d);
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
