package clusterkv.model;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.gguf.GGUFWriter;
import clusterkv.gguf.GGUFWriter.PendingTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The smallest valid Llama model (dim 8, one block, 10-token SentencePiece vocabulary, a few KB), for tests that
 * break one thing in it and for fuzzing seeds. Weights are 0.01 everywhere: their values do not matter here.
 */
public final class TinyModel {

    public static final int DIM = 8, HEADS = 2, KV_HEADS = 1, FFN = 16, VOCAB = 10;
    public static final String[] TOKENS = {"<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "\u2581b", "ab", "\u2581ab"};

    private TinyModel() {}

    public static GGUFMetadata metadata() {
        GGUFMetadata md = new GGUFMetadata();
        md.putString("general.architecture", "llama");
        md.putString("general.name", "tiny test model");
        md.putUInt32("llama.context_length", 64);
        md.putUInt32("llama.embedding_length", DIM);
        md.putUInt32("llama.block_count", 1);
        md.putUInt32("llama.feed_forward_length", FFN);
        md.putUInt32("llama.attention.head_count", HEADS);
        md.putUInt32("llama.attention.head_count_kv", KV_HEADS);
        md.putUInt32("llama.rope.dimension_count", DIM / HEADS);
        md.putFloat32("llama.rope.freq_base", 10000f);
        md.putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        md.putString("tokenizer.ggml.model", "llama");
        md.putStrings("tokenizer.ggml.tokens", TOKENS);
        float[] scores = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) scores[i] = -i;
        md.putFloats("tokenizer.ggml.scores", scores);
        md.putInts("tokenizer.ggml.token_type", new int[]{2, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        md.putUInt32("tokenizer.ggml.bos_token_id", 1);
        md.putUInt32("tokenizer.ggml.eos_token_id", 2);
        return md;
    }

    /** The tensors of a model with {@link #metadata()}: one block, separate output matrix. */
    public static List<PendingTensor> tensors() {
        List<PendingTensor> t = new ArrayList<>();
        int q = DIM, kv = DIM / HEADS * KV_HEADS;
        t.add(f32("token_embd.weight", DIM, VOCAB));
        t.add(f32("blk.0.attn_norm.weight", DIM));
        t.add(f32("blk.0.attn_q.weight", DIM, q));
        t.add(f32("blk.0.attn_k.weight", DIM, kv));
        t.add(f32("blk.0.attn_v.weight", DIM, kv));
        t.add(f32("blk.0.attn_output.weight", q, DIM));
        t.add(f32("blk.0.ffn_norm.weight", DIM));
        t.add(f32("blk.0.ffn_gate.weight", DIM, FFN));
        t.add(f32("blk.0.ffn_up.weight", DIM, FFN));
        t.add(f32("blk.0.ffn_down.weight", FFN, DIM));
        t.add(f32("output_norm.weight", DIM));
        t.add(f32("output.weight", DIM, VOCAB));
        return t;
    }

    /** An F32 tensor of 0.01s; shape in ggml order (columns first). */
    public static PendingTensor f32(String name, long... shape) {
        return new PendingTensor(name, shape, GGMLType.F32, d -> {
            for (long i = 0; i < d.byteSize(); i += 4) d.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, 0.01f);
        });
    }

    /** The model with its metadata edited first. */
    public static Path write(Path file, Consumer<GGUFMetadata> edit) throws IOException {
        GGUFMetadata md = metadata();
        edit.accept(md);
        GGUFWriter.write(file, md, tensors());
        return file;
    }

    /** The bytes of the unedited model. */
    public static byte[] bytes(Path dir) throws IOException {
        return Files.readAllBytes(write(dir.resolve("tiny.gguf"), md -> {}));
    }
}
