package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static clusterkv.tensor.KQuants.QK_K;
import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.I;
import static clusterkv.tensor.Simd.L;

/**
 * Activation vectors quantized to Q8_K blocks, the form the K-quant decode kernels ({@link Q4_KPacked}, {@link Q6_KPacked}) read.
 * llama.cpp's CPU backend quantizes the activations of every K-quant dot product so (its
 * {@code quantize_row_q8_K_ref}): per block of 256 values, with m the value of largest magnitude and
 * iscale = -127 / m, codes min(127, nearest_int(iscale * x)) (ties to even) and a float scale d = 1 / iscale;
 * plus the sum of the codes
 * of every 32 values, which the formats' offsets (Q4_K's mins) multiply.
 *
 * @param pairs  the codes two by two, code 2i in the low and code 2i + 1 in the high half of pairs[i]: the
 *               kernels broadcast a pair into every 32-bit lane
 * @param scales n x (cols / 256) block scales
 * @param sums   n x (cols / 32) sums of 32 codes
 */
record Q8KActivations(int[] pairs, float[] scales, int[] sums, int tokens, int cols) implements RowGroups.Tokens {

    /**
     * The n tokens x[0 .. n * cols), quantized. Vectorized, since it runs on the calling thread before every K-quant
     * matvec: 1.2 against 3.4 us per 2048 values and 5.3 against 13.8 per 8192 for the scalar loop (best of 150,000
     * calls on one core of a Zen 3; in a decode step the scalar loop took 7-10 and 18-21).
     */
    static Q8KActivations of(float[] x, int n, int cols) {
        int[] pairs = new int[n * cols / 2];
        float[] scales = new float[n * cols / QK_K];
        int[] sums = new int[n * cols / 32];
        for (int b = 0; b < scales.length; b++) {
            int at = b * QK_K;
            float max = largest(x, at);
            float iscale = max == 0 ? 0 : -127f / max;
            scales[b] = max == 0 ? 0 : 1 / iscale;
            for (int s = 0; s < QK_K / 32; s++) sums[at / 32 + s] = quantize(x, at + 32 * s, iscale, pairs);
        }
        return new Q8KActivations(pairs, scales, sums, n, cols);
    }

    /** The first of x[at .. at + 256) of largest magnitude (NaNs ignored, as by ggml's comparisons). */
    private static float largest(float[] x, int at) {
        FloatVector m = FloatVector.zero(F);
        for (int j = 0; j < QK_K; j += L) m = m.max(FloatVector.fromArray(F, x, at + j).abs());
        float amax = m.reduceLanes(VectorOperators.MAX);
        if (Float.isNaN(amax)) return largestSkippingNaN(x, at);
        if (amax == 0) return 0;
        for (int j = 0; ; j += L) {
            int first = FloatVector.fromArray(F, x, at + j).abs().eq(amax).firstTrue();
            if (first < L) return x[at + j + first];
        }
    }

    private static float largestSkippingNaN(float[] x, int at) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; j++) {
            float ax = Math.abs(x[at + j]);
            if (ax > amax) {
                amax = ax;
                max = x[at + j];
            }
        }
        return max;
    }

    /**
     * Writes the codes min(127, nearest_int(iscale * x)) of x[at .. at + 32) two by two into pairs[at / 2 ..] and
     * returns their sum.
     */
    private static int quantize(float[] x, int at, float iscale, int[] pairs) {
        IntVector sum = IntVector.zero(I);
        for (int j = 0; j < 32; j += L) {
            IntVector c = Simd.rint(FloatVector.fromArray(F, x, at + j).mul(iscale)).min(127);
            sum = sum.add(c);
            c.convertShape(VectorOperators.I2S, Simd.S, 0).reinterpretAsInts().intoArray(pairs, (at + j) / 2);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** Offset of token t's pairs. */
    int pairsAt(int t) {
        return t * cols / 2;
    }

    /** Offset of token t's block scales. */
    int scalesAt(int t) {
        return t * cols / QK_K;
    }

    /** Offset of token t's sums of 32 codes. */
    int sumsAt(int t) {
        return t * cols / 32;
    }
}
