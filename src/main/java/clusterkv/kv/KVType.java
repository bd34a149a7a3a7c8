package clusterkv.kv;

/** Element type of the KV cache. F16 halves the bytes every decode step reads (llama.cpp's default too). */
public enum KVType {
    F16(2), F32(4);

    public final int bytes;

    KVType(int bytes) {
        this.bytes = bytes;
    }

    public static KVType parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "f16" -> F16;
            case "f32" -> F32;
            default -> throw new IllegalArgumentException("unknown KV type '" + s + "' (expected f16 or f32)");
        };
    }
}
