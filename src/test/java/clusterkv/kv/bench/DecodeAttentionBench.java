package clusterkv.kv.bench;

import clusterkv.kv.AttentionBackend;
import clusterkv.kv.FullAttention;
import clusterkv.kv.KVCache;
import clusterkv.kv.KVPolicy;
import clusterkv.kv.KVType;
import clusterkv.kv.PolicyAttention;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.policy.KVPolicies;

import java.util.Arrays;
import java.util.Random;

/**
 * Decode attention alone (no weights), two variants timed against each other in one process, alternating every 8
 * steps (single runs of the whole decode move by 10-20 % on the machines we have, which hides differences of a
 * few milliseconds). The keys are {@code bench}'s generated ones (a mixture of directions) in the 1B shape
 * (8 KV heads, head size 64, GQA 4), 14 layers, budget 1024, F16; one step is one token's attention through every
 * layer: for ClusterKV selection, copying (with the cache) and attention. Modes:
 * <ul>
 *   <li>{@code cache}: ClusterKV with and without the cluster cache (the working set of recalled clusters), at a
 *   controlled hit rate. The hit rate depends on how much consecutive queries agree, which a random-weight model
 *   does not reproduce (its queries are unrelated from step to step: 3 % of the clusters are chosen again in
 *   {@code bench --kv-fill synthetic}), so the queries here are made: each query head's query follows
 *   q_t = rho q_{t-1} + sqrt(1 - rho^2) noise, and rho sets the hit rate.</li>
 *   <li>{@code full}: ClusterKV against exact attention over every cached token (all layers sparse).</li>
 *   <li>{@code kv-type}: one policy (the fifth argument, full or clusterkv) with an F16 cache against the same
 *   policy with the KV type of the sixth argument (e.g. q8_0).</li>
 *   <li>{@code estimate}: ClusterKV (or the policy the sixth argument names: quest) against itself with the estimation
 *   zone of the fifth argument's clusters (or pages).</li>
 * </ul>
 * Not a unit test: run it on the test classpath, e.g.
 * <pre>
 *   ./run-tests -q -Dtest=ClusterWorkingSetTest     # compiles target/test-classes
 *   source scripts/jdk.sh && "$JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *       -cp target/clusterkv.jar:target/test-classes clusterkv.kv.bench.DecodeAttentionBench cache 32768 0,0.9,0.97,0.99,0.999 64
 *   ... clusterkv.kv.bench.DecodeAttentionBench full 4096,8192,16384,32768 0 64
 * </pre>
 * Arguments: the mode, the contexts, the values of rho, steps per variant.
 */
public final class DecodeAttentionBench {

