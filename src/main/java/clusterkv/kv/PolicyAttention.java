package clusterkv.kv;

import clusterkv.tensor.Parallel;

import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An {@link AttentionBackend} that lets a {@link KVPolicy} choose, at every decode step of every
 * layer past the dense ones, which cached tokens each query head attends to. Prefill chunks use
 * exact causal attention (the policy then indexes what was prefilled); a budget that covers the
 * whole context falls back to exact attention.
 */
public final class PolicyAttention implements AttentionBackend {

    private final KVCache cache;
    private final KVPolicy policy;
    private final int heads;
    private final int group;
    private final LayerKV[] layers;
    private final LayerPolicy[] layerPolicies;
    /** Per layer: the length up to which the policy has seen the prefill (afterPrefill called). */
    private final int[] indexed;
    /** Per layer: the last prefill queries the policy wants, as a ring of rows. */
    private final float[][] lastQueries;
    private final int[] lastQueryCount;
    /** Per layer: the policy indexing that layer's prompt on the background thread, until a later step joins it. */
    private final Parallel.Deferred[] indexing;
    /** Where the prompt being prefilled ends (see {@link #promptEndsAt}); -1 when unknown. */
    private int promptEnd = -1;
    private final AtomicLong indexingNanos = new AtomicLong();
    /** Eviction policies: per layer, decode steps since the last prompt (evicted slots are given back at every RELEASE_EVERY-th, the first included). */
    private final int[] stepsSinceRelease;
    private final BitSet keptSlots = new BitSet();
    private boolean releaseEvicted = true;
    /** Evicted slots are given back every this many decode steps of a layer (a scan of the kept set per KV head). */
    private static final int RELEASE_EVERY = 64;
    private final Selection[] perHead;
    private final float[][] weights;
    private final ThreadLocal<SparseAttention.Scratch> scratch;
    private final int[][] groupHeads;
    private final int[][] singleHead;
    /** Per KV head: slots read by the last attendEach. */
    private final int[] slotsRead;
    private KVStats stats;
    private long bytesRead;
    /** Tokens the decode steps' selections attended, summed over heads, and the (layer, head) selections counted. */
    private long attendedTokens, attendedSelections;
    private final ThreadLocal<FidelityProbe> probe = ThreadLocal.withInitial(FidelityProbe::new);

    public PolicyAttention(KVCache cache, int heads, KVPolicy policy) {
        this.cache = cache;
        this.policy = policy;
        this.heads = heads;
        this.group = heads / cache.kvHeads;
        int n = cache.layers;
        this.layers = new LayerKV[n];
        this.layerPolicies = new LayerPolicy[n];
        this.indexed = new int[n];
        this.lastQueries = new float[n][];
        this.lastQueryCount = new int[n];
        this.indexing = new Parallel.Deferred[n];
        this.stepsSinceRelease = new int[n];
        for (int l = 0; l < n; l++) {
            layers[l] = new LayerKV(cache, l);
            if (l >= policy.config().denseLayers()) {
                layerPolicies[l] = policy.forLayer(l, heads, cache.kvHeads, cache.headDim);
                cache.readSparsely(l);
                lastQueries[l] = new float[policy.prefillQueriesWanted() * heads * cache.headDim];
            }
        }
        this.perHead = new Selection[heads];
        for (int h = 0; h < heads; h++) perHead[h] = new Selection();
        this.weights = new float[heads][];
        this.scratch = ThreadLocal.withInitial(() -> new SparseAttention.Scratch(cache.headDim, group));
        this.groupHeads = new int[cache.kvHeads][group];
        for (int g = 0; g < cache.kvHeads; g++) for (int i = 0; i < group; i++) groupHeads[g][i] = g * group + i;
        this.singleHead = new int[heads][];
        this.slotsRead = new int[cache.kvHeads];
        for (int h = 0; h < heads; h++) singleHead[h] = new int[]{h};
    }

    public KVCache cache() { return cache; }

    /** Starts collecting selection fidelity against exact attention (costs a full attention pass per step). */
    public void collectStats(KVStats stats) {
        this.stats = stats;
    }
    public KVPolicy policy() { return policy; }

    @Override
    public void promptEndsAt(int position) {
        promptEnd = position;
    }

