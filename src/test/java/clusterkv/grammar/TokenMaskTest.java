package clusterkv.grammar;

import clusterkv.gguf.GGUFFile;
import clusterkv.tokenizer.Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The masks the trie walk computes (and remembers) against brute force: every token of the vocabulary fed to the
 * match state byte by byte, allowed when the state takes all its bytes and can still be completed within the budget.
 * On an SPM vocabulary of 512 tokens and a byte-level BPE one of 102,400, along random walks with shrinking budgets.
 */
class TokenMaskTest {

    @ParameterizedTest
    @ValueSource(strings = {"src/test/data/models/stories260K.gguf", "src/test/data/tokenizers/ggml-vocab-deepseek-llm.gguf"})
    void trieMasksEqualBruteForce(String vocabulary) throws Exception {
        Tokenizer tokenizer;
        try (GGUFFile f = GGUFFile.open(Path.of(vocabulary))) {
            tokenizer = Tokenizer.fromMetadata(f.metadata());
        }
        TokenTrie trie = TokenTrie.of(tokenizer);
        Random random = new Random(11);
        int steps = 0;
        for (String schema : Schemas.TEN) {
            JsonGrammar g = JsonGrammar.fromSchema(schema);
            MatchState s = g.initial();
            int budget = 12 + random.nextInt(20);
            for (int step = 0; step < 8 && s != MatchState.DONE; step++, budget--, steps++) {
                long[] mask = g.mask(s, budget, trie);
                long[] expected = bruteForce(tokenizer, s, budget);
                java.util.BitSet diff = java.util.BitSet.valueOf(expected);
                diff.xor(java.util.BitSet.valueOf(mask));
                assertArrayEquals(expected, mask, "step " + step + " of " + schema + " budget " + budget + " state min " + s.minBytes + " complete " + s.complete()
                        + ", differing " + diff.stream().limit(5).mapToObj(t -> t + "='" + new String(tokenizer.tokenBytes(t, false)) + "'").toList());
                int[] allowed = java.util.BitSet.valueOf(mask).stream().filter(t -> !tokenizer.isEndOfGeneration(t)).toArray();
                if (allowed.length == 0) break;
                s = s.advance(tokenizer.tokenBytes(allowed[random.nextInt(allowed.length)], false));
            }
        }
        assertTrue(steps > 40, "the walks went somewhere: " + steps + " steps");
    }

    private static long[] bruteForce(Tokenizer tokenizer, MatchState s, int budget) {
        long[] allowed = new long[(tokenizer.vocabSize() + 63) >>> 6];
        boolean any = false;
        for (int pass = 0; pass < 2 && !any; pass++, budget = -1) { // as generation: without the budget when nothing fits it
            for (int t = 0; t < tokenizer.vocabSize(); t++) {
                byte[] bytes = tokenizer.tokenBytes(t, false);
                if (bytes.length == 0 || tokenizer.isEndOfGeneration(t)) continue;
                MatchState n = s;
                for (int i = 0; i < bytes.length && n != null; i++) n = n == MatchState.DONE ? null : n.advance(bytes[i] & 0xFF);
                if (n != null && (budget < 0 || n.minBytes <= budget)) {
                    allowed[t >>> 6] |= 1L << t;
                    any = true;
                }
            }
        }
        if (s.complete()) for (int t = 0; t < tokenizer.vocabSize(); t++) if (tokenizer.isEndOfGeneration(t)) allowed[t >>> 6] |= 1L << t;
        return allowed;
    }
}
