package clusterkv.kv;

/** Exact attention over every cached position: the reference every KV policy is measured against. */
public final class FullAttention implements AttentionBackend {

    private final KVCache cache;
    private final int heads;
    private long bytesRead;

    public FullAttention(KVCache cache, int heads) {
        this.cache = cache;
        this.heads = heads;
    }

    public KVCache cache() {
        return cache;
    }

    @Override
    public void attend(int layer, float[] q, float[] k, float[] v, float[] out, int p0, int n) {
        cache.store(layer, p0, n, k, v);
        cache.prepareQueries(q, n, heads);
        CausalAttention.forward(cache, layer, q, out, p0, n, heads);
        if (n == 1) bytesRead += (long) (p0 + 1) * cache.bytesPerPosition() / cache.layers;
    }

    @Override
    public void fillSynthetic(int length, long seed) {
        SyntheticKVFill.fill(cache, length, seed);
    }

    @Override
    public long kvBytesRead() {
        return bytesRead;
    }

    @Override
    public long kvBytesResident(int length) {
        return length * cache.bytesPerPosition();
    }

    @Override
    public void truncate(int position) {
        // Positions past the truncation point are simply overwritten by the next writes.
    }

    @Override
    public void close() {
        cache.close();
    }
}