    @Override
    public void attend(int layer, float[] q, float[] k, float[] v, float[] out, int p0, int n) {
        awaitIndexing(layer);
        cache.store(layer, p0, n, k, v);
        cache.prepareQueries(q, n, heads); // before the policy sees them: it compares them with the stored keys
        LayerPolicy lp = layerPolicies[layer];
        int length = p0 + n;
        if (lp != null && n > 1 && indexed[layer] > 0 && policy.evicts()) {
            // What an eviction policy evicted is gone: a prompt that follows decoding (the next chat turn)
            // attends as decode steps would, not exactly over every cached token.
            decodeEach(layer, lp, q, out, p0, n);
            return;
        }
        if (lp == null || n > 1 || length <= policy.config().budget() && indexed[layer] == 0) {
            if (lp != null) {
                stepsSinceRelease[layer] = 0; // the first decode step after a prompt gives back what it evicts
                rememberQueries(layer, q, n);
                lp.observePrefill(layers[layer], q, p0, n);
            }
            CausalAttention.forward(cache, layer, q, out, p0, n, heads);
            if (n == 1) bytesRead += length * bytesPerSlot() * cache.kvHeads;
            if (lp != null && n > 1 && length == promptEnd && length > policy.config().budget()) indexInBackground(layer, lp, length);
            return;
        }
        if (indexed[layer] < p0) {
            lp.afterPrefill(layers[layer], indexed[layer], p0, lastQueries[layer], lastQueryCount[layer]);
            indexed[layer] = p0;
            lastQueryCount[layer] = 0;
        }
        decode(layer, lp, q, out, length);
        indexed[layer] = length;
    }

    /**
     * The layer's part of the prompt is complete: the policy indexes it (ClusterKV's K-means) on the background
     * thread while the next layers compute, instead of at the first decode step.
     */
    private void indexInBackground(int layer, LayerPolicy lp, int length) {
        int from = indexed[layer], count = lastQueryCount[layer];
        float[] queries = lastQueries[layer]; // not written again before a later attend(layer) joins this task
        indexed[layer] = length;
        lastQueryCount[layer] = 0;
        indexing[layer] = Parallel.background(() -> {
            long t0 = System.nanoTime();
            lp.afterPrefill(layers[layer], from, length, queries, count);
            indexingNanos.addAndGet(System.nanoTime() - t0);
        });
    }

    /** Time spent indexing prompts so far (on whichever thread ran it, overlapped with prefill or not). */
    public long indexingNanos() {
        return indexingNanos.get();
    }

    /**
     * Before the layer is used again, its indexing must be done. The first decode step after a prompt gets here
     * with the last layers' indexing maybe not started: it runs those itself, with the compute threads, from
     * the last layer down, while the background thread works up from the first.
     */
    private void awaitIndexing(int layer) {
        if (indexing[layer] == null) return;
        for (int l = indexing.length - 1; l >= layer; l--) awaitIndexingOf(l);
    }

    private void awaitIndexingOf(int layer) {
        Parallel.Deferred d = indexing[layer];
        if (d == null) return;
        indexing[layer] = null;
        d.join();
    }

    /** Joins every layer's indexing, even when one failed (then rethrows the first failure). */
    private void awaitAllIndexing() {
        RuntimeException failure = null;
        for (int l = indexing.length - 1; l >= 0; l--) {
            try {
                awaitIndexingOf(l);
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            }
        }
        if (failure != null) throw failure;
    }

    /** The n tokens of a chunk as n decode steps through the policy, each seeing the chunk's earlier tokens. */
    private void decodeEach(int layer, LayerPolicy lp, float[] q, float[] out, int p0, int n) {
        int row = heads * cache.headDim;
        float[] rowQ = new float[row], rowOut = new float[row];
        for (int t = 0; t < n; t++) {
            System.arraycopy(q, t * row, rowQ, 0, row);
            decode(layer, lp, rowQ, rowOut, p0 + t + 1);
            System.arraycopy(rowOut, 0, out, t * row, row);
        }
        indexed[layer] = p0 + n;
    }

