package clusterkv.kv;

/**
 * What the transformer asks of attention: store this chunk's keys and values, then attend.
 * The transformer never knows how positions are chosen; implementations pair a KV cache with
 * a KV policy (full attention, ClusterKV, ...).
 */
public interface AttentionBackend extends AutoCloseable {

    /**
     * Stores k and v ([n][kvHeads*headDim], post-RoPE) at positions p0 .. p0+n-1 of the layer, and writes
     * into out ([n][heads*headDim]) the attention of each query q[t] (post-RoPE) over positions up to p0+t.
     * q and k are the caller's scratch: a backend may change them in place (rotate them, round the queries).
     */
    void attend(int layer, float[] q, float[] k, float[] v, float[] out, int p0, int n);

    /**
     * The tokens about to be prefilled end at {@code position}: a backend may index each layer's part of the
     * prompt as soon as the chunk that ends there has been attended in that layer.
     */
    default void promptEndsAt(int position) {}

    /** Bytes of keys, values and index data that attention has read at decode steps so far. */
    long kvBytesRead();

    /** Bytes of KV data and index held in memory for the current length. */
    long kvBytesResident(int length);

    /**
     * Fills positions [0, length) of every layer with generated keys and values (see {@link SyntheticKVFill}) and
     * lets the policy index them as if prefilled: decode benchmarks at long contexts without the prefill.
     */
    void fillSynthetic(int length, long seed);

    /** Forgets every position from {@code position} on (e.g. to rewind a chat turn, or start over). */
    void truncate(int position);

    /** The KV cache this backend stores into and attends over. */
    KVCache cache();

    /**
     * Writes what a backend over the same cache contents needs to continue as this one (the policy's index,
     * pending prompt indexing finished first), for a session file; full attention has nothing to write.
     */
    default void saveState(PolicyState state) {}

    /** Takes back what {@link #saveState} wrote, on a fresh backend whose cache holds what was saved. */
    default void restoreState(PolicyState state) {}

    @Override
    void close();
}
