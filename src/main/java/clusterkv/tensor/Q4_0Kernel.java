package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * Q4_0 (ggml block_q4_0, 18 bytes per 32 values): fp16 d, then qs[16]; byte j holds value j in its low
 * nibble and value j + 16 in its high nibble; value = d * (nibble - 8).
 *
 * <p>The dot product sums nibble * x per block and applies the -8 through the block's sum of x
 * (d * (codes . x - 8 * sum(x))), which saves two vector subtractions per block.
 */
final class Q4_0Kernel implements RowKernel {
    static final Q4_0Kernel INSTANCE = new Q4_0Kernel();
    static final int QK = 32;
    static final int BLOCK_BYTES = 18;

    @Override
    public boolean usesBlockSums() {
        return true;
    }

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        return row(data, offset, x, xOffset, RowKernel.blockSums(x, xOffset, n), n / QK);
    }

    @Override
    public void dotRows(MemorySegment data, long offset, long rowBytes, int count,
                        float[] x, int xOffset, float[] xBlockSums, int n, float[] out, int outOffset) {
        for (int i = 0; i < count; i++) out[outOffset + i] = row(data, offset + i * rowBytes, x, xOffset, xBlockSums, n / QK);
    }

    private static float row(MemorySegment data, long offset, float[] x, int xOffset, float[] xBlockSums, int blocks) {
        // Two accumulators alternating blocks (see Q8_0Kernel.dot); the -8 offsets are summed as d * sum(x).
        MemorySegment row = data.asSlice(offset, (long) blocks * BLOCK_BYTES); // see Q8_0Kernel.dot
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        float offsets = 0;
        long block = 0;
        for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
            float d = Simd.half(row, block);
            FloatVector t = codeDot(row, block + 2, x, xOffset + b * QK).fma(FloatVector.broadcast(F, d), a1);
            a1 = a0;
            a0 = t;
            offsets += d * xBlockSums[b];
        }
        return Simd.sum(a0.add(a1)) - 8 * offsets;
    }

    /**
     * Lanes summing to nibble . x over one 32-value block of the Q4_0/Q4_1 layout: the 16 bytes at qs hold
     * values j (low nibble) and j + 16 (high nibble).
     */
    static FloatVector codeDot(MemorySegment s, long qs, float[] x, int xo) {
        FloatVector t = FloatVector.zero(F);
        for (int j = 0; j < QK / 2; j += L) {
            IntVector v = Simd.unsignedBytes(s, qs + j);
            t = Simd.toFloat(lowNibbles(v)).fma(FloatVector.fromArray(F, x, xo + j), t);
            t = Simd.toFloat(highNibbles(v)).fma(FloatVector.fromArray(F, x, xo + QK / 2 + j), t);
        }
        return t;
    }

    /** The low nibbles of L zero-extended bytes (values j of a Q4_0/Q4_1 block; their low four bits in Q5_0/Q5_1). */
    static IntVector lowNibbles(IntVector bytes) {
        return bytes.and(0xF);
    }

    /** The high nibbles of L zero-extended bytes (values j + 16 of a Q4_0/Q4_1 block; their low four bits in Q5_0/Q5_1). */
    static IntVector highNibbles(IntVector bytes) {
        return bytes.lanewise(VectorOperators.LSHR, 4);
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int b = 0; b < n / QK; b++, offset += BLOCK_BYTES, outOffset += QK) {
            float d = Simd.half(data, offset);
            for (int j = 0; j < QK / 2; j += L) {
                IntVector v = Simd.unsignedBytes(data, offset + 2 + j);
                // (q - 8) * d as ggml computes it (a 0 code times a negative d is -0.0)
                Simd.toFloat(lowNibbles(v).sub(8)).mul(d).intoArray(out, outOffset + j);
                Simd.toFloat(highNibbles(v).sub(8)).mul(d).intoArray(out, outOffset + QK / 2 + j);
            }
        }
    }

    /** ggml's quantize_row_q4_0_ref: d = (the value of largest magnitude) / -8, codes trunc(x / d + 8.5) capped at 15. */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int b = 0; b < n / QK; b++, srcOffset += QK, offset += BLOCK_BYTES) {
            float d = QuantizeRef.largestMagnitude(src, srcOffset, QK) / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(SHORT_LE, offset, Float.floatToFloat16(d));
            for (int j = 0; j < QK / 2; j++) {
                int lo = Math.min(15, (byte) (src[srcOffset + j] * id + 8.5f));
                int hi = Math.min(15, (byte) (src[srcOffset + QK / 2 + j] * id + 8.5f));
                dst.set(ValueLayout.JAVA_BYTE, offset + 2 + j, (byte) (lo | hi << 4));
            }
        }
    }
}
