package clusterkv.generate;

import clusterkv.kv.KVStats;

/**
 * Perplexity with llama.cpp's protocol (llama-perplexity): tokenize the whole text once with BOS,
 * cut it into non-overlapping chunks of n_ctx tokens (dropping the remainder), replace each chunk's
 * first token by BOS, evaluate it from an empty cache, and score only the second half: the
 * predictions of tokens n_ctx/2+1 .. n_ctx-1 from the logits at n_ctx/2 .. n_ctx-2.
 */
public final class Perplexity {

    /** @param standardError of the PPL estimate, as llama.cpp reports it */
    public record Result(double ppl, double standardError, int chunks, int scored) {}

    @FunctionalInterface
    public interface Progress {
        void chunkDone(int chunk, int chunks, double runningPpl);
    }

    private Perplexity() {}

    public static Result compute(LanguageModel lm, String text, SessionOptions options, Progress progress) {
        return compute(lm, text, options, progress, null);
    }

    /**
     * As {@link #compute(LanguageModel, String, SessionOptions, Progress)}; with stats (sparse policies only),
     * also measures the selection's fidelity and, with a full-attention session run alongside, the KL divergence
     * of each scored prediction from full attention's.
     */
    public static Result compute(LanguageModel lm, String text, SessionOptions options, Progress progress, KVStats stats) {
        return compute(lm, lm.tokenizer().encode(text, true, false), options, progress, stats);
    }

    /** As {@link #compute(LanguageModel, String, SessionOptions, Progress, KVStats)} on text already tokenized (BOS first). */
    public static Result compute(LanguageModel lm, int[] ids, SessionOptions options, Progress progress, KVStats stats) {
        boolean measure = stats != null && options.sparse();
        try (Session session = lm.newSession(options)) {
            if (measure) session.trackFidelity(stats);
            int ctx = session.contextSize();
            if (ctx < 3) {
                throw new IllegalArgumentException("a context of " + ctx + " tokens leaves no prediction to score (perplexity needs at least 3)");
            }
            int chunks = ids.length / ctx;
            if (chunks == 0) {
                throw new IllegalArgumentException("the text has " + ids.length + " tokens, fewer than one chunk of " + ctx
                        + " (lower -c)");
            }
            int first = ctx / 2;
            double nllSum = 0, nllSquares = 0;
            int scored = 0;
            int[] chunk = new int[ctx];
            for (int c = 0; c < chunks; c++) {
                System.arraycopy(ids, c * ctx, chunk, 0, ctx);
                chunk[0] = lm.tokenizer().bos();
                session.truncate(0);
                double[] sums = new double[2];
                int[] count = new int[1];
                Session.LogitsRow score = (i, logits, off) -> {
                    if (i < first || i >= ctx - 1) return;
                    double nll = -logSoftmax(logits, off, lm.config().vocabSize(), chunk[i + 1]);
                    sums[0] += nll;
                    sums[1] += nll * nll;
                    count[0]++;
                };
                if (options.sparse()) {
                    // sparse decoding: full-attention prefill of the first half, then one token at a time through the policy
                    session.append(java.util.Arrays.copyOf(chunk, first), null);
                    for (int i = first; i < ctx - 1; i++) {
                        session.append(new int[]{chunk[i]}, null);
                        score.accept(i, session.logits(), 0);
                    }
                } else {
                    session.append(chunk, null, score);
                }
                nllSum += sums[0];
                nllSquares += sums[1];
                scored += count[0];
                if (progress != null) progress.chunkDone(c + 1, chunks, Math.exp(nllSum / scored));
            }
            double mean = nllSum / scored;
            double variance = nllSquares / scored - mean * mean;
            double ppl = Math.exp(mean);
            double se = scored > 1 ? ppl * Math.sqrt(Math.max(variance, 0) / (scored - 1)) : 0;
            return new Result(ppl, se, chunks, scored);
        }
    }

    /** log p(target) under softmax(logits[off .. off+n)), in double precision. */
    public static double logSoftmax(float[] logits, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        return logits[off + target] - max - Math.log(sum);
    }
}
