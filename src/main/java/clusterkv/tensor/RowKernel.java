package clusterkv.tensor;

import java.lang.foreign.MemorySegment;

/** Arithmetic on one row of a weight type: what differs between quantization formats. */
public interface RowKernel {

    /** Dot product of n encoded values at {@code offset} (bytes) with x[xOffset .. xOffset+n). */
    float dot(MemorySegment data, long offset, float[] x, int xOffset, int n);

    /** Decodes n values at {@code offset} (bytes) into out[outOffset .. outOffset+n). */
    void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n);

    /** Encodes n floats (a multiple of the block size) into dst at {@code offset} (bytes). */
    void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset);
}
