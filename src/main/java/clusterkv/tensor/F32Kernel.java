package clusterkv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

final class F32Kernel implements RowKernel {
    static final F32Kernel INSTANCE = new F32Kernel();
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        float sum = 0;
        for (int i = 0; i < n; i++) sum += data.get(LE, offset + 4L * i) * x[xOffset + i];
        return sum;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        MemorySegment.copy(data, LE, offset, out, outOffset, n);
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        MemorySegment.copy(src, srcOffset, dst, LE, offset, n);
    }
}
