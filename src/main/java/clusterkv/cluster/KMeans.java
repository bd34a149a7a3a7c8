package clusterkv.cluster;

import clusterkv.tensor.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Cosine K-means over the keys of one KV head, as in ClusterKV: keys are assigned to the centroid of the
 * highest cosine similarity, centroids are the plain mean of their (raw, unnormalized) member keys.
 *
 * <p>Algorithm (fixed, so that results are reproducible from the seed):
 * <ol>
 *   <li>the initial centroids are the keys at k distinct positions drawn with {@code SplittableRandom(seed)}
 *       (a partial Fisher-Yates shuffle, see {@link #initialPositions});</li>
 *   <li>each of {@code iterations} rounds assigns every key to argmax_c cos(key, centroid_c) (ties to the lowest
 *       c), then sets each centroid to the mean of its members; an empty cluster keeps its centroid.</li>
 * </ol>
 * It stops early only when an assignment equals the previous one: the update would then reproduce the same
 * centroids, so every later round would too, and the result is identical to running all rounds.
 */
public final class KMeans {

    public static final int DEFAULT_ITERATIONS = 20;

    /**
     * @param centroids  [k][d] row-major, the mean of each cluster's member keys (the initial key for a
     *                   cluster that was empty throughout)
     * @param assignment [n] the cluster of each key, relative to the clustered range
     * @param sizes      [k] members per cluster
     */
    public record Result(float[] centroids, int[] assignment, int[] sizes) {
        public int clusters() {
            return sizes.length;
        }

        public int keys() {
            return assignment.length;
        }

        public int dim() {
            return centroids.length / sizes.length;
        }
    }

    private KMeans() {}

    /** Clusters n keys of dimension d (row-major from {@code off}) into k clusters with 20 rounds. */
    public static Result cluster(float[] keys, int off, int n, int d, int k, long seed) {
        return cluster(keys, off, n, d, k, DEFAULT_ITERATIONS, seed);
    }

    public static Result cluster(float[] keys, int off, int n, int d, int k, int iterations, long seed) {
        if (n < 1 || d < 1 || k < 1 || k > n || iterations < 1) {
            throw new IllegalArgumentException("need 1 <= k <= n, d >= 1 and iterations >= 1, got n=" + n
                    + " d=" + d + " k=" + k + " iterations=" + iterations);
        }
        return cluster(keys, off, n, d, initialPositions(n, k, seed), iterations);
    }

    /** The k distinct positions in [0, n) whose keys are the initial centroids: a seeded partial shuffle. */
    static int[] initialPositions(int n, int k, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        return Arrays.copyOf(perm, k);
    }

    /** K-means from the given initial positions (the test's entry point for an independent reference). */
    static Result cluster(float[] keys, int off, int n, int d, int[] initial, int iterations) {
        return cluster(keys, off, n, d, initial, iterations, true);
    }

    /** As above; without {@code earlyStop} every round runs (for benchmarks and for testing the early stop). */
    static Result cluster(float[] keys, int off, int n, int d, int[] initial, int iterations, boolean earlyStop) {
        int k = initial.length;
        float[] centroids = new float[k * d];
        for (int c = 0; c < k; c++) System.arraycopy(keys, off + initial[c] * d, centroids, c * d, d);
        float[] normalized = normalizedKeys(keys, off, n, d);
        CosineArgmax argmax = new CosineArgmax(d, k);
        int[] assignment = new int[n];
        int[] sizes = new int[k];
        int[] offsets = new int[k + 1];
        int[] members = new int[n];
        for (int it = 0; it < iterations; it++) {
            argmax.pack(centroids);
            // The first round has no previous assignment to compare with, so it always counts as a change.
            boolean changed = argmax.assign(normalized, n, assignment) || it == 0;
            group(assignment, k, sizes, offsets, members);
            if (!changed && earlyStop) break;
            updateCentroids(keys, off, d, offsets, members, centroids);
        }
        return new Result(centroids, assignment, sizes);
    }

    /** The keys scaled to unit length (zero keys stay zero), padded with zero rows to whole kernel tiles. */
    private static float[] normalizedKeys(float[] keys, int off, int n, int d) {
        float[] out = new float[CosineArgmax.paddedRows(n) * d];
        Parallel.forRange(n, 1024, (from, to) -> {
            for (int i = from; i < to; i++) {
                float inv = CosineArgmax.inverseNorm(keys, off + i * d, d);
                for (int j = 0; j < d; j++) out[i * d + j] = keys[off + i * d + j] * inv;
            }
        });
        return out;
    }

    /** Counting sort of the keys by cluster (CSR): members of c are members[offsets[c]..offsets[c+1]), ascending. */
    static void group(int[] assignment, int k, int[] sizes, int[] offsets, int[] members) {
        Arrays.fill(sizes, 0);
        for (int c : assignment) sizes[c]++;
        offsets[0] = 0;
        for (int c = 0; c < k; c++) offsets[c + 1] = offsets[c] + sizes[c];
        int[] next = Arrays.copyOf(offsets, k);
        for (int i = 0; i < assignment.length; i++) members[next[assignment[i]]++] = i;
    }

    /**
     * Each non-empty cluster's centroid becomes the mean of its raw member keys. Sums are in double, in member
     * order, so the result does not depend on the number of threads.
     */
    private static void updateCentroids(float[] keys, int off, int d, int[] offsets, int[] members, float[] centroids) {
        int k = offsets.length - 1;
        Parallel.forRange(k, 8, (from, to) -> {
            for (int c = from; c < to; c++) {
                if (offsets[c + 1] > offsets[c]) mean(keys, off, d, members, offsets[c], offsets[c + 1], centroids, c * d);
            }
        });
    }

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** As many floats as D has doubles, so that one load widens to one double vector. */
    private static final VectorSpecies<Float> FD = VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * 32));

    /**
     * out[outOff..+d) = mean of the keys members[from..to). A chunk of D.length() components at a time over all
     * members: the member rows of one cluster stay in L1 across the chunks, and the sums stay in a register.
     */
    private static void mean(float[] keys, int off, int d, int[] members, int from, int to, float[] out, int outOff) {
        double size = to - from;
        int j = 0;
        for (; j + D.length() <= d; j += D.length()) {
            DoubleVector sum = DoubleVector.zero(D);
            for (int m = from; m < to; m++) {
                sum = sum.add(FloatVector.fromArray(FD, keys, off + members[m] * d + j).convertShape(VectorOperators.F2D, D, 0));
            }
            ((FloatVector) sum.div(size).convertShape(VectorOperators.D2F, FD, 0)).intoArray(out, outOff + j);
        }
        for (; j < d; j++) {
            double sum = 0;
            for (int m = from; m < to; m++) sum += keys[off + members[m] * d + j];
            out[outOff + j] = (float) (sum / size);
        }
    }
}
