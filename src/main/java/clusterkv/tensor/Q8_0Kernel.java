package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * Q8_0 (ggml block_q8_0, 34 bytes per 32 values): fp16 d, then int8 qs[32]; value j = d * qs[j].
 *
 * <p>Decode reads about one byte per weight, so this kernel must keep up with memory: per block it widens
 * the int8 codes to floats, sums code * x unscaled and applies d once.
 */
final class Q8_0Kernel implements RowKernel {
    static final Q8_0Kernel INSTANCE = new Q8_0Kernel();
    static final int QK = 32;
    static final int BLOCK_BYTES = 34;

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        // The row as its own segment, indexed from 0 by a running offset: the bounds checks and address
        // arithmetic the JIT emits per access are then cheapest.
        // Two accumulators, alternating blocks: with one, every block's FMA would wait for the previous
        // block's. They swap rather than being written out twice so that the loop has a single call site:
        // vector code is large in the JIT's intermediate form, and a second copy can exceed its inlining
        // budget, after which the vectors become boxed objects (many times slower).
        MemorySegment row = data.asSlice(offset, (long) n / QK * BLOCK_BYTES);
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long block = 0;
        for (int b = 0; b < n / QK; b++, block += BLOCK_BYTES) {
            FloatVector t = scaled(row, block, x, xOffset + b * QK, a1);
            a1 = a0;
            a0 = t;
        }
        return Simd.sum(a0.add(a1));
    }

    /** acc + d * (codes . x) for the block at {@code block}. */
    private static FloatVector scaled(MemorySegment s, long block, float[] x, int xo, FloatVector acc) {
        long q = block + 2;
        FloatVector t = Simd.signedBytes(s, q).mul(FloatVector.fromArray(F, x, xo));
        for (int j = L; j < QK; j += L) t = Simd.signedBytes(s, q + j).fma(FloatVector.fromArray(F, x, xo + j), t);
        return t.fma(FloatVector.broadcast(F, Simd.half(s, block)), acc);
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int b = 0; b < n / QK; b++, offset += BLOCK_BYTES, outOffset += QK) {
            FloatVector d = FloatVector.broadcast(F, Simd.half(data, offset));
            for (int j = 0; j < QK; j += L) Simd.signedBytes(data, offset + 2 + j).mul(d).intoArray(out, outOffset + j);
        }
    }

    /** ggml's quantize_row_q8_0_ref: d = max|x| / 127, codes round(x / d) half away from zero. */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int b = 0; b < n / QK; b++, srcOffset += QK, offset += BLOCK_BYTES) {
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[srcOffset + j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(SHORT_LE, offset, Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) {
                dst.set(ValueLayout.JAVA_BYTE, offset + 2 + j, (byte) roundHalfAway(src[srcOffset + j] * id));
            }
        }
    }

    /** C's roundf: halfway cases away from zero (Math.round rounds them up). */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }
}
