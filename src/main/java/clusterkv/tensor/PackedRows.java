package clusterkv.tensor;

import clusterkv.gguf.GGMLType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A copy of a Q8_0, Q4_0, Q4_K, Q5_K or Q6_K matrix in a layout made for decode (the matrix-vector products of one to a
 * few tokens), with the kernels that read it. About as many bytes as the ggml layout (Q6_K: 31 % more, Q5_K: 57 % more),
 * so a matvec reads about as many.
 * Built once per matrix, on its first matvec.
 *
 * @param <A> the form of the activations the kernels read, made once per call by {@link #prepare}
 */
abstract class PackedRows<A> {
    final int rows;
    final int cols;
    final int blocks;
    final MemorySegment packed;
    /** Owns the packed copy, so that closing the model frees it at once rather than at some GC. */
    private final Arena arena;

    /** The packed form of a matrix, or null for types without one. */
    static PackedRows<?> of(GGMLType type, MemorySegment data, long rowBytes, int rows, int cols) {
        return switch (type) {
            case Q8_0 -> new Q8_0Packed(data, rowBytes, rows, cols);
            case Q4_0 -> new Q4_0Packed(data, rowBytes, rows, cols);
            case Q4_K -> new Q4_KPacked(data, rowBytes, rows, cols);
            case Q5_K -> new Q5_KPacked(data, rowBytes, rows, cols);
            case Q6_K -> new Q6_KPacked(data, rowBytes, rows, cols);
            default -> null;
        };
    }

    /** Whether {@link #of} has a layout for the type. */
    static boolean supports(GGMLType type) {
        return type == GGMLType.Q8_0 || type == GGMLType.Q4_0 || type == GGMLType.Q4_K || type == GGMLType.Q5_K || type == GGMLType.Q6_K;
    }

    PackedRows(int rows, int cols, long bytes) {
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / 32;
        this.arena = Arena.ofShared();
        this.packed = OsMemory.allocate(arena, bytes);
    }

    /** Row ranges handed to {@link #dotRows} start at multiples of this (and end there, or at the last row). */
    abstract int rowGranule();

    /** The n tokens x [n][cols] in the form {@link #dotRows} reads. */
    abstract A prepare(float[] x, int n);

    /**
     * out[t * outStride + r] = row r . (token t of a) for r in [start, end) and every token of a.
     * The arithmetic per token does not depend on how many tokens a holds, so a batched decode step gives
     * each sequence what a lone step would.
     */
    abstract void dotRows(int start, int end, A a, float[] out, int outStride);

    void close() {
        arena.close();
    }
}
