package clusterkv.cluster;

import clusterkv.tensor.VectorMath;

import java.util.Arrays;

/**
 * ClusterKV's selection at a decode step: score every cluster by q . centroid, then take clusters from the
 * highest score down until their tokens fill the budget; the last one is cut to fit exactly (its first,
 * i.e. lowest, tokens). The order is exact: descending score, ties to the lower cluster id.
 *
 * <p>Decode hot path, so no allocation per call (the scratch arrays grow only when an index has more clusters
 * than seen before) and no full sort. The budget usually covers a few dozen of hundreds or thousands of
 * clusters, so the selection first finds the cut with a size-weighted histogram of the scores (one pass,
 * no data-dependent branches), and only sorts the clusters at or above the bucket where the budget runs
 * out. (A binary heap popped until the budget was covered took about 3x as long at k = 400: its sift-downs
 * mispredict a branch per level.)
 *
 * <p>One instance per thread.
 */
public final class ClusterSelector {

    /** At most this many histogram buckets; fewer for few clusters (about one per cluster). */
    private static final int MAX_BUCKETS = 1024;

    private float[] scores = new float[0];
    private int[] bucketOf = new int[0];
    private long[] candidates = new long[0];
    private int[] weight = new int[MAX_BUCKETS];
    private float[] qSum = new float[0];
    /** next(): a bounded max-heap of order() values, and per cluster the call that chose it. */
    private long[] heap = new long[0];
    private int[] chosenAt = new int[0];
    private int calls;

    /**
     * Selects for one query of dimension idx.dim() at q[qOff..]. Writes the chosen clusters, best first, to
     * clusterOut and how many of each one's tokens to take (all but possibly the last: its size) to takeOut;
     * both need room for the number returned, at most idx.clusterCount(). Empty clusters are never chosen.
     *
     * @return the number of clusters chosen; their takes add up to min(tokenBudget, idx.tokenCount())
     */
    public int select(float[] q, int qOff, ClusterIndex idx, int tokenBudget, int[] clusterOut, int[] takeOut) {
        ensureCapacity(idx.clusterCount(), idx.dim());
        idx.score(q, qOff, scores);
        return choose(idx, tokenBudget, clusterOut, takeOut);
    }

    /**
     * Selects once for a group of {@code heads} query heads that share the KV head of idx (GQA), by the sum
     * of their scores. The heads are contiguous: head h at q[qOff + h * idx.dim() ..]. The sum of the scores
     * is computed as (sum of the queries) . centroid, the same quantity at a fraction of the cost.
     */
    public int selectShared(float[] q, int qOff, int heads, ClusterIndex idx, int tokenBudget, int[] clusterOut, int[] takeOut) {
        if (heads < 1) throw new IllegalArgumentException("heads must be >= 1, got " + heads);
        int d = idx.dim();
        ensureCapacity(idx.clusterCount(), d);
        System.arraycopy(q, qOff, qSum, 0, d);
        for (int h = 1; h < heads; h++) VectorMath.axpy(1f, q, qOff + h * d, qSum, 0, d);
        idx.score(qSum, 0, scores);
        return choose(idx, tokenBudget, clusterOut, takeOut);
    }

    /** Where to write idx's cluster scores for {@link #selectScored} (room for ClusterIndex.paddedClusters). */
    public float[] scoreBuffer(ClusterIndex idx) {
        ensureCapacity(idx.clusterCount(), idx.dim());
        return scores;
    }

    /** select() from scores already written into {@link #scoreBuffer} (e.g. by ClusterIndex.score4 for four heads). */
    public int selectScored(ClusterIndex idx, int tokenBudget, int[] clusterOut, int[] takeOut) {
        return choose(idx, tokenBudget, clusterOut, takeOut);
    }

    /**
     * The estimation zone: up to {@code n} clusters ranked, by the last selection's scores, just after the
     * {@code chosen} clusters in chosen[0..chosen) (which are left out), best first, into out. Empty clusters are
     * never named. A bounded heap over one pass: after the first few clusters most fail a single comparison.
     *
     * @return how many were written
     */
    public int next(ClusterIndex idx, int[] chosenClusters, int chosen, int n, int[] out) {
        int k = idx.clusterCount();
        if (n <= 0 || k == 0) return 0;
        if (chosenAt.length < k) chosenAt = Arrays.copyOf(chosenAt, Math.max(k, 2 * chosenAt.length));
        if (heap.length < n) heap = new long[n];
        calls++;
        for (int i = 0; i < chosen; i++) chosenAt[chosenClusters[i]] = calls;
        int[] sizes = idx.sizeData();
        int size = 0;
        for (int c = 0; c < k; c++) {
            if (chosenAt[c] == calls || sizes[c] == 0) continue;
            long o = order(scores[c], c);
            if (size < n) {
                heap[size++] = o;
                siftUp(heap, size - 1);
            } else if (o < heap[0]) {
                heap[0] = o;
                siftDown(heap, 0, size);
            }
        }
        sort(heap, size);
        for (int i = 0; i < size; i++) out[i] = (int) heap[i];
        return size;
    }

    /** Max-heap sift-up of a[i]. */
    private static void siftUp(long[] a, int i) {
        long x = a[i];
        for (int parent; i > 0 && a[parent = (i - 1) / 2] < x; i = parent) a[i] = a[parent];
        a[i] = x;
    }

