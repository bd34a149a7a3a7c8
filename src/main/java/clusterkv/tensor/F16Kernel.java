package clusterkv.tensor;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.Simd.SHORT_LE;

/**
 * F16: little-endian IEEE half floats.
 *
 * <p>The Vector API has no fp16 conversion, but the JIT auto-vectorizes a plain loop of
 * {@link Float#float16ToFloat} into the hardware conversion (vcvtph2ps), which also handles subnormals at
 * full speed (a bit-twiddling conversion through a float multiply hits slow microcode for them). So rows
 * are decoded a chunk at a time by such a loop and the dot product runs on the decoded floats.
 */
final class F16Kernel implements RowKernel {
    static final F16Kernel INSTANCE = new F16Kernel();
    private static final int CHUNK = 1024;
    private static final ThreadLocal<float[]> DECODED = ThreadLocal.withInitial(() -> new float[CHUNK]);

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        float[] w = DECODED.get();
        float sum = 0;
        for (int c = 0; c < n; c += CHUNK) {
            int len = Math.min(CHUNK, n - c);
            dequantize(data, offset + 2L * c, w, 0, len);
            sum += VectorMath.dot(w, 0, x, xOffset + c, len);
        }
        return sum;
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int i = 0; i < n; i++) out[outOffset + i] = Float.float16ToFloat(data.get(SHORT_LE, offset + 2L * i));
    }

    @Override
    public void dequantizePair(MemorySegment a, MemorySegment b, long offset, float[] aDst, float[] bDst, int n) {
        Float16.toFloat(a, b, offset, aDst, bDst, n);
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        for (int i = 0; i < n; i++) dst.set(SHORT_LE, offset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
    }
}
