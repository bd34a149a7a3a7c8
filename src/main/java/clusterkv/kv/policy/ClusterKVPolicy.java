package clusterkv.kv.policy;

import clusterkv.cluster.ClusterCount;
import clusterkv.cluster.ClusterIndex;
import clusterkv.cluster.ClusterSelector;
import clusterkv.cluster.KMeans;
import clusterkv.kv.KVPolicy;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.PolicyState;
import clusterkv.kv.Selection;
import clusterkv.tensor.Parallel;

import java.util.Arrays;

/**
 * ClusterKV (Liu et al., DAC 2025): recallable KV-cache compression at the granularity of semantic
 * clusters. After prefill, each KV head's post-RoPE keys (past the attention sinks) are clustered
 * with cosine K-means and laid out cluster-contiguously in the cache; at each decode step every
 * query head scores the clusters by q . centroid and attends to the best clusters up to the budget,
 * plus the sinks and the recent, not yet clustered tokens. Nothing is evicted: a cluster left out
 * now can be chosen at the next step. Recent tokens are clustered into new clusters each time the
 * window fills.
 */
public final class ClusterKVPolicy implements KVPolicy {

    public static final int DEFAULT_SINK = 16;
    public static final int MAX_WINDOW = 320;

    private final PolicyConfig config;

    public ClusterKVPolicy(PolicyConfig config) {
        this.config = config;
        int sink = config.sinkOr(DEFAULT_SINK);
        if (config.budget() <= sink) {
            throw new IllegalArgumentException("--kv-budget (" + config.budget() + ") must exceed the sink (" + sink + ")");
        }
        if (window() >= config.budget() - sink) {
            throw new IllegalArgumentException("--window (" + window() + ") must be smaller than budget - sink (" + (config.budget() - sink) + ")");
        }
    }

    /** The recent window: min(320, B/4) by default, since it counts toward the budget. */
    int window() {
        return config.window() > 0 ? config.window() : Math.max(1, Math.min(MAX_WINDOW, config.budget() / 4));
    }

    @Override public String name() { return "clusterkv"; }
    @Override public PolicyConfig config() { return config; }
    @Override public boolean evicts() { return false; }

    /**
     * With the cluster cache: a working set of budget - sink slots per selecting head (one per query head, or per KV
     * head when shared); none when the budget covers the whole cache, since then every step attends to everything.
     */
    @Override
    public int spareSlots(int heads, int kvHeads, int capacity) {
        if (!config.clusterCache() || config.budget() >= capacity) return 0;
        return (config.sharedGqaSelection() ? 1 : heads / kvHeads) * (config.budget() - config.sinkOr(DEFAULT_SINK));
    }

