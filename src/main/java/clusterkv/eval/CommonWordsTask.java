package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * RULER's common words extraction, in completion form: a numbered list of words drawn from the corpus, in which
 * {@link #COMMON} words appear many times each and every other word once, then " The most common words in the list
 * are:". An aggregation task: the answer depends on counting over the whole list, which top-k selection is known to
 * lose (MagicPIG). Scored by the share of the common words the answer names ({@link Scoring#wordRecall}).
 */
public final class CommonWordsTask {

    static final int COMMON = 10;

    private CommonWordsTask() {}

    public static RetrievalCase generate(Tokenizer tok, String corpus, int contextTokens, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> words = distinctWords(corpus, rnd);
        int[] query = tok.encode(" The most common words in the list are:", false, false);
        int perEntry = tok.encode(" 100. " + words.getFirst(), false, false).length + 1; // a generous estimate
        int entries = (contextTokens - query.length - 1 - 16) / perEntry;
        int repeats = Math.max(3, entries / (4 * COMMON)); // the common words take about a quarter of the list
        int rare = entries - COMMON * repeats;
        if (rare < COMMON || words.size() < COMMON + rare) throw new IllegalArgumentException("context " + contextTokens + " is too short for the commonwords task");
        List<String> common = words.subList(0, COMMON);
        List<String> list = new ArrayList<>();
        for (String w : common) for (int r = 0; r < repeats; r++) list.add(w);
        list.addAll(words.subList(COMMON, COMMON + rare));
        Collections.shuffle(list, new java.util.Random(rnd.nextLong()));
        StringBuilder text = new StringBuilder(" Below is a numbered list of words.");
        for (int i = 0; i < list.size(); i++) text.append(' ').append(i + 1).append(". ").append(list.get(i));
        int[] body = tok.encode(text.toString(), false, false);
        List<Integer> ids = new ArrayList<>();
        if (tok.addBos() && tok.bos() >= 0) ids.add(tok.bos());
        for (int t : body) ids.add(t);
        for (int t : query) ids.add(t);
        if (ids.size() > contextTokens - 16) throw new IllegalArgumentException("context " + contextTokens + " is too short for the commonwords task");
        return new RetrievalCase("commonwords", ids.stream().mapToInt(Integer::intValue).toArray(), String.join(", ", common), 0, 0, seed);
    }

    /** Lower-case words of 4 to 10 letters from a seeded part of the corpus, each once, in a seeded order. */
    private static List<String> distinctWords(String corpus, SplittableRandom rnd) {
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        int start = rnd.nextInt(Math.max(1, corpus.length()));
        String text = corpus.substring(start) + " " + corpus.substring(0, start);
        for (String w : text.split("[^A-Za-z]+")) {
            if (w.length() >= 4 && w.length() <= 10) seen.add(w.toLowerCase(Locale.ROOT));
            if (seen.size() >= 4000) break;
        }
        List<String> out = new ArrayList<>(seen);
        Collections.shuffle(out, new java.util.Random(rnd.nextLong()));
        return out;
    }
}
