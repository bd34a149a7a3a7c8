package clusterkv.cluster;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class KMeansTest {

    /** Keys around `centers` random directions, with random norms (cosine K-means must not care). */
    static float[] clusteredKeys(int n, int d, int centers, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] c = new float[centers][d];
        for (float[] row : c) for (int j = 0; j < d; j++) row[j] = (float) gaussian(r);
        float[] keys = new float[n * d];
        for (int i = 0; i < n; i++) {
            float[] center = c[r.nextInt(centers)];
            double scale = 0.5 + 2 * r.nextDouble();
            for (int j = 0; j < d; j++) keys[i * d + j] = (float) (scale * (center[j] + 0.35 * gaussian(r)));
        }
        return keys;
    }

    static double gaussian(SplittableRandom r) {
        return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
    }

    // ---- an independent float64 reference -------------------------------------------------------------

    /** The reference's own sampling: partial Fisher-Yates over 0..n-1 with SplittableRandom(seed). */
    static int[] referencePositions(int n, int k, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return Arrays.copyOf(p, k);
    }

    /** Brute-force cosine K-means in double, all iterations, no early stop. */
    static final class Reference {
        final double[][] centroids;
        final int[] assignment;
        /** For each key, the gap between its best and second-best cosine in the last assignment. */
        final double[] gap;

        Reference(float[] keys, int n, int d, int[] init, int iterations) {
            int k = init.length;
            double[][] x = new double[n][d], unit = new double[n][d];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < d; j++) x[i][j] = keys[i * d + j];
                unit[i] = normalize(x[i]);
            }
            centroids = new double[k][];
            for (int c = 0; c < k; c++) centroids[c] = x[init[c]].clone();
            assignment = new int[n];
            gap = new double[n];
            for (int it = 0; it < iterations; it++) {
                double[][] cu = new double[k][];
                for (int c = 0; c < k; c++) cu[c] = normalize(centroids[c]);
                for (int i = 0; i < n; i++) {
                    double best = Double.NEGATIVE_INFINITY, second = Double.NEGATIVE_INFINITY;
                    for (int c = 0; c < k; c++) {
                        double s = 0;
                        for (int j = 0; j < d; j++) s += unit[i][j] * cu[c][j];
                        if (s > best) {
                            second = best;
                            best = s;
                            assignment[i] = c;
                        } else if (s > second) {
                            second = s;
                        }
                    }
                    gap[i] = best - second;
                }
                double[][] sum = new double[k][d];
                int[] count = new int[k];
                for (int i = 0; i < n; i++) {
                    count[assignment[i]]++;
                    for (int j = 0; j < d; j++) sum[assignment[i]][j] += x[i][j];
                }
                for (int c = 0; c < k; c++) {
                    if (count[c] == 0) continue;
                    for (int j = 0; j < d; j++) centroids[c][j] = sum[c][j] / count[c];
                }
            }
        }

        static double[] normalize(double[] v) {
            double s = 0;
            for (double e : v) s += e * e;
            double inv = s > 0 ? 1 / Math.sqrt(s) : 0;
            double[] u = new double[v.length];
            for (int j = 0; j < v.length; j++) u[j] = v[j] * inv;
            return u;
        }
    }

    private static void assertMatchesReference(int n, int d, int k, int centers, long seed) {
        float[] keys = clusteredKeys(n, d, centers, seed);
        int[] init = referencePositions(n, k, seed);
        assertArrayEquals(init, KMeans.initialPositions(n, k, seed), "same initial positions");
        assertEquals(k, Arrays.stream(init).distinct().count(), "initial positions are distinct");

        KMeans.Result got = KMeans.cluster(keys, 0, n, d, k, seed);
        Reference ref = new Reference(keys, n, d, init, KMeans.DEFAULT_ITERATIONS);

        int mismatches = 0;
        for (int i = 0; i < n; i++) {
            if (got.assignment()[i] != ref.assignment[i]) {
                mismatches++;
                assertTrue(ref.gap[i] <= 1e-5, "key " + i + ": " + got.assignment()[i] + " vs reference "
                        + ref.assignment[i] + " with a cosine gap of " + ref.gap[i]);
            }
        }
        assertTrue(mismatches <= n / 1000, mismatches + " near-tie mismatches");
        for (int c = 0; c < k; c++) {
            for (int j = 0; j < d; j++) {
                assertEquals(ref.centroids[c][j], got.centroids()[c * d + j], 1e-4, "centroid " + c + "[" + j + "]");
            }
        }
        int[] sizes = new int[k];
        for (int a : got.assignment()) sizes[a]++;
        assertArrayEquals(sizes, got.sizes());
    }

    @Test
    void matchesFloat64Reference() {
        assertMatchesReference(3000, 64, 50, 40, 1);
    }

    @Test
    void matchesReferenceWithRaggedShapes() {
        // n not a multiple of the key tile, k not a multiple of the centroid block, d not a vector multiple.
        assertMatchesReference(1001, 24, 37, 30, 2);
        assertMatchesReference(517, 128, 70, 20, 3);
        assertMatchesReference(50, 7, 3, 3, 4);
    }

    @Test
    void twoObviousClustersIn2D() {
        float[] keys = {1, 0.1f, 2, 0.1f, 1, -0.1f, 0.1f, 1, -0.1f, 2, 0, 1};
        KMeans.Result r = KMeans.cluster(keys, 0, 6, 2, new int[] {0, 3}, 20);
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, r.assignment());
        assertArrayEquals(new int[] {3, 3}, r.sizes());
        assertArrayEquals(new float[] {4f / 3, 0.1f / 3, 0, 4f / 3}, r.centroids(), 1e-6f);
    }

    @Test
    void keysAreReadFromTheOffset() {
        float[] keys = {9, 9, 9, 1, 0.1f, 2, 0.1f, 1, -0.1f, 0.1f, 1, -0.1f, 2, 0, 1};
        KMeans.Result r = KMeans.cluster(keys, 3, 6, 2, new int[] {0, 3}, 20);
        assertArrayEquals(new int[] {0, 0, 0, 1, 1, 1}, r.assignment());
    }

    @Test
    void emptyClusterKeepsItsCentroidAndTiesGoToTheLowestCluster() {
        // (1,0) and (2,0) have cosine 1 with both centroid 0 = (1,0) and centroid 1 = (2,0): the tie goes to 0,
        // so cluster 1 is empty from the start and keeps its initial centroid.
        float[] keys = {1, 0, 2, 0, 0, 1};
        KMeans.Result r = KMeans.cluster(keys, 0, 3, 2, new int[] {0, 1, 2}, 20);
        assertArrayEquals(new int[] {0, 0, 2}, r.assignment());
        assertArrayEquals(new int[] {2, 0, 1}, r.sizes());
        assertArrayEquals(new float[] {1.5f, 0, 2, 0, 0, 1}, r.centroids());
    }

    @Test
    void kEqualsNGivesEachKeyItsOwnCluster() {
        int n = 45, d = 16;
        float[] keys = clusteredKeys(n, d, n, 7);
        KMeans.Result r = KMeans.cluster(keys, 0, n, d, n, 11);
        int[] init = KMeans.initialPositions(n, n, 11);
        for (int c = 0; c < n; c++) {
            assertEquals(c, r.assignment()[init[c]]);
            assertEquals(1, r.sizes()[c]);
            assertArrayEquals(Arrays.copyOfRange(keys, init[c] * d, init[c] * d + d),
                    Arrays.copyOfRange(r.centroids(), c * d, c * d + d));
        }
    }

    @Test
    void earlyStopGivesTheSameResultAsAllRounds() {
        int n = 3000, d = 32, k = 20;
        float[] keys = clusteredKeys(n, d, 8, 12);   // converges well within 50 rounds
        int[] init = KMeans.initialPositions(n, k, 3);
        KMeans.Result early = KMeans.cluster(keys, 0, n, d, init, 50, true);
        KMeans.Result all = KMeans.cluster(keys, 0, n, d, init, 50, false);
        assertArrayEquals(all.assignment(), early.assignment());
        assertArrayEquals(all.centroids(), early.centroids());
        assertArrayEquals(all.sizes(), early.sizes());
    }

    @Test
    void sameSeedSameResult() {
        float[] keys = clusteredKeys(2000, 32, 10, 5);
        KMeans.Result a = KMeans.cluster(keys, 0, 2000, 32, 20, 99);
        KMeans.Result b = KMeans.cluster(keys, 0, 2000, 32, 20, 99);
        assertArrayEquals(a.assignment(), b.assignment());
        assertArrayEquals(a.centroids(), b.centroids());
    }

    @Test
    void rejectsBadArguments() {
        float[] keys = new float[10];
        assertThrows(IllegalArgumentException.class, () -> KMeans.cluster(keys, 0, 5, 2, 6, 1));
        assertThrows(IllegalArgumentException.class, () -> KMeans.cluster(keys, 0, 5, 2, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> KMeans.cluster(keys, 0, 5, 2, 2, 0, 1));
    }
}
