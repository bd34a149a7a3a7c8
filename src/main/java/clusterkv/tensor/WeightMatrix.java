package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import clusterkv.gguf.GGUFTensor;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix of {@code rows x cols} values in one GGML type, rows contiguous in memory
 * (a GGUF tensor of shape {cols, rows}). All arithmetic goes through the type's {@link RowKernel}.
 */
public final class WeightMatrix {

    public final String name;
    public final GGMLType type;
    public final int rows;
    public final int cols;
    public final MemorySegment data;
    private final long rowBytes;
    private final RowKernel kernel;
    private final int chunkRows;
    /**
     * The decode layout of Q8_0, Q4_0, Q4_K, Q5_K and Q6_K matrices (see PackedRows), built by the first matvec: a second copy
     * of the matrix, for faster decode with integer arithmetic on quantized activations. {@code
     * -Dclusterkv.tensor.pack=false} turns it off to save memory; decode then runs the float kernels of the ggml
     * layout on F32 activations (slower, and slightly different numbers).
     */
    private volatile PackedRows<?> packed;
    private static final boolean PACK = !"false".equals(System.getProperty("clusterkv.tensor.pack"));

    public WeightMatrix(String name, GGMLType type, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
        this.kernel = RowKernels.of(name, type);
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': " + cols + " columns is not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        this.rowBytes = type.byteSize(cols);
        int chunk = (int) Math.max(1, Math.min(256, CHUNK_BYTES / Math.max(1, rowBytes)));
        this.chunkRows = chunk;
    }

    /**
     * Whether decode (matvec, and matmul of up to {@link #maxDecodeTokens()} tokens) quantizes the activations
     * of this type's matrices, to Q8_0 or Q8_K blocks as llama.cpp does, for integer dot products.
     */
    public static boolean decodeQuantizesActivations(GGMLType type) {
        return PACK && PackedRows.supports(type);
    }

    public static WeightMatrix of(GGUFTensor t) {
        return new WeightMatrix(t.name(), t.type(), Math.toIntExact(t.rows()), Math.toIntExact(t.columns()), t.data());
    }

    public long byteSize() {
        return rowBytes * rows;
    }

    /** The kernel of this matrix's type. */
    public RowKernel kernel() {
        return kernel;
    }

    public float dotRow(int row, float[] x, int xOffset) {
        return kernel.dot(data, row * rowBytes, x, xOffset, cols);
    }

    public void dequantizeRow(int row, float[] out, int outOffset) {
        kernel.dequantize(data, row * rowBytes, out, outOffset, cols);
    }

    /**
     * out[r] = row r . x, for all rows (decode: one token). Memory-bound: the threads stream the matrix in
     * guided ranges of rows ({@link Parallel#forRangeGuided}: a quarter of the matrix first, then shorter, at
     * least {@link #MATVEC_MIN_TASK_BYTES}). The types with a decode layout quantize x first (Q8_0 blocks for
     * Q8_0 and Q4_0, Q8_K for Q4_K, Q5_K and Q6_K), as llama.cpp does, unless the layout is turned off.
     */
    public void matvec(float[] x, float[] out) {
        PackedRows<?> p = packed();
        if (p != null) {
            guided(p, x, out);
        } else {
            float[] sums = kernel.usesBlockSums() ? RowKernel.blockSums(x, 0, cols) : null;
            Parallel.forRangeGuided(rows, 2, minTaskRows(2), (r0, r1) ->
                    kernel.dotRows(data, r0 * rowBytes, rowBytes, r1 - r0, x, 0, sums, cols, out, r0));
        }
    }

    private <A> void guided(PackedRows<A> p, float[] x, float[] out) {
        A activations = p.prepare(x, 1);
        int granule = Math.max(2, p.rowGranule()); // a range never splits a group of interleaved rows
        Parallel.forRangeGuided(p.rows, granule, minTaskRows(granule), (r0, r1) -> p.dotRows(r0, r1, activations, out, p.rows));
    }

    /** y [n][rows] = the packed kernels over x [n][cols], in ranges of {@code grain} rows. */
    private static <A> void viaPacked(PackedRows<A> p, float[] x, int n, float[] y, int grain) {
        A activations = p.prepare(x, n);
        Parallel.forRange(p.rows, grain, (r0, r1) -> p.dotRows(r0, r1, activations, y, p.rows));
    }

