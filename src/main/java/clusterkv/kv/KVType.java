package clusterkv.kv;

import clusterkv.gguf.GGMLType;
import clusterkv.tensor.RowKernel;
import clusterkv.tensor.RowKernels;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Element type of the keys or the values in the KV cache, stored exactly as ggml's tensors of that type (Q8_0 and
 * Q4_0: blocks of 32 values with an fp16 scale), so that the weights' row kernels encode and decode them. F16
 * halves the bytes a decode step reads (llama.cpp's default too); Q8_0 takes 8.5 bits per value, Q4_0 4.5.
 */
public enum KVType {
    F32(GGMLType.F32),
    F16(GGMLType.F16),
    Q8_0(GGMLType.Q8_0),
    Q4_0(GGMLType.Q4_0);

    public final GGMLType ggml;
    final RowKernel kernel;

    KVType(GGMLType ggml) {
        this.ggml = ggml;
        this.kernel = RowKernels.of("KV cache", ggml);
    }

    public static KVType parse(String s) {
        for (KVType t : values()) if (t.label().equals(s.toLowerCase(Locale.ROOT))) return t;
        throw new IllegalArgumentException("unknown KV type '" + s + "' (expected " + labels() + ")");
    }

    /** The name the options take: f32, f16, q8_0, q4_0. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static String labels() {
        return Arrays.stream(values()).map(KVType::label).collect(Collectors.joining(", "));
    }

    /** Bytes of one head vector of {@code headDim} values. */
    public long rowBytes(int headDim) {
        return ggml.byteSize(headDim);
    }

    /** Whether a head vector of this size is a whole number of blocks. */
    public boolean holds(int headDim) {
        return headDim % ggml.blockSize == 0;
    }

    public boolean quantized() {
        return ggml.blockSize > 1;
    }

    /**
     * Rounds n query values in place as llama.cpp rounds a query before its dot products with keys of this type
     * (flash attention converts the query to the keys' dot-product type): to F16 for F16 keys, to Q8_0 (blocks of
     * 32, an fp16 scale, codes rounded half away from zero) for Q8_0 and Q4_0 keys. Matching it halves our
     * distance from llama.cpp's logits at long contexts; it costs nothing measurable in accuracy.
     */
    public void roundQuery(float[] q, int offset, int n) {
        switch (this) {
            case F32 -> {}
            case F16 -> {
                for (int i = offset; i < offset + n; i++) q[i] = Float.float16ToFloat(Float.floatToFloat16(q[i]));
            }
            case Q8_0, Q4_0 -> {
                for (int b = offset; b < offset + n; b += 32) roundToQ8_0(q, b);
            }
        }
    }

    private static void roundToQ8_0(float[] q, int at) {
        float amax = 0;
        for (int j = at; j < at + 32; j++) amax = Math.max(amax, Math.abs(q[j]));
        float d = amax / 127, id = d != 0 ? 1 / d : 0, stored = Float.float16ToFloat(Float.floatToFloat16(d));
        for (int j = at; j < at + 32; j++) q[j] = stored * (int) Math.copySign(Math.floor(Math.abs((double) (q[j] * id)) + 0.5), q[j]);
    }
}
