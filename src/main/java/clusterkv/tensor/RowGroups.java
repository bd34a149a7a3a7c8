package clusterkv.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A decode layout that interleaves the rows of a matrix in groups, so that the lanes of a vector are rows
 * of one group and a kernel computes a whole group's dot products at once, with no sum across lanes. Each
 * group is one contiguous run of memory; the last group is padded with zero rows. Subclasses say how a
 * group's rows are laid out ({@link #pack}) and compute a group ({@link #group}).
 */
abstract class RowGroups<A extends RowGroups.Tokens> extends PackedRows<A> {

    /** Activations for some tokens. */
    interface Tokens {
        int tokens();
    }

    /** 16-bit lanes in a vector of the float shape (2L), and bytes to widen into them. */
    static final VectorSpecies<Short> S16 = VectorSpecies.of(short.class, Simd.F.vectorShape());
    static final VectorSpecies<Byte> B8 = VectorSpecies.of(byte.class, VectorShape.forBitSize(S16.length() * 8));

    final int groupRows;
    final long groupBytes;
    /** Per group: the factor that turns its stored fp16 scales into floats, 2^(112 - k) for the shift k of {@link #scaleShift}. */
    private final float[] unscale;

    RowGroups(int rows, int cols, int groupRows, long groupBytes) {
        super(rows, cols, (long) groups(rows, groupRows) * groupBytes);
        this.groupRows = groupRows;
        this.groupBytes = groupBytes;
        this.unscale = new float[groups(rows, groupRows)];
    }

    private static int groups(int rows, int groupRows) {
        return (rows + groupRows - 1) / groupRows;
    }

    /** Lays every group out from the ggml rows in data (called by the subclass once its fields are set). */
    final void packAll(MemorySegment data, long rowBytes) {
        int groups = groups(rows, groupRows);
        Parallel.forRange(groups, Math.max(1, groups / (8 * Parallel.threads())), (g0, g1) -> { // a few ranges per thread: one pair of buffers each
            byte[] in = new byte[Math.toIntExact(groupRows * rowBytes)];
            byte[] out = new byte[Math.toIntExact(groupBytes)];
            for (int g = g0; g < g1; g++) {
                int present = Math.min(groupRows, rows - g * groupRows);
                MemorySegment.copy(data, (long) g * groupRows * rowBytes, MemorySegment.ofArray(in), 0, present * rowBytes);
                java.util.Arrays.fill(out, (byte) 0);
                unscale[g] = Math.scalb(1f, 112 - pack(in, (int) rowBytes, present, out));
                MemorySegment.copy(MemorySegment.ofArray(out), 0, packed, g * groupBytes, groupBytes);
            }
        });
    }

    /**
     * Fills out (zeroed) with the group whose first {@code present} rows are in[r * rowBytes ..) in ggml's layout,
     * and returns the shift k its fp16 scales were stored with (each times 2^k; see {@link #scaleShift}).
     */
    abstract int pack(byte[] in, int rowBytes, int present, byte[] out);

    /**
     * out[o .. o + groupRows) = the rows of group g (its bytes from 0) . token t of a; {@code unscale} turns the
     * group's stored scales into floats (see {@link #scales}).
     */
    abstract void group(MemorySegment g, A a, int t, float unscale, float[] out, int o);

    /**
     * The shift k (0 to 24) by which a group stores its fp16 scales, each times 2^k: the largest that keeps the
     * group's largest scale {@code maxAbs} a finite fp16. Why: fp16 scales of small weights are often subnormal
     * (a Q6_K scale is about max|w| / 4096, subnormal below 0.25), and multiplying a subnormal float takes a slow
     * microcode path on x86 (Q8_0 matvec 2.5x slower with subnormal scales); times 2^24 the smallest fp16
     * subnormal is 1. Exact: a power of two.
     */
    static int scaleShift(float maxAbs) {
        if (maxAbs == 0) return 24;
        return Math.max(0, Math.min(24, 15 - Math.getExponent(maxAbs)));
    }

    /** The fp16 {@code h} times 2^k, exactly (k from {@link #scaleShift} of a bound on |h|). */
    static short shifted(short h, int k) {
        return Float.floatToFloat16(Math.scalb(Float.float16ToFloat(h), k));
    }

