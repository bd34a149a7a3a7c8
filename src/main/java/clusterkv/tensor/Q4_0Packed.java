package clusterkv.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.LE;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * Q4_0 in a decode layout: every row's 16-byte blocks of nibbles (laid out as in ggml) one after the other,
 * then the blocks' fp16 scales, row by row; value = scale * (nibble - 8), the -8 going through the block sums
 * of x as in {@link Q4_0Kernel}. Why: with ggml's interleaved 18-byte blocks every block costs a scalar fp16
 * load, its conversion and a broadcast (on the vector ports the arithmetic needs), and some code loads
 * straddle cache lines; here a row's scales are converted L at a time ({@link Simd#halfs}) into a small float
 * buffer and each block's scale is broadcast straight from memory: 5-25 % less time per block in our A/B runs.
 */
final class Q4_0Packed extends PackedRows<Q4_0Packed.Input> {

    /** x and its block sums, per token. */
    record Input(float[] x, float[][] blockSums) {}

    private static final int CODE_BYTES = 16;
    /** Per thread, two buffers of one row's scales as floats (the kernel reads two rows at once). */
    private static final ThreadLocal<float[][]> SCALES = ThreadLocal.withInitial(() -> new float[2][0]);
    /** Where the scales start, and the bytes of one row's scales (zeros pad them to whole vectors). */
    private final long scales, scaleStride;

    Q4_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(rows, cols, codeBytes(rows, cols) + 2L * paddedBlocks(cols) * rows);
        this.scales = codeBytes(rows, cols);
        this.scaleStride = 2L * paddedBlocks(cols);
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long src = r * rowBytes;
                for (int b = 0; b < blocks; b++, src += Q4_0Kernel.BLOCK_BYTES) {
                    ByteVector.fromMemorySegment(ByteVector.SPECIES_128, data, src + 2, LE)
                            .intoMemorySegment(packed, ((long) r * blocks + b) * CODE_BYTES, LE);
                    packed.set(SHORT_LE, scales + r * scaleStride + 2L * b, data.get(SHORT_LE, src));
                }
            }
        });
    }

    private static long codeBytes(int rows, int cols) {
        return ((long) rows * (cols / 32) * CODE_BYTES + 63) & -64L;
    }

    private static int paddedBlocks(int cols) {
        return (cols / 32 + Simd.L - 1) / Simd.L * Simd.L;
    }

    @Override
    int rowGranule() {
        return 1;
    }

    @Override
    Input prepare(float[] x, int n) {
        float[][] sums = new float[n][];
        for (int t = 0; t < n; t++) sums[t] = RowKernel.blockSums(x, t * cols, cols);
        return new Input(x, sums);
    }

    /** Rows in pairs, then one; token by token over a range of rows that stays in cache. */
    @Override
    void dotRows(int start, int end, Input in, float[] out, int outStride) {
        float[][] buffers = SCALES.get();
        if (buffers[0].length < paddedBlocks(cols)) {
            buffers[0] = new float[paddedBlocks(cols)];
            buffers[1] = new float[paddedBlocks(cols)];
        }
        float[] d = buffers[0], e = buffers[1];
        for (int t = 0; t < in.blockSums.length; t++) {
            int xOffset = t * cols, o = t * outStride;
            float[] sums = in.blockSums[t];
            int r = start;
            for (; r + 2 <= end; r += 2) {
                twoRows(codes(r), codes(r + 1), decodeScales(r, d), decodeScales(r + 1, e), in.x, xOffset, sums, blocks, out, o + r);
            }
            for (; r < end; r++) out[o + r] = row(codes(r), decodeScales(r, d), in.x, xOffset, sums, blocks);
        }
    }

    /** Row r's codes, as a slice indexed from 0 (the JIT then drops the bounds checks of the loop). */
    private MemorySegment codes(int r) {
        return packed.asSlice((long) r * blocks * CODE_BYTES, (long) blocks * CODE_BYTES);
    }

    /** Row r's scales as floats, L at a time. */
    private float[] decodeScales(int r, float[] out) {
        long at = scales + r * scaleStride;
        for (int b = 0; b < blocks; b += Simd.L) Simd.halfs(packed, at + 2L * b).intoArray(out, b);
        return out;
    }

    /**
     * row() for two rows, with the same arithmetic per row. Why two: decode streams weights from DRAM, and
     * one row at a time the hardware prefetchers keep too few lines in flight for a loop that does this much
     * arithmetic per byte.
     */
    private static void twoRows(MemorySegment r0, MemorySegment r1, float[] d, float[] e, float[] x, int xOffset, float[] xBlockSums, int blocks, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        float offsetsA = 0, offsetsB = 0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += CODE_BYTES) {
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
        for (int b = 0; b < blocks; b++, q += CODE_BYTES) {
            FloatVector t = Q4_0Kernel.codeDot(row, q, x, xOffset + 32 * b).fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
            offsets += d[b] * xBlockSums[b];
        }
        return Simd.sum(a0.add(a1)) - 8 * offsets;
    }
}
