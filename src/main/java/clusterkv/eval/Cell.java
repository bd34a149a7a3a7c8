package clusterkv.eval;

/**
 * The results of one grid cell pooled over its samples: the mean accuracy, or for perplexity
 * exp(mean NLL over all predictions), so that chunks pool as llama.cpp pools them.
 *
 * @param depth null when pooled over depths, or for tasks without one
 * @param n     samples pooled
 */
public record Cell(String task, String policy, int budget, int context, Double depth, double score, int n, double stdError) {}
