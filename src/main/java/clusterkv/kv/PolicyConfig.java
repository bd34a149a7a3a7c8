package clusterkv.kv;

/**
 * The knobs of every KV policy, with the ClusterKV paper's defaults. The budget counts every token
 * one query head attends to at one step: sink, recent window and selected tokens.
 *
 * @param budget       tokens attended per query head per step (sink included)
 * @param sink         first tokens always attended; -1 means the policy's default (ClusterKV: 16; StreamingLLM: 4)
 * @param window       recent-window size; 0 means the policy's default (ClusterKV: min(320, budget/4))
 * @param clusters     ClusterKV clusters per head for the prompt; 0 means the reference rule (400, or one per 80 tokens)
 * @param kmeansIterations fixed K-means iterations
 * @param denseLayers  the first layers attend fully under every policy
 * @param sharedGqaSelection select once per KV head with the group's summed scores, instead of per query head
 * @param clusterCache ClusterKV keeps each selecting head's recalled clusters in a working set and copies in only
 *                     the newly selected ones (the paper's cache), instead of reading the clusters where they lie
 * @param pageSize     Quest page size
 * @param seed         K-means initialisation seed
 * @param estimate     ClusterKV's estimation zone: the clusters ranked just after the selected ones that attention
 *                     counts by their size, mean key and mean value instead of reading them (RetroInfer); 0: none
 * @param topP         ClusterKV's adaptive budget (Twilight): clusters in score order only until their estimated share
 *                     of the clustered tokens' attention mass reaches topP, never beyond the budget; 1: off
 */
public record PolicyConfig(int budget, int sink, int window, int clusters, int kmeansIterations,
                           int denseLayers, boolean sharedGqaSelection, boolean clusterCache, int pageSize, long seed, int estimate,
                           float topP) {

    /** K-means settles in tens of iterations; millions would only look like a hang at the first prefill. */
    public static final int MAX_KMEANS_ITERATIONS = 1000;

    public static final PolicyConfig DEFAULT = new PolicyConfig(1024, -1, 0, 0, 20, 2, false, false, 16, 0);

    public PolicyConfig {
        if (budget < 1) throw new IllegalArgumentException("--kv-budget must be >= 1, got " + budget);
        if (sink < -1) throw new IllegalArgumentException("--sink must be >= 0, got " + sink);
        if (window < 0) throw new IllegalArgumentException("--window must be >= 0 (0: the policy's default), got " + window);
        if (clusters < 0) throw new IllegalArgumentException("--clusters must be >= 0 (0: the default rule), got " + clusters);
        if (kmeansIterations < 1 || kmeansIterations > MAX_KMEANS_ITERATIONS) {
            throw new IllegalArgumentException("--kmeans-iters must be between 1 and " + MAX_KMEANS_ITERATIONS + ", got " + kmeansIterations);
        }
        if (denseLayers < 0) throw new IllegalArgumentException("--dense-layers must be >= 0, got " + denseLayers);
        if (pageSize < 1) throw new IllegalArgumentException("--page-size must be >= 1, got " + pageSize);
        if (estimate < 0) throw new IllegalArgumentException("--estimate must be >= 0, got " + estimate);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("--kv-top-p must be in (0, 1], got " + topP);
    }

    /** Without an estimation zone or an adaptive budget. */
    public PolicyConfig(int budget, int sink, int window, int clusters, int kmeansIterations,
                        int denseLayers, boolean sharedGqaSelection, boolean clusterCache, int pageSize, long seed) {
        this(budget, sink, window, clusters, kmeansIterations, denseLayers, sharedGqaSelection, clusterCache, pageSize, seed, 0, 1f);
    }

    /** Whether ClusterKV needs each cluster's mean key and value (the estimation zone, the adaptive budget). */
    public boolean needsClusterMeans() {
        return estimate > 0 || topP < 1;
    }

    /** The sink size, or the policy's default when not set. */
    public int sinkOr(int policyDefault) {
        return sink >= 0 ? sink : policyDefault;
    }

    public PolicyConfig withBudget(int b) {
        return new PolicyConfig(b, sink, window, clusters, kmeansIterations, denseLayers, sharedGqaSelection, clusterCache, pageSize, seed, estimate, topP);
    }

    public PolicyConfig withEstimate(int clusters) {
        return new PolicyConfig(budget, sink, window, this.clusters, kmeansIterations, denseLayers, sharedGqaSelection, clusterCache, pageSize, seed, clusters, topP);
    }

    public PolicyConfig withTopP(float p) {
        return new PolicyConfig(budget, sink, window, clusters, kmeansIterations, denseLayers, sharedGqaSelection, clusterCache, pageSize, seed, estimate, p);
    }
}
