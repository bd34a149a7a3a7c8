package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The machine's fp32 FMA peak as this JVM's vectors reach it: the ceiling for prefill, whose GEMMs are bound by
 * arithmetic. Measured with register-resident FMA chains on the compute threads.
 */
public final class FmaPeak {

    private FmaPeak() {}

    /** Best of a few runs of every compute thread's FMA chains, in GFLOP/s (an FMA is 2 FLOPs); about 0.2 s. */
    public static double measureGflops() {
        double best = 0;
        int threads = Parallel.threads();
        for (int rep = 0; rep < 5; rep++) {
            long iters = 20_000_000;
            float[] sink = new float[threads];
            long t0 = System.nanoTime();
            Parallel.forRange(threads, 1, (a, b) -> sink[a] = chains(iters));
            double seconds = (System.nanoTime() - t0) * 1e-9;
            best = Math.max(best, threads * iters * 12.0 * 2 * Simd.L / seconds / 1e9);
        }
        return best;
    }

    /** 12 independent FMA chains: enough to cover the FMA latency on two FMA ports, and to fit 16 registers. */
    private static float chains(long iters) {
        var f = Simd.F;
        FloatVector a0 = FloatVector.broadcast(f, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
                a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        FloatVector m = FloatVector.broadcast(f, 0.9999f), c = FloatVector.broadcast(f, 0.0001f);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c); a5 = a5.fma(m, c);
            a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
