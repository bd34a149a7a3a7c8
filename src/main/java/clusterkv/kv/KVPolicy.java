package clusterkv.kv;

/**
 * A KV-cache policy: decides, at each decode step, which cached tokens every query head attends to.
 * It sees keys, values and queries, never the model. One {@link LayerPolicy} per attention layer
 * holds that layer's state (an index, scores, a kept set).
 */
public interface KVPolicy {

    /** The name used on the command line and in reports. */
    String name();

    PolicyConfig config();

    LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim);

    /** Whether tokens left out are gone for good (eviction) or can be recalled at a later step. */
    boolean evicts();

    /**
     * Slots per KV head and layer that the policy wants after the context's, as its own working space (ClusterKV's
     * working set of recalled clusters), for a model with this many query and KV heads and a cache of this many
     * positions. Selections may then name spare slots that hold copies of cached tokens ({@link Selection#source});
     * a policy that evicts must not use them.
     */
    default int spareSlots(int heads, int kvHeads, int capacity) {
        return 0;
    }

    /** How many of the last prefill queries each layer wants to see in {@link LayerPolicy#afterPrefill} (SnapKV: 32). */
    default int prefillQueriesWanted() {
        return 0;
    }
}
