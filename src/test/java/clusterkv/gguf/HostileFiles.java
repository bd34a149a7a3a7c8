package clusterkv.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Hand-made GGUF bytes that a writer would never produce, for tests of the reader's bounds. */
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
}
