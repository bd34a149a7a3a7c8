package clusterkv.generate;

import clusterkv.kv.PolicyConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --kv-file: a session whose cache lives in a file computes what the session in memory computes, leaves nothing in
 * the directory (the file is unlinked as soon as it is mapped), and refuses to write over an existing file.
 */
class KVFileTest {

    private static LanguageModel lm;
    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        lm = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"));
        // the JIT compiles the decode path first: twins in different JIT states may differ in a last bit (see SessionFileTest)
        try (Session warm = lm.newSession(SessionOptions.defaults().withContextSize(256).withPolicy("clusterkv", PolicyConfig.DEFAULT.withBudget(24)))) {
            warm.append(lm.tokenizer().encode("Once upon a time", true, false), null);
            for (int i = 0; i < 200; i++) warm.feed(argmax(warm.logits()));
        }
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    private static long entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void aCacheInAFileGivesTheSameLogitsAndLeavesNoFile() throws IOException {
        int[] prompt = lm.tokenizer().encode("Once upon a time, there was a little girl named Lily. She loved to play", true, false);
        SessionOptions memory = SessionOptions.defaults().withContextSize(256).withPolicy("clusterkv", PolicyConfig.DEFAULT.withBudget(24));
        try (Session inMemory = lm.newSession(memory);
             Session inFile = lm.newSession(memory.withKvFile(dir))) {
            assertEquals(0, entries(dir), "the file is unlinked once mapped");
            // in turns, so that both run in the same JIT state (see SessionFileTest)
            inMemory.append(prompt, null);
            inFile.append(prompt, null);
            SameLogits.assertSame(inMemory.logits(), inFile.logits(), "after the prompt");
            for (int i = 0; i < 20; i++) {
                int next = argmax(inMemory.logits());
                inMemory.feed(next);
                inFile.feed(next);
                SameLogits.assertSame(inMemory.logits(), inFile.logits(), "step " + i);
            }
        }
        assertEquals(0, entries(dir));
    }

    @Test
    void anExistingFileIsNeverWrittenOver() throws IOException {
        Path file = Files.writeString(dir.resolve("precious.txt"), "keep me");
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> lm.newSession(SessionOptions.defaults().withContextSize(64).withKvFile(file)));
        assertTrue(e.getCause().getMessage().contains("already exists"), e.getCause().getMessage());
        assertEquals("keep me", Files.readString(file));
    }

    private static int argmax(float[] l) {
        int best = 0;
        for (int t = 1; t < l.length; t++) if (l[t] > l[best]) best = t;
        return best;
    }
}
