package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;

/**
 * Prefill's matrix product Y[t][r] = W[r] . X[t] for any weight type, as a blocked fp32 GEMM: weights are
 * decoded to floats once per call, a group of rows and a chunk of columns at a time, and multiplied with
 * all tokens by a register-blocked micro-kernel.
 *
 * <p>Micro-kernel: a tile of MR rows x 2L tokens of Y lives in 2 x MR vector registers (20 with 32 registers);
 * per column k it loads the 2L tokens' x[k] (two vectors) and broadcasts each row's w[k]: 2 x MR FMAs for MR + 2
 * loads, and since the vectors run over tokens no horizontal sums are needed. That needs X transposed: it is repacked once per
 * call into blocks of L tokens, {@code xt[block][k][token]}.
 *
 * <p>Blocking, per thread: a group of GROUP (about 48) rows is decoded {@value #KC} columns at a time (48 KB of
 * floats, stays in L1/L2); for each 2L-token block, whose {@value #KC} x 2L slice of xt (32 KB) is then read
 * by each of the group's tiles from L1/L2, the tiles accumulate into the group's partial results, which
 * are loaded and stored once per chunk. Without the grouping each tile streamed all of X from L3:
 * 55-80 GFLOP/s on 2048 x 8192 instead of about 170 (2 threads, same machine state).
 */
final class Gemm {
    /**
     * Rows per micro-tile: its 2 x MR accumulators, the 2 vectors of x and the MR broadcast weights (C2 hoists all
     * of a step's broadcasts ahead of their FMAs) must fit the vector registers, or accumulators spill and every FMA
     * becomes a load, an FMA and a store: 10 rows with 32 registers (AVX-512, NEON), 4 with 16 (AVX2, SSE).
     * Whole 512-token prefills of the 1B-shaped Q8_0 model on a Zen 4 (tokens/s, alternating runs): with AVX-512,
     * 12 rows 60-64, 8 rows 84-86, 10 rows 83-86; limited to AVX2 (-XX:UseAVX=2), 12 rows spilled half the FMAs
     * (its GEMMs 97-101 GFLOP/s of a 195-205 peak), 4 rows 141-164 GFLOP/s, 5 rows spilled again (69-71).
     */
    static final int MR = (Simd.REGISTERS - 2) / 3;
    /** Rows decoded together, about 48: several micro-tiles share each slice of X. */
    static final int GROUP = MR * (48 / MR);
    private static final FloatVector Z = FloatVector.zero(F);
    /** Columns per chunk: a multiple of every block size (1, 32, 256). */
    static final int KC = 256;

    private static final ThreadLocal<float[]> PACKED_X = new ThreadLocal<>();
    private static final ThreadLocal<float[]> DECODED = new ThreadLocal<>();
    private static final ThreadLocal<float[]> ACC = new ThreadLocal<>();

    private Gemm() {}

    static void matmul(RowKernel kernel, GGMLType type, MemorySegment data, long rowBytes, int rows, int cols,
                       float[] x, int n, float[] y) {
        int blocks = (n + L - 1) / L;
        float[] xt = scratch(PACKED_X, blocks * cols * L);
        Parallel.forEach(blocks, blk -> pack(x, n, cols, blk, xt));
        int groups = (rows + GROUP - 1) / GROUP;
        int cStride = blocks * L; // partial results: row-major [GROUP][tokens, padded]
        Parallel.forEach(groups, g -> {
            float[] wp = scratch(DECODED, GROUP * KC);
            float[] c = scratch(ACC, GROUP * cStride);
            int r0 = g * GROUP, count = Math.min(GROUP, rows - r0), tiles = (count + MR - 1) / MR;
            Arrays.fill(c, 0, GROUP * cStride, 0f);
            if (count < tiles * MR) Arrays.fill(wp, 0f); // rows past the matrix stay zero
            for (int k0 = 0; k0 < cols; k0 += KC) {
                int len = Math.min(KC, cols - k0);
                long chunk = type.byteSize(k0);
                for (int i = 0; i < count; i++) kernel.dequantize(data, (r0 + i) * rowBytes + chunk, wp, i * KC, len);
                for (int blk = 0; blk < blocks; blk += 2) {
                    int x0 = (blk * cols + k0) * L;
                    for (int t = 0; t < tiles; t++) {
                        if (blk + 1 < blocks) wide(wp, t * MR * KC, len, xt, x0, x0 + cols * L, c, t * MR * cStride + blk * L, cStride);
                        else narrow(wp, t * MR * KC, len, xt, x0, c, t * MR * cStride + blk * L, cStride);
                    }
                }
            }
            for (int i = 0; i < count; i++) {
                for (int t = 0; t < n; t++) y[t * rows + r0 + i] = c[i * cStride + t];
            }
        });
    }

