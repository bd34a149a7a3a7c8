package clusterkv.tensor.bench;

import clusterkv.gguf.GGMLType;
import clusterkv.tensor.MemoryBandwidth;
import clusterkv.tensor.Parallel;
import clusterkv.tensor.RowKernel;
import clusterkv.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Decode (matvec) and prefill (matmul) throughput against the machine's read bandwidth, measured in the same
 * run. Not a unit test: run it on the test classpath, e.g.
 * <pre>
 *   mvn -q -DbuildDir=/tmp/build-tensor test-compile
 *   java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp /tmp/build-tensor/classes:/tmp/build-tensor/test-classes \
 *        clusterkv.tensor.bench.KernelBench [matvec|decode|batch|matmul|dispatch|all] [types, e.g. Q8_0,Q4_0]
 * </pre>
 * Matrices are rotated through a working set well above the 105 MB L3 so that matvec reads come from DRAM.
 */
public final class KernelBench {

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Shapes of llama-3.2-1B: (rows, cols) of attn_q/o, ffn_gate/up, ffn_down, output; and a 1 GiB-class one. */
    private static final int[][] MATVEC_SHAPES = {{2048, 2048}, {8192, 2048}, {2048, 8192}, {128256, 2048}, {32768, 32768}};
    private static final long WORKING_SET = 512L << 20;

    public static void main(String[] args) {
        String what = args.length > 0 ? args[0] : "all";
        List<GGMLType> types = new ArrayList<>();
        String list = args.length > 1 ? args[1] : "Q8_0,Q4_0,Q4_1,Q4_K,Q5_K,Q6_K,F16,BF16,F32";
        for (String t : list.split(",")) types.add(GGMLType.valueOf(t));
        System.out.printf("threads %d, %s%n", Parallel.threads(), jdk.incubator.vector.FloatVector.SPECIES_PREFERRED);
        if (what.equals("dispatch") || what.equals("all")) dispatch();
        if (what.equals("cached") || what.equals("all")) {
            for (GGMLType type : types) cached(type);
        }
        if (what.equals("matvec") || what.equals("all")) {
            for (GGMLType type : types) matvec(type);
        }
        if (what.equals("decode") || what.equals("all")) {
            for (GGMLType type : types) decode(type);
        }
        if (what.equals("batch")) {
            for (GGMLType type : types) decodeBatch(type);
        }
        if (what.equals("crossover")) {
            for (GGMLType type : types) crossover(type);
        }
        if (what.equals("matmul") || what.equals("all")) {
            for (GGMLType type : types) matmul(type);
        }
    }

    static double bandwidth() {
        return MemoryBandwidth.measureReadGBps();
    }

    /** CPU time of this process so far, in ns (all threads). */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** The share of the compute threads' cores this process got over a wall-clock interval (1.0 = all of them). */
    static double cpuShare(long cpuNanos, long wallNanos) {
        return (double) cpuNanos / wallNanos / Parallel.threads();
    }

