package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.I;
import static clusterkv.tensor.Simd.INT_LE;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * Q5_0 (ggml block_q5_0, 22 bytes per 32 values): fp16 d, then qh[4], then qs[16] laid out as in Q4_0.
 * qh is one little-endian uint32 holding the 16s bit of each value: bit j for value j. A code is
 * nibble | bit << 4 (0..31) and value = d * (code - 16).
 *
 * <p>The dot product sums code * x per block and applies the -16 through the block's sum of x, as
 * {@link Q4_0Kernel} does with its -8.
 */
final class Q5_0Kernel implements RowKernel {
    static final Q5_0Kernel INSTANCE = new Q5_0Kernel();
    static final int QK = 32;
    static final int BLOCK_BYTES = 22;

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
        // Two accumulators alternating blocks (see Q8_0Kernel.dot); the -16 offsets are summed as d * sum(x).
        MemorySegment row = data.asSlice(offset, (long) blocks * BLOCK_BYTES); // see Q8_0Kernel.dot
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        float offsets = 0;
        long block = 0;
        for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
            float d = Simd.half(row, block);
            FloatVector t = codeDot(row, block + 6, row.get(INT_LE, block + 2), x, xOffset + b * QK)
                    .fma(FloatVector.broadcast(F, d), a1);
            a1 = a0;
            a0 = t;
            offsets += d * xBlockSums[b];
        }
        return Simd.sum(a0.add(a1)) - 16 * offsets;
    }

    /**
     * Lanes summing to code . x over one 32-value block of the Q5_0/Q5_1 layout: the 16 bytes at qs hold the
     * low four bits of values j (low nibble) and j + 16 (high nibble), qh their 16s bits (bit j for value j).
     */
    static FloatVector codeDot(MemorySegment s, long qs, int qh, float[] x, int xo) {
        FloatVector t = FloatVector.zero(F);
        for (int j = 0; j < QK / 2; j += L) {
            IntVector v = Simd.unsignedBytes(s, qs + j);
            t = Simd.toFloat(lowCodes(v, qh, j)).fma(FloatVector.fromArray(F, x, xo + j), t);
            t = Simd.toFloat(highCodes(v, qh, j)).fma(FloatVector.fromArray(F, x, xo + QK / 2 + j), t);
        }
        return t;
    }

    /** The codes of values j .. j+L of a Q5_0/Q5_1 block, from the L qs bytes at j (zero-extended) and qh. */
    static IntVector lowCodes(IntVector bytes, int qh, int j) {
        return Q4_0Kernel.lowNibbles(bytes).or(highBits(qh << 4, j));
    }

    /** The codes of values 16+j .. 16+j+L of a Q5_0/Q5_1 block, from the L qs bytes at j (zero-extended) and qh. */
    static IntVector highCodes(IntVector bytes, int qh, int j) {
        return Q4_0Kernel.highNibbles(bytes).or(highBits(qh >>> 12, j));
    }

    /**
     * Per lane, bit 4 + j + lane of {@code bits} moved to bit 4 (one variable shift): the 16s bits of values
     * j .. j+L for bits = qh << 4, of values 16+j .. 16+j+L for bits = qh >>> 12.
     */
    private static IntVector highBits(int bits, int j) {
        return IntVector.broadcast(I, bits).lanewise(VectorOperators.LSHR, IntVector.zero(I).addIndex(1).add(j)).and(0x10);
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int b = 0; b < n / QK; b++, offset += BLOCK_BYTES, outOffset += QK) {
            float d = Simd.half(data, offset);
            int qh = data.get(INT_LE, offset + 2);
            for (int j = 0; j < QK / 2; j += L) {
                IntVector v = Simd.unsignedBytes(data, offset + 6 + j);
                // (q - 16) * d as ggml computes it (a 0 code times a negative d is -0.0)
                Simd.toFloat(lowCodes(v, qh, j).sub(16)).mul(d).intoArray(out, outOffset + j);
                Simd.toFloat(highCodes(v, qh, j).sub(16)).mul(d).intoArray(out, outOffset + QK / 2 + j);
            }
        }
    }

    /**
     * ggml's quantize_row_q5_0_ref: d = (the value of largest magnitude) / -16, codes trunc(x / d + 16.5) capped
     * at 31 (x * id and + 16.5 rounded separately, as written in C; LlamaCppSyntheticTest compares the bytes with
     * llama.cpp's llama-quantize).
     */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        int[] codes = new int[QK];
        for (int b = 0; b < n / QK; b++, srcOffset += QK, offset += BLOCK_BYTES) {
            float d = QuantizeRef.largestMagnitude(src, srcOffset, QK) / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(SHORT_LE, offset, Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) codes[j] = Math.min(31, (byte) (src[srcOffset + j] * id + 16.5f));
            writeCodes(codes, dst, offset + 2);
        }
    }

    /** Writes 32 codes (0..31; only their low five bits are kept, as in ggml) as a Q5_0/Q5_1 block's qh[4] and qs[16] at qh. */
    static void writeCodes(int[] codes, MemorySegment dst, long qh) {
        int bits = 0;
        for (int j = 0; j < QK / 2; j++) {
            int lo = codes[j], hi = codes[QK / 2 + j];
            bits |= (lo >> 4 & 1) << j | (hi >> 4 & 1) << (QK / 2 + j);
            dst.set(ValueLayout.JAVA_BYTE, qh + 4 + j, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
        }
        dst.set(INT_LE, qh, bits);
    }
}
