package clusterkv.kv.policy;

import clusterkv.kv.KVPolicy;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.Selection;

/** Exact attention over every cached token: the reference the other policies are measured against. */
public final class FullPolicy implements KVPolicy {

    private final PolicyConfig config;

    public FullPolicy(PolicyConfig config) {
        this.config = config;
    }

    @Override public String name() { return "full"; }
    @Override public PolicyConfig config() { return config; }
    @Override public boolean evicts() { return false; }

    @Override
    public LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim) {
        return new LayerPolicy() {
            private final Selection all = new Selection();

            @Override
            public void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount) {}

            @Override
            public void select(LayerKV kv, float[] q, int length, Selection[] perHead) {
                all.clear();
                all.add(0, length);
                java.util.Arrays.fill(perHead, all);
            }

            @Override
            public void truncate(LayerKV kv, int length) {}
        };
    }
}