    @Override
    public LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim) {
        return new Layer(heads, kvHeads, headDim);
    }

    final class Layer implements LayerPolicy {
        private final int heads, kvHeads, headDim, group;
        private final int sink = config.sinkOr(DEFAULT_SINK);
        private final ClusterIndex[] index;
        /** Slots [sink, clusteredEnd) are clustered; [clusteredEnd, length) is the recent window. */
        private int clusteredEnd;
        private final Selection[] own;
        private final ClusterSelector[] selectors;
        private final int[][] chosen, take;
        /** Per selecting unit (query head, or KV head when shared) and cluster: the step it was last selected. */
        private int[][] lastSelected;
        private int step;
        /** Per selecting unit (each written by one thread at a time). */
        private final long[] hits, selectedClusters;
        /** With the cluster cache, per selecting unit (made at the first sparse step, where the cache's spare slots are known). */
        private ClusterWorkingSet[] workingSets;
        /** Per selecting unit: tokens copied into its working set by the last select. */
        private final long[] copiedLastStep;
        /** With the estimation zone, per selecting unit: the clusters ranked after the chosen ones, and how many the last select estimated. */
        private final int[][] next;
        private final long[] estimatedLastStep;
        /** With the adaptive budget, per selecting unit: each cluster's estimated log-mass, and a group's mean query. */
        private final float[][] mass, groupQuery;
        /** Keys and values of one slot. */
        private long slotBytes;

        Layer(int heads, int kvHeads, int headDim) {
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.headDim = headDim;
            this.group = heads / kvHeads;
            this.index = new ClusterIndex[kvHeads];
            this.own = new Selection[heads];
            this.selectors = new ClusterSelector[heads];
            this.chosen = new int[heads][];
            this.take = new int[heads][];
            for (int h = 0; h < heads; h++) {
                own[h] = new Selection();
                selectors[h] = new ClusterSelector();
            }
            this.lastSelected = new int[heads][0];
            this.hits = new long[heads];
            this.selectedClusters = new long[heads];
            this.copiedLastStep = new long[heads];
            this.next = new int[heads][];
            this.estimatedLastStep = new long[heads];
            this.mass = new float[heads][];
            this.groupQuery = new float[heads][];
            reset();
        }

        private void reset() {
            Arrays.fill(index, null);
            clusteredEnd = 0;
            if (workingSets != null) for (ClusterWorkingSet w : workingSets) w.clear();
        }

        @Override
        public void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount) {
            if (clusteredEnd == 0) {
                clusteredEnd = Math.min(sink, length);
                for (int g = 0; g < kvHeads; g++) index[g] = new ClusterIndex(headDim);
            }
            int n = length - clusteredEnd;
            if (n <= 0) return;
            cluster(kv, clusteredEnd, n, ClusterCount.forPrompt(n, config.clusters()));
        }

        /** Clusters slots [from, from+n) of every KV head, appends the clusters and lays them out contiguously. */
        private void cluster(LayerKV kv, int from, int n, int k) {
            Parallel.forEach(kvHeads, g -> {
                float[] keys = new float[n * headDim];
                kv.readKeys(g, from, n, keys, 0);
                adopt(kv, g, from, KMeans.cluster(keys, 0, n, headDim, Math.min(k, n), config.kmeansIterations(), config.seed() + g));
            });
            clusteredEnd = from + n;
        }

        /** Appends one KV head's clusters of slots [from, from + r.keys()) and lays those slots out cluster by cluster. */
        private void adopt(LayerKV kv, int g, int from, KMeans.Result r) {
            int n = r.keys();
            int firstMember = index[g].tokenCount(), firstCluster = index[g].clusterCount();
            index[g].append(r, from);
            int[] order = new int[n];
            for (int i = 0; i < n; i++) order[i] = index[g].member(firstMember + i) - from;
            kv.permute(g, from, order);
            if (config.needsClusterMeans()) setMeans(kv, g, from, n, firstCluster);
        }

        /** The mean key and mean value of each new cluster (from firstCluster on), whose tokens now lie at slots [from, from + n). */
        private void setMeans(LayerKV kv, int g, int from, int n, int firstCluster) {
            ClusterIndex idx = index[g];
            float[] keys = new float[n * headDim], values = new float[n * headDim];
            kv.readKeys(g, from, n, keys, 0);
            kv.readValues(g, from, n, values, 0);
            float[] key = new float[headDim], value = new float[headDim];
            for (int c = firstCluster; c < idx.clusterCount(); c++) {
                Arrays.fill(key, 0f);
                Arrays.fill(value, 0f);
                int start = sink + idx.offset(c) - from, size = idx.size(c);
                for (int t = start; t < start + size; t++) {
                    for (int i = 0; i < headDim; i++) {
                        key[i] += keys[t * headDim + i];
                        value[i] += values[t * headDim + i];
                    }
                }
                for (int i = 0; i < headDim && size > 0; i++) {
                    key[i] /= size;
                    value[i] /= size;
                }
                idx.setMeans(c, key, 0, value, 0);
            }
        }

        /** Generated keys: their mixture components are the clusters (outliers form one more), centroids their means. */
        @Override
        public void afterSyntheticFill(LayerKV kv, int length, int[][] components) {
            reset();
            clusteredEnd = Math.min(sink, length);
            for (int g = 0; g < kvHeads; g++) index[g] = new ClusterIndex(headDim);
            int from = clusteredEnd, n = length - from;
            if (n <= 0) return;
            Parallel.forEach(kvHeads, g -> {
                int k = 0;
                for (int t = from; t < length; t++) k = Math.max(k, components[g][t] + 2);
                int[] assignment = new int[n], sizes = new int[k];
                for (int i = 0; i < n; i++) {
                    int c = components[g][from + i];
                    assignment[i] = c < 0 ? k - 1 : c;
                    sizes[assignment[i]]++;
                }
                float[] keys = new float[n * headDim], centroids = new float[k * headDim];
                kv.readKeys(g, from, n, keys, 0);
                for (int i = 0; i < n; i++) {
                    clusterkv.tensor.VectorMath.axpy(1f / sizes[assignment[i]], keys, i * headDim, centroids, assignment[i] * headDim, headDim);
                }
                adopt(kv, g, from, new KMeans.Result(centroids, assignment, sizes));
            });
            clusteredEnd = length;
        }

        @Override
        public void select(LayerKV kv, float[] q, int length, Selection[] perHead) {
            Arrays.fill(copiedLastStep, 0);
            Arrays.fill(estimatedLastStep, 0);
            int budget = config.budget();
            if (length <= budget) {
                own[0].clear();
                own[0].add(0, length);
                Arrays.fill(perHead, own[0]);
                return;
            }
            int window = window();
            if (length - clusteredEnd > window) cluster(kv, clusteredEnd, window, ClusterCount.forWindow(window, budget));
            int clusterBudget = budget - sink - (length - clusteredEnd);
            step++;
            boolean shared = config.sharedGqaSelection();
            if (config.clusterCache() && workingSets == null) workingSets = workingSets(kv, shared ? kvHeads : heads);
            // KV heads in parallel (a group's query heads on one thread, so its centroids are read from memory once)
            Parallel.forEach(kvHeads, g -> {
                if (shared) {
                    selectFor(kv, g, g, q, clusterBudget, true, length);
                } else {
                    scoreGroup(g, q);
                    for (int u = g * group; u < (g + 1) * group; u++) selectFor(kv, u, g, q, clusterBudget, false, length);
                }
            });
            for (int h = 0; h < heads; h++) perHead[h] = shared ? own[h / group] : own[h];
        }

        /** One working set per selecting unit, each in its own part of its KV head's spare slots. */
        private ClusterWorkingSet[] workingSets(LayerKV kv, int units) {
            int size = config.budget() - sink, perKVHead = units / kvHeads;
            if (kv.spareSlots() < perKVHead * size) {
                throw new IllegalStateException("the cluster cache needs " + perKVHead * size + " spare slots per KV head, the KV cache has " + kv.spareSlots());
            }
            slotBytes = kv.cache().slotBytes();
            ClusterWorkingSet[] sets = new ClusterWorkingSet[units];
            for (int u = 0; u < units; u++) sets[u] = new ClusterWorkingSet(kv.capacity() + (u % perKVHead) * size, size);
            return sets;
        }

        /** Each query head's cluster scores, into its selector; four heads per pass over the KV head's centroids. */
        private void scoreGroup(int g, float[] q) {
            ClusterIndex idx = index[g];
            int u = g * group, end = u + group;
            for (; u + 4 <= end; u += 4) {
                idx.score4(q, u * headDim, selectors[u].scoreBuffer(idx), selectors[u + 1].scoreBuffer(idx),
                        selectors[u + 2].scoreBuffer(idx), selectors[u + 3].scoreBuffer(idx));
            }
            for (; u < end; u++) idx.score(q, u * headDim, selectors[u].scoreBuffer(idx));
        }

        /** Sinks, then the best clusters, then the recent window, for one selecting unit. */
        private void selectFor(LayerKV kv, int unit, int kvHead, float[] q, int clusterBudget, boolean shared, int length) {
            Selection s = own[unit];
            s.clear();
            s.add(0, sink);
            chooseClusters(kv, unit, kvHead, q, clusterBudget, shared, s);
            s.add(clusteredEnd, length);
        }

        private void chooseClusters(LayerKV kv, int unit, int kvHead, float[] q, int clusterBudget, boolean shared, Selection s) {
            ClusterIndex idx = index[kvHead];
            int k = idx.clusterCount();
            if (chosen[unit] == null || chosen[unit].length < k) {
                chosen[unit] = new int[k];
                take[unit] = new int[k];
                lastSelected[unit] = Arrays.copyOf(lastSelected[unit], k);
            }
            int n = shared
                    ? selectors[unit].selectShared(q, kvHead * group * headDim, group, idx, clusterBudget, chosen[unit], take[unit])
                    : selectors[unit].selectScored(idx, clusterBudget, chosen[unit], take[unit]); // scored by scoreGroup
            if (config.topP() < 1) n = topP(unit, idx, q, shared ? kvHead * group * headDim : unit * headDim, shared ? group : 1, n);
            for (int i = 0; i < n; i++) {
                int c = chosen[unit][i];
                if (workingSets == null) {
                    int start = sink + idx.offset(c);
                    s.add(start, start + take[unit][i]);
                }
                if (lastSelected[unit][c] == step - 1 && step > 1) hits[unit]++;
                lastSelected[unit][c] = step;
            }
            selectedClusters[unit] += n;
            if (config.estimate() > 0) estimate(unit, idx, n, s);
            if (workingSets != null) {
                long before = workingSets[unit].copiedSlots();
                workingSets[unit].update(idx, sink, chosen[unit], take[unit], n, kv, kvHead, s);
                copiedLastStep[unit] = workingSets[unit].copiedSlots() - before;
            }
        }

        /**
         * The adaptive budget: of the clusters chosen (best first), only as many as it takes for their estimated share
         * of the clustered tokens' attention mass to reach topP. A cluster's mass is estimated as size x
         * exp(q . mean key / sqrt(d)), with the mean of the group's queries when the group selects together.
         *
         * @return how many of the chosen clusters to keep
         */
        private int topP(int unit, ClusterIndex idx, float[] q, int qOff, int heads, int chosenCount) {
            if (chosenCount == 0) return 0;
            if (mass[unit] == null || mass[unit].length < idx.clusterCount()) mass[unit] = new float[idx.clusterCount()];
            float[] query = q;
            if (heads > 1) {
                query = groupQuery[unit] == null ? groupQuery[unit] = new float[headDim] : groupQuery[unit];
                Arrays.fill(query, 0f);
                for (int h = 0; h < heads; h++) clusterkv.tensor.VectorMath.axpy(1f / heads, q, qOff + h * headDim, query, 0, headDim);
                qOff = 0;
            }
            float[] m = mass[unit], keyMeans = idx.keyMeans();
            float scale = (float) (1 / Math.sqrt(headDim)), max = Float.NEGATIVE_INFINITY;
            int k = idx.clusterCount();
            for (int c = 0; c < k; c++) {
                m[c] = idx.size(c) == 0 ? Float.NEGATIVE_INFINITY : scale * clusterkv.tensor.VectorMath.dot(query, qOff, keyMeans, c * headDim, headDim);
                max = Math.max(max, m[c]);
            }
            double total = 0;
            for (int c = 0; c < k; c++) total += idx.size(c) * Math.exp(m[c] - max);
            double reached = 0, goal = config.topP() * total;
            for (int i = 0; i < chosenCount; i++) {
                int c = chosen[unit][i];
                reached += take[unit][i] * Math.exp(m[c] - max);
                if (reached >= goal) return i + 1;
            }
            return chosenCount;
        }

        /**
         * The estimation zone: the rest of the last, cut cluster and the config.estimate() clusters ranked next count
         * by their sizes, mean keys and mean values.
         */
        private void estimate(int unit, ClusterIndex idx, int chosenCount, Selection s) {
            s.estimateFrom(idx.keyMeans(), idx.valueMeans());
            int estimated = 0;
            if (chosenCount > 0) {
                int last = chosen[unit][chosenCount - 1], rest = idx.size(last) - take[unit][chosenCount - 1];
                if (rest > 0) {
                    s.addEstimate(last * headDim, rest);
                    estimated++;
                }
            }
            if (next[unit] == null) next[unit] = new int[config.estimate()];
            int m = selectors[unit].next(idx, chosen[unit], chosenCount, config.estimate(), next[unit]);
            for (int i = 0; i < m; i++) {
                int c = next[unit][i];
                s.addEstimate(c * headDim, idx.size(c));
            }
            estimatedLastStep[unit] = estimated + m;
        }

        @Override
        public long indexBytesRead() {
            // every KV head's centroids are read once per step (scored for its query heads together, or for their sum)
            long centroids = 0;
            for (ClusterIndex idx : index) if (idx != null) centroids += idx.clusterCount();
            // and with the cluster cache, the newly chosen tokens, read where they lie and written into the working set
            // and with the estimation zone, the mean key and mean value of each estimated cluster
            long estimates = 2L * Arrays.stream(estimatedLastStep).sum() * headDim * Float.BYTES;
            return centroids * headDim * Float.BYTES + 2 * Arrays.stream(copiedLastStep).sum() * slotBytes + estimates;
        }

        @Override
        public long indexBytesResident() {
            long bytes = 0;
            for (ClusterIndex idx : index) {
                if (idx != null) bytes += (long) idx.clusterCount() * (headDim * Float.BYTES + 2 * Integer.BYTES) + (long) idx.tokenCount() * Integer.BYTES;
            }
            if (workingSets != null) bytes += (long) workingSets.length * (config.budget() - sink) * slotBytes;
            return bytes;
        }

        @Override
        public long[] cacheHits() {
            return new long[]{Arrays.stream(hits).sum(), Arrays.stream(selectedClusters).sum()};
        }

        /** The clustered end and each KV head's index; the cluster cache starts empty again (it only holds copies). */
        @Override
        public void save(PolicyState state) {
            state.putInt("clustered_end", clusteredEnd);
            for (int g = 0; g < kvHeads && index[g] != null; g++) {
                PolicyState head = state.scope("head" + g);
                ClusterIndex idx = index[g];
                head.put("centroids", idx.centroids());
                head.put("sizes", idx.sizes());
                head.put("members", idx.members());
                if (idx.hasMeans()) {
                    head.put("key_means", Arrays.copyOf(idx.keyMeans(), idx.clusterCount() * headDim));
                    head.put("value_means", Arrays.copyOf(idx.valueMeans(), idx.clusterCount() * headDim));
                }
            }
        }

        @Override
        public void restore(LayerKV kv, PolicyState state) {
            reset();
            clusteredEnd = state.getInt("clustered_end", 0, kv.capacity());
            if (clusteredEnd == 0) return;
            for (int g = 0; g < kvHeads; g++) {
                PolicyState head = state.scope("head" + g);
                int[] members = head.ints("members");
                if (clusteredEnd - members.length != Math.min(sink, clusteredEnd)) throw new IllegalStateException("ClusterKV's members do not cover the clustered slots");
                ClusterIndex idx = ClusterIndex.restore(headDim, head.floats("centroids"), head.ints("sizes"), members, clusteredEnd - members.length);
                if (config.needsClusterMeans()) { // saved with the same options, so saved with the means
                    float[] keyMeans = head.floats("key_means"), valueMeans = head.floats("value_means");
                    for (int c = 0; c < idx.clusterCount(); c++) idx.setMeans(c, keyMeans, c * headDim, valueMeans, c * headDim);
                }
                index[g] = idx;
            }
        }

        @Override
        public void truncate(LayerKV kv, int length) {
            if (length >= clusteredEnd) return;
            // Rewinding into clustered slots: restore arrival order, then forget the index.
            for (int g = 0; g < kvHeads; g++) {
                int n = clusteredEnd - sink;
                int[] restore = new int[n];
                for (int i = 0; i < n; i++) restore[index[g].member(i) - sink] = i;
                kv.permute(g, sink, restore);
            }
            reset();
        }
    }
}
