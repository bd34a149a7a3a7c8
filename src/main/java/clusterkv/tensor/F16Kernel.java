package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.SHORT_LE;

/** F16: little-endian IEEE half floats. */
final class F16Kernel implements RowKernel {
    static final F16Kernel INSTANCE = new F16Kernel();

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = Simd.f16(data, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = Simd.f16(data, offset + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        for (; i + L <= n; i += L) a0 = Simd.f16(data, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        float sum = Simd.sum(a0.add(a1));
        for (; i < n; i++) sum += Simd.half(data, offset + 2L * i) * x[xOffset + i];
        return sum;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        int i = 0;
        for (; i + L <= n; i += L) Simd.f16(data, offset + 2L * i).intoArray(out, outOffset + i);
        for (; i < n; i++) out[outOffset + i] = Simd.half(data, offset + 2L * i);
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(SHORT_LE, offset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
    }
}
