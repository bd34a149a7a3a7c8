package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.LE;
import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * A copy of a Q8_0 or Q4_0 matrix laid out for decode: the blocks' codes (32 or 16 bytes each, so vector
 * loads never straddle a block header) in column tiles, then the blocks' fp16 scales, row by row. A tile holds
 * {@code tileBlocks} blocks of every row, row after row, so a range of rows reads each tile as one
 * sequential run; regions start 64-byte aligned. Same size as the ggml layout, so a matvec reads as many bytes.
 *
 * <p>Why: with ggml's interleaved 34/18-byte blocks every block costs a scalar fp16 load, its conversion and a
 * broadcast (on the same vector ports as the arithmetic), and some code loads straddle cache lines. Here a
 * row's scales are converted L at a time ({@link Simd#halfs}) into a small float buffer, each block's
 * scale is then broadcast straight from memory, and the JIT drops all bounds checks from the inner loop:
 * 5-25% less time per block in our A/B runs, which counts where decode is compute-bound. Tiles, because a
 * long row's x no longer sits in L1 beside the weights streaming through it: see {@link Q8_0Packed}. Built
 * once per matrix, on its first matvec.
 */
abstract class PackedRows {
    final MemorySegment packed;
    /** Owns the packed copy, so that closing the model frees it at once rather than at some GC. */
    private final Arena arena;
    final int rows;
    final int cols;
    final int blocks;
    /** Blocks per column tile (the last tile may be narrower), and the number of tiles. */
    final int tileBlocks, tiles;
    private final int codeBytes;
    /** Where the scales start, and the bytes of one row's scales. */
    private final long scales, scaleStride;

    /** A tile width that makes each row one tile. */
    static final int WHOLE_ROW = 1 << 30;

    /** Per thread, two buffers of one row's scales as floats (kernels read up to two rows at once). */
    private static final ThreadLocal<float[][]> SCALES = ThreadLocal.withInitial(() -> new float[2][0]);

    /** The packed form of a matrix, or null for types without one. */
    static PackedRows of(GGMLType type, MemorySegment data, long rowBytes, int rows, int cols) {
        return switch (type) {
            case Q8_0 -> new Q8_0Packed(data, rowBytes, rows, cols);
            case Q4_0 -> new Q4_0Packed(data, rowBytes, rows, cols);
            default -> null;
        };
    }

    /** Packs blocks of {@code blockBytes}: fp16 scale at 0, then {@code codeBytes} of codes; column tiles of {@code tileBlocks} blocks. */
    PackedRows(MemorySegment data, long rowBytes, int rows, int cols, int blockBytes, int codeBytes, int tileBlocks) {
        if (tileBlocks % Simd.L != 0) throw new IllegalArgumentException("tiles must hold whole vectors of scales: " + tileBlocks);
        this.rows = rows;
        this.cols = cols;
        this.blocks = cols / 32;
        this.codeBytes = codeBytes;
        this.tileBlocks = tileBlocks;
        this.tiles = Math.max(1, (blocks + tileBlocks - 1) / tileBlocks);
        this.scales = ((long) rows * blocks * codeBytes + 63) & -64L;
        this.scaleStride = 2L * paddedBlocks(); // zero scales pad to whole vectors
        this.arena = Arena.ofShared();
        this.packed = arena.allocate(scales + scaleStride * rows, 64);
        VectorSpecies<Byte> codeVector = codeBytes == 32 ? ByteVector.SPECIES_256 : ByteVector.SPECIES_128;
        Parallel.forRange(rows, 64, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                long src = r * rowBytes;
                for (int b = 0; b < blocks; b++, src += blockBytes) {
                    int tile = b / tileBlocks;
                    long dst = codesAt(r, tile) + (long) (b - tile * tileBlocks) * codeBytes;
                    ByteVector.fromMemorySegment(codeVector, data, src + 2, LE).intoMemorySegment(packed, dst, LE);
                    packed.set(SHORT_LE, scales + r * scaleStride + 2L * b, data.get(SHORT_LE, src));
                }
            }
        });
    }

    /** First block of tile t. */
    final int tileStart(int t) {
        return t * tileBlocks;
    }

    /** One past the last block of tile t. */
    final int tileEnd(int t) {
        return Math.min(blocks, (t + 1) * tileBlocks);
    }

    private long codesAt(int r, int tile) {
        long before = (long) rows * tileStart(tile) * codeBytes; // the full tiles before this one
        return before + r * rowCodeBytes(tile);
    }

    /** Bytes of one row's codes in tile t. */
    private long rowCodeBytes(int t) {
        return (long) (tileEnd(t) - tileStart(t)) * codeBytes;
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
     * A thread's buffer i (0 or 1) for one row's scales as floats (fetch once per call: a ThreadLocal per row
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

    /** The codes of row r in tile t, as a slice indexed from 0 (the JIT then drops the bounds checks of the loop). */
    final MemorySegment codes(int r, int t) {
        return packed.asSlice(codesAt(r, t), rowCodeBytes(t));
    }

    /** The scales of row r's blocks [b0, b1) as floats at out[b0 ..), L at a time (b0 a multiple of L). */
    final float[] decodeScales(int r, float[] out, int b0, int b1) {
        long at = scales + r * scaleStride;
        for (int b = b0; b < b1; b += Simd.L) Simd.halfs(packed, at + 2L * b).intoArray(out, b);
        return out;
    }

    /** All of row r's scales as floats. */
    final float[] decodeScales(int r, float[] out) {
        return decodeScales(r, out, 0, blocks);
    }
}
