package clusterkv.tensor;

import clusterkv.gguf.GGMLType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static clusterkv.tensor.GgmlReference.putF16;

/** Random encoded rows and the tolerance of float32 kernels against the double-precision reference. */
final class TestData {

    static final GGMLType[] TYPES = {
            GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0, GGMLType.Q4_0,
            GGMLType.Q4_1, GGMLType.Q5_0, GGMLType.Q5_1, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K};

    private TestData() {}

    /** A row length for tests: several blocks, and for the float types a length that leaves a scalar tail. */
    static int length(GGMLType type) {
        return switch (type.blockSize) {
            case 1 -> 77;
            case 32 -> 320;
            default -> 512;
        };
    }

    /**
     * Random encoded values for n elements: random bytes for the codes (every bit pattern is valid), with the
     * fp16 scale fields replaced by sane finite values (random sign, magnitudes 1e-3 .. 0.4) so that sums
     * stay in range. With {@code specials}, F16 and BF16 keep fully random bits (NaN, infinities,
     * subnormals); without, they are finite numbers of moderate size.
     */
    static byte[] randomBlocks(GGMLType type, int n, Random rnd, boolean specials) {
        byte[] raw = new byte[Math.toIntExact(type.byteSize(n))];
        rnd.nextBytes(raw);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) putF32(raw, 4 * i, (float) rnd.nextGaussian());
            }
            case F16 -> {
                if (!specials) for (int i = 0; i < n; i++) putF16(raw, 2 * i, (float) rnd.nextGaussian());
            }
            case BF16 -> {
                if (!specials) {
                    for (int i = 0; i < n; i++) {
                        int bits = Float.floatToRawIntBits((float) rnd.nextGaussian()) >>> 16;
                        raw[2 * i] = (byte) bits;
                        raw[2 * i + 1] = (byte) (bits >> 8);
                    }
                }
            }
            case Q8_0 -> everyBlock(raw, 34, b -> putF16(raw, b, scale(rnd)));
            case Q4_0 -> everyBlock(raw, 18, b -> putF16(raw, b, scale(rnd)));
            case Q4_1 -> everyBlock(raw, 20, b -> {
                putF16(raw, b, Math.abs(scale(rnd)));
                putF16(raw, b + 2, 8 * scale(rnd));
            });
            case Q5_0 -> everyBlock(raw, 22, b -> putF16(raw, b, scale(rnd) / 2));
            case Q5_1 -> everyBlock(raw, 24, b -> {
                putF16(raw, b, Math.abs(scale(rnd)) / 2);
                putF16(raw, b + 2, 8 * scale(rnd));
            });
            case Q4_K -> everyBlock(raw, 144, b -> {
                putF16(raw, b, Math.abs(scale(rnd)) / 16);
                putF16(raw, b + 2, Math.abs(scale(rnd)) / 16);
            });
            case Q5_K -> everyBlock(raw, 176, b -> {
                putF16(raw, b, Math.abs(scale(rnd)) / 32);
                putF16(raw, b + 2, Math.abs(scale(rnd)) / 16);
            });
            case Q6_K -> everyBlock(raw, 210, b -> putF16(raw, b + 208, scale(rnd) / 64));
            default -> throw new IllegalArgumentException(type.toString());
        }
        return raw;
    }

    private static void everyBlock(byte[] raw, int blockBytes, java.util.function.IntConsumer at) {
        for (int b = 0; b < raw.length; b += blockBytes) at.accept(b);
    }

    private static float scale(Random rnd) {
        return (float) (Math.exp(rnd.nextDouble(Math.log(1e-3), Math.log(0.4))) * (rnd.nextBoolean() ? 1 : -1));
    }

    static void putF32(byte[] raw, int at, float v) {
        int bits = Float.floatToRawIntBits(v);
        for (int k = 0; k < 4; k++) raw[at + k] = (byte) (bits >> 8 * k);
    }

    static float[] gaussian(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** An off-heap segment holding raw at {@code offset} (odd offsets test unaligned access). */
    static MemorySegment segment(byte[] raw, long offset, long extra) {
        MemorySegment s = Arena.ofAuto().allocate(offset + raw.length + extra, 1);
        MemorySegment.copy(raw, 0, s, ValueLayout.JAVA_BYTE, offset, raw.length);
        return s;
    }

    /**
     * Tolerance of a float32 dot product of n terms against the exact one: the JDK's float arithmetic
     * rounds each product, scale application and addition once, and a sum of n terms in float32 is within
     * (n - 1) * u * sum|terms| of the exact sum (u = 2^-24) whatever the order of additions; we allow
     * 2 * (n + 64) * u * sum(|term magnitudes|), the 64 covering the per-block scale and offset steps.
     * {@code magnitudes} are the sizes of the terms the kernel actually adds (scale * code and offset
     * separately, see GgmlReference.magnitudes), so that cancellation between them is accounted for.
     */
    static double tolerance(double[] magnitudes, float[] x, int xOffset, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += magnitudes[i] * Math.abs(x[xOffset + i]);
        return 2.0 * (n + 64) * 0x1p-24 * sum + Float.MIN_NORMAL;
    }

    static double referenceDot(double[] values, float[] x, int xOffset, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += values[i] * x[xOffset + i];
        return sum;
    }

    static byte[] slice(byte[] raw, long from, long length) {
        byte[] out = new byte[Math.toIntExact(length)];
        System.arraycopy(raw, Math.toIntExact(from), out, 0, out.length);
        return out;
    }
}
