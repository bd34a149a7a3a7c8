package clusterkv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

final class F16Kernel implements RowKernel {
    static final F16Kernel INSTANCE = new F16Kernel();
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) sum += Float.float16ToFloat(data.get(LE, offset + 2L * i)) * x[xOffset + i];
        return sum;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) out[outOffset + i] = Float.float16ToFloat(data.get(LE, offset + 2L * i));
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(LE, offset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
    }
}
