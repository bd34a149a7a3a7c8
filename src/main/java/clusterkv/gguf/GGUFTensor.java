package clusterkv.gguf;

import java.lang.foreign.MemorySegment;

/**
 * One tensor of a GGUF file. {@code shape} is in ggml order: shape[0] is the innermost
 * (contiguous) dimension, so a weight matrix of {@code rows x cols} has shape {cols, rows}.
 */
public record GGUFTensor(String name, long[] shape, GGMLType type, long offset, MemorySegment data) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Number of rows when read as a matrix: product of all but the innermost dimension. */
    public long rows() {
        return elementCount() / shape[0];
    }

    public long columns() {
        return shape[0];
    }

    public long byteSize() {
        return type.byteSize(elementCount());
    }
}
