package clusterkv.generate;

import clusterkv.kv.KVFormat;
import clusterkv.kv.PolicyConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Perplexity against llama-perplexity's figures on the same files (src/test/data/README.md): the protocol
 * (chunking, BOS, which half is scored) and the forward pass together. llama.cpp keeps an F16 KV cache and
 * quantizes nothing else on these F32 models, so the two agree to a few parts in 10^4.
 */
class PerplexityReferenceTest {

    private static final String TEXT = "src/test/data/corpus/pg19_firstbook.txt";

    @Test
    void stories260KAtContext256() throws Exception {
        assertPerplexity("stories260K", 256, 21, 32.4354);
    }

    @Test
    void ckvTiny2kAtContext1024() throws Exception {
        assertPerplexity("ckv-tiny-2k", 1024, 5, 11.6132);
    }

    /**
     * Quantized KV caches, unrotated (as llama.cpp computes them), against {@code llama-perplexity -c 1024 -ctk K -ctv V
     * -fa} (src/test/data/README.md); the issue asked for 0.2 %, they agree to 0.02 %.
     */
    @ParameterizedTest
    @CsvSource({"q8_0,q8_0,11.6173", "q4_0,q4_0,11.8979", "q8_0,f16,11.6182", "q4_0,f16,11.8417"})
    void ckvTiny2kWithQuantizedKVAtContext1024(String keys, String values, double llamaCpp) throws Exception {
        assertPerplexity("ckv-tiny-2k", 1024, 5, llamaCpp, KVFormat.parse(null, keys, values, false), 2e-4);
    }

    /**
     * The rotation (the default for quantized keys) against no rotation and F16: q8_0 is as good as F16, and q4_0
     * keys and values lose less than unrotated (11.8981); the 1 % the issue asked for is not reached (docs/kv-cache.md).
     */
    @Test
    void rotationLowersTheQuantizedCachesLoss() throws Exception {
        double f16 = 11.6133;
        assertEquals(f16, perplexity("ckv-tiny-2k", 1024, KVFormat.parse("q8_0", null, null, null)), 2e-4 * f16);
        double q4 = perplexity("ckv-tiny-2k", 1024, KVFormat.parse("q4_0", null, null, null));
        assertTrue(q4 < 11.80 && q4 > f16, "rotated q4_0: " + q4);
    }

    /**
     * ClusterKV's estimation zone, every layer sparse, budget 64 at 2048 tokens: counting the 128 clusters ranked next
     * by their means brings ClusterKV within 1 % of full attention's perplexity (issue 20's target; measured: full
     * 12.0209, ClusterKV 12.4055, with the zone 12.1055).
     */
    @Test
    void theEstimationZoneBringsClusterKVWithinOnePercentAtBudget64() throws Exception {
        PolicyConfig sparse = new PolicyConfig(64, -1, 0, 0, 20, 0, false, false, 16, 0); // no dense layers
        double full = perplexity("ckv-tiny-2k", 2048, SessionOptions.defaults());
        double plain = perplexity("ckv-tiny-2k", 2048, SessionOptions.defaults().withPolicy("clusterkv", sparse));
        double estimated = perplexity("ckv-tiny-2k", 2048, SessionOptions.defaults().withPolicy("clusterkv", sparse.withEstimate(128)));
        assertTrue(plain - full > 0.015 * full, "ClusterKV at B=64 must lose something here: " + plain + " against " + full);
        assertTrue(estimated - full < 0.01 * full, "full " + full + ", ClusterKV " + plain + ", with the zone " + estimated);
        assertTrue(estimated - full < 0.5 * (plain - full), "full " + full + ", ClusterKV " + plain + ", with the zone " + estimated);
    }

    private static double perplexity(String model, int context, SessionOptions options) throws Exception {
        try (LanguageModel lm = LanguageModel.load(Path.of("src/test/data/models/" + model + ".gguf"))) {
            double ppl = Perplexity.compute(lm, Files.readString(Path.of(TEXT)), options.withContextSize(context), null).ppl();
            System.out.printf("%s -c %d, %s budget %d estimate %d: PPL %.4f%n", model, context, options.kvPolicy(),
                    options.policyConfig().budget(), options.policyConfig().estimate(), ppl);
            return ppl;
        }
    }

    private static void assertPerplexity(String model, int context, int chunks, double llamaCpp) throws Exception {
        assertPerplexity(model, context, chunks, llamaCpp, KVFormat.F16, 5e-4);
    }

    private static void assertPerplexity(String model, int context, int chunks, double llamaCpp, KVFormat kv, double tolerance) throws Exception {
        Perplexity.Result r = run(model, context, kv);
        System.out.printf("%s -c %d, KV %s: PPL %.4f over %d chunks (llama.cpp %.4f)%n", model, context, kv.label(), r.ppl(), r.chunks(), llamaCpp);
        assertEquals(chunks, r.chunks());
        assertEquals(llamaCpp, r.ppl(), tolerance * llamaCpp);
    }

    private static double perplexity(String model, int context, KVFormat kv) throws Exception {
        Perplexity.Result r = run(model, context, kv);
        System.out.printf("%s -c %d, KV %s: PPL %.4f%n", model, context, kv.label(), r.ppl());
        return r.ppl();
    }

    private static Perplexity.Result run(String model, int context, KVFormat kv) throws Exception {
        try (LanguageModel lm = LanguageModel.load(Path.of("src/test/data/models/" + model + ".gguf"))) {
            return Perplexity.compute(lm, Files.readString(Path.of(TEXT)), SessionOptions.defaults().withContextSize(context).withKvFormat(kv), null);
        }
    }
}
