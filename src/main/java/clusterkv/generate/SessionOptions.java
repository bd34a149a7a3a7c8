package clusterkv.generate;

import java.nio.file.Path;

import clusterkv.kv.KVFormat;
import clusterkv.kv.PolicyConfig;

/**
 * @param contextSize  positions the session can hold; 0 means the model's own context length
 * @param kvFormat     the KV cache's key and value types (f16 by default) and rotation
 * @param prefillChunk tokens per prefill forward pass (each weight is read once per chunk)
 * @param kvPolicy     which tokens decode attends to: full, clusterkv, quest, streaming, h2o, snapkv
 * @param policyConfig budget and policy options
 * @param kvFile       where the KV cache lives: null for memory, else a file (or a new file in this directory) that
 *                     the operating system pages in and out, so that a cache larger than memory can be decoded
 */
public record SessionOptions(int contextSize, KVFormat kvFormat, int prefillChunk, String kvPolicy, PolicyConfig policyConfig, Path kvFile) {

    public SessionOptions {
        if (contextSize < 0) throw new IllegalArgumentException("context size must be >= 0, got " + contextSize);
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk must be >= 1, got " + prefillChunk);
    }

    public static SessionOptions defaults() {
        return new SessionOptions(0, KVFormat.F16, 256, "full", PolicyConfig.DEFAULT, null);
    }

    public SessionOptions withContextSize(int n) {
        return new SessionOptions(n, kvFormat, prefillChunk, kvPolicy, policyConfig, kvFile);
    }

    public SessionOptions withKvFormat(KVFormat f) {
        return new SessionOptions(contextSize, f, prefillChunk, kvPolicy, policyConfig, kvFile);
    }

    public SessionOptions withPrefillChunk(int n) {
        return new SessionOptions(contextSize, kvFormat, n, kvPolicy, policyConfig, kvFile);
    }

    public SessionOptions withPolicy(String name, PolicyConfig config) {
        return new SessionOptions(contextSize, kvFormat, prefillChunk, name, config, kvFile);
    }

    public SessionOptions withKvFile(Path file) {
        return new SessionOptions(contextSize, kvFormat, prefillChunk, kvPolicy, policyConfig, file);
    }

    public boolean sparse() {
        return !kvPolicy.equals("full");
    }
}
