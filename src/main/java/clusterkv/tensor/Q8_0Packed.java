package clusterkv.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

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
 * {@link #halfBits}): no conversion loop, no buffer.
 *
 * <p>Why: widening int8 codes to fp32 took two conversions and an FMA per 16 weights, about 22 instructions
 * per 64-byte cache line, and from DRAM that loop could not keep enough lines in flight (a load holds its place
 * in the reorder buffer until its data arrives, and the Vector API has no prefetch): the kernel ran at about
 * half the rate of a plain read. This one issues about 15 per line. Measured on this project's machine
 * (2 cores, 27 GB/s plain read), a 1B-shaped decode step's matvecs: 84 ms with the fp32 two-row kernel,
 * 62 ms with this one (KernelBench decode and batch). Converting the scales with a vectorized fp16 loop into
 * a buffer, 16 blocks at a time, cost 8 % of the step (the loop's loads stall at each chunk).
 */
final class Q8_0Packed extends PackedRows<Q8Activations> {

    /** Rows per group: lanes of a 16-bit vector of the float shape. */
    static final int GROUP = 2 * L;
    private static final VectorSpecies<Short> SW = VectorSpecies.of(short.class, F.vectorShape());
    private static final VectorSpecies<Byte> BW = VectorSpecies.of(byte.class, VectorShape.forBitSize(GROUP * 8));
    /** 2^15 in the low half of every 32-bit lane. */
    private static final ShortVector BIAS = IntVector.broadcast(I, 0x8000).reinterpretAsShorts();
    /** Bytes of one block of a group: its scales and codes. */
    private static final int BLOCK_BYTES = 2 * GROUP + 32 * GROUP;
    /** Per thread: a group's results when the group is the last, partial one. */
    private static final ThreadLocal<float[]> PARTIAL = ThreadLocal.withInitial(() -> new float[GROUP]);

    private final int groups;
    private final long groupBytes;

    Q8_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, (long) groups(rows) * (cols / 32) * BLOCK_BYTES);
        this.groups = groups(rows);
        this.groupBytes = (long) blocks * BLOCK_BYTES;
        Parallel.forRange(groups, 1, (g0, g1) -> {
            byte[] group = new byte[(int) (GROUP * rowBytes)];
            byte[] block = new byte[BLOCK_BYTES];
            for (int g = g0; g < g1; g++) pack(data, rowBytes, g, group, block);
        });
    }

    private static int groups(int rows) {
        return (rows + GROUP - 1) / GROUP;
    }

    /** Copies group g's rows (ggml blocks: fp16 d, 32 codes) into the layout; rows past the end stay zero. */
    private void pack(MemorySegment data, long rowBytes, int g, byte[] group, byte[] block) {
        int present = Math.min(GROUP, rows - g * GROUP);
        MemorySegment.copy(data, (long) g * GROUP * rowBytes, MemorySegment.ofArray(group), 0, present * rowBytes);
        long at = g * groupBytes;
        for (int b = 0; b < blocks; b++, at += BLOCK_BYTES) {
            Arrays.fill(block, (byte) 0);
            for (int i = 0; i < present; i++) {
                int lane = i < L ? 2 * i : 2 * (i - L) + 1;
                int src = (int) (i * rowBytes) + b * Q8_0Kernel.BLOCK_BYTES;
                block[2 * lane] = group[src];
                block[2 * lane + 1] = group[src + 1];
                for (int k = 0; k < 32; k++) block[2 * GROUP + k * GROUP + lane] = group[src + 2 + k];
            }
            MemorySegment.copy(MemorySegment.ofArray(block), 0, packed, at, BLOCK_BYTES);
        }
    }

    @Override
    int rowGranule() {
        return GROUP;
    }

    @Override
    Q8Activations prepare(float[] x, int n) {
        return Q8Activations.of(x, n, cols);
    }

    @Override
    void dotRows(int start, int end, Q8Activations a, float[] out, int outStride) {
        float[] partial = PARTIAL.get();
        for (int g = start / GROUP; g * GROUP < end; g++) {
            MemorySegment group = packed.asSlice(g * groupBytes, groupBytes);
            int first = g * GROUP, present = Math.min(GROUP, rows - first);
            for (int t = 0; t < a.tokens(); t++) {
                int o = t * outStride + first;
                if (present == GROUP) {
                    group(group, blocks, a.codes(), a.codesAt(t), a.scales(), a.scalesAt(t), out, o);
                } else {
                    group(group, blocks, a.codes(), a.codesAt(t), a.scales(), a.scalesAt(t), partial, 0);
                    System.arraycopy(partial, 0, out, o, present);
                }
            }
        }
    }

    /** out[o .. o + GROUP) = the group's rows . x: x's codes at xq[xo ..), its block scales at xd[xdo ..). */
    private static void group(MemorySegment g, int blocks, short[] xq, int xo, float[] xd, int xdo, float[] out, int o) {
        FloatVector lo = FloatVector.zero(F), hi = lo;
        long at = 0;
        for (int b = 0; b < blocks; b++) {
            IntVector h = ShortVector.fromMemorySegment(SW, g, at, LE).reinterpretAsInts();
            at += 2 * GROUP;
            IntVector all = IntVector.zero(I), high = all;
            int xk = xo + 32 * b;
            for (int k = 0; k < 32; k += 2, at += 2 * GROUP) {
                ShortVector p = codes(g, at).mul(xq[xk + k]).add(codes(g, at + GROUP).mul(xq[xk + k + 1])).add(BIAS);
                IntVector v = p.reinterpretAsInts();
                all = all.add(v);
                high = high.add(v.lanewise(VectorOperators.ASHR, 16));
            }
            IntVector low = all.sub(high.lanewise(VectorOperators.LSHL, 16)).sub(16 * 0x8000);
            FloatVector s = FloatVector.broadcast(F, xd[xdo + b] * 0x1p112f);
            lo = Simd.toFloat(low).fma(halfBits(h.lanewise(VectorOperators.LSHL, 16)).mul(s), lo);
            hi = Simd.toFloat(high).fma(halfBits(h).mul(s), hi);
        }
        lo.intoArray(out, o);
        hi.intoArray(out, o + L);
    }

    /**
     * The fp16 numbers in the high halves of h's lanes, times 2^-112: their sign, exponent and mantissa moved
     * into float32 places (exact for normal and subnormal halves alike; the caller multiplies by 2^112).
     */
    private static FloatVector halfBits(IntVector h) {
        return h.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000).or(h.and(0x80000000)).reinterpretAsFloats();
    }

    /** One column's GROUP codes, widened to 16 bits. */
    private static ShortVector codes(MemorySegment g, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(BW, g, at, LE).convertShape(VectorOperators.B2S, SW, 0);
    }
}
