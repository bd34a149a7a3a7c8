package clusterkv.generate;

import clusterkv.gguf.GGMLType;
import clusterkv.kv.PolicyConfig;
import clusterkv.tensor.WeightMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The batched decode step: sessions at different lengths and KV policies fed in one pass get, row for row, the
 * logits of a twin session fed the same token alone, step after step (so their caches and policy state stay
 * those of decoding alone too). stories260K (F32, 5 layers, layers 2-4 sparse under a policy) and the synthetic
 * tiny-llama3 in Q8_0 (2 layers), whose decode kernels take as many sequences as a vector has floats (16 with
 * AVX-512, 8 with AVX2, 4 with 128-bit vectors) where F32's take 4.
 *
 * <p>Tolerance, relative to the row's largest |logit| (stories260K's are about 20, the random tiny-llama3's 200):
 * up to that many sequences the projections run the same decode kernels with the same arithmetic per token as
 * a single decode step, and once the JIT has compiled them the logits are the same floats (seen: 0). Before that
 * they may differ in the last bit of a dot product: the Vector API leaves the order in which a vector's lanes
 * are finally summed open, and the interpreter's order is not the compiled one; a key or value a last bit apart
 * can then round to a different fp16 in the KV cache (2^-11 relative) and the difference grows through the
 * layers (seen: up to 3.4e-6 in the first steps): 5e-5. Past that many sequences the projections are an fp32
 * GEMM, which sums in another order all the time: 1e-3 (seen: 1.2e-4).
 *
 * <p>Q8_0's decode kernels quantize the activations (as llama.cpp does), which turns such a last-bit difference
 * into a whole code step now and then (seen: 1.0e-3 to 1.8e-3 relative when the twins were prefilled in
 * different JIT states). So that test first runs the same workload once untested, until the JIT has compiled
 * every path, and then requires the same 5e-5.
 */
class BatchDecoderTest {

    private static final Path MODEL = Path.of("src/test/data/models/stories260K.gguf");
    private static final Path Q8_0_MODEL = Path.of("src/test/resources/llamacpp/tiny-llama3-q8_0.gguf");
    private static final PolicyConfig SMALL_BUDGET = PolicyConfig.DEFAULT.withBudget(32);

    private static LanguageModel lm;
    private static int[] text;

