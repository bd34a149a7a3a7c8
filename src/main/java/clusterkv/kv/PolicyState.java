package clusterkv.kv;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The state of a KV policy and its attention backend as named arrays (int[], float[] or double[]), all that a
 * session reopened over the same KV cache needs to continue as the saved one would (see {@link LayerPolicy#save}).
 * A session file stores each array as one tensor; {@link #scope} gives each layer its own part of the names.
 */
public final class PolicyState {

    private final Map<String, Object> arrays;
    private final String prefix;

    public PolicyState() {
        this(new LinkedHashMap<>(), "");
    }

    private PolicyState(Map<String, Object> arrays, String prefix) {
        this.arrays = arrays;
        this.prefix = prefix;
    }

    /** A view whose names all start with {@code name + "."}, sharing this state's arrays. */
    public PolicyState scope(String name) {
        return new PolicyState(arrays, prefix + name + ".");
    }

    public void put(String name, int[] a) { arrays.put(prefix + name, a); }
    public void put(String name, float[] a) { arrays.put(prefix + name, a); }
    public void put(String name, double[] a) { arrays.put(prefix + name, a); }
    public void putInt(String name, int value) { put(name, new int[]{value}); }

    /** Puts an array under its full name, as read back from a file (int[], float[] or double[]). */
    public void putRaw(String fullName, Object array) {
        if (!(array instanceof int[] || array instanceof float[] || array instanceof double[])) {
            throw new IllegalArgumentException("policy state '" + fullName + "' must be int[], float[] or double[]");
        }
        arrays.put(fullName, array);
    }

    public boolean has(String name) { return arrays.containsKey(prefix + name); }
    public int[] ints(String name) { return get(name, int[].class); }
    public float[] floats(String name) { return get(name, float[].class); }
    public double[] doubles(String name) { return get(name, double[].class); }

    public int getInt(String name) {
        int[] a = ints(name);
        if (a.length != 1) throw new IllegalStateException("policy state '" + prefix + name + "' holds " + a.length + " values, not one");
        return a[0];
    }

    /** A single value that must lie in [min, max] (a file's state is checked before a policy trusts it). */
    public int getInt(String name, int min, int max) {
        int v = getInt(name);
        if (v < min || v > max) throw new IllegalStateException("the saved policy state '" + prefix + name + "' is " + v + ", outside [" + min + ", " + max + "]");
        return v;
    }

    /** Every array by its full name, in the order put. */
    public Map<String, Object> arrays() {
        return Collections.unmodifiableMap(arrays);
    }

    private <T> T get(String name, Class<T> type) {
        Object a = arrays.get(prefix + name);
        if (a == null) throw new IllegalStateException("the saved policy state has no '" + prefix + name + "'");
        if (!type.isInstance(a)) throw new IllegalStateException("the saved policy state '" + prefix + name + "' is not " + type.getSimpleName());
        return type.cast(a);
    }
}
