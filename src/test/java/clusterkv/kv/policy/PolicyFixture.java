package clusterkv.kv.policy;

import clusterkv.kv.KVCache;
import clusterkv.kv.KVType;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.Selection;

import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A one-layer F32 cache of random keys and values, the queries of every position, and brute-force
 * helpers (double precision) that the policies are checked against.
 */
final class PolicyFixture implements AutoCloseable {

    final int heads, kvHeads, group, d, capacity;
    final KVCache cache;
    final LayerKV kv;
    /** [position][kvHeads * d] and [position][heads * d]. */
    final float[][] keys, values, queries;
    private final Random rnd;

    PolicyFixture(int heads, int kvHeads, int d, int capacity, long seed) {
        this(heads, kvHeads, d, capacity, seed, 0);
    }

    /** With spare slots after the capacity (a policy's own working space). */
    PolicyFixture(int heads, int kvHeads, int d, int capacity, long seed, int spareSlots) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.group = heads / kvHeads;
        this.d = d;
        this.capacity = capacity;
        this.cache = new KVCache(1, kvHeads, d, capacity, KVType.F32, spareSlots);
        this.kv = new LayerKV(cache, 0);
        this.rnd = new Random(seed);
        this.keys = new float[capacity][];
        this.values = new float[capacity][];
        this.queries = new float[capacity][];
        for (int p = 0; p < capacity; p++) regenerate(p);
    }

    /** New random key, value and query for position p (stored in the cache). */
    void regenerate(int p) {
        keys[p] = gaussian(kvHeads * d, 1.5f);
        values[p] = gaussian(kvHeads * d, 1f);
        queries[p] = gaussian(heads * d, 1.5f);
        cache.store(0, p, keys[p], 0, values[p], 0);
    }

    private float[] gaussian(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian() * scale;
        return v;
    }

    float key(int p, int g, int i) {
        return keys[p][g * d + i];
    }

    /** Queries of positions [from, to) as rows [heads * d]. */
    float[] queryRows(int from, int to) {
        float[] out = new float[(to - from) * heads * d];
        for (int p = from; p < to; p++) System.arraycopy(queries[p], 0, out, (p - from) * heads * d, heads * d);
        return out;
    }

    /** Softmax weights, in double, of the query of position p, head h, over the given slots (in that order). */
    double[] softmax(int p, int h, int[] slots, int n) {
        int g = h / group;
        double scale = 1.0 / Math.sqrt(d);
        double[] w = new double[n];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double) queries[p][h * d + i] * key(slots[j], g, i);
            w[j] = s * scale;
            max = Math.max(max, w[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) sum += w[j] = Math.exp(w[j] - max);
        for (int j = 0; j < n; j++) w[j] /= sum;
        return w;
    }

    static int[] slots(Selection sel) {
        int[] s = new int[sel.tokens()];
        sel.slots(s);
        return s;
    }

    static TreeSet<Integer> set(Selection sel) {
        TreeSet<Integer> out = new TreeSet<>();
        for (int s : slots(sel)) assertTrue(out.add(s), "slot " + s + " selected twice in " + sel);
        return out;
    }

    /**
     * One decode step of the query at position length-1: select, check the basic contract (at most budget
     * tokens, the current one included, slots in range), and feed the policy the step's weights when it
     * wants them. Returns the selections.
     */
    Selection[] step(LayerPolicy lp, int length, int budget) {
        Selection[] perHead = new Selection[heads];
        for (int h = 0; h < heads; h++) perHead[h] = new Selection();
        lp.select(kv, queries[length - 1], length, perHead);
        for (int h = 0; h < heads; h++) {
            TreeSet<Integer> s = set(perHead[h]);
            assertTrue(s.size() <= budget, "head " + h + " at length " + length + ": " + s.size() + " tokens > budget " + budget);
            assertTrue(s.contains(length - 1), "head " + h + " at length " + length + " misses the current token");
            assertTrue(s.first() >= 0 && s.last() < length, "head " + h + ": slots out of range " + perHead[h]);
        }
        if (lp.wantsWeights()) {
            float[][] weights = new float[heads][];
            for (int h = 0; h < heads; h++) {
                int[] sl = slots(perHead[h]);
                double[] w = softmax(length - 1, h, sl, sl.length);
                weights[h] = new float[w.length + 3]; // longer than needed, as the framework's buffers are
                for (int j = 0; j < w.length; j++) weights[h][j] = (float) w[j];
            }
            lp.observe(perHead, weights);
        }
        return perHead;
    }

    static void assertSelects(Selection sel, TreeSet<Integer> expected, String what) {
        assertEquals(expected, set(sel), what);
    }

    static PolicyConfig config(int budget, int sink, int window, int pageSize, boolean shared) {
        return new PolicyConfig(budget, sink, window, 0, 20, 0, shared, false, pageSize, 0);
    }

    @Override
    public void close() {
        cache.close();
    }
}
