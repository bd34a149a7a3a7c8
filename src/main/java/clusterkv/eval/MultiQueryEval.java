package clusterkv.eval;

import clusterkv.generate.GenerationOptions;
import clusterkv.generate.GenerationResult;
import clusterkv.generate.SamplingParams;
import clusterkv.generate.StopReason;

import java.util.List;
import java.util.SplittableRandom;

/**
 * RULER's multi-query task on the facts haystack: after the prompt, every hidden fact is asked in turn
 * (" The secret number of NAME is"), each answer decoded greedily up to its period and kept in the context before
 * the next question. Score: the share of facts answered exactly. It asks a policy to find several needles in a row,
 * each step's selection starting from what the last steps read.
 */
final class MultiQueryEval implements EvalTask {

    private final int facts;

    MultiQueryEval(int facts) {
        this.facts = facts;
    }

    @Override public String name() { return "multiquery"; }

    @Override
    public Outcome run(EvalContext context, EvalCase c) {
        SplittableRandom rnd = new SplittableRandom(c.promptSeed(context.seed()));
        FactsTask.Prompt p = FactsTask.hide(context.lm().tokenizer(), context.requireCorpus(name()), c.context(), facts, 1, facts, rnd);
        int[] order = rnd.ints(0, Integer.MAX_VALUE).limit(facts).toArray();
        Integer[] asked = new Integer[facts];
        for (int i = 0; i < facts; i++) asked[i] = i;
        java.util.Arrays.sort(asked, (a, b) -> Integer.compare(order[a], order[b]));
        try (EvalContext.Probed probed = context.open(c)) {
            probed.session().append(p.tokens(), null);
            int right = 0;
            StringBuilder detail = new StringBuilder();
            GenerationOptions answer = new GenerationOptions(8, SamplingParams.GREEDY, List.of("."));
            for (int f : asked) {
                probed.session().append(p.queries()[f], null);
                GenerationResult r = probed.session().generate(answer, text -> {});
                double score = Scoring.exactDigits(r.text(), p.answers()[f]);
                right += (int) score;
                // the period that stopped the answer is in the context already; an answer cut short gets one
                if (r.stopReason() != StopReason.STOP_STRING) probed.session().append(context.lm().tokenizer().encode(".", false, false), null);
                detail.append(detail.isEmpty() ? "" : "; ").append(p.names()[f]).append(": expected ").append(p.answers()[f])
                        .append(", got \"").append(r.text().strip().replace('\n', ' ')).append('"');
            }
            return new Outcome(right / (double) facts, 1, null, probed.statsMap(), detail.toString());
        }
    }
}
