package clusterkv.model;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.gguf.GGUFWriter;
import clusterkv.gguf.GGUFWriter.PendingTensor;
import clusterkv.tensor.Parallel;
import clusterkv.tensor.RowKernel;
import clusterkv.tensor.RowKernels;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Writes a GGUF model with random weights and the exact tensor shapes of a {@link ModelShape},
 * so that benchmarks run at realistic sizes without downloading anything.
 */
public final class SyntheticModel {

    private SyntheticModel() {}

    /**
     * @param vocabulary tokenizer metadata to embed (the {@code tokenizer.*} keys of a vocab GGUF), or null
     *                   to generate a SentencePiece-style vocabulary of the shape's size
     * @return a note for the user when some tensors had to use another type, else null
     */
    public static String write(Path out, ModelShape shape, GGMLType type, GGUFMetadata vocabulary, long seed) throws IOException {
        return write(out, shape, WeightTypes.of(type), vocabulary, seed);
    }

    /** As {@link #write(Path, ModelShape, GGMLType, GGUFMetadata, long)}, each matrix of the type that types gives it. */
    public static String write(Path out, ModelShape shape, WeightTypes types, GGUFMetadata vocabulary, long seed) throws IOException {
        if (!RowKernels.supports(types.base())) throw new IllegalArgumentException("cannot write weights of type " + types.base());
        GGUFMetadata md = new GGUFMetadata();
        String arch = shape.architecture().ggufName;
        md.putString("general.architecture", arch);
        md.putString("general.name", "synthetic " + shape.name() + " " + types.name());
        String[] tokens;
        if (vocabulary != null) {
            vocabulary.entries().forEach((k, e) -> {
                if (k.startsWith("tokenizer.")) md.put(k, e.type(), e.elementType(), e.value());
            });
            tokens = vocabulary.getStrings("tokenizer.ggml.tokens");
            if (tokens == null) throw new IllegalArgumentException("the vocabulary file has no tokenizer.ggml.tokens");
            shape = shape.withVocabSize(tokens.length);
        } else {
            GeneratedVocabulary.addTo(md, shape.vocabSize());
        }
        String p = arch + ".";
        md.putUInt32(p + "context_length", shape.contextLength());
        md.putUInt32(p + "embedding_length", shape.dim());
        md.putUInt32(p + "block_count", shape.layers());
        md.putUInt32(p + "feed_forward_length", shape.ffnDim());
        md.putUInt32(p + "attention.head_count", shape.heads());
        md.putUInt32(p + "attention.head_count_kv", shape.kvHeads());
        md.putUInt32(p + "attention.key_length", shape.headDim());
        md.putUInt32(p + "attention.value_length", shape.headDim());
        md.putUInt32(p + "rope.dimension_count", shape.headDim());
        md.putFloat32(p + "rope.freq_base", shape.ropeTheta());
        md.putFloat32(p + "attention.layer_norm_rms_epsilon", shape.rmsEps());
        md.putUInt32(p + "vocab_size", shape.vocabSize());

        List<PendingTensor> tensors = new ArrayList<>();
        List<String> fallbacks = new ArrayList<>();
        Tensors t = new Tensors(tensors, types, shape.layers(), seed, fallbacks);
        int q = shape.heads() * shape.headDim();
        int kv = shape.kvHeads() * shape.headDim();
        float attnScale = (float) (1 / Math.sqrt(shape.dim()));
        // 1/sqrt(dim), not 1: with tied embeddings a unit-variance table makes each token's own row dominate
        // its logits, and greedy decoding would only repeat the last token
        t.matrix("token_embd.weight", shape.vocabSize(), shape.dim(), attnScale, -1, shape.tiedEmbeddings());
        for (int l = 0; l < shape.layers(); l++) {
            String b = "blk." + l + ".";
            t.ones(b + "attn_norm.weight", shape.dim());
            t.matrix(b + "attn_q.weight", q, shape.dim(), attnScale, l, false);
            t.matrix(b + "attn_k.weight", kv, shape.dim(), attnScale, l, false);
            t.matrix(b + "attn_v.weight", kv, shape.dim(), attnScale, l, false);
            t.matrix(b + "attn_output.weight", shape.dim(), q, (float) (1 / Math.sqrt(q)), l, false);
            if (shape.architecture() == Architecture.QWEN2) {
                t.vector(b + "attn_q.bias", q, 0.1f);
                t.vector(b + "attn_k.bias", kv, 0.1f);
                t.vector(b + "attn_v.bias", kv, 0.1f);
            }
            if (shape.architecture() == Architecture.QWEN3) {
                t.vector(b + "attn_q_norm.weight", shape.headDim(), 0.2f, 1f);
                t.vector(b + "attn_k_norm.weight", shape.headDim(), 0.2f, 1f);
            }
            t.ones(b + "ffn_norm.weight", shape.dim());
            t.matrix(b + "ffn_gate.weight", shape.ffnDim(), shape.dim(), attnScale, l, false);
            t.matrix(b + "ffn_up.weight", shape.ffnDim(), shape.dim(), attnScale, l, false);
            t.matrix(b + "ffn_down.weight", shape.dim(), shape.ffnDim(), (float) (1 / Math.sqrt(shape.ffnDim())), l, false);
        }
        t.ones("output_norm.weight", shape.dim());
        if (!shape.tiedEmbeddings()) t.matrix("output.weight", shape.vocabSize(), shape.dim(), attnScale, -1, true);
        if (shape.ropeScalingFactor() > 0) {
            float[] factors = llama3RopeFactors(shape.ropeTheta(), shape.headDim(), shape.ropeScalingFactor());
            tensors.add(new PendingTensor("rope_freqs.weight", new long[]{factors.length}, GGMLType.F32,
                    dst -> RowKernels.of("rope_freqs.weight", GGMLType.F32).quantize(factors, 0, factors.length, dst, 0)));
        }
        GGUFWriter.write(out, md, tensors);
        if (fallbacks.isEmpty()) return null;
        String examples = String.join(", ", fallbacks.subList(0, Math.min(3, fallbacks.size())));
        return fallbacks.size() + " tensors (" + examples + (fallbacks.size() > 3 ? ", ..." : "")
                + ") have rows that are not a multiple of their type's block; they are "
                + (types.mix() ? "Q5_0 (for Q4_K), Q5_1 (for Q5_K) or Q8_0 (for Q6_K), as llama.cpp does" : "Q8_0");
    }

