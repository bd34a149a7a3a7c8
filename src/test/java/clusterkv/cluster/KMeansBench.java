package clusterkv.cluster;

import clusterkv.tensor.Parallel;

/**
 * Timing of K-means and of the selection (not a test: run by hand).
 * java --add-modules jdk.incubator.vector -cp classes:test-classes clusterkv.cluster.KMeansBench [n] [d] [k]
 */
public final class KMeansBench {

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 32768;
        int d = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 400;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        if (args.length > 4) Parallel.setThreads(Integer.parseInt(args[4]));
        System.out.printf("n=%d d=%d k=%d threads=%d vector lanes=%d%n", n, d, k, Parallel.threads(), CosineArgmax.L);
        // Many more directions than clusters, so that K-means keeps moving for all 20 rounds.
        float[] keys = KMeansTest.clusteredKeys(n, d, 4 * k, 42);
        double flop = 2.0 * n * k * d * KMeans.DEFAULT_ITERATIONS;

        for (int rep = 0; rep < 2 * reps; rep++) {
            boolean earlyStop = rep >= reps;
            int[] init = KMeans.initialPositions(n, k, rep);
            long t0 = System.nanoTime(), cpu0 = processCpuNanos();
            KMeans.Result r = KMeans.cluster(keys, 0, n, d, init, KMeans.DEFAULT_ITERATIONS, earlyStop);
            double s = (System.nanoTime() - t0) / 1e9, cpu = (processCpuNanos() - cpu0) / 1e9;
            // On a shared machine the wall time depends on the other jobs; the process CPU time does much less.
            System.out.printf("kmeans %s: %.3f s wall, %.1f GFLOP/s; process cpu %.3f s = %.1f GFLOP/s per cpu-second"
                    + " (%d empty clusters)%n", earlyStop ? "with early stop" : "all 20 rounds", s, flop / s / 1e9, cpu,
                    flop / cpu / 1e9, countZeros(r.sizes()));
        }
        assignOnly(keys, n, d, k, reps);
        selection(keys, n, d, k);
    }

    /** The assignment kernel alone, on fixed centroids. */
    private static void assignOnly(float[] keys, int n, int d, int k, int reps) {
        float[] unit = new float[CosineArgmax.paddedRows(n) * d];
        for (int i = 0; i < n; i++) {
            float inv = CosineArgmax.inverseNorm(keys, i * d, d);
            for (int j = 0; j < d; j++) unit[i * d + j] = keys[i * d + j] * inv;
        }
        CosineArgmax argmax = new CosineArgmax(d, k);
        float[] centroids = java.util.Arrays.copyOf(keys, k * d);
        argmax.pack(centroids);
        int[] assignment = new int[n];
        for (int rep = 0; rep < reps; rep++) {
            long t0 = System.nanoTime(), cpu0 = cpuNanos();
            for (int i = 0; i < 20; i++) argmax.assign(unit, n, assignment);
            double s = (System.nanoTime() - t0) / 1e9, cpu = (cpuNanos() - cpu0) / 1e9;
            double gflop = 2.0 * n * k * d * 20 / 1e9;
            // The CPU time is the calling thread's: with one thread it is the kernel's own speed on a shared machine.
            System.out.printf("assign x20: %.3f s  %.1f GFLOP/s (calling thread: %.3f s cpu, %.1f GFLOP/s per busy core)%n",
                    s, gflop / s, cpu, gflop / cpu);
        }
    }

    private static void selection(float[] keys, int n, int d, int k) {
        ClusterIndex idx = ClusterIndex.build(KMeans.cluster(keys, 0, n, d, k, 1), 0);
        ClusterSelector sel = new ClusterSelector();
        int[] clusters = new int[k], take = new int[k];
        float[] q = java.util.Arrays.copyOfRange(keys, 5 * d, 9 * d);
        int calls = 200_000;
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime(), cpu0 = cpuNanos();
            int sum = 0;
            for (int i = 0; i < calls; i++) sum += sel.selectShared(q, 0, 4, idx, 1024, clusters, take);
            double us = (System.nanoTime() - t0) / 1e3 / calls, cpuUs = (cpuNanos() - cpu0) / 1e3 / calls;
            System.out.printf("selectShared (4 heads, budget 1024, k=%d): %.2f us/call, %.2f us cpu (%d clusters)%n",
                    k, us, cpuUs, sum / calls);
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static long cpuNanos() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    private static int countZeros(int[] a) {
        int z = 0;
        for (int x : a) if (x == 0) z++;
        return z;
    }
}
