package clusterkv.cluster;

import clusterkv.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * K-means' assignment step: for every (normalized) key the cluster whose normalized centroid has the largest
 * dot product with it, ties to the lowest cluster id.
 *
 * <p>This is a matrix product keys[n x d] . centroids^T[d x k] followed by a row argmax, and it is almost all
 * of K-means' time, so it is register-tiled like {@code clusterkv.tensor.Gemm}: a micro-kernel holds a
 * {@link #KB}-key x {@link #CB}-centroid tile of scores in 8 vector registers and walks d, per step loading
 * two centroid vectors and broadcasting each key's component (8 FMAs for 6 loads). For that the centroids
 * are repacked block-major ({@code packed[block][j][lane]}), so that vectors run over centroids and no
 * horizontal sums are needed. After each block the tile's scores are folded into a lane-wise running argmax
 * (each lane keeps its best score and cluster id), so only one cross-lane reduction per key is left at the end.
 *
 * <p>Not thread-safe: one instance per K-means run; the key tiles are spread over {@link Parallel}.
 */
final class CosineArgmax {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Centroids per block: two vectors. */
    static final int CB = 2 * L;
    /**
     * Keys per micro-kernel tile. Four, on every vector shape: 8 accumulators, 2 centroid vectors and the
     * broadcasts fit even AVX2's 16 registers, and the shorter tile measured faster everywhere (KMeansBench 32768
     * keys, d 64, 400 clusters, best GFLOP/s on a Zen 4): AVX-512 206-212 with 12 keys, 212-214 with 4; AVX2
     * (-XX:UseAVX=2) 122-129 against 203-215; 128-bit vectors 104 against 117.
     */
    static final int KB = 4;

    private final int d, k, blocks;
    /** Normalized centroids, block-major: packed[blk * d * CB + j * CB + lane] = c[blk * CB + lane][j]. */
    private final float[] packed;
    /**
     * Start value of each score: 0 for a real cluster, -inf for the padding lanes of the last block, so that
     * padding never wins (-inf + finite stays -inf) at no cost in the inner loop.
     */
    private final float[] bias;
    /** Cluster id of each lane as a float (exact below 2^24), blended along with the scores. */
    private final float[] ids;

    CosineArgmax(int d, int k) {
        this.d = d;
        this.k = k;
        this.blocks = (k + CB - 1) / CB;
        this.packed = new float[blocks * d * CB];
        this.bias = new float[blocks * CB];
        this.ids = new float[blocks * CB];
        for (int c = 0; c < blocks * CB; c++) {
            ids[c] = c;
            bias[c] = c < k ? 0f : Float.NEGATIVE_INFINITY;
        }
    }

    /** Rows of keys padded to a whole number of tiles (the padding rows are computed and ignored). */
    static int paddedRows(int n) {
        return (n + KB - 1) / KB * KB;
    }

    /** Normalizes the k centroids (row-major [k][d]) into the packed layout. */
    void pack(float[] centroids) {
        for (int c = 0; c < k; c++) {
            float inv = inverseNorm(centroids, c * d, d);
            int base = (c / CB) * d * CB + c % CB;
            for (int j = 0; j < d; j++) packed[base + j * CB] = centroids[c * d + j] * inv;
        }
    }

    /** 1/|x|, or 0 for a zero vector (whose cosine with anything is then taken as 0). */
    static float inverseNorm(float[] x, int off, int d) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double) x[off + j] * x[off + j];
        return s > 0 ? (float) (1.0 / Math.sqrt(s)) : 0f;
    }

    /**
     * Assigns each of the n keys of {@code keys} (normalized, [paddedRows(n)][d]) to its best cluster, writing
     * {@code assignment}; returns whether any entry changed.
     */
    boolean assign(float[] keys, int n, int[] assignment) {
        int tiles = paddedRows(n) / KB;
        int grain = Math.max(1, tiles / (Parallel.threads() * 16));
        boolean[] changed = new boolean[1];
        Parallel.forRange(tiles, grain, (from, to) -> {
            Scratch scratch = new Scratch();
            boolean any = false;
            for (int t = from; t < to; t++) any |= tile(keys, t * KB, n, scratch, assignment);
            if (any) changed[0] = true;   // only ever set to true, so the racing writes agree
        });
        return changed[0];
    }

    /** Assigns the KB keys from row r0 (those below n); returns whether any assignment changed. */
    private boolean tile(float[] keys, int r0, int n, Scratch scratch, int[] assignment) {
        Arrays.fill(scratch.best, Float.NEGATIVE_INFINITY);
        Arrays.fill(scratch.bestId, 0f);
        for (int blk = 0; blk < blocks; blk++) {
            block(keys, r0 * d, blk, scratch.tile);
            FloatVector ia = FloatVector.fromArray(F, ids, blk * CB), ib = FloatVector.fromArray(F, ids, blk * CB + L);
            for (int r = 0; r < KB; r++) fold(scratch, r, ia, ib);
        }
        boolean changed = false;
        for (int r = 0; r < KB && r0 + r < n; r++) {
            int c = argmax(scratch.best, scratch.bestId, r);
            if (assignment[r0 + r] != c) {
                assignment[r0 + r] = c;
                changed = true;
            }
        }
        return changed;
    }

    /** tile[r][lane] = the score of key r (from keys[ko..]) against centroid blk * CB + lane (-inf for padding). */
    private void block(float[] keys, int ko, int blk, float[] tile) {
        int b = blk * CB;
        FloatVector ba = FloatVector.fromArray(F, bias, b), bb = FloatVector.fromArray(F, bias, b + L);
        FloatVector c0a = ba, c0b = bb, c1a = ba, c1b = bb, c2a = ba, c2b = bb, c3a = ba, c3b = bb;
        for (int j = 0, co = blk * d * CB; j < d; j++, co += CB) {
            FloatVector xa = FloatVector.fromArray(F, packed, co), xb = FloatVector.fromArray(F, packed, co + L), w;
            int kj = ko + j;
            w = FloatVector.broadcast(F, keys[kj]);
            c0a = xa.fma(w, c0a);
            c0b = xb.fma(w, c0b);
            w = FloatVector.broadcast(F, keys[kj + d]);
            c1a = xa.fma(w, c1a);
            c1b = xb.fma(w, c1b);
            w = FloatVector.broadcast(F, keys[kj + 2 * d]);
            c2a = xa.fma(w, c2a);
            c2b = xb.fma(w, c2b);
            w = FloatVector.broadcast(F, keys[kj + 3 * d]);
            c3a = xa.fma(w, c3a);
            c3b = xb.fma(w, c3b);
        }
        c0a.intoArray(tile, 0 * CB);
        c0b.intoArray(tile, 0 * CB + L);
        c1a.intoArray(tile, 1 * CB);
        c1b.intoArray(tile, 1 * CB + L);
        c2a.intoArray(tile, 2 * CB);
        c2b.intoArray(tile, 2 * CB + L);
        c3a.intoArray(tile, 3 * CB);
        c3b.intoArray(tile, 3 * CB + L);
    }

    /**
     * Lane-wise: keeps the better of (best so far, a, b) for key r. Within a lane the ids only grow (earlier
     * block, then a before b), so a strict '>' keeps the lowest id among equal scores.
     */
    private static void fold(Scratch s, int r, FloatVector ia, FloatVector ib) {
        float[] best = s.best, bestId = s.bestId;
        FloatVector a = FloatVector.fromArray(F, s.tile, r * CB), b = FloatVector.fromArray(F, s.tile, r * CB + L);
        VectorMask<Float> bWins = b.compare(VectorOperators.GT, a);
        FloatVector v = a.blend(b, bWins), id = ia.blend(ib, bWins);
        FloatVector old = FloatVector.fromArray(F, best, r * L);
        VectorMask<Float> better = v.compare(VectorOperators.GT, old);
        old.blend(v, better).intoArray(best, r * L);
        FloatVector.fromArray(F, bestId, r * L).blend(id, better).intoArray(bestId, r * L);
    }

    /**
     * Per-thread working memory of one tile. The scores go through memory between the micro-kernel and the
     * argmax on purpose: with the fold written out 12 times next to the micro-kernel, C2 stops inlining
     * (NodeCountInliningCutoff) and the vectors get boxed, 20x slower; a store and a load per score vector
     * cost little next to the d FMAs behind each.
     */
    private static final class Scratch {
        final float[] tile = new float[KB * CB];
        /** Lane-wise best score and its cluster id (as a float) of each key of the tile. */
        final float[] best = new float[KB * L];
        final float[] bestId = new float[KB * L];
    }

    /** Across the lanes of key r: the highest score, and among the lanes that have it the lowest id. */
    private static int argmax(float[] best, float[] bestId, int r) {
        FloatVector v = FloatVector.fromArray(F, best, r * L);
        float max = v.reduceLanes(VectorOperators.MAX);
        FloatVector id = FloatVector.fromArray(F, bestId, r * L);
        return (int) id.blend(Float.POSITIVE_INFINITY, v.compare(VectorOperators.NE, max)).reduceLanes(VectorOperators.MIN);
    }
}