    /** xt[blk][k][j] = x[blk * L + j][k], zero for the tokens past n. */
    private static void pack(float[] x, int n, int cols, int blk, float[] xt) {
        int base = blk * cols * L;
        for (int j = 0; j < L; j++) {
            int t = blk * L + j;
            if (t < n) {
                for (int k = 0; k < cols; k++) xt[base + k * L + j] = x[t * cols + k];
            } else {
                for (int k = 0; k < cols; k++) xt[base + k * L + j] = 0f;
            }
        }
    }

    /**
     * c[r][0 .. 2L) += sum over k &lt; len of wp[wBase + r * KC + k] * (the 2L tokens' x[k]), for the MR rows of a
     * tile; the tokens' x[k] are at xt[x0 + k * L] (first L) and xt[x1 + k * L] (next L). Written for up to 10 rows: the
     * rows from MR on are behind tests of the constant MR, which the JIT folds, so they vanish where MR is smaller.
     */
    private static void wide(float[] wp, int wBase, int len, float[] xt, int x0, int x1, float[] c, int cBase, int cStride) {
        FloatVector c0a = load(c, cBase), c0b = load(c, cBase + L);
        FloatVector c1a = load(c, cBase + 1 * cStride), c1b = load(c, cBase + 1 * cStride + L);
        FloatVector c2a = load(c, cBase + 2 * cStride), c2b = load(c, cBase + 2 * cStride + L);
        FloatVector c3a = load(c, cBase + 3 * cStride), c3b = load(c, cBase + 3 * cStride + L);
        FloatVector c4a = MR > 4 ? load(c, cBase + 4 * cStride) : Z, c4b = MR > 4 ? load(c, cBase + 4 * cStride + L) : Z;
        FloatVector c5a = MR > 5 ? load(c, cBase + 5 * cStride) : Z, c5b = MR > 5 ? load(c, cBase + 5 * cStride + L) : Z;
        FloatVector c6a = MR > 6 ? load(c, cBase + 6 * cStride) : Z, c6b = MR > 6 ? load(c, cBase + 6 * cStride + L) : Z;
        FloatVector c7a = MR > 7 ? load(c, cBase + 7 * cStride) : Z, c7b = MR > 7 ? load(c, cBase + 7 * cStride + L) : Z;
        FloatVector c8a = MR > 8 ? load(c, cBase + 8 * cStride) : Z, c8b = MR > 8 ? load(c, cBase + 8 * cStride + L) : Z;
        FloatVector c9a = MR > 9 ? load(c, cBase + 9 * cStride) : Z, c9b = MR > 9 ? load(c, cBase + 9 * cStride + L) : Z;
        for (int k = 0; k < len; k++) {
            FloatVector xa = FloatVector.fromArray(F, xt, x0 + k * L), xb = FloatVector.fromArray(F, xt, x1 + k * L), w;
            w = FloatVector.broadcast(F, wp[wBase + k]); c0a = xa.fma(w, c0a); c0b = xb.fma(w, c0b);
            w = FloatVector.broadcast(F, wp[wBase + 1 * KC + k]); c1a = xa.fma(w, c1a); c1b = xb.fma(w, c1b);
            w = FloatVector.broadcast(F, wp[wBase + 2 * KC + k]); c2a = xa.fma(w, c2a); c2b = xb.fma(w, c2b);
            w = FloatVector.broadcast(F, wp[wBase + 3 * KC + k]); c3a = xa.fma(w, c3a); c3b = xb.fma(w, c3b);
            if (MR > 4) { w = FloatVector.broadcast(F, wp[wBase + 4 * KC + k]); c4a = xa.fma(w, c4a); c4b = xb.fma(w, c4b); }
            if (MR > 5) { w = FloatVector.broadcast(F, wp[wBase + 5 * KC + k]); c5a = xa.fma(w, c5a); c5b = xb.fma(w, c5b); }
            if (MR > 6) { w = FloatVector.broadcast(F, wp[wBase + 6 * KC + k]); c6a = xa.fma(w, c6a); c6b = xb.fma(w, c6b); }
            if (MR > 7) { w = FloatVector.broadcast(F, wp[wBase + 7 * KC + k]); c7a = xa.fma(w, c7a); c7b = xb.fma(w, c7b); }
            if (MR > 8) { w = FloatVector.broadcast(F, wp[wBase + 8 * KC + k]); c8a = xa.fma(w, c8a); c8b = xb.fma(w, c8b); }
            if (MR > 9) { w = FloatVector.broadcast(F, wp[wBase + 9 * KC + k]); c9a = xa.fma(w, c9a); c9b = xb.fma(w, c9b); }
        }
        c0a.intoArray(c, cBase); c0b.intoArray(c, cBase + L);
        c1a.intoArray(c, cBase + 1 * cStride); c1b.intoArray(c, cBase + 1 * cStride + L);
        c2a.intoArray(c, cBase + 2 * cStride); c2b.intoArray(c, cBase + 2 * cStride + L);
        c3a.intoArray(c, cBase + 3 * cStride); c3b.intoArray(c, cBase + 3 * cStride + L);
        if (MR > 4) { c4a.intoArray(c, cBase + 4 * cStride); c4b.intoArray(c, cBase + 4 * cStride + L); }
        if (MR > 5) { c5a.intoArray(c, cBase + 5 * cStride); c5b.intoArray(c, cBase + 5 * cStride + L); }
        if (MR > 6) { c6a.intoArray(c, cBase + 6 * cStride); c6b.intoArray(c, cBase + 6 * cStride + L); }
        if (MR > 7) { c7a.intoArray(c, cBase + 7 * cStride); c7b.intoArray(c, cBase + 7 * cStride + L); }
        if (MR > 8) { c8a.intoArray(c, cBase + 8 * cStride); c8b.intoArray(c, cBase + 8 * cStride + L); }
        if (MR > 9) { c9a.intoArray(c, cBase + 9 * cStride); c9b.intoArray(c, cBase + 9 * cStride + L); }
    }

