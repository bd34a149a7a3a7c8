package clusterkv.generate;

import clusterkv.kv.KVFormat;
import clusterkv.kv.KVType;
import clusterkv.kv.PolicyConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A session saved and reopened continues as the session that was never saved: the same logits (up to the JIT's
 * last-bit noise, see {@link SameLogits}) and tokens at every later decode step, under every KV policy (whose index,
 * kept set or scores the file carries) and KV type. A file made with another model or other options, or no session file at all, is refused in one line.
 */
class SessionFileTest {

    private static LanguageModel lm;
    private static int[] prompt;
    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        lm = LanguageModel.load(Path.of("src/test/data/models/ckv-tiny-2k.gguf"));
        String text = Files.readString(Path.of("src/test/data/corpus/pg19_firstbook.txt"));
        prompt = java.util.Arrays.copyOf(lm.tokenizer().encode(text, true, false), 400);
        for (String policy : new String[]{"full", "clusterkv", "h2o"}) { // the JIT compiles the decode paths first
            try (Session warm = lm.newSession(options(policy, KVFormat.F16))) {
                warm.append(prompt, null);
                for (int i = 0; i < 40; i++) step(warm);
            }
        }
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    private static SessionOptions options(String policy, KVFormat format) {
        // a budget far below the prompt and no dense layers, so that every layer's policy state decides the output
        PolicyConfig config = new PolicyConfig(96, -1, 0, 0, 20, 0, false, false, 16, 0);
        return SessionOptions.defaults().withContextSize(512).withKvFormat(format).withPolicy(policy, config);
    }

    /** One greedy decode step; returns a copy of the logits after it. */
    private static float[] step(Session s) {
        float[] l = s.logits();
        int best = 0;
        for (int t = 1; t < l.length; t++) if (l[t] > l[best]) best = t;
        s.feed(best);
        return s.logits().clone();
    }

    /**
     * Saves a session after its prompt and {@code decodedBeforeSave} steps, reopens the file, and decodes both in
     * turns. In turns, because the Vector API leaves the order of a vector's final lane sum open and the
     * interpreter's differs from compiled code's: twins decoded in different JIT states may differ in the last
     * bit (see BatchDecoderTest); the JIT is warmed up first for the same reason.
     */
    private void assertContinuesExactly(SessionOptions options, int decodedBeforeSave) throws IOException {
        Path file = dir.resolve(options.kvPolicy() + ".session");
        try (Session unsaved = lm.newSession(options)) {
            unsaved.append(prompt, null);
            for (int i = 0; i < decodedBeforeSave; i++) step(unsaved);
            unsaved.save(file);
            try (Session reopened = lm.openSession(file, options)) {
                assertEquals(prompt.length + decodedBeforeSave, reopened.length());
                assertArrayEquals(unsaved.tokens(), reopened.tokens());
                assertArrayEquals(unsaved.logits(), reopened.logits());
                for (int i = 0; i < 12; i++) {
                    float[] expected = step(unsaved), actual = step(reopened);
                    SameLogits.assertSame(expected, actual, options.kvPolicy() + " " + options.kvFormat() + ": step " + i + " after reopening");
                }
            }
        }
    }

    @Test
    void everyPolicyContinuesAsUnsavedAfterThePrompt() throws IOException {
        for (String policy : new String[]{"full", "clusterkv", "quest", "streaming", "h2o", "snapkv"}) {
            assertContinuesExactly(options(policy, KVFormat.F16), 0);
        }
    }

    @Test
    void policiesContinueAsUnsavedWhenSavedMidDecode() throws IOException {
        // ClusterKV has clustered a window of decoded tokens by then; H2O has scored every step
        for (String policy : new String[]{"clusterkv", "h2o"}) assertContinuesExactly(options(policy, KVFormat.F16), 90);
    }

    @Test
    void quantizedCacheAndClusterMeansContinueAsUnsaved() throws IOException {
        SessionOptions o = options("clusterkv", KVFormat.of(KVType.Q8_0));
        assertContinuesExactly(o.withPolicy("clusterkv", o.policyConfig().withEstimate(8).withTopP(0.9f)), 0);
        SessionOptions quest = options("quest", KVFormat.F16);
        assertContinuesExactly(quest.withPolicy("quest", quest.policyConfig().withEstimate(8)), 90); // the page means, mid-decode
    }

