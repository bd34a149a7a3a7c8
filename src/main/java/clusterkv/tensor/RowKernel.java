package clusterkv.tensor;

import java.lang.foreign.MemorySegment;

/** Arithmetic on one row of a weight type: what differs between quantization formats. */
public interface RowKernel {

    /** Dot product of n encoded values at {@code offset} (bytes) with x[xOffset .. xOffset+n). */
    float dot(MemorySegment data, long offset, float[] x, int xOffset, int n);

    /** Decodes n values at {@code offset} (bytes) into out[outOffset .. outOffset+n). */
    void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n);

    /**
     * Decodes n values at {@code offset} of {@code a} into aDst and as many at the same offset of {@code b} into bDst,
     * from index 0: the keys and the values of a tile of the KV cache. Kernels override it with one loop over both, so
     * that two streams of misses are in flight: a decode step reads short runs of the cache, each starting cold (F16;
     * Q8_0 and Q4_0 alternating K and V every block, or every 8 or 64 blocks, measured no faster than one after the other).
     */
    default void dequantizePair(MemorySegment a, MemorySegment b, long offset, float[] aDst, float[] bDst, int n) {
        dequantize(a, offset, aDst, 0, n);
        dequantize(b, offset, bDst, 0, n);
    }

    /** Encodes n floats (a multiple of the block size) into dst at {@code offset} (bytes). */
    void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset);

    /**
     * Whether {@link #dotRows} reads {@code xBlockSums}: true for the types whose values carry an additive
     * offset per block (Q4_0's -8, Q5_0's -16, Q4_1's and Q5_1's m, the K-quants' mins), whose dot products
     * then need offset * sum(x over the block), a sum that is the same for every row.
     */
    default boolean usesBlockSums() {
        return false;
    }

    /**
     * out[outOffset + i] = (row i) . x[xOffset .. xOffset+n) for the {@code count} rows of n values at
     * {@code offset + i * rowBytes}. Kernels override it to compute several rows per pass over x, or to call
     * their own row loop directly: the block-offset formats each repeat the same three-line dot/dotRows
     * because a shared base class calling an abstract row() per row made Q4_1 decode 8 % slower (28.5 against
     * 26.1 tokens/s on the 1B shape, same runs).
     *
     * @param xBlockSums when {@link #usesBlockSums()}: element b is the sum of x[xOffset + 32b .. xOffset + 32b + 32)
     *                   (see {@link #blockSums}); otherwise ignored and may be null
     */
    default void dotRows(MemorySegment data, long offset, long rowBytes, int count,
                         float[] x, int xOffset, float[] xBlockSums, int n, float[] out, int outOffset) {
        for (int i = 0; i < count; i++) out[outOffset + i] = dot(data, offset + i * rowBytes, x, xOffset, n);
    }

    /** The xBlockSums argument of {@link #dotRows} for x[xOffset .. xOffset+n); n a multiple of 32. */
    static float[] blockSums(float[] x, int xOffset, int n) {
        return Simd.blockSums(x, xOffset, n, 32);
    }
}
