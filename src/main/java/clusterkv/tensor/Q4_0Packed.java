package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.I;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.LE;

/**
 * Q4_0 for decode: rows interleaved in groups of 2L (16 with AVX2), a 16-bit lane per row, and integer
 * arithmetic on activations quantized to Q8_0 ({@link Q8Activations}), as llama.cpp does: per block of 32
 * values, (codes - 8) . x codes exactly, times d * d_x.
 *
 * <p>Layout of a group, block after block: the rows' d as fp16 (16-bit lane {@link RowGroups#pairedLane}: the
 * 32-bit lane j holds row j's in its low and row L + j's in its high half), then the block's codes as
 * {@link RowGroups#nibbleDot16} reads them, in the same lanes. The same bytes as ggml's layout.
 *
 * <p>Why: the float kernel widened every 4-bit code to a float and was bound by its arithmetic; a kernel with a
 * 32-bit lane per row (split nibbles, widened bytes) took twice the instructions of this one.
 */
final class Q4_0Packed extends RowGroups<Q8Activations> {

    /** Rows per group: lanes of a 16-bit vector of the float shape. */
    static final int GROUP = 2 * L;
    /** Bytes of one block of a group: its scales, then 8 steps of codes. */
    private static final int BLOCK_BYTES = 2 * GROUP + 16 * GROUP;

    Q4_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, GROUP, (long) (cols / 32) * BLOCK_BYTES);
        packAll(data, rowBytes);
    }

    /** ggml block_q4_0 (fp16 d, 16 bytes: value j in the low nibble of byte j, value j + 16 in its high nibble) into the layout. */
    @Override
    int pack(byte[] in, int rowBytes, int present, byte[] out) {
        float max = 0;
        for (int r = 0; r < present; r++) max = Math.max(max, maxHalf(in, r * rowBytes, Q4_0Kernel.BLOCK_BYTES, blocks));
        int shift = scaleShift(max);
        for (int b = 0; b < blocks; b++) {
            int block = b * BLOCK_BYTES;
            for (int r = 0; r < present; r++) {
                int lane = pairedLane(r, L), src = r * rowBytes + b * Q4_0Kernel.BLOCK_BYTES;
                putShifted(in, src, shift, out, block + 2 * lane);
                packNibbles16(in, src + 2, 0, 4, lane, out, block + 2 * GROUP);             // values 0-15: low nibbles
                packNibbles16(in, src + 2, 4, 4, lane, out, block + 2 * GROUP + 8 * GROUP); // 16-31: high nibbles
            }
        }
        return shift;
    }

    @Override
    Q8Activations prepare(float[] x, int n) {
        return Q8Activations.of(x, n, cols, true);
    }

    @Override
    void group(MemorySegment g, Q8Activations a, int t, float unscale, float[] out, int o) {
        group(g, blocks, unscale, a.nibbles(), a.codesAt(t), a.scales(), a.sums(), a.scalesAt(t), out, o);
    }

    /** out[o .. o + GROUP) = the group's rows . x: x's multipliers at xm[k ..], block scales and code sums at xd/xs[xo ..]. */
    private static void group(MemorySegment g, int blocks, float unscale, int[] xm, int k, float[] xd, int[] xs, int xo, float[] out, int o) {
        FloatVector lo = FloatVector.zero(F), hi = lo;
        long at = 0;
        for (int b = 0; b < blocks; b++, at += BLOCK_BYTES, k += 32) {
            IntVector d = IntVector.fromMemorySegment(I, g, at, LE);
            ShortVector dot = nibbleDot16(g, at + 2 * GROUP, xm, k, pair(both16(-8 * xs[xo + b])));
            float s = xd[xo + b];
            lo = Simd.toFloat(lowRows(dot)).fma(scales(d.lanewise(VectorOperators.LSHL, 16), unscale).mul(s), lo);
            hi = Simd.toFloat(highRows(dot)).fma(scales(d, unscale).mul(s), hi);
        }
        lo.intoArray(out, o);
        hi.intoArray(out, o + L);
    }
}
