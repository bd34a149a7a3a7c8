package clusterkv.tensor;

/**
 * Activation vectors quantized to Q8_0 blocks, the form the Q8_0 decode kernel ({@link Q8_0Packed}) reads:
 * for each token and block of 32 values, an fp16-rounded scale d and 32 integer codes with x ~ d * code.
 * This is what llama.cpp's CPU backend does to the activations before a Q8_0 dot product (its
 * {@code vec_dot_type} for Q8_0 weights is Q8_0, quantized by the x86 {@code quantize_row_q8_0}:
 * d = max|x| / 127 stored as fp16, codes rint(x * 127 / max|x|)), so that each block's dot product is an
 * exact integer sum.
 *
 * @param codes  n x cols codes in [-127, 127], as shorts because the kernel broadcasts them into 16-bit lanes
 * @param scales n x (cols / 32) block scales, the fp16 values as floats
 */
record Q8Activations(short[] codes, float[] scales, int tokens, int cols) implements RowGroups.Tokens {

    static final int QK = 32;

    /** The n tokens x[0 .. n * cols), quantized. */
    static Q8Activations of(float[] x, int n, int cols) {
        int blocks = cols / QK;
        short[] codes = new short[n * cols];
        float[] scales = new float[n * blocks];
        for (int b = 0; b < n * blocks; b++) {
            int at = b * QK;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[at + j]));
            scales[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127));
            float id = amax != 0 ? 127 / amax : 0;
            for (int j = 0; j < QK; j++) codes[at + j] = (short) Math.rint(x[at + j] * id);
        }
        return new Q8Activations(codes, scales, n, cols);
    }

    /** Offset of token t's codes. */
    int codesAt(int t) {
        return t * cols;
    }

    /** Offset of token t's block scales. */
    int scalesAt(int t) {
        return t * (cols / QK);
    }
}