    /** The largest |fp16| among the little-endian fp16 numbers at in[first + i * stride], i < count. */
    static float maxHalf(byte[] in, int first, int stride, int count) {
        float max = 0;
        for (int i = 0; i < count; i++) {
            int at = first + i * stride;
            max = Math.max(max, Math.abs(Float.float16ToFloat((short) (in[at] & 0xFF | in[at + 1] << 8))));
        }
        return max;
    }

    /** Writes the fp16 at in[src ..] times 2^k, little-endian, to out[at ..]. */
    static void putShifted(byte[] in, int src, int k, byte[] out, int at) {
        short h = shifted((short) (in[src] & 0xFF | in[src + 1] << 8), k);
        out[at] = (byte) h;
        out[at + 1] = (byte) (h >> 8);
    }

    /**
     * The fp16 numbers in the high halves of h's 32-bit lanes, as stored by a group whose unscale factor is given:
     * their bits moved into float32 places (Simd.highHalfs), then times 2^(112 - k), which gives the exact scales.
     */
    static FloatVector scales(IntVector h, float unscale) {
        return Simd.highHalfs(h).mul(unscale);
    }

    @Override
    final int rowGranule() {
        return groupRows;
    }

    @Override
    final void dotRows(int start, int end, A a, float[] out, int outStride) {
        for (int g = start / groupRows; g * groupRows < end; g++) {
            MemorySegment group = packed.asSlice(g * groupBytes, groupBytes);
            int first = g * groupRows, present = Math.min(groupRows, rows - first);
            for (int t = 0; t < a.tokens(); t++) {
                int o = t * outStride + first;
                if (present == groupRows) {
                    group(group, a, t, unscale[g], out, o);
                } else { // the last, partial group
                    float[] rest = new float[groupRows];
                    group(group, a, t, unscale[g], rest, 0);
                    System.arraycopy(rest, 0, out, o, present);
                }
            }
        }
    }

    /**
     * The low nibble of both 16-bit halves of a 32-bit lane. A constant vector, since C2 broadcast a scalar
     * operand again at every use; the nibbles are split in 32-bit lanes, whose shifts C2 emits with an
     * immediate count, where a 16-bit shift by a scalar went through a register and by a vector count
     * (vpsrlvw) is AVX-512 only (on AVX2 it made the Q4_K kernel no faster than the float one).
     */
    private static final IntVector LOW_NIBBLES = IntVector.broadcast(Simd.I, 0x000F000F);

    /** 2L bytes at {@code at}, zero-extended to 16 bits. */
    static ShortVector unsignedBytes(MemorySegment g, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(B8, g, at, Simd.LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, S16, 0);
    }

    /**
     * Lane l = start + (the dot product of 32 4-bit codes with 32 activation codes) of the row in 16-bit lane l,
     * modulo 2^16, for a group of 2L rows whose codes lie at {@code at} in 8 steps of 4 columns, 4L bytes each:
     * a row's 16-bit lane w holds the codes of columns 4s .. 4s + 3 in its bits 0-3, 4-7, 8-11, 12-15. With the
     * activations' multipliers m0 = x0 and m_i = x_i - 16 x_(i-1) ({@link #nibbleMultipliers}),
     * w m0 + (w >>> 4) m1 + (w >>> 8) m2 + (w >>> 12) m3 = x0 n0 + x1 n1 + x2 n2 + x3 n3 exactly, modulo 2^16: each
     * shift brings the next code down and the multiplier takes back what the unmasked codes above it added.
     * The caller picks start so that the true sum lies in the signed 16-bit range (the formats' offset of -8:
     * |sum (n - 8) x| <= 8 * 127 * 32 < 2^15), and then the wrapped result is it. Why: a multiply and an add per
     * 2L weights with no masks and no widening, where splitting the nibbles and widening the bytes took twice
     * the instructions (AVX2 has 16-bit multiplies but no byte dot product the Vector API can reach).
     */
    static ShortVector nibbleDot16(MemorySegment g, long at, int[] xm, int k, ShortVector start) {
        ShortVector acc = start;
        for (int s = 0; s < 8; s++) {
            ShortVector w = ShortVector.fromMemorySegment(S16, g, at + s * 4L * Simd.L, Simd.LE);
            int m = k + 4 * s;
            ShortVector a = w.mul(pair(xm[m])).add(w.lanewise(VectorOperators.LSHR, 4).mul(pair(xm[m + 1])));
            ShortVector b = w.lanewise(VectorOperators.LSHR, 8).mul(pair(xm[m + 2])).add(w.lanewise(VectorOperators.LSHR, 12).mul(pair(xm[m + 3])));
            acc = acc.add(a.add(b));
        }
        return acc;
    }

