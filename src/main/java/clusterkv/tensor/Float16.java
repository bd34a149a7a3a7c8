package clusterkv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** IEEE half-precision to float32 conversion of a run of halves (the F16 KV cache). */
public final class Float16 {

    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Float16() {}

    /**
     * Decodes n halves at byte offset {@code offset} into dst[dstOffset ..]. A plain loop: C2 vectorizes
     * {@link Float#float16ToFloat} in it to the hardware's conversion instruction (F16C / AVX-512), which the
     * Vector API (no fp16 lane type) cannot reach. Our earlier rebuild of the bits with integer vector ops ran
     * 1.5x slower from DRAM (11 against 17 GB/s on one core) and 2.2x slower from L2, and did not handle
     * infinities and NaNs (at the level of a whole decode step at 32k the difference was within the noise).
     */
    public static void toFloat(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) dst[dstOffset + i] = Float.float16ToFloat(src.get(LE, offset + 2L * i));
    }

    /**
     * Decodes n halves at byte offset {@code offset} of {@code a} into aDst and of {@code b} into bDst, in one
     * loop: the keys and the values of a tile of the KV cache. Why one loop: a decode step reads short runs of
     * the cache (a sparse selection's clusters are about 80 slots, 10 KB of keys), each starting cold in DRAM,
     * and one loop keeps two streams of misses in flight where two loops kept one; attention over 4 heads'
     * disjoint selections of 32k F16 slots (one thread, 24k slots per layer) went from 0.87-0.97 to 0.67-0.73 ms.
     * A second tile's two streams in the same loop gained nothing more.
     */
    public static void toFloat(MemorySegment a, MemorySegment b, long offset, float[] aDst, float[] bDst, int n) {
        for (int i = 0; i < n; i++) {
            aDst[i] = Float.float16ToFloat(a.get(LE, offset + 2L * i));
            bDst[i] = Float.float16ToFloat(b.get(LE, offset + 2L * i));
        }
    }
}
