package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The retrieval generators: deterministic under a seed, exact lengths, needles where asked, and scoring. */
class RetrievalTasksTest {

    private static Tokenizer tok;
    private static String corpus;

    @BeforeAll
    static void load() throws Exception {
        tok = EvalFixtures.tokenizer();
        corpus = EvalFixtures.corpus(400_000);
    }

    @ParameterizedTest
    @ValueSource(doubles = {0, 0.25, 0.5, 0.75, 1})
    void passkeyNeedleSitsAtTheRequestedDepth(double depth) {
        RetrievalCase c = PasskeyTask.generate(tok, 1024, depth, 7);
        assertTrue(c.tokens().length <= 1024 - 5, "room for the answer: " + c.tokens().length);
        assertTrue(c.tokens().length > 900, "the context is filled: " + c.tokens().length);
        assertEquals(tok.bos(), c.tokens()[0]);
        assertEquals(depth, c.depth(), 0.02, "placed depth");
        String needle = tok.decode(Arrays.copyOfRange(c.tokens(), c.needleStart(), c.needleStart() + 40));
        assertTrue(needle.strip().startsWith("The pass key is " + c.answer() + "."), needle);
        assertTrue(tok.decode(c.tokens()).endsWith("What is the pass key? The pass key is"));
        assertEquals(1, EvalFixtures.count(tok.decode(c.tokens()), "The pass key is " + c.answer()), "one needle");
    }

    @Test
    void generatorsAreDeterministicUnderASeed() {
        assertArrayEquals(PasskeyTask.generate(tok, 512, 0.3, 11).tokens(), PasskeyTask.generate(tok, 512, 0.3, 11).tokens());
        assertNotEquals(PasskeyTask.generate(tok, 512, 0.3, 11).answer(), PasskeyTask.generate(tok, 512, 0.3, 12).answer());
        assertArrayEquals(FactsTask.generate(tok, corpus, 2048, 3, 5).tokens(), FactsTask.generate(tok, corpus, 2048, 3, 5).tokens());
        assertFalse(Arrays.equals(FactsTask.generate(tok, corpus, 2048, 3, 5).tokens(), FactsTask.generate(tok, corpus, 2048, 3, 6).tokens()));
    }

    @Test
    void factsHideEachNumberOnceAndAskForOneOfThem() {
        for (long seed = 0; seed < 5; seed++) {
            RetrievalCase c = FactsTask.generate(tok, corpus, 2048, 3, seed);
            assertTrue(c.tokens().length <= 2048 - 5 && c.tokens().length > 1800, "length " + c.tokens().length);
            String text = tok.decode(c.tokens());
            Matcher m = Pattern.compile("The secret number of (\\w+) is$").matcher(text);
            assertTrue(m.find(), "ends with the query: ..." + text.substring(text.length() - 60));
            String name = m.group(1);
            assertEquals(1, EvalFixtures.count(text, "The secret number of " + name + " is " + c.answer() + "."), "the asked fact, once");
            assertEquals(4, EvalFixtures.count(text, "The secret number of "), "three facts and the query");
            String atNeedle = tok.decode(Arrays.copyOfRange(c.tokens(), c.needleStart(), c.needleStart() + 40));
            assertTrue(atNeedle.strip().startsWith("The secret number of " + name), atNeedle);
        }
    }

    @Test
    void multiValueFactsHoldSeveralNumbersAndAllAreTheAnswer() {
        for (long seed = 0; seed < 5; seed++) {
            RetrievalCase c = FactsTask.generate(tok, corpus, 2048, 4, 3, seed);
            assertTrue(c.tokens().length <= 2048 - 3 * 8 && c.tokens().length > 1700, "room for the answer: " + c.tokens().length);
            String text = tok.decode(c.tokens());
            Matcher m = Pattern.compile("The secret numbers of (\\w+) are$").matcher(text);
            assertTrue(m.find(), "ends with the query: ..." + text.substring(text.length() - 60));
            assertTrue(c.answer().matches("\\d{5}, \\d{5}, \\d{5}"), c.answer());
            assertEquals(1, EvalFixtures.count(text, "The secret numbers of " + m.group(1) + " are " + c.answer() + "."), "the asked fact, once");
            assertEquals(5, EvalFixtures.count(text, "The secret numbers of "), "four facts and the query");
        }
    }

    @Test
    void multiQueryPromptsHideEveryFactWithRoomToAskThemAll() {
        FactsTask.Prompt p = FactsTask.hide(tok, corpus, 2048, 4, 1, 4, new java.util.SplittableRandom(3));
        int asked = 0;
        for (int[] q : p.queries()) asked += q.length + 8;
        assertTrue(p.tokens().length + asked <= 2048 && p.tokens().length > 1700, "length " + p.tokens().length);
        String text = tok.decode(p.tokens());
        for (int f = 0; f < 4; f++) {
            assertEquals(1, EvalFixtures.count(text, "The secret number of " + p.names()[f] + " is " + p.answers()[f] + "."), "fact " + f);
            assertEquals(" The secret number of " + p.names()[f] + " is", tok.decode(p.queries()[f]));
            String atNeedle = tok.decode(Arrays.copyOfRange(p.tokens(), p.starts()[f], p.starts()[f] + 30));
            assertTrue(atNeedle.strip().startsWith("The secret number of " + p.names()[f]), atNeedle);
        }
    }

    @Test
    void allNumbersScoring() {
        assertEquals(1, Scoring.allNumbers(" 12345, 67890, 24680. The", "12345, 67890, 24680"));
        assertEquals(1, Scoring.allNumbers("12345,67890 24680", "12345, 67890, 24680"));
        assertEquals(0, Scoring.allNumbers(" 12345, 67890.", "12345, 67890, 24680"), "one missing");
        assertEquals(0, Scoring.allNumbers(" 12345, 24680, 67890", "12345, 67890, 24680"), "out of order");
        assertEquals(0, Scoring.allNumbers(" 12345, and 67890, 24680", "12345, 67890, 24680"), "words between");
        assertEquals(0, Scoring.allNumbers(" x 12345, 67890, 24680", "12345, 67890, 24680"), "the answer must come first");
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> PasskeyTask.generate(tok, 1024, 1.5, 1));
        assertThrows(IllegalArgumentException.class, () -> PasskeyTask.generate(tok, 20, 0.5, 1));
        assertThrows(IllegalArgumentException.class, () -> FactsTask.generate(tok, corpus, 1024, 0, 1));
    }

    @Test
    void exactDigitsScoring() {
        assertEquals(1, Scoring.exactDigits(" 12345. Remember", "12345"));
        assertEquals(1, Scoring.exactDigits("12345", "12345"));
        assertEquals(0, Scoring.exactDigits(" 123456", "12345"), "extra digits");
        assertEquals(0, Scoring.exactDigits(" 1234", "12345"));
        assertEquals(0, Scoring.exactDigits(" is 12345", "12345"), "the number must come first");
        assertEquals(0, Scoring.exactDigits("", "12345"));
    }

}
