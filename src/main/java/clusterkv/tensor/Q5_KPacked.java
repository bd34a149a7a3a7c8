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
 * Q5_K for decode: rows interleaved in groups of L (16 with AVX-512), a 32-bit lane per row, and integer
 * arithmetic on activations quantized to Q8_K ({@link Q8KActivations}), as llama.cpp does: per super-block
 * of 256 values, sum = sum_j scale_j * (codes . x codes over sub-block j of 32) and mins = sum_j min_j * (sum of
 * x codes over sub-block j), both exact integers, then d * d_x * sum - dmin * d_x * mins.
 *
 * <p>Layout of a group, super-block after super-block: the head of {@link KQuantHeaders} (d, dmin, the sub-blocks'
 * scales and mins), then the codes minus 16 as int8, two columns at a time, as Q6_K's kernel reads them
 * ({@link RowGroups#byteStep}). A sub-block's 16 steps sum at most 16 * 127 * 16 < 2^15 per 16-bit lane, so the
 * sums are widened once per sub-block; the offset of 16 comes back as 16 times the sub-block's sum of x codes.
 *
 * <p>The 5-bit codes take a byte each here, 57 % more bytes than ggml's 5.5 bits per value: the loop of Q6_K
 * with no bit fields to unpack. Why: the float kernel ran at 4.1 Gweights/s per core from L2, this one at 10.7-11.0
 * (KernelBench cached, AMD EPYC Zen 3, 2026-12-07).
 */
final class Q5_KPacked extends RowGroups<Q8KActivations> {

    /** Offsets in one super-block of a group: the codes after the head, the next super-block. */
    private static final int CODES = KQuantHeaders.BYTES, SUPER_BYTES = CODES + 256 * L;

    private final int superBlocks;

    Q5_KPacked(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, L, (long) (cols / QK_K) * SUPER_BYTES);
        this.superBlocks = cols / QK_K;
        packAll(data, rowBytes);
    }

    /** ggml block_q5_K super-blocks into the layout. */
    @Override
    int pack(byte[] in, int rowBytes, int present, byte[] out) {
        return KQuantHeaders.packGroup(in, rowBytes, present, Q5_KKernel.BLOCK_BYTES, superBlocks, SUPER_BYTES, out,
                (rows, src, r, codes, group, at) -> {
                    unpack(rows, src, codes);
                    packBytePairs(codes, QK_K, r, group, at);
                });
    }

    /** The 256 codes minus 16 of the ggml super-block at src, in order (see {@link Q5_KKernel}). */
    private static void unpack(byte[] b, int src, byte[] codes) {
        for (int p = 0; p < 4; p++) {
            for (int l = 0; l < 32; l++) {
                int q = b[src + Q5_KKernel.QS + 32 * p + l] & 0xFF, h = b[src + Q5_KKernel.QH + l] >> 2 * p;
                codes[64 * p + l] = (byte) ((q & 0xF | (h & 1) << 4) - 16);
                codes[64 * p + 32 + l] = (byte) ((q >> 4 | (h & 2) << 3) - 16);
            }
        }
    }

    @Override
    Q8KActivations prepare(float[] x, int n) {
        return Q8KActivations.of(x, n, cols);
    }

    @Override
    void group(MemorySegment g, Q8KActivations a, int t, float unscale, float[] out, int o) {
        codes(g, superBlocks, unscale, a.pairs(), a.pairsAt(t), a.sums(), a.sumsAt(t), a.scales(), a.scalesAt(t), out, o);
        KQuantHeaders.subtractMins(g, superBlocks, SUPER_BYTES, unscale, a.sums(), a.sumsAt(t), a.scales(), a.scalesAt(t), out, o);
    }

    /**
     * out[o .. o + L) = sum over super-blocks of d * d_x * sum_j scale_j * (codes . x codes over sub-block j). One
     * loop over a super-block's 128 steps, closing a sub-block every 16th (see Q6_KPacked); the mins are
     * {@link KQuantHeaders#subtractMins}'.
     */
    private static void codes(MemorySegment g, int superBlocks, float unscale, int[] xp, int k, int[] xs, int xso,
                              float[] xd, int xdo, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < superBlocks; b++, k += 128) {
            long at = (long) b * SUPER_BYTES;
            IntVector sum = IntVector.zero(I);
            ShortVector p = ShortVector.zero(S16);
            for (int s = 0; s < 128; s++) {
                p = byteStep(p, g, at + CODES + 2L * L * s, xp[k + s]);
                if ((s & 15) == 15) { // (codes - 16) . x, plus 16 times the sub-block's sum of x codes, times the scale
                    int j = s >> 4;
                    sum = sum.add(pairSums(p).add(16 * xs[xso + 8 * b + j]).mul(KQuantHeaders.scales(g, at, j)));
                    p = ShortVector.zero(S16);
                }
            }
            acc = Simd.toFloat(sum).fma(KQuantHeaders.d(g, at, unscale).mul(xd[xdo + b]), acc);
        }
        acc.intoArray(out, o);
    }
}
