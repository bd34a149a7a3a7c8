package clusterkv.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Float16Test {

    /** Every one of the 65536 halves (subnormals, infinities and NaNs included), read little-endian from an odd offset. */
    @Test
    void decodesEveryHalfAsTheJdkDoes() {
        ValueLayout.OfShort le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(2L * 65536 + 1);
            for (int h = 0; h < 65536; h++) {
                s.set(ValueLayout.JAVA_BYTE, 1 + 2L * h, (byte) h);
                s.set(ValueLayout.JAVA_BYTE, 2 + 2L * h, (byte) (h >>> 8));
            }
            float[] out = new float[65536 + 3];
            Float16.toFloat(s, 1, out, 3, 65536);
            for (int h = 0; h < 65536; h++) {
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) h)), Float.floatToRawIntBits(out[3 + h]), "half 0x" + Integer.toHexString(h));
                assertEquals((short) h, s.get(le, 1 + 2L * h));
            }
        }
    }

    /** The two-run form (keys and values of a KV tile): every half in each run, the runs holding different halves. */
    @Test
    void decodesTwoRunsInOneLoop() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(2L * 65536 + 6), b = arena.allocate(2L * 65536 + 6);
            for (int h = 0; h < 65536; h++) {
                a.set(ValueLayout.JAVA_BYTE, 6 + 2L * h, (byte) h);
                a.set(ValueLayout.JAVA_BYTE, 7 + 2L * h, (byte) (h >>> 8));
                int g = h ^ 0x5A5A; // another half at the same place
                b.set(ValueLayout.JAVA_BYTE, 6 + 2L * h, (byte) g);
                b.set(ValueLayout.JAVA_BYTE, 7 + 2L * h, (byte) (g >>> 8));
            }
            float[] outA = new float[65536], outB = new float[65536];
            Float16.toFloat(a, b, 6, outA, outB, 65536);
            for (int h = 0; h < 65536; h++) {
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) h)), Float.floatToRawIntBits(outA[h]), "first run, half 0x" + Integer.toHexString(h));
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) (h ^ 0x5A5A))), Float.floatToRawIntBits(outB[h]), "second run, half 0x" + Integer.toHexString(h ^ 0x5A5A));
            }
        }
    }
}
