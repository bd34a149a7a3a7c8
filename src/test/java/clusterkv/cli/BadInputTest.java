package clusterkv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Bad input gets one clear line on stderr and a non-zero exit, never a stack trace. */
class BadInputTest {

    @TempDir
    Path dir;

    record Outcome(int code, String out, String err) {}

    static synchronized Outcome run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static void assertOneLineError(Outcome o, String expected) {
        assertNotEquals(0, o.code());
        String[] lines = o.err().strip().split("\n");
        assertEquals(1, lines.length, "exactly one error line, got:\n" + o.err());
        assertTrue(lines[0].startsWith("error: ") && lines[0].contains(expected), lines[0]);
        assertFalse(o.err().contains("\tat "), "no stack trace");
    }

    @Test
    void missingFile() {
        assertOneLineError(run("generate", "-m", dir.resolve("nope.gguf").toString(), "-p", "x"), "no such file");
    }

    @Test
    void wrongMagic() throws Exception {
        Path p = dir.resolve("junk.gguf");
        Files.writeString(p, "this is not a model at all, just some text that is long enough");
        assertOneLineError(run("inspect", p.toString()), "bad magic");
    }

    @Test
    void truncatedModel() throws Exception {
        byte[] full = Files.readAllBytes(Path.of("src/test/data/models/stories260K.gguf"));
        Path p = dir.resolve("cut.gguf");
        Files.write(p, java.util.Arrays.copyOf(full, full.length / 2));
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "x"), "past the end");
    }

    @Test
    void promptLongerThanContext() {
        assertOneLineError(run("generate", "-m", "src/test/data/models/stories260K.gguf", "-c", "8", "-p",
                "Once upon a time there was a little girl who liked to play"), "more than the context size of 8");
    }

    @Test
    void benchRefusesKVStatsRatherThanIgnoringThem() {
        assertOneLineError(run("bench", "-m", "src/test/data/models/stories260K.gguf", "--kv-stats"), "does not support --kv-stats");
    }

    @Test
    void contextLargerThanTheModels() {
        assertOneLineError(run("generate", "-m", "src/test/data/models/stories260K.gguf", "-c", "4096", "-p", "x"), "exceeds the model's context");
    }

    @Test
    void unsupportedArchitecture() throws Exception {
        Path p = dir.resolve("gpt.gguf");
        var md = new clusterkv.gguf.GGUFMetadata();
        md.putString("general.architecture", "gptneox");
        clusterkv.gguf.GGUFWriter.write(p, md, java.util.List.of(new clusterkv.gguf.GGUFWriter.PendingTensor(
                "token_embd.weight", new long[]{4, 4}, clusterkv.gguf.GGMLType.F32, d -> d.fill((byte) 0))));
        assertOneLineError(run("generate", "-m", p.toString(), "-p", "x"), "unsupported architecture 'gptneox'");
    }

    @Test
    void offlineDownloadFailsWithOneLine() {
        Outcome o = run("generate", "-m", "hf://nobody/nothing/none.gguf", "-p", "x");
        assertOneLineError(o, "cannot download");
    }

    @Test
    void tokenizeWorksOnVocabOnlyFiles() {
        Outcome o = run("tokenize", "-m", "src/test/data/tokenizers/ggml-vocab-llama-spm.gguf", "-p", "Hello world");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().strip().matches("1( \\d+)+"), o.out()); // BOS then the ids, one line
    }

    @Test
    void tokenizeNoBos() {
        Outcome o = run("tokenize", "-m", "src/test/data/models/stories260K.gguf", "--no-bos", "-p", "Once upon a time");
        assertEquals("403 407 261 378", o.out().strip()); // ids from llama.cpp's reference (stories260K.reference.json)
    }
}
