package clusterkv.tensor;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** The compute threads of the engine (default: all cores), shared by every kernel. */
public final class Parallel {

    private static volatile ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());

    private Parallel() {}

    public static void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        ForkJoinPool old = pool;
        pool = new ForkJoinPool(threads);
        old.shutdown();
    }

    public static int threads() {
        return pool.getParallelism();
    }

    /** Runs body(i) for i in [0, n), spread over the compute threads. */
    public static void forEach(int n, IntConsumer body) {
        if (n == 1 || threads() == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        pool.submit(() -> IntStream.range(0, n).parallel().forEach(body)).join();
    }
}
