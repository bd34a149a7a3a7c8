package clusterkv.tensor;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The machine's memory read bandwidth as this JVM sees it: the ceiling for decode, whose matvecs read every
 * weight once per token.
 */
public final class MemoryBandwidth {

    private static final VectorSpecies<Long> V = LongVector.SPECIES_PREFERRED;
    /** Defeats dead-code elimination of the sums. */
    private static final AtomicLong SINK = new AtomicLong();

    private MemoryBandwidth() {}

    /**
     * Reads a 1 GiB off-heap buffer with the compute threads (Parallel, at least 2) and returns the best of a
     * few passes in GB/s (1e9 bytes per second); takes about a second.
     */
    public static double measureReadGBps() {
        return measureReadGBps(1L << 30, 5, Math.max(2, Parallel.threads()));
    }

    /** Best-of-{@code passes} read bandwidth over {@code bytes} with {@code threads} threads, in GB/s. */
    public static double measureReadGBps(long bytes, int passes, int threads) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(bytes, 4096);
            buffer.fill((byte) 1); // touch every page: the passes must measure reads, not page faults
            return measureReadGBps(buffer, passes, threads);
        }
    }

    /** Best-of-{@code passes} bandwidth reading all of {@code buffer} with {@code threads} threads, in GB/s. */
    public static double measureReadGBps(MemorySegment buffer, int passes, int threads) {
        long stride = 4L * V.vectorByteSize();
        long slices = buffer.byteSize() / stride;
        // Warm up: the first calls run interpreted, far below memory speed.
        for (int i = 0; i < 20; i++) SINK.addAndGet(sum(buffer, 0, Math.min(slices, 1 << 16) * stride));
        double best = 0;
        for (int pass = 0; pass < passes; pass++) {
            long start = System.nanoTime();
            Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                long from = slices * t / threads * stride, to = slices * (t + 1) / threads * stride;
                workers[t] = Thread.ofPlatform().start(() -> SINK.addAndGet(sum(buffer, from, to)));
            }
            for (Thread w : workers) {
                try {
                    w.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
            double seconds = (System.nanoTime() - start) * 1e-9;
            best = Math.max(best, slices * stride / seconds / 1e9);
        }
        return best;
    }

    /** Sums [from, to) as longs, four independent vector accumulators so that loads, not adds, set the pace. */
    static long sum(MemorySegment s, long from, long to) {
        long w = V.vectorByteSize();
        LongVector a = LongVector.zero(V), b = a, c = a, d = a;
        for (long o = from; o < to; o += 4 * w) {
            a = a.add(LongVector.fromMemorySegment(V, s, o, Simd.LE));
            b = b.add(LongVector.fromMemorySegment(V, s, o + w, Simd.LE));
            c = c.add(LongVector.fromMemorySegment(V, s, o + 2 * w, Simd.LE));
            d = d.add(LongVector.fromMemorySegment(V, s, o + 3 * w, Simd.LE));
        }
        return a.add(b).add(c.add(d)).reduceLanes(VectorOperators.ADD);
    }
}
