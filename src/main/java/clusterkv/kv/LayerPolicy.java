package clusterkv.kv;

/** One layer's part of a {@link KVPolicy}. Slots are indices into the layer's KV cache, per KV head. */
public interface LayerPolicy {

    /**
     * Called before the first decode step that follows a prefill: slots [0, length) hold the keys and
     * values so far, of which [prefilledFrom, length) came with this prefill. {@code queries} holds the
     * last {@code queryCount} prefill queries ([queryCount][heads*headDim], post-RoPE), as many as the
     * policy asked for.
     */
    void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount);

    /**
     * Every chunk attended exactly (prefill, and decode steps before the policy takes over), after its keys and
     * values are stored: q = [n][heads*headDim] at positions p0 .. p0+n-1 (for policies that score by attention).
     */
    default void observePrefill(LayerKV kv, float[] q, int p0, int n) {}

    /**
     * Chooses the slots each query head attends to; the new token is stored at slot length-1.
     * {@code q} holds this step's queries [heads*headDim]; {@code perHead[h]} is cleared and filled
     * for every query head h (heads may share one Selection object when they select together).
     */
    void select(LayerKV kv, float[] q, int length, Selection[] perHead);

    /**
     * The attention weights of this step, in the order of each head's selection (for policies that
     * score tokens by the attention they receive). Only called when {@link #wantsWeights()}.
     */
    default void observe(Selection[] perHead, float[][] weights) {}

    default boolean wantsWeights() {
        return false;
    }

    /**
     * Like {@link #afterPrefill} for a cache filled with generated keys (benchmarks): {@code components[g][slot]}
     * is the mixture component that generated each key of KV head g, which a clustering policy may adopt as its
     * clusters instead of running K-means (a prefill cost that a decode benchmark should not pay).
     */
    default void afterSyntheticFill(LayerKV kv, int length, int[][] components) {
        afterPrefill(kv, 0, length, new float[0], 0);
    }

    /** Bytes of index data (centroids, page summaries) read by the last {@link #select} call. */
    default long indexBytesRead() {
        return 0;
    }

    /** Bytes of index data held in memory. */
    default long indexBytesResident() {
        return 0;
    }

    /** Cluster cache hits so far as {hits, selected clusters}, for policies that keep a cluster cache; else null. */
    default long[] cacheHits() {
        return null;
    }

    /**
     * Writes everything this layer would need to go on as it is (an index, a kept set, scores) into state, for a
     * session file. Scratch space and statistics are left out; a stateless policy writes nothing.
     */
    default void save(PolicyState state) {}

    /** Takes back what {@link #save} wrote, on a fresh layer whose cache holds what it held when saved. */
    default void restore(LayerKV kv, PolicyState state) {}

    /** Forgets everything from slot index {@code length} on (a session rewound). */
    void truncate(LayerKV kv, int length);
}
