package clusterkv.model;

import clusterkv.gguf.GGMLType;

import java.util.Locale;

/**
 * Which weight type each matrix of a synthetic model gets: one type throughout, or the mix of llama.cpp's
 * Q4_K_M, the most downloaded quantization, or Q5_K_M (its {@code llama_tensor_get_type} for a Llama-style model):
 * Q6_K for the output matrix (the token embedding when the two are tied) and for attn_v and ffn_down in the
 * layers where {@link #moreBits} holds, Q4_K (Q5_K) for the rest.
 *
 * @param name the name users give (q8_0, q4_k_m, ...)
 * @param base the type of most matrices
 * @param mix  whether the rules of the _M mixes apply
 */
public record WeightTypes(String name, GGMLType base, boolean mix) {

    /** One type for every matrix, "q4_k_m" or "q5_k_m". */
    public static WeightTypes parse(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("q4_k_m")) return new WeightTypes(n, GGMLType.Q4_K, true);
        if (n.equals("q5_k_m")) return new WeightTypes(n, GGMLType.Q5_K, true);
        try {
            return new WeightTypes(n, GGMLType.valueOf(n.toUpperCase(Locale.ROOT)), false);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown weight type '" + name + "'");
        }
    }

    public static WeightTypes of(GGMLType type) {
        return new WeightTypes(type.name().toLowerCase(Locale.ROOT), type, false);
    }

    /**
     * The type of a matrix: {@code layer} is its block's index (-1 outside the blocks), {@code output} whether
     * it computes the logits.
     */
    GGMLType of(String tensor, int layer, int layers, boolean output) {
        if (!mix) return base;
        if (output) return GGMLType.Q6_K;
        boolean moreBitsHere = layer >= 0 && moreBits(layer, layers);
        if (moreBitsHere && (tensor.endsWith("attn_v.weight") || tensor.endsWith("ffn_down.weight"))) return GGMLType.Q6_K;
        return base;
    }

    /**
     * The type a matrix gets instead of {@code type} when its rows are not a whole number of type's blocks:
     * Q8_0 for one type throughout; in the _M mixes, llama.cpp's own fallbacks (Q5_0 for Q4_K, Q5_1 for Q5_K,
     * Q8_0 for Q6_K), as in Qwen2.5-0.5B, whose rows of 896 values are not a multiple of 256.
     */
    GGMLType fallback(GGMLType type) {
        if (!mix) return GGMLType.Q8_0;
        return switch (type) {
            case Q4_K -> GGMLType.Q5_0;
            case Q5_K -> GGMLType.Q5_1;
            default -> GGMLType.Q8_0;
        };
    }

    /** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third in between. */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }
}