    @BeforeAll
    static void load() throws Exception {
        lm = LanguageModel.load(MODEL);
        text = lm.tokenizer().encode(Files.readString(Path.of("src/test/data/corpus/pg19_firstbook.txt")).substring(0, 4000), true, false);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    /** A session of the model prefilled with the first `prompt` tokens of `tokens`, under the policy (full attention when null). */
    private static Session open(LanguageModel model, int[] tokens, String policy, int prompt) {
        SessionOptions o = SessionOptions.defaults().withContextSize(512);
        Session s = model.newSession(policy == null ? o : o.withPolicy(policy, SMALL_BUDGET));
        s.append(java.util.Arrays.copyOf(tokens, prompt), null);
        return s;
    }

    private record Pair(Session batched, Session alone) {}

    /**
     * Opens each (policy, prompt length) twice, one session to decode in the batch and one alone; feeds every pair
     * `steps` further tokens (session i continues its own prompt), the batched ones in one pass per step, and
     * checks each row's logits against its twin's after every step.
     */
    private static void decodeAndCompare(LanguageModel model, int[] tokens, String[] policies, int[] prompts, int steps, double tolerance) {
        List<Pair> pairs = new ArrayList<>();
        try {
            for (int i = 0; i < policies.length; i++) {
                pairs.add(new Pair(open(model, tokens, policies[i], prompts[i]), open(model, tokens, policies[i], prompts[i])));
            }
            BatchDecoder decoder = new BatchDecoder(model, pairs.size());
            List<Session> batch = pairs.stream().map(Pair::batched).toList();
            double worst = 0;
            for (int step = 0; step < steps; step++) {
                int[] next = new int[pairs.size()];
                for (int i = 0; i < pairs.size(); i++) {
                    Pair p = pairs.get(i);
                    next[i] = tokens[p.batched.length()];
                    p.alone.feed(next[i]);
                }
                decoder.feed(batch, next);
                for (int i = 0; i < pairs.size(); i++) {
                    Pair p = pairs.get(i);
                    assertArrayEquals(p.alone.tokens(), p.batched.tokens());
                    double diff = relativeDiff(p.alone.logits(), p.batched.logits());
                    worst = Math.max(worst, diff);
                    assertTrue(diff <= tolerance, "row " + i + " at position " + (p.batched.length() - 1) + ", step " + step + ": relative difference " + diff);
                }
            }
            System.out.printf("batch of %d, %d steps: worst relative logit difference %.3g%n", pairs.size(), steps, worst);
        } finally {
            for (Pair p : pairs) {
                p.batched.close();
                p.alone.close();
            }
        }
    }

    @Test
    void eachRowGetsTheLogitsOfItsSessionDecodedAlone() {
        // full attention, and ClusterKV and Quest with a budget well below their prompts (sparse from the first step)
        decodeAndCompare(lm, text, new String[] {null, "clusterkv", null, "quest"}, new int[] {1, 150, 57, 300}, 12, 5e-5);
    }

    @Test
    void q8_0RowsUpToAVectorsFloatsGoThroughTheDecodeKernels() throws Exception {
        try (LanguageModel q8 = LanguageModel.load(Q8_0_MODEL)) {
            int[] tokens = new java.util.SplittableRandom(3).ints(400, 3, q8.config().vocabSize()).toArray();
            tokens[0] = 1; // BOS
            int most = WeightMatrix.maxDecodeTokens(GGMLType.Q8_0);
            int[] sizes = {2, 3, most - 1, most}; // pairs and fours of tokens, and the rest
            for (int pass = 0; pass < 4; pass++) { // three passes to warm the JIT up, then the checked one
                for (int n : sizes) {
                    int[] prompts = new int[n];
                    for (int i = 0; i < n; i++) prompts[i] = 1 + 23 * i;
                    decodeAndCompare(q8, tokens, new String[n], prompts, 5, pass < 3 ? Double.POSITIVE_INFINITY : 5e-5);
                }
            }
        }
    }

    @Test
    void moreSequencesThanTheDecodeKernelsTakeGoThroughGemm() {
        String[] policies = new String[10];
        int[] prompts = new int[10];
        for (int i = 0; i < 10; i++) {
            policies[i] = i % 3 == 1 ? "clusterkv" : null;
            prompts[i] = 20 + 31 * i;
        }
        decodeAndCompare(lm, text, policies, prompts, 4, 1e-3);
    }

    /** The scheduler's loop: every generation chooses, all are fed in one pass, each accepts; texts as Session.generate. */
    @Test
    void batchedGenerationsGiveTheTextsOfGeneratingAlone() {
        String[] prompts = {"Once upon a time", "The little dog", "Tom and Mia went to the park"};
        int[] maxTokens = {40, 25, 33}; // they finish at different steps and leave the batch
        List<Session> sessions = new ArrayList<>();
        List<Generation> generations = new ArrayList<>();
        List<StringBuilder> streamed = new ArrayList<>();
        try {
            for (int i = 0; i < prompts.length; i++) {
                Session s = lm.newSession(SessionOptions.defaults().withContextSize(256));
                s.append(lm.tokenizer().encode(prompts[i], true, false), null);
                sessions.add(s);
                generations.add(s.startGeneration(GenerationOptions.greedy(maxTokens[i])));
                streamed.add(new StringBuilder());
            }
            BatchDecoder decoder = new BatchDecoder(lm, prompts.length);
            for (boolean running = true; running; ) {
                List<Integer> feeding = new ArrayList<>();
                List<Session> batch = new ArrayList<>();
                int[] tokens = new int[prompts.length];
                for (int i = 0; i < prompts.length; i++) {
                    Generation g = generations.get(i);
                    if (g.finished()) continue;
                    int next = g.chooseNext();
                    if (next < 0) {
                        streamed.get(i).append(g.released());
                    } else {
                        tokens[batch.size()] = next;
                        batch.add(sessions.get(i));
                        feeding.add(i);
                    }
                }
                if (!batch.isEmpty()) decoder.feed(batch, tokens);
                for (int i : feeding) streamed.get(i).append(generations.get(i).acceptFed());
                running = generations.stream().anyMatch(g -> !g.finished());
            }
            for (int i = 0; i < prompts.length; i++) {
                try (Session alone = lm.newSession(SessionOptions.defaults().withContextSize(256))) {
                    GenerationResult r = alone.generate(prompts[i], GenerationOptions.greedy(maxTokens[i]), t -> {});
                    assertEquals(r.text(), streamed.get(i).toString(), prompts[i]);
                    assertEquals(r.text(), generations.get(i).text());
                    assertEquals(maxTokens[i], generations.get(i).generatedTokens());
                    assertEquals(StopReason.MAX_TOKENS, generations.get(i).stopReason());
                }
            }
        } finally {
            sessions.forEach(Session::close);
        }
    }

    @Test
    void aBadBatchIsRefusedBeforeAnySessionChanges() throws Exception {
        BatchDecoder decoder = new BatchDecoder(lm, 3);
        try (Session a = open(lm, text, null, 10); Session b = open(lm, text, "clusterkv", 40);
             Session full = lm.newSession(SessionOptions.defaults().withContextSize(8));
             LanguageModel other = LanguageModel.load(MODEL); Session foreign = other.newSession(SessionOptions.defaults().withContextSize(64))) {
            full.append(java.util.Arrays.copyOf(text, 8), null);
            foreign.append(java.util.Arrays.copyOf(text, 4), null);
            float[] before = a.logits().clone();
            assertThrows(IllegalArgumentException.class, () -> decoder.feed(List.of(a, b, a), new int[] {5, 6, 7}));
            assertThrows(ContextOverflowException.class, () -> decoder.feed(List.of(a, full), new int[] {5, 6}));
            assertThrows(IllegalArgumentException.class, () -> decoder.feed(List.of(a, foreign), new int[] {5, 6}));
            assertThrows(IllegalArgumentException.class, () -> decoder.feed(List.of(a, b), new int[] {5, -1}));
            assertThrows(IllegalArgumentException.class, () -> decoder.feed(List.of(a, b, full, foreign), new int[] {1, 2, 3, 4}));
            assertEquals(10, a.length());
            assertEquals(40, b.length());
            assertArrayEquals(before, a.logits());
        }
    }

    /** max |a - b| / max(1, max |a|). */
    private static double relativeDiff(float[] a, float[] b) {
        double diff = 0, scale = 1;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        return diff / scale;
    }
}
