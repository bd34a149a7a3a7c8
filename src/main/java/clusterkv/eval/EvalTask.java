package clusterkv.eval;

import java.util.Map;

/** One evaluation task: turns a grid case into a score, running the model through the case's KV policy. */
public interface EvalTask {

    String name();

    /** Whether the task places a needle at a depth (the grid then varies --depths). */
    default boolean usesDepth() {
        return false;
    }

    /** Whether the task needs real text (--corpus). */
    default boolean needsCorpus() {
        return true;
    }

    /** Whether the score is a perplexity (lower is better; pooled over predictions) rather than an accuracy. */
    default boolean isPerplexity() {
        return false;
    }

    Outcome run(EvalContext context, EvalCase c);

    /** What one case produced; see {@link EvalResult} for the fields. */
    record Outcome(double score, int n, Double nll, Map<String, Object> kvStats, String detail) {}
}
