package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.KQuants.QK_K;
import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.I;
import static clusterkv.tensor.Simd.L;

/**
 * Q4_K for decode: rows interleaved in groups of L (16 with AVX-512), so that a 32-bit lane is a row, and
 * integer arithmetic on activations quantized to Q8_K ({@link Q8KActivations}), as llama.cpp does: per
 * super-block of 256 values, sum = sum_j scale_j * (codes . x codes over sub-block j) and
 * mins = sum_j min_j * (sum of x codes over sub-block j), both exact integers, then
 * d * d_x * sum - dmin * d_x * mins.
 *
 * <p>Layout of a group, super-block after super-block: the head of {@link KQuantHeaders} (d, dmin, the sub-blocks'
 * scales and mins), then the 64 steps of 4 columns that {@link RowGroups#nibbleStep} reads. 2.8 % more bytes than
 * ggml's layout (the 12 packed scale bytes of a row become 16).
 * <p>Why: the fp32 kernel widened every 4-bit code to a float and ran at a third of llama.cpp's speed,
 * bound by its arithmetic; this loop does about 12 instructions per 64 weights. One core from L2
 * (KernelBench cached): 6.2 Gweights/s with the fp32 kernel, 27-30 with this one; the 1B-shaped Q4_K decode
 * 7.5 -> 19.2-21.9 tokens/s (bench, 2 threads; llama.cpp's tg128: 22.5-24.4 on the same machine).

 */
final class Q4_KPacked extends RowGroups<Q8KActivations> {

    /** Offsets in one super-block of a group: the codes after the head, the next super-block. */
    private static final int CODES = KQuantHeaders.BYTES, SUPER_BYTES = CODES + 64 * 2 * L;

    private final int superBlocks;

    Q4_KPacked(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, L, (long) (cols / QK_K) * SUPER_BYTES);
        this.superBlocks = cols / QK_K;
        packAll(data, rowBytes);
    }

    /** ggml block_q4_K super-blocks into the layout. */
    @Override
    int pack(byte[] in, int rowBytes, int present, byte[] out) {
        return KQuantHeaders.packGroup(in, rowBytes, present, Q4_KKernel.BLOCK_BYTES, superBlocks, SUPER_BYTES, out,
                (rows, src, r, codes, group, at) -> {
                    // sub-block j: the low (j even) or high nibbles of qs[32 (j / 2) ..+32) (see Q4_KKernel)
                    for (int j = 0; j < 8; j++) packNibbles(rows, src + 16 + 32 * (j >> 1), 4 * (j & 1), r, group, at + 16 * L * j);
                });
    }

    @Override
    Q8KActivations prepare(float[] x, int n) {
        return Q8KActivations.of(x, n, cols);
    }

    @Override
    void group(MemorySegment g, Q8KActivations a, int t, float unscale, float[] out, int o) {
        codes(g, superBlocks, unscale, a.pairs(), a.pairsAt(t), a.scales(), a.scalesAt(t), out, o);
        KQuantHeaders.subtractMins(g, superBlocks, SUPER_BYTES, unscale, a.sums(), a.sumsAt(t), a.scales(), a.scalesAt(t), out, o);
    }

    /**
     * out[o .. o + L) = sum over super-blocks of d * d_x * sum_j scale_j * (codes . x codes over sub-block j); the
     * mins are {@link KQuantHeaders#subtractMins}'.
     */
    private static void codes(MemorySegment g, int superBlocks, float unscale, int[] xp, int k, float[] xd, int xdo, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < superBlocks; b++, k += 128) {
            long at = (long) b * SUPER_BYTES;
            IntVector sum = IntVector.zero(I);
            ShortVector p = ShortVector.zero(S16);
            // One loop over the 64 steps, closing a sub-block every 8th, for the reason given in Q6_KPacked.
            for (int s = 0; s < 64; s++) {
                p = nibbleStep(p, g, at + CODES + 2L * L * s, xp[k + 2 * s], xp[k + 2 * s + 1]);
                if ((s & 7) == 7) {
                    sum = sum.add(pairSums(p).mul(KQuantHeaders.scales(g, at, s >> 3)));
                    p = ShortVector.zero(S16);
                }
            }
            acc = Simd.toFloat(sum).fma(KQuantHeaders.d(g, at, unscale).mul(xd[xdo + b]), acc);
        }
        acc.intoArray(out, o);
    }
}
