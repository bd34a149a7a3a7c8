package clusterkv.tokenizer;

import clusterkv.gguf.GGUFMetadata;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small made-up vocabularies that pin down llama.cpp's rules one at a time. */
class TokenizerMetadataTest {

    //                                      0        1      2       3    4    5    6     7     8
    private static final String[] SPM_TOKENS = {"<unk>", "<s>", "</s>", "a", "b", "c", "ab", "bc", "<0x64>"};
    private static final int[] SPM_TYPES = {2, 3, 3, 1, 1, 1, 1, 1, 6};

    private static Tokenizer spm(float abScore, float bcScore) {
        float[] scores = {0, 0, 0, -1, -1, -1, abScore, bcScore, 0};
        GGUFMetadata md = TestVocabs.metadata("llama", SPM_TOKENS, scores, SPM_TYPES);
        md.putBool("tokenizer.ggml.add_space_prefix", false);
        return Tokenizer.fromMetadata(md);
    }

    @Test
    void sentencePieceMergesTheBestScoreFirst() {
        assertArrayEquals(new int[] {3, 7}, spm(1, 2).encode("abc", false, false));
        assertArrayEquals(new int[] {6, 5}, spm(2, 1).encode("abc", false, false));
    }

    @Test
    void sentencePieceBreaksScoreTiesToTheLeftAsCppComparesFloats() {
        assertArrayEquals(new int[] {6, 5}, spm(1, 1).encode("abc", false, false));
        // C++ '<' and '==' see -0.0 and 0.0 as equal, so the tie goes to the left pair here too.
        assertArrayEquals(new int[] {6, 5}, spm(-0.0f, 0.0f).encode("abc", false, false));
    }

    @Test
    void sentencePieceFallsBackToByteTokensThenToUnknown() {
        Tokenizer tok = spm(1, 1);
        assertArrayEquals(new int[] {6, 8}, tok.encode("abd", false, false));
        assertArrayEquals(new int[] {0}, tok.encode("e", false, false));
        assertEquals("abd", tok.decode(new int[] {6, 8}));
    }

    @Test
    void sentencePieceAddsBosUnlessTheFileSaysNo() {
        Tokenizer tok = spm(1, 1);
        assertTrue(tok.addBos());
        assertArrayEquals(new int[] {1, 6, 5}, tok.encode("abc", true, false));
        GGUFMetadata md = TestVocabs.metadata("llama", SPM_TOKENS, null, SPM_TYPES);
        md.putBool("tokenizer.ggml.add_bos_token", false);
        md.putBool("tokenizer.ggml.add_eos_token", true);
        md.putBool("tokenizer.ggml.add_space_prefix", false);
        Tokenizer noBos = Tokenizer.fromMetadata(md);
        assertFalse(noBos.addBos());
        assertTrue(noBos.addEos());
        assertArrayEquals(new int[] {6, 5, 2}, noBos.encode("abc", true, false));
        assertArrayEquals(new int[] {6, 5}, noBos.encode("abc", false, false));
    }

    private static Tokenizer bpe(String pre, String... merges) {
        GGUFMetadata md = TestVocabs.metadata("gpt2", new String[] {"a", "b", "c", "ab", "bc", "abc"}, null, null);
        md.putStrings("tokenizer.ggml.merges", merges);
        if (pre != null) md.putString("tokenizer.ggml.pre", pre);
        return Tokenizer.fromMetadata(md);
    }

    @Test
    void bpeMergesTheLowestRankFirst() {
        assertArrayEquals(new int[] {5}, bpe("gpt-2", "b c", "a b", "a bc").encode("abc", false, false));
        assertArrayEquals(new int[] {3, 2}, bpe("gpt-2", "a b", "b c", "a bc").encode("abc", false, false));
        assertArrayEquals(new int[] {0, 1, 2}, bpe("gpt-2").encode("abc", false, false));
    }

    @Test
    void llama3SkipsMergesForWordsThatAreTokens() {
        GGUFMetadata md = TestVocabs.metadata("gpt2", new String[] {"a", "b", "c", "ab", "bc", "abc"}, null, null);
        md.putStrings("tokenizer.ggml.merges", new String[] {"a b"});
        md.putString("tokenizer.ggml.pre", "llama-bpe");
        md.putUInt32("tokenizer.ggml.bos_token_id", 0);
        Tokenizer tok = Tokenizer.fromMetadata(md);
        assertArrayEquals(new int[] {5}, tok.encode("abc", false, false));
        assertTrue(tok.addBos(), "llama.cpp adds BOS for llama3-style BPE unless the file says otherwise");
    }

    @Test
    void bpeDoesNotAddBosByDefault() {
        Tokenizer tok = bpe("gpt-2");
        assertFalse(tok.addBos());
        assertFalse(tok.addEos());
        assertEquals(-1, tok.bos(), "llama.cpp's default BOS id 11 is outside this 6-token vocabulary");
        assertFalse(bpe(null).addBos());
    }

    @Test
    void addBosWithoutABosTokenIsRejected() {
        GGUFMetadata md = TestVocabs.metadata("gpt2", new String[] {"a", "b"}, null, null);
        md.putStrings("tokenizer.ggml.merges", new String[0]);
        md.putString("tokenizer.ggml.pre", "llama-bpe");
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromMetadata(md));
    }

    @Test
    void unknownTokenizerModelsAndPreTokenizersAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.fromMetadata(TestVocabs.metadata("bert", new String[] {"a"}, null, null)));
        assertTrue(e.getMessage().contains("'bert'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));

        e = assertThrows(IllegalArgumentException.class, () -> bpe("no-such-pre"));
        assertTrue(e.getMessage().contains("'no-such-pre'"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromMetadata(new GGUFMetadata()));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }

    @Test
    void endOfGenerationTokensAreFoundByTheirText() {
        String[] tokens = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|eot_id|>", "hello"};
        int[] types = {2, 3, 3, 3, 1, 1, 1};
        Tokenizer tok = Tokenizer.fromMetadata(TestVocabs.metadata("llama", tokens, null, types));
        assertTrue(tok.isEndOfGeneration(2), "EOS");
        assertTrue(tok.isEndOfGeneration(4));
        assertTrue(tok.isEndOfGeneration(5));
        assertFalse(tok.isEndOfGeneration(3));
        assertFalse(tok.isEndOfGeneration(6));
        assertFalse(tok.isEndOfGeneration(-1));
        assertTrue(tok.isControl(4), "llama.cpp makes end-of-turn tokens control tokens");
    }

    @Test
    void parseSpecialReadsControlTokenTexts() {
        String[] tokens = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "▁", "a", "▁a"};
        int[] types = {2, 3, 3, 3, 3, 1, 1, 1};
        float[] scores = {0, 0, 0, 0, 0, -1, -1, 0};
        Tokenizer tok = Tokenizer.fromMetadata(TestVocabs.metadata("llama", tokens, scores, types));
        // After a special token the text gets SentencePiece's leading space again.
        assertArrayEquals(new int[] {3, 7, 4}, tok.encode("<|im_start|>a<|im_end|>", false, true));
        int[] plain = tok.encode("<|im_start|>a", false, false);
        for (int id : plain) assertFalse(id == 3, "control token text must stay text without parseSpecial");
    }
}
