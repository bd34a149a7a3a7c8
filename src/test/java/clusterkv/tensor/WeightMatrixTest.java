package clusterkv.tensor;

import clusterkv.gguf.GGMLType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** matvec, matmul and matvecs against the double-precision reference (and each other), for odd shapes and 1 or 2 threads. */
class WeightMatrixTest {

    private static final String ALL = "F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K";
    /**
     * Row counts around the 12-row gemm tiles and 48-row groups, and above matvec's 256-row maximum chunk
     * (so that two threads share the rows).
     */
    private static final int[] ROWS = {1, 3, 13, 37, 101, 601};

    @AfterAll
    static void restoreThreads() {
        Parallel.setThreads(Runtime.getRuntime().availableProcessors());
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void matvecEqualsReference(GGMLType type) {
        Random rnd = new Random(type.ordinal());
        for (int threads = 1; threads <= 2; threads++) {
            Parallel.setThreads(threads);
            for (int rows : ROWS) {
                Matrix m = new Matrix(type, rows, TestData.length(type), rnd);
                float[] x = TestData.gaussian(rnd, m.cols);
                float[] out = new float[rows];
                m.w.matvec(x, out);
                float[] seen = m.asDecodeSeesIt(x, 0, 1);
                for (int r = 0; r < rows; r++) {
                    assertEquals(m.expected(r, seen, 0), out[r], m.tolerance(r, seen, 0), type + " " + rows + "x" + m.cols + " row " + r + ", threads " + threads);
                    assertEquals(m.expected(r, x, 0), m.w.dotRow(r, x, 0), m.tolerance(r, x, 0), type + " dotRow " + r);
                }
            }
        }
    }

    /**
     * Q8_0 decode interleaves rows in groups of 32 (16 with AVX2; the last group padded): long rows (8192 and
     * 4192 = 131 blocks columns), row counts on both sides of a group boundary, one token and batches of them
     * (every token of a batch quantized on its own).
     */
    @Test
    void interleavedQ8_0RowsEqualReference() {
        Random rnd = new Random(8192);
        for (int threads = 1; threads <= 2; threads++) {
            Parallel.setThreads(threads);
            for (int cols : new int[] {8192, 4192}) {
                for (int rows : new int[] {1, 7, 31, 32, 33, 65}) {
                    Matrix m = new Matrix(GGMLType.Q8_0, rows, cols, rnd);
                    float[] x = TestData.gaussian(rnd, m.cols), out = new float[rows];
                    m.w.matvec(x, out);
                    float[] seen = m.asDecodeSeesIt(x, 0, 1);
                    for (int r = 0; r < rows; r++) {
                        assertEquals(m.expected(r, seen, 0), out[r], m.tolerance(r, seen, 0), rows + "x" + cols + " row " + r + ", threads " + threads);
                    }
                    int n = Math.min(7, m.w.maxDecodeTokens()); // a batch the decode kernels take on every vector shape
                    float[] xs = TestData.gaussian(rnd, n * m.cols), ys = new float[n * rows];
                    m.w.matvecs(xs, n, ys);
                    float[] seenAll = m.asDecodeSeesIt(xs, 0, n);
                    for (int t = 0; t < n; t++) {
                        for (int r = 0; r < rows; r++) {
                            assertEquals(m.expected(r, seenAll, t * cols), ys[t * rows + r], m.tolerance(r, seenAll, t * cols),
                                    rows + "x" + cols + ", token " + t + " of " + n + ", row " + r + ", threads " + threads);
                        }
                    }
                }
            }
        }
    }

    /**
     * The integer decode kernels turn fp16 scales into floats by moving their bits, after each group's scales were
     * multiplied by a power of two at packing (RowGroups.scaleShift); Q6_K's d is widened to float32 at packing.
     * Scales of every kind, at every scale field of each type (Q4_K's and Q5_K's d and dmin):
     * zero, subnormal (0x0001 .. 0x03FF), smallest normal, large, both signs; rows 0-15 with tiny scales only, so
     * that a group's shift is the largest, rows 16-39 with every kind mixed, so that it is small. Codes take every
     * value (-128 included).
     */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void scalesOfEveryKindEqualReference(GGMLType type) {
        Random rnd = new Random(16);
        int rows = 40, cols = 768;
        short[] kinds = {0x0000, (short) 0x8000, 0x0001, (short) 0x8001, 0x0155, 0x03FF, (short) 0x83FF, 0x0400, (short) 0x8400, 0x3C00, (short) 0xC7FF, 0x4BFF};
        short[] tiny = {0x0001, (short) 0x8002, 0x0155, 0x03FF, 0x0000, (short) 0x83FF};
        int blockBytes = type.bytesPerBlock, blocksPerRow = cols / type.blockSize;
        int[] fields = switch (type) {
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> new int[] {0};
        };
        byte[] raw = TestData.randomBlocks(type, rows * cols, rnd, false);
        for (int b = 0; b < raw.length / blockBytes; b++) {
            short[] from = b / blocksPerRow < 16 ? tiny : kinds;
            for (int f = 0; f < fields.length; f++) {
                short h = from[(b + 5 * f) % from.length];
                raw[blockBytes * b + fields[f]] = (byte) h;
                raw[blockBytes * b + fields[f] + 1] = (byte) (h >> 8);
            }
        }
        Matrix m = new Matrix(type, rows, cols, raw);
        float[] x = TestData.gaussian(rnd, cols), out = new float[rows];
        m.w.matvec(x, out);
        float[] seen = m.asDecodeSeesIt(x, 0, 1);
        for (int r = 0; r < rows; r++) assertEquals(m.expected(r, seen, 0), out[r], m.tolerance(r, seen, 0), type + " row " + r);
    }

    /**
     * Q4_0's decode kernel sums (codes - 8) . x codes of a block in 16-bit lanes, modulo 2^16 on the way
     * (RowGroups.nibbleDot16): the extremes of that sum, every code 0 or every code 15 against every activation
     * code at +127 or -127 (-32512 .. 32512), codes alternating 0 and 15, and one row of every code, in groups
     * of 16 (AVX2), 32 (AVX-512) and 8 rows (128-bit).
     */
    @Test
    void q4_0DotProductsAtTheEndsOfTheirRangeEqualReference() {
        int rows = 40, cols = 256;
        byte[] raw = new byte[rows * cols / 32 * 18];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / 32; b++) {
                int at = (r * cols / 32 + b) * 18;
                raw[at + 1] = 0x3C; // d = 1.0
                for (int j = 0; j < 16; j++) {
                    int low = switch (r % 4) { case 0 -> 0; case 1 -> 15; case 2 -> (j % 2) * 15; default -> j; };
                    int high = r % 4 == 3 ? 15 - j : low;
                    raw[at + 2 + j] = (byte) (low | high << 4);
                }
            }
        }
        Matrix m = new Matrix(GGMLType.Q4_0, rows, cols, raw);
        for (float sign : new float[] {1, -1}) {
            float[] x = new float[cols], out = new float[rows];
            for (int c = 0; c < cols; c++) x[c] = c < 128 ? sign : (c % 2 == 0 ? sign : -sign);
            m.w.matvec(x, out);
            float[] seen = m.asDecodeSeesIt(x, 0, 1);
            for (int r = 0; r < rows; r++) assertEquals(m.expected(r, seen, 0), out[r], m.tolerance(r, seen, 0), "row " + r + ", x sign " + sign);
        }
    }

    /**
     * Odd numbers of blocks (Q4_0 stores scales two blocks to a lane; 352 columns are 11 blocks) and of
     * super-blocks (768 columns, 3), around group boundaries, one token and a batch.
     */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void oddBlockCountsEqualReference(GGMLType type) {
        Random rnd = new Random(352 + type.ordinal());
        int cols = type.blockSize == 32 ? 352 : 768;
        for (int rows : new int[] {1, 15, 17, 33}) {
            Matrix m = new Matrix(type, rows, cols, rnd);
            int n = 3;
            float[] xs = TestData.gaussian(rnd, n * cols), ys = new float[n * rows];
            m.w.matvecs(xs, n, ys);
            float[] seen = m.asDecodeSeesIt(xs, 0, n);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(m.expected(r, seen, t * cols), ys[t * rows + r], m.tolerance(r, seen, t * cols), type + " " + rows + "x" + cols + " token " + t + " row " + r);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void matmulEqualsReference(GGMLType type) {
        Random rnd = new Random(50 + type.ordinal());
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 33, 70}; // both sides of maxDecodeTokens() with 4, 8 and 16 lanes
        for (int threads = 1; threads <= 2; threads++) {
            Parallel.setThreads(threads);
            for (int rows : ROWS) {
                Matrix m = new Matrix(type, rows, TestData.length(type), rnd);
                for (int n : tokens) {
                    float[] x = TestData.gaussian(rnd, n * m.cols);
                    float[] y = new float[n * rows];
                    m.w.matmul(x, n, y);
                    float[] seen = n <= m.w.maxDecodeTokens() ? m.asDecodeSeesIt(x, 0, n) : x;
                    for (int t = 0; t < n; t++) {
                        for (int r = 0; r < rows; r++) {
                            assertEquals(m.expected(r, seen, t * m.cols), y[t * rows + r], m.tolerance(r, seen, t * m.cols),
                                    type + " " + rows + "x" + m.cols + ", n=" + n + ", token " + t + ", row " + r + ", threads " + threads);
                        }
                    }
                }
            }
        }
    }

    /**
     * A batched decode step: up to maxDecodeTokens() tokens, n matvecs up to the order of the final sum over
     * a vector's lanes (the kernels do the same arithmetic per token, but the Vector API leaves the order of
     * reduceLanes(ADD) open, and the interpreter and the JIT differ); past it, Gemm against the reference.
     */
    @ParameterizedTest
    @EnumSource(value = GGMLType.class, names = ALL, mode = EnumSource.Mode.MATCH_ANY)
    void matvecsEqualMatvecPerToken(GGMLType type) {
        Random rnd = new Random(90 + type.ordinal());
        for (int threads = 1; threads <= 2; threads++) {
            Parallel.setThreads(threads);
            for (int rows : ROWS) {
                Matrix m = new Matrix(type, rows, TestData.length(type), rnd);
                for (int n = 1; n <= m.w.maxDecodeTokens() + 2; n++) {
                    float[] x = TestData.gaussian(rnd, n * m.cols);
                    float[] y = new float[n * rows];
                    m.w.matvecs(x, n, y);
                    for (int t = 0; t < n; t++) {
                        float[] alone = new float[rows];
                        m.w.matvec(java.util.Arrays.copyOfRange(x, t * m.cols, (t + 1) * m.cols), alone);
                        for (int r = 0; r < rows; r++) {
                            String where = type + " " + rows + "x" + m.cols + ", n=" + n + ", token " + t + ", row " + r + ", threads " + threads;
                            if (n <= m.w.maxDecodeTokens()) assertEquals(alone[r], y[t * rows + r], m.laneOrderTolerance(r, x, t * m.cols), where);
                            else assertEquals(m.expected(r, x, t * m.cols), y[t * rows + r], m.tolerance(r, x, t * m.cols), where);
                        }
                    }
                }
            }
        }
    }

    /** A random matrix with its reference values. */
    private static final class Matrix {
        final GGMLType type;
        final int cols;
        final WeightMatrix w;
        final double[][] values, magnitudes;

        Matrix(GGMLType type, int rows, int cols, Random rnd) {
            this(type, rows, cols, TestData.randomBlocks(type, rows * cols, rnd, false));
        }

        Matrix(GGMLType type, int rows, int cols, byte[] raw) {
            this.type = type;
            this.cols = cols;
            long rowBytes = type.byteSize(cols);
            MemorySegment seg = TestData.segment(raw, 1, 0).asSlice(1);
            w = new WeightMatrix("test", type, rows, cols, seg);
            values = new double[rows][];
            magnitudes = new double[rows][];
            for (int r = 0; r < rows; r++) {
                byte[] row = TestData.slice(raw, r * rowBytes, rowBytes);
                values[r] = GgmlReference.dequantize(type, row, cols);
                magnitudes[r] = GgmlReference.magnitudes(type, row, cols);
            }
        }

        /**
         * n tokens of x as the decode kernels see them: Q8_0's and Q4_0's quantize the activations to Q8_0 blocks,
         * Q4_K's and Q6_K's to Q8_K blocks (rounded to float here: an error of 2^-24 per value, within the tolerance).
         */
        float[] asDecodeSeesIt(float[] x, int offset, int n) {
            if (!WeightMatrix.decodeQuantizesActivations(type)) return x;
            float[] seen = x.clone();
            for (int t = 0; t < n; t++) {
                int at = offset + t * cols;
                if (type == GGMLType.Q8_0 || type == GGMLType.Q4_0) {
                    System.arraycopy(GgmlReference.q8_0Activations(x, at, cols), 0, seen, at, cols);
                } else {
                    double[] q = GgmlReference.q8_KActivations(x, at, cols);
                    for (int i = 0; i < cols; i++) seen[at + i] = (float) q[i];
                }
            }
            return seen;
        }

        double expected(int r, float[] x, int xOffset) {
            return TestData.referenceDot(values[r], x, xOffset, cols);
        }

        double tolerance(int r, float[] x, int xOffset) {
            return TestData.tolerance(magnitudes[r], x, xOffset, cols);
        }

        /** Two sums of the same L <= 16 lane values in different orders differ by at most 2 * 16 * u * sum|terms|. */
        double laneOrderTolerance(int r, float[] x, int xOffset) {
            double sum = 0;
            for (int i = 0; i < cols; i++) sum += magnitudes[r][i] * Math.abs(x[xOffset + i]);
            return 2 * 16 * 0x1p-24 * sum + Float.MIN_NORMAL;
        }
    }
}
