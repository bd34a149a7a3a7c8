package clusterkv.kv.policy;

import clusterkv.kv.KVPolicy;
import clusterkv.kv.LayerKV;
import clusterkv.kv.LayerPolicy;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.PolicyState;
import clusterkv.kv.Selection;

/**
 * StreamingLLM (Xiao et al., 2023): the first few tokens (attention sinks, 4 by default) and the
 * most recent budget - sink tokens. Tokens that slide out of the window are gone, also when the session is
 * rewound to an earlier length (their memory may have been given back: see PolicyAttention).
 */
public final class StreamingPolicy implements KVPolicy {

    public static final int DEFAULT_SINK = 4;
    private final PolicyConfig config;

    public StreamingPolicy(PolicyConfig config) {
        this.config = config;
        if (config.sinkOr(DEFAULT_SINK) >= config.budget()) {
            throw new IllegalArgumentException("--kv-budget (" + config.budget() + ") must exceed the sink (" + config.sinkOr(DEFAULT_SINK) + ")");
        }
    }

    @Override public String name() { return "streaming"; }
    @Override public PolicyConfig config() { return config; }
    @Override public boolean evicts() { return true; }

    @Override
    public LayerPolicy forLayer(int layer, int heads, int kvHeads, int headDim) {
        int sink = config.sinkOr(DEFAULT_SINK);
        int budget = config.budget();
        return new LayerPolicy() {
            private final Selection kept = new Selection();
            /** Slots [sink, gone) have slid out of the window: gone for good, also after a rewind. */
            private int gone = 0;

            @Override
            public void afterPrefill(LayerKV kv, int prefilledFrom, int length, float[] queries, int queryCount) {}

            @Override
            public void select(LayerKV kv, float[] q, int length, Selection[] perHead) {
                kept.clear();
                int windowStart = Math.max(gone, length - (budget - sink));
                if (windowStart <= sink) {
                    kept.add(0, length);
                } else {
                    kept.add(0, sink);
                    kept.add(windowStart, length);
                    gone = windowStart;
                }
                java.util.Arrays.fill(perHead, kept);
            }

            @Override
            public void save(PolicyState state) {
                state.putInt("gone", gone);
            }

            @Override
            public void restore(LayerKV kv, PolicyState state) {
                gone = state.getInt("gone", 0, kv.capacity());
            }

            @Override
            public void truncate(LayerKV kv, int length) {
                // slots from length on are rewritten before they are read; those before it that were gone stay gone
                gone = length <= sink ? 0 : Math.min(gone, length);
            }
        };
    }
}
