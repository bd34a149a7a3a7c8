package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A passage of real text placed early in the context and repeated at its end (induction / copy). A model
 * that can attend back to the first occurrence predicts the repeat; a KV policy that loses it cannot.
 *
 * @param copyStart index of the repeat's first token; the repeat runs to the end of the tokens
 */
public record CopyTask(int[] tokens, int copyStart, int passageLength, int firstStart, long seed) {

    /** Where the first occurrence starts, as a fraction of the context ("early in the context"). */
    static final double FIRST_AT = 0.05;

    /** A case of exactly {@code contextTokens} tokens; the passage is 32–128 tokens (context / 16, clamped). */
    public static CopyTask generate(Tokenizer tok, String corpus, int contextTokens, long seed) {
        int passage = Math.clamp(contextTokens / 16, 32, 128);
        int bos = tok.addBos() && tok.bos() >= 0 ? 1 : 0;
        int filler = contextTokens - bos - 2 * passage;
        if (filler < 16) throw new IllegalArgumentException("context " + contextTokens + " is too short for the copy task");
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] copied = tokens(tok, corpus, rnd.nextInt(Math.max(1, corpus.length())), passage);
        int[] hay = tokens(tok, corpus, rnd.nextInt(Math.max(1, corpus.length())), filler);
        int before = Math.min(filler, (int) Math.round(FIRST_AT * contextTokens));
        int[] ids = new int[contextTokens];
        int p = 0;
        if (bos == 1) ids[p++] = tok.bos();
        System.arraycopy(hay, 0, ids, p, before);
        p += before;
        int firstStart = p;
        System.arraycopy(copied, 0, ids, p, passage);
        p += passage;
        System.arraycopy(hay, before, ids, p, filler - before);
        p += filler - before;
        System.arraycopy(copied, 0, ids, p, passage);
        return new CopyTask(ids, p, passage, firstStart, seed);
    }

    /** The first {@code n} tokens of the corpus's sentences from about {@code offset} on. */
    private static int[] tokens(Tokenizer tok, String corpus, int offset, int n) {
        List<int[]> sentences = Haystack.fill(tok, Corpus.sentences(corpus, offset, n * 8), n);
        int[] out = new int[n];
        int p = 0;
        for (int[] s : sentences) {
            int k = Math.min(s.length, n - p);
            System.arraycopy(s, 0, out, p, k);
            p += k;
            if (p == n) break;
        }
        return out;
    }
}
