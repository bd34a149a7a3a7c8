package clusterkv.tensor;

/**
 * Activation vectors quantized to Q8_0 blocks, the form the Q8_0 decode kernel ({@link Q8_0Packed}) reads:
 * for each token and block of 32 values, an fp16-rounded scale d and 32 integer codes with x ~ d * code.
 * This is what llama.cpp's CPU backend does to the activations before a Q8_0 dot product (its
 * {@code vec_dot_type} for Q8_0 weights is Q8_0, quantized by the x86 {@code quantize_row_q8_0}:
 * d = max|x| / 127 stored as fp16, codes rint(x * 127 / max|x|)), so that each block's dot product is an
 * exact integer sum.
 *
 * @param codes  n x cols codes in [-127, 127], as shorts because the Q8_0 kernel broadcasts them into 16-bit lanes
 * @param pairs  the same codes two by two, code 2i in the low and 2i + 1 in the high half of pairs[i], which
 *               the Q4_0 kernel broadcasts into 32-bit lanes
 * @param scales n x (cols / 32) block scales, the fp16 values as floats
 * @param sums   n x (cols / 32) sums of a block's codes (for Q4_0's offset of -8)
 */
record Q8Activations(short[] codes, int[] pairs, float[] scales, int[] sums, int tokens, int cols) implements RowGroups.Tokens {

    static final int QK = 32;

    /** The n tokens x[0 .. n * cols), quantized. */
    static Q8Activations of(float[] x, int n, int cols) {
        int blocks = cols / QK;
        short[] codes = new short[n * cols];
        int[] pairs = new int[n * cols / 2], sums = new int[n * blocks];
        float[] scales = new float[n * blocks];
        for (int b = 0; b < n * blocks; b++) {
            int at = b * QK;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[at + j]));
            scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127));
            float id = amax != 0 ? 127 / amax : 0;
            int sum = 0;
            for (int j = 0; j < QK; j++) {
                codes[at + j] = (short) Math.rint(x[at + j] * id);
                sum += codes[at + j];
            }
            sums[b] = sum;
            for (int j = 0; j < QK; j += 2) pairs[(at + j) / 2] = (codes[at + j] & 0xFFFF) | codes[at + j + 1] << 16;
        }
        return new Q8Activations(codes, pairs, scales, sums, n, cols);
    }

    /** Offset of token t's codes. */
    int codesAt(int t) {
        return t * cols;
    }

    /** Offset of token t's pairs. */
    int pairsAt(int t) {
        return t * cols / 2;
    }

    /** Offset of token t's block scales (and block sums). */
    int scalesAt(int t) {
        return t * (cols / QK);
    }
}