    @Test
    void notesComeBack() throws IOException {
        Path file = dir.resolve("notes.session");
        try (Session s = lm.newSession(SessionOptions.defaults().withContextSize(64))) {
            s.append(new int[]{1, 2, 3}, null);
            s.save(file, Map.of("chat.messages", "[{\"role\":\"user\"}]"));
        }
        try (Session s = lm.openSession(file, SessionOptions.defaults().withContextSize(64))) {
            assertEquals(Map.of("chat.messages", "[{\"role\":\"user\"}]"), s.notes());
            assertArrayEquals(new int[]{1, 2, 3}, s.tokens());
        }
    }

    @Test
    void aFileMadeOtherwiseIsRefusedInOneLine() throws IOException {
        Path file = dir.resolve("a.session");
        SessionOptions made = saveClusterKV(file);
        assertRefused(file, made.withPolicy("quest", made.policyConfig()), "was made with --kv-policy clusterkv, this run asks for quest");
        assertRefused(file, made.withPolicy("clusterkv", made.policyConfig().withBudget(128)), "budget=96 (saved) against budget=128 (this run)");
        assertRefused(file, made.withContextSize(1024), "holds a session of 512 tokens of context, this run asks for 1024: use -c 512");
        assertRefused(file, made.withKvFormat(KVFormat.of(KVType.Q8_0)), "holds a KV cache of keys/values f16/f16");
        try (LanguageModel other = LanguageModel.load(Path.of("src/test/data/models/stories260K.gguf"))) {
            SessionFileException e = assertThrows(SessionFileException.class, () -> other.openSession(file, made));
            assertTrue(e.getMessage().contains("was saved with the model"), e.getMessage());
        }
        SessionFileException foreign = assertThrows(SessionFileException.class,
                () -> lm.openSession(Path.of("src/test/data/models/stories260K.gguf"), made));
        assertTrue(foreign.getMessage().contains("is not a session file (a GGUF file of architecture 'llama')"), foreign.getMessage());
        assertThrows(NoSuchFileException.class, () -> lm.openSession(dir.resolve("missing.session"), made));
    }

    @Test
    void aTruncatedFileIsRefused() throws IOException {
        Path file = dir.resolve("t.session");
        SessionOptions made = saveClusterKV(file);
        byte[] all = Files.readAllBytes(file);
        for (int keep : new int[]{all.length / 2, 100, 10}) {
            Path cut = dir.resolve("cut" + keep + ".session");
            Files.write(cut, java.util.Arrays.copyOf(all, keep));
            SessionFileException e = assertThrows(SessionFileException.class, () -> lm.openSession(cut, made));
            assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        }
    }

    @Test
    void aWellFormedFileWithImpossibleStateIsRefused() throws IOException {
        Path file = dir.resolve("s.session");
        SessionOptions made = saveClusterKV(file);
        long at;
        try (clusterkv.gguf.GGUFFile f = clusterkv.gguf.GGUFFile.open(file)) {
            at = f.dataOffset() + f.requireTensor("state.i32").offset(); // the first int of the state: layer 0's indexed length
        }
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, Integer.MAX_VALUE), at);
        }
        SessionFileException e = assertThrows(SessionFileException.class, () -> lm.openSession(file, made));
        assertTrue(e.getMessage().contains("damaged session file") && e.getMessage().contains("layer0.indexed"), e.getMessage());
    }

    /** A ClusterKV session of 200 prompt tokens saved to the file; returns the options it was made with. */
    private static SessionOptions saveClusterKV(Path file) throws IOException {
        SessionOptions made = options("clusterkv", KVFormat.F16);
        try (Session s = lm.newSession(made)) {
            s.append(java.util.Arrays.copyOf(prompt, 200), null);
            s.save(file);
        }
        return made;
    }

    private static void assertRefused(Path file, SessionOptions options, String expected) {
        SessionFileException e = assertThrows(SessionFileException.class, () -> lm.openSession(file, options));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
