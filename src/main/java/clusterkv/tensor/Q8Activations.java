package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Activation vectors quantized to Q8_0 blocks, the form the Q8_0 decode kernel ({@link Q8_0Packed}) reads:
 * for each token and block of 32 values, an fp16-rounded scale d and 32 integer codes with x ~ d * code.
 * This is what llama.cpp's CPU backend does to the activations before a Q8_0 dot product (its
 * {@code vec_dot_type} for Q8_0 weights is Q8_0, quantized by the x86 {@code quantize_row_q8_0}:
 * d = max|x| / 127 stored as fp16, codes rint(x * 127 / max|x|)), so that each block's dot product is an
 * exact integer sum.
 *
 * @param codes  n x cols codes in [-127, 127], as shorts because the Q8_0 kernel broadcasts them into 16-bit lanes
 * @param nibbles per code, the multiplier the Q4_0 kernel takes ({@link RowGroups#nibbleMultipliers}); null for
 *                the Q8_0 kernel, which has no use for them
 * @param scales n x (cols / 32) block scales, the fp16 values as floats
 * @param sums   n x (cols / 32) sums of a block's codes (for Q4_0's offset of -8)
 */
record Q8Activations(short[] codes, int[] nibbles, float[] scales, int[] sums, int tokens, int cols) implements RowGroups.Tokens {

    static final int QK = 32;

    /**
     * The n tokens x[0 .. n * cols), quantized. Vectorized (the scalar loop took 4.7 us per 2048 values, 0.75 ms of
     * a 1B model's decode step on the calling thread, before every matvec), with the same floats as llama.cpp's:
     * x * (127 / max|x|) rounded to nearest, ties to even. With {@code nibbles}, also the Q4_0 kernel's multipliers.
     */
    static Q8Activations of(float[] x, int n, int cols, boolean nibbles) {
        int blocks = cols / QK;
        short[] codes = new short[n * cols];
        int[] multipliers = nibbles ? new int[n * cols] : null, sums = new int[n * blocks];
        float[] scales = new float[n * blocks];
        for (int b = 0; b < n * blocks; b++) {
            int at = b * QK;
            FloatVector max = FloatVector.zero(Simd.F);
            for (int j = 0; j < QK; j += Simd.L) max = max.max(FloatVector.fromArray(Simd.F, x, at + j).abs());
            float amax = max.reduceLanes(VectorOperators.MAX);
            scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127));
            float id = amax != 0 ? 127 / amax : 0;
            IntVector sum = IntVector.zero(Simd.I);
            for (int j = 0; j < QK; j += Simd.L) {
                IntVector c = Simd.rint(FloatVector.fromArray(Simd.F, x, at + j).mul(id));
                sum = sum.add(c);
                c.convertShape(VectorOperators.I2S, Simd.S, 0).reinterpretAsShorts().intoArray(codes, at + j);
            }
            sums[b] = sum.reduceLanes(VectorOperators.ADD);
            for (int j = 0; nibbles && j < QK; j += RowGroups.S16.length()) RowGroups.nibbleMultipliers(codes, at + j, multipliers);
        }
        return new Q8Activations(codes, multipliers, scales, sums, n, cols);
    }

    /** Offset of token t's codes (and multipliers). */
    int codesAt(int t) {
        return t * cols;
    }

    /** Offset of token t's block scales (and block sums). */
    int scalesAt(int t) {
        return t * (cols / QK);
    }
}
