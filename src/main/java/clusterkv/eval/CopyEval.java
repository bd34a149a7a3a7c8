package clusterkv.eval;

import clusterkv.generate.Perplexity;
import clusterkv.generate.Sampler;
import clusterkv.generate.Session;

import java.util.Arrays;

/**
 * The copy task, teacher-forced: everything up to the repeat's first token is prefilled, then the repeat is
 * fed one token at a time through the policy, scoring each next-token prediction (argmax accuracy and NLL).
 */
final class CopyEval implements EvalTask {

    @Override public String name() { return "copy"; }

    @Override
    public Outcome run(EvalContext context, EvalCase c) {
        CopyTask task = CopyTask.generate(context.lm().tokenizer(), context.requireCorpus("copy"), c.context(), c.promptSeed(context.seed()));
        int[] ids = task.tokens();
        int vocab = context.lm().config().vocabSize();
        try (EvalContext.Probed probed = context.open(c)) {
            Session session = probed.session();
            session.append(Arrays.copyOf(ids, task.copyStart() + 1), null);
            int correct = 0;
            double nll = 0;
            int predictions = 0;
            for (int i = task.copyStart() + 1; i < ids.length; i++) {
                float[] logits = session.logits();
                if (Sampler.argmax(logits) == ids[i]) correct++;
                nll -= Perplexity.logSoftmax(logits, 0, vocab, ids[i]);
                predictions++;
                if (i + 1 < ids.length) session.append(new int[]{ids[i]}, null);
            }
            return new Outcome(correct / (double) predictions, predictions, nll / predictions, probed.statsMap(),
                    correct + "/" + predictions + " tokens of the repeat predicted");
        }
    }
}
