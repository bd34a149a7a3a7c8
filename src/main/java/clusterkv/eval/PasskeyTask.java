package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Quest's passkey retrieval: a filler of repeated neutral sentences, "The pass key is NNNNN. Remember it.
 * NNNNN is the pass key." at a chosen depth, then the question. Accuracy = the digits produced exactly.
 */
public final class PasskeyTask {

    static final List<String> FILLER = List.of(
            "The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again.");
    static final String QUERY = " What is the pass key? The pass key is";

    private PasskeyTask() {}

    /** A prompt of at most {@code contextTokens} tokens (room is left for the 5-digit answer). */
    public static RetrievalCase generate(Tokenizer tok, int contextTokens, double depth, long seed) {
        if (depth < 0 || depth > 1) throw new IllegalArgumentException("depth must be in [0, 1], got " + depth);
        String key = String.format("%05d", new SplittableRandom(seed).nextInt(100000));
        int[] needle = tok.encode(" The pass key is " + key + ". Remember it. " + key + " is the pass key.", false, false);
        int[] query = tok.encode(QUERY, false, false);
        int room = contextTokens - needle.length - query.length - 1 - 8; // BOS, and the answer's tokens
        if (room < 16) throw new IllegalArgumentException("context " + contextTokens + " is too short for the passkey task");
        List<int[]> haystack = Haystack.fill(tok, FILLER, room);
        Haystack.trim(haystack, room);
        int[] starts = new int[1];
        int[] ids = Haystack.assemble(tok, haystack, new int[][]{needle}, new double[]{depth}, query, starts);
        return new RetrievalCase("passkey", ids, key, starts[0], placedDepth(ids.length - query.length, starts[0], needle.length, tok), seed);
    }

    static double placedDepth(int end, int start, int needleLength, Tokenizer tok) {
        int first = tok.addBos() && tok.bos() >= 0 ? 1 : 0;
        int haystack = end - first - needleLength;
        return haystack <= 0 ? 0 : (start - first) / (double) haystack;
    }
}
