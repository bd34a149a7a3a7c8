package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;

/**
 * Q8_0 in the decode layout of {@link PackedRows}: 32 int8 codes per block, value = scale * code.
 *
 * <p>Rows go tile by tile: a range of rows runs over the first 2048 columns, then the next 2048, and so on,
 * each row's two running sums kept in a small buffer between tiles (the same floats as one pass over the
 * row). Why: x's tile (8 KB) then stays in L1 while the weights stream past it; a whole 8192-column x (32 KB)
 * did not. Measured inside the 1B-shaped decode (2 threads, alternating runs): its ffn_down (8192 columns)
 * went from 21.5-23.9 to 27.9-30.4 GB/s, the 2048-column matrices stayed at 29-32; in the 8B shape the
 * 4096-column matrices went from 24 to 28 GB/s and decode from 3.16 to 3.36 tokens/s. Cutting the ggml rows
 * into tiles without laying the tiles out contiguously got less: short strided runs starve the prefetchers.
 */
final class Q8_0Packed extends PackedRows {

    /** Blocks per column tile: 2048 values. */
    static final int TILE_BLOCKS = 64;
    /** Per thread, each row's (or token's) two running sums, 2 L floats apiece. */
    private static final ThreadLocal<float[][]> SUMS = ThreadLocal.withInitial(() -> new float[1][0]);

    Q8_0Packed(MemorySegment data, long rowBytes, int rows, int cols) {
        super(data, rowBytes, rows, cols, Q8_0Kernel.BLOCK_BYTES, 32, TILE_BLOCKS);
    }

    /** Rows in pairs (see {@link #twoRows}), then one, tile by tile. */
    @Override
    void dotRows(int start, int end, float[] x, int xOffset, float[] xBlockSums, float[] out, int outOffset) {
        float[] d = scaleBuffer(0), e = scaleBuffer(1);
        float[] sums = runningSums(end - start);
        for (int t = 0; t < tiles; t++) {
            int b0 = tileStart(t), b1 = tileEnd(t);
            int r = start;
            for (; r + 2 <= end; r += 2) {
                twoRows(codes(r, t), codes(r + 1, t), decodeScales(r, d, b0, b1), decodeScales(r + 1, e, b0, b1),
                        x, xOffset, b0, b1, sums, 2 * L * (r - start));
            }
            if (r < end) row(codes(r, t), decodeScales(r, d, b0, b1), x, xOffset, b0, b1, sums, 2 * L * (r - start));
        }
        for (int r = start; r < end; r++) out[outOffset + r] = total(sums, 2 * L * (r - start));
    }

    /**
     * Tokens in fours, then a pair, then one: each block's codes are widened to floats once per group, which
     * is most of the work once the row is in cache. Measured on a 1B-shaped decode step (KernelBench batch,
     * 2 threads): 8 tokens in 185 ms with fours against 250 ms in pairs; one token takes 66 ms.
     */
    @Override
    void dotRows(int start, int end, float[] x, int n, float[][] xBlockSums, float[] out, int outStride) {
        float[] d = scaleBuffer(0);
        float[] sums = runningSums(n);
        for (int r = start; r < end; r++) {
            decodeScales(r, d);
            for (int t = 0; t < tiles; t++) {
                MemorySegment row = codes(r, t);
                int b0 = tileStart(t), b1 = tileEnd(t), k = 0;
                for (; k + 4 <= n; k += 4) quad(row, d, x, k * cols, cols, b0, b1, sums, 2 * L * k);
                for (; k + 2 <= n; k += 2) pair(row, d, x, k * cols, cols, b0, b1, sums, 2 * L * k);
                if (k < n) row(row, d, x, k * cols, b0, b1, sums, 2 * L * k);
            }
            for (int k = 0; k < n; k++) out[k * outStride + r] = total(sums, 2 * L * k);
            Arrays.fill(sums, 0, 2 * L * n, 0f);
        }
    }

    /** A thread's zeroed running sums for n rows or tokens. */
    private static float[] runningSums(int n) {
        float[][] holder = SUMS.get();
        if (holder[0].length < 2 * L * n) holder[0] = new float[2 * L * n];
        Arrays.fill(holder[0], 0, 2 * L * n, 0f);
        return holder[0];
    }

    private static float total(float[] sums, int at) {
        return Simd.sum(FloatVector.fromArray(F, sums, at).add(FloatVector.fromArray(F, sums, at + L)));
    }

    /**
     * row() for two rows, their running sums at s and s + 2L (their codes as separate slices, so that the JIT
     * drops the bounds checks as for one), with the same arithmetic per row. Why two: decode streams weights
     * from DRAM, and one row at a time the hardware prefetchers keep too few lines in flight for a loop that
     * does this much arithmetic per byte. Reading two streams at once, a 1 GB Q8_0 matvec on 2 threads went
     * from 21-23 to 26-34 GB/s (plain reads 33-43 GB/s in the same runs; the machine is shared), and the
     * 1B-shaped decode from 12.6 to 16.5 tokens/s.
     */
    private static void twoRows(MemorySegment r0, MemorySegment r1, float[] d, float[] e, float[] x, int xOffset, int b0, int b1,
                                float[] sums, int s) {
        FloatVector a0 = FloatVector.fromArray(F, sums, s), a1 = FloatVector.fromArray(F, sums, s + L);
        FloatVector c0 = FloatVector.fromArray(F, sums, s + 2 * L), c1 = FloatVector.fromArray(F, sums, s + 3 * L);
        long q = 0;
        for (int b = b0; b < b1; b++, q += 32) {
            int xo = xOffset + 32 * b;
            FloatVector x0 = FloatVector.fromArray(F, x, xo);
            FloatVector t = Simd.signedBytes(r0, q).mul(x0), u = Simd.signedBytes(r1, q).mul(x0);
            for (int j = L; j < 32; j += L) {
                FloatVector xj = FloatVector.fromArray(F, x, xo + j);
                t = Simd.signedBytes(r0, q + j).fma(xj, t);
                u = Simd.signedBytes(r1, q + j).fma(xj, u);
            }
            t = t.fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
            u = u.fma(FloatVector.broadcast(F, e[b]), c1);
            c1 = c0;
            c0 = u;
        }
        a0.intoArray(sums, s);
        a1.intoArray(sums, s + L);
        c0.intoArray(sums, s + 2 * L);
        c1.intoArray(sums, s + 3 * L);
    }

