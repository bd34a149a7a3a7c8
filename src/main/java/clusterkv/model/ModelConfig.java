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

    public static ModelConfig fromMetadata(GGUFMetadata md, int vocabSize) {
        String archName = md.getString("general.architecture", null);
        if (archName == null) throw new GGUFFormatException("missing metadata key 'general.architecture'");
        Architecture arch = Architecture.fromName(archName);
        String p = archName + ".";
        int dim = md.requireInt(p + "embedding_length");
        int heads = md.requireInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDim = md.getInt(p + "attention.key_length", dim / heads);
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new GGUFFormatException("bad head counts: " + heads + " query heads, " + kvHeads + " KV heads");
        }
        int valueDim = md.getInt(p + "attention.value_length", headDim);
        if (valueDim != headDim) throw new GGUFFormatException("key length " + headDim + " != value length " + valueDim + " is not supported");
        String scaling = md.getString(p + "rope.scaling.type", "none");
        float linearScale = 1f;
        if (scaling.equals("linear")) {
            linearScale = md.getFloat(p + "rope.scaling.factor", 1f);
        } else if (!scaling.equals("none") && !scaling.equals("llama3")) {
            // llama3 scaling is carried by the rope_freqs tensor, read with the weights
            throw new GGUFFormatException("unsupported rope scaling type '" + scaling + "'");
        }
        return new ModelConfig(arch, dim,
                md.requireInt(p + "block_count"),
                heads, kvHeads, headDim,
                md.requireInt(p + "feed_forward_length"),
                vocabSize,
                md.getInt(p + "context_length", 2048),
                md.getFloat(p + "rope.freq_base", 10000f),
                md.getInt(p + "rope.dimension_count", headDim),
                arch.ropeNeox,
                linearScale,
                md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                arch == Architecture.QWEN2,
                arch == Architecture.QWEN3);
    }
}
