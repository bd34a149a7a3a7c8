package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.LE;

/**
 * Q4_0 for decode: rows interleaved in groups of L (16 with AVX-512), a 32-bit lane per row, and integer
 * arithmetic on activations quantized to Q8_0 ({@link Q8Activations}), as llama.cpp does: per block of 32
 * values, (codes . x codes - 8 * sum of x codes) exactly, times d * d_x.
 *
 * <p>Layout of a group, two blocks at a time: the rows' d of both as fp16 (32-bit lane r holds row r's d of the
 * first block in its low and of the second in its high half), then each block's codes as
 * {@link RowGroups#nibbleDot} reads them. The same bytes as ggml's layout (a missing second block of an odd
 * count is padding).
 *
 * <p>Why: the float kernel widened every 4-bit code to a float and was bound by its arithmetic.
 */
final class Q4_0Packed extends RowGroups<Q8Activations> {

    /** Bytes of two blocks of a group: their scales, then 8 steps of codes each. */
    private static final int PAIR_BYTES = 4 * L + 2 * 16 * L;

    Q4_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, L, (long) (cols / 32 + 1) / 2 * PAIR_BYTES);
        packAll(data, rowBytes);
    }

    /** ggml block_q4_0 (fp16 d, 16 bytes: value j in the low nibble of byte j, value j + 16 in its high nibble) into the layout. */
    @Override
    int pack(byte[] in, int rowBytes, int present, byte[] out) {
        float max = 0;
        for (int r = 0; r < present; r++) max = Math.max(max, maxHalf(in, r * rowBytes, Q4_0Kernel.BLOCK_BYTES, blocks));
        int shift = scaleShift(max);
        byte[] codes = new byte[32];
        for (int b = 0; b < blocks; b++) {
            int at = b / 2 * PAIR_BYTES, half = b % 2;
            for (int r = 0; r < present; r++) {
                int src = r * rowBytes + b * Q4_0Kernel.BLOCK_BYTES;
                putShifted(in, src, shift, out, at + 4 * r + 2 * half);
                for (int j = 0; j < 16; j++) {
                    codes[j] = (byte) (in[src + 2 + j] & 0xF);
                    codes[j + 16] = (byte) ((in[src + 2 + j] & 0xFF) >> 4);
                }
                packNibbles(codes, 0, r, out, at + 4 * L + half * 16 * L);
            }
        }
        return shift;
    }

    @Override
    Q8Activations prepare(float[] x, int n) {
        return Q8Activations.of(x, n, cols);
    }

    @Override
    void group(MemorySegment g, Q8Activations a, int t, float unscale, float[] out, int o) {
        group(g, blocks, unscale, a.pairs(), a.pairsAt(t), a.scales(), a.sums(), a.scalesAt(t), out, o);
    }

    /** out[o .. o + L) = the group's rows . x: x's code pairs at xp[k ..], block scales and code sums at xd/xs[xo ..]. */
    private static void group(MemorySegment g, int blocks, float unscale, int[] xp, int k, float[] xd, int[] xs, int xo, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, k += 16) {
            long pair = (long) (b / 2) * PAIR_BYTES;
            IntVector d = ShortVector.fromMemorySegment(S16, g, pair, LE).reinterpretAsInts();
            if (b % 2 == 0) d = d.lanewise(VectorOperators.LSHL, 16);
            IntVector dot = nibbleDot(g, pair + 4 * L + (b % 2) * 16L * L, xp, k).sub(8 * xs[xo + b]);
            acc = Simd.toFloat(dot).fma(scales(d, unscale).mul(xd[xo + b]), acc);
        }
        acc.intoArray(out, o);
    }
}
