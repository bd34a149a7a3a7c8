package clusterkv.cluster;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class ClusterIndexTest {

    /** CSR invariants: offsets are the prefix sums of the sizes, members ascending within each cluster. */
    static void assertValid(ClusterIndex idx) {
        int[] sizes = idx.sizes(), offsets = idx.offsets(), members = idx.members();
        assertEquals(idx.clusterCount(), sizes.length);
        assertEquals(0, offsets[0]);
        for (int c = 0; c < sizes.length; c++) {
            assertEquals(offsets[c] + sizes[c], offsets[c + 1], "offsets[" + (c + 1) + "]");
            assertEquals(sizes[c], idx.size(c));
            assertEquals(offsets[c], idx.offset(c));
            for (int m = offsets[c] + 1; m < offsets[c + 1]; m++) assertTrue(members[m - 1] < members[m], "ascending");
        }
        assertEquals(idx.tokenCount(), offsets[sizes.length]);
        assertEquals(idx.tokenCount(), members.length);
        assertEquals(idx.clusterCount() * idx.dim(), idx.centroids().length);
    }

    @Test
    void scoresAgainstFloat64AndFourHeadsAtOnceEqualOneAtATime() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
        for (int d : new int[] {8, 64, 67}) {
            for (int k : new int[] {1, 15, 16, 17, 400}) {
                float[] centroids = new float[k * d];
                for (int i = 0; i < centroids.length; i++) centroids[i] = (float) rnd.nextGaussian();
                int[] assignment = new int[k], sizes = new int[k];
                for (int c = 0; c < k; c++) {
                    assignment[c] = c;
                    sizes[c] = 1;
                }
                ClusterIndex idx = ClusterIndex.build(new KMeans.Result(centroids, assignment, sizes), 0);
                float[] q = new float[5 * d];
                for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
                int padded = ClusterIndex.paddedClusters(k);
                float[][] one = new float[4][padded], four = new float[4][padded];
                for (int h = 0; h < 4; h++) idx.score(q, (h + 1) * d, one[h]);
                idx.score4(q, d, four[0], four[1], four[2], four[3]);
                for (int h = 0; h < 4; h++) {
                    assertArrayEquals(one[h], four[h], "d " + d + " k " + k + " head " + h);
                    for (int c = 0; c < k; c++) {
                        double want = 0;
                        for (int j = 0; j < d; j++) want += (double) q[(h + 1) * d + j] * centroids[c * d + j];
                        assertEquals(want, one[h][c], 1e-4 * (1 + Math.abs(want)), "d " + d + " k " + k + " cluster " + c);
                    }
                    for (int c = k; c < padded; c++) assertEquals(0f, one[h][c]);
                }
            }
        }
    }

    @Test
    void buildsCsrFromAssignment() {
        float[] centroids = {1, 0, 0, 1, 1, 1};
        KMeans.Result r = new KMeans.Result(centroids, new int[] {2, 0, 2, 1, 0, 2}, new int[] {2, 1, 3});
        ClusterIndex idx = ClusterIndex.build(r, 10);
        assertValid(idx);
        assertArrayEquals(new int[] {0, 2, 3, 6}, idx.offsets());
        assertArrayEquals(new int[] {11, 14, 13, 10, 12, 15}, idx.members());
        assertArrayEquals(idx.members(), idx.permutation());
        assertArrayEquals(centroids, idx.centroids());
        float[] c2 = new float[2];
        idx.copyCentroid(2, c2, 0);
        assertArrayEquals(new float[] {1, 1}, c2);
        int[] first = new int[2];
        idx.copyMembers(2, 2, first, 0);
        assertArrayEquals(new int[] {10, 12}, first);
    }

    @Test
    void permutationOfKMeansResultIsAPermutation() {
        int n = 777, d = 16;
        float[] keys = KMeansTest.clusteredKeys(n, d, 12, 3);
        KMeans.Result r = KMeans.cluster(keys, 0, n, d, 20, 5);
        ClusterIndex idx = ClusterIndex.build(r, 0);
        assertValid(idx);
        int[] p = idx.permutation().clone();
        Arrays.sort(p);
        for (int i = 0; i < n; i++) assertEquals(i, p[i]);
        // Each member sits in the cluster K-means put it in.
        for (int c = 0; c < idx.clusterCount(); c++) {
            for (int m = idx.offset(c); m < idx.offset(c) + idx.size(c); m++) assertEquals(c, r.assignment()[idx.member(m)]);
        }
    }

    @Test
    void appendAddsClustersAfterTheExistingOnes() {
        int d = 8;
        float[] prompt = KMeansTest.clusteredKeys(500, d, 6, 1);
        ClusterIndex idx = ClusterIndex.build(KMeans.cluster(prompt, 0, 500, d, 25, 1), 0);
        int[] sizesBefore = idx.sizes(), membersBefore = idx.members();
        float[] centroidsBefore = idx.centroids();

        // Many windows, to go past the initial capacity more than once.
        int first = 500;
        for (int w = 0; w < 20; w++) {
            float[] window = KMeansTest.clusteredKeys(320, d, 4, 100 + w);
            KMeans.Result r = KMeans.cluster(window, 0, 320, d, ClusterCount.forWindow(320, 1024), w);
            int k0 = idx.clusterCount();
            idx.append(r, first);
            assertValid(idx);
            for (int c = 0; c < r.clusters(); c++) {
                assertEquals(r.sizes()[c], idx.size(k0 + c));
                for (int m = idx.offset(k0 + c); m < idx.offset(k0 + c) + idx.size(k0 + c); m++) {
                    int token = idx.member(m);
                    assertTrue(token >= first && token < first + 320);
                    assertEquals(c, r.assignment()[token - first]);
                }
            }
            first += 320;
        }
        assertEquals(25 + 20 * 8, idx.clusterCount());
        assertEquals(first, idx.tokenCount());
        // The prompt's clusters are untouched.
        assertArrayEquals(sizesBefore, Arrays.copyOf(idx.sizes(), 25));
        assertArrayEquals(membersBefore, Arrays.copyOf(idx.members(), 500));
        assertArrayEquals(centroidsBefore, Arrays.copyOf(idx.centroids(), 25 * d));
        int[] p = idx.permutation().clone();
        Arrays.sort(p);
        for (int i = 0; i < first; i++) assertEquals(i, p[i]);
    }

    @Test
    void appendRejectsOtherDimension() {
        ClusterIndex idx = new ClusterIndex(4);
        KMeans.Result r = new KMeans.Result(new float[] {1, 2}, new int[] {0}, new int[] {1});
        assertThrows(IllegalArgumentException.class, () -> idx.append(r, 0));
    }

    @Test
    void appendRejectsSizesThatDoNotMatchTheAssignment() {
        ClusterIndex idx = new ClusterIndex(1);
        KMeans.Result r = new KMeans.Result(new float[] {1, 2}, new int[] {0, 0, 1}, new int[] {1, 2});
        assertThrows(IllegalArgumentException.class, () -> idx.append(r, 0));
        assertEquals(0, idx.clusterCount());
    }
}
