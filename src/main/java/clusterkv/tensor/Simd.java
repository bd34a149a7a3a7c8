package clusterkv.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Vector shapes and the loads shared by the row kernels.
 *
 * <p>Every kernel works in chunks of {@link #L} values: one float vector, fed by L bytes (or L shorts)
 * widened to L ints. The quant blocks hold 16 or 32 values per scale, so L must divide 16; we use the
 * preferred float shape, which has 4 lanes (NEON, or x86 limited to 128 bits), 8 (AVX2) or 16 (AVX-512).
 * A shape the hardware lacks would run every vector operation as plain Java, 50-150x slower.
 *
 * <p>JIT constraints shape all kernels (C2, JDK 25): a vector stays in registers only if every method
 * handling it is inlined, so hot loops call a single small helper per step rather than several copies (a
 * method body that grows too large in the JIT's intermediate form stops being inlined into, and its
 * vectors turn into heap objects, ten times slower or worse: NodeCountInliningCutoff, at about 40-45 Vector
 * API calls per compiled method, counted in whatever method C2 inlines the kernel into); an operation can be
 * slow on one shape only (two-vector {@code selectFrom} below 512 bits); and MemorySegment accesses are
 * cheapest on a slice indexed from 0 by a running offset.
 */
final class Simd {

    static final VectorSpecies<Float> F = floatSpecies();
    /** Floats per vector: 16 with AVX-512, 8 with AVX2, 4 with 128-bit vectors (NEON, SSE). */
    static final int L = F.length();
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** L bytes: the source of one float vector of 8-bit codes; null with 4 lanes (no vector shape has 32 bits). */
    private static final VectorSpecies<Byte> B = L == 4 ? null : VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** With 4 lanes: how far byte i of a little-endian int moves left to reach the top of lane i. */
    private static final IntVector BYTE_TO_TOP = L == 4 ? IntVector.fromArray(I, new int[]{24, 16, 8, 0}, 0) : null;
    /** L shorts: the source of one float vector of bfloat16s or fp16s. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));

    /**
     * Vector registers the JIT allocates: 32 on AArch64 and on x86 with AVX-512 (whose EVEX encoding reaches
     * registers 16-31 at every vector width), 16 on x86 without it. Register-blocked kernels size their tiles by it.
     */
    static final int REGISTERS = vectorRegisters();

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    private Simd() {}

    private static VectorSpecies<Float> floatSpecies() {
        VectorSpecies<Float> preferred = FloatVector.SPECIES_PREFERRED;
        return switch (preferred.length()) {
            case 4, 8, 16 -> preferred; // NEON or SSE, AVX2, AVX-512
            default -> FloatVector.SPECIES_128; // a shape we do not know: 128 bits is the one every vector ISA has
        };
    }

    private static int vectorRegisters() {
        if (System.getProperty("os.arch").equals("aarch64")) return 32;
        try {
            var vm = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return Integer.parseInt(vm.getVMOption("UseAVX").getValue()) >= 3 ? 32 : 16;
        } catch (RuntimeException | LinkageError e) { // not HotSpot, or no such flag: judge by the widest vector
            return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 32 : 16;
        }
    }

    /** The IEEE half-precision float at {@code offset} (ggml_half: a little-endian fp16). */
    static float half(MemorySegment s, long offset) {
        return Float.float16ToFloat(s.get(SHORT_LE, offset));
    }

    /** L bytes at offset, zero-extended to ints (the codes of the 4/5/6-bit formats are unsigned bit fields). */
    static IntVector unsignedBytes(MemorySegment s, long offset) {
        if (B == null) return fourBytesAtTop(s, offset).lanewise(VectorOperators.LSHR, 24);
        return (IntVector) ByteVector.fromMemorySegment(B, s, offset, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /** L signed bytes at offset, sign-extended to ints. */
    static IntVector signedByteInts(MemorySegment s, long offset) {
        if (B == null) return fourBytesAtTop(s, offset).lanewise(VectorOperators.ASHR, 24);
        return (IntVector) ByteVector.fromMemorySegment(B, s, offset, LE).convertShape(VectorOperators.B2I, I, 0);
    }

    /** L signed bytes at offset as floats (Q8_0 codes). */
    static FloatVector signedBytes(MemorySegment s, long offset) {
        if (B == null) return toFloat(signedByteInts(s, offset));
        return (FloatVector) ByteVector.fromMemorySegment(B, s, offset, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * With 4 lanes, byte i of the 4 at offset in the top 8 bits of lane i: one int load, a broadcast and a shift
     * by lane, where a byte vector would need a 32-bit shape that no ISA has (or a 64-bit load past the 4 bytes).
     */
    private static IntVector fourBytesAtTop(MemorySegment s, long offset) {
        return IntVector.broadcast(I, s.get(INT_LE, offset)).lanewise(VectorOperators.LSHL, BYTE_TO_TOP);
    }

    /** Adding and subtracting 1.5 x 2^23 rounds a float below 2^22 in magnitude to an integer, ties to even. */
    private static final float ROUND = 0x1.8p23f;

    /** v (each |lane| < 2^22) rounded to the nearest integer, ties to even: C's rint and ggml's nearest_int. */
    static IntVector rint(FloatVector v) {
        return (IntVector) v.add(ROUND).sub(ROUND).convert(VectorOperators.F2I, 0);
    }

    static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    /** L little-endian floats at offset. */
    static FloatVector floats(MemorySegment s, long offset) {
        return FloatVector.fromMemorySegment(F, s, offset, LE);
    }

    /** L bfloat16 values at offset: a bfloat16 is the top half of a float32. */
    static FloatVector bf16(MemorySegment s, long offset) {
        IntVector bits = (IntVector) ShortVector.fromMemorySegment(S, s, offset, LE).convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * L IEEE half floats at offset, without float arithmetic on subnormals (a multiply with a subnormal
     * operand takes a slow microcode path on x86): normal halves move their bits into place and rebias the
     * exponent (+112), zero and subnormal halves (m * 2^-24) go through an int conversion and a multiply of
     * normal numbers, infinities and NaNs get the float exponent all ones.
     */
    static FloatVector halfs(MemorySegment s, long offset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, s, offset, LE).convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        IntVector m = h.and(0x7FFF), shifted = m.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.add(0x38000000).blend(shifted.or(0x7F800000), m.compare(VectorOperators.GE, 0x7C00));
        FloatVector v = bits.reinterpretAsFloats().blend(toFloat(m).mul(0x1p-24f), m.compare(VectorOperators.LT, 0x400).cast(F));
        return v.reinterpretAsInts().or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /**
     * The fp16 numbers in the high halves of h's 32-bit lanes, times 2^-112: their sign, exponent and mantissa
     * moved into float32 places, exact for normal and subnormal halves alike (the caller multiplies by 2^112,
     * folded into another factor); two instructions where a conversion loop into a buffer stalled on its
     * loads. Infinities and NaNs come out as large finite numbers.
     */
    static FloatVector highHalfs(IntVector h) {
        return h.lanewise(VectorOperators.LSHR, 3).and(0x0FFFE000).or(h.and(0x80000000)).reinterpretAsFloats();
    }

    /**
     * Sums of x over consecutive blocks of {@code block} values: the offset terms of the formats whose
     * values are {@code scale * code + offset} (Q4_0's -8, Q5_0's -16, Q4_1's and Q5_1's m, the K-quants'
     * mins) reduce to {@code offset * sum(x over the block)}, the same for every row of a matrix.
     */
    static float[] blockSums(float[] x, int xOffset, int n, int block) {
        float[] sums = new float[n / block];
        for (int b = 0; b < sums.length; b++) {
            int base = xOffset + b * block;
            FloatVector acc = FloatVector.fromArray(F, x, base);
            for (int j = L; j < block; j += L) acc = acc.add(FloatVector.fromArray(F, x, base + j));
            sums[b] = acc.reduceLanes(VectorOperators.ADD);
        }
        return sums;
    }

    static float sum(FloatVector v) {
        return v.reduceLanes(VectorOperators.ADD);
    }
}
