package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static clusterkv.tensor.KQuants.QK_K;
import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.LONG_LE;

/**
 * Q6_K (ggml block_q6_K, 210 bytes per 256 values): ql[128] (low 4 bits), qh[64] (high 2 bits), int8
 * scales[16] (one per 16 values), fp16 d at the end. Each half h of 128 values uses ql[64h ..+64],
 * qh[32h ..+32] and scales[8h ..+8]; for l in [0, 32), with is = l / 16:
 * <pre>
 *   value 128h + l      = d * sc[is]     * ((ql[l]      &amp; 0xF) | ((qh[l] >> 0) &amp; 3) << 4) - 32)
 *   value 128h + l + 32 = d * sc[is + 2] * ((ql[l + 32] &amp; 0xF) | ((qh[l] >> 2) &amp; 3) << 4) - 32)
 *   value 128h + l + 64 = d * sc[is + 4] * ((ql[l]      >> 4)  | ((qh[l] >> 4) &amp; 3) << 4) - 32)
 *   value 128h + l + 96 = d * sc[is + 6] * ((ql[l + 32] >> 4)  | ((qh[l] >> 6) &amp; 3) << 4) - 32)
 * </pre>
 */
final class Q6_KKernel implements RowKernel {
    static final Q6_KKernel INSTANCE = new Q6_KKernel();
    static final int BLOCK_BYTES = 210;
    private static final int QH = 128;
    private static final int SCALES = 192;
    private static final int D = 208;

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        MemorySegment row = data.asSlice(offset, (long) n / QK_K * BLOCK_BYTES); // see Q8_0Kernel.dot
        // Four accumulators, rotated so that consecutive FMAs go to different ones (independent chains)
        // while the loop body holds a single call site: vector code is large in the JIT's intermediate
        // form, and a body with four calls exceeds its inlining budget (the fourth call's vectors would
        // then be boxed objects).
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int half = 0; half < n / 128; half++) {
            long block = (long) (half >> 1) * BLOCK_BYTES, h = half & 1;
            long ql = block + 64 * h, qh = block + QH + 32 * h;
            float d = Simd.half(row, block + D);
            long scales = row.get(LONG_LE, block + SCALES + 8 * h);
            int xb = xOffset + 128 * half;
            for (int l = 0; l < 32; l += L) {
                for (int k = 0; k < 4; k++) { // values 32k + l of the half: see the class comment
                    IntVector low = Simd.unsignedBytes(row, ql + 32 * (k & 1) + l).lanewise(VectorOperators.LSHR, 4 * (k >> 1)).and(0xF);
                    IntVector high = Simd.unsignedBytes(row, qh + l).lanewise(VectorOperators.LSHR, 2 * k).and(3);
                    FloatVector t = term(low.or(high.lanewise(VectorOperators.LSHL, 4)), d * scale(scales, l / 16 + 2 * k), x, xb + 32 * k + l, a3);
                    a3 = a2;
                    a2 = a1;
                    a1 = a0;
                    a0 = t;
                }
            }
        }
        return Simd.sum(a0.add(a1).add(a2.add(a3)));
    }

    /** acc + scale * (code - 32) * x[xo ..+L) for L 6-bit codes. */
    private static FloatVector term(IntVector code, float scale, float[] x, int xo, FloatVector acc) {
        return Simd.toFloat(code.sub(32)).mul(scale).fma(FloatVector.fromArray(F, x, xo), acc);
    }

    /** The signed 8-bit scale k of the 8 packed into a long. */
    private static int scale(long scales, int k) {
        return (byte) (scales >>> (8 * k));
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int b = 0; b < n / QK_K; b++, offset += BLOCK_BYTES, outOffset += QK_K) {
            float d = Simd.half(data, offset + D);
            for (int h = 0; h < 2; h++) {
                long ql = offset + 64 * h, qh = offset + QH + 32 * h;
                long scales = data.get(LONG_LE, offset + SCALES + 8 * h);
                int ob = outOffset + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    IntVector hb = Simd.unsignedBytes(data, qh + l);
                    // quarter q: the low (q < 2) or high nibbles of ql[l ..] (q even) or ql[32 + l ..], bits 2q, 2q + 1
                    // of qh on top. One call site for the four: written out, the method passed C2's
                    // NodeCountInliningCutoff, the last decode was not inlined and boxed its vector (70-86 against
                    // 21-23 ns per 64 values for Q4_K's, AVX2). The nibbles are loaded again per quarter: choosing
                    // between the two vectors loaded once was as fast alone but made a Q4_K_M prefill 10-20 % slower
                    // once C2 inlined this into the GEMM (no more collections, so not boxing; cause not found).
                    for (int q = 0; q < 4; q++) {
                        IntVector low = Simd.unsignedBytes(data, ql + 32 * (q & 1) + l).lanewise(VectorOperators.LSHR, 4 * (q >> 1)).and(0xF);
                        IntVector high = hb.lanewise(VectorOperators.LSHR, 2 * q).and(3).lanewise(VectorOperators.LSHL, 4);
                        decode(low.or(high), d * scale(scales, is + 2 * q), out, ob + 32 * q + l);
                    }
                }
            }
        }
    }

    private static void decode(IntVector code, float scale, float[] out, int at) {
        Simd.toFloat(code.sub(32)).mul(scale).intoArray(out, at);
    }

    /**
     * A simple symmetric encoder: per group of 16 the step is max|x| / 31 (codes within [-31, 31], never
     * clipped), stored as an int8 multiple (rounded up) of the fp16 unit d = largest step / 127.
     */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        float[] steps = new float[16];
        int[] codes = new int[QK_K];
        for (int b = 0; b < n / QK_K; b++, srcOffset += QK_K, offset += BLOCK_BYTES) {
            float maxStep = 0;
            for (int g = 0; g < 16; g++) {
                float amax = 0;
                for (int i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(src[srcOffset + 16 * g + i]));
                steps[g] = amax / 31;
                maxStep = Math.max(maxStep, steps[g]);
            }
            short dBits = KQuants.halfAtLeast(maxStep / 127);
            float d = Float.float16ToFloat(dBits);
            dst.set(Simd.SHORT_LE, offset + D, dBits);
            for (int g = 0; g < 16; g++) {
                int sc = d > 0 ? Math.min(127, (int) Math.ceil(steps[g] / d)) : 0;
                dst.set(ValueLayout.JAVA_BYTE, offset + SCALES + g, (byte) sc);
                float step = d * sc;
                for (int i = 0; i < 16; i++) {
                    int q = step > 0 ? Math.round(src[srcOffset + 16 * g + i] / step) : 0;
                    codes[16 * g + i] = Math.max(-32, Math.min(31, q)) + 32;
                }
            }
            for (int h = 0; h < 2; h++) {
                int[] c = new int[4];
                for (int l = 0; l < 32; l++) {
                    for (int k = 0; k < 4; k++) c[k] = codes[128 * h + 32 * k + l];
                    dst.set(ValueLayout.JAVA_BYTE, offset + 64 * h + l, (byte) ((c[0] & 0xF) | (c[2] & 0xF) << 4));
                    dst.set(ValueLayout.JAVA_BYTE, offset + 64 * h + 32 + l, (byte) ((c[1] & 0xF) | (c[3] & 0xF) << 4));
                    dst.set(ValueLayout.JAVA_BYTE, offset + QH + 32 * h + l,
                            (byte) (c[0] >> 4 | (c[1] >> 4) << 2 | (c[2] >> 4) << 4 | (c[3] >> 4) << 6));
                }
            }
        }
    }
}