    /** The scores of the last selection ([clusterCount()] valid entries), for diagnostics and tests. */
    float[] lastScores() {
        return scores;
    }

    private int choose(ClusterIndex idx, int tokenBudget, int[] clusterOut, int[] takeOut) {
        int k = idx.clusterCount();
        if (tokenBudget <= 0 || k == 0) return 0;
        int[] sizes = idx.sizeData();
        int cut = cutBucket(k, sizes, tokenBudget);
        // Every cluster above the cut bucket scores higher than every cluster in or below it, and together they
        // hold fewer tokens than the budget: all of them are taken. Sorting those and the cut bucket is exact.
        int m = 0;
        for (int c = 0; c < k; c++) {
            if (bucketOf[c] >= cut && sizes[c] > 0) candidates[m++] = order(scores[c], c);
        }
        sort(candidates, m);
        int chosen = 0, remaining = tokenBudget;
        for (int i = 0; i < m && remaining > 0; i++) {
            int c = (int) candidates[i];   // the low 32 bits hold the cluster id
            int take = Math.min(sizes[c], remaining);
            clusterOut[chosen] = c;
            takeOut[chosen++] = take;
            remaining -= take;
        }
        return chosen;
    }

    /**
     * Buckets the scores linearly between their min and max (a monotone map: a higher bucket means a strictly
     * higher score), weights each bucket by its clusters' sizes, and returns the highest bucket at which the
     * tokens from the top reach the budget (0 when they never do). A range that is empty or not finite puts
     * everything into bucket 0, which leaves the whole job to the exact sort.
     */
    private int cutBucket(int k, int[] sizes, int tokenBudget) {
        float lo = min(scores, k), hi = max(scores, k);
        int buckets = Math.min(MAX_BUCKETS, k);
        float range = hi - lo;
        float scale = range > 0 && range < Float.POSITIVE_INFINITY ? (buckets - 1) / range : 0f;
        bucketize(k, lo, scale, buckets - 1);
        for (int c = 0; c < k; c++) weight[bucketOf[c]] += sizes[c];
        int cut = 0;
        for (int b = buckets - 1, tokens = 0; b >= 0; b--) {
            tokens += weight[b];
            if (tokens >= tokenBudget) {
                cut = b;
                break;
            }
        }
        Arrays.fill(weight, 0, buckets, 0);
        return cut;
    }

    /** bucketOf[c] = min(top, (int) ((scores[c] - lo) * scale)): no dependency between iterations. */
    private void bucketize(int k, float lo, float scale, int top) {
        for (int c = 0; c < k; c++) bucketOf[c] = Math.min(top, (int) ((scores[c] - lo) * scale));
    }

    /**
     * The smallest of a[0..k). A compare-and-branch rather than Math.min: Math.min (which handles NaN and -0)
     * makes a chain of multi-cycle steps, while the branch is rarely taken once the minimum is near. (The Vector
     * API was tried here and is faster once compiled, but in some compile orders C2 left its loads
     * un-intrinsified inside the inlined caller, allocating on every call.)
     */
    private static float min(float[] a, int k) {
        float m = Float.POSITIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            if (a[i] < m) m = a[i];
        }
        return m;
    }

    private static float max(float[] a, int k) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            if (a[i] > m) m = a[i];
        }
        return m;
    }

    /**
     * Sorts a[0..m) ascending in place. Usually m is a few dozen: insertion sort. Not Arrays.sort, which may
     * allocate (run merging) for nearly sorted input, e.g. many equal scores. Heapsort for the rare large m.
     */
    static void sort(long[] a, int m) {
        if (m <= 48) {
            for (int i = 1; i < m; i++) {
                long x = a[i];
                int j = i - 1;
                for (; j >= 0 && a[j] > x; j--) a[j + 1] = a[j];
                a[j + 1] = x;
            }
            return;
        }
        for (int i = m / 2 - 1; i >= 0; i--) siftDown(a, i, m);
        for (int end = m - 1; end > 0; end--) {
            long top = a[0];
            a[0] = a[end];
            a[end] = top;
            siftDown(a, 0, end);
        }
    }

    /** Max-heap sift-down of a[i] within a[0..size). */
    private static void siftDown(long[] a, int i, int size) {
        long x = a[i];
        for (int child; (child = 2 * i + 1) < size; i = child) {
            if (child + 1 < size && a[child + 1] > a[child]) child++;
            if (a[child] <= x) break;
            a[i] = a[child];
        }
        a[i] = x;
    }

    /**
     * A long whose ascending order is (score descending, cluster ascending): the float's bits made monotone
     * as a signed int (negative floats have their magnitude bits flipped), inverted, above the id.
     * -0.0 is first turned into 0.0 so that the two compare equal, as floats do.
     */
    static long order(float score, int cluster) {
        int bits = Float.floatToRawIntBits(score + 0f);
        int monotone = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) ~monotone << 32) | cluster;
    }

    private void ensureCapacity(int k, int d) {
        if (bucketOf.length < k) {
            scores = new float[ClusterIndex.paddedClusters(k)];
            bucketOf = new int[k];
            candidates = new long[k];
        }
        if (qSum.length < d) qSum = new float[d];
    }
}
