package clusterkv.kv.bench;

import clusterkv.kv.KVCache;
import clusterkv.kv.KVPolicy;
import clusterkv.kv.KVType;
import clusterkv.kv.PolicyAttention;
import clusterkv.kv.PolicyConfig;
import clusterkv.kv.policy.KVPolicies;

import java.util.Arrays;
import java.util.Random;

/**
 * ClusterKV's decode attention with and without the cluster cache (the working set of recalled clusters), at
 * a controlled cache hit rate. The hit rate depends on how much consecutive queries agree, which a random-weight
 * model does not reproduce (its queries are unrelated from step to step: 3 % of the clusters are chosen again in
 * {@code bench --kv-fill synthetic}), so the queries here are made: each query head's query follows
 * q_t = rho q_{t-1} + sqrt(1 - rho^2) noise, and rho sets the hit rate. The keys are {@code bench}'s generated
 * ones (a mixture of directions), in the 1B shape (8 KV heads, head size 64, GQA 4), all layers sparse, budget
 * 1024, F16; each step is one token's attention through every layer (selection, copying, attention), the two
 * variants alternating every 8 steps in one process. Not a unit test: run it on the test classpath, e.g.
 * <pre>
 *   ./run-tests -q -Dtest=ClusterWorkingSetTest     # compiles target/test-classes
 *   source scripts/jdk.sh && "$JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *       -cp target/clusterkv.jar:target/test-classes clusterkv.kv.bench.ClusterCacheBench 32768 0,0.9,0.97,0.99 64
 * </pre>
 * Arguments: context, the values of rho, steps per variant and rho.
 */
public final class ClusterCacheBench {

    private static final int LAYERS = 14, KV_HEADS = 8, HEAD_DIM = 64, HEADS = 32, BUDGET = 1024, BLOCK = 8;

    public static void main(String[] args) {
        int context = args.length > 0 ? Integer.parseInt(args[0]) : 32768;
        double[] rhos = Arrays.stream((args.length > 1 ? args[1] : "0,0.9,0.97,0.99").split(",")).mapToDouble(Double::parseDouble).toArray();
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        System.out.printf("context %d, budget %d, %d sparse layers of %d KV heads (GQA %d, head size %d), F16%n",
                context, BUDGET, LAYERS, KV_HEADS, HEADS / KV_HEADS, HEAD_DIM);
        System.out.printf("%6s  %18s  %18s  %8s  %14s  %14s%n", "rho", "direct ms/token", "cache ms/token", "hit rate", "direct MB/tok", "cache MB/tok");
        for (double rho : rhos) {
            try (Variant direct = new Variant(context, false, rho); Variant cached = new Variant(context, true, rho)) {
                for (int i = 0; i < BLOCK; i++) { direct.step(); cached.step(); } // JIT and caches
                direct.reset();
                cached.reset();
                for (int done = 0; done < steps; done += BLOCK) {
                    for (int i = 0; i < BLOCK; i++) direct.step();
                    for (int i = 0; i < BLOCK; i++) cached.step();
                }
                System.out.printf("%6.3f  %18s  %18s  %8.3f  %14.1f  %14.1f%n", rho, direct.summary(), cached.summary(),
                        cached.hitRate(), direct.megabytesPerStep(), cached.megabytesPerStep());
            }
        }
    }

    /** One KV cache with one policy, fed made queries; the cache slots past the context take the new tokens. */
    private static final class Variant implements AutoCloseable {
        final PolicyAttention attention;
        final int context;
        final double rho;
        final Random rnd = new Random(3);
        final float[][] q = new float[LAYERS][HEADS * HEAD_DIM];
        final float[] k = new float[KV_HEADS * HEAD_DIM], v = new float[KV_HEADS * HEAD_DIM], out = new float[HEADS * HEAD_DIM];
        final double[] ms = new double[4096];
        int position, timed;
        long[] hitsAtReset;
        long bytesAtReset;

        Variant(int context, boolean cache, double rho) {
            this.context = context;
            this.rho = rho;
            PolicyConfig config = new PolicyConfig(BUDGET, -1, 0, 0, 20, 0, false, cache, 16, 0);
            KVPolicy policy = KVPolicies.create("clusterkv", config);
            // room for the decoded tokens: the window of 256 is clustered as it fills
            KVCache kv = new KVCache(LAYERS, KV_HEADS, HEAD_DIM, context + 4096, KVType.F16, policy.spareSlots(HEADS, KV_HEADS));
            attention = new PolicyAttention(kv, HEADS, policy);
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
            ms[timed++] = (System.nanoTime() - t0) / 1e6;
            position++;
        }

        void reset() {
            timed = 0;
            hitsAtReset = attention.cacheHits();
            bytesAtReset = attention.kvBytesRead();
        }

        String summary() {
            double[] sorted = Arrays.copyOf(ms, timed);
            Arrays.sort(sorted);
            return String.format("%.2f (%.2f-%.2f)", sorted[timed / 2], sorted[timed / 10], sorted[timed - 1 - timed / 10]);
        }

        double hitRate() {
            long[] h = attention.cacheHits();
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
