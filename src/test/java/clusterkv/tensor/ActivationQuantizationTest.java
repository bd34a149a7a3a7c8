package clusterkv.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Ties and signs of the activation quantizers, on blocks built so that the scale is exactly 1: ggml's
 * quantize_row_q8_K_ref rounds with nearest_int (ties to even) after iscale = -127 / (the value of largest
 * magnitude), and the x86 quantize_row_q8_0 with _mm256_round_ps(_MM_ROUND_NEAREST) (ties to even) after
 * 127 / max|x|. Half-away rounding (C's roundf, or Math.round) would give 3, 4, -3 below.
 */
class ActivationQuantizationTest {

    @Test
    void q8KRoundsTiesToEvenWithTheSignOfTheLargestValue() {
        float[] x = new float[256];
        x[0] = -127;               // largest magnitude, negative: iscale = 1, d = 1
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        x[40] = 1;
        Q8KActivations a = Q8KActivations.of(x, 1, 256);
        assertEquals(1f, a.scales()[0]);
        assertEquals(-127, (short) a.pairs()[0]);
        assertEquals(2, a.pairs()[0] >> 16);
        assertEquals(4, (short) a.pairs()[1]);
        assertEquals(-2, a.pairs()[1] >> 16);
        assertEquals(-127 + 2 + 4 - 2, a.sums()[0]);
        assertEquals(1, a.sums()[1]);
        x[0] = 127;                // positive largest value: iscale = -1, every code flips sign, d = -1
        a = Q8KActivations.of(x, 1, 256);
        assertEquals(-1f, a.scales()[0]);
        assertEquals(-127, (short) a.pairs()[0]);
        assertEquals(-2, a.pairs()[0] >> 16);
    }

    @Test
    void q8_0RoundsTiesToEvenAndRoundsTheScaleToFp16() {
        float[] x = new float[64];
        x[0] = 127;
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        x[32] = 0.1f;              // second block: d = 0.1 / 127 rounded to fp16
        Q8Activations a = Q8Activations.of(x, 1, 64, true);
        assertEquals(1f, a.scales()[0]);
        assertEquals(2, a.codes()[1]);
        assertEquals(4, a.codes()[2]);
        assertEquals(-2, a.codes()[3]);
        assertEquals(127 + 2 + 4 - 2, a.sums()[0]);
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.1f / 127)), a.scales()[1]);
        assertEquals(127, a.codes()[32]);
        assertEquals(127 | 127 << 16, a.nibbles()[0]);        // the first column of four: its code, in both halves
        assertEquals(-66 & 0xFFFF | -66 << 16, a.nibbles()[3]); // code 3 - 16 * code 2 = -2 - 64
        assertEquals(0, a.nibbles()[4]);
    }

    /**
     * The vectorized Q8_0 quantizer against a scalar reference written here from llama.cpp's x86
     * quantize_row_q8_0 (d = max|x| / 127 as fp16, codes rint(x * 127 / max|x|)): every code, multiplier, sum and
     * scale, over blocks of several magnitudes, a zero block, halves exactly at ties, and several tokens.
     */
    @Test
    void q8_0EqualsAScalarReference() {
        java.util.Random rnd = new java.util.Random(21);
        int cols = 256, n = 3;
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.pow(10, (i / 32) % 5 - 2));
        for (int i = 64; i < 96; i++) x[i] = 0;                            // an all-zero block
        for (int i = 96; i < 127; i++) x[i] = (i % 2 == 0 ? 1 : -1) * (i - 96 + 0.5f); // ties: the block's max is 127,
        x[127] = 127;                                                                       // so x * 127 / max = x
        Q8Activations a = Q8Activations.of(x, n, cols, true);
        for (int b = 0; b < n * cols / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
            float id = amax != 0 ? 127 / amax : 0;
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(amax / 127)), a.scales()[b], "scale of block " + b);
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                short code = (short) Math.rint(x[i] * id);
                sum += code;
                assertEquals(code, a.codes()[i], "code " + i + " of " + x[i]);
                int multiplier = j % 4 == 0 ? code : code - 16 * a.codes()[i - 1];
                assertEquals(multiplier & 0xFFFF | multiplier << 16, a.nibbles()[i], "multiplier " + i);
            }
            assertEquals(sum, a.sums()[b], "sum of block " + b);
        }
    }

    /**
     * The vectorized Q8_K quantizer against a scalar reference written here from ggml's quantize_row_q8_K_ref
     * (the first value of largest magnitude m, iscale = -127 / m, codes min(127, nearest_int(iscale * x)), d =
     * 1 / iscale, sums of 32 codes): blocks of several magnitudes and both signs of m, a zero block, ties, two tokens.
     */
    @Test
    void q8KEqualsAScalarReference() {
        java.util.Random rnd = new java.util.Random(22);
        int cols = 1024, n = 2;
        float[] x = new float[n * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.pow(10, (i / 256) % 4 - 2));
        java.util.Arrays.fill(x, 256, 512, 0f);                                   // an all-zero block
        for (int i = 512; i < 768; i++) x[i] = (i % 2 == 0 ? 1 : -1) * ((i - 512) % 100 + 0.5f);
        x[700] = -127;                                                            // m = -127: iscale 1, ties at .5
        x[1100] = 80;                                                             // two values of largest magnitude:
        x[1110] = -80;                                                            // the first gives the sign
        x[1300] = Float.NaN;                                                      // skipped by the maximum, code 0
        Q8KActivations a = Q8KActivations.of(x, n, cols);
        for (int b = 0; b < n * cols / 256; b++) {
            float m = 0, amax = 0;
            for (int j = 0; j < 256; j++) {
                float v = x[b * 256 + j];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    m = v;
                }
            }
            float iscale = amax == 0 ? 0 : -127f / m;
            assertEquals(amax == 0 ? 0 : 1 / iscale, a.scales()[b], "scale of block " + b);
            int[] codes = new int[256];
            for (int j = 0; j < 256; j++) codes[j] = amax == 0 ? 0 : Math.min(127, (int) Math.rint(iscale * x[b * 256 + j]));
            for (int j = 0; j < 256; j += 2) {
                int i = b * 256 + j;
                assertEquals((codes[j] & 0xFFFF) | codes[j + 1] << 16, a.pairs()[i / 2], "pair " + i / 2 + " of " + x[i] + ", " + x[i + 1]);
            }

            for (int s = 0; s < 8; s++) {
                int sum = 0;
                for (int j = 0; j < 32; j++) sum += codes[32 * s + j];
                assertEquals(sum, a.sums()[b * 8 + s], "sum " + s + " of block " + b);
            }
        }
    }
}