    /** 0 in the lanes of the first of every 4 columns, all ones in the others. */
    private static final ShortVector AFTER_FIRST_OF_4 = ShortVector.fromArray(S16, afterFirstOf4(), 0);

    private static short[] afterFirstOf4() {
        short[] m = new short[S16.length()];
        for (int i = 0; i < m.length; i++) m[i] = (short) (i % 4 == 0 ? 0 : -1);
        return m;
    }

    /**
     * out[at .. at + 2L) = the multipliers {@link #nibbleDot16} takes for the activation codes at codes[at ..] (at a
     * multiple of 4): for column c, x_c if c is the first of 4 columns, else x_c - 16 x_(c-1); each in both halves
     * of an int ({@link #both16}). Vectorized: a scalar loop took four times as long as the rest of quantizing
     * the activations (15–16 against 3–4 us per 2048 values on a Zen 3).
     */
    static void nibbleMultipliers(short[] codes, int at, int[] out) {
        ShortVector code = ShortVector.fromArray(S16, codes, at);
        ShortVector m = code.sub(code.unslice(1).lanewise(VectorOperators.LSHL, 4).and(AFTER_FIRST_OF_4));
        for (int part = 0; part < 2; part++) {
            IntVector v = (IntVector) m.convertShape(VectorOperators.S2I, Simd.I, part);
            v.and(0xFFFF).or(v.lanewise(VectorOperators.LSHL, 16)).intoArray(out, at + part * Simd.L);
        }
    }

    /** The 16-bit number v (mod 2^16) in both halves of an int. */
    static int both16(int v) {
        return v & 0xFFFF | v << 16;
    }

    /**
     * Packs 4-bit codes of the row in 16-bit lane l into {@code steps} steps of {@link #nibbleDot16} at out[at ..]: step
     * s takes the nibbles at {@code shift} (0 low, 4 high) of in[from + 4s .. from + 4s + 4), its four columns in order.
     */
    static void packNibbles16(byte[] in, int from, int shift, int steps, int l, byte[] out, int at) {
        packNibbles(in, from, shift, steps, l, out, at, 4 * Simd.L, 1);
    }

    /** Lanes 2j of p (rows 0 .. L - 1 where rows lie in {@link #pairedLane}s), sign-extended to 32 bits. */
    static IntVector lowRows(ShortVector p) {
        return p.reinterpretAsInts().lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
    }

    /** Lanes 2j + 1 of p (rows L .. 2L - 1), sign-extended to 32 bits. */
    static IntVector highRows(ShortVector p) {
        return p.reinterpretAsInts().lanewise(VectorOperators.ASHR, 16);
    }

    /**
     * p plus one step of 4 columns of a group of L rows whose 4-bit codes lie at {@code at}, 2L bytes: byte 2r
     * holds row r's codes of columns 0 and 2 (low, high nibble), byte 2r + 1 those of columns 1 and 3. Widened to
     * 16 bits and split by nibble, the step gives two vectors whose 32-bit lane r holds row r's codes of two
     * adjacent columns, multiplied by one broadcast pair of x codes each (two per int: columns 0-1, 2-3). The
     * caller widens the 16-bit sums ({@link #pairSums}) within 8 steps: 16 products per lane stay below 2^15
     * (15 * 127 * 16). Q4_K's kernel: twice the instructions per weight of {@link #nibbleDot16}, but Q4_K on that
     * one (16-bit lanes, groups of 2L rows, its scales multiplied after each sub-block) ran out of C2's inlining
     * budget, whichever way its loops were split: vector operations fell back to the Vector API's Java code, and
     * the 1B-shaped Q4_K decode step took 112-116 ms against 87-94 ms with this one (KernelBench decode, AMD EPYC
     * Zen 3, 2026-12-07).
     */
    static ShortVector nibbleStep(ShortVector p, MemorySegment g, long at, int lowPair, int highPair) {
        IntVector c = unsignedBytes(g, at).reinterpretAsInts();
        ShortVector low = c.and(LOW_NIBBLES).reinterpretAsShorts(), high = c.lanewise(VectorOperators.LSHR, 4).and(LOW_NIBBLES).reinterpretAsShorts();
        return p.add(low.mul(pair(lowPair))).add(high.mul(pair(highPair)));
    }

