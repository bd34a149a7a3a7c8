package clusterkv.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Sequential little-endian reader of a GGUF header. Reading past the end surfaces as IndexOutOfBoundsException
 * (reported by the caller as a truncated file). Every count and length is checked against the bytes left before
 * anything is allocated, so a small file cannot ask for a large allocation, and arrays nest at most
 * {@link #MAX_ARRAY_DEPTH} deep, so a deep nest cannot exhaust the stack.
 */
final class GGUFReader {

    /** llama.cpp refuses nested arrays outright; the format allows them, and no model needs more than this. */
    static final int MAX_ARRAY_DEPTH = 8;

    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment seg;
    private final String file;
    long pos;

    GGUFReader(MemorySegment seg, String file) {
        this.seg = seg;
        this.file = file;
    }

    long remaining() { return seg.byteSize() - pos; }

    int i32() { int v = seg.get(INT, pos); pos += 4; return v; }
    long i64() { long v = seg.get(LONG, pos); pos += 8; return v; }

    String string() {
        long len = i64();
        if (len < 0 || len > remaining()) throw new IndexOutOfBoundsException();
        if (len > Integer.MAX_VALUE - 8) throw new GGUFFormatException(file + ": a string of " + len + " bytes is too long");
        byte[] bytes = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
        pos += len;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** One metadata entry's type and value; errors name the key. */
    GGUFMetadata.Entry entry(String key) {
        GGUFValueType type = valueType(key);
        if (type != GGUFValueType.ARRAY) return new GGUFMetadata.Entry(type, null, scalar(type));
        GGUFValueType elementType = valueType(key);
        return new GGUFMetadata.Entry(type, elementType, array(key, elementType, 1));
    }

    private GGUFValueType valueType(String key) {
        int id = i32();
        GGUFValueType t = GGUFValueType.fromId(id);
        if (t == null) throw new GGUFFormatException(file + ": metadata key '" + key + "' has unknown value type " + id);
        return t;
    }

    private Object scalar(GGUFValueType type) {
        return switch (type) {
            case UINT8 -> { long v = seg.get(ValueLayout.JAVA_BYTE, pos) & 0xFFL; pos += 1; yield v; }
            case INT8 -> { long v = seg.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield v; }
            case UINT16 -> { long v = seg.get(SHORT, pos) & 0xFFFFL; pos += 2; yield v; }
            case INT16 -> { long v = seg.get(SHORT, pos); pos += 2; yield v; }
            case UINT32 -> { long v = seg.get(INT, pos) & 0xFFFFFFFFL; pos += 4; yield v; }
            case INT32 -> { long v = seg.get(INT, pos); pos += 4; yield v; }
            case UINT64, INT64 -> i64();
            case FLOAT32 -> { float v = seg.get(FLOAT, pos); pos += 4; yield v; }
            case FLOAT64 -> { double v = seg.get(DOUBLE, pos); pos += 8; yield v; }
            case BOOL -> { boolean v = seg.get(ValueLayout.JAVA_BYTE, pos) != 0; pos += 1; yield v; }
            case STRING -> string();
            case ARRAY -> throw new IllegalStateException("arrays are read by array()");
        };
    }

    /** The elements of an array whose element type has been read; {@code depth} counts the arrays around them. */
    private Object array(String key, GGUFValueType et, int depth) {
        long n = i64();
        // The least each element takes: its width, a string's length field, a nested array's type and count.
        long minBytes = et == GGUFValueType.STRING ? 8 : et == GGUFValueType.ARRAY ? 12 : et.width;
        if (n < 0 || n > remaining() / minBytes) throw new IndexOutOfBoundsException();
        if (n > Integer.MAX_VALUE - 8) throw new GGUFFormatException(file + ": metadata key '" + key + "' has an array of " + n + " values, too many");
        int len = (int) n;
        return switch (et) {
            case STRING -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) a[i] = string();
                yield a;
            }
            case FLOAT32 -> { float[] a = new float[len]; MemorySegment.copy(seg, FLOAT, pos, a, 0, len); pos += 4L * len; yield a; }
            case FLOAT64 -> { double[] a = new double[len]; MemorySegment.copy(seg, DOUBLE, pos, a, 0, len); pos += 8L * len; yield a; }
            case INT64, UINT64 -> { long[] a = new long[len]; MemorySegment.copy(seg, LONG, pos, a, 0, len); pos += 8L * len; yield a; }
            case BOOL -> {
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) a[i] = (Boolean) scalar(et);
                yield a;
            }
            case ARRAY -> {
                if (depth >= MAX_ARRAY_DEPTH) {
                    throw new GGUFFormatException(file + ": metadata key '" + key + "' nests arrays more than " + MAX_ARRAY_DEPTH + " deep");
                }
                Object[] a = new Object[len];
                for (int i = 0; i < len; i++) a[i] = array(key, valueType(key), depth + 1);
                yield a;
            }
            default -> {
                int[] a = new int[len];
                for (int i = 0; i < len; i++) a[i] = (int) (long) (Long) scalar(et);
                yield a;
            }
        };
    }
}
