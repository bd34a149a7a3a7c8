package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;

/** Q8_0 in the decode layout of {@link PackedRows}: 32 int8 codes per block, value = scale * code. */
final class Q8_0Packed extends PackedRows {

    Q8_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(data, rowBytes, rows, cols, Q8_0Kernel.BLOCK_BYTES, 32);
    }

    @Override
    void dotRows(int start, int end, float[] x, float[] xBlockSums, float[] out) {
        float[] d = scaleBuffer();
        for (int r = start; r < end; r++) out[r] = row(packed.asSlice(r * rowStride, scales), decodeScales(r, d), x, blocks);
    }

    private static float row(MemorySegment row, float[] d, float[] x, int blocks) {
        // Two accumulators alternating blocks (see Q8_0Kernel.dot).
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 32) {
            int xo = 32 * b;
            FloatVector t = Simd.signedBytes(row, q).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = Simd.signedBytes(row, q + j).fma(FloatVector.fromArray(F, x, xo + j), t);
            t = t.fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
        }
        return Simd.sum(a0.add(a1));
    }
}
