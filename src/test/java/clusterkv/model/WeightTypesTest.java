package clusterkv.model;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** synth's q4_k_m: the layers that llama.cpp's Q4_K_M gives Q6_K, listed by hand for 16 and 32 layers. */
class WeightTypesTest {

    @TempDir
    Path dir;

    /** Layers whose attn_v and ffn_down get Q6_K. */
    private static List<Integer> moreBitsLayers(int layers) {
        return moreBitsLayers("q4_k_m", GGMLType.Q4_K, layers);
    }

    private static List<Integer> moreBitsLayers(String name, GGMLType base, int layers) {
        WeightTypes mix = WeightTypes.parse(name);
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            GGMLType down = mix.of("blk." + l + ".ffn_down.weight", l, layers, false);
            assertEquals(down, mix.of("blk." + l + ".attn_v.weight", l, layers, false));
            assertEquals(base, mix.of("blk." + l + ".ffn_up.weight", l, layers, false));
            assertEquals(base, mix.of("blk." + l + ".attn_q.weight", l, layers, false));
            if (down == GGMLType.Q6_K) out.add(l);
        }
        return out;
    }

    @Test
    void q4KMLayersAsLlamaCpp() {
        // i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2
        assertEquals(List.of(0, 1, 4, 7, 10, 13, 14, 15), moreBitsLayers(16));                                  // Llama 3.2 1B
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31), moreBitsLayers(32));   // Llama 3.1 8B
        WeightTypes mix = WeightTypes.parse("Q4_K_M");
        assertEquals(GGMLType.Q6_K, mix.of("output.weight", -1, 16, true));
        assertEquals(GGMLType.Q4_K, mix.of("token_embd.weight", -1, 16, false));
        assertEquals(GGMLType.Q8_0, WeightTypes.parse("q8_0").of("blk.0.ffn_down.weight", 0, 16, false));
        assertThrows(IllegalArgumentException.class, () -> WeightTypes.parse("q4_k_x"));
        assertEquals(GGMLType.Q5_0, mix.fallback(GGMLType.Q4_K)); // llama-quant.cpp: rows not a multiple of 256
        assertEquals(GGMLType.Q8_0, mix.fallback(GGMLType.Q6_K));
        assertEquals(GGMLType.Q8_0, WeightTypes.parse("q4_k").fallback(GGMLType.Q4_K));
    }

    /** Q5_K_M: the same layers as Q4_K_M (llama-quant.cpp applies use_more_bits to both), Q5_K elsewhere. */
    @Test
    void q5KMLayersAsLlamaCpp() {
        assertEquals(List.of(0, 1, 4, 7, 10, 13, 14, 15), moreBitsLayers("q5_k_m", GGMLType.Q5_K, 16));
        WeightTypes mix = WeightTypes.parse("Q5_K_M");
        assertEquals(GGMLType.Q6_K, mix.of("output.weight", -1, 16, true));
        assertEquals(GGMLType.Q5_1, mix.fallback(GGMLType.Q5_K)); // llama-quant.cpp: rows not a multiple of 256
        assertEquals(GGMLType.Q8_0, mix.fallback(GGMLType.Q6_K));
    }

    /** A written model: tied embeddings take the output's Q6_K. */
    @Test
    void synthWritesTheMix() throws Exception {
        Path file = dir.resolve("mix.gguf");
        ModelShape one = ModelShape.named("llama-3.2-1b"); // its 16 layers, at a size of 256 columns
        ModelShape shape = new ModelShape("small", one.architecture(), 256, one.layers(), 4, 2, 64, 256, 512,
                one.contextLength(), one.ropeTheta(), one.rmsEps(), true, one.ropeScalingFactor());
        SyntheticModel.write(file, shape, WeightTypes.parse("q4_k_m"), null, 1);
        try (GGUFFile f = GGUFFile.open(file)) {
            assertEquals(GGMLType.Q6_K, type(f, "token_embd.weight"));
            assertEquals(GGMLType.Q6_K, type(f, "blk.4.ffn_down.weight"));
            assertEquals(GGMLType.Q4_K, type(f, "blk.5.ffn_down.weight"));
            assertEquals(GGMLType.Q6_K, type(f, "blk.15.attn_v.weight"));
            assertEquals(GGMLType.Q4_K, type(f, "blk.15.attn_k.weight"));
        }
    }

    private static GGMLType type(GGUFFile f, String name) {
        GGUFTensor t = f.tensors().get(name);
        return t.type();
    }
}
