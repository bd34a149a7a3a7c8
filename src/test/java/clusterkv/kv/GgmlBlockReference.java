package clusterkv.kv;

/**
 * ggml's reference quantizers (quantize_row_q8_0_ref, quantize_row_q4_0_ref) and their dequantizers, transcribed
 * here from ggml-quants.c for the tests, with C's float arithmetic: what a value stored in a Q8_0 or Q4_0 KV
 * cache must read back as.
 */
final class GgmlBlockReference {

    private GgmlBlockReference() {}

    /** x after a round trip through the type, in place; n a multiple of 32 (F32: unchanged, F16: rounded to half). */
    static void roundTrip(KVType type, float[] x, int off, int n) {
        for (int b = off; b < off + n; b += type == KVType.F32 || type == KVType.F16 ? n : 32) {
            switch (type) {
                case F32 -> {}
                case F16 -> { for (int i = off; i < off + n; i++) x[i] = Float.float16ToFloat(Float.floatToFloat16(x[i])); }
                case Q8_0 -> q8_0(x, b);
                case Q4_0 -> q4_0(x, b);
            }
        }
    }

    /** d = amax / 127, codes roundf(x * (1/d)), value = fp16(d) * code. */
    private static void q8_0(float[] x, int b) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
        float d = amax / 127.0f;
        float id = d != 0 ? 1.0f / d : 0.0f;
        float dh = Float.float16ToFloat(Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) x[b + j] = (int) roundf(x[b + j] * id) * dh; // an int8 code: no -0
    }

    /** d = max / -8 (max: the value of largest magnitude), codes min(15, (int8) (x * (1/d) + 8.5)), value = (code - 8) * fp16(d). */
    private static void q4_0(float[] x, int b) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            if (amax < Math.abs(x[b + j])) {
                amax = Math.abs(x[b + j]);
                max = x[b + j];
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        float dh = Float.float16ToFloat(Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) x[b + j] = (Math.min(15, (byte) (x[b + j] * id + 8.5f)) - 8) * dh;
    }

    private static float roundf(float v) {
        return (float) (Math.signum(v) * Math.floor(Math.abs((double) v) + 0.5));
    }
}
