package clusterkv.cluster;

import clusterkv.kv.KVCache;
import clusterkv.kv.KVType;
import clusterkv.kv.SyntheticKVFill;

/** Keys for the clustering benchmarks: one KV head's keys from {@link SyntheticKVFill} (a mixture of directions). */
final class BenchKeys {

    private BenchKeys() {}

    /** n keys of dimension d, row-major [n][d]. */
    static float[] synthetic(int n, int d, long seed) {
        try (KVCache cache = new KVCache(1, 1, d, n, KVType.F32)) {
            SyntheticKVFill.fill(cache, n, seed);
            float[] keys = new float[n * d];
            cache.readKeys(0, 0, 0, n, keys, 0);
            return keys;
        }
    }
}
