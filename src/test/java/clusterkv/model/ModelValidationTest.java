package clusterkv.model;

import clusterkv.gguf.GGUFFile;
import clusterkv.gguf.GGUFFormatException;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.gguf.GGUFValueType;
import clusterkv.gguf.GGUFWriter;
import clusterkv.gguf.HostileFiles;
import clusterkv.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/** A model file that does not describe a usable model is refused at load time, the error naming the key or tensor at fault. */
class ModelValidationTest {

    @TempDir
    Path dir;

    private String loadError(Consumer<GGUFMetadata> edit) throws Exception {
        Path p = TinyModel.write(dir.resolve("m.gguf"), edit);
        return assertThrows(GGUFFormatException.class, () -> Model.load(p).close()).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) assertTrue(message.contains(part), "'" + part + "' in: " + message);
        assertFalse(message.contains("\n"), message);
    }

    @Test
    void theTinyModelLoads() throws Exception {
        try (Model m = Model.load(TinyModel.write(dir.resolve("ok.gguf"), md -> {}))) {
            assertEquals(1, m.config().layers());
            assertEquals(TinyModel.VOCAB, m.config().vocabSize());
            assertEquals(4, m.config().headDim());
        }
    }

    @Test
    void zeroLayers() throws Exception {
        assertMentions(loadError(md -> md.putUInt32("llama.block_count", 0)), "'llama.block_count' is 0", "positive");
    }

    @Test
    void moreLayersThanTheFileHas() throws Exception {
        assertMentions(loadError(md -> md.putUInt32("llama.block_count", 2_000_000_000)),
                "llama.block_count is 2000000000", "'blk.1999999999.attn_norm.weight' is missing");
    }

    @Test
    void aBlockCountBackedOnlyByItsLastLayerIsAnErrorNotAnAllocation() throws Exception {
        // The last layer's attn_norm is there, the others are not: refused at the first missing layer, before an array
        // of block_count layers (over the VM's limit here) is allocated.
        var tensors = new ArrayList<>(TinyModel.tensors());
        tensors.add(TinyModel.f32("blk.2147483646.attn_norm.weight", TinyModel.DIM));
        GGUFMetadata md = TinyModel.metadata();
        md.putUInt32("llama.block_count", Integer.MAX_VALUE);
        Path p = dir.resolve("layers.gguf");
        GGUFWriter.write(p, md, tensors);
        assertMentions(assertThrows(GGUFFormatException.class, () -> Model.load(p).close()).getMessage(), "missing tensor 'blk.1.attn_norm.weight'");
    }

    @Test
    void zeroHeadsAreNamedNotDividedBy() throws Exception {
        assertMentions(loadError(md -> md.putUInt32("llama.attention.head_count", 0)), "'llama.attention.head_count' is 0");
        assertMentions(loadError(md -> md.putUInt32("llama.attention.head_count_kv", 0)), "'llama.attention.head_count_kv' is 0");
        assertMentions(loadError(md -> md.putUInt32("llama.attention.head_count_kv", 3)),
                "llama.attention.head_count (2) is not a multiple of llama.attention.head_count_kv (3)");
    }

    @Test
    void embeddingNotDivisibleByHeads() throws Exception {
        assertMentions(loadError(md -> md.putUInt32("llama.attention.head_count", 3)), "llama.embedding_length (8) is not a multiple of llama.attention.head_count (3)");
    }

    @Test
    void integerKeyGivenAsString() throws Exception {
        assertMentions(loadError(md -> md.putString("llama.context_length", "4096")),
                "'llama.context_length' has type string", "expected an integer");
        assertMentions(loadError(md -> md.putFloat32("llama.embedding_length", 8.5f)),
                "'llama.embedding_length' has type float32", "expected an integer");
    }

    @Test
    void integerKeyOutOfRange() throws Exception {
        assertMentions(loadError(md -> md.putUInt32("llama.feed_forward_length", 0xFFFF_FFFFL)), "'llama.feed_forward_length' = 4294967295 is out of range");
    }

    @Test
    void floatKeyGivenAsString() throws Exception {
        assertMentions(loadError(md -> md.putString("llama.rope.freq_base", "10000")), "'llama.rope.freq_base' has type string", "expected a float");
    }

    @Test
    void ropeDimensionMustBeEvenPositiveAndWithinTheHead() throws Exception {
        assertMentions(loadError(md -> md.putUInt32("llama.rope.dimension_count", 0)), "'llama.rope.dimension_count' is 0");
        assertMentions(loadError(md -> md.putUInt32("llama.rope.dimension_count", 3)), "llama.rope.dimension_count is 3", "even", "head size 4");
        assertMentions(loadError(md -> md.putUInt32("llama.rope.dimension_count", 6)), "llama.rope.dimension_count is 6", "head size 4");
        assertMentions(loadError(md -> md.put("llama.rope.dimension_count", GGUFValueType.INT32, null, -8L)), "'llama.rope.dimension_count' is -8");
    }

    @Test
    void rmsEpsilonMustBeFiniteAndPositive() throws Exception {
        for (float bad : new float[]{Float.NaN, -1e-5f, 0f, Float.POSITIVE_INFINITY}) {
            assertMentions(loadError(md -> md.putFloat32("llama.attention.layer_norm_rms_epsilon", bad)),
                    "'llama.attention.layer_norm_rms_epsilon' is " + bad, "finite positive");
        }
    }

    @Test
    void ropeBaseMustBeFiniteAndPositive() throws Exception {
        for (float bad : new float[]{0f, -10000f, Float.NaN}) {
            assertMentions(loadError(md -> md.putFloat32("llama.rope.freq_base", bad)), "'llama.rope.freq_base' is " + bad);
        }
    }

    @Test
    void tokenListMustMatchTheEmbeddingTable() throws Exception {
        String[] more = new String[TinyModel.VOCAB + 256];
        for (int i = 0; i < more.length; i++) more[i] = i < TinyModel.VOCAB ? TinyModel.TOKENS[i] : "t" + i;
        assertMentions(loadError(md -> {
            md.putStrings("tokenizer.ggml.tokens", more);
            md.remove("tokenizer.ggml.scores");
            md.remove("tokenizer.ggml.token_type");
        }), "tokenizer.ggml.tokens has 266 tokens", "'token_embd.weight' has 10 rows");
    }

    @Test
    void tokenizerKeysOfTheWrongType() {
        assertMentions(tokenizerError(md -> md.putString("tokenizer.ggml.bos_token_id", "1")),
                "'tokenizer.ggml.bos_token_id' has type string", "expected an integer");
        assertMentions(tokenizerError(md -> md.putString("tokenizer.ggml.tokens", "<unk> <s> </s>")),
                "'tokenizer.ggml.tokens' has type string", "expected an array of strings");
        assertMentions(tokenizerError(md -> md.put("tokenizer.ggml.scores", GGUFValueType.ARRAY, GGUFValueType.STRING, TinyModel.TOKENS)),
                "'tokenizer.ggml.scores' has type string[]", "expected an array of float32");
    }

    private static String tokenizerError(Consumer<GGUFMetadata> edit) {
        GGUFMetadata md = TinyModel.metadata();
        edit.accept(md);
        return assertThrows(GGUFFormatException.class, () -> Tokenizer.fromMetadata(md)).getMessage();
    }

    @Test
    void duplicateTensorName() throws Exception {
        var tensors = new ArrayList<>(TinyModel.tensors());
        tensors.add(TinyModel.f32("blk.0.attn_norm.weight", TinyModel.DIM));
        Path p = dir.resolve("dup.gguf");
        GGUFWriter.write(p, TinyModel.metadata(), tensors);
        assertMentions(openError(Files.readAllBytes(p)), "duplicate tensor 'blk.0.attn_norm.weight'");
    }

    @Test
    void duplicateMetadataKey() throws Exception {
        // Two keys of the same length; the second renamed to the first in the bytes.
        byte[] b = Files.readAllBytes(TinyModel.write(dir.resolve("k.gguf"), md -> md.putUInt32("llama.context_lengtX", 1)));
        HostileFiles.replace(b, "llama.context_lengtX", "llama.context_length");
        assertMentions(openError(b), "duplicate metadata key 'llama.context_length'");
    }

    @Test
    void alignmentGivenAsString() throws Exception {
        // The writer refuses it too, so the key is renamed in the bytes.
        byte[] b = Files.readAllBytes(TinyModel.write(dir.resolve("a.gguf"), md -> md.putString("general.alignmenX", "32")));
        HostileFiles.replace(b, "general.alignmenX", "general.alignment");
        assertMentions(openError(b), "'general.alignment' has type string", "expected an integer");
    }

    @Test
    void misalignedTensorData() throws Exception {
        byte[] b = TinyModel.bytes(dir);
        HostileFiles.setOffset(b, "output.weight", HostileFiles.offset(b, "output.weight") + 4);
        assertMentions(openError(b), "tensor 'output.weight'", "not a multiple of the alignment 32");
    }

    @Test
    void overlappingTensors() throws Exception {
        byte[] b = TinyModel.bytes(dir);
        HostileFiles.setOffset(b, "output.weight", HostileFiles.offset(b, "blk.0.ffn_down.weight"));
        assertMentions(openError(b), "overlaps", "'output.weight'", "'blk.0.ffn_down.weight'");
    }

    @Test
    void tensorDataOutsideTheFile() throws Exception {
        byte[] b = TinyModel.bytes(dir);
        HostileFiles.setOffset(b, "output.weight", 1L << 40);
        assertMentions(openError(b), "tensor 'output.weight'", "past the end of the file");
        HostileFiles.setOffset(b, "output.weight", Long.MAX_VALUE - 31);
        assertMentions(openError(b), "tensor 'output.weight'", "past the end of the file");
    }

    @Test
    void shapeWhoseSizeOverflowsNamesTheTensor() throws Exception {
        byte[] b = TinyModel.bytes(dir);
        HostileFiles.setShape(b, "token_embd.weight", 1L << 40, 1L << 40);
        assertMentions(openError(b), "tensor 'token_embd.weight' has shape [1099511627776, 1099511627776]", "overflows");
    }

    private String openError(byte[] bytes) {
        return assertThrows(GGUFFormatException.class, () -> GGUFFile.read(Path.of("bad.gguf"), bytes).close()).getMessage();
    }
}
