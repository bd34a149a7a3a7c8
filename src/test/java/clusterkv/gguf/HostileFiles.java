package clusterkv.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * GGUF bytes that a writer would never produce, for tests of the reader's and loader's checks: hand-made headers,
 * and edits in place of a written file's header fields (a tensor's shape, type or offset, a key's name).
 */
public final class HostileFiles {

    private HostileFiles() {}

    /** One metadata key {@code deep}: an array of one array of one array ... {@code depth} deep, around one uint8. */
    public static byte[] nestedArrays(int depth) {
        ByteBuffer b = ByteBuffer.allocate(24 + 12 + 4 + 12 * depth + 1).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GGUFFile.MAGIC).putInt(3).putLong(0).putLong(1);
        b.putLong(4).put("deep".getBytes(StandardCharsets.US_ASCII)).putInt(GGUFValueType.ARRAY.ordinal());
        for (int i = 1; i < depth; i++) b.putInt(GGUFValueType.ARRAY.ordinal()).putLong(1);
        b.putInt(GGUFValueType.UINT8.ordinal()).putLong(1).put((byte) 0);
        return b.array();
    }

    /** Overwrites the first occurrence of {@code from} with {@code to}, of the same length (renaming a key). */
    public static void replace(byte[] b, String from, String to) {
        byte[] t = to.getBytes(StandardCharsets.UTF_8);
        if (t.length != from.getBytes(StandardCharsets.UTF_8).length) throw new IllegalArgumentException("lengths differ");
        System.arraycopy(t, 0, b, indexOf(b, from.getBytes(StandardCharsets.UTF_8)), t.length);
    }

    /** Overwrites a tensor's dimensions (as many as it has). */
    public static void setShape(byte[] b, String tensor, long... shape) {
        int at = afterName(b, tensor);
        if (le(b).getInt(at) != shape.length) throw new IllegalArgumentException("tensor has another rank");
        for (int d = 0; d < shape.length; d++) le(b).putLong(at + 4 + 8 * d, shape[d]);
    }

    public static void setType(byte[] b, String tensor, GGMLType type) {
        le(b).putInt(offsetField(b, tensor) - 4, type.id);
    }

    public static long offset(byte[] b, String tensor) {
        return le(b).getLong(offsetField(b, tensor));
    }

    public static void setOffset(byte[] b, String tensor, long offset) {
        le(b).putLong(offsetField(b, tensor), offset);
    }

    /** Where a tensor info's fields after its name begin (dimension count, dimensions, type, offset). */
    private static int afterName(byte[] b, String tensor) {
        byte[] n = tensor.getBytes(StandardCharsets.UTF_8);
        byte[] withLength = ByteBuffer.allocate(8 + n.length).order(ByteOrder.LITTLE_ENDIAN).putLong(n.length).put(n).array();
        return indexOf(b, withLength) + withLength.length;
    }

    private static int offsetField(byte[] b, String tensor) {
        int at = afterName(b, tensor);
        return at + 4 + 8 * le(b).getInt(at) + 4;
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int indexOf(byte[] b, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= b.length; i++) {
            for (int j = 0; j < pattern.length; j++) if (b[i + j] != pattern[j]) continue outer;
            return i;
        }
        throw new IllegalArgumentException("not in the file");
    }
}
