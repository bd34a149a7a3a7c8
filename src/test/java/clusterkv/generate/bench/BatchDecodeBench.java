package clusterkv.generate.bench;

import clusterkv.generate.BatchDecoder;
import clusterkv.generate.Generation;
import clusterkv.generate.GenerationOptions;
import clusterkv.generate.LanguageModel;
import clusterkv.generate.Session;
import clusterkv.generate.SessionOptions;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decode throughput of n concurrent sequences as the server's scheduler runs them: one token for every sequence
 * per round, either each sequence on its own (a forward pass per sequence, as before batching) or all in one
 * {@link BatchDecoder} pass. Not a unit test: run it on the test classpath, e.g.
 * <pre>
 *   mvn -q -DbuildDir=/tmp/build -DskipTests package
 *   java --add-modules jdk.incubator.vector -jar /tmp/build/clusterkv.jar synth --shape llama-3.2-1b --type q8_0 -o /tmp/l1b.gguf
 *   java --add-modules jdk.incubator.vector -cp /tmp/build/clusterkv.jar:/tmp/build/test-classes \
 *        clusterkv.generate.bench.BatchDecodeBench /tmp/l1b.gguf [tokens per sequence, 32] [n list, 1,2,4] [repeats, 3]
 * </pre>
 * Prints, per repeat, n, each mode's aggregate tokens/s (generated tokens of all sequences / wall time of the
 * decode loop) and the ratio.
 */
public final class BatchDecodeBench {

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int[] counts = Arrays.stream((args.length > 2 ? args[2] : "1,2,4").split(",")).mapToInt(Integer::parseInt).toArray();
        int repeats = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        try (LanguageModel lm = LanguageModel.load(model)) {
            int most = Arrays.stream(counts).max().orElse(1);
            run(lm, most, 4, false); // JIT warm-up and the decode layouts of the weights
            run(lm, most, 4, true);
            for (int rep = 0; rep < repeats; rep++) {
                for (int n : counts) {
                    double alone = run(lm, n, tokens, false);
                    double batched = run(lm, n, tokens, true);
                    System.out.printf("repeat %d  n=%d  one at a time %6.2f tok/s  batched %6.2f tok/s  x%.2f%n", rep, n, alone, batched, batched / alone);
                }
            }
        }
    }

    /** n sessions with prompts of different lengths generate `tokens` greedy tokens each; returns tokens/s over all. */
    static double run(LanguageModel lm, int n, int tokens, boolean batched) {
        List<Session> sessions = new ArrayList<>();
        List<Generation> generations = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                Session s = lm.newSession(SessionOptions.defaults().withContextSize(512));
                s.append(lm.tokenizer().encode("Story " + i + ": " + "once upon a time ".repeat(1 + 2 * i), true, false), null);
                sessions.add(s);
                generations.add(s.startGeneration(GenerationOptions.greedy(tokens)));
            }
            BatchDecoder decoder = new BatchDecoder(lm, n);
            long t0 = System.nanoTime();
            while (generations.stream().anyMatch(g -> !g.finished())) {
                if (batched) batchedRound(decoder, sessions, generations);
                else for (Generation g : generations) if (!g.finished()) g.step();
            }
            double seconds = (System.nanoTime() - t0) * 1e-9;
            return generations.stream().mapToInt(Generation::generatedTokens).sum() / seconds;
        } finally {
            sessions.forEach(Session::close);
        }
    }

    /** The scheduler's decode round: every generation chooses its token, one pass feeds them all, each accepts. */
    private static void batchedRound(BatchDecoder decoder, List<Session> sessions, List<Generation> generations) {
        List<Session> batch = new ArrayList<>();
        List<Generation> feeding = new ArrayList<>();
        int[] next = new int[sessions.size()];
        for (int i = 0; i < sessions.size(); i++) {
            Generation g = generations.get(i);
            if (g.finished()) continue;
            int token = g.chooseNext();
            if (token < 0) continue;
            next[batch.size()] = token;
            batch.add(sessions.get(i));
            feeding.add(g);
        }
        if (batch.isEmpty()) return;
        decoder.feed(batch, next);
        feeding.forEach(Generation::acceptFed);
    }
}
