package clusterkv.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order, keeping each value's GGUF type so
 * that a file can be written back with the same types.
 *
 * <p>Scalars are held as Long (all integer types), Float, Double, Boolean or String.
 * Arrays are held as int[] (integer elements up to 32 bits), long[] (64-bit), float[],
 * double[], boolean[], String[] or Object[] (arrays of arrays).
 *
 * <p>The typed getters return the fallback (or null) for an absent key, and throw a
 * {@link GGUFFormatException} naming the key and the expected type for a present key of another type:
 * a {@code context_length} written as a string is a broken file, not a missing value.
 */
public final class GGUFMetadata {

    /** A value with its GGUF type; {@code elementType} is set for arrays only. */
    public record Entry(GGUFValueType type, GGUFValueType elementType, Object value) {
        String typeName() {
            return elementType == null ? type.name().toLowerCase() : elementType.name().toLowerCase() + "[]";
        }
    }

    private static final Set<GGUFValueType> INTEGERS = Set.of(GGUFValueType.UINT8, GGUFValueType.INT8, GGUFValueType.UINT16,
            GGUFValueType.INT16, GGUFValueType.UINT32, GGUFValueType.INT32, GGUFValueType.UINT64, GGUFValueType.INT64);
    private static final Set<GGUFValueType> FLOATS = Set.of(GGUFValueType.FLOAT32, GGUFValueType.FLOAT64);

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

    /** The entry of a key with its types, or null. */
    public Entry entry(String key) {
        return entries.get(key);
    }

    public Object get(String key) {
        Entry e = entries.get(key);
        return e == null ? null : e.value();
    }

    public String getString(String key, String fallback) {
        Entry e = typed(key, "a string", GGUFValueType.STRING, null);
        return e == null ? fallback : (String) e.value();
    }

    public String requireString(String key) {
        return (String) require(key, "a string", GGUFValueType.STRING, null).value();
    }

    public long getLong(String key, long fallback) {
        Entry e = integer(key);
        return e == null ? fallback : (Long) e.value();
    }

    public int getInt(String key, int fallback) {
        Entry e = integer(key);
        return e == null ? fallback : toInt(key, (Long) e.value());
    }

    public int requireInt(String key) {
        if (!entries.containsKey(key)) throw new GGUFFormatException("missing metadata key '" + key + "'");
        return getInt(key, 0);
    }

    public float getFloat(String key, float fallback) {
        Entry e = entries.get(key);
        if (e == null) return fallback;
        if (!FLOATS.contains(e.type())) throw wrongType(key, e, "a float (float32)");
        return ((Number) e.value()).floatValue();
    }

    /** A boolean, or null when absent. */
    public Boolean getBool(String key) {
        Entry e = typed(key, "a boolean", GGUFValueType.BOOL, null);
        return e == null ? null : (Boolean) e.value();
    }

    public String[] getStrings(String key) {
        Entry e = typed(key, "an array of strings", GGUFValueType.ARRAY, GGUFValueType.STRING);
        return e == null ? null : (String[]) e.value();
    }

    public float[] getFloats(String key) {
        Entry e = typed(key, "an array of float32", GGUFValueType.ARRAY, GGUFValueType.FLOAT32);
        return e == null ? null : (float[]) e.value();
    }

    /** An array of integers of up to 32 bits (any signedness), or null when absent. */
    public int[] getInts(String key) {
        Entry e = entries.get(key);
        if (e == null) return null;
        if (!(e.value() instanceof int[] a)) throw wrongType(key, e, "an array of int32");
        return a;
    }

    private Entry integer(String key) {
        Entry e = entries.get(key);
        if (e != null && !INTEGERS.contains(e.type())) throw wrongType(key, e, "an integer (uint32)");
        return e;
    }

    private static int toInt(String key, long v) {
        if (v != (int) v) throw new GGUFFormatException("metadata key '" + key + "' = " + v + " is out of range");
        return (int) v;
    }

    private Entry typed(String key, String expected, GGUFValueType type, GGUFValueType elementType) {
        Entry e = entries.get(key);
        if (e != null && (e.type() != type || e.elementType() != elementType)) throw wrongType(key, e, expected);
        return e;
    }

    private Entry require(String key, String expected, GGUFValueType type, GGUFValueType elementType) {
        Entry e = typed(key, expected, type, elementType);
        if (e == null) throw new GGUFFormatException("missing metadata key '" + key + "'");
        return e;
    }

    private static GGUFFormatException wrongType(String key, Entry e, String expected) {
        return new GGUFFormatException("metadata key '" + key + "' has type " + e.typeName() + ", expected " + expected);
    }
}
