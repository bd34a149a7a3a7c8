package clusterkv.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The key/value metadata of a GGUF file, in file order, keeping each value's GGUF type so
 * that a file can be written back with the same types.
 *
 * <p>Scalars are held as Long (all integer types), Float, Double, Boolean or String.
 * Arrays are held as int[] (integer elements up to 32 bits), long[] (64-bit), float[],
 * double[], boolean[], String[] or Object[] (arrays of arrays).
 */
public final class GGUFMetadata {

    /** A value with its GGUF type; {@code elementType} is set for arrays only. */
    public record Entry(GGUFValueType type, GGUFValueType elementType, Object value) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    public void put(String key, GGUFValueType type, GGUFValueType elementType, Object value) {
        entries.put(key, new Entry(type, elementType, value));
    }

    public void putString(String key, String value) { put(key, GGUFValueType.STRING, null, value); }
    public void putUInt32(String key, long value) { put(key, GGUFValueType.UINT32, null, value); }
    public void putFloat32(String key, float value) { put(key, GGUFValueType.FLOAT32, null, value); }
    public void putBool(String key, boolean value) { put(key, GGUFValueType.BOOL, null, value); }
    public void putStrings(String key, String[] value) { put(key, GGUFValueType.ARRAY, GGUFValueType.STRING, value); }
    public void putFloats(String key, float[] value) { put(key, GGUFValueType.ARRAY, GGUFValueType.FLOAT32, value); }
    public void putInts(String key, int[] value) { put(key, GGUFValueType.ARRAY, GGUFValueType.INT32, value); }

    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    public void remove(String key) {
        entries.remove(key);
    }

    public Object get(String key) {
        Entry e = entries.get(key);
        return e == null ? null : e.value();
    }

    public String getString(String key, String fallback) {
        return get(key) instanceof String s ? s : fallback;
    }

    public String requireString(String key) {
        return require(key, String.class);
    }

    public long getLong(String key, long fallback) {
        return get(key) instanceof Number n ? n.longValue() : fallback;
    }

    public int getInt(String key, int fallback) {
        return get(key) instanceof Number n ? Math.toIntExact(n.longValue()) : fallback;
    }

    public int requireInt(String key) {
        return Math.toIntExact(require(key, Number.class).longValue());
    }

    public float getFloat(String key, float fallback) {
        return get(key) instanceof Number n ? n.floatValue() : fallback;
    }

    /** A boolean, or null when absent. */
    public Boolean getBool(String key) {
        return get(key) instanceof Boolean b ? b : null;
    }

    public String[] getStrings(String key) {
        return get(key) instanceof String[] a ? a : null;
    }

    public float[] getFloats(String key) {
        return get(key) instanceof float[] a ? a : null;
    }

    public int[] getInts(String key) {
        return get(key) instanceof int[] a ? a : null;
    }

    private <T> T require(String key, Class<T> type) {
        Object v = get(key);
        if (v == null) throw new GGUFFormatException("missing metadata key '" + key + "'");
        if (!type.isInstance(v)) {
            throw new GGUFFormatException("metadata key '" + key + "' has type " + entries.get(key).type()
                    + ", expected " + type.getSimpleName());
        }
        return type.cast(v);
    }
}
