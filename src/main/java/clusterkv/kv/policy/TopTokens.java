package clusterkv.kv.policy;

import java.util.Arrays;

/**
 * Exact top-k of items (token slots, pages, list indices) by a score, without a full sort: the items are
 * partitioned in place (quickselect, expected O(n)), then only the k kept ones are sorted by item so that
 * consecutive slots become one range of a {@link clusterkv.kv.Selection}.
 *
 * <p>The order is strict, so the kept set is unique: score descending, and among equal scores the larger
 * item first (for slots and pages: the more recent one). Ties are common after SnapKV's max pooling, and
 * when no attention was observed at all the rule degrades to keeping the most recent tokens.
 */
final class TopTokens {

    private TopTokens() {}

    /**
     * Keeps in {@code items[0..min(k, n))} the k items of {@code items[0..n)} with the largest
     * {@code score[item]}, in ascending order of item; {@code items[0..n)} must be distinct (in any
     * order). Returns min(k, n).
     */
    static int keepLargest(int[] items, int n, int k, double[] score) {
        if (k <= 0) return 0;
        if (k >= n) {
            Arrays.sort(items, 0, n);
            return n;
        }
        if (k == n - 1 && isSorted(items, n)) {
            // the decode-time case of an eviction policy: one token too many, already in slot order
            int worst = 0;
            for (int i = 1; i < n; i++) if (before(items[worst], items[i], score)) worst = i;
            System.arraycopy(items, worst + 1, items, worst, n - 1 - worst);
            return k;
        }
        select(items, n, k, score);
        Arrays.sort(items, 0, k);
        return k;
    }

    /** Whether item a ranks before item b: higher score, or the same score and a larger item. */
    static boolean before(int a, int b, double[] score) {
        int c = Double.compare(score[a], score[b]);
        return c > 0 || c == 0 && a > b;
    }

    private static boolean isSorted(int[] items, int n) {
        for (int i = 1; i < n; i++) if (items[i - 1] >= items[i]) return false;
        return true;
    }

    /** Partitions items[0..n) so that items[0..k) are the k first in the order of {@link #before}. */
    private static void select(int[] items, int n, int k, double[] score) {
        int lo = 0, hi = n - 1;
        long rng = 0x9E3779B97F4A7C15L ^ n;
        while (lo < hi) {
            rng ^= rng << 13;
            rng ^= rng >>> 7;
            rng ^= rng << 17;
            int p = lo + (int) Long.remainderUnsigned(rng, hi - lo + 1);
            swap(items, p, hi);
            int pivot = items[hi];
            int store = lo;
            for (int i = lo; i < hi; i++) {
                if (before(items[i], pivot, score)) swap(items, i, store++);
            }
            swap(items, store, hi);
            if (store == k || store == k - 1) return;
            if (store < k) lo = store + 1;
            else hi = store - 1;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
