package clusterkv.kv.policy;

import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.Selection;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuestPolicyTest {

    /** Brute force: channel-wise min and max of the keys of page p among positions [0, length). */
    private static float[][] bounds(PolicyFixture f, int g, int p, int pageSize, int length) {
        float[] min = new float[f.d], max = new float[f.d];
        java.util.Arrays.fill(min, Float.POSITIVE_INFINITY);
        java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int t = p * pageSize; t < Math.min(length, (p + 1) * pageSize); t++) {
            for (int i = 0; i < f.d; i++) {
                min[i] = Math.min(min[i], f.key(t, g, i));
                max[i] = Math.max(max[i], f.key(t, g, i));
            }
        }
        return new float[][]{min, max};
    }

    /** Brute force: sum_i max(q_i max_i, q_i min_i) for the query rows of q (summed over the given heads). */
    private static double score(PolicyFixture f, float[] q, int[] heads, int p, int pageSize, int length) {
        float[][] b = bounds(f, heads[0] / f.group, p, pageSize, length);
        double s = 0;
        for (int h : heads) {
            for (int i = 0; i < f.d; i++) s += Math.max((double) q[h * f.d + i] * b[1][i], (double) q[h * f.d + i] * b[0][i]);
        }
        return s;
    }

    /** Brute force: the slots query heads `heads` should attend to at this length (full sort of the pages). */
    private static TreeSet<Integer> expected(PolicyFixture f, float[] q, int[] heads, int length, int budget, int pageSize) {
        TreeSet<Integer> out = new TreeSet<>();
        if (length <= budget) {
            for (int s = 0; s < length; s++) out.add(s);
            return out;
        }
        int last = (length - 1) / pageSize;
        int k = (budget - (length - last * pageSize)) / pageSize;
        List<double[]> pages = new ArrayList<>();
        for (int p = 0; p < last; p++) pages.add(new double[]{score(f, q, heads, p, pageSize, length), p});
        pages.sort((a, b) -> a[0] != b[0] ? Double.compare(b[0], a[0]) : Double.compare(b[1], a[1]));
        for (int i = 0; i < k; i++) {
            int p = (int) pages.get(i)[1];
            for (int s = p * pageSize; s < (p + 1) * pageSize; s++) out.add(s);
        }
        for (int s = last * pageSize; s < length; s++) out.add(s);
        return out;
    }

    private static void checkBounds(PolicyFixture f, QuestPolicy.Layer lp, int length, int pageSize) {
        for (int g = 0; g < f.kvHeads; g++) {
            for (int p = 0; p * pageSize < length; p++) {
                float[][] want = bounds(f, g, p, pageSize, length);
                float[][] got = lp.pageBounds(g, p);
                assertArrayEquals(want[0], got[0], "min of page " + p + " of kv head " + g + " at length " + length);
                assertArrayEquals(want[1], got[1], "max of page " + p + " of kv head " + g + " at length " + length);
            }
        }
    }

    /** Decodes [from, to) one token at a time, checking bounds, page scores and selections against brute force. */
    private static void decode(PolicyFixture f, QuestPolicy.Layer lp, int from, int to, int budget, int pageSize, boolean shared) {
        for (int length = from + 1; length <= to; length++) {
            Selection[] perHead = f.step(lp, length, budget);
            checkBounds(f, lp, length, pageSize);
            float[] q = f.queries[length - 1];
            for (int h = 0; h < f.heads; h++) {
                for (int p = 0; p * pageSize < length; p++) {
                    double want = score(f, q, new int[]{h}, p, pageSize, length);
                    assertEquals(want, lp.score(q, h, p), 1e-4 * (1 + Math.abs(want)), "score of page " + p + " for head " + h);
                }
                int[] group = shared ? groupOf(f, h) : new int[]{h};
                PolicyFixture.assertSelects(perHead[h], expected(f, q, group, length, budget, pageSize),
                        "head " + h + " at length " + length);
                if (shared) assertSame(perHead[h / f.group * f.group], perHead[h]);
            }
        }
    }

    private static int[] groupOf(PolicyFixture f, int h) {
        int[] out = new int[f.group];
        for (int i = 0; i < f.group; i++) out[i] = h / f.group * f.group + i;
        return out;
    }

    /**
     * The estimation zone: the selection reads the same pages as without it, and estimates the pages ranked just after
     * them (brute-force order of the bound scores) by their mean key and mean value (float64 means of the fixture's
     * keys and values), each as pageSize tokens; over decoding, so the running means are checked as pages fill.
     */
    @Test
    void theEstimationZoneEstimatesThePagesRankedNextByTheirMeans() {
        int pageSize = 4, budget = 22, zone = 3;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 120, 5)) {
            QuestPolicy.Layer lp = (QuestPolicy.Layer) new QuestPolicy(PolicyFixture.config(budget, -1, 0, pageSize, false).withEstimate(zone)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 41, f.queryRows(33, 41), 8);
            for (int length = 42; length <= 120; length++) {
                Selection[] perHead = f.step(lp, length, budget);
                float[] q = f.queries[length - 1];
                int last = (length - 1) / pageSize, k = (budget - (length - last * pageSize)) / pageSize;
                for (int h = 0; h < f.heads; h++) {
                    int g = h / f.group;
                    List<double[]> pages = new ArrayList<>();
                    for (int p = 0; p < last; p++) pages.add(new double[]{score(f, q, new int[]{h}, p, pageSize, length), p});
                    pages.sort((a, b) -> a[0] != b[0] ? Double.compare(b[0], a[0]) : Double.compare(b[1], a[1]));
                    // the kernel's float sums may order two pages whose scores agree to float precision either way
                    if (nearTie(pages, k) || nearTie(pages, k + zone)) continue;
                    PolicyFixture.assertSelects(perHead[h], expected(f, q, new int[]{h}, length, budget, pageSize), "head " + h + " at length " + length);
                    int estimated = Math.max(0, Math.min(zone, last - k));
                    assertEquals(estimated, perHead[h].estimates(), "estimates of head " + h + " at length " + length);
                    java.util.Set<Integer> ranked = new java.util.HashSet<>(), got = new java.util.HashSet<>();
                    for (int i = 0; i < estimated; i++) {
                        ranked.add((int) pages.get(k + i)[1]);
                        got.add(perHead[h].estimateOffset(i) / f.d);
                    }
                    assertEquals(ranked, got, "the pages ranked just after the chosen ones, at length " + length);
                    for (int i = 0; i < estimated; i++) {
                        int page = perHead[h].estimateOffset(i) / f.d;
                        assertEquals(Math.log(pageSize), perHead[h].estimateLogCount(i), 1e-6);
                        for (int c = 0; c < f.d; c++) {
                            double key = 0, value = 0;
                            for (int t = page * pageSize; t < (page + 1) * pageSize; t++) {
                                key += f.key(t, g, c) / pageSize;
                                value += f.values[t][g * f.d + c] / pageSize;
                            }
                            assertEquals(key, perHead[h].estimateKeys()[page * f.d + c], 1e-5, "mean key");
                            assertEquals(value, perHead[h].estimateValues()[page * f.d + c], 1e-5, "mean value");
                        }
                    }
                }
            }
        }
    }

    /** Whether the pages ranked i-1 and i score within float precision of each other. */
    private static boolean nearTie(List<double[]> ranked, int i) {
        if (i <= 0 || i >= ranked.size()) return false;
        double a = ranked.get(i - 1)[0], b = ranked.get(i)[0];
        return Math.abs(a - b) <= 1e-4 * (1 + Math.abs(a));
    }

    @Test
    void pagesScoresAndSelectionsMatchBruteForceOverDecoding() {
        int pageSize = 4;
        for (int budget : new int[]{16, 22, 30}) {
            try (PolicyFixture f = new PolicyFixture(4, 2, 8, 160, 11 + budget)) {
                QuestPolicy.Layer lp = (QuestPolicy.Layer) new QuestPolicy(PolicyFixture.config(budget, -1, 0, pageSize, false)).forLayer(0, 4, 2, 8);
                lp.afterPrefill(f.kv, 0, 53, f.queryRows(53 - 8, 53), 8);
                checkBounds(f, lp, 53, pageSize);
                decode(f, lp, 53, 160, budget, pageSize, false);
            }
        }
    }

    @Test
    void realisticPageSizeAndWideHeads() {
        try (PolicyFixture f = new PolicyFixture(8, 2, 32, 400, 5)) {
            QuestPolicy.Layer lp = (QuestPolicy.Layer) new QuestPolicy(PolicyFixture.config(100, -1, 0, 16, false)).forLayer(0, 8, 2, 32);
            lp.afterPrefill(f.kv, 0, 333, null, 0);
            decode(f, lp, 333, 400, 100, 16, false);
        }
    }

    @Test
    void sharedGqaSelectionUsesTheGroupsSummedScores() {
        try (PolicyFixture f = new PolicyFixture(6, 2, 8, 120, 3)) {
            QuestPolicy.Layer lp = (QuestPolicy.Layer) new QuestPolicy(PolicyFixture.config(24, -1, 0, 4, true)).forLayer(0, 6, 2, 8);
            lp.afterPrefill(f.kv, 0, 60, null, 0);
            decode(f, lp, 60, 120, 24, 4, true);
        }
    }

    @Test
    void budgetCoveringTheContextSelectsEverything() {
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 64, 1)) {
            LayerPolicy lp = new QuestPolicy(PolicyFixture.config(64, -1, 0, 16, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 10, null, 0);
            for (int length = 11; length <= 64; length++) {
                Selection[] perHead = f.step(lp, length, 64);
                for (Selection s : perHead) {
                    assertEquals(1, s.ranges());
                    assertEquals(0, s.start(0));
                    assertEquals(length, s.end(0));
                }
            }
        }
    }

    @Test
    void truncateAndNewPrefillRebuildThePagesTheyTouch() {
        int pageSize = 4, budget = 20;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 200, 17)) {
            QuestPolicy.Layer lp = (QuestPolicy.Layer) new QuestPolicy(PolicyFixture.config(budget, -1, 0, pageSize, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 40, null, 0);
            decode(f, lp, 40, 70, budget, pageSize, false);
            // rewind into the middle of a page; the positions after it get other keys
            lp.truncate(f.kv, 50);
            for (int p = 50; p < 200; p++) f.regenerate(p);
            decode(f, lp, 50, 80, budget, pageSize, false);
            // a second prefill chunk (exact attention in the framework), then decoding again
            lp.afterPrefill(f.kv, 80, 131, null, 0);
            checkBounds(f, lp, 131, pageSize);
            decode(f, lp, 131, 170, budget, pageSize, false);
        }
    }

    @Test
    void badConfigurationsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuestPolicy(PolicyFixture.config(15, -1, 0, 16, false)));
        assertTrue(e.getMessage().contains("--page-size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PolicyFixture.config(64, -1, 0, 0, false));
        assertTrue(e.getMessage().contains("--page-size"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PolicyFixture.config(64, -1, 0, -3, false));
        // the smallest legal budget: one page
        QuestPolicy ok = new QuestPolicy(PolicyFixture.config(16, -1, 0, 16, false));
        assertEquals("quest", ok.name());
        assertEquals(false, ok.evicts());
        PolicyConfig c = ok.config();
        assertEquals(16, c.budget());
    }
}
