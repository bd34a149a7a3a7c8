package clusterkv.kv.policy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TopTokensTest {

    /** Brute force: sort all items by (score desc, item desc), take k, return them ascending. */
    private static int[] expected(int[] items, int n, int k, double[] score) {
        List<Integer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(items[i]);
        l.sort((a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Integer.compare(b, a));
        int[] out = l.subList(0, Math.max(0, Math.min(k, n))).stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(out);
        return out;
    }

    @Test
    void keepsTheLargestScoresWithTiesToTheLaterItem() {
        Random rnd = new Random(42);
        for (int trial = 0; trial < 3000; trial++) {
            int n = rnd.nextInt(60);
            int universe = n + rnd.nextInt(20);
            double[] score = new double[universe];
            int levels = 1 + rnd.nextInt(8); // few distinct values: many ties
            for (int i = 0; i < universe; i++) score[i] = trial % 2 == 0 ? rnd.nextInt(levels) : rnd.nextGaussian();
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < universe; i++) all.add(i);
            java.util.Collections.shuffle(all, rnd);
            int[] items = all.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
            if (trial % 3 == 0) Arrays.sort(items); // the one-eviction fast path wants sorted input
            int k = trial % 5 == 0 ? n - 1 : rnd.nextInt(n + 3) - 1;
            int[] want = expected(items, n, k, score);
            int got = TopTokens.keepLargest(items, n, k, score);
            assertEquals(want.length, got);
            assertArrayEquals(want, Arrays.copyOf(items, got), "trial " + trial);
        }
    }
}
