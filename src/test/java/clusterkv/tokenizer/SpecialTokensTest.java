package clusterkv.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Special tokens in raw text, end-of-generation tokens and flags of the real vocabularies. */
class SpecialTokensTest {

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    private static boolean contains(int[] ids, int id) {
        return Arrays.stream(ids).anyMatch(x -> x == id);
    }

    @Test
    void phi3ChatMarkersAreReadOnlyWithParseSpecial() throws Exception {
        Tokenizer tok = TestVocabs.load("phi-3");
        assertEquals(32010, tok.tokenId("<|user|>"));
        assertEquals(32007, tok.tokenId("<|end|>"));
        // llama.cpp strips the whitespace after every special token of Phi-3 (its name gets it RSTRIP),
        // and the text after a special token gets SentencePiece's leading space again.
        int[] ids = tok.encode("<|user|>\nHi there<|end|>\n<|assistant|>", false, true);
        assertArrayEquals(concat(new int[] {32010}, tok.encode("Hi there", false, false), new int[] {32007, 32001}), ids);
        int[] plain = tok.encode("<|user|>\nHi there<|end|>", false, false);
        assertFalse(contains(plain, 32010) || contains(plain, 32007), Arrays.toString(plain));
    }

    @Test
    void addSpecialPutsBosFirst() throws Exception {
        Tokenizer tok = TestVocabs.load("llama-spm");
        assertTrue(tok.addBos());
        assertArrayEquals(concat(new int[] {1}, tok.encode("Hello world", false, false)), tok.encode("Hello world", true, false));
        assertArrayEquals(new int[] {1}, tok.encode("", true, false), "SentencePiece gives just BOS for empty text");
        assertArrayEquals(new int[0], tok.encode("", false, false));
    }

    @Test
    void gpt2EndOfTextIsOneTokenOnlyWhenParsed() throws Exception {
        Tokenizer tok = TestVocabs.load("gpt-2");
        assertFalse(tok.addBos());
        assertEquals(50256, tok.bos());
        assertEquals(50256, tok.eos());
        assertArrayEquals(new int[] {15496, 50256}, tok.encode("Hello<|endoftext|>", true, true));
        int[] plain = tok.encode("Hello<|endoftext|>", true, false);
        assertFalse(contains(plain, 50256));
        assertEquals("Hello<|endoftext|>", tok.decode(plain));
        assertTrue(tok.isEndOfGeneration(50256));
        assertFalse(tok.isEndOfGeneration(15496));
    }

    @Test
    void endOfGenerationFollowsLlamaCppTextRules() throws Exception {
        Tokenizer phi3 = TestVocabs.load("phi-3");
        assertTrue(phi3.isEndOfGeneration(32000)); // <|endoftext|>, the EOS
        assertTrue(phi3.isEndOfGeneration(32007)); // <|end|>
        assertTrue(phi3.isEndOfGeneration(2));     // </s>
        assertFalse(phi3.isEndOfGeneration(32010)); // <|user|>

        Tokenizer starcoder = TestVocabs.load("starcoder");
        assertTrue(starcoder.isEndOfGeneration(0)); // <|endoftext|>
        assertTrue(starcoder.isEndOfGeneration(4)); // <fim_pad>
        assertFalse(starcoder.isEndOfGeneration(1)); // <fim_prefix>

        Tokenizer deepseek = TestVocabs.load("deepseek-llm");
        assertTrue(deepseek.addBos());
        assertEquals(100000, deepseek.bos());
        assertTrue(deepseek.isEndOfGeneration(100001));
    }

    @Test
    void userDefinedTokensAreAlwaysCutOut() throws Exception {
        Tokenizer tok = TestVocabs.load("deepseek-llm");
        int u = tok.tokenId("ü");
        assertEquals(100014, u);
        assertArrayEquals(new int[] {37, u, 71, 6245}, tok.encode("Führer", false, false));
        assertEquals("Führer", tok.decode(new int[] {37, u, 71, 6245}));
    }

    @Test
    void starcoderFimMarkersParse() throws Exception {
        Tokenizer tok = TestVocabs.load("starcoder");
        int[] ids = tok.encode("<fim_prefix>def f():<fim_suffix>", false, true);
        assertEquals(1, ids[0]);
        assertEquals(3, ids[ids.length - 1]);
        assertArrayEquals(tok.encode("def f():", false, false), Arrays.copyOfRange(ids, 1, ids.length - 1));
    }
}
