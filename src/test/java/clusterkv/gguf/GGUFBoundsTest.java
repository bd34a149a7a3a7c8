package clusterkv.gguf;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Counts, lengths and nesting in a header are bounded by the file, so a small file can neither exhaust the stack nor ask for a large allocation. */
class GGUFBoundsTest {

    /** Little-endian GGUF header bytes, written field by field. */
    static final class Bytes {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Bytes i32(int v) { out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array()); return this; }
        Bytes i64(long v) { out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array()); return this; }
        Bytes string(String s) { byte[] b = s.getBytes(StandardCharsets.UTF_8); i64(b.length); out.writeBytes(b); return this; }
        Bytes header(long tensors, long keys) { return i32(GGUFFile.MAGIC).i32(3).i64(tensors).i64(keys); }
        Bytes pad(int n) { out.writeBytes(new byte[n]); return this; }
        byte[] bytes() { return out.toByteArray(); }
    }

    private static String error(byte[] bytes) {
        return assertThrows(GGUFFormatException.class, () -> GGUFFile.read(Path.of("x.gguf"), bytes).close()).getMessage();
    }

    @Test
    void deepNestingIsAnErrorNamingTheKey() {
        String m = error(HostileFiles.nestedArrays(200_000));
        assertTrue(m.contains("metadata key 'deep' nests arrays more than " + GGUFReader.MAX_ARRAY_DEPTH + " deep"), m);
    }

    @Test
    void shallowNestingIsRead() {
        try (GGUFFile f = GGUFFile.read(Path.of("x.gguf"), HostileFiles.nestedArrays(GGUFReader.MAX_ARRAY_DEPTH))) {
            Object v = f.metadata().get("deep");
            for (int i = 1; i < GGUFReader.MAX_ARRAY_DEPTH; i++) v = ((Object[]) v)[0];
            assertArrayEquals(new int[]{0}, (int[]) v);
        }
    }

    @Test
    void arrayCountBeyondTheFileIsTruncationNotAnAllocation() {
        for (GGUFValueType t : new GGUFValueType[]{GGUFValueType.STRING, GGUFValueType.UINT8, GGUFValueType.ARRAY, GGUFValueType.FLOAT32}) {
            byte[] b = new Bytes().header(0, 1).string("big").i32(GGUFValueType.ARRAY.ordinal()).i32(t.ordinal()).i64(1L << 40).pad(64).bytes();
            assertTrue(error(b).contains("truncated"), t + ": " + error(b));
        }
    }

    @Test
    void stringLengthBeyondTheFile() {
        byte[] b = new Bytes().header(0, 1).i64(Long.MAX_VALUE).pad(64).bytes();
        assertTrue(error(b).contains("truncated"), error(b));
    }

    @Test
    void countsTheFileCannotHold() {
        String m = error(new Bytes().header(1_000_000, 0).pad(64).bytes());
        assertTrue(m.contains("corrupt GGUF header (1000000 tensors, 0 metadata keys in a file of 88 bytes)"), m);
        m = error(new Bytes().header(0, 1_000_000).pad(64).bytes());
        assertTrue(m.contains("corrupt GGUF header"), m);
    }

    @Test
    void unknownValueTypeNamesTheKey() {
        String m = error(new Bytes().header(0, 1).string("odd").i32(99).pad(8).bytes());
        assertTrue(m.contains("metadata key 'odd' has unknown value type 99"), m);
    }

    @Test
    void tooManyDimensionsNamesTheTensor() {
        String m = error(new Bytes().header(1, 0).string("t").i32(5).pad(64).bytes());
        assertTrue(m.contains("tensor 't' has 5 dimensions"), m);
    }
}
