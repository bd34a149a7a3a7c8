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

    private static final String ALL = "F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q4_K|Q5_K|Q6_K";

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

    /** Q8_0, Q4_0 and Q4_1 encode bit for bit as ggml's quantize_row_*_ref. */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q8_0", "Q4_0", "Q4_1"})
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
                default -> GgmlReference.quantizeQ4_1(block);
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
                () -> RowKernels.of("blk.3.ffn_down.weight", GGMLType.Q5_0));
        assertTrue(e.getMessage().contains("blk.3.ffn_down.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("Q5_0"), e.getMessage());

        MemorySegment data = Arena.ofAuto().allocate(GGMLType.IQ2_XXS.byteSize(256));
        e = assertThrows(UnsupportedTypeException.class,
                () -> new WeightMatrix("output.weight", GGMLType.IQ2_XXS, 1, 256, data));
        assertTrue(e.getMessage().contains("output.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("IQ2_XXS"), e.getMessage());
    }
}
