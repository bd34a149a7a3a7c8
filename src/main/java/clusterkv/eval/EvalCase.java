package clusterkv.eval;

/**
 * One cell of the evaluation grid, one sample. Full attention has no budget (0): it is the reference row. A policy
 * run on a KV cache type other than F16 is named {@code policy@type} (e.g. {@code clusterkv@q8_0}, {@code full@q4_0}),
 * so that every table and chart shows each cache type as rows of its own.
 *
 * @param depth the needle depth in [0, 1] for tasks that place a needle at a depth, else null
 */
public record EvalCase(String task, String policy, int budget, int context, Double depth, int sample) {

    /** The grid's name for a policy on a KV cache type: the policy alone for F16, {@code policy@type} otherwise. */
    public static String named(String policy, String kvType) {
        return kvType.equals("f16") ? policy : policy + "@" + kvType;
    }

    /** The policy of a grid name (before any {@code @type}). */
    public static String policyOf(String name) {
        int at = name.indexOf('@');
        return at < 0 ? name : name.substring(0, at);
    }

    /** The KV cache type of a grid name: what follows {@code @}, f16 without one. */
    public static String kvTypeOf(String name) {
        int at = name.indexOf('@');
        return at < 0 ? "f16" : name.substring(at + 1);
    }

    /** Whether a grid name is full attention (on any cache type): exact, so it has no budget. */
    public static boolean exact(String name) {
        return policyOf(name).equals("full");
    }

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
