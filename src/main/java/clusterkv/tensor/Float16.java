package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * IEEE half-precision to float32 conversion, vectorized. The Vector API has no F16 lane type,
 * so halves are widened to ints and rebuilt with integer ops: exponent rebias by a multiply
 * with 2^112 handles normals and subnormals alike (inf/NaN never occur in weights or KV).
 */
public final class Float16 {

    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float MAGIC = 0x1p112f;

    private Float16() {}

    /** Decodes n halves at byte offset {@code offset} into dst[dstOffset ..]. */
    public static void toFloat(MemorySegment src, long offset, float[] dst, int dstOffset, int n) {
        int i = 0;
        int lanes = S.length();
        for (; i + lanes <= n; i += lanes) {
            toFloatVector(src, offset + 2L * i).intoArray(dst, dstOffset + i);
        }
        for (; i < n; i++) dst[dstOffset + i] = Float.float16ToFloat(src.get(LE, offset + 2L * i));
    }

    /** 16 halves at a byte offset, as one 512-bit float vector. */
    public static FloatVector toFloatVector(MemorySegment src, long offset) {
        ShortVector h = ShortVector.fromMemorySegment(S, src, offset, ByteOrder.LITTLE_ENDIAN);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = bits.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        FloatVector f = magnitude.reinterpretAsFloats().mul(MAGIC);
        return f.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }
}