    /** Llama 3.1's frequency divisors (low_freq_factor 1, high_freq_factor 4, original context 8192), as its GGUF converter computes them. */
    static float[] llama3RopeFactors(float theta, int headDim, float factor) {
        double lowFreqFactor = 1, highFreqFactor = 4, originalContext = 8192;
        double lowFreqWavelength = originalContext / lowFreqFactor;
        double highFreqWavelength = originalContext / highFreqFactor;
        float[] out = new float[headDim / 2];
        for (int i = 0; i < out.length; i++) {
            double freq = 1.0 / Math.pow(theta, 2.0 * i / headDim);
            double wavelength = 2 * Math.PI / freq;
            if (wavelength < highFreqWavelength) out[i] = 1;
            else if (wavelength > lowFreqWavelength) out[i] = factor;
            else {
                double smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                out[i] = (float) (1 / ((1 - smooth) / factor + smooth));
            }
        }
        return out;
    }

    /** Collects tensors with deterministic random contents (each row seeded by tensor and row). */
    private record Tensors(List<PendingTensor> out, WeightTypes types, int layers, long seed, List<String> fallbacks) {

        /** A matrix of layer {@code layer} (-1: none); {@code output} if it computes the logits. */
        void matrix(String name, int rows, int cols, float scale, int layer, boolean output) {
            GGMLType ty = types.of(name, layer, layers, output);
            if (cols % ty.blockSize != 0) {
                ty = types.fallback(ty);
                fallbacks.add(name);
            }
            add(name, new long[]{cols, rows}, ty, rows, cols, scale, 0f);
        }

        void vector(String name, int n, float scale) {
            vector(name, n, scale, 0f);
        }

        void vector(String name, int n, float scale, float offset) {
            add(name, new long[]{n}, GGMLType.F32, 1, n, scale, offset);
        }

        void ones(String name, int n) {
            add(name, new long[]{n}, GGMLType.F32, 1, n, 0f, 1f);
        }

        private void add(String name, long[] shape, GGMLType ty, int rows, int cols, float scale, float offset) {
            long tensorSeed = seed * 1_000_003L + name.hashCode();
            RowKernel kernel = RowKernels.of(name, ty);
            long rowBytes = ty.byteSize(cols);
            out.add(new PendingTensor(name, shape, ty, dst -> {
                int chunk = 64;
                Parallel.forEach((rows + chunk - 1) / chunk, c -> {
                    float[] row = new float[cols];
                    for (int r = c * chunk; r < Math.min(rows, (c + 1) * chunk); r++) {
                        SplittableRandom rnd = new SplittableRandom(tensorSeed * 31 + r);
                        // uniform in [-scale*sqrt(3), scale*sqrt(3)]: standard deviation `scale`
                        double a = scale * Math.sqrt(3);
                        for (int i = 0; i < cols; i++) row[i] = offset + (float) ((rnd.nextDouble() * 2 - 1) * a);
                        kernel.quantize(row, 0, cols, dst, r * rowBytes);
                    }
                });
            }));
        }
    }

}
