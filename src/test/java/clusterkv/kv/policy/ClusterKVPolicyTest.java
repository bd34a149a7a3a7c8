package clusterkv.kv.policy;

import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.Selection;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** ClusterKV against brute force: recall by content (slots are permuted into cluster order). */
class ClusterKVPolicyTest {

    private static PolicyConfig config(int budget, int sink, int window, int clusters, boolean shared) {
        return config(budget, sink, window, clusters, shared, false);
    }

    private static PolicyConfig config(int budget, int sink, int window, int clusters, boolean shared, boolean clusterCache) {
        return new PolicyConfig(budget, sink, window, clusters, 20, 0, shared, clusterCache, 16, 1);
    }

    /** The key stored at a slot, as a list so that it can be compared by content. */
    private static List<Float> keyAt(PolicyFixture f, int g, int slot) {
        float[] k = new float[f.d];
        f.kv.readKeys(g, slot, 1, k, 0);
        List<Float> out = new ArrayList<>();
        for (float x : k) out.add(x);
        return out;
    }

    private static List<Float> originalKey(PolicyFixture f, int p, int g) {
        List<Float> out = new ArrayList<>();
        for (int i = 0; i < f.d; i++) out.add(f.key(p, g, i));
        return out;
    }

    @Test
    void oneClusterPerTokenSelectsTheExactTopKeys() {
        int n = 96, budget = 33;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, n + 1, 3)) {
            LayerPolicy lp = new ClusterKVPolicy(config(budget, 0, 1, n, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, n, new float[0], 0);
            Selection[] perHead = new Selection[4];
            lp.select(f.kv, f.queries[n], n + 1, perHead);
            for (int h = 0; h < 4; h++) {
                int g = h / 2, hh = h;
                // brute force: the budget - 1 (the recent token) prompt keys of highest q.k
                Integer[] order = new Integer[n];
                for (int p = 0; p < n; p++) order[p] = p;
                Arrays.sort(order, Comparator.comparingDouble(p -> -dot(f, hh, p, g)));
                Set<List<Float>> expected = new HashSet<>();
                for (int i = 0; i < budget - 1; i++) expected.add(originalKey(f, order[i], g));
                Set<List<Float>> selected = new HashSet<>();
                for (int slot : PolicyFixture.slots(perHead[h])) if (slot < n) selected.add(keyAt(f, g, slot));
                assertEquals(expected, selected, "head " + h);
                assertEquals(budget, perHead[h].tokens(), "head " + h + " attends to exactly the budget");
                assertTrue(PolicyFixture.set(perHead[h]).contains(n), "the current token is attended");
            }
        }
    }

    /**
     * The adaptive budget, with one cluster per token (so a cluster's mean key is its key and its estimated mass is
     * exact): the best keys, in score order, until their share of the prompt's softmax mass reaches P.
     */
    @Test
    void topPTakesTheBestKeysUntilTheirShareOfTheMassReachesP() {
        int n = 96, budget = 80;
        for (float p : new float[]{0.5f, 0.9f, 0.99f}) {
            try (PolicyFixture f = new PolicyFixture(4, 2, 8, n + 1, 3)) {
                LayerPolicy lp = new ClusterKVPolicy(config(budget, 0, 1, n, false).withTopP(p)).forLayer(0, 4, 2, 8);
                lp.afterPrefill(f.kv, 0, n, new float[0], 0);
                Selection[] perHead = new Selection[4];
                lp.select(f.kv, f.queries[n], n + 1, perHead);
                for (int h = 0; h < 4; h++) {
                    int g = h / 2, hh = h;
                    Integer[] order = new Integer[n];
                    for (int t = 0; t < n; t++) order[t] = t;
                    Arrays.sort(order, Comparator.comparingDouble(t -> -dot(f, hh, t, g)));
                    double max = dot(f, hh, order[0], g) / Math.sqrt(f.d), total = 0;
                    for (int t = 0; t < n; t++) total += Math.exp(dot(f, hh, t, g) / Math.sqrt(f.d) - max);
                    Set<List<Float>> expected = new HashSet<>();
                    double reached = 0;
                    for (int i = 0; i < budget - 1 && reached < p * total; i++) {
                        reached += Math.exp(dot(f, hh, order[i], g) / Math.sqrt(f.d) - max);
                        expected.add(originalKey(f, order[i], g));
                    }
                    Set<List<Float>> selected = new HashSet<>();
                    for (int slot : PolicyFixture.slots(perHead[h])) if (slot < n) selected.add(keyAt(f, g, slot));
                    assertEquals(expected, selected, "P " + p + " head " + h);
                    assertTrue(expected.size() < budget - 1 || p == 0.99f, "P " + p + " attends fewer than the budget");
                }
            }
        }
    }

    private static double dot(PolicyFixture f, int h, int p, int g) {
        double s = 0;
        for (int i = 0; i < f.d; i++) s += (double) f.queries[f.capacity - 1][h * f.d + i] * f.key(p, g, i);
        return s;
    }

    @Test
    void clusteringKeepsEveryKeyAndLaysClustersOutContiguously() {
        int n = 200;
        try (PolicyFixture f = new PolicyFixture(2, 1, 8, n + 1, 5)) {
            LayerPolicy lp = new ClusterKVPolicy(config(64, 16, 0, 0, false)).forLayer(0, 2, 1, 8);
            lp.afterPrefill(f.kv, 0, n, new float[0], 0);
            Set<List<Float>> before = new HashSet<>(), after = new HashSet<>();
            for (int p = 0; p < n; p++) {
                before.add(originalKey(f, p, 0));
                after.add(keyAt(f, 0, p));
            }
            assertEquals(before, after, "the permutation keeps every key");
            for (int p = 0; p < 16; p++) assertEquals(originalKey(f, p, 0), keyAt(f, 0, p), "sinks stay in place");
            lp.truncate(f.kv, 100);
            for (int p = 0; p < 100; p++) assertEquals(originalKey(f, p, 0), keyAt(f, 0, p), "truncation restores arrival order");
        }
    }

    @Test
    void budgetHoldsWhileTheWindowFillsAndIsClustered() {
        int prompt = 300, steps = 200, budget = 80;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, prompt + steps, 9)) {
            for (boolean shared : new boolean[]{false, true}) {
                LayerPolicy lp = new ClusterKVPolicy(config(budget, 16, 0, 0, shared)).forLayer(0, 4, 2, 8);
                lp.afterPrefill(f.kv, 0, prompt, new float[0], 0);
                Selection[] perHead = new Selection[4];
                for (int len = prompt + 1; len <= prompt + steps; len++) {
                    lp.select(f.kv, f.queries[len - 1], len, perHead);
                    for (int h = 0; h < 4; h++) {
                        Set<Integer> slots = PolicyFixture.set(perHead[h]);
                        assertEquals(budget, slots.size(), "distinct tokens = budget at length " + len);
                        assertEquals(budget, perHead[h].tokens(), "no slot counted twice");
                        for (int s = 0; s < 16; s++) assertTrue(slots.contains(s), "sink " + s);
                        assertTrue(slots.contains(len - 1), "current token");
                    }
                    if (shared) assertSame(perHead[0], perHead[1], "a GQA group shares one selection");
                }
                long[] hits = lp.cacheHits();
                assertTrue(hits[1] > 0 && hits[0] <= hits[1]);
                lp.truncate(f.kv, 0);
            }
        }
    }

    @Test
    void theClusterCacheAttendsToTheSameTokensReadFromItsCopies() {
        // two identical caches, one policy with the cache and one without: the same tokens every step (by the slot
        // that stores them), through the window's clustering and a rewind; the cached one reads them in its region
        int prompt = 300, steps = 200, budget = 80, heads = 4, kvHeads = 2, d = 8;
        for (boolean shared : new boolean[]{false, true}) {
            PolicyConfig plain = config(budget, 16, 0, 0, shared), cached = config(budget, 16, 0, 0, shared, true);
            int spare = new ClusterKVPolicy(cached).spareSlots(heads, kvHeads, prompt + steps);
            assertEquals((shared ? 1 : 2) * (budget - 16), spare);
            assertEquals(0, new ClusterKVPolicy(cached).spareSlots(heads, kvHeads, budget), "a budget covering the cache needs none");
            try (PolicyFixture a = new PolicyFixture(heads, kvHeads, d, prompt + steps, 9);
                 PolicyFixture b = new PolicyFixture(heads, kvHeads, d, prompt + steps, 9, spare)) {
                LayerPolicy lpA = new ClusterKVPolicy(plain).forLayer(0, heads, kvHeads, d);
                LayerPolicy lpB = new ClusterKVPolicy(cached).forLayer(0, heads, kvHeads, d);
                lpA.afterPrefill(a.kv, 0, prompt, new float[0], 0);
                lpB.afterPrefill(b.kv, 0, prompt, new float[0], 0);
                Selection[] selA = new Selection[heads], selB = new Selection[heads];
                for (int len = prompt + 1; len <= prompt + steps; len++) {
                    if (len == prompt + 120) { // rewind into the clustered prompt: both forget their index and cluster again
                        lpA.truncate(a.kv, 250);
                        lpB.truncate(b.kv, 250);
                        lpA.afterPrefill(a.kv, 0, len - 1, new float[0], 0);
                        lpB.afterPrefill(b.kv, 0, len - 1, new float[0], 0);
                    }
                    lpA.select(a.kv, a.queries[len - 1], len, selA);
                    lpB.select(b.kv, b.queries[len - 1], len, selB);
                    for (int h = 0; h < heads; h++) {
                        String where = (shared ? "shared" : "per-head") + " head " + h + " length " + len;
                        assertEquals(PolicyFixture.set(selA[h]), PolicyFixture.set(selB[h]), where);
                        int g = h / (heads / kvHeads);
                        // the sinks first and the recent window last, read where they lie; every recalled cluster between
                        // them from its copy in the head's part of the spare slots
                        Selection sb = selB[h];
                        assertEquals(0, sb.start(0), where);
                        assertEquals(len, sb.end(sb.ranges() - 1), where);
                        for (int r = 1; r < sb.ranges() - 1; r++) {
                            assertTrue(sb.start(r) >= prompt + steps && sb.end(r) <= prompt + steps + spare, where + ": not read from a copy " + sb);
                        }
                        for (int r = 0; r < selB[h].ranges(); r++) {
                            for (int i = selB[h].start(r); i < selB[h].end(r); i++) {
                                assertEquals(keyAt(b, g, selB[h].source(r) + i - selB[h].start(r)), keyAt(b, g, i), where + " slot " + i);
                            }
                        }
                    }
                }
                assertTrue(lpB.indexBytesResident() > lpA.indexBytesResident(), "the working sets are counted as held");
            }
        }
    }

    @Test
    void theClusterCacheNeedsItsSpareSlots() {
        try (PolicyFixture f = new PolicyFixture(2, 1, 8, 200, 2)) {
            LayerPolicy lp = new ClusterKVPolicy(config(64, 16, 0, 0, false, true)).forLayer(0, 2, 1, 8);
            lp.afterPrefill(f.kv, 0, 199, new float[0], 0);
            var e = assertThrows(IllegalStateException.class, () -> lp.select(f.kv, f.queries[199], 200, new Selection[2]));
            assertTrue(e.getMessage().contains("spare slots"), e.getMessage());
        }
    }

    @Test
    void budgetCoveringTheContextSelectsEverything() {
        try (PolicyFixture f = new PolicyFixture(2, 1, 8, 60, 2)) {
            LayerPolicy lp = new ClusterKVPolicy(config(64, 16, 0, 0, false)).forLayer(0, 2, 1, 8);
            lp.afterPrefill(f.kv, 0, 59, new float[0], 0);
            Selection[] perHead = new Selection[2];
            lp.select(f.kv, f.queries[59], 60, perHead);
            assertEquals(60, perHead[0].tokens());
        }
    }

    @Test
    void badConfigurationsAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ClusterKVPolicy(config(16, 16, 0, 0, false)));
        assertTrue(e.getMessage().contains("sink"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> config(64, 16, 0, -1, false));
        assertThrows(IllegalArgumentException.class, () -> new ClusterKVPolicy(config(64, 16, 48, 0, false)));
    }
}
