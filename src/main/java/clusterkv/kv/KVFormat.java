package clusterkv.kv;

/**
 * How a KV cache stores what it holds: the type of the keys, the type of the values (llama.cpp's {@code -ctk} and
 * {@code -ctv}), and whether each head's queries and keys are rotated (a fixed random-sign Hadamard transform,
 * {@link HeadRotation}) before the keys are stored.
 */
public record KVFormat(KVType keys, KVType values, boolean rotate) {

    public static final KVFormat F16 = of(KVType.F16);

    public static KVFormat of(KVType both) {
        return new KVFormat(both, both, false);
    }

    /**
     * From the options: {@code type} for both unless {@code keyType} or {@code valueType} names its own; each may
     * be null. Rotated when {@code rotate} says so, and by default when the keys are quantized: on ckv-tiny-2k
     * (perplexity at -c 1024, see docs/kv-cache.md) it cut q4_0 keys' loss from 1.96 % to 1.14 % and q8_0's from
     * 0.03 % to 0.00 %, for a transform of each query and key (6 butterfly passes of a 64-value head) per step.
     * Throws with a one-line message for an unknown type.
     */
    public static KVFormat parse(String type, String keyType, String valueType, Boolean rotate) {
        KVType both = type == null ? KVType.F16 : KVType.parse(type);
        KVType keys = keyType == null ? both : KVType.parse(keyType);
        return new KVFormat(keys, valueType == null ? both : KVType.parse(valueType), rotate == null ? keys.quantized() : rotate);
    }

    public KVFormat withRotation(boolean on) {
        return new KVFormat(keys, values, on);
    }

    /** Throws with a one-line message when a head of {@code headDim} values is not a whole number of the types' blocks. */
    public void check(int headDim) {
        for (KVType t : new KVType[]{keys, values}) {
            if (!t.holds(headDim)) {
                throw new IllegalArgumentException("KV type " + t.label() + " stores blocks of " + t.ggml.blockSize
                        + " values, but this model's head size is " + headDim + ": use --kv-type f16 or f32");
            }
        }
    }

    /** Bytes of one slot of one KV head: a key and a value. */
    public long slotBytes(int headDim) {
        return keys.rowBytes(headDim) + values.rowBytes(headDim);
    }

    /** "q8_0", or "k q4_0 / v f16" when they differ, with " rotated" when rotated. */
    public String label() {
        String types = keys == values ? keys.label() : "k " + keys.label() + " / v " + values.label();
        return rotate ? types + " rotated" : types;
    }
}
