package clusterkv.eval;

import java.util.Arrays;

import clusterkv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds prompts in token space, so that the length and the needle's depth are exact: a haystack of
 * whole sentences (each tokenized on its own, with a leading space) is cut to length and the needles
 * are inserted at sentence boundaries nearest to the requested depths.
 */
final class Haystack {

    private Haystack() {}

    /** Sentence token lists, cycling through {@code sentences} until {@code tokens} are reached. */
    static List<int[]> fill(Tokenizer tok, List<String> sentences, int tokens) {
        if (sentences.isEmpty()) throw new IllegalArgumentException("no haystack sentences");
        List<int[]> out = new ArrayList<>();
        int total = 0;
        for (int i = 0; total < tokens; i++) {
            int[] ids = tok.encode(" " + sentences.get(i % sentences.size()).strip(), false, false);
            if (ids.length == 0) continue;
            out.add(ids);
            total += ids.length;
            if (i > 10 * tokens + sentences.size()) throw new IllegalStateException("haystack does not grow");
        }
        return out;
    }

    /**
     * Concatenates BOS (if wanted), the haystack sentences with each needle inserted before the sentence
     * at its depth (depths in [0, 1], ascending), and the query; returns the ids and each needle's start.
     */
    static int[] assemble(Tokenizer tok, List<int[]> haystack, int[][] needles, double[] depths, int[] query, int[] needleStarts) {
        int haystackTokens = 0;
        for (int[] s : haystack) haystackTokens += s.length;
        List<Integer> ids = new ArrayList<>();
        if (tok.addBos() && tok.bos() >= 0) ids.add(tok.bos());
        int next = 0, seen = 0;
        for (int[] sentence : haystack) {
            while (next < needles.length && seen >= depths[next] * haystackTokens) {
                needleStarts[next] = ids.size();
                for (int t : needles[next++]) ids.add(t);
            }
            for (int t : sentence) ids.add(t);
            seen += sentence.length;
        }
        while (next < needles.length) {
            needleStarts[next] = ids.size();
            for (int t : needles[next++]) ids.add(t);
        }
        for (int t : query) ids.add(t);
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Drops whole sentences from the end until the haystack holds at most {@code tokens}. */
    static void trim(List<int[]> haystack, int tokens) {
        int total = 0;
        for (int[] s : haystack) total += s.length;
        while (total > tokens && !haystack.isEmpty()) total -= haystack.removeLast().length;
    }

    /** The indices of v in ascending order of value (needles in the order of their depths). */
    static int[] sortedOrder(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(v[a], v[b]));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }
}
