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
 * Q8_0 for decode: rows interleaved in groups of 2L (32 with AVX-512), so that a vector's lanes are rows,
 * and integer arithmetic on activations quantized to Q8_0 ({@link Q8Activations}), as llama.cpp does.
 *
 * <p>Layout of a group: its blocks of 32 columns one after the other, each block its 2L fp16 scales, then its
 * codes column by column, 2L bytes per column; a group is read as one sequential run. Scales and codes are
 * interleaved alike: 16-bit (scales) or 8-bit (codes) lane 2j holds row j of the group, lane 2j + 1 row L + j.
 *
 * <p>Per pair of columns the kernel widens the 2 x 2L codes to 16 bits, multiplies each by its column's
 * activation code (broadcast) and adds the two: 2L exact 16-bit sums (|code| <= 128, |activation| <= 127, so
 * |sum| <= 32512). Seen as L 32-bit lanes, lane j holds row j's sum in its low half and row L + j's in its
 * high half; a bias of 2^15 on the low halves keeps them non-negative, so one 32-bit add accumulates both,
 * and an arithmetic shift by 16 separates the high halves, whose sum gives the low halves' sum back at the
 * end of the block. Each block's dot product is thus an exact integer, added into the row's float sum with
 * one FMA by d_w * d_x. The block's scales are turned into floats in place, by moving their bits (see
 * {@link RowGroups#scales}): no conversion loop, no buffer.
 *
 * <p>Why: widening int8 codes to fp32 took two conversions and an FMA per 16 weights, about 22 instructions
 * per 64-byte cache line, and from DRAM that loop could not keep enough lines in flight (a load holds its place
 * in the reorder buffer until its data arrives, and the Vector API has no prefetch): the kernel ran at about
 * half the rate of a plain read. This one issues about 15 per line. Measured on this project's machine
 * (2 cores, 27 GB/s plain read), a 1B-shaped decode step's matvecs: 84 ms with the fp32 two-row kernel,
 * 62 ms with this one (KernelBench decode and batch). Converting the scales with a vectorized fp16 loop into
 * a buffer, 16 blocks at a time, cost 8 % of the step (the loop's loads stall at each chunk).
 */
final class Q8_0Packed extends RowGroups<Q8Activations> {

    /** Rows per group: lanes of a 16-bit vector of the float shape. */
    static final int GROUP = 2 * L;
    /** 2^15 in the low half of every 32-bit lane. */
    private static final ShortVector BIAS = IntVector.broadcast(I, 0x8000).reinterpretAsShorts();
    /** Bytes of one block of a group: its scales and codes. */
    private static final int BLOCK_BYTES = 2 * GROUP + 32 * GROUP;

    Q8_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, GROUP, (long) (cols / 32) * BLOCK_BYTES);
        packAll(data, rowBytes);
    }

    /** ggml blocks (fp16 d, 32 codes) into the layout. */
    @Override
    int pack(byte[] in, int rowBytes, int present, byte[] out) {
        float max = 0;
        for (int r = 0; r < present; r++) max = Math.max(max, maxHalf(in, r * rowBytes, Q8_0Kernel.BLOCK_BYTES, blocks));
        int shift = scaleShift(max);
        for (int b = 0; b < blocks; b++) {
            int block = b * BLOCK_BYTES;
            for (int r = 0; r < present; r++) {
                int lane = pairedLane(r, L), src = r * rowBytes + b * Q8_0Kernel.BLOCK_BYTES;
                putShifted(in, src, shift, out, block + 2 * lane);
                for (int k = 0; k < 32; k++) out[block + 2 * GROUP + k * GROUP + lane] = in[src + 2 + k];
            }
        }
        return shift;
    }

    @Override
    Q8Activations prepare(float[] x, int n) {
        return Q8Activations.of(x, n, cols, false);
    }

    @Override
    void group(MemorySegment g, Q8Activations a, int t, float unscale, float[] out, int o) {
        group(g, blocks, unscale, a.codes(), a.codesAt(t), a.scales(), a.scalesAt(t), out, o);
    }

    /** out[o .. o + GROUP) = the group's rows . x: x's codes at xq[xo ..), its block scales at xd[xdo ..). */
    private static void group(MemorySegment g, int blocks, float unscale, short[] xq, int xo, float[] xd, int xdo, float[] out, int o) {
        FloatVector lo = FloatVector.zero(F), hi = lo;
        IntVector all = IntVector.zero(I), high = all;
        long at = 2 * GROUP;
        // One loop over all pairs of columns, closing a block every 16th and then skipping the next one's scales:
        // as a loop per block, C2 gave each inner loop range-check pre- and post-loops (see Q6_KPacked). The
        // scales of all blocks in front of all the codes ran as fast from L2 and 5-10 % slower from DRAM (two
        // streams per group; bench -p 16 -n 128, AMD EPYC Zen 3).
        for (int k = 0; k < 16 * blocks; k++, at += 2 * GROUP) {
            ShortVector p = signedBytes(g, at).mul(xq[xo + 2 * k]).add(signedBytes(g, at + GROUP).mul(xq[xo + 2 * k + 1])).add(BIAS);
            IntVector v = p.reinterpretAsInts();
            all = all.add(v);
            high = high.add(v.lanewise(VectorOperators.ASHR, 16));
            if ((k & 15) == 15) { // the block's exact sums, then times d * d_x
                int b = k >> 4;
                IntVector low = all.sub(high.lanewise(VectorOperators.LSHL, 16)).sub(16 * 0x8000);
                IntVector h = ShortVector.fromMemorySegment(S16, g, (long) b * BLOCK_BYTES, LE).reinterpretAsInts();
                float s = xd[xdo + b];
                lo = Simd.toFloat(low).fma(scales(h.lanewise(VectorOperators.LSHL, 16), unscale).mul(s), lo);
                hi = Simd.toFloat(high).fma(scales(h, unscale).mul(s), hi);
                all = IntVector.zero(I);
                high = all;
                at += 2 * GROUP;
            }
        }
        lo.intoArray(out, o);
        hi.intoArray(out, o + L);
    }

}
