package clusterkv.model;

import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFMetadata;

/**
 * The hyper-parameters of a Llama-family transformer, read from GGUF metadata alone
 * ({@code <arch>.*} keys as written by llama.cpp's converters).
 *
 * @param ropeNeox   rotate pairs (i, i + headDim/2) as GPT-NeoX/Qwen do, instead of adjacent pairs (2i, 2i+1)
 * @param ropeLinearScale positions are divided by this factor (linear rope scaling); 1 when absent
 * @param qkvBias    Q, K and V projections carry biases (qwen2)
 * @param qkNorm     per-head RMSNorm of Q and K before RoPE (qwen3)
 */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float ropeTheta,
        int ropeDim,
        boolean ropeNeox,
        float ropeLinearScale,
        float rmsEps,
        boolean qkvBias,
        boolean qkNorm) {

    public int queryDim() {
        return heads * headDim;
    }

    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Query heads that share one KV head (grouped-query attention). */
    public int groupSize() {
        return heads / kvHeads;
    }

    /**
     * The configuration the metadata gives, checked for what the forward pass needs: every count positive,
     * heads dividing evenly, RoPE and norm parameters finite and in range. Errors name the key at fault.
     *
     * @param vocabSize the rows of the token embedding table
     */
    public static ModelConfig fromMetadata(GGUFMetadata md, int vocabSize) {
        Architecture arch = Architecture.fromName(md.requireString("general.architecture"));
        Keys k = new Keys(md, arch.ggufName + ".");
        int dim = k.positive("embedding_length");
        int layers = k.positive("block_count");
        int heads = k.positive("attention.head_count");
        int kvHeads = k.positive("attention.head_count_kv", heads);
        if (heads % kvHeads != 0) {
            throw new GGUFFormatException(k.name("attention.head_count") + " (" + heads + ") is not a multiple of "
                    + k.name("attention.head_count_kv") + " (" + kvHeads + ")");
        }
        if (!md.contains(k.name("attention.key_length")) && dim % heads != 0) {
            throw new GGUFFormatException(k.name("embedding_length") + " (" + dim + ") is not a multiple of "
                    + k.name("attention.head_count") + " (" + heads + ") and " + k.name("attention.key_length") + " is not given");
        }
        int headDim = k.positive("attention.key_length", dim / heads);
        if ((long) heads * headDim > Integer.MAX_VALUE) {
            throw new GGUFFormatException(k.name("attention.head_count") + " x " + k.name("attention.key_length") + " overflows an int");
        }
        int valueDim = k.positive("attention.value_length", headDim);
        if (valueDim != headDim) {
            throw new GGUFFormatException(k.name("attention.value_length") + " " + valueDim + " != " + k.name("attention.key_length") + " " + headDim + " is not supported");
        }
        int ropeDim = k.positive("rope.dimension_count", headDim);
        if (ropeDim % 2 != 0 || ropeDim > headDim) {
            throw new GGUFFormatException(k.name("rope.dimension_count") + " is " + ropeDim + ", expected an even number up to the head size " + headDim);
        }
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDim,
                k.positive("feed_forward_length"),
                vocabSize,
                k.positive("context_length", 2048),
                k.positiveFloat("rope.freq_base", 10000f),
                ropeDim,
                arch.ropeNeox,
                ropeLinearScale(md, k),
                k.positiveFloat("attention.layer_norm_rms_epsilon", 1e-5f),
                arch == Architecture.QWEN2,
                arch == Architecture.QWEN3);
    }

    private static float ropeLinearScale(GGUFMetadata md, Keys k) {
        String scaling = md.getString(k.name("rope.scaling.type"), "none");
        // llama3 scaling is carried by the rope_freqs tensor, read with the weights
        if (scaling.equals("none") || scaling.equals("llama3")) return 1f;
        if (scaling.equals("linear")) return k.positiveFloat("rope.scaling.factor", 1f);
        throw new GGUFFormatException("unsupported rope scaling type '" + scaling + "' (" + k.name("rope.scaling.type") + ")");
    }

    /** The {@code <arch>.*} keys, read with their range checked. */
    private record Keys(GGUFMetadata md, String prefix) {

        String name(String key) {
            return prefix + key;
        }

        int positive(String key) {
            return checkPositive(key, md.requireInt(name(key)));
        }

        int positive(String key, int absent) {
            return checkPositive(key, md.getInt(name(key), absent));
        }

        private int checkPositive(String key, int v) {
            if (v <= 0) throw new GGUFFormatException("metadata key '" + name(key) + "' is " + v + ", expected a positive integer");
            return v;
        }

        float positiveFloat(String key, float absent) {
            float v = md.getFloat(name(key), absent);
            if (!(v > 0 && Float.isFinite(v))) throw new GGUFFormatException("metadata key '" + name(key) + "' is " + v + ", expected a finite positive number");
            return v;
        }
    }
}
