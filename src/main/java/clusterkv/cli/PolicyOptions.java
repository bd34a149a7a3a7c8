package clusterkv.cli;

import clusterkv.generate.SessionOptions;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.policy.KVPolicies;
import picocli.CommandLine.Option;

import java.util.List;

/** KV-policy options shared by every generating command. Defaults are the ClusterKV paper's. */
final class PolicyOptions implements Validated {

    @Option(names = "--kv-policy", defaultValue = "full", split = ",", paramLabel = "NAME",
            description = "Which cached tokens decode attends to: full, clusterkv, quest, streaming, h2o, snapkv (default: ${DEFAULT-VALUE}).")
    List<String> policies;

    @Option(names = "--kv-budget", defaultValue = "1024", split = ",", paramLabel = "N",
            description = "Tokens attended per query head per step, sink included; a budget >= the context is full attention (default: ${DEFAULT-VALUE}).")
    List<Integer> budgets;

    @Option(names = "--sink", paramLabel = "N", description = "Attention-sink tokens always attended (default: clusterkv 16, streaming 4).")
    Integer sink;

    @Option(names = "--window", defaultValue = "0", paramLabel = "N", description = "Recent window (default: clusterkv min(320, budget/4)).")
    int window;

    @Option(names = "--clusters", defaultValue = "0", paramLabel = "N", description = "ClusterKV clusters per head for the prompt (default: 400, or one per 80 tokens).")
    int clusters;

    @Option(names = "--kmeans-iters", defaultValue = "20", paramLabel = "N", description = "K-means iterations, at most " + PolicyConfig.MAX_KMEANS_ITERATIONS + " (default: ${DEFAULT-VALUE}).")
    int kmeansIterations;

    @Option(names = "--dense-layers", defaultValue = "2", paramLabel = "N", description = "First layers that attend fully under every policy (default: ${DEFAULT-VALUE}).")
    int denseLayers;

    @Option(names = "--gqa-select", defaultValue = "per-head", paramLabel = "per-head|shared",
            description = "ClusterKV: each query head selects, or a GQA group selects once by its summed scores (default: ${DEFAULT-VALUE}).")
    String gqaSelect;

    @Option(names = "--cluster-cache", description = "ClusterKV: keep each selecting head's recalled clusters in a working set and copy in only the newly selected ones (the paper's cache; off by default: on a CPU it pays only at cache hit rates above about 0.9).")
    boolean clusterCache;

    @Option(names = "--estimate", defaultValue = "0", paramLabel = "N", description = "ClusterKV and Quest: the N clusters (pages) ranked just "
            + "after the selected ones count in the softmax by their size, mean key and mean value, without being read (RetroInfer's estimation zone; default: ${DEFAULT-VALUE}, none).")
    int estimate;

    @Option(names = "--kv-top-p", defaultValue = "1", paramLabel = "P", description = "ClusterKV: take clusters in score order only until "
            + "their estimated share of the clustered tokens' attention mass reaches P, never beyond --kv-budget (Twilight's adaptive budget; default: ${DEFAULT-VALUE}, off).")
    float topP;

    @Option(names = "--page-size", defaultValue = "16", paramLabel = "N", description = "Quest page size (default: ${DEFAULT-VALUE}).")
    int pageSize;

    @Option(names = "--kmeans-seed", defaultValue = "0", paramLabel = "N", description = "K-means initialisation seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--kv-stats", description = "Measure the selection's fidelity against exact attention computed alongside, and the KL divergence from full attention (costs a full pass).")
    boolean kvStats;

    /** Every name and number, through the same checks the policies' config makes (it names the options). */
    @Override
    public void validate() {
        if (sink != null) Validated.check(sink >= 0, "--sink", ">= 0", sink);
        all();
        for (int budget : budgets) config(budget);
    }

    /** The knobs with the single --kv-budget of a generating command. */
    PolicyConfig config() {
        if (budgets.size() != 1) throw new IllegalArgumentException("this command takes one --kv-budget, got " + budgets);
        return config(budgets.getFirst());
    }

    PolicyConfig config(int budget) {
        boolean shared = switch (gqaSelect) {
            case "per-head" -> false;
            case "shared" -> true;
            default -> throw new IllegalArgumentException("--gqa-select must be per-head or shared, got '" + gqaSelect + "'");
        };
        return new PolicyConfig(budget, sink == null ? -1 : sink, window, clusters, kmeansIterations, denseLayers, shared, clusterCache, pageSize, seed, estimate, topP);
    }

    /** The single policy of a generating command. */
    String single() {
        if (policies.size() != 1) throw new IllegalArgumentException("this command takes one --kv-policy, got " + policies);
        return validated(policies.getFirst());
    }

    List<String> all() {
        return policies.stream().map(PolicyOptions::validated).toList();
    }

    private static String validated(String name) {
        if (!KVPolicies.NAMES.contains(name)) {
            throw new IllegalArgumentException("--kv-policy: unknown KV policy '" + name + "' (known: " + String.join(", ", KVPolicies.NAMES) + ")");
        }
        return name;
    }

    SessionOptions apply(SessionOptions options) {
        return options.withPolicy(single(), config());
    }
}
