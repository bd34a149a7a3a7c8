package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class RowKernelsTest {

    private static final String ALL = "F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K";

    /**
     * Decoding is exact for every type: fp16 scales have 11 significant bits and codes at most 8, so
     * scale * code (and ggml's d * sc * q, at most 23 bits) is exact in float32, and the one remaining
     * step (adding the offset) rounds once, as the reference's cast to float does.
     */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void dequantizeEqualsGgml(GGMLType type) {
        Random rnd = new Random(type.ordinal());
        RowKernel kernel = RowKernels.of("t", type);
        for (int trial = 0; trial < 20; trial++) {
            int n = TestData.length(type);
            byte[] raw = TestData.randomBlocks(type, n, rnd, true);
            double[] expected = GgmlReference.dequantize(type, raw, n);
            float[] out = new float[n + 5];
            kernel.dequantize(TestData.segment(raw, 3, 0), 3, out, 2, n);
            for (int i = 0; i < n; i++) {
                float e = (float) expected[i];
                if (Float.compare(e, out[2 + i]) != 0 && !(Float.isNaN(e) && Float.isNaN(out[2 + i]))) {
                    fail(type + " value " + i + ": expected " + e + " but got " + out[2 + i]);
                }
            }
            assertEquals(0f, out[0]);
            assertEquals(0f, out[1]);
            assertEquals(0f, out[n + 2]);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void dotEqualsGgmlWithinFloatRounding(GGMLType type) {
        Random rnd = new Random(100 + type.ordinal());
        RowKernel kernel = RowKernels.of("t", type);
        for (int trial = 0; trial < 20; trial++) {
            int n = TestData.length(type) * (1 + trial % 3);
            byte[] raw = TestData.randomBlocks(type, n, rnd, false);
            float[] x = TestData.gaussian(rnd, n + 9);
            double expected = TestData.referenceDot(GgmlReference.dequantize(type, raw, n), x, 9, n);
            double tol = TestData.tolerance(GgmlReference.magnitudes(type, raw, n), x, 9, n);
            float got = kernel.dot(TestData.segment(raw, 1, 0), 1, x, 9, n);
            assertEquals(expected, got, tol, type + " n=" + n);
        }
    }

    /** dotRows with 1..9 rows (the 4-row path and its remainders), rows padded apart, odd offsets. */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void dotRowsEqualsGgmlWithinFloatRounding(GGMLType type) {
        Random rnd = new Random(200 + type.ordinal());
        RowKernel kernel = RowKernels.of("t", type);
        int n = TestData.length(type);
        long rowBytes = type.byteSize(n) + 5;
        for (int count = 1; count <= 9; count++) {
            byte[] raw = new byte[Math.toIntExact(rowBytes * count)];
            for (int r = 0; r < count; r++) {
                byte[] row = TestData.randomBlocks(type, n, rnd, false);
                System.arraycopy(row, 0, raw, Math.toIntExact(r * rowBytes), row.length);
            }
            float[] x = TestData.gaussian(rnd, n + 4);
            float[] sums = kernel.usesBlockSums() ? RowKernel.blockSums(x, 4, n) : null;
            float[] out = new float[count + 3];
            kernel.dotRows(TestData.segment(raw, 7, 0), 7, rowBytes, count, x, 4, sums, n, out, 3);
            for (int r = 0; r < count; r++) {
                byte[] row = TestData.slice(raw, r * rowBytes, type.byteSize(n));
                double expected = TestData.referenceDot(GgmlReference.dequantize(type, row, n), x, 4, n);
                double tol = TestData.tolerance(GgmlReference.magnitudes(type, row, n), x, 4, n);
                assertEquals(expected, out[3 + r], tol, type + " row " + r + " of " + count);
            }
            assertEquals(0f, out[0]);
        }
    }

    /**
     * Hand-built Q5_0 and Q5_1 blocks with known codes: qs byte j = j | (15 - j) << 4, qh with bits 0, 1, 16
     * and 30 set, so values 0, 1 (low nibbles), 16 and 30 (high nibbles) take the 16s bit.
     */
    @Test
    void q5BlocksDecodeToKnownValues() {
        int[] codes = {16, 17, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                       31, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 17, 0};
        byte[] q5_0 = new byte[22], q5_1 = new byte[24];
        GgmlReference.putF16(q5_0, 0, -0.5f);
        GgmlReference.putF16(q5_1, 0, 0.25f);
        GgmlReference.putF16(q5_1, 2, -1.5f);
        byte[] qh = {0x03, 0x00, 0x01, 0x40}; // little-endian 0x40010003
        System.arraycopy(qh, 0, q5_0, 2, 4);
        System.arraycopy(qh, 0, q5_1, 4, 4);
        for (int j = 0; j < 16; j++) {
            q5_0[6 + j] = (byte) (j | (15 - j) << 4);
            q5_1[8 + j] = (byte) (j | (15 - j) << 4);
        }
        float[] x = TestData.gaussian(new Random(7), 32);
        float[] expected0 = new float[32], expected1 = new float[32];
        double dot0 = 0, dot1 = 0;
        for (int i = 0; i < 32; i++) {
            expected0[i] = -0.5f * (codes[i] - 16);
            expected1[i] = 0.25f * codes[i] - 1.5f;
            dot0 += (double) expected0[i] * x[i];
            dot1 += (double) expected1[i] * x[i];
        }
        assertEquals(-7.5f, expected0[16]);
        assertEquals(6.25f, expected1[16]);
        float[] out = new float[32];
        RowKernel k0 = RowKernels.of("t", GGMLType.Q5_0), k1 = RowKernels.of("t", GGMLType.Q5_1);
        k0.dequantize(TestData.segment(q5_0, 0, 0), 0, out, 0, 32);
        assertArrayEquals(expected0, out);
        k1.dequantize(TestData.segment(q5_1, 0, 0), 0, out, 0, 32);
        assertArrayEquals(expected1, out);
        assertEquals(dot0, k0.dot(TestData.segment(q5_0, 0, 0), 0, x, 0, 32), 1e-5);
        assertEquals(dot1, k1.dot(TestData.segment(q5_1, 0, 0), 0, x, 0, 32), 1e-5);
        // the encoders write these blocks back bit for bit (Q5_0: d = 8 / -16 from value 31's code 0; Q5_1:
        // d = (6.25 - -1.5) / 31 and m = -1.5 from codes 31 and 0)
        MemorySegment back = Arena.ofAuto().allocate(24);
        k0.quantize(expected0, 0, 32, back, 0);
        assertArrayEquals(q5_0, back.asSlice(0, 22).toArray(ValueLayout.JAVA_BYTE));
        k1.quantize(expected1, 0, 32, back, 0);
        assertArrayEquals(q5_1, back.toArray(ValueLayout.JAVA_BYTE));
    }

    /** Each of qh's 32 bits alone is the 16s bit of exactly its own value, for both types and dot as well. */
    @Test
    void q5HighBitsMapToTheirValues() {
        float[] x = new float[32];
        for (int i = 0; i < 32; i++) x[i] = i + 1;
        for (GGMLType type : new GGMLType[] {GGMLType.Q5_0, GGMLType.Q5_1}) {
            RowKernel kernel = RowKernels.of("t", type);
            int qhAt = type == GGMLType.Q5_0 ? 2 : 4;
            for (int bit = 0; bit < 32; bit++) {
                byte[] raw = new byte[(int) type.bytesPerBlock];
                GgmlReference.putF16(raw, 0, 1f); // d = 1, m = 0, every nibble 0
                GgmlReference.putU32(raw, qhAt, 1L << bit);
                float[] out = new float[32];
                MemorySegment seg = TestData.segment(raw, 0, 0);
                kernel.dequantize(seg, 0, out, 0, 32);
                double dot = 0;
                for (int i = 0; i < 32; i++) {
                    float e = (type == GGMLType.Q5_0 ? -16 : 0) + (i == bit ? 16 : 0);
                    assertEquals(e, out[i], type + " qh bit " + bit + ", value " + i);
                    dot += e * x[i];
                }
                assertEquals(dot, kernel.dot(seg, 0, x, 0, 32), 1e-4, type + " qh bit " + bit);
            }
        }
    }

    @Test
    void blockSumsSumEach32() {
        float[] x = TestData.gaussian(new Random(1), 100);
        float[] sums = RowKernel.blockSums(x, 4, 96);
        assertEquals(3, sums.length);
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int i = 0; i < 32; i++) s += x[4 + 32 * b + i];
            assertEquals(s, sums[b], 1e-5);
        }
    }

    /** Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 encode bit for bit as ggml's quantize_row_*_ref. */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void quantizeEqualsGgmlReference(GGMLType type) {
        Random rnd = new Random(300 + type.ordinal());
        RowKernel kernel = RowKernels.of("t", type);
        for (int trial = 0; trial < 50; trial++) {
            int n = 32 * (1 + rnd.nextInt(12));
            float[] x = new float[n + 1];
            double scale = Math.exp(rnd.nextDouble(-8, 4));
            for (int i = 1; i <= n; i++) {
                x[i] = switch (trial % 4) {
                    case 0 -> (float) (rnd.nextGaussian() * scale);
                    case 1 -> rnd.nextInt(-8, 8) * 0.25f; // exact halfway cases
                    case 2 -> (float) (rnd.nextDouble() * scale); // one-signed
                    default -> i % 37 == 0 ? (float) scale : 0f; // mostly zeros, all-zero blocks
                };
            }
            float[] block = java.util.Arrays.copyOfRange(x, 1, n + 1);
            byte[] expected = switch (type) {
                case Q8_0 -> GgmlReference.quantizeQ8_0(block);
                case Q4_0 -> GgmlReference.quantizeQ4_0(block);
                case Q4_1 -> GgmlReference.quantizeQ4_1(block);
                case Q5_0 -> GgmlReference.quantizeQ5_0(block);
                default -> GgmlReference.quantizeQ5_1(block);
            };
            MemorySegment dst = Arena.ofAuto().allocate(expected.length + 2);
            kernel.quantize(x, 1, n, dst, 1);
            assertArrayEquals(expected, dst.asSlice(1, expected.length).toArray(ValueLayout.JAVA_BYTE), type + " trial " + trial);
        }
    }

    /**
     * quantize then dequantize stays within each encoder's error bound (all of them derived from the
     * encoding, not fitted): see the comments per type.
     */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void quantizeRoundTripIsClose(GGMLType type) {
        Random rnd = new Random(400 + type.ordinal());
        RowKernel kernel = RowKernels.of("t", type);
        int block = Math.max(type.blockSize, 32);
        for (int trial = 0; trial < 30; trial++) {
            int n = block * (1 + trial % 4);
            float[] x = new float[n];
            double scale = Math.exp(rnd.nextDouble(-1, 3)), shift = trial % 3 == 0 ? rnd.nextGaussian() * scale : 0;
            for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * scale * (i % 64 < 32 ? 1 : 0.1) + shift);
            MemorySegment seg = Arena.ofAuto().allocate(type.byteSize(n));
            kernel.quantize(x, 0, n, seg, 0);
            float[] y = new float[n];
            kernel.dequantize(seg, 0, y, 0, n);
            for (int b = 0; b < n; b += block) {
                double bound = errorBound(type, x, b, block);
                for (int i = b; i < b + block; i++) {
                    double err = Math.abs(x[i] - y[i]);
                    if (!(err <= bound)) fail(type + " value " + i + ": " + x[i] + " came back as " + y[i] + ", bound " + bound);
                }
            }
        }
    }

    private static double errorBound(GGMLType type, float[] x, int from, int length) {
        double amax = 0, max = Double.NEGATIVE_INFINITY, min = Double.POSITIVE_INFINITY;
        for (int i = from; i < from + length; i++) {
            amax = Math.max(amax, Math.abs(x[i]));
            max = Math.max(max, x[i]);
            min = Math.min(min, x[i]);
        }
        double tiny = 1e-30;
        return switch (type) {
            // the value's own rounding: half an ulp of float, fp16, bf16
            case F32 -> 0;
            case F16 -> amax * 0x1p-11 + 0x1p-25;
            case BF16 -> amax * 0x1p-8 + tiny;
            // half a step d = amax/127, plus up to 127 * (d's rounding to fp16, 2^-11 relative)
            case Q8_0 -> (amax / 127) * (0.5 + 127 * 0x1p-11) * 1.001 + tiny;
            // codes -8..7 around d = -max/8: the side opposite max clips at 7, a full step away (d * (1 + fp16 rounding))
            case Q4_0 -> (amax / 8) * (1 + 16 * 0x1p-11) + tiny;
            // half a step d = (max-min)/15, plus fp16 rounding of d (times 15) and of m
            case Q4_1 -> ((max - min) / 15 * (0.5 + 15 * 0x1p-11) + Math.abs(min) * 0x1p-11) * 1.001 + tiny;
            // as Q4_0 and Q4_1 with one more bit: codes -16..15 around d = -max/16, or 0..31 steps of (max-min)/31
            case Q5_0 -> (amax / 16) * (1 + 32 * 0x1p-11) + tiny;
            case Q5_1 -> ((max - min) / 31 * (0.5 + 31 * 0x1p-11) + Math.abs(min) * 0x1p-11) * 1.001 + tiny;
            // K-quants: half a step; the sub-block step covers max + min-shift in nmax steps, and the 6-bit
            // multiples of d and dmin, rounded up, add at most 1/63 of the largest (plus fp16 ulps)
            case Q4_K, Q5_K -> {
                int nmax = type == GGMLType.Q4_K ? 15 : 31;
                double low = Math.max(0, -min), high = Math.max(0, max);
                double step = (high + low * (1 + 1.01 / 63)) / nmax;
                yield 0.5 * step * (1 + 1.01 / 63) * 1.001 + 1e-6 * (high + low) + tiny;
            }
            // Q6_K: step max|x|/31 per 16 values, an int8 multiple (rounded up) of d = largest step / 127
            case Q6_K -> 0.5 * (amax / 31) * (1 + 1.01 / 127) * 1.001 + tiny;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    @Test
    void f16AndBf16QuantizeRoundToNearestEven() {
        Random rnd = new Random(5);
        int n = 1000;
        float[] x = TestData.gaussian(rnd, n);
        x[0] = 1 + 0x1p-8f;       // bf16 tie -> even (1.0)
        x[1] = 1 + 3 * 0x1p-8f;   // bf16 tie -> even (1 + 2^-6)
        x[2] = Float.NaN;
        MemorySegment f16 = Arena.ofAuto().allocate(2L * n), bf16 = Arena.ofAuto().allocate(2L * n);
        RowKernels.of("t", GGMLType.F16).quantize(x, 0, n, f16, 0);
        RowKernels.of("t", GGMLType.BF16).quantize(x, 0, n, bf16, 0);
        ValueLayout.OfShort le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) assertEquals(Float.floatToFloat16(x[i]), f16.get(le, 2L * i));
        assertEquals(1.0f, Float.intBitsToFloat(bf16.get(le, 0) << 16));
        assertEquals(1 + 0x1p-6f, Float.intBitsToFloat(bf16.get(le, 2) << 16));
        assertTrue(Float.isNaN(Float.intBitsToFloat(bf16.get(le, 4) << 16)));
        for (int i = 3; i < n; i++) {
            float got = Float.intBitsToFloat(bf16.get(le, 2L * i) << 16);
            int truncated = Float.floatToRawIntBits(x[i]) & 0xFFFF0000;
            float down = Float.intBitsToFloat(truncated), up = Float.intBitsToFloat(truncated + 0x10000);
            float nearest = Math.abs(x[i] - down) < Math.abs(up - x[i]) ? down : up;
            assertEquals(nearest, got, "bf16 of " + x[i]);
        }
    }

    @Test
    void supportsExactlyTheImplementedTypes() {
        for (GGMLType t : GGMLType.values()) {
            boolean expected = java.util.Arrays.asList(TestData.TYPES).contains(t);
            assertEquals(expected, RowKernels.supports(t), t.toString());
        }
        assertFalse(RowKernels.supports(null));
    }

    @Test
    void unsupportedTypeNamesTensorAndType() {
        UnsupportedTypeException e = assertThrows(UnsupportedTypeException.class,
                () -> RowKernels.of("blk.3.ffn_down.weight", GGMLType.Q3_K));
        assertTrue(e.getMessage().contains("blk.3.ffn_down.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("Q3_K"), e.getMessage());

        MemorySegment data = Arena.ofAuto().allocate(GGMLType.IQ2_XXS.byteSize(256));
        e = assertThrows(UnsupportedTypeException.class,
                () -> new WeightMatrix("output.weight", GGMLType.IQ2_XXS, 1, 256, data));
        assertTrue(e.getMessage().contains("output.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("IQ2_XXS"), e.getMessage());
    }
}
