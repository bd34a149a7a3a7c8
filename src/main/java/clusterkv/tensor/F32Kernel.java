package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.FLOAT_LE;
import static clusterkv.tensor.Simd.L;

/** F32: little-endian IEEE floats. */
final class F32Kernel implements RowKernel {
    static final F32Kernel INSTANCE = new F32Kernel();

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        // Two accumulators: one FMA chain would wait on its own latency every vector.
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = Simd.floats(data, offset + 4L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = Simd.floats(data, offset + 4L * (i + L)).fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        for (; i + L <= n; i += L) a0 = Simd.floats(data, offset + 4L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        float sum = Simd.sum(a0.add(a1));
        for (; i < n; i++) sum += data.get(FLOAT_LE, offset + 4L * i) * x[xOffset + i];
        return sum;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        MemorySegment.copy(data, FLOAT_LE, offset, out, outOffset, n);
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        MemorySegment.copy(src, srcOffset, dst, FLOAT_LE, offset, n);
    }
}
