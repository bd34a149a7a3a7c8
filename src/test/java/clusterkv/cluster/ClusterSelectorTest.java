package clusterkv.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Small-integer data throughout, so that every dot product is exact in float32 and the brute force can demand
 * the exact order, ties included.
 */
class ClusterSelectorTest {

    static float[] smallInts(int count, SplittableRandom r) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) a[i] = r.nextInt(-3, 4);
        return a;
    }

    /** One cluster per token, its centroid the key itself. */
    static ClusterIndex perToken(float[] keys, int n, int d) {
        int[] assignment = new int[n], sizes = new int[n];
        for (int i = 0; i < n; i++) {
            assignment[i] = i;
            sizes[i] = 1;
        }
        return ClusterIndex.build(new KMeans.Result(keys.clone(), assignment, sizes), 0);
    }

    /** Cluster ids by (score descending, id ascending), by brute force. */
    static List<Integer> bruteOrder(double[] scores) {
        List<Integer> ids = new ArrayList<>();
        for (int c = 0; c < scores.length; c++) ids.add(c);
        ids.sort(Comparator.<Integer>comparingDouble(c -> -scores[c]).thenComparingInt(c -> c));
        return ids;
    }

    static double[] scores(float[] q, int qOff, int heads, float[] centroids, int k, int d) {
        double[] s = new double[k];
        for (int c = 0; c < k; c++) {
            for (int h = 0; h < heads; h++) {
                for (int j = 0; j < d; j++) s[c] += (double) q[qOff + h * d + j] * centroids[c * d + j];
            }
        }
        return s;
    }

    @Test
    void perTokenClustersSelectTheTopBudgetKeys() {
        SplittableRandom r = new SplittableRandom(1);
        int n = 600, d = 16;
        float[] keys = smallInts(n * d, r);
        ClusterIndex idx = perToken(keys, n, d);
        ClusterSelector sel = new ClusterSelector();
        int[] clusters = new int[n], take = new int[n];
        for (int trial = 0; trial < 20; trial++) {
            float[] q = smallInts(d + 3, r);
            List<Integer> expected = bruteOrder(scores(q, 3, 1, keys, n, d));
            for (int budget : new int[] {1, 2, 17, 64, 599, 600, 10_000}) {
                int chosen = sel.select(q, 3, idx, budget, clusters, take);
                assertEquals(Math.min(budget, n), chosen);
                for (int i = 0; i < chosen; i++) {
                    assertEquals(expected.get(i), clusters[i], "rank " + i + " at budget " + budget);
                    assertEquals(1, take[i]);
                }
            }
        }
    }

    @Test
    void budgetCoveringEverythingSelectsEverything() {
        SplittableRandom r = new SplittableRandom(2);
        int n = 300, d = 8, k = 13;
        float[] keys = KMeansTest.clusteredKeys(n, d, 5, 2);
        ClusterIndex idx = ClusterIndex.build(KMeans.cluster(keys, 0, n, d, k, 3), 0);
        int[] clusters = new int[k], take = new int[k];
        int nonEmpty = 0;
        for (int c = 0; c < k; c++) if (idx.size(c) > 0) nonEmpty++;
        int chosen = new ClusterSelector().select(smallInts(d, r), 0, idx, n, clusters, take);
        assertEquals(nonEmpty, chosen);
        int total = 0;
        for (int i = 0; i < chosen; i++) {
            assertEquals(idx.size(clusters[i]), take[i]);
            total += take[i];
        }
        assertEquals(n, total);
    }

    @Test
    void lastClusterIsTruncatedToItsFirstMembers() {
        // Clusters of sizes 4, 3, 5 with centroids scoring 1, 3, 2 against q = (1, 0).
        int[] assignment = {0, 2, 1, 0, 2, 1, 2, 0, 2, 0, 1, 2};
        ClusterIndex idx = ClusterIndex.build(
                new KMeans.Result(new float[] {1, 0, 3, 0, 2, 0}, assignment, new int[] {4, 3, 5}), 100);
        float[] q = {1, 0};
        int[] clusters = new int[3], take = new int[3];
        ClusterSelector sel = new ClusterSelector();

        assertEquals(2, sel.select(q, 0, idx, 6, clusters, take));
        assertArrayEquals(new int[] {1, 2}, new int[] {clusters[0], clusters[1]});
        assertArrayEquals(new int[] {3, 3}, new int[] {take[0], take[1]});
        int[] tokens = new int[3];
        idx.copyMembers(2, take[1], tokens, 0);
        assertArrayEquals(new int[] {101, 104, 106}, tokens);   // cluster 2 is {101, 104, 106, 108, 111}

        assertEquals(3, sel.select(q, 0, idx, 9, clusters, take));
        assertArrayEquals(new int[] {1, 2, 0}, clusters);
        assertArrayEquals(new int[] {3, 5, 1}, take);

        assertEquals(1, sel.select(q, 0, idx, 3, clusters, take));
        assertEquals(0, sel.select(q, 0, idx, 0, clusters, take));
    }

    @Test
    void emptyClustersAreSkippedAndTiesGoToTheLowerId() {
        // Cluster 1 is empty and has the best score; clusters 0 and 2 tie.
        ClusterIndex idx = ClusterIndex.build(
                new KMeans.Result(new float[] {1, 1, 5, 5, 1, 1}, new int[] {2, 0, 2}, new int[] {1, 0, 2}), 0);
        int[] clusters = new int[3], take = new int[3];
        assertEquals(2, new ClusterSelector().select(new float[] {1, 1}, 0, idx, 10, clusters, take));
        assertArrayEquals(new int[] {0, 2}, new int[] {clusters[0], clusters[1]});
        assertArrayEquals(new int[] {1, 2}, new int[] {take[0], take[1]});
    }

    @Test
    void sharedSelectionUsesTheSummedScores() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 2000, d = 32, k = 90, heads = 4;
        float[] keys = KMeansTest.clusteredKeys(n, d, 30, 4);
        KMeans.Result km = KMeans.cluster(keys, 0, n, d, k, 4);
        // Integer centroids, so that the scores are exact; the real sizes and members.
        float[] centroids = smallInts(k * d, r);
        ClusterIndex idx = ClusterIndex.build(new KMeans.Result(centroids, km.assignment(), km.sizes()), 0);
        ClusterSelector sel = new ClusterSelector();
        int[] clusters = new int[k], take = new int[k];
        for (int trial = 0; trial < 10; trial++) {
            float[] q = smallInts(5 + heads * d, r);
            List<Integer> order = bruteOrder(scores(q, 5, heads, centroids, k, d));
            for (int budget : new int[] {1, 100, 512, 1999, 5000}) {
                int chosen = sel.selectShared(q, 5, heads, idx, budget, clusters, take);
                int remaining = budget, i = 0;
                for (int c : order) {
                    if (remaining == 0) break;
                    if (idx.size(c) == 0) continue;
                    assertEquals(c, clusters[i], "rank " + i);
                    assertEquals(Math.min(idx.size(c), remaining), take[i]);
                    remaining -= take[i++];
                }
                assertEquals(i, chosen);
            }
        }
    }

    @Test
    void sharedWithOneHeadEqualsSingle() {
        SplittableRandom r = new SplittableRandom(5);
        int n = 200, d = 16;
        ClusterIndex idx = perToken(smallInts(n * d, r), n, d);
        float[] q = smallInts(d, r);
        ClusterSelector sel = new ClusterSelector();
        int[] c1 = new int[n], t1 = new int[n], c2 = new int[n], t2 = new int[n];
        assertEquals(sel.select(q, 0, idx, 50, c1, t1), sel.selectShared(q, 0, 1, idx, 50, c2, t2));
        assertArrayEquals(c1, c2);
        assertArrayEquals(t1, t2);
    }

    /** The expected (cluster, take) list for the given scores by brute force: full sort, then fill the budget. */
    static List<int[]> bruteSelection(double[] scores, ClusterIndex idx, int budget) {
        List<int[]> out = new ArrayList<>();
        int remaining = budget;
        for (int c : bruteOrder(scores)) {
            if (remaining <= 0) break;
            if (idx.size(c) == 0) continue;
            int take = Math.min(idx.size(c), remaining);
            out.add(new int[] {c, take});
            remaining -= take;
        }
        return out;
    }

    static void assertSelection(List<int[]> expected, int chosen, int[] clusters, int[] take, String what) {
        assertEquals(expected.size(), chosen, what + ": clusters chosen");
        for (int i = 0; i < chosen; i++) {
            assertEquals(expected.get(i)[0], clusters[i], what + ": cluster at rank " + i);
            assertEquals(expected.get(i)[1], take[i], what + ": take at rank " + i);
        }
    }

    @Test
    void floatScoresAreAccurateAndTheirOrderIsExact() {
        // Real-valued data: many distinct scores, more clusters than histogram buckets, uneven sizes.
        SplittableRandom r = new SplittableRandom(7);
        int n = 24_000, d = 64, k = 1500;
        float[] keys = KMeansTest.clusteredKeys(n, d, 300, 8);
        ClusterIndex idx = ClusterIndex.build(KMeans.cluster(keys, 0, n, d, k, 4, 9), 0);
        float[] centroids = idx.centroids();
        ClusterSelector sel = new ClusterSelector();
        int[] clusters = new int[k], take = new int[k];
        for (int trial = 0; trial < 5; trial++) {
            float[] q = new float[d];
            for (int j = 0; j < d; j++) q[j] = (float) KMeansTest.gaussian(r);
            double[] exact = scores(q, 0, 1, centroids, k, d);
            for (int budget : new int[] {1, 16, 333, 2048, 10_000, n - 1, n, 2 * n}) {
                int chosen = sel.select(q, 0, idx, budget, clusters, take);
                float[] got = sel.lastScores();
                double[] asDouble = new double[k];
                for (int c = 0; c < k; c++) {
                    assertEquals(exact[c], got[c], 1e-4 * (1 + Math.abs(exact[c])), "score of cluster " + c);
                    asDouble[c] = got[c];
                }
                // Exactly the order of the selector's own float32 scores (ties to the lower id).
                assertSelection(bruteSelection(asDouble, idx, budget), chosen, clusters, take, "budget " + budget);
            }
        }
    }

    /** The estimation zone: the clusters ranked right after the chosen ones, by brute force over the same scores. */
    @Test
    void nextClustersAreTheBestOfTheRestInOrder() {
        SplittableRandom r = new SplittableRandom(8);
        int n = 3000, d = 16, k = 300;
        float[] keys = smallInts(n * d, r);
        int[] assignment = new int[n], sizes = new int[k];
        for (int i = 0; i < n; i++) sizes[assignment[i] = r.nextInt(k - 5)]++; // the last 5 clusters stay empty
        float[] centroids = smallInts(k * d, r);
        ClusterIndex idx = ClusterIndex.build(new KMeans.Result(centroids, assignment, sizes), 0);
        ClusterSelector sel = new ClusterSelector();
        int[] clusters = new int[k], take = new int[k], next = new int[64];
        for (int trial = 0; trial < 20; trial++) {
            float[] q = smallInts(d, r);
            int budget = 1 + r.nextInt(400), want = r.nextInt(1, 64);
            int chosen = sel.select(q, 0, idx, budget, clusters, take);
            int m = sel.next(idx, clusters, chosen, want, next);
            java.util.Set<Integer> taken = new java.util.HashSet<>();
            for (int i = 0; i < chosen; i++) taken.add(clusters[i]);
            List<Integer> expected = bruteOrder(scores(q, 0, 1, centroids, k, d)).stream()
                    .filter(c -> !taken.contains(c) && sizes[c] > 0).limit(want).toList();
            assertEquals(expected, java.util.Arrays.stream(next, 0, m).boxed().toList(), "trial " + trial);
        }
    }

    @Test
    void manyEqualScoresFallBackToTheExactSort() {
        // 2000 clusters with only 3 distinct scores (and some empty clusters): the cut bucket holds hundreds.
        int k = 2000, d = 4;
        float[] centroids = new float[k * d];
        int[] sizes = new int[k];
        List<Integer> assignment = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            centroids[c * d] = c % 3;
            sizes[c] = c % 7 == 0 ? 0 : 1 + c % 5;
            for (int i = 0; i < sizes[c]; i++) assignment.add(c);
        }
        int[] a = assignment.stream().mapToInt(Integer::intValue).toArray();
        ClusterIndex idx = ClusterIndex.build(new KMeans.Result(centroids, a, sizes), 0);
        ClusterSelector sel = new ClusterSelector();
        int[] clusters = new int[k], take = new int[k];
        float[] q = {1, 0, 0, 0};
        double[] exact = scores(q, 0, 1, centroids, k, d);
        for (int budget : new int[] {1, 5, 100, 1500, 4000, a.length}) {
            int chosen = sel.select(q, 0, idx, budget, clusters, take);
            assertSelection(bruteSelection(exact, idx, budget), chosen, clusters, take, "budget " + budget);
        }
        // All scores equal: plain id order.
        int chosen = sel.select(new float[] {0, 1, 0, 0}, 0, idx, 50, clusters, take);
        assertSelection(bruteSelection(new double[k], idx, 50), chosen, clusters, take, "all equal");
    }

    @Test
    void sortsSmallAndLargeRanges() {
        SplittableRandom r = new SplittableRandom(21);
        for (int m : new int[] {0, 1, 2, 47, 48, 49, 50, 1000}) {
            long[] a = new long[m + 5];
            for (int i = 0; i < a.length; i++) a[i] = r.nextLong(-50, 50);   // duplicates included
            long[] expected = a.clone();
            java.util.Arrays.sort(expected, 0, m);
            ClusterSelector.sort(a, m);
            assertArrayEquals(expected, a, "m = " + m);
        }
    }

    @Test
    void orderKeyIsDescendingScoreThenAscendingId() {
        float[] values = {Float.NEGATIVE_INFINITY, -1e30f, -2.5f, -1f, -Float.MIN_VALUE, -0f, 0f, Float.MIN_VALUE, 1f, 2.5f, 1e30f,
                Float.POSITIVE_INFINITY};
        for (int i = 0; i < values.length; i++) {
            for (int j = 0; j < values.length; j++) {
                int expected = -Float.compare(values[i] + 0f, values[j] + 0f);
                if (expected == 0) expected = Integer.compare(i, j);
                assertEquals(Integer.signum(expected),
                        Long.signum(Long.compare(ClusterSelector.order(values[i], i), ClusterSelector.order(values[j], j))),
                        values[i] + " vs " + values[j]);
            }
        }
    }
}
