package clusterkv.tensor;

import java.util.Arrays;

import static clusterkv.tensor.KQuants.QK_K;

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

    /** The n tokens x[0 .. n * cols), quantized. */
    static Q8KActivations of(float[] x, int n, int cols) {
        int[] pairs = new int[n * cols / 2];
        float[] scales = new float[n * cols / QK_K];
        int[] sums = new int[n * cols / 32];
        int[] codes = new int[QK_K];
        for (int b = 0; b < scales.length; b++) {
            int at = b * QK_K;
            float max = 0, amax = 0;
            for (int j = 0; j < QK_K; j++) {
                float ax = Math.abs(x[at + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[at + j];
                }
            }
            if (amax == 0) {
                Arrays.fill(codes, 0);
                scales[b] = 0;
            } else {
                float iscale = -127f / max;
                for (int j = 0; j < QK_K; j++) codes[j] = Math.min(127, (int) Math.rint(iscale * x[at + j]));
                scales[b] = 1 / iscale;
            }
            for (int j = 0; j < QK_K; j += 2) pairs[(at + j) / 2] = (codes[j] & 0xFFFF) | codes[j + 1] << 16;
            for (int s = 0; s < QK_K / 32; s++) {
                int sum = 0;
                for (int j = 0; j < 32; j++) sum += codes[32 * s + j];
                sums[at / 32 + s] = sum;
            }
        }
        return new Q8KActivations(pairs, scales, sums, n, cols);
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
