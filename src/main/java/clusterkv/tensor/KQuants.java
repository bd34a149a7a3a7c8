package clusterkv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static clusterkv.tensor.Simd.INT_LE;
import static clusterkv.tensor.Simd.LONG_LE;

/**
 * What Q4_K and Q5_K share: super-blocks of 256 values that start with fp16 d, fp16 dmin and 12 bytes
 * packing eight 6-bit scales and eight 6-bit mins (one per sub-block of 32 values); value = d * scale * code
 * - dmin * min. Also the encoder of that form, a simple one (per-sub-block min/max, scales rounded up so
 * that no code is clipped) rather than ggml's iterative search.
 */
final class KQuants {
    static final int QK_K = 256;
    static final int SUB = 32;
    /** Offset of the 12 scale bytes in a Q4_K/Q5_K super-block. */
    static final int SCALES = 4;

    private KQuants() {}

    // ggml's get_scale_min_k4 over the 12 scale bytes q:
    //   j < 4:  scale = q[j] & 63,                                min = q[j + 4] & 63
    //   j >= 4: scale = (q[j + 4] & 0xF) | (q[j - 4] >> 6) << 4,  min = (q[j + 4] >> 4) | (q[j] >> 6) << 4
    // computed for all eight at once on lo = q[0..8) and hi = q[8..12) (little-endian), one per byte.

    /** The eight 6-bit scales, scale j in byte j. */
    static long scales(long lo, int hi) {
        long first = lo & 0x3F3F3F3FL;
        long last = (hi & 0x0F0F0F0FL) | ((lo >>> 2) & 0x30303030L);
        return first | last << 32;
    }

    /** The eight 6-bit mins, min j in byte j. */
    static long mins(long lo, int hi) {
        long first = (lo >>> 32) & 0x3F3F3F3FL;
        long last = ((hi >>> 4) & 0x0F0F0F0FL) | ((lo >>> 34) & 0x30303030L);
        return first | last << 32;
    }

    /** Byte j of eight packed by {@link #scales} or {@link #mins}. */
    static int at(long packed, int j) {
        return (int) (packed >>> (8 * j)) & 0xFF;
    }

    static long scalesLo(MemorySegment s, long block) {
        return s.get(LONG_LE, block + SCALES);
    }

    static int scalesHi(MemorySegment s, long block) {
        return s.get(INT_LE, block + SCALES + 8);
    }

    /**
     * dmin * sum_j min_j * (sum of x over sub-block j): what the mins take off the dot product of the
     * super-block at {@code block}; xBlockSums[firstSub ..] are the sums of x over its 8 sub-blocks.
     */
    static float minTerm(MemorySegment s, long block, float[] xBlockSums, int firstSub) {
        long mins = mins(scalesLo(s, block), scalesHi(s, block));
        float t = 0;
        for (int j = 0; j < QK_K / SUB; j++) t += at(mins, j) * xBlockSums[firstSub + j];
        return Simd.half(s, block + 2) * t;
    }

    /** One encoded super-block of the form d * scale[j] * code - dmin * min[j]. */
    static final class Asymmetric {
        short d, dmin;
        final int[] scales = new int[QK_K / SUB];
        final int[] mins = new int[QK_K / SUB];
        final int[] codes = new int[QK_K];

        /** Writes d, dmin and the 12 packed scale bytes at block (the inverse of get_scale_min_k4). */
        void writeHeader(MemorySegment dst, long block) {
            dst.set(Simd.SHORT_LE, block, d);
            dst.set(Simd.SHORT_LE, block + 2, dmin);
            byte[] q = new byte[12];
            for (int j = 0; j < 8; j++) {
                int ls = scales[j], lm = mins[j];
                if (j < 4) {
                    q[j] = (byte) ls;
                    q[j + 4] = (byte) lm;
                } else {
                    q[j + 4] = (byte) ((ls & 0xF) | (lm & 0xF) << 4);
                    q[j - 4] |= (byte) ((ls >> 4) << 6);
                    q[j] |= (byte) ((lm >> 4) << 6);
                }
            }
            MemorySegment.copy(q, 0, dst, ValueLayout.JAVA_BYTE, block + SCALES, 12);
        }
    }

    /**
     * Encodes x[offset .. offset+256) with codes in [0, nmax]. Per sub-block the offset is the minimum (when
     * negative) and the step (max - min) / nmax; both are stored as 6-bit multiples of a per-super-block fp16
     * unit, rounded up so that every value stays within range: the error is at most half a step, plus the
     * step's rounding to a multiple of d.
     */
    static void encode(float[] x, int offset, int nmax, Asymmetric out) {
        int subs = QK_K / SUB;
        float[] lows = new float[subs], highs = new float[subs];
        float maxLow = 0;
        for (int j = 0; j < subs; j++) {
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < SUB; i++) {
                float v = x[offset + j * SUB + i];
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            lows[j] = Math.max(0, -lo); // what the min must take off; a positive minimum is kept as 0
            highs[j] = hi;
            maxLow = Math.max(maxLow, lows[j]);
        }
        out.dmin = halfAtLeast(maxLow / 63);
        float dmin = Float.float16ToFloat(out.dmin);
        float[] steps = new float[subs];
        float maxStep = 0;
        for (int j = 0; j < subs; j++) {
            out.mins[j] = dmin > 0 ? Math.min(63, (int) Math.ceil(lows[j] / dmin)) : 0;
            steps[j] = Math.max(0, highs[j] + dmin * out.mins[j]) / nmax;
            maxStep = Math.max(maxStep, steps[j]);
        }
        out.d = halfAtLeast(maxStep / 63);
        float d = Float.float16ToFloat(out.d);
        for (int j = 0; j < subs; j++) {
            out.scales[j] = d > 0 ? Math.min(63, (int) Math.ceil(steps[j] / d)) : 0;
            float step = d * out.scales[j], shift = dmin * out.mins[j];
            for (int i = 0; i < SUB; i++) {
                int q = step > 0 ? Math.round((x[offset + j * SUB + i] + shift) / step) : 0;
                out.codes[j * SUB + i] = Math.max(0, Math.min(nmax, q));
            }
        }
    }

    /** The smallest fp16 >= v (v >= 0): rounding a scale unit down could push codes out of range. */
    static short halfAtLeast(float v) {
        short h = Float.floatToFloat16(v);
        return Float.float16ToFloat(h) < v ? (short) (h + 1) : h;
    }
}
