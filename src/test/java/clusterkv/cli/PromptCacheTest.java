package clusterkv.cli;

import clusterkv.generate.SessionLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * generate --prompt-cache as llama.cpp's: the second run reuses the prefix the file holds and prefills only the
 * rest, and prints what a run without the cache prints; a file another process holds is refused in one line.
 */
class PromptCacheTest {

    private static final String MODEL = "src/test/data/models/ckv-tiny-2k.gguf";
    private static final String PROMPT = "The old prince Bolkonski lived at Bald Hills with his daughter, and";

    private static BadInputTest.Outcome generate(String prompt, String... extra) {
        String[] base = {"generate", "-m", MODEL, "-p", prompt, "-n", "16", "--temperature", "0", "-c", "256", "-t", "1"};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return BadInputTest.run(args);
    }

    @Test
    void theSecondRunReusesThePrefixAndPrintsTheSame(@TempDir Path dir) {
        String cache = dir.resolve("p.session").toString();
        BadInputTest.Outcome plain = generate(PROMPT + " then");
        BadInputTest.Outcome first = generate(PROMPT, "--prompt-cache", cache);
        assertEquals(0, first.code(), first.err());
        assertTrue(first.err().contains("prompt cache: 0 of the prompt's"), first.err());
        BadInputTest.Outcome second = generate(PROMPT + " then", "--prompt-cache", cache);
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().matches("(?s).*prompt cache: [1-9]\\d* of the prompt's \\d+ tokens reused.*"), second.err());
        assertEquals(plain.out(), second.out(), "the same continuation as without the cache");
    }

    /**
     * Under a sparse policy a prompt prefilled in two pieces is indexed in two pieces (ClusterKV clusters the second
     * on its own), so only an exact hit must print what the first run printed: from the saved index and logits.
     */
    @Test
    void anExactHitUnderClusterKVPrintsWhatTheFirstRunPrinted(@TempDir Path dir) {
        String[] opts = {"--prompt-cache", dir.resolve("c.session").toString(), "--kv-policy", "clusterkv", "--kv-budget", "32", "--dense-layers", "0"};
        BadInputTest.Outcome first = generate(PROMPT, opts);
        BadInputTest.Outcome second = generate(PROMPT, opts);
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().matches("(?s).*prompt cache: (\\d+) of the prompt's \\1 tokens reused.*"), second.err());
        assertEquals(first.out(), second.out());
    }

    @Test
    void aFileInUseIsRefused(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("busy.session");
        try (SessionLock held = SessionLock.acquire(cache)) {
            BadInputTest.Outcome o = generate(PROMPT, "--prompt-cache", cache.toString());
            assertEquals(1, o.code());
            assertTrue(o.err().contains("is in use by another process"), o.err());
        }
        assertTrue(generate(PROMPT, "--prompt-cache", cache.toString()).code() == 0, "free once let go");
    }

    @Test
    void aFileMadeWithOtherOptionsIsRefusedInOneLine(@TempDir Path dir) {
        String cache = dir.resolve("o.session").toString();
        assertEquals(0, generate(PROMPT, "--prompt-cache", cache).code());
        BadInputTest.Outcome o = generate(PROMPT, "--prompt-cache", cache, "--kv-type", "q8_0");
        assertEquals(1, o.code());
        assertTrue(o.err().strip().startsWith("error: " + cache + " holds a KV cache of keys/values f16/f16"), o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
    }
}
