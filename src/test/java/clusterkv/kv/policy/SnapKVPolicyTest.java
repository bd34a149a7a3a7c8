package clusterkv.kv.policy;

import clusterkv.kv.LayerPolicy;
import clusterkv.kv.Selection;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnapKVPolicyTest {

    /**
     * Brute-force SnapKV compression of the kept slots `alive` (ascending) at this length: the last
     * `window` of them vote with their queries (causal softmax over alive, summed, averaged over the
     * group), the others' votes are max-pooled over the list with kernel 7, and the best budget-window
     * are kept. Returns the kept older slots.
     */
    private static TreeSet<Integer> compress(PolicyFixture f, int g, List<Integer> alive, int length, int window, int budget) {
        int[] slots = alive.stream().mapToInt(Integer::intValue).toArray();
        int candidates = 0;
        while (candidates < slots.length && slots[candidates] < length - window) candidates++;
        double[] votes = new double[slots.length];
        for (int p = length - window; p < length; p++) {
            int visible = 0;
            while (visible < slots.length && slots[visible] <= p) visible++;
            for (int i = 0; i < f.group; i++) {
                double[] w = f.softmax(p, g * f.group + i, slots, visible);
                for (int j = 0; j < visible; j++) votes[j] += w[j] / f.group;
            }
        }
        List<double[]> ranked = new ArrayList<>();
        for (int j = 0; j < candidates; j++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int i = Math.max(0, j - 3); i <= Math.min(candidates - 1, j + 3); i++) m = Math.max(m, votes[i]);
            ranked.add(new double[]{m, slots[j]});
        }
        ranked.sort((a, b) -> a[0] != b[0] ? Double.compare(b[0], a[0]) : Double.compare(b[1], a[1]));
        TreeSet<Integer> out = new TreeSet<>();
        for (int i = 0; i < Math.min(budget - window, ranked.size()); i++) out.add((int) ranked.get(i)[1]);
        return out;
    }

    /** Decodes (from, to]: the compressed set plus a sliding window filling the budget; checks no slot comes back. */
    private static void decode(PolicyFixture f, LayerPolicy lp, TreeSet<Integer>[] compressed, int from, int to, int budget,
                               boolean[][] gone) {
        for (int length = from + 1; length <= to; length++) {
            Selection[] perHead = f.step(lp, length, budget);
            for (int h = 0; h < f.heads; h++) {
                int g = h / f.group;
                assertSame(perHead[g * f.group], perHead[h]);
                TreeSet<Integer> want = new TreeSet<>(compressed[g]);
                for (int s = Math.max(0, length - (budget - compressed[g].size())); s < length; s++) want.add(s);
                TreeSet<Integer> got = PolicyFixture.set(perHead[h]);
                assertEquals(want, got, "kv head " + g + " at length " + length);
                for (int s : got) assertFalse(gone[g][s], "evicted slot " + s + " came back at length " + length);
                for (int s = 0; s < length; s++) if (!got.contains(s)) gone[g][s] = true;
            }
        }
    }

    private static List<Integer> range(int from, int to) {
        List<Integer> l = new ArrayList<>();
        for (int s = from; s < to; s++) l.add(s);
        return l;
    }

    @SuppressWarnings("unchecked")
    @Test
    void keptSetEqualsBruteForcePooledScores() {
        for (int budget : new int[]{40, 57, 90}) {
            int window = 32, prompt = 150, heads = 4, kvHeads = 2;
            try (PolicyFixture f = new PolicyFixture(heads, kvHeads, 8, 220, 31 + budget)) {
                SnapKVPolicy policy = new SnapKVPolicy(PolicyFixture.config(budget, -1, 0, 16, false));
                assertEquals(32, policy.prefillQueriesWanted());
                SnapKVPolicy.Layer lp = (SnapKVPolicy.Layer) policy.forLayer(0, heads, kvHeads, 8);
                lp.afterPrefill(f.kv, 0, prompt, f.queryRows(prompt - window, prompt), window);
                TreeSet<Integer>[] compressed = new TreeSet[kvHeads];
                for (int g = 0; g < kvHeads; g++) {
                    compressed[g] = compress(f, g, range(0, prompt), prompt, window, budget);
                    assertEquals(budget - window, compressed[g].size());
                    assertArrayEquals(compressed[g].stream().mapToInt(Integer::intValue).toArray(), lp.compressed(g), "kv head " + g);
                }
                decode(f, lp, compressed, prompt, 220, budget, new boolean[kvHeads][220]);
            }
        }
    }

    @SuppressWarnings("unchecked")
    @Test
    void configuredWindowWithMoreQueriesThanNeededAndASecondTurn() {
        int budget = 30, window = 8, heads = 6, kvHeads = 3;
        try (PolicyFixture f = new PolicyFixture(heads, kvHeads, 16, 260, 8)) {
            SnapKVPolicy policy = new SnapKVPolicy(PolicyFixture.config(budget, -1, window, 16, false));
            assertEquals(window, policy.prefillQueriesWanted());
            LayerPolicy lp = policy.forLayer(0, heads, kvHeads, 16);
            // more queries than the window: only the last `window` vote
            lp.afterPrefill(f.kv, 0, 100, f.queryRows(80, 100), 20);
            TreeSet<Integer>[] compressed = new TreeSet[kvHeads];
            for (int g = 0; g < kvHeads; g++) compressed[g] = compress(f, g, range(0, 100), 100, window, budget);
            boolean[][] gone = new boolean[kvHeads][260];
            decode(f, lp, compressed, 100, 140, budget, gone);
            // second turn: what is kept (compressed prompt + sliding window) plus 40 new tokens is compressed again
            for (int g = 0; g < kvHeads; g++) {
                List<Integer> alive = new ArrayList<>(compressed[g]);
                for (int s = 140 - (budget - compressed[g].size()); s < 180; s++) alive.add(s);
                compressed[g] = compress(f, g, alive, 180, window, budget);
            }
            lp.afterPrefill(f.kv, 140, 180, f.queryRows(180 - window, 180), window);
            decode(f, lp, compressed, 180, 260, budget, gone);
        }
    }

    @Test
    void aPromptWithinTheBudgetIsKeptWhole() {
        int budget = 64;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 64, 12)) {
            LayerPolicy lp = new SnapKVPolicy(PolicyFixture.config(budget, -1, 0, 16, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 50, f.queryRows(18, 50), 32);
            for (int length = 51; length <= 64; length++) {
                for (Selection s : f.step(lp, length, budget)) {
                    assertEquals(1, s.ranges());
                    assertEquals(0, s.start(0));
                    assertEquals(length, s.end(0));
                }
            }
        }
    }

    @Test
    void withoutQueriesTheMostRecentTokensAreKept() {
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 100, 12)) {
            SnapKVPolicy.Layer lp = (SnapKVPolicy.Layer) new SnapKVPolicy(PolicyFixture.config(40, -1, 0, 16, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 100, new float[0], 0);
            int[] want = new int[8];
            for (int i = 0; i < 8; i++) want[i] = 60 + i;
            assertArrayEquals(want, lp.compressed(0));
        }
    }

    @Test
    void maxPoolUsesSamePadding() {
        double[] v = {0, 5, 0, 0, 0, 0, 0, 0, 0, 1};
        assertArrayEquals(new double[]{5, 5, 5, 5, 5, 0, 1, 1, 1, 1}, SnapKVPolicy.Layer.maxPool(v, v.length, 7));
        assertArrayEquals(new double[]{5, 5, 5}, SnapKVPolicy.Layer.maxPool(v, 3, 7));
    }

    @Test
    void truncateKeepsEvictedTokensGone() {
        int budget = 40;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 200, 21)) {
            LayerPolicy lp = new SnapKVPolicy(PolicyFixture.config(budget, -1, 0, 16, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 100, f.queryRows(68, 100), 32);
            TreeSet<Integer> before = null;
            for (int length = 101; length <= 130; length++) before = PolicyFixture.set(f.step(lp, length, budget)[0]);
            lp.truncate(f.kv, 50);
            for (int p = 50; p < 200; p++) f.regenerate(p);
            TreeSet<Integer> after = PolicyFixture.set(f.step(lp, 51, budget)[0]);
            for (int s : after) assertTrue(s == 50 || before.contains(s), "slot " + s + " was evicted before the rewind");
            for (int length = 52; length <= 200; length++) f.step(lp, length, budget);
        }
    }

    @Test
    void badConfigurationsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SnapKVPolicy(PolicyFixture.config(32, -1, 0, 16, false)));
        assertTrue(e.getMessage().contains("observation window"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new SnapKVPolicy(PolicyFixture.config(100, -1, 100, 16, false)));
        assertTrue(e.getMessage().contains("--window"), e.getMessage());
        SnapKVPolicy ok = new SnapKVPolicy(PolicyFixture.config(33, -1, 0, 16, false));
        assertEquals(32, ok.window());
        assertTrue(ok.evicts());
    }
}