    /** fp32 FMA throughput of the compute threads on register-only work, in GFLOP/s (best of a few runs). */
    /**
     * Cost of one parallel job of two trivial ranges, the fixed overhead paid by every matvec; compared with
     * the ForkJoin parallel stream the engine used before.
     */
    static void dispatch() {
        float[] sink = new float[2];
        java.util.concurrent.ForkJoinPool fj = new java.util.concurrent.ForkJoinPool(Parallel.threads());
        for (int rep = 0; rep < 3; rep++) {
            int calls = 100_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) Parallel.forRange(2, 1, (a, b) -> sink[a] += 1);
            long t1 = System.nanoTime();
            for (int i = 0; i < calls; i++) fj.submit(() -> java.util.stream.IntStream.range(0, 2).parallel().forEach(a -> sink[a] += 1)).join();
            long t2 = System.nanoTime();
            System.out.printf("dispatch of 2 ranges: Parallel %.2f us, ForkJoin parallel stream %.2f us%n",
                    (t1 - t0) / 1e3 / calls, (t2 - t1) / 1e3 / calls);
        }
        fj.shutdown();
    }

    static void matvec(GGMLType type) {
        double bw = bandwidth();
        System.out.printf("%n%s matvec, measured read bandwidth %.1f GB/s%n", type, bw);
        for (int[] shape : MATVEC_SHAPES) {
            int rows = shape[0], cols = shape[1];
            long bytes = type.byteSize((long) rows * cols);
            if (bytes > (2L << 30)) continue; // F32 of the largest shape
            int copies = (int) Math.max(1, Math.min(64, WORKING_SET / bytes));
            try (Arena arena = Arena.ofShared()) {
                WeightMatrix[] ms = new WeightMatrix[copies];
                for (int c = 0; c < copies; c++) ms[c] = random(arena, type, rows, cols, c);
                float[] x = gaussian(cols, 1), out = new float[rows];
                int reps = (int) Math.max(copies * 3L, Math.min(3000, (20L << 30) / bytes / 4));
                for (int i = 0; i < Math.max(20, reps / 4); i++) ms[i % copies].matvec(x, out); // JIT warm-up
                double[] secs = new double[reps];
                for (int i = 0; i < reps; i++) {
                    long t0 = System.nanoTime();
                    ms[i % copies].matvec(x, out);
                    secs[i] = (System.nanoTime() - t0) * 1e-9;
                }
                Arrays.sort(secs);
                double median = bytes / secs[reps / 2] / 1e9, best = bytes / secs[0] / 1e9;
                System.out.printf("  %6d x %-6d %8.1f MB  median %5.1f GB/s (%3.0f%%)  best %5.1f GB/s  (%.0f us)%n",
                        rows, cols, bytes / 1e6, median, 100 * median / bw, best, secs[reps / 2] * 1e6);
            }
        }
    }

    /**
     * One thread's matvec on a matrix that fits in its L2 cache: the kernel's compute speed, free of DRAM
     * (and, as a best-of-many, mostly free of other processes on the machine). Alternates WeightMatrix.matvec
     * (which uses the packed decode layout for Q8_0/Q4_0) with the ggml-layout RowKernel.dotRows.
     */
    static void cached(GGMLType type) {
        int rows = 256, cols = 2048;
        int threads = Parallel.threads();
        Parallel.setThreads(1);
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = random(arena, type, rows, cols, 1);
            RowKernel k = m.kernel();
            float[] x = gaussian(cols, 1), out = new float[rows];
            long rowBytes = type.byteSize(cols);
            double bestMatvec = Double.MAX_VALUE, bestKernel = Double.MAX_VALUE;
            for (int i = 0; i < 20000; i++) {
                long t0 = System.nanoTime();
                m.matvec(x, out);
                long t1 = System.nanoTime();
                float[] sums = k.usesBlockSums() ? RowKernel.blockSums(x, 0, cols) : null;
                k.dotRows(m.data, 0, rowBytes, rows, x, 0, sums, cols, out, 0);
                long t2 = System.nanoTime();
                if (i > 5000) {
                    bestMatvec = Math.min(bestMatvec, (t1 - t0) * 1e-9);
                    bestKernel = Math.min(bestKernel, (t2 - t1) * 1e-9);
                }
            }
            System.out.printf("%-5s from L2, 1 thread: matvec %5.1f GB/s (%5.2f Gweights/s), ggml-layout kernel %5.1f GB/s%n",
                    type, m.byteSize() / bestMatvec / 1e9, (double) rows * cols / bestMatvec / 1e9, m.byteSize() / bestKernel / 1e9);
        } finally {
            Parallel.setThreads(threads);
        }
    }

    /** A llama-3.2-1B-shaped decode step: 16 layers of 7 matvecs plus the output matrix, each its own memory. */
    static void decode(GGMLType type) {
        int ffn = 8192, vocab = 128256;
        try (Arena arena = Arena.ofShared()) {
            List<WeightMatrix> ms = oneBModel(arena, type);
            long bytes = ms.stream().mapToLong(WeightMatrix::byteSize).sum();
            float[] xh = gaussian(ffn, 2), out = new float[vocab];
            double bw = bandwidth();
            double best = Double.MAX_VALUE;
            List<Double> all = new ArrayList<>();
            long cpu = 0, wall = 0;
            for (int step = 0; step < 40; step++) {
                long c0 = cpuNanos(), t0 = System.nanoTime();
                for (WeightMatrix m : ms) m.matvec(xh, out);
                long t1 = System.nanoTime();
                double s = (t1 - t0) * 1e-9;
                if (step >= 10) {
                    all.add(s);
                    cpu += cpuNanos() - c0;
                    wall += t1 - t0;
                }
                best = Math.min(best, s);
            }
            all.sort(null);
            double median = all.get(all.size() / 2);
            System.out.printf("%n%s decode step (1B-shaped, %d matvecs, %.0f MB): median %.1f ms = %.1f tok/s, %.1f GB/s (%.0f%% of %.1f GB/s); best %.1f ms = %.1f GB/s; CPU share %.2f%n",
                    type, ms.size(), bytes / 1e6, median * 1e3, 1 / median, bytes / median / 1e9, 100 * bytes / median / 1e9 / bw, bw,
                    best * 1e3, bytes / best / 1e9, cpuShare(cpu, wall));
        }
    }

    /**
     * A llama-3.2-1B-shaped decode step for n sequences at once (the server's batched decode): per matrix n
     * matvecs, {@link WeightMatrix#matvecs} (each weight read once), and matmul (Gemm from 4 tokens on).
     */
    static void decodeBatch(GGMLType type) {
        try (Arena arena = Arena.ofShared()) {
            List<WeightMatrix> ms = oneBModel(arena, type);
            long bytes = ms.stream().mapToLong(WeightMatrix::byteSize).sum();
            int maxN = 16;
            float[] x = gaussian(maxN * 8192, 2), y = new float[maxN * 128256];
            for (WeightMatrix m : ms) m.matvec(x, y); // builds the decode layouts
            System.out.printf("%n%s batched decode step (1B-shaped, %.0f MB), ms per step, best / median of 5%n", type, bytes / 1e6);
            for (int n : new int[] {1, 2, 3, 4, 6, 8, 12, 16}) {
                String[] names = {"n matvecs", "matvecs", "matmul"};
                StringBuilder line = new StringBuilder(String.format("  n=%-2d", n));
                for (int mode = 0; mode < 3; mode++) {
                    double[] s = new double[5];
                    for (int rep = 0; rep < s.length; rep++) {
                        long t0 = System.nanoTime();
                        for (WeightMatrix m : ms) {
                            if (mode == 0) for (int t = 0; t < n; t++) m.matvec(x, y);
                            else if (mode == 1) m.matvecs(x, n, y);
                            else m.matmul(x, n, y);
                        }
                        s[rep] = (System.nanoTime() - t0) * 1e-6;
                    }
                    Arrays.sort(s);
                    line.append(String.format("  %s %6.0f / %6.0f (%5.1f tok/s)", names[mode], s[0], s[2], n * 1e3 / s[2]));
                }
                System.out.println(line);
            }
        }
    }

    /** The weight matrices of a llama-3.2-1B decode step: 16 layers of 7, plus the output matrix, each its own memory. */
    static List<WeightMatrix> oneBModel(Arena arena, GGMLType type) {
        int hidden = 2048, kv = 512, ffn = 8192, vocab = 128256, layers = 16;
        List<WeightMatrix> ms = new ArrayList<>();
        int seed = 0;
        for (int l = 0; l < layers; l++) {
            for (int[] rc : new int[][] {{hidden, hidden}, {kv, hidden}, {kv, hidden}, {hidden, hidden}, {ffn, hidden}, {ffn, hidden}, {hidden, ffn}}) {
                ms.add(random(arena, type, rc[0], rc[1], seed++));
            }
        }
        ms.add(random(arena, type, vocab, hidden, seed));
        return ms;
    }

    static void matmul(GGMLType type) {
        System.out.printf("%n%s matmul (fp32 FMA peak of the compute threads, measured now: %.1f GFLOP/s)%n", type, clusterkv.tensor.FmaPeak.measureGflops());
        int[][] shapes = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
        for (int[] shape : shapes) {
            int rows = shape[0], cols = shape[1];
            try (Arena arena = Arena.ofShared()) {
                WeightMatrix m = random(arena, type, rows, cols, 7);
                for (int n : new int[] {4, 16, 64, 128, 512}) {
                    float[] x = gaussian(n * cols, 3), y = new float[n * rows];
                    double flops = 2.0 * rows * cols * n;
                    int reps = (int) Math.max(3, Math.min(50, 40e9 / flops));
                    for (int i = 0; i < Math.max(2, reps / 3); i++) m.matmul(x, n, y);
                    double best = Double.MAX_VALUE;
                    for (int i = 0; i < reps; i++) {
                        long t0 = System.nanoTime();
                        m.matmul(x, n, y);
                        best = Math.min(best, (System.nanoTime() - t0) * 1e-9);
                    }
                    System.out.printf("  %5d x %-5d n=%-4d %6.1f GFLOP/s  (%.2f ms)%n", rows, cols, n, flops / best / 1e9, best * 1e3);
                }
            }
        }
    }

    /** matmul of n tokens against n matvecs (the per-token path of small matmuls), for small n. */
    static void crossover(GGMLType type) {
        int rows = 2048, cols = 2048;
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix m = random(arena, type, rows, cols, 7);
            for (int n = 1; n <= 12; n++) {
                float[] x = gaussian(n * cols, 3), y = new float[n * rows], xt = new float[cols], yt = new float[rows];
                double bestMatmul = Double.MAX_VALUE, bestMatvecs = Double.MAX_VALUE;
                for (int i = 0; i < 300; i++) {
                    long t0 = System.nanoTime();
                    m.matmul(x, n, y);
                    long t1 = System.nanoTime();
                    for (int t = 0; t < n; t++) {
                        System.arraycopy(x, t * cols, xt, 0, cols);
                        m.matvec(xt, yt);
                    }
                    long t2 = System.nanoTime();
                    if (i > 50) {
                        bestMatmul = Math.min(bestMatmul, t1 - t0);
                        bestMatvecs = Math.min(bestMatvecs, t2 - t1);
                    }
                }
                System.out.printf("%s n=%-2d matmul %.3f ms, n matvecs %.3f ms%n", type, n, bestMatmul / 1e6, bestMatvecs / 1e6);
            }
        }
    }

    /** A rows x cols matrix of random codes with sane scale fields (random fp16 scales could be subnormal, which is slow). */
    static WeightMatrix random(Arena arena, GGMLType type, int rows, int cols, int seed) {
        long bytes = type.byteSize((long) rows * cols);
        MemorySegment s = arena.allocate(bytes, 64);
        Random rnd = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        rnd.nextBytes(chunk);
        for (long o = 0; o < bytes; o += chunk.length) {
            MemorySegment.copy(chunk, 0, s, ValueLayout.JAVA_BYTE, o, (int) Math.min(chunk.length, bytes - o));
        }
        short scale = Float.floatToFloat16(0.01f);
        long block = type.bytesPerBlock;
        switch (type) {
            case Q8_0, Q4_0, Q5_0 -> { for (long b = 0; b < bytes; b += block) s.set(HALF, b, scale); }
            case Q4_1, Q5_1, Q4_K, Q5_K -> {
                for (long b = 0; b < bytes; b += block) {
                    s.set(HALF, b, scale);
                    s.set(HALF, b + 2, scale);
                }
            }
            case Q6_K -> { for (long b = 0; b < bytes; b += block) s.set(HALF, b + 208, scale); }
            case F16 -> { for (long b = 0; b < bytes; b += 2) s.set(HALF, b, (short) (s.get(HALF, b) & 0xBBFF)); }
            case BF16 -> { for (long b = 0; b < bytes; b += 2) s.set(HALF, b, (short) ((s.get(HALF, b) & 0xBFFF) | 0x2000)); }
            case F32 -> {
                ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
                for (long b = 0; b < bytes; b += 4) s.set(f, b, (float) ((b * 2654435761L % 1000) / 1000.0 - 0.5));
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return new WeightMatrix(type + "-" + seed, type, rows, cols, s);
    }

    static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
