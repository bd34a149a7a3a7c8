package clusterkv.cli;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFMetadata;
import clusterkv.gguf.GGUFWriter;
import clusterkv.gguf.HostileFiles;
import clusterkv.model.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static clusterkv.cli.BadInputTest.assertOneLineError;
import static clusterkv.cli.BadInputTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** A broken or hostile model file gets one error line from every command that opens it, and inspect prints it harmlessly. */
class BadModelFileTest {

    @TempDir
    Path dir;

    @Test
    void zeroLayerModelIsRefusedNotRun() throws Exception {
        Path p = TinyModel.write(dir.resolve("m.gguf"), md -> md.putUInt32("llama.block_count", 0));
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "a", "-n", "2"), "'llama.block_count' is 0");
    }

    @Test
    void stringWhereAnIntegerBelongs() throws Exception {
        Path p = TinyModel.write(dir.resolve("m.gguf"), md -> md.putString("llama.context_length", "4096"));
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "a", "-n", "2"), "'llama.context_length' has type string, expected an integer");
    }

    @Test
    void tokenListLongerThanTheEmbeddingTable() throws Exception {
        String[] more = java.util.Arrays.copyOf(TinyModel.TOKENS, 266);
        for (int i = TinyModel.VOCAB; i < more.length; i++) more[i] = "t" + i;
        Path p = TinyModel.write(dir.resolve("m.gguf"), md -> {
            md.putStrings("tokenizer.ggml.tokens", more);
            md.remove("tokenizer.ggml.scores");
            md.remove("tokenizer.ggml.token_type");
        });
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "a", "-n", "2"), "tokenizer.ggml.tokens has 266 tokens");
    }

    /** Found by probing what the fuzzer had not reached: a same-sized type without a kernel (I32 for F32). */
    @Test
    void tensorOfAnUnsupportedType() throws Exception {
        byte[] b = Files.readAllBytes(TinyModel.write(dir.resolve("m.gguf"), md -> {}));
        HostileFiles.setType(b, "blk.0.attn_q.weight", GGMLType.I32);
        Path p = Files.write(dir.resolve("i32.gguf"), b);
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "a", "-n", "2"), "tensor 'blk.0.attn_q.weight' has type I32, which is not supported");
    }

    @Test
    void tinyModelRuns() throws Exception {
        Path p = TinyModel.write(dir.resolve("m.gguf"), md -> {});
        var o = run("generate", "-m", p.toString(), "-p", "a b", "-n", "2", "--temp", "0");
        assertEquals(0, o.code(), o.err());
    }

    @Test
    void deeplyNestedMetadataIsOneLineForEveryCommand() throws Exception {
        Path p = dir.resolve("deep.gguf");
        Files.write(p, HostileFiles.nestedArrays(200_000));
        assertOneLineError(run("inspect", p.toString()), "metadata key 'deep' nests arrays");
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "a"), "metadata key 'deep' nests arrays");
        assertOneLineError(run("tokenize", "-m", p.toString(), "-p", "a"), "metadata key 'deep' nests arrays");
    }

    @Test
    void inspectOfADirectory() {
        assertOneLineError(run("inspect", dir.toString()), dir + " is a directory, not a GGUF file");
    }

    @Test
    void inspectEscapesTerminalControlCharacters() throws Exception {
        GGUFMetadata md = new GGUFMetadata();
        md.putString("general.name", "\u001b]0;owned\u0007\u001b[2J");
        md.putString("evil\u001b[31m.key", "x");
        Path p = dir.resolve("esc.gguf");
        GGUFWriter.write(p, md, List.of(new GGUFWriter.PendingTensor("t\u001b[1mname", new long[]{4}, GGMLType.F32, d -> d.fill((byte) 0))));
        var o = run("inspect", p.toString());
        assertEquals(0, o.code(), o.err());
        assertFalse(o.out().contains("\u001b") || o.out().contains("\u0007"), "no raw control characters");
        assertTrue(o.out().contains("\\x1b]0;owned\\x07\\x1b[2J"), o.out());
        assertTrue(o.out().contains("evil\\x1b[31m.key"), o.out());
        assertTrue(o.out().contains("t\\x1b[1mname"), o.out());
    }
}
