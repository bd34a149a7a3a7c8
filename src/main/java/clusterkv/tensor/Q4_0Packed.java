package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;

/**
 * Q4_0 in the decode layout of {@link PackedRows}: 16 bytes of nibbles per block (laid out as in ggml),
 * value = scale * (nibble - 8); the -8 goes through the block sums of x as in {@link Q4_0Kernel}. No column
 * tiles: Q4_0 decode is bound by its arithmetic, not by x's place in the caches (8192-column matrices ran at
 * 15.5 GB/s, 2048-column ones at 14.2, 2 threads, same run).
 */
final class Q4_0Packed extends PackedRows {

    Q4_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(data, rowBytes, rows, cols, Q4_0Kernel.BLOCK_BYTES, 16, WHOLE_ROW);
    }

    /** Rows in pairs, for the reason given at {@link Q8_0Packed#twoRows}, then one. */
    @Override
    void dotRows(int start, int end, float[] x, int xOffset, float[] xBlockSums, float[] out, int outOffset) {
        float[] d = scaleBuffer(0), e = scaleBuffer(1);
        int r = start;
        for (; r + 2 <= end; r += 2) {
            twoRows(codes(r, 0), codes(r + 1, 0), decodeScales(r, d), decodeScales(r + 1, e), x, xOffset, xBlockSums, blocks, out, outOffset + r);
        }
        for (; r < end; r++) out[outOffset + r] = row(codes(r, 0), decodeScales(r, d), x, xOffset, xBlockSums, blocks);
    }

    /** row() for two rows, with the same arithmetic per row. */
    private static void twoRows(MemorySegment r0, MemorySegment r1, float[] d, float[] e, float[] x, int xOffset, float[] xBlockSums, int blocks, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        float offsetsA = 0, offsetsB = 0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 16) {
            int xo = xOffset + 32 * b;
            FloatVector t = Q4_0Kernel.codeDot(r0, q, x, xo).fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
            FloatVector u = Q4_0Kernel.codeDot(r1, q, x, xo).fma(FloatVector.broadcast(F, e[b]), b1);
            b1 = b0;
            b0 = u;
            offsetsA += d[b] * xBlockSums[b];
            offsetsB += e[b] * xBlockSums[b];
        }
        out[o] = Simd.sum(a0.add(a1)) - 8 * offsetsA;
        out[o + 1] = Simd.sum(b0.add(b1)) - 8 * offsetsB;
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
