package clusterkv.cluster;

/** How many clusters ClusterKV makes for a range of tokens. */
public final class ClusterCount {

    /** Clusters for a prompt of default size: the paper's 400 for prompts up to 32K tokens. */
    public static final int DEFAULT_PROMPT_CLUSTERS = 400;
    /** Beyond 32K tokens the clusters grow with the prompt, one per this many tokens on average. */
    public static final int TOKENS_PER_PROMPT_CLUSTER = 80;
    /** Short prompts get at most one cluster per this many tokens, so that clusters stay meaningful. */
    public static final int MIN_TOKENS_PER_CLUSTER = 4;
    /** Tokens generated during decoding are clustered window by window, one cluster per this many tokens. */
    public static final int TOKENS_PER_WINDOW_CLUSTER = 40;

    private ClusterCount() {}

    /**
     * Clusters for a prompt of n tokens: {@code requested} when positive (at most n); otherwise
     * max(400, ceil(n / 80)), at most max(1, n / 4). Zero for an empty prompt.
     */
    public static int forPrompt(int n, int requested) {
        if (n <= 0) return 0;
        if (requested > 0) return Math.min(requested, n);
        int k = Math.max(DEFAULT_PROMPT_CLUSTERS, (int) ((n + (long) TOKENS_PER_PROMPT_CLUSTER - 1) / TOKENS_PER_PROMPT_CLUSTER));
        return Math.min(k, Math.max(1, n / MIN_TOKENS_PER_CLUSTER));
    }

    /** Clusters for a window of n decoded tokens: n / 40, at least 1 (zero for an empty window). */
    public static int forWindow(int n) {
        if (n <= 0) return 0;
        return Math.max(1, n / TOKENS_PER_WINDOW_CLUSTER);
    }
}