    /** row() for two consecutive tokens (x stride xs), running sums at s and s + 2L, with the same arithmetic per token. */
    private static void pair(MemorySegment row, float[] d, float[] x, int xo, int xs, int b0, int b1, float[] sums, int s) {
        FloatVector a0 = FloatVector.fromArray(F, sums, s), a1 = FloatVector.fromArray(F, sums, s + L);
        FloatVector c0 = FloatVector.fromArray(F, sums, s + 2 * L), c1 = FloatVector.fromArray(F, sums, s + 3 * L);
        long q = 0;
        for (int b = b0; b < b1; b++, q += 32) {
            int x0 = xo + 32 * b, x1 = x0 + xs;
            FloatVector c = Simd.signedBytes(row, q);
            FloatVector t = c.mul(FloatVector.fromArray(F, x, x0)), u = c.mul(FloatVector.fromArray(F, x, x1));
            for (int j = L; j < 32; j += L) {
                c = Simd.signedBytes(row, q + j);
                t = c.fma(FloatVector.fromArray(F, x, x0 + j), t);
                u = c.fma(FloatVector.fromArray(F, x, x1 + j), u);
            }
            FloatVector scale = FloatVector.broadcast(F, d[b]);
            t = t.fma(scale, a1); a1 = a0; a0 = t;
            u = u.fma(scale, c1); c1 = c0; c0 = u;
        }
        a0.intoArray(sums, s);
        a1.intoArray(sums, s + L);
        c0.intoArray(sums, s + 2 * L);
        c1.intoArray(sums, s + 3 * L);
    }

    /** row() for four consecutive tokens (x stride xs), running sums from s on, with the same arithmetic per token. */
    private static void quad(MemorySegment row, float[] d, float[] x, int xo, int xs, int b0, int b1, float[] sums, int s) {
        FloatVector a0 = FloatVector.fromArray(F, sums, s), a1 = FloatVector.fromArray(F, sums, s + L);
        FloatVector c0 = FloatVector.fromArray(F, sums, s + 2 * L), c1 = FloatVector.fromArray(F, sums, s + 3 * L);
        FloatVector e0 = FloatVector.fromArray(F, sums, s + 4 * L), e1 = FloatVector.fromArray(F, sums, s + 5 * L);
        FloatVector g0 = FloatVector.fromArray(F, sums, s + 6 * L), g1 = FloatVector.fromArray(F, sums, s + 7 * L);
        long q = 0;
        for (int b = b0; b < b1; b++, q += 32) {
            int x0 = xo + 32 * b, x1 = x0 + xs, x2 = x1 + xs, x3 = x2 + xs;
            FloatVector c = Simd.signedBytes(row, q);
            FloatVector t = c.mul(FloatVector.fromArray(F, x, x0)), u = c.mul(FloatVector.fromArray(F, x, x1));
            FloatVector v = c.mul(FloatVector.fromArray(F, x, x2)), w = c.mul(FloatVector.fromArray(F, x, x3));
            for (int j = L; j < 32; j += L) {
                c = Simd.signedBytes(row, q + j);
                t = c.fma(FloatVector.fromArray(F, x, x0 + j), t);
                u = c.fma(FloatVector.fromArray(F, x, x1 + j), u);
                v = c.fma(FloatVector.fromArray(F, x, x2 + j), v);
                w = c.fma(FloatVector.fromArray(F, x, x3 + j), w);
            }
            FloatVector scale = FloatVector.broadcast(F, d[b]);
            t = t.fma(scale, a1); a1 = a0; a0 = t;
            u = u.fma(scale, c1); c1 = c0; c0 = u;
            v = v.fma(scale, e1); e1 = e0; e0 = v;
            w = w.fma(scale, g1); g1 = g0; g0 = w;
        }
        a0.intoArray(sums, s);
        a1.intoArray(sums, s + L);
        c0.intoArray(sums, s + 2 * L);
        c1.intoArray(sums, s + 3 * L);
        e0.intoArray(sums, s + 4 * L);
        e1.intoArray(sums, s + 5 * L);
        g0.intoArray(sums, s + 6 * L);
        g1.intoArray(sums, s + 7 * L);
    }

    /**
     * Blocks [b0, b1) of one row (its codes in this tile from 0), added to the two running sums at s: they
     * alternate blocks, as in Q8_0Kernel.dot, so a row's total is the same float whatever its tiles.
     */
    private static void row(MemorySegment row, float[] d, float[] x, int xOffset, int b0, int b1, float[] sums, int s) {
        FloatVector a0 = FloatVector.fromArray(F, sums, s), a1 = FloatVector.fromArray(F, sums, s + L);
        long q = 0;
        for (int b = b0; b < b1; b++, q += 32) {
            int xo = xOffset + 32 * b;
            FloatVector t = Simd.signedBytes(row, q).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = Simd.signedBytes(row, q + j).fma(FloatVector.fromArray(F, x, xo + j), t);
            t = t.fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
        }
        a0.intoArray(sums, s);
        a1.intoArray(sums, s + L);
    }
}
