package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fact retrieval inside real text: sentences " The secret number of NAME is NNNNN." at random depths in a
 * corpus passage, then the query " The secret number of NAME is" about one of them. Accuracy = the five
 * digits produced exactly by greedy decoding. This is the format ckv-tiny-2k was trained on.
 *
 * <p>Two RULER-style variants share the haystack: multi-value (each name holds several numbers, " The secret numbers
 * of NAME are N1, N2, N3.", and all must come back in order) and multi-query (every fact is asked in turn, each
 * answer scored; {@link MultiQueryEval}).
 */
public final class FactsTask {

    static final List<String> NAMES = List.of("Anna", "Boris", "Natasha", "Pierre", "Andrew", "Mary", "Nicholas",
            "Sonya", "Denisov", "Dolokhov", "Helene", "Vasili", "Petya", "Julie", "Hippolyte", "Kutuzov");

    private FactsTask() {}

    /**
     * A haystack with facts hidden in it, before any query: the prompt's tokens, and per fact (in the order drawn)
     * its name, its answer (the numbers, ", "-separated), the query that asks for it, its first token and depth.
     */
    record Prompt(int[] tokens, String[] names, String[] answers, int[][] queries, int[] starts, double[] depths, int asked) {}

    /**
     * @param corpus the haystack text (e.g. War and Peace); a passage starting at a seeded offset is used
     * @param facts  how many facts to hide (distinct names)
     */
    public static RetrievalCase generate(Tokenizer tok, String corpus, int contextTokens, int facts, long seed) {
        return generate(tok, corpus, contextTokens, facts, 1, seed);
    }

    /** As {@link #generate(Tokenizer, String, int, int, long)} with {@code values} numbers per fact (the multi-value task). */
    public static RetrievalCase generate(Tokenizer tok, String corpus, int contextTokens, int facts, int values, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Prompt p = hide(tok, corpus, contextTokens, facts, values, 1, rnd);
        int asked = p.asked();
        int[] ids = Arrays.copyOf(p.tokens(), p.tokens().length + p.queries()[asked].length);
        System.arraycopy(p.queries()[asked], 0, ids, p.tokens().length, p.queries()[asked].length);
        return new RetrievalCase(values == 1 ? "facts" : "multivalue", ids, p.answers()[asked], p.starts()[asked], p.depths()[asked], seed);
    }

    /**
     * Hides {@code facts} facts of {@code values} numbers each in a corpus passage that leaves room for
     * {@code queries} queries and their answers within contextTokens, and draws the fact a single query asks
     * about. (The draws come in the order the facts task always made them, so that its prompts stay the same.)
     */
    static Prompt hide(Tokenizer tok, String corpus, int contextTokens, int facts, int values, int queries, SplittableRandom rnd) {
        if (facts < 1 || facts > NAMES.size()) throw new IllegalArgumentException("facts must be in [1, " + NAMES.size() + "]");
        if (values < 1) throw new IllegalArgumentException("values must be >= 1, got " + values);
        List<String> names = new ArrayList<>(NAMES);
        int[][] needles = new int[facts][], askedBy = new int[facts][];
        String[] answers = new String[facts];
        String[] chosen = new String[facts];
        for (int i = 0; i < facts; i++) {
            chosen[i] = names.remove(rnd.nextInt(names.size()));
            String[] numbers = new String[values];
            for (int v = 0; v < values; v++) numbers[v] = String.format("%05d", rnd.nextInt(100000));
            answers[i] = String.join(", ", numbers);
            String subject = values == 1 ? " The secret number of " + chosen[i] + " is" : " The secret numbers of " + chosen[i] + " are";
            needles[i] = tok.encode(subject + " " + answers[i] + ".", false, false);
            askedBy[i] = tok.encode(subject, false, false);
        }
        int asked = rnd.nextInt(facts);
        double[] depths = new double[facts];
        for (int i = 0; i < facts; i++) depths[i] = rnd.nextDouble();
        int[] order = Haystack.sortedOrder(depths);
        int needleTokens = Arrays.stream(needles).mapToInt(n -> n.length).sum();
        int moreRoom = (queries - 1) * (askedBy[0].length + 8 * values) + (values - 1) * 8; // 0 for the facts task
        int room = contextTokens - needleTokens - askedBy[asked].length - 1 - 8 - moreRoom;
        if (room < 16) throw new IllegalArgumentException("context " + contextTokens + " is too short for the facts task");
        List<int[]> haystack = Haystack.fill(tok, Corpus.sentences(corpus, rnd.nextInt(Math.max(1, corpus.length())), room * 8), room);
        Haystack.trim(haystack, room);
        int[][] sortedNeedles = new int[facts][];
        double[] sortedDepths = new double[facts];
        for (int i = 0; i < facts; i++) {
            sortedNeedles[i] = needles[order[i]];
            sortedDepths[i] = depths[order[i]];
        }
        int[] sortedStarts = new int[facts];
        int[] ids = Haystack.assemble(tok, haystack, sortedNeedles, sortedDepths, new int[0], sortedStarts);
        int[] starts = new int[facts];
        for (int i = 0; i < facts; i++) starts[order[i]] = sortedStarts[i];
        return new Prompt(ids, chosen, answers, askedBy, starts, depths, asked);
    }
}
