package clusterkv.model;

import clusterkv.gguf.GGMLType;
import clusterkv.kv.FullAttention;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import clusterkv.tensor.Parallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Logits with a Q8_0 KV cache against an F16 one, both measured from an F32 cache, on synthetic llama3 and qwen3
 * models (head sizes 64 and 128), through chunked prefill and decode steps.
 *
 * <p>The bound, from the quantization steps: F16 rounds a value to within 2^-11 of itself; Q8_0 to within half a
 * step, amax/254, of its 32-value block's largest magnitude. For Gaussian-like blocks amax is about 2.5 standard
 * deviations, so a Q8_0 error is about 2.5 * 2048 / 254 = 20 times an F16 error of a typical value; keys are also
 * met by Q8_0-rounded queries (another error of the same size), 40 times; the bound allows 25 % more for the worst
 * row of many: Q8_0's worst logit error must lie between F16's and 50 times it (measured: 29-36 times).
 */
class QuantizedKVLogitsTest {

    @TempDir
    static Path dir;

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama3", "tiny-qwen3"})
    void q8_0LogitsStayWithinTheBoundDerivedFromTheStep(String shape) throws Exception {
        Path file = dir.resolve(shape + ".gguf");
        SyntheticModel.write(file, ModelShape.named(shape), GGMLType.F32, null, 7);
        int n = 40;
        int[] tokens = new SplittableRandom(11).ints(n, 0, 384).toArray();
        Parallel.setThreads(2);
        try (Model model = Model.load(file)) {
            float[] f32 = logits(model, tokens, KVFormat.of(KVType.F32));
            double f16 = worst(logits(model, tokens, KVFormat.of(KVType.F16)), f32, model.config().vocabSize());
            double q8 = worst(logits(model, tokens, KVFormat.of(KVType.Q8_0)), f32, model.config().vocabSize());
            double q8rotated = worst(logits(model, tokens, KVFormat.of(KVType.Q8_0).withRotation(true)), f32, model.config().vocabSize());
            System.out.printf("%s: worst relative logit error from an F32 cache: f16 %.2e, q8_0 %.2e, q8_0 rotated %.2e%n", shape, f16, q8, q8rotated);
            assertTrue(q8 > f16 && q8 <= 50 * f16, shape + ": q8_0 " + q8 + " against f16 " + f16);
            assertTrue(q8rotated > f16 && q8rotated <= 50 * f16, shape + ": rotated q8_0 " + q8rotated + " against f16 " + f16);
        }
    }

    private static float[] logits(Model model, int[] tokens, KVFormat format) {
        ModelConfig c = model.config();
        int n = tokens.length;
        float[] all = new float[n * c.vocabSize()];
        try (FullAttention att = new FullAttention(new KVCache(c.layers(), c.kvHeads(), c.headDim(), n, format, 0), c.heads())) {
            ForwardBuffers b = new ForwardBuffers(c, 16);
            float[] chunk = new float[16 * c.vocabSize()];
            int p = 0;
            for (int size : new int[]{16, 16, 1, 5, 1, 1}) { // prefill chunks, then decode steps
                new Transformer(model).forward(b, att, tokens, p, size, p, chunk, true);
                System.arraycopy(chunk, 0, all, p * c.vocabSize(), size * c.vocabSize());
                p += size;
            }
        }
        return all;
    }

    /** The largest |a - b| over every row, relative to the row's largest |b|. */
    private static double worst(float[] a, float[] b, int vocab) {
        double worst = 0;
        for (int r = 0; r < a.length / vocab; r++) {
            double scale = 0;
            for (int i = 0; i < vocab; i++) scale = Math.max(scale, Math.abs(b[r * vocab + i]));
            for (int i = 0; i < vocab; i++) worst = Math.max(worst, Math.abs(a[r * vocab + i] - b[r * vocab + i]) / Math.max(1, scale));
        }
        return worst;
    }
}
