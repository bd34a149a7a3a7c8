package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/** Measures the machine's memory-read bandwidth the way decode reads weights: a vectorized sum over a large off-heap array. */
public final class MemoryBandwidth {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;

    private MemoryBandwidth() {}

    /** Best of a few passes over 1 GiB, split over the compute threads, in GB/s (10^9 bytes). */
    public static double measureReadGBps() {
        long bytes = 1L << 30;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(bytes, 64);
            seg.fill((byte) 1);
            int parts = Parallel.threads() * 8;
            long part = bytes / parts;
            double best = 0;
            float[] sink = new float[parts];
            for (int pass = 0; pass < 5; pass++) {
                long t0 = System.nanoTime();
                Parallel.forEach(parts, p -> sink[p] = sum(seg, p * part, part));
                double s = (System.nanoTime() - t0) / 1e9;
                best = Math.max(best, bytes / s / 1e9);
            }
            return best;
        }
    }

    private static float sum(MemorySegment seg, long offset, long length) {
        FloatVector a = FloatVector.zero(F), b = FloatVector.zero(F), c = FloatVector.zero(F), d = FloatVector.zero(F);
        long step = 4L * F.vectorByteSize();
        for (long i = offset; i < offset + length; i += step) {
            a = a.add(FloatVector.fromMemorySegment(F, seg, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(F, seg, i + 64, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(F, seg, i + 128, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(F, seg, i + 192, ByteOrder.LITTLE_ENDIAN));
        }
        return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
    }
}
