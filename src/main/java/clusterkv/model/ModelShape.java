package clusterkv.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensor shapes and hyper-parameters of a named real model, for writing random-weight
 * models of realistic size ({@code synth}). Speed does not depend on weight values.
 *
 * @param ropeScalingFactor llama3-style rope scaling factor (0: none)
 */
public record ModelShape(String name, Architecture architecture, int dim, int layers, int heads, int kvHeads,
                         int headDim, int ffnDim, int vocabSize, int contextLength, float ropeTheta,
                         float rmsEps, boolean tiedEmbeddings, float ropeScalingFactor) {

    public static final Map<String, ModelShape> KNOWN = new LinkedHashMap<>();

    static {
        // tiny test shapes: every matrix dimension a multiple of 256, so that K-quants apply to all of them
        add(new ModelShape("tiny", Architecture.LLAMA, 256, 2, 4, 2, 64, 512, 384, 1024, 10000f, 1e-5f, false, 0));
        add(new ModelShape("tiny-llama3", Architecture.LLAMA, 256, 2, 4, 2, 64, 512, 384, 4096, 500000f, 1e-5f, true, 32));
        add(new ModelShape("tiny-qwen2", Architecture.QWEN2, 256, 2, 4, 2, 64, 512, 384, 1024, 1000000f, 1e-6f, true, 0));
        add(new ModelShape("tiny-qwen3", Architecture.QWEN3, 256, 2, 2, 1, 128, 512, 384, 1024, 1000000f, 1e-6f, true, 0));
        add(new ModelShape("llama-3.2-1b", Architecture.LLAMA, 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000f, 1e-5f, true, 32));
        add(new ModelShape("llama-3.1-8b", Architecture.LLAMA, 4096, 32, 32, 8, 128, 14336, 128256, 131072, 500000f, 1e-5f, false, 8));
        add(new ModelShape("qwen2.5-0.5b", Architecture.QWEN2, 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000f, 1e-6f, true, 0));
        add(new ModelShape("qwen3-0.6b", Architecture.QWEN3, 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000f, 1e-6f, true, 0));
    }

    private static void add(ModelShape s) {
        KNOWN.put(s.name, s);
    }

    public static ModelShape named(String name) {
        ModelShape s = KNOWN.get(name);
        if (s == null) throw new IllegalArgumentException("unknown shape '" + name + "' (known: " + String.join(", ", KNOWN.keySet()) + ")");
        return s;
    }

    public ModelShape withVocabSize(int vocab) {
        return new ModelShape(name, architecture, dim, layers, heads, kvHeads, headDim, ffnDim, vocab, contextLength,
                ropeTheta, rmsEps, tiedEmbeddings, ropeScalingFactor);
    }

    /** The shape with another context length (benchmarks past a real model's context: the weights do not change). */
    public ModelShape withContextLength(int n) {
        return new ModelShape(name, architecture, dim, layers, heads, kvHeads, headDim, ffnDim, vocabSize, n,
                ropeTheta, rmsEps, tiedEmbeddings, ropeScalingFactor);
    }

    public ModelShape untied() {
        return new ModelShape(name, architecture, dim, layers, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength,
                ropeTheta, rmsEps, false, ropeScalingFactor);
    }
}
