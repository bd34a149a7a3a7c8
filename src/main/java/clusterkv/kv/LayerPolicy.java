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

    /** Forgets everything from slot index {@code length} on (a session rewound). */
    void truncate(LayerKV kv, int length);
}
