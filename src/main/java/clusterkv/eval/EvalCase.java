package clusterkv.eval;

/**
 * One cell of the evaluation grid, one sample. Full attention has no budget (0): it is the reference row.
 *
 * @param depth the needle depth in [0, 1] for tasks that place a needle at a depth, else null
 */
public record EvalCase(String task, String policy, int budget, int context, Double depth, int sample) {

    /** Identifies the case in results.jsonl, for resuming and merging. */
    public String key() {
        return task + "|" + policy + "|" + budget + "|" + context + "|" + (depth == null ? "-" : depth) + "|" + sample;
    }

    /**
     * The seed of this case's prompt: the same for every policy and budget, so that all policies answer the
     * same prompts and their scores differ only by the policy.
     */
    public long promptSeed(long seed) {
        long h = seed * 0x9E3779B97F4A7C15L + task.hashCode();
        h = h * 31 + context;
        h = h * 31 + (depth == null ? -1 : Math.round(depth * 1_000_000));
        h = h * 31 + sample;
        return mix(h);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