    /** Rows of at least {@link #MATVEC_MIN_TASK_BYTES} of the file's weights, a multiple of granule. */
    private int minTaskRows(int granule) {
        return roundUp((int) Math.max(1, MATVEC_MIN_TASK_BYTES / rowBytes), granule);
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /** Frees the packed decode copy, if one was made; the matrix must not be used afterwards. */
    public synchronized void close() {
        if (packed != null) {
            packed.close();
            packed = null;
        }
    }

    private PackedRows<?> packed() {
        PackedRows<?> p = packed;
        if (p == null && PACK && PackedRows.supports(type)) {
            synchronized (this) {
                p = packed;
                if (p == null) packed = p = PackedRows.of(type, data, rowBytes, rows, cols);
            }
        }
        return p;
    }

    /**
     * Bytes of weights per parallel task of matvec and small matmuls: long sequential runs for the prefetchers
     * (every jump to another thread's range makes them start over) and little per-task overhead, small enough
     * that two threads balance on small matrices and a task's rows stay in L2 for the batched decode. All
     * matvecs of a 1B-shaped Q8_0 decode step: 49-50 ms with 256 KiB against 59 ms with 64 KiB (same runs).
     */
    static final long CHUNK_BYTES = 256 << 10;

    /**
     * The shortest range of a matvec's guided schedule, in bytes of weights. Why guided: each range restarts the
     * prefetchers, so ranges should be long, yet with equal ranges of 768 KiB the two threads finished a matvec
     * up to a range apart and the early one spun (a quarter of the worker's time in JFR); guided ranges start at
     * a quarter of the matrix and shrink to this. All matvecs of a 1B-shaped Q8_0 decode step (KernelBench
     * decode, three alternating pairs): 39.7-40.5 ms with equal 768 KiB ranges, 33.0-33.6 ms guided; whole decode
     * steps of the 1B model, the two schedules alternating every 8 tokens in one process: 19.2-23.2 against
     * 21.4-26.5 tokens/s (three runs). 32 KiB to 512 KiB as the shortest range made no difference beyond noise.
     */
    static final long MATVEC_MIN_TASK_BYTES = 256 << 10;

    /**
     * Y[t][r] = row r . X[t] for n tokens (prefill): X is [n][cols] and Y is [n][rows], row-major.
     * Each weight row is read from memory once per call, not once per token: a few tokens go through the
     * decode kernels over a chunk of rows that stays in cache (see {@link #matvecs}: the same arithmetic as a
     * decode step, so a short prompt chunk and a decode step agree); more tokens go through {@link Gemm}, which
     * decodes each weight once and then runs fp32 FMAs at the core's peak.
     */
    public void matmul(float[] x, int n, float[] y) {
        if (n <= maxDecodeTokens()) viaDecodeKernels(packed(), x, n, y);
        else Gemm.matmul(kernel, type, data, rowBytes, rows, cols, x, n, y);
    }

    /**
     * Up to how many tokens {@link #matmul} and {@link #matvecs} run the decode kernels rather than {@link Gemm}:
     * L (floats per vector: 16 with AVX-512, 8 with AVX2, 4 with 128-bit vectors) for the types with a decode layout,
     * 4 for the others. The decode kernels run each token over a group of rows while the group is in cache, so
     * their cost grows with n, in integer dot products as wide as the vectors; Gemm decodes each weight once per
     * call and then costs about the same for any n up to L (one vector of tokens per FMA) and 2L. Whole chunks of
     * n tokens appended to a session of the 1B shape, ms, decode kernels against [Gemm], 2 cores of a Zen 4,
     * 2026-12-07: with AVX-512, Q8_0 n=4 120 [437-519], n=8 177-184 [448-521], n=16 335-340 [487-519], n=24 487-515
     * [620-650], n=32 651-736 [636-654] (Q4_0 and Q4_K_M alike); limited to AVX2, Q8_0 n=8 255-258 [431], n=12
     * 342-488 [467-484], n=16 458-674 [447-528]; with 128-bit vectors n=4 295-318 [353-451], n=8 558-587
     * [424-536]. Earlier (2026-12-04, KernelBench batch): F16 n=4 264 [273], n=6 358 [274].
     */
    int maxDecodeTokens() {
        return maxDecodeTokens(type);
    }

    /** {@link #maxDecodeTokens()} for the matrices of a type: up to how many sequences a batched decode step computes as single steps do. */
    public static int maxDecodeTokens(GGMLType type) {
        return decodeQuantizesActivations(type) ? Math.max(4, Simd.L) : 4; // the types with a decode layout
    }

    /**
     * Y[t][r] = row r . X[t] for the next tokens of n different sequences (a batched decode step), X [n][cols]
     * and Y [n][rows] row-major. Each weight comes from memory once for all n tokens: every thread takes a
     * chunk of rows in the decode layout, as matvec does, and runs the decode kernels on it for every token
     * while it is in cache (each token's activations quantized on their own). Up to {@link #maxDecodeTokens()}
     * tokens the result is that of n {@link #matvec} calls, the same floats (only the order of a vector's final
     * sum over its lanes, which the Vector API leaves open, can differ between interpreted and compiled code;
     * with quantized activations such a last-bit difference upstream can move an activation's code by one step).
     * More go through {@link Gemm}.
     */
    public void matvecs(float[] x, int n, float[] y) {
        if (n == 1) matvec(x, y);
        else if (n <= maxDecodeTokens()) viaDecodeKernels(packed(), x, n, y);
        else Gemm.matmul(kernel, type, data, rowBytes, rows, cols, x, n, y);
    }

    /**
     * The decode kernels (the packed layout when p is not null) over chunks of rows that stay in cache while
     * every token is computed against them.
     */
    private void viaDecodeKernels(PackedRows<?> p, float[] x, int n, float[] y) {
        if (p != null) {
            viaPacked(p, x, n, y, roundUp(chunkRows, p.rowGranule()));
            return;
        }
        float[][] sums = new float[n][];
        if (kernel.usesBlockSums()) {
            for (int t = 0; t < n; t++) sums[t] = RowKernel.blockSums(x, t * cols, cols);
        }
        Parallel.forRange(rows, chunkRows, (r0, r1) -> {
            for (int t = 0; t < n; t++) kernel.dotRows(data, r0 * rowBytes, rowBytes, r1 - r0, x, t * cols, sums[t], cols, y, t * rows + r0);
        });
    }
}