    /**
     * Packs 32 4-bit codes of row r into 8 steps of {@link #nibbleStep} at out[at ..]: step s takes the nibbles at
     * {@code shift} (0 low, 4 high) of in[from + 4s .. from + 4s + 4), its four columns in order.
     */
    static void packNibbles(byte[] in, int from, int shift, int r, byte[] out, int at) {
        packNibbles(in, from, shift, 8, r, out, at, 2 * Simd.L, 2);
    }

    /** Little-endian ints of a byte[]: the packers read groups copied into arrays, not segments ({@link Simd#INT_LE}). */
    private static final VarHandle ARRAY_INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * The two packers above: byte 2l of a step (of {@code stepBytes}) holds its columns 0 and {@code high} (low, high
     * nibble), byte 2l + 1 the other two. Four codes at a time from one int of the ggml bytes, with no array of codes
     * between, since building the decode copies is on the way to a model's first token: an 8192 x 2048 Q4_0 matrix
     * packed in 12.8-14.6 against 19.6-22.2 ms (two threads, AMD EPYC Zen 3).
     */
    private static void packNibbles(byte[] in, int from, int shift, int steps, int l, byte[] out, int at, int stepBytes, int high) {
        int second = 8 * (3 - high);
        for (int s = 0; s < steps; s++, at += stepBytes) {
            int x = (int) ARRAY_INT_LE.get(in, from + 4 * s) >>> shift & 0x0F0F0F0F; // the step's codes, a byte each
            int y = x | x >>> (8 * high - 4); // low byte: columns 0 and high; byte 3 - high: the other two
            out[at + 2 * l] = (byte) y;
            out[at + 2 * l + 1] = (byte) (y >>> second);
        }
    }

    /** Lane r = the sum of the two signed 16-bit halves of p's 32-bit lane r. */
    static IntVector pairSums(ShortVector p) {
        return lowRows(p).add(highRows(p));
    }

    /**
     * p plus a step of 2 columns of a group of L rows whose codes lie at {@code at} as signed bytes (byte 2r + i: row
     * r's code of column i), widened to 16 bits and multiplied by a broadcast pair of activation codes (column 0 in
     * the low, column 1 in the high half of {@code xpair}): Q6_K's and Q5_K's kernels, which widen the 16-bit sums
     * ({@link #pairSums}) once per sub-block.
     */
    static ShortVector byteStep(ShortVector p, MemorySegment g, long at, int xpair) {
        return p.add(signedBytes(g, at).mul(pair(xpair)));
    }

    /** Packs the 8-bit codes[0 .. n) of row r into the n / 2 steps of {@link #byteStep} at out[at ..]. */
    static void packBytePairs(byte[] codes, int n, int r, byte[] out, int at) {
        for (int v = 0, o = at + 2 * r; v < n; v += 2, o += 2 * Simd.L) {
            out[o] = codes[v];
            out[o + 1] = codes[v + 1];
        }
    }

    /** 2L signed bytes at {@code at}, widened to 16 bits. */
    static ShortVector signedBytes(MemorySegment g, long at) {
        return (ShortVector) ByteVector.fromMemorySegment(B8, g, at, Simd.LE).convertShape(VectorOperators.B2S, S16, 0);
    }

    /** A pair of 16-bit numbers (low, high half of the int; the same twice for {@link #both16}) in every 32-bit lane. */
    static ShortVector pair(int codes) {
        return IntVector.broadcast(Simd.I, codes).reinterpretAsShorts();
    }

    /** The lane of row r in a group of 2n rows whose rows r and n + r share a lane twice as wide (low, high half). */
    static int pairedLane(int r, int n) {
        return r < n ? 2 * r : 2 * (r - n) + 1;
    }
}
