package clusterkv.model;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFTensor;
import clusterkv.kv.FullAttention;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVType;
import clusterkv.tensor.WeightMatrix;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code synth --type q5_0 / q5_1}: every matrix is written in the type, holds the F32 model's weights up to
 * the type's rounding, and the model runs. (The encoders themselves are checked bit for bit against ggml in
 * RowKernelsTest and LlamaCppSyntheticTest.)
 */
class SyntheticModelQ5Test {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q5_0", "Q5_1"})
    void writesLoadableModelsOfTheType(GGMLType type) throws Exception {
        Path f32 = dir.resolve("f32.gguf"), q5 = dir.resolve(type + ".gguf");
        SyntheticModel.write(f32, ModelShape.named("tiny-llama3"), GGMLType.F32, null, 3);
        SyntheticModel.write(q5, ModelShape.named("tiny-llama3"), type, null, 3);
        try (Model exact = Model.load(f32); Model model = Model.load(q5)) {
            int matrices = 0;
            for (GGUFTensor t : model.file().tensors().values()) {
                if (t.shape().length < 2) {
                    assertEquals(GGMLType.F32, t.type(), t.name());
                    continue;
                }
                assertEquals(type, t.type(), t.name());
                WeightMatrix w = WeightMatrix.of(t), e = WeightMatrix.of(exact.file().tensors().get(t.name()));
                float[] got = new float[w.cols], want = new float[w.cols];
                for (int r = 0; r < w.rows; r++) {
                    w.dequantizeRow(r, got, 0);
                    e.dequantizeRow(r, want, 0);
                    for (int b = 0; b < w.cols; b += 32) {
                        double amax = 0;
                        for (int i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(want[i]));
                        // a step of at most 2 * amax / 31 (Q5_1's range) or amax / 16 (Q5_0), plus fp16 rounding
                        double bound = amax / 15.5 * 1.02 + 1e-30;
                        for (int i = b; i < b + 32; i++) {
                            assertTrue(Math.abs(got[i] - want[i]) <= bound, t.name() + " row " + r + " value " + i + ": " + got[i] + " vs " + want[i]);
                        }
                    }
                }
                matrices++;
            }
            assertEquals(15, matrices);

            ModelConfig c = model.config();
            int[] tokens = {1, 17, 42, 300, 5, 99};
            float[] logits = new float[tokens.length * c.vocabSize()];
            try (FullAttention att = new FullAttention(new KVCache(c.layers(), c.kvHeads(), c.headDim(), tokens.length, KVType.F32), c.heads())) {
                new Transformer(model).forward(new ForwardBuffers(c, tokens.length), att, tokens, 0, tokens.length, 0, logits, true);
            }
            for (float v : logits) assertTrue(Float.isFinite(v), "non-finite logit");
        }
    }
}
