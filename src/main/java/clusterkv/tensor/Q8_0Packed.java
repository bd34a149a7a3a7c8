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

    /**
     * Rows in fours when they are long, else in pairs (see {@link #twoRows}), then one at a time. Long rows go
     * four at a time because x no longer sits in L1 beside the weights streaming through it, and four rows
     * load each part of x once: on the 1B shape's ffn_down (8192 columns) 23-24 GB/s in fours against 18 in
     * pairs, while its 2048-column matrices ran at 29-30 GB/s in pairs against 22 in fours (2 threads, same runs).
     */
    @Override
    void dotRows(int start, int end, float[] x, int xOffset, float[] xBlockSums, float[] out, int outOffset) {
        float[] d = scaleBuffer(0), e = scaleBuffer(1);
        int r = start;
        if (cols >= FOUR_ROW_COLS) {
            float[] f = scaleBuffer(2), g = scaleBuffer(3);
            for (; r + 4 <= end; r += 4) {
                fourRows(codes(r), codes(r + 1), codes(r + 2), codes(r + 3), decodeScales(r, d), decodeScales(r + 1, e),
                        decodeScales(r + 2, f), decodeScales(r + 3, g), x, xOffset, blocks, out, outOffset + r);
            }
        }
        for (; r + 2 <= end; r += 2) {
            twoRows(codes(r), codes(r + 1), decodeScales(r, d), decodeScales(r + 1, e), x, xOffset, blocks, out, outOffset + r);
        }
        for (; r < end; r++) out[outOffset + r] = row(codes(r), decodeScales(r, d), x, xOffset, blocks);
    }

    /** From this many columns on, rows go four at a time. */
    private static final int FOUR_ROW_COLS = 8192;

    /**
     * row() for two rows (their codes as separate slices, so that the JIT drops the bounds checks as for one), with the same arithmetic per row. Why two:
     * decode streams weights from DRAM, and one row at a time the hardware prefetchers keep too few lines in
     * flight for a loop that does this much arithmetic per byte. Reading two streams at once, a 1 GB Q8_0
     * matvec on 2 threads went from 21-23 to 26-34 GB/s (plain reads 33-43 GB/s in the same runs; the machine
     * is shared), and the 1B-shaped decode from 12.6 to 16.5 tokens/s.
     */
    private static void twoRows(MemorySegment r0, MemorySegment r1, float[] d, float[] e, float[] x, int xOffset, int blocks, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 32) {
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
            u = u.fma(FloatVector.broadcast(F, e[b]), b1);
            b1 = b0;
            b0 = u;
        }
        out[o] = Simd.sum(a0.add(a1));
        out[o + 1] = Simd.sum(b0.add(b1));
    }

    /**
     * Tokens in fours, then a pair, then one: each block's codes are widened to floats once per group, which
     * is most of the work once the row is in cache. Measured on a 1B-shaped decode step (KernelBench batch,
     * 2 threads): 8 tokens in 185 ms with fours against 250 ms in pairs; one token takes 66 ms.
     */
    @Override
    void dotRows(int start, int end, float[] x, int n, float[][] xBlockSums, float[] out, int outStride) {
        float[] d = scaleBuffer(0);
        for (int r = start; r < end; r++) {
            MemorySegment row = codes(r);
            decodeScales(r, d);
            int t = 0;
            for (; t + 4 <= n; t += 4) quad(row, d, x, t * cols, cols, blocks, out, t * outStride + r, outStride);
            for (; t + 2 <= n; t += 2) pair(row, d, x, t * cols, cols, blocks, out, t * outStride + r, outStride);
            if (t < n) out[t * outStride + r] = row(row, d, x, t * cols, blocks);
        }
    }

    /** row() for four rows, with the same arithmetic per row. */
    private static void fourRows(MemorySegment r0, MemorySegment r1, MemorySegment r2, MemorySegment r3, float[] d, float[] e, float[] f, float[] g,
                                 float[] x, int xOffset, int blocks, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 32) {
            int xo = xOffset + 32 * b;
            FloatVector x0 = FloatVector.fromArray(F, x, xo);
            FloatVector t = Simd.signedBytes(r0, q).mul(x0), u = Simd.signedBytes(r1, q).mul(x0);
            FloatVector v = Simd.signedBytes(r2, q).mul(x0), w = Simd.signedBytes(r3, q).mul(x0);
            for (int j = L; j < 32; j += L) {
                FloatVector xj = FloatVector.fromArray(F, x, xo + j);
                t = Simd.signedBytes(r0, q + j).fma(xj, t);
                u = Simd.signedBytes(r1, q + j).fma(xj, u);
                v = Simd.signedBytes(r2, q + j).fma(xj, v);
                w = Simd.signedBytes(r3, q + j).fma(xj, w);
            }
            t = t.fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
            u = u.fma(FloatVector.broadcast(F, e[b]), b1);
            b1 = b0;
            b0 = u;
            v = v.fma(FloatVector.broadcast(F, f[b]), c1);
            c1 = c0;
            c0 = v;
            w = w.fma(FloatVector.broadcast(F, g[b]), e1);
            e1 = e0;
            e0 = w;
        }
        out[o] = Simd.sum(a0.add(a1));
        out[o + 1] = Simd.sum(b0.add(b1));
        out[o + 2] = Simd.sum(c0.add(c1));
        out[o + 3] = Simd.sum(e0.add(e1));
    }

    /** row() for two consecutive tokens (x stride xs, out stride os), with the same arithmetic per token (so the same floats). */
    private static void pair(MemorySegment row, float[] d, float[] x, int xo, int xs, int blocks, float[] out, int o, int os) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 32) {
            int x0 = xo + 32 * b, x1 = x0 + xs;
            FloatVector c = Simd.signedBytes(row, q);
            FloatVector t = c.mul(FloatVector.fromArray(F, x, x0)), u = c.mul(FloatVector.fromArray(F, x, x1));
            for (int j = L; j < 32; j += L) {
                c = Simd.signedBytes(row, q + j);
                t = c.fma(FloatVector.fromArray(F, x, x0 + j), t);
                u = c.fma(FloatVector.fromArray(F, x, x1 + j), u);
            }
            FloatVector s = FloatVector.broadcast(F, d[b]);
            t = t.fma(s, a1);
            a1 = a0;
            a0 = t;
            u = u.fma(s, b1);
            b1 = b0;
            b0 = u;
        }
        out[o] = Simd.sum(a0.add(a1));
        out[o + os] = Simd.sum(b0.add(b1));
    }

    /** row() for four consecutive tokens (x stride xs, out stride os), with the same arithmetic per token. */
    private static void quad(MemorySegment row, float[] d, float[] x, int xo, int xs, int blocks, float[] out, int o, int os) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, e0 = a0, e1 = a0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 32) {
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
            FloatVector s = FloatVector.broadcast(F, d[b]);
            t = t.fma(s, a1); a1 = a0; a0 = t;
            u = u.fma(s, b1); b1 = b0; b0 = u;
            v = v.fma(s, c1); c1 = c0; c0 = v;
            w = w.fma(s, e1); e1 = e0; e0 = w;
        }
        out[o] = Simd.sum(a0.add(a1));
        out[o + os] = Simd.sum(b0.add(b1));
        out[o + 2 * os] = Simd.sum(c0.add(c1));
        out[o + 3 * os] = Simd.sum(e0.add(e1));
    }

    private static float row(MemorySegment row, float[] d, float[] x, int xOffset, int blocks) {
        // Two accumulators alternating blocks (see Q8_0Kernel.dot).
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        long q = 0;
        for (int b = 0; b < blocks; b++, q += 32) {
            int xo = xOffset + 32 * b;
            FloatVector t = Simd.signedBytes(row, q).mul(FloatVector.fromArray(F, x, xo));
            for (int j = L; j < 32; j += L) t = Simd.signedBytes(row, q + j).fma(FloatVector.fromArray(F, x, xo + j), t);
            t = t.fma(FloatVector.broadcast(F, d[b]), a1);
            a1 = a0;
            a0 = t;
        }
        return Simd.sum(a0.add(a1));
    }
}
