package clusterkv.generate;

import clusterkv.kv.KVFormat;
import clusterkv.kv.PolicyConfig;

/**
 * @param contextSize  positions the session can hold; 0 means the model's own context length
 * @param kvFormat     the KV cache's key and value types (f16 by default) and rotation
 * @param prefillChunk tokens per prefill forward pass (each weight is read once per chunk)
 * @param kvPolicy     which tokens decode attends to: full, clusterkv, quest, streaming, h2o, snapkv
 * @param policyConfig budget and policy options
 */
public record SessionOptions(int contextSize, KVFormat kvFormat, int prefillChunk, String kvPolicy, PolicyConfig policyConfig) {

    public SessionOptions {
        if (contextSize < 0) throw new IllegalArgumentException("context size must be >= 0, got " + contextSize);
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk must be >= 1, got " + prefillChunk);
    }

    public static SessionOptions defaults() {
        return new SessionOptions(0, KVFormat.F16, 256, "full", PolicyConfig.DEFAULT);
    }

    public SessionOptions withContextSize(int n) {
        return new SessionOptions(n, kvFormat, prefillChunk, kvPolicy, policyConfig);
    }

    public SessionOptions withKvFormat(KVFormat f) {
        return new SessionOptions(contextSize, f, prefillChunk, kvPolicy, policyConfig);
    }

    public SessionOptions withPrefillChunk(int n) {
        return new SessionOptions(contextSize, kvFormat, n, kvPolicy, policyConfig);
    }

    public SessionOptions withPolicy(String name, PolicyConfig config) {
        return new SessionOptions(contextSize, kvFormat, prefillChunk, name, config);
    }

    public boolean sparse() {
        return !kvPolicy.equals("full");
    }
}
