package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.SHORT_LE;

/** BF16: the upper 16 bits of a float32 (sign, 8-bit exponent, 7-bit mantissa), little-endian. */
final class BF16Kernel implements RowKernel {
    static final BF16Kernel INSTANCE = new BF16Kernel();

    static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** ggml's fp32 -> bf16: round to nearest even; NaNs stay NaN (quiet bit forced). */
    static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7FFF + ((u >>> 16) & 1))) >>> 16);
    }

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = Simd.bf16(data, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = Simd.bf16(data, offset + 2L * (i + L)).fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        for (; i + L <= n; i += L) a0 = Simd.bf16(data, offset + 2L * i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        float sum = Simd.sum(a0.add(a1));
        for (; i < n; i++) sum += toFloat(data.get(SHORT_LE, offset + 2L * i)) * x[xOffset + i];
        return sum;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        int i = 0;
        for (; i + L <= n; i += L) Simd.bf16(data, offset + 2L * i).intoArray(out, outOffset + i);
        for (; i < n; i++) out[outOffset + i] = toFloat(data.get(SHORT_LE, offset + 2L * i));
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(SHORT_LE, offset + 2L * i, fromFloat(src[srcOffset + i]));
    }
}
