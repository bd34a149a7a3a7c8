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
 */
public final class FactsTask {

    static final List<String> NAMES = List.of("Anna", "Boris", "Natasha", "Pierre", "Andrew", "Mary", "Nicholas",
            "Sonya", "Denisov", "Dolokhov", "Helene", "Vasili", "Petya", "Julie", "Hippolyte", "Kutuzov");

    private FactsTask() {}

    /**
     * @param corpus the haystack text (e.g. War and Peace); a passage starting at a seeded offset is used
     * @param facts  how many facts to hide (distinct names)
     */
    public static RetrievalCase generate(Tokenizer tok, String corpus, int contextTokens, int facts, long seed) {
        if (facts < 1 || facts > NAMES.size()) throw new IllegalArgumentException("facts must be in [1, " + NAMES.size() + "]");
        SplittableRandom rnd = new SplittableRandom(seed);
        List<String> names = new ArrayList<>(NAMES);
        int[][] needles = new int[facts][];
        String[] numbers = new String[facts];
        String[] chosen = new String[facts];
        for (int i = 0; i < facts; i++) {
            chosen[i] = names.remove(rnd.nextInt(names.size()));
            numbers[i] = String.format("%05d", rnd.nextInt(100000));
            needles[i] = tok.encode(" The secret number of " + chosen[i] + " is " + numbers[i] + ".", false, false);
        }
        int asked = rnd.nextInt(facts);
        int[] query = tok.encode(" The secret number of " + chosen[asked] + " is", false, false);
        double[] depths = new double[facts];
        for (int i = 0; i < facts; i++) depths[i] = rnd.nextDouble();
        int[] order = sortedOrder(depths);
        int needleTokens = Arrays.stream(needles).mapToInt(n -> n.length).sum();
        int room = contextTokens - needleTokens - query.length - 1 - 8;
        if (room < 16) throw new IllegalArgumentException("context " + contextTokens + " is too short for the facts task");
        List<int[]> haystack = Haystack.fill(tok, Corpus.sentences(corpus, rnd.nextInt(Math.max(1, corpus.length())), room * 8), room);
        Haystack.trim(haystack, room);
        int[][] sortedNeedles = new int[facts][];
        double[] sortedDepths = new double[facts];
        for (int i = 0; i < facts; i++) {
            sortedNeedles[i] = needles[order[i]];
            sortedDepths[i] = depths[order[i]];
        }
        int[] starts = new int[facts];
        int[] ids = Haystack.assemble(tok, haystack, sortedNeedles, sortedDepths, query, starts);
        int askedRank = 0;
        while (order[askedRank] != asked) askedRank++;
        return new RetrievalCase("facts", ids, numbers[asked], starts[askedRank], depths[asked], seed);
    }

    private static int[] sortedOrder(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(v[a], v[b]));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }
}