    private static final int LAYERS = 14, KV_HEADS = 8, HEAD_DIM = 64, HEADS = 32, BUDGET = 1024, BLOCK = 8;

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "cache";
        if (!mode.equals("cache") && !mode.equals("full") && !mode.equals("kv-type") && !mode.equals("estimate")) {
            throw new IllegalArgumentException("mode must be cache, full, kv-type or estimate, got " + mode);
        }
        int[] contexts = Arrays.stream((args.length > 1 ? args[1] : "32768").split(",")).mapToInt(Integer::parseInt).toArray();
        double[] rhos = Arrays.stream((args.length > 2 ? args[2] : "0,0.9,0.97,0.99").split(",")).mapToDouble(Double::parseDouble).toArray();
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        boolean cacheMode = mode.equals("cache"), typeMode = mode.equals("kv-type"), estimateMode = mode.equals("estimate");
        int estimate = estimateMode && args.length > 4 ? Integer.parseInt(args[4]) : 0;
        String typePolicy = args.length > 4 ? args[4] : "full";
        String estimatePolicy = estimateMode && args.length > 5 ? args[5] : "clusterkv";
        KVType type = KVType.parse(typeMode && args.length > 5 ? args[5] : "q8_0");
        System.out.printf("budget %d, %d layers of %d KV heads (GQA %d, head size %d), F16; ms per token for all layers, median (10th-90th percentile)%n",
                BUDGET, LAYERS, KV_HEADS, HEADS / KV_HEADS, HEAD_DIM);
        String second = cacheMode ? "clusterkv + cache" : typeMode ? typePolicy + " " + type.label() : estimateMode ? "estimate " + estimate : "full";
        System.out.printf("%8s %6s  %20s  %20s  %8s  %14s  %14s%n", "context", "rho", typeMode ? typePolicy + " f16" : "clusterkv", second, "hit rate",
                "MB/token", "MB/token");
        System.out.printf("%8s %6s  %20s  %20s  %8s  %14s  %14s%n", "", "", "", "", "", "(clusterkv)", cacheMode ? "(+ cache)" : "(full)");
        for (int context : contexts) {
            for (double rho : rhos) {
                try (Variant a = new Variant(context, typeMode ? typePolicy : estimateMode ? estimatePolicy : "clusterkv", false, rho, KVType.F16, 0);
                     Variant b = new Variant(context, cacheMode ? "clusterkv" : estimateMode ? estimatePolicy : typeMode ? typePolicy : "full", cacheMode, rho,
                             typeMode ? type : KVType.F16, estimate)) {
                    for (int i = 0; i < BLOCK; i++) { a.step(); b.step(); } // JIT and caches
                    a.reset();
                    b.reset();
                    for (int done = 0; done < steps; done += BLOCK) {
                        for (int i = 0; i < BLOCK; i++) a.step();
                        for (int i = 0; i < BLOCK; i++) b.step();
                    }
                    System.out.printf("%8d %6.3f  %20s  %20s  %8.3f  %14.1f  %14.1f%n", context, rho, a.summary(), b.summary(),
                            (cacheMode ? b : a).hitRate(), a.megabytesPerStep(), b.megabytesPerStep());
                }
            }
        }
    }

    /** One KV cache with one attention backend, fed made queries; the cache slots past the context take the new tokens. */
    private static final class Variant implements AutoCloseable {
        final AttentionBackend attention;
        final double rho;
        final Random rnd = new Random(3);
        final float[][] q = new float[LAYERS][HEADS * HEAD_DIM];
        final float[] k = new float[KV_HEADS * HEAD_DIM], v = new float[KV_HEADS * HEAD_DIM], out = new float[HEADS * HEAD_DIM];
        double[] ms = new double[256];
        int position, timed;
        long[] hitsAtReset = new long[2];
        long bytesAtReset;

        Variant(int context, String policyName, boolean clusterCache, double rho, KVType type, int estimate) {
            this.rho = rho;
            PolicyConfig config = new PolicyConfig(BUDGET, -1, 0, 0, 20, 0, false, clusterCache, 16, 0).withEstimate(estimate);
            KVPolicy policy = KVPolicies.create(policyName, config);
            // room for the decoded tokens: ClusterKV's window of 256 is clustered as it fills
            KVCache kv = new KVCache(LAYERS, KV_HEADS, HEAD_DIM, context + 4096, clusterkv.kv.KVFormat.of(type), policy.spareSlots(HEADS, KV_HEADS, context + 4096));
            attention = policyName.equals("full") ? new FullAttention(kv, HEADS) : new PolicyAttention(kv, HEADS, policy);
            attention.fillSynthetic(context, 1);
            position = context;
            for (float[] row : q) for (int i = 0; i < row.length; i++) row[i] = (float) rnd.nextGaussian() * 0.5f;
        }

        void step() {
            double noise = Math.sqrt(1 - rho * rho);
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            for (float[] row : q) for (int i = 0; i < row.length; i++) row[i] = (float) (rho * row[i] + noise * rnd.nextGaussian() * 0.5);
            long t0 = System.nanoTime();
            for (int layer = 0; layer < LAYERS; layer++) attention.attend(layer, q[layer], k, v, out, position, 1);
            if (timed == ms.length) ms = Arrays.copyOf(ms, 2 * timed);
            ms[timed++] = (System.nanoTime() - t0) / 1e6;
            position++;
        }

        void reset() {
            timed = 0;
            hitsAtReset = hits();
            bytesAtReset = attention.kvBytesRead();
        }

        private long[] hits() {
            long[] h = attention instanceof PolicyAttention pa ? pa.cacheHits() : null;
            return h == null ? new long[2] : h;
        }

        String summary() {
            double[] sorted = Arrays.copyOf(ms, timed);
            Arrays.sort(sorted);
            return String.format("%.2f (%.2f-%.2f)", sorted[timed / 2], sorted[timed / 10], sorted[timed - 1 - timed / 10]);
        }

        double hitRate() {
            long[] h = hits();
            return (h[0] - hitsAtReset[0]) / (double) Math.max(1, h[1] - hitsAtReset[1]);
        }

        /** KV bytes moved per token (the selected keys and values, centroids, and what the cache copied in and wrote). */
        double megabytesPerStep() {
            return (attention.kvBytesRead() - bytesAtReset) / 1e6 / timed;
        }

        @Override
        public void close() {
            attention.close();
        }
    }
}