    private void decode(int layer, LayerPolicy lp, float[] q, float[] out, int length) {
        lp.select(layers[layer], q, length, perHead);
        if (cache.paged) {
            if (layer == policy.config().denseLayers()) cache.stepStarts();
            prefetchSelections(layer);
        }
        for (Selection sel : perHead) attendedTokens += sel.tokens();
        attendedSelections += heads;
        boolean wantWeights = lp.wantsWeights();
        if (wantWeights) {
            for (int h = 0; h < heads; h++) {
                if (weights[h] == null || weights[h].length < perHead[h].tokens()) weights[h] = new float[Math.max(perHead[h].tokens(), 64)];
            }
        }
        LayerKV kv = layers[layer];
        Parallel.forEach(cache.kvHeads, g -> {
            SparseAttention.Scratch s = scratch.get();
            int first = g * group;
            if (sharesSelection(first)) {
                SparseAttention.attend(kv, g, perHead[first], groupHeads[g], group, q, out, wantWeights ? weights : null, s);
            } else if (!wantWeights) {
                slotsRead[g] = SparseAttention.attendEach(kv, g, perHead, groupHeads[g], group, q, out, s);
            } else {
                for (int i = 0; i < group; i++) {
                    SparseAttention.attend(kv, g, perHead[first + i], singleHead[first + i], 1, q, out, weights, s);
                }
            }
        });
        if (wantWeights) lp.observe(perHead, weights);
        bytesRead += selectedBytes(wantWeights) + lp.indexBytesRead();
        if (stats != null) measure(layer, lp, q, out, length);
        else if (releaseEvicted && policy.evicts() && stepsSinceRelease[layer]++ % RELEASE_EVERY == 0) releaseEvicted(layer, length);
    }

    /** A cache in a file: every range this step's selections read starts coming in now, all of them at once. */
    private void prefetchSelections(int layer) {
        for (int h = 0; h < heads; h++) {
            Selection s = perHead[h];
            if (h > 0 && perHead[h - 1] == s) continue; // shared by the group
            for (int r = 0; r < s.ranges(); r++) cache.prefetch(layer, h / group, s.source(r), s.source(r) + s.end(r) - s.start(r));
        }
    }

    /**
     * What an eviction policy left out of every selection of a KV head's group is gone for good (the
     * policies never bring an evicted slot back, also after a rewind): the whole pages of such slots go back
     * to the OS, so that the memory held follows the budget rather than the context. Not while fidelity
     * statistics are collected: their exact attention reads every slot.
     */
    private void releaseEvicted(int layer, int length) {
        for (int g = 0; g < cache.kvHeads; g++) {
            keptSlots.clear();
            for (int h = g * group; h < (g + 1) * group; h++) {
                Selection s = perHead[h];
                for (int r = 0; r < s.ranges(); r++) keptSlots.set(s.source(r), s.source(r) + s.end(r) - s.start(r));
            }
            for (int from = keptSlots.nextClearBit(0); from < length; from = keptSlots.nextClearBit(from)) {
                int next = keptSlots.nextSetBit(from);
                int to = next < 0 ? length : Math.min(next, length);
                cache.release(layer, g, from, to);
                from = to;
            }
        }
    }

    /** Whether evicted slots are given back to the OS (default on; off to compare, in tests). */
    public void releaseEvictedSlots(boolean on) {
        releaseEvicted = on;
    }

    private void measure(int layer, LayerPolicy lp, float[] q, float[] out, int length) {
        int d = cache.headDim;
        Parallel.forEach(heads, h -> probe.get().measure(layers[layer], h / group, q, h * d, length, perHead[h],
                policy.config().budget(), out, h * d, stats));
        long[] hits = lp.cacheHits();
        if (hits != null) stats.setCacheHits(layer, hits[0], hits[1]);
    }

    /** Keys and values of one slot of one KV head. */
    private long bytesPerSlot() {
        return cache.slotBytes();
    }

    /**
     * What SparseAttention read for this step's selections: once per group when shared, the union of the
     * group's selections when each head selects (attendEach), every head's own when weights were wanted.
     */
    private long selectedBytes(boolean wantWeights) {
        long slots = 0;
        for (int g = 0; g < cache.kvHeads; g++) {
            int first = g * group;
            if (sharesSelection(first)) slots += perHead[first].tokens();
            else if (!wantWeights) slots += slotsRead[g];
            else for (int i = 0; i < group; i++) slots += perHead[first + i].tokens();
        }
        return slots * bytesPerSlot();
    }

