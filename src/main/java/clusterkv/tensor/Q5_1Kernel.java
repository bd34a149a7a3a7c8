package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.INT_LE;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * Q5_1 (ggml block_q5_1, 24 bytes per 32 values): fp16 d, fp16 m, then qh[4] and qs[16] laid out as in Q5_0;
 * value = d * code + m (code 0..31). The dot product is d * (codes . x) + m * sum(x over the block).
 */
final class Q5_1Kernel implements RowKernel {
    static final Q5_1Kernel INSTANCE = new Q5_1Kernel();
    static final int QK = 32;
    static final int BLOCK_BYTES = 24;

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
        MemorySegment row = data.asSlice(offset, (long) blocks * BLOCK_BYTES); // see Q8_0Kernel.dot
        FloatVector a0 = FloatVector.zero(F), a1 = a0; // alternating blocks, see Q8_0Kernel.dot
        float offsets = 0;
        long block = 0;
        for (int b = 0; b < blocks; b++, block += BLOCK_BYTES) {
            FloatVector t = Q5_0Kernel.codeDot(row, block + 8, row.get(INT_LE, block + 4), x, xOffset + b * QK)
                    .fma(FloatVector.broadcast(F, Simd.half(row, block)), a1);
            a1 = a0;
            a0 = t;
            offsets += Simd.half(row, block + 2) * xBlockSums[b];
        }
        return Simd.sum(a0.add(a1)) + offsets;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int b = 0; b < n / QK; b++, offset += BLOCK_BYTES, outOffset += QK) {
            FloatVector d = FloatVector.broadcast(F, Simd.half(data, offset)), m = FloatVector.broadcast(F, Simd.half(data, offset + 2));
            int qh = data.get(INT_LE, offset + 4);
            for (int j = 0; j < QK / 2; j += L) {
                IntVector v = Simd.unsignedBytes(data, offset + 8 + j);
                Simd.toFloat(Q5_0Kernel.lowCodes(v, qh, j)).fma(d, m).intoArray(out, outOffset + j);
                Simd.toFloat(Q5_0Kernel.highCodes(v, qh, j)).fma(d, m).intoArray(out, outOffset + QK / 2 + j);
            }
        }
    }

    /**
     * ggml's quantize_row_q5_1_ref: d = (max - min) / 31, m = min, codes trunc((x - min) / d + 0.5) (not capped:
     * at most 31 up to float rounding, and ggml keeps the low five bits).
     */
    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        int[] codes = new int[QK];
        for (int b = 0; b < n / QK; b++, srcOffset += QK, offset += BLOCK_BYTES) {
            float min = QuantizeRef.min(src, srcOffset, QK), max = QuantizeRef.max(src, srcOffset, QK);
            float d = (max - min) / 31;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(SHORT_LE, offset, Float.floatToFloat16(d));
            dst.set(SHORT_LE, offset + 2, Float.floatToFloat16(min));
            for (int j = 0; j < QK; j++) codes[j] = (int) ((src[srcOffset + j] - min) * id + 0.5f) & 0xFF; // C's (uint8_t)
            Q5_0Kernel.writeCodes(codes, dst, offset + 4);
        }
    }
}
