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

    public WeightMatrix(String name, GGMLType type, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
        this.kernel = RowKernels.of(name, type);
        this.rowBytes = type.byteSize(cols);
    }

    public static WeightMatrix of(GGUFTensor t) {
        return new WeightMatrix(t.name(), t.type(), Math.toIntExact(t.rows()), Math.toIntExact(t.columns()), t.data());
    }

    public long byteSize() {
        return rowBytes * rows;
    }

    public float dotRow(int row, float[] x, int xOffset) {
        return kernel.dot(data, row * rowBytes, x, xOffset, cols);
    }

    public void dequantizeRow(int row, float[] out, int outOffset) {
        kernel.dequantize(data, row * rowBytes, out, outOffset, cols);
    }

    /** out[r] = row r . x, for all rows (decode: one token). */
    public void matvec(float[] x, float[] out) {
        int chunk = 64;
        int chunks = (rows + chunk - 1) / chunk;
        Parallel.forEach(chunks, c -> {
            int end = Math.min(rows, (c + 1) * chunk);
            for (int r = c * chunk; r < end; r++) out[r] = dotRow(r, x, 0);
        });
    }

    /**
     * Y[t][r] = row r . X[t] for n tokens (prefill): X is [n][cols] and Y is [n][rows], row-major.
     * Each weight row is read once per call, not once per token.
     */
    public void matmul(float[] x, int n, float[] y) {
        int chunk = 16;
        int chunks = (rows + chunk - 1) / chunk;
        Parallel.forEach(chunks, c -> {
            float[] row = new float[cols];
            int end = Math.min(rows, (c + 1) * chunk);
            for (int r = c * chunk; r < end; r++) {
                dequantizeRow(r, row, 0);
                for (int t = 0; t < n; t++) y[t * rows + r] = VectorMath.dot(row, 0, x, t * cols, cols);
            }
        });
    }
}