    /** Cluster cache hits over every layer so far as {hits, clusters selected}, or null for a policy without one. */
    public long[] cacheHits() {
        awaitAllIndexing();
        long[] sum = null;
        for (LayerPolicy lp : layerPolicies) {
            long[] h = lp == null ? null : lp.cacheHits();
            if (h == null) continue;
            if (sum == null) sum = new long[2];
            sum[0] += h[0];
            sum[1] += h[1];
        }
        return sum;
    }

    @Override
    public long kvBytesRead() {
        return bytesRead;
    }

    /** Tokens attended per query head per sparse decode step, on average so far (fewer than the budget with --kv-top-p). */
    public double attendedTokensPerHead() {
        return attendedSelections == 0 ? 0 : attendedTokens / (double) attendedSelections;
    }

    @Override
    public long kvBytesResident(int length) {
        awaitAllIndexing();
        long index = 0;
        for (LayerPolicy lp : layerPolicies) if (lp != null) index += lp.indexBytesResident();
        return length * cache.bytesPerPosition() - cache.releasedBytes() + index;
    }

    @Override
    public void fillSynthetic(int length, long seed) {
        awaitAllIndexing();
        int[][][] components = SyntheticKVFill.fill(cache, length, seed);
        for (int l = 0; l < layerPolicies.length; l++) {
            if (layerPolicies[l] == null) continue;
            layerPolicies[l].afterSyntheticFill(layers[l], length, components[l]);
            indexed[l] = length;
        }
    }

    private boolean sharesSelection(int first) {
        for (int i = 1; i < group; i++) if (perHead[first + i] != perHead[first]) return false;
        return true;
    }

    private void rememberQueries(int layer, float[] q, int n) {
        float[] ring = lastQueries[layer];
        int row = heads * cache.headDim;
        int capacity = ring.length / Math.max(row, 1);
        if (capacity == 0) return;
        // keep the last `capacity` query rows, oldest first
        int keep = Math.min(capacity, n);
        int old = Math.min(lastQueryCount[layer], capacity - keep);
        System.arraycopy(ring, (lastQueryCount[layer] - old) * row, ring, 0, old * row);
        System.arraycopy(q, (n - keep) * row, ring, old * row, keep * row);
        lastQueryCount[layer] = old + keep;
    }

    @Override
    public void saveState(PolicyState state) {
        awaitAllIndexing();
        for (int l = 0; l < layerPolicies.length; l++) {
            if (layerPolicies[l] == null) continue;
            PolicyState layer = state.scope("layer" + l);
            layer.putInt("indexed", indexed[l]);
            layer.putInt("steps_since_release", stepsSinceRelease[l]);
            // prefill queries that the policy has not seen yet (SnapKV's observation window)
            layer.put("pending_queries", Arrays.copyOf(lastQueries[l], lastQueryCount[l] * heads * cache.headDim));
            layerPolicies[l].save(layer.scope("policy"));
        }
    }

    @Override
    public void restoreState(PolicyState state) {
        for (int l = 0; l < layerPolicies.length; l++) {
            if (layerPolicies[l] == null) continue;
            PolicyState layer = state.scope("layer" + l);
            indexed[l] = layer.getInt("indexed", 0, cache.capacity);
            stepsSinceRelease[l] = layer.getInt("steps_since_release", 0, Integer.MAX_VALUE);
            float[] pending = layer.floats("pending_queries");
            int row = heads * cache.headDim;
            if (pending.length % row != 0 || pending.length > lastQueries[l].length) {
                throw new IllegalStateException("layer " + l + ": " + pending.length + " pending query values do not fit rows of " + row);
            }
            System.arraycopy(pending, 0, lastQueries[l], 0, pending.length);
            lastQueryCount[l] = pending.length / row;
            layerPolicies[l].restore(layers[l], layer.scope("policy"));
        }
    }

    @Override
    public void truncate(int position) {
        awaitAllIndexing();
        cache.rewound(position);
        Arrays.fill(stepsSinceRelease, 0);
        for (int l = 0; l < layerPolicies.length; l++) {
            if (layerPolicies[l] != null && indexed[l] > position) {
                layerPolicies[l].truncate(layers[l], position);
                indexed[l] = position;
            }
        }
    }

    @Override
    public void close() {
        try {
            awaitAllIndexing(); // the background thread must be done with the cache before it is freed
        } finally {
            cache.close();
        }
    }
}