    /** {@link #wide} for a last block of L tokens. */
    private static void narrow(float[] wp, int wBase, int len, float[] xt, int x0, float[] c, int cBase, int cStride) {
        FloatVector c0 = load(c, cBase);
        FloatVector c1 = load(c, cBase + 1 * cStride);
        FloatVector c2 = load(c, cBase + 2 * cStride);
        FloatVector c3 = load(c, cBase + 3 * cStride);
        FloatVector c4 = MR > 4 ? load(c, cBase + 4 * cStride) : Z;
        FloatVector c5 = MR > 5 ? load(c, cBase + 5 * cStride) : Z;
        FloatVector c6 = MR > 6 ? load(c, cBase + 6 * cStride) : Z;
        FloatVector c7 = MR > 7 ? load(c, cBase + 7 * cStride) : Z;
        FloatVector c8 = MR > 8 ? load(c, cBase + 8 * cStride) : Z;
        FloatVector c9 = MR > 9 ? load(c, cBase + 9 * cStride) : Z;
        for (int k = 0; k < len; k++) {
            FloatVector xa = FloatVector.fromArray(F, xt, x0 + k * L);
            c0 = xa.fma(FloatVector.broadcast(F, wp[wBase + k]), c0);
            c1 = xa.fma(FloatVector.broadcast(F, wp[wBase + 1 * KC + k]), c1);
            c2 = xa.fma(FloatVector.broadcast(F, wp[wBase + 2 * KC + k]), c2);
            c3 = xa.fma(FloatVector.broadcast(F, wp[wBase + 3 * KC + k]), c3);
            if (MR > 4) c4 = xa.fma(FloatVector.broadcast(F, wp[wBase + 4 * KC + k]), c4);
            if (MR > 5) c5 = xa.fma(FloatVector.broadcast(F, wp[wBase + 5 * KC + k]), c5);
            if (MR > 6) c6 = xa.fma(FloatVector.broadcast(F, wp[wBase + 6 * KC + k]), c6);
            if (MR > 7) c7 = xa.fma(FloatVector.broadcast(F, wp[wBase + 7 * KC + k]), c7);
            if (MR > 8) c8 = xa.fma(FloatVector.broadcast(F, wp[wBase + 8 * KC + k]), c8);
            if (MR > 9) c9 = xa.fma(FloatVector.broadcast(F, wp[wBase + 9 * KC + k]), c9);
        }
        c0.intoArray(c, cBase);
        c1.intoArray(c, cBase + 1 * cStride);
        c2.intoArray(c, cBase + 2 * cStride);
        c3.intoArray(c, cBase + 3 * cStride);
        if (MR > 4) c4.intoArray(c, cBase + 4 * cStride);
        if (MR > 5) c5.intoArray(c, cBase + 5 * cStride);
        if (MR > 6) c6.intoArray(c, cBase + 6 * cStride);
        if (MR > 7) c7.intoArray(c, cBase + 7 * cStride);
        if (MR > 8) c8.intoArray(c, cBase + 8 * cStride);
        if (MR > 9) c9.intoArray(c, cBase + 9 * cStride);
    }

    private static FloatVector load(float[] a, int i) {
        return FloatVector.fromArray(F, a, i);
    }

    private static float[] scratch(ThreadLocal<float[]> local, int size) {
        float[] a = local.get();
        if (a == null || a.length < size) {
            a = new float[size];
            local.set(a);
        }
        return a;
    }
}
