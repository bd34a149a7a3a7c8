package clusterkv.tensor;

import clusterkv.gguf.GGMLType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Generated weights and activations for the tensor benchmarks (the kernels' speed does not depend on the values). */
final class BenchWeights {

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BenchWeights() {}

    /**
     * A rows x cols matrix of random codes with sane scale fields: random fp16 scales could be subnormal or
     * huge, which would time the slow paths of the conversion instead of the kernel.
     */
    static WeightMatrix random(Arena arena, GGMLType type, int rows, int cols, long seed) {
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
            case Q8_0, Q4_0 -> { for (long b = 0; b < bytes; b += block) s.set(HALF, b, scale); }
            // Clears the top exponent bit and one more: finite values of magnitude below 2.
            case F16 -> { for (long b = 0; b < bytes; b += 2) s.set(HALF, b, (short) (s.get(HALF, b) & 0xBBFF)); }
            default -> throw new IllegalArgumentException("no generator for " + type + " (use Q8_0, Q4_0 or F16)");
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
