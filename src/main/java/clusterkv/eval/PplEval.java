package clusterkv.eval;

import clusterkv.generate.Perplexity;
import clusterkv.generate.SessionOptions;
import clusterkv.kv.KVStats;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Perplexity under sparse decoding, exactly {@code perplexity --kv-policy}: one llama.cpp chunk of
 * {@code context} tokens per sample, first half prefilled with full attention, second half decoded through
 * the policy and scored. Chunks come from the last tenth of the corpus (held out from ckv-tiny-2k's training),
 * sample i being the i-th chunk there.
 */
final class PplEval implements EvalTask {

    /** The corpus tail used, as a fraction of the text. */
    static final double HELD_OUT = 0.1;

    private final Map<String, int[]> tokenized = new HashMap<>();

    @Override public String name() { return "ppl"; }
    @Override public boolean isPerplexity() { return true; }

    @Override
    public Outcome run(EvalContext context, EvalCase c) {
        int[] ids = heldOutTokens(context);
        int chunks = ids.length / c.context();
        if (chunks == 0) {
            throw new IllegalArgumentException("the corpus's last tenth has " + ids.length + " tokens, fewer than one chunk of " + c.context());
        }
        int from = (c.sample() % chunks) * c.context();
        SessionOptions options = context.options(c);
        KVStats stats = context.newStats(options);
        Perplexity.Result r = Perplexity.compute(context.lm(), Arrays.copyOfRange(ids, from, from + c.context()), options, null, stats);
        return new Outcome(r.ppl(), r.scored(), Math.log(r.ppl()), stats == null ? null : stats.toMap(),
                "chunk " + (c.sample() % chunks) + " of the held-out tail");
    }

    private synchronized int[] heldOutTokens(EvalContext context) {
        String text = context.requireCorpus("ppl");
        return tokenized.computeIfAbsent(text.length() + ":" + text.hashCode(), k -> context.lm().tokenizer().encode(
                Corpus.tail(text, HELD_OUT), true, false));
    }
}
