package clusterkv.eval;

import clusterkv.chat.ChatTemplate;
import clusterkv.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/** The niah and copy generators, grid cases and shards. */
class EvalGeneratorsTest {

    private static final String CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
            + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    private static Tokenizer tok;
    private static String corpus;

    @BeforeAll
    static void load() throws Exception {
        tok = EvalFixtures.tokenizer();
        corpus = EvalFixtures.corpus(300_000);
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, 0.25, 0.5, 0.75, 1})
    void niahNeedleSitsAtTheRequestedDepthInsideTheChatTemplate(double depth) {
        RetrievalCase c = NiahTask.generate(tok, ChatTemplate.of(CHATML, "", ""), corpus, 1024, depth, 3);
        int n = c.tokens().length;
        assertTrue(n <= 1024 - NiahTask.ANSWER_ROOM && n > 850, "fills the context, leaving room for the answer: " + n);
        String text = tok.decode(c.tokens());
        assertTrue(text.contains("<|im_start|>user\n"), "wrapped in the template");
        assertTrue(text.endsWith("Answer with the number only.<|im_end|>\n<|im_start|>assistant\n"), text.substring(text.length() - 80));
        assertEquals(1, EvalFixtures.count(text, "The special magic number for"), "one needle");
        assertTrue(text.contains(" is " + c.answer() + "."), "the needle holds the answer");
        assertEquals(7, c.answer().length());
        // the needle's token position, measured independently of the generator, is at the requested depth
        int userStart = text.indexOf("user\n") + 5, questionStart = text.indexOf("\n\nWhat is the special magic number");
        int needleAt = text.indexOf("The special magic number for");
        int needleLength = text.indexOf('.', needleAt) + 2 - needleAt;
        double measured = (needleAt - userStart) / (double) (questionStart - userStart - needleLength);
        assertEquals(c.depth(), measured, 0.01, "the reported depth is where the needle is");
        // needles go between sentences: the nearest boundary is at most half the longest sentence away
        String haystack = text.substring(userStart, questionStart);
        int longest = Arrays.stream(haystack.split("(?<=[.!?]) ")).mapToInt(String::length).max().orElseThrow();
        assertEquals(depth, measured, 0.5 * longest / (double) (haystack.length() - needleLength) + 0.005, "depth in characters of the haystack");
        String atNeedle = tok.decode(Arrays.copyOfRange(c.tokens(), c.needleStart(), c.needleStart() + 12));
        assertTrue(atNeedle.strip().startsWith("The special"), atNeedle);
    }

    @Test
    void niahIsDeterministicUnderASeed() {
        ChatTemplate t = ChatTemplate.of(null, "", "");
        assertArrayEquals(NiahTask.generate(tok, t, corpus, 512, 0.5, 9).tokens(), NiahTask.generate(tok, t, corpus, 512, 0.5, 9).tokens());
        assertFalse(Arrays.equals(NiahTask.generate(tok, t, corpus, 512, 0.5, 9).tokens(), NiahTask.generate(tok, t, corpus, 512, 0.5, 10).tokens()));
    }

    @ParameterizedTest
    @ValueSource(ints = {256, 1024, 2048, 4096})
    void copyRepeatsAnEarlyPassageAtTheEnd(int context) {
        CopyTask c = CopyTask.generate(tok, corpus, context, 5);
        int[] ids = c.tokens();
        assertEquals(context, ids.length, "exactly the context");
        assertEquals(tok.bos(), ids[0]);
        assertEquals(Math.clamp(context / 16, 32, 128), c.passageLength());
        assertEquals(context - c.passageLength(), c.copyStart(), "the repeat ends the context");
        assertArrayEquals(Arrays.copyOfRange(ids, c.firstStart(), c.firstStart() + c.passageLength()), Arrays.copyOfRange(ids, c.copyStart(), context));
        assertEquals(0.05, c.firstStart() / (double) context, 0.01, "early in the context");
        assertTrue(c.copyStart() - c.firstStart() > context / 2, "far from its repeat");
        assertArrayEquals(ids, CopyTask.generate(tok, corpus, context, 5).tokens(), "deterministic");
        assertFalse(Arrays.equals(ids, CopyTask.generate(tok, corpus, context, 6).tokens()));
    }

    @Test
    void containsPhraseScoring() {
        assertEquals(1, Scoring.containsPhrase("The number is 1234567.", "1234567"));
        assertEquals(0, Scoring.containsPhrase("The number is 123456.", "1234567"));
        assertEquals(1, Scoring.containsPhrase("DOLORES park", "Dolores Park"));
    }

    @Test
    void gridRunsFullOncePerPromptAndShardsPartitionIt() {
        EvalGrid grid = new EvalGrid(java.util.List.of("passkey", "copy"), java.util.List.of("full", "clusterkv", "quest"),
                java.util.List.of(64, 128), java.util.List.of(512, 1024), java.util.List.of(0.0, 1.0), 3);
        var cases = grid.cases();
        // passkey: 2 contexts × 2 depths × 3 samples × (1 full + 2 policies × 2 budgets); copy: no depths
        assertEquals(2 * 2 * 3 * 5 + 2 * 3 * 5, cases.size());
        assertEquals(cases.size(), cases.stream().map(EvalCase::key).distinct().count(), "keys are unique");
        var a = EvalGrid.shard(cases, 1, 3);
        var b = EvalGrid.shard(cases, 2, 3);
        var c = EvalGrid.shard(cases, 3, 3);
        assertEquals(cases.size(), a.size() + b.size() + c.size());
        var union = new java.util.HashSet<EvalCase>(a);
        union.addAll(b);
        union.addAll(c);
        assertEquals(new java.util.HashSet<>(cases), union);
        assertThrows(IllegalArgumentException.class, () -> EvalGrid.shard(cases, 4, 3));
        assertThrows(IllegalArgumentException.class, () -> new EvalGrid(java.util.List.of("nope"), java.util.List.of("full"),
                java.util.List.of(64), java.util.List.of(512), java.util.List.of(0.5), 1));
    }

    @Test
    void everyPolicyAndBudgetSeesTheSamePrompt() {
        EvalCase a = new EvalCase("passkey", "full", 0, 1024, 0.5, 2), b = new EvalCase("passkey", "quest", 256, 1024, 0.5, 2);
        assertEquals(a.promptSeed(1), b.promptSeed(1));
        assertNotEquals(a.promptSeed(1), new EvalCase("passkey", "full", 0, 1024, 0.5, 3).promptSeed(1));
        assertNotEquals(a.promptSeed(1), a.promptSeed(2));
    }

}
