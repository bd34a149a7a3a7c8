package clusterkv.eval;

import clusterkv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * RULER's variable tracking, in completion form: two chains of assignments hidden in real text, " VAR QX = 48213."
 * then " VAR MB = VAR QX." and so on (each chain in order, at random depths, interleaved with the other), then
 * " The value of VAR <last of one chain> is". The answer, the number at the head of that chain, is reached only by
 * following every hop back: a multi-hop retrieval whose intermediate keys are not in the question. The other chain
 * is a distractor with its own number. Scored by {@link Scoring#exactDigits}.
 */
public final class VariableTrackingTask {

    /** Assignments after the first in each chain. */
    static final int HOPS = 4;

    private VariableTrackingTask() {}

    public static RetrievalCase generate(Tokenizer tok, String corpus, int contextTokens, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Set<String> used = new HashSet<>();
        String[][] names = new String[2][HOPS + 1];
        String[] values = new String[2];
        List<int[]> needles = new ArrayList<>();
        List<Double> depths = new ArrayList<>();
        for (int chain = 0; chain < 2; chain++) {
            values[chain] = String.format("%05d", rnd.nextInt(100000));
            double[] at = rnd.doubles(HOPS + 1).sorted().toArray(); // a chain is assigned in order
            for (int hop = 0; hop <= HOPS; hop++) {
                names[chain][hop] = newName(rnd, used);
                String rhs = hop == 0 ? values[chain] : "VAR " + names[chain][hop - 1];
                needles.add(tok.encode(" VAR " + names[chain][hop] + " = " + rhs + ".", false, false));
                depths.add(at[hop]);
            }
        }
        int asked = rnd.nextInt(2);
        int[] query = tok.encode(" The value of VAR " + names[asked][HOPS] + " is", false, false);
        int[] order = Haystack.sortedOrder(depths.stream().mapToDouble(Double::doubleValue).toArray());
        int[][] sortedNeedles = new int[order.length][];
        double[] sortedDepths = new double[order.length];
        for (int i = 0; i < order.length; i++) {
            sortedNeedles[i] = needles.get(order[i]);
            sortedDepths[i] = depths.get(order[i]);
        }
        int needleTokens = needles.stream().mapToInt(n -> n.length).sum();
        int room = contextTokens - needleTokens - query.length - 1 - 8;
        if (room < 16) throw new IllegalArgumentException("context " + contextTokens + " is too short for the variables task");
        List<int[]> haystack = Haystack.fill(tok, Corpus.sentences(corpus, rnd.nextInt(Math.max(1, corpus.length())), room * 8), room);
        Haystack.trim(haystack, room);
        int[] starts = new int[order.length];
        int[] ids = Haystack.assemble(tok, haystack, sortedNeedles, sortedDepths, query, starts);
        int head = 0; // where the asked chain's first assignment went
        while (order[head] != asked * (HOPS + 1)) head++;
        return new RetrievalCase("variables", ids, values[asked], starts[head], sortedDepths[head], seed);
    }

    /** Two capital letters, distinct from every name drawn so far. */
    private static String newName(SplittableRandom rnd, Set<String> used) {
        while (true) {
            String n = "" + (char) ('A' + rnd.nextInt(26)) + (char) ('A' + rnd.nextInt(26));
            if (used.add(n)) return n;
        }
    }
}
