package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;

/**
 * Q4_0 in the decode layout of {@link PackedRows}: 16 bytes of nibbles per block (laid out as in ggml),
 * value = scale * (nibble - 8); the -8 goes through the block sums of x as in {@link Q4_0Kernel}.
 */
final class Q4_0Packed extends PackedRows {

    Q4_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(data, rowBytes, rows, cols, Q4_0Kernel.BLOCK_BYTES, 16);
    }

    @Override
    void dotRows(int start, int end, float[] x, int xOffset, float[] xBlockSums, float[] out, int outOffset) {
        float[] d = scaleBuffer();
        for (int r = start; r < end; r++) out[outOffset + r] = row(packed.asSlice(r * rowStride, scales), decodeScales(r, d), x, xOffset, xBlockSums, blocks);
    }

    private static float row(MemorySegment row, float[] d, float[] x, int xOffset, float[] xBlockSums, int blocks) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0; // alternating blocks, see Q8_0Kernel.dot
        float offsets = 0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 16) {
            FloatVector t = Q4_0Kernel.codeDot(row, q, x, xOffset + 32 * b).fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
            offsets += d[b] * xBlockSums[b];
        }
        return Simd.sum(a0.add(a1)) - 8 * offsets;
    }
}
