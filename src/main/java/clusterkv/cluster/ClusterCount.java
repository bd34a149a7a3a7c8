package clusterkv.cluster;

/** How many clusters ClusterKV makes for a range of tokens. */
public final class ClusterCount {

    /** Clusters for a prompt of default size: the paper's 400 for prompts up to 32K tokens. */
    public static final int DEFAULT_PROMPT_CLUSTERS = 400;
    /** Beyond 32K tokens the clusters grow with the prompt, one per this many tokens on average. */
    public static final int TOKENS_PER_PROMPT_CLUSTER = 80;
    /** Short prompts get at most one cluster per this many tokens, so that clusters stay meaningful. */
    public static final int MIN_TOKENS_PER_CLUSTER = 4;
    /**
     * Tokens generated during decoding are clustered window by window, one cluster per budget / 16 tokens (a
     * budget's worth of selected tokens spans about 16 clusters), between 4 and 40 (the paper's regime: 1024 and
     * more tokens of budget give 40). Why the budget sets it: with one cluster per 40 tokens a small budget (64
     * tokens, a 16-token window) took whole 16-token windows as clusters, too coarse both to select from and for the
     * estimation zone's mean keys. ckv-tiny-2k, every layer sparse, War and Peace (full attention 6.934), budgets
     * 64 / 128 / 256 / 512: ClusterKV 7.231 / 7.087 / 6.995 / 6.947 with 40 tokens, 7.151 / 7.034 / 6.978 / 6.946
     * with budget / 16; with {@code --estimate 128} 7.049 / 7.031 / 6.980 / 6.937 against 6.940 / 6.946 / 6.941 /
     * 6.937 (2026-12-07, AMD EPYC Zen 4).
     */
    public static final int WINDOW_CLUSTERS_PER_BUDGET = 16;
    /** The most tokens per window cluster. */
    public static final int MAX_TOKENS_PER_WINDOW_CLUSTER = 40;

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

    /**
     * Clusters for a window of n decoded tokens under a token budget: n / clamp(budget / 16, 4, 40), at least 1
     * (zero for an empty window).
     */
    public static int forWindow(int n, int budget) {
        if (n <= 0) return 0;
        int tokensPerCluster = Math.clamp(budget / WINDOW_CLUSTERS_PER_BUDGET, MIN_TOKENS_PER_CLUSTER, MAX_TOKENS_PER_WINDOW_CLUSTER);
        return Math.max(1, n / tokensPerCluster);
    }
}
