package clusterkv.kv.policy;

import clusterkv.kv.LayerPolicy;
import clusterkv.kv.Selection;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class H2OPolicyTest {

    /**
     * Brute-force H2O: a kept flag and an accumulated score per KV head and slot, updated by full
     * recomputation (no incremental state shared with the policy).
     */
    private static final class Simulation {
        final PolicyFixture f;
        final int heavy, recent;
        final boolean[][] kept;
        final double[][] score;

        Simulation(PolicyFixture f, int heavy, int recent) {
            this.f = f;
            this.heavy = heavy;
            this.recent = recent;
            this.kept = new boolean[f.kvHeads][f.capacity];
            this.score = new double[f.kvHeads][f.capacity];
        }

        int[] keptSlots(int g, int upTo) {
            List<Integer> l = new ArrayList<>();
            for (int s = 0; s < upTo; s++) if (kept[g][s]) l.add(s);
            return l.stream().mapToInt(Integer::intValue).toArray();
        }

        /** Positions [from, to) arrive together; the queries of [from, to) attend causally over what is kept. */
        void prefill(int from, int to) {
            for (int g = 0; g < f.kvHeads; g++) for (int s = from; s < to; s++) kept[g][s] = true;
            for (int p = from; p < to; p++) attend(p, p + 1);
        }

        /** The query of position p attends to the kept slots below upTo; its weights are accumulated. */
        void attend(int p, int upTo) {
            for (int h = 0; h < f.heads; h++) {
                int g = h / f.group;
                int[] slots = keptSlots(g, upTo);
                double[] w = f.softmax(p, h, slots, slots.length);
                for (int j = 0; j < slots.length; j++) score[g][slots[j]] += w[j] / f.group;
            }
        }

        /** A decode step at this length: the new token arrives, the worst old tokens go; returns the kept set of g. */
        void decode(int length) {
            for (int g = 0; g < f.kvHeads; g++) {
                kept[g][length - 1] = true;
                List<Integer> candidates = new ArrayList<>();
                for (int s = 0; s < length - recent; s++) if (kept[g][s]) candidates.add(s);
                int gg = g;
                candidates.sort((a, b) -> score[gg][a] != score[gg][b] ? Double.compare(score[gg][b], score[gg][a]) : Integer.compare(b, a));
                for (int i = heavy; i < candidates.size(); i++) kept[g][candidates.get(i)] = false;
            }
            attend(length - 1, length);
        }

        TreeSet<Integer> keptSet(int g, int length) {
            TreeSet<Integer> out = new TreeSet<>();
            for (int s : keptSlots(g, length)) out.add(s);
            return out;
        }
    }

    /** Runs policy and simulation side by side over decode steps (from, to], comparing kept sets and scores. */
    private static void decode(PolicyFixture f, H2OPolicy.Layer lp, Simulation sim, int from, int to, int budget,
                               boolean[][] gone) {
        for (int length = from + 1; length <= to; length++) {
            sim.decode(length);
            Selection[] perHead = f.step(lp, length, budget);
            for (int h = 0; h < f.heads; h++) {
                int g = h / f.group;
                assertSame(perHead[g * f.group], perHead[h], "the heads of a group share one selection");
                TreeSet<Integer> got = PolicyFixture.set(perHead[h]);
                assertEquals(sim.keptSet(g, length), got, "kept set of kv head " + g + " at length " + length);
                for (int s : got) assertFalse(gone[g][s], "evicted slot " + s + " came back at length " + length);
                for (int s = 0; s < length; s++) if (!got.contains(s)) gone[g][s] = true;
            }
            checkScores(f, lp, sim, length);
        }
    }

    private static void checkScores(PolicyFixture f, H2OPolicy.Layer lp, Simulation sim, int length) {
        for (int g = 0; g < f.kvHeads; g++) {
            for (int s : sim.keptSlots(g, length)) {
                assertEquals(sim.score[g][s], lp.score(g, s), 1e-5 * (1 + sim.score[g][s]), "score of slot " + s + " of kv head " + g);
            }
        }
    }

    @Test
    void keptSetFollowsABruteForceSimulationOfAccumulatedAttention() {
        for (int budget : new int[]{10, 17, 32}) {
            try (PolicyFixture f = new PolicyFixture(4, 2, 8, 150, 100 + budget)) {
                H2OPolicy policy = new H2OPolicy(PolicyFixture.config(budget, -1, 0, 16, false));
                assertEquals(budget / 2, policy.heavy());
                assertEquals(budget - budget / 2, policy.recent());
                H2OPolicy.Layer lp = (H2OPolicy.Layer) policy.forLayer(0, 4, 2, 8);
                Simulation sim = new Simulation(f, policy.heavy(), policy.recent());
                int prompt = 45;
                sim.prefill(0, prompt);
                lp.afterPrefill(f.kv, 0, prompt, f.queryRows(0, prompt), prompt);
                checkScores(f, lp, sim, prompt);
                decode(f, lp, sim, prompt, 150, budget, new boolean[2][150]);
            }
        }
    }

    @Test
    void configuredRecentWindowAndMultiTurnPrefill() {
        int budget = 24;
        try (PolicyFixture f = new PolicyFixture(6, 3, 8, 220, 7)) {
            H2OPolicy policy = new H2OPolicy(PolicyFixture.config(budget, -1, 5, 16, false));
            assertEquals(5, policy.recent());
            assertEquals(19, policy.heavy());
            H2OPolicy.Layer lp = (H2OPolicy.Layer) policy.forLayer(0, 6, 3, 8);
            Simulation sim = new Simulation(f, policy.heavy(), policy.recent());
            boolean[][] gone = new boolean[3][220];
            sim.prefill(0, 60);
            lp.afterPrefill(f.kv, 0, 60, f.queryRows(0, 60), 60);
            decode(f, lp, sim, 60, 100, budget, gone);
            // a second turn: 30 tokens prefilled (their queries see the kept tokens), then decoding on
            sim.prefill(100, 130);
            lp.afterPrefill(f.kv, 100, 130, f.queryRows(100, 130), 30);
            checkScores(f, lp, sim, 130);
            decode(f, lp, sim, 130, 180, budget, gone);
        }
    }

    @Test
    void prefillQueriesAlreadyObservedChunkByChunkAreNotCountedTwice() {
        int budget = 20;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 120, 9)) {
            H2OPolicy policy = new H2OPolicy(PolicyFixture.config(budget, -1, 0, 16, false));
            H2OPolicy.Layer lp = (H2OPolicy.Layer) policy.forLayer(0, 4, 2, 8);
            Simulation sim = new Simulation(f, policy.heavy(), policy.recent());
            sim.prefill(0, 50);
            for (int p0 = 0; p0 < 50; p0 += 16) {
                int n = Math.min(16, 50 - p0);
                lp.observePrefill(f.kv, f.queryRows(p0, p0 + n), p0, n);
            }
            // the framework then also hands over the last queries: already accounted for
            lp.afterPrefill(f.kv, 0, 50, f.queryRows(30, 50), 20);
            checkScores(f, lp, sim, 50);
            decode(f, lp, sim, 50, 120, budget, new boolean[2][120]);
        }
    }

    @Test
    void budgetCoveringTheContextSelectsEverything() {
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 64, 2)) {
            LayerPolicy lp = new H2OPolicy(PolicyFixture.config(64, -1, 0, 16, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 20, f.queryRows(0, 20), 20);
            for (int length = 21; length <= 64; length++) {
                for (Selection s : f.step(lp, length, 64)) {
                    assertEquals(1, s.ranges());
                    assertEquals(0, s.start(0));
                    assertEquals(length, s.end(0));
                }
            }
        }
    }

    @Test
    void truncatedTokensAreForgottenAndEvictedOnesStayGone() {
        int budget = 12;
        try (PolicyFixture f = new PolicyFixture(4, 2, 8, 120, 4)) {
            H2OPolicy.Layer lp = (H2OPolicy.Layer) new H2OPolicy(PolicyFixture.config(budget, -1, 0, 16, false)).forLayer(0, 4, 2, 8);
            lp.afterPrefill(f.kv, 0, 30, f.queryRows(0, 30), 30);
            boolean[][] gone = new boolean[2][120];
            TreeSet<Integer> before = null;
            for (int length = 31; length <= 60; length++) before = PolicyFixture.set(f.step(lp, length, budget)[0]);
            lp.truncate(f.kv, 55);
            for (int g = 0; g < 2; g++) for (int s = 55; s < 120; s++) assertEquals(0.0, lp.score(g, s));
            for (int p = 55; p < 120; p++) f.regenerate(p);
            TreeSet<Integer> after = PolicyFixture.set(f.step(lp, 56, budget)[0]);
            for (int s : after) assertTrue(s == 55 || before.contains(s), "slot " + s + " was evicted before the rewind");
            for (int length = 57; length <= 120; length++) f.step(lp, length, budget);
        }
    }

    @Test
    void badConfigurationsAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new H2OPolicy(PolicyFixture.config(32, -1, 32, 16, false)));
        assertTrue(e.getMessage().contains("--window"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new H2OPolicy(PolicyFixture.config(32, -1, 40, 16, false)));
        assertThrows(IllegalArgumentException.class, () -> PolicyFixture.config(0, -1, 0, 16, false));
        H2OPolicy ok = new H2OPolicy(PolicyFixture.config(32, -1, 31, 16, false));
        assertEquals(1, ok.heavy());
        assertTrue(ok.evicts());
        assertEquals(0, ok.prefillQueriesWanted(), "prefill attention arrives chunk by chunk through observePrefill");
    }
}
