package clusterkv.generate;

import clusterkv.kv.KVType;

/**
 * @param contextSize positions the session can hold; 0 means the model's own context length
 * @param prefillChunk tokens per prefill forward pass (each weight is read once per chunk)
 */
public record SessionOptions(int contextSize, KVType kvType, int prefillChunk) {

    public SessionOptions {
        if (contextSize < 0) throw new IllegalArgumentException("context size must be >= 0, got " + contextSize);
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk must be >= 1, got " + prefillChunk);
    }

    public static SessionOptions defaults() {
        return new SessionOptions(0, KVType.F16, 256);
    }

    public SessionOptions withContextSize(int n) {
        return new SessionOptions(n, kvType, prefillChunk);
    }

    public SessionOptions withKvType(KVType t) {
        return new SessionOptions(contextSize, t, prefillChunk);
    }
}
