package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;

/**
 * Prefill's matrix product Y[t][r] = W[r] . X[t] for any weight type: each thread dequantizes a panel of
 * {@link #PANEL} rows into floats (so each weight is decoded once per call) and multiplies it with all
 * tokens in an fp32 register-blocked micro-kernel.
 *
 * <p>The micro-kernel holds a 12-row x 2L-token tile of Y in 24 vector registers and walks k: per step it
 * loads the 2L tokens' x[k] as two vectors and broadcasts each row's w[k], 24 FMAs for 14 loads. Vectors run
 * over tokens, not over k, so no horizontal sums are needed; for that X is first repacked token-block-major
 * ({@code xt[block][k][token]}), a cost of one pass over X per call.
 */
final class Gemm {
    static final int PANEL = 12;
    /** Tokens per micro-kernel tile: two vectors. */
    static final int TB = 2 * L;

    private static final ThreadLocal<float[]> PACKED_X = new ThreadLocal<>();
    private static final ThreadLocal<float[]> PANEL_W = new ThreadLocal<>();
    private static final ThreadLocal<float[]> TILE = new ThreadLocal<>();

    private Gemm() {}

    static void matmul(RowKernel kernel, MemorySegment data, long rowBytes, int rows, int cols, float[] x, int n, float[] y) {
        int blocks = (n + TB - 1) / TB;
        float[] xt = scratch(PACKED_X, blocks * cols * TB);
        Parallel.forEach(blocks, blk -> pack(x, n, cols, blk, xt));
        int panels = (rows + PANEL - 1) / PANEL;
        Parallel.forEach(panels, p -> {
            float[] wp = scratch(PANEL_W, PANEL * cols);
            float[] tile = scratch(TILE, PANEL * TB);
            int r0 = p * PANEL, count = Math.min(PANEL, rows - r0);
            for (int i = 0; i < count; i++) kernel.dequantize(data, (r0 + i) * rowBytes, wp, i * cols, cols);
            if (count < PANEL) java.util.Arrays.fill(wp, count * cols, PANEL * cols, 0f);
            for (int blk = 0; blk < blocks; blk++) {
                tile(wp, cols, xt, blk * cols * TB, tile);
                int t0 = blk * TB, tokens = Math.min(TB, n - t0);
                for (int i = 0; i < count; i++) {
                    for (int j = 0; j < tokens; j++) y[(t0 + j) * rows + r0 + i] = tile[i * TB + j];
                }
            }
        });
    }

    /** xt[blk][k][j] = x[blk * TB + j][k], zero for the tokens past n. */
    private static void pack(float[] x, int n, int cols, int blk, float[] xt) {
        int base = blk * cols * TB;
        for (int j = 0; j < TB; j++) {
            int t = blk * TB + j;
            if (t < n) {
                for (int k = 0; k < cols; k++) xt[base + k * TB + j] = x[t * cols + k];
            } else {
                for (int k = 0; k < cols; k++) xt[base + k * TB + j] = 0f;
            }
        }
    }

    /** tile[r][j] = wp[r] . xt-block[.][j] for the PANEL rows of wp and the TB tokens of the block at xBase. */
    private static void tile(float[] wp, int cols, float[] xt, int xBase, float[] tile) {
        FloatVector zero = FloatVector.zero(F);
        FloatVector c0a = zero, c0b = zero;
        FloatVector c1a = zero, c1b = zero;
        FloatVector c2a = zero, c2b = zero;
        FloatVector c3a = zero, c3b = zero;
        FloatVector c4a = zero, c4b = zero;
        FloatVector c5a = zero, c5b = zero;
        FloatVector c6a = zero, c6b = zero;
        FloatVector c7a = zero, c7b = zero;
        FloatVector c8a = zero, c8b = zero;
        FloatVector c9a = zero, c9b = zero;
        FloatVector c10a = zero, c10b = zero;
        FloatVector c11a = zero, c11b = zero;
        for (int k = 0, xo = xBase; k < cols; k++, xo += TB) {
            FloatVector xa = FloatVector.fromArray(F, xt, xo), xb = FloatVector.fromArray(F, xt, xo + L), w;
            w = FloatVector.broadcast(F, wp[k]);
            c0a = xa.fma(w, c0a);
            c0b = xb.fma(w, c0b);
            w = FloatVector.broadcast(F, wp[k + 1 * cols]);
            c1a = xa.fma(w, c1a);
            c1b = xb.fma(w, c1b);
            w = FloatVector.broadcast(F, wp[k + 2 * cols]);
            c2a = xa.fma(w, c2a);
            c2b = xb.fma(w, c2b);
            w = FloatVector.broadcast(F, wp[k + 3 * cols]);
            c3a = xa.fma(w, c3a);
            c3b = xb.fma(w, c3b);
            w = FloatVector.broadcast(F, wp[k + 4 * cols]);
            c4a = xa.fma(w, c4a);
            c4b = xb.fma(w, c4b);
            w = FloatVector.broadcast(F, wp[k + 5 * cols]);
            c5a = xa.fma(w, c5a);
            c5b = xb.fma(w, c5b);
            w = FloatVector.broadcast(F, wp[k + 6 * cols]);
            c6a = xa.fma(w, c6a);
            c6b = xb.fma(w, c6b);
            w = FloatVector.broadcast(F, wp[k + 7 * cols]);
            c7a = xa.fma(w, c7a);
            c7b = xb.fma(w, c7b);
            w = FloatVector.broadcast(F, wp[k + 8 * cols]);
            c8a = xa.fma(w, c8a);
            c8b = xb.fma(w, c8b);
            w = FloatVector.broadcast(F, wp[k + 9 * cols]);
            c9a = xa.fma(w, c9a);
            c9b = xb.fma(w, c9b);
            w = FloatVector.broadcast(F, wp[k + 10 * cols]);
            c10a = xa.fma(w, c10a);
            c10b = xb.fma(w, c10b);
            w = FloatVector.broadcast(F, wp[k + 11 * cols]);
            c11a = xa.fma(w, c11a);
            c11b = xb.fma(w, c11b);
        }
        c0a.intoArray(tile, 0);
        c0b.intoArray(tile, L);
        c1a.intoArray(tile, 1 * TB);
        c1b.intoArray(tile, 1 * TB + L);
        c2a.intoArray(tile, 2 * TB);
        c2b.intoArray(tile, 2 * TB + L);
        c3a.intoArray(tile, 3 * TB);
        c3b.intoArray(tile, 3 * TB + L);
        c4a.intoArray(tile, 4 * TB);
        c4b.intoArray(tile, 4 * TB + L);
        c5a.intoArray(tile, 5 * TB);
        c5b.intoArray(tile, 5 * TB + L);
        c6a.intoArray(tile, 6 * TB);
        c6b.intoArray(tile, 6 * TB + L);
        c7a.intoArray(tile, 7 * TB);
        c7b.intoArray(tile, 7 * TB + L);
        c8a.intoArray(tile, 8 * TB);
        c8b.intoArray(tile, 8 * TB + L);
        c9a.intoArray(tile, 9 * TB);
        c9b.intoArray(tile, 9 * TB + L);
        c10a.intoArray(tile, 10 * TB);
        c10b.intoArray(tile, 10 * TB + L);
        c11a.intoArray(tile, 11 * TB);
        c11b.intoArray(tile, 11 * TB + L);
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
