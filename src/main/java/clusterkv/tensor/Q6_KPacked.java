package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.KQuants.QK_K;
import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.I;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.LE;

/**
 * Q6_K for decode: rows interleaved in groups of L (16 with AVX-512), a 32-bit lane per row, and integer
 * arithmetic on activations quantized to Q8_K ({@link Q8KActivations}), as llama.cpp does: per super-block
 * of 256 values the exact integer sum_j scale_j * ((code - 32) . x codes over the 16 values of sub-block j),
 * then d * d_x * sum.
 *
 * <p>Layout of a group, super-block after super-block: the rows' d as float32 (its fp16 widened at packing, so
 * that no subnormal fp16 d, common in Q6_K, slows the multiply down), the rows' 16 int8 scales (sub-block after sub-block, L bytes each), then the codes minus 32 as
 * int8, two columns at a time: 2L bytes, bytes 2r and 2r + 1 row r's codes of the two columns. Widened to
 * 16 bits, a pair of columns is multiplied by one broadcast pair of x codes; a sub-block's 8 products per
 * 16-bit lane stay below 2^15 (32 * 127 * 8), so the 16-bit sums are widened once per 16 columns.
 *
 * <p>The codes take a byte each here, 31 % more than ggml's 6.6 bits per value: unpacking the 4 + 2 bit
 * fields in the loop would cost about as much arithmetic as this saves in bytes (decode of these matrices
 * is bound by arithmetic as much as by memory on this machine), and this way Q6_K runs the loop of Q8_0.
 */
final class Q6_KPacked extends RowGroups<Q8KActivations> {

    /** Bytes of one super-block of a group: d, 16 scales, 256 codes per row. */
    private static final int SUPER_BYTES = 4 * L + 16 * L + 256 * L;
    private static final int SCALES = 192, D = 208;

    private final int superBlocks;

    Q6_KPacked(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, L, (long) (cols / QK_K) * SUPER_BYTES);
        this.superBlocks = cols / QK_K;
        packAll(data, rowBytes);
    }

    /** ggml block_q6_K super-blocks into the layout. */
    @Override
    int pack(byte[] in, int rowBytes, int present, byte[] out) {
        byte[] codes = new byte[QK_K];
        for (int b = 0; b < superBlocks; b++) {
            int block = b * SUPER_BYTES;
            for (int r = 0; r < present; r++) {
                int src = r * rowBytes + b * Q6_KKernel.BLOCK_BYTES;
                int d = Float.floatToRawIntBits(Float.float16ToFloat((short) (in[src + D] & 0xFF | in[src + D + 1] << 8)));
                for (int i = 0; i < 4; i++) out[block + 4 * r + i] = (byte) (d >> 8 * i);
                for (int j = 0; j < 16; j++) out[block + 4 * L + j * L + r] = in[src + SCALES + j];
                unpack(in, src, codes);
                packBytePairs(codes, QK_K, r, out, block + 20 * L);
            }
        }
        return 0; // d is stored as a float32
    }

    /** The 256 codes minus 32 of the ggml super-block at src, in order (see {@link Q6_KKernel}). */
    private static void unpack(byte[] b, int src, byte[] codes) {
        for (int half = 0; half < 2; half++) {
            int ql = src + 64 * half, qh = src + 128 + 32 * half, v = 128 * half;
            for (int l = 0; l < 32; l++) {
                int lo = b[ql + l] & 0xFF, hi = b[ql + l + 32] & 0xFF, h = b[qh + l] & 0xFF;
                codes[v + l] = (byte) (((lo & 0xF) | (h & 3) << 4) - 32);
                codes[v + l + 32] = (byte) (((hi & 0xF) | (h >> 2 & 3) << 4) - 32);
                codes[v + l + 64] = (byte) (((lo >> 4) | (h >> 4 & 3) << 4) - 32);
                codes[v + l + 96] = (byte) (((hi >> 4) | (h >> 6) << 4) - 32);
            }
        }
    }

    @Override
    Q8KActivations prepare(float[] x, int n) {
        return Q8KActivations.of(x, n, cols);
    }

    @Override
    void group(MemorySegment g, Q8KActivations a, int t, float unscale, float[] out, int o) {
        group(g, superBlocks, a.pairs(), a.pairsAt(t), a.scales(), a.scalesAt(t), out, o);
    }

    /** out[o .. o + L) = the group's rows . x: x's code pairs at xp[k ..), its block scales at xd[xdo ..). */
    private static void group(MemorySegment g, int superBlocks, int[] xp, int k, float[] xd, int xdo, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F);
        long at = 0;
        for (int b = 0; b < superBlocks; b++) {
            IntVector d = ShortVector.fromMemorySegment(S16, g, at, LE).reinterpretAsInts();
            long scales = at + 4 * L;
            at += 20 * L;
            IntVector sum = IntVector.zero(I);
            ShortVector p = ShortVector.zero(S16);
            // One loop over the super-block's 128 steps, closing a sub-block every 8th: as a loop of 8 steps
            // inside one of 16 sub-blocks, C2 gave each inner loop range-check pre- and post-loops and spilled
            // to the stack (9.4 against 13.6 Gweights/s from L2, AMD EPYC Zen 3; written out, it ran out of
            // inlining budget and boxed its vectors).
            for (int s = 0; s < 128; s++) {
                p = byteStep(p, g, at + 2L * L * s, xp[k + s]);
                if ((s & 7) == 7) {
                    sum = sum.add(pairSums(p).mul(Simd.signedByteInts(g, scales + (long) (s >> 3) * L)));
                    p = ShortVector.zero(S16);
                }
            }
            at += 256L * L;
            k += 128;
            acc = Simd.toFloat(sum).fma(d.reinterpretAsFloats().mul(xd[xdo + b]), acc);
        }
        acc.intoArray(out, o);
    }

}
