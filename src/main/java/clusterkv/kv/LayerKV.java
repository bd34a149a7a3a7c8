package clusterkv.kv;

/**
 * One layer of the KV cache as a KV policy sees it: keys and values by KV head and slot. Slots
 * are positions in arrival order until a policy permutes them (ClusterKV lays clusters out
 * contiguously); attention at decode does not depend on slot order, since RoPE is already applied.
 */
public final class LayerKV {

    private final KVCache cache;
    public final int layer;

    public LayerKV(KVCache cache, int layer) {
        this.cache = cache;
        this.layer = layer;
    }

    public int kvHeads() { return cache.kvHeads; }
    public int headDim() { return cache.headDim; }
    public KVCache cache() { return cache; }
    /** Slots past the context: [capacity, capacity + spareSlots) of each KV head are the policy's own ({@link KVPolicy#spareSlots}). */
    public int capacity() { return cache.capacity; }
    public int spareSlots() { return cache.spareSlots; }

    public void readKeys(int kvHead, int from, int count, float[] dst, int dstOffset) {
        cache.readKeys(layer, kvHead, from, count, dst, dstOffset);
    }

    public void readValues(int kvHead, int from, int count, float[] dst, int dstOffset) {
        cache.readValues(layer, kvHead, from, count, dst, dstOffset);
    }

    /** Keys and values of slots [from, from + count) together (see {@link KVCache#readKeysValues}). */
    public void readKeysValues(int kvHead, int from, int count, float[] keysDst, float[] valuesDst) {
        cache.readKeysValues(layer, kvHead, from, count, keysDst, valuesDst);
    }

    /** Copies the keys and values of slots [from, from + count) of a KV head to slots [to, to + count). */
    public void copySlots(int kvHead, int from, int to, int count) {
        cache.copySlots(layer, kvHead, from, to, count);
    }

    /** Reorders slots [from, from + order.length) of a KV head so that new slot from+i holds old slot from+order[i]. */
    public void permute(int kvHead, int from, int[] order) {
        cache.permute(layer, kvHead, from, order);
    }
}
