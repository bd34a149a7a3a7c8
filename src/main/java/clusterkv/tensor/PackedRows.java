package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.LE;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * A copy of a Q8_0 or Q4_0 matrix laid out for decode: per row, the blocks' codes back to back (32 or 16
 * bytes each, so vector loads never straddle a block header), then the blocks' fp16 scales together; rows
 * start 64-byte aligned. Same size as the ggml layout, so a matvec reads as many bytes.
 *
 * <p>Why: with ggml's interleaved 34/18-byte blocks every block costs a scalar fp16 load, its conversion and a
 * broadcast (on the same vector ports as the arithmetic), and some code loads straddle cache lines. Here a
 * row's scales are converted L at a time ({@link Simd#halfs}) into a small float buffer, each block's
 * scale is then broadcast straight from memory, and the JIT drops all bounds checks from the inner loop:
 * 5-25% less time per block in our A/B runs, which counts where decode is compute-bound. Built once per
 * matrix, on its first matvec.
 */
abstract class PackedRows {
    final MemorySegment packed;
    /** Owns the packed copy, so that closing the model frees it at once rather than at some GC. */
    private final Arena arena;
    final long rowStride;
    final int cols;
    final int blocks;
    /** Offset of the scales in a packed row. */
    final long scales;

    /** Per thread, four buffers of one row's scales as floats (kernels read up to four rows at once). */
    private static final ThreadLocal<float[][]> SCALES = ThreadLocal.withInitial(() -> new float[4][0]);

    /** The packed form of a matrix, or null for types without one. */
    static PackedRows of(GGMLType type, MemorySegment data, long rowBytes, int rows, int cols) {
        return switch (type) {
            case Q8_0 -> new Q8_0Packed(data, rowBytes, rows, cols);
            case Q4_0 -> new Q4_0Packed(data, rowBytes, rows, cols);
            default -> null;
        };
    }

    /** Packs blocks of {@code blockBytes}: fp16 scale at 0, then {@code codeBytes} of codes. */
    PackedRows(MemorySegment data, long rowBytes, int rows, int cols, int blockBytes, int codeBytes) {
        this.cols = cols;
        this.blocks = cols / 32;
        this.scales = (long) blocks * codeBytes;
        this.rowStride = (scales + 2L * paddedBlocks() + 63) & -64L; // zero scales pad to whole vectors
        this.arena = Arena.ofShared();
        this.packed = arena.allocate(rowStride * rows, 64);
        VectorSpecies<Byte> codeVector = codeBytes == 32 ? ByteVector.SPECIES_256 : ByteVector.SPECIES_128;
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long src = r * rowBytes, dst = r * rowStride;
                for (int b = 0; b < blocks; b++, src += blockBytes) {
                    ByteVector.fromMemorySegment(codeVector, data, src + 2, LE).intoMemorySegment(packed, dst + (long) b * codeBytes, LE);
                    packed.set(SHORT_LE, dst + scales + 2L * b, data.get(SHORT_LE, src));
                }
            }
        });
    }

    /**
     * out[outOffset + r] = row r . x[xOffset ..) for r in [start, end); xBlockSums as for {@link RowKernel#dotRows}.
     * The arithmetic is that of the type's ggml-layout kernel, so the two give the same floats (see WeightMatrix.matvecs).
     */
    abstract void dotRows(int start, int end, float[] x, int xOffset, float[] xBlockSums, float[] out, int outOffset);

    /**
     * dotRows for n tokens, x [n][cols] and out [n][outStride]: out[t * outStride + r] = row r . x[t]. Kernels
     * override it to decode each block once for several tokens; the arithmetic per token stays that of dotRows.
     */
    void dotRows(int start, int end, float[] x, int n, float[][] xBlockSums, float[] out, int outStride) {
        for (int t = 0; t < n; t++) dotRows(start, end, x, t * cols, xBlockSums[t], out, t * outStride);
    }

    /**
     * A thread's buffer i (0-3) for one row's scales as floats (fetch once per call: a ThreadLocal per row
     * costs ~5 % of decode).
     */
    final float[] scaleBuffer(int i) {
        float[][] buffers = SCALES.get();
        if (buffers[i].length < paddedBlocks()) buffers[i] = new float[paddedBlocks()];
        return buffers[i];
    }

    private int paddedBlocks() {
        return (blocks + Simd.L - 1) / Simd.L * Simd.L;
    }

    void close() {
        arena.close();
    }

    /** The codes of packed row r, as a slice indexed from 0 (the JIT then drops the bounds checks of the loop). */
    final MemorySegment codes(int r) {
        return packed.asSlice(r * rowStride, scales);
    }

    /** The scales of packed row r as floats, L at a time. */
    final float[] decodeScales(int r, float[] out) {
        long at = r * rowStride + scales;
        for (int b = 0; b < blocks; b += Simd.L) Simd.halfs(packed, at + 2L * b).intoArray(out, b);
        return out;
    }
}
