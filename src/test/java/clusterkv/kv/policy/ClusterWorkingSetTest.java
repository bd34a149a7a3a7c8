package clusterkv.kv.policy;

import clusterkv.cluster.ClusterIndex;
import clusterkv.cluster.KMeans;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVType;
import clusterkv.kv.LayerKV;
import clusterkv.kv.Selection;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster cache against brute force: the tokens it holds, where it reads them, and what it copies. */
class ClusterWorkingSetTest {

    @Test
    void holdsExactlyTheChosenTokensAndCopiesOnlyTheNewOnes() {
        int d = 4, sink = 3, tokens = 400, capacity = sink + tokens, region = 120, kvHead = 1;
        Random rnd = new Random(7);
        try (KVCache cache = new KVCache(1, 2, d, capacity, KVType.F32, 2 * region)) {
            LayerKV kv = new LayerKV(cache, 0);
            for (int p = 0; p < capacity; p++) cache.store(0, p, gaussian(rnd, 2 * d), 0, gaussian(rnd, 2 * d), 0);
            int k = 30;
            int[] sizes = new int[k], assignment = new int[tokens];
            for (int i = 0; i < tokens; i++) sizes[assignment[i] = rnd.nextInt(k)]++;
            ClusterIndex idx = ClusterIndex.build(new KMeans.Result(new float[k * d], assignment, sizes), sink);
            int base = capacity + region; // the second of the KV head's two regions
            ClusterWorkingSet ws = new ClusterWorkingSet(base, region);
            TreeSet<Integer> held = new TreeSet<>();
            List<Integer> clusters = new ArrayList<>();
            for (int c = 0; c < k; c++) if (sizes[c] > 0) clusters.add(c);
            for (int step = 0; step < 300; step++) {
                // a new choice, much of it the previous one (as a real query's), cut at a random budget
                Collections.shuffle(clusters, rnd);
                TreeSet<Integer> last = held;
                if (step % 3 != 0) clusters.sort((x, y) -> Boolean.compare(!wasHeld(last, idx, sink, x), !wasHeld(last, idx, sink, y)));
                int budget = 1 + rnd.nextInt(region), n = 0;
                int[] chosen = new int[k], take = new int[k];
                for (int c : clusters) {
                    if (budget == 0) break;
                    chosen[n] = c;
                    take[n] = Math.min(budget, sizes[c]);
                    budget -= take[n++];
                }
                TreeSet<Integer> expected = new TreeSet<>();
                for (int i = 0; i < n; i++) for (int m = 0; m < take[i]; m++) expected.add(sink + idx.offset(chosen[i]) + m);
                long copiedBefore = ws.copiedSlots();
                Selection s = new Selection();
                ws.update(idx, sink, chosen, take, n, kv, kvHead, s);

                TreeSet<Integer> sources = PolicyFixture.set(s);
                assertEquals(expected, sources, "step " + step + ": the tokens attended");
                TreeSet<Integer> newOnes = new TreeSet<>(expected);
                newOnes.removeAll(held);
                assertEquals(newOnes.size(), ws.copiedSlots() - copiedBefore, "step " + step + ": only new tokens are copied");
                for (int r = 0; r < s.ranges(); r++) {
                    assertTrue(s.start(r) >= base && s.end(r) <= base + region, "step " + step + ": read outside the region " + s);
                    assertTrue(r == 0 || s.start(r) >= s.end(r - 1), "step " + step + ": the region is read in order " + s);
                    for (int i = 0; i < s.end(r) - s.start(r); i++) assertSameToken(kv, kvHead, s.start(r) + i, s.source(r) + i);
                }
                held = expected;
            }
            // nothing was written outside the KV head's region: the other head's spare slots are still empty
            float[] keys = new float[2 * region * d], values = new float[2 * region * d];
            kv.readKeysValues(0, capacity, 2 * region, keys, values);
            assertArrayEquals(new float[keys.length], keys);
            assertArrayEquals(new float[values.length], values);
        }
    }

    private static boolean wasHeld(TreeSet<Integer> held, ClusterIndex idx, int sink, int c) {
        return held.contains(sink + idx.offset(c));
    }

    private static void assertSameToken(LayerKV kv, int kvHead, int read, int source) {
        int d = kv.headDim();
        float[] k1 = new float[d], k2 = new float[d], v1 = new float[d], v2 = new float[d];
        kv.readKeysValues(kvHead, read, 1, k1, v1);
        kv.readKeysValues(kvHead, source, 1, k2, v2);
        assertArrayEquals(k2, k1, "key at slot " + read + " is not slot " + source + "'s");
        assertArrayEquals(v2, v1, "value at slot " + read + " is not slot " + source + "'s");
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
