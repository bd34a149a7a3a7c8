package clusterkv.tensor;

import clusterkv.gguf.GGMLType;

/**
 * ggml's dequantize_row_* and quantize_row_*_ref transcribed loop by loop from ggml/src/ggml-quants.c
 * (block structs from ggml-common.h), over plain byte arrays and in double precision: the yardstick for
 * the vectorized kernels, deliberately sharing no code with them.
 */
final class GgmlReference {

    private GgmlReference() {}

    static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    /** A little-endian uint32 (memcpy of qh[4] into a uint32_t on a little-endian machine). */
    static long u32(byte[] b, int i) {
        return u8(b, i) | u8(b, i + 1) << 8 | u8(b, i + 2) << 16 | (long) u8(b, i + 3) << 24;
    }

    static float f16(byte[] b, int i) {
        return Float.float16ToFloat((short) (u8(b, i) | u8(b, i + 1) << 8));
    }

    static void putF16(byte[] b, int i, float v) {
        short h = Float.floatToFloat16(v);
        b[i] = (byte) h;
        b[i + 1] = (byte) (h >> 8);
    }

    /** The n values encoded in raw[0 ..]. */
    static double[] dequantize(GGMLType type, byte[] raw, int n) {
        double[] y = new double[n];
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    int bits = u8(raw, 4 * i) | u8(raw, 4 * i + 1) << 8 | u8(raw, 4 * i + 2) << 16 | u8(raw, 4 * i + 3) << 24;
                    y[i] = Float.intBitsToFloat(bits);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) y[i] = f16(raw, 2 * i);
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) y[i] = Float.intBitsToFloat((u8(raw, 2 * i) | u8(raw, 2 * i + 1) << 8) << 16);
            }
            case Q8_0 -> { // block_q8_0 { ggml_half d; int8_t qs[32]; }
                for (int i = 0; i < n / 32; i++) {
                    int x = 34 * i;
                    double d = f16(raw, x);
                    for (int j = 0; j < 32; j++) y[32 * i + j] = raw[x + 2 + j] * d;
                }
            }
            case Q4_0 -> { // block_q4_0 { ggml_half d; uint8_t qs[16]; }
                for (int i = 0; i < n / 32; i++) {
                    int x = 18 * i;
                    double d = f16(raw, x);
                    for (int j = 0; j < 16; j++) {
                        y[32 * i + j] = ((u8(raw, x + 2 + j) & 0x0F) - 8) * d;
                        y[32 * i + j + 16] = ((u8(raw, x + 2 + j) >> 4) - 8) * d;
                    }
                }
            }
            case Q4_1 -> { // block_q4_1 { ggml_half d; ggml_half m; uint8_t qs[16]; }
                for (int i = 0; i < n / 32; i++) {
                    int x = 20 * i;
                    double d = f16(raw, x), m = f16(raw, x + 2);
                    for (int j = 0; j < 16; j++) {
                        y[32 * i + j] = (u8(raw, x + 4 + j) & 0x0F) * d + m;
                        y[32 * i + j + 16] = (u8(raw, x + 4 + j) >> 4) * d + m;
                    }
                }
            }
            case Q5_0 -> { // block_q5_0 { ggml_half d; uint8_t qh[4]; uint8_t qs[16]; }
                for (int i = 0; i < n / 32; i++) {
                    int x = 22 * i;
                    double d = f16(raw, x);
                    long qh = u32(raw, x + 2);
                    for (int j = 0; j < 16; j++) {
                        int xh0 = (int) (((qh >> j) << 4) & 0x10), xh1 = (int) ((qh >> (j + 12)) & 0x10);
                        y[32 * i + j] = (((u8(raw, x + 6 + j) & 0x0F) | xh0) - 16) * d;
                        y[32 * i + j + 16] = (((u8(raw, x + 6 + j) >> 4) | xh1) - 16) * d;
                    }
                }
            }
            case Q5_1 -> { // block_q5_1 { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[16]; }
                for (int i = 0; i < n / 32; i++) {
                    int x = 24 * i;
                    double d = f16(raw, x), m = f16(raw, x + 2);
                    long qh = u32(raw, x + 4);
                    for (int j = 0; j < 16; j++) {
                        int xh0 = (int) (((qh >> j) << 4) & 0x10), xh1 = (int) ((qh >> (j + 12)) & 0x10);
                        y[32 * i + j] = ((u8(raw, x + 8 + j) & 0x0F) | xh0) * d + m;
                        y[32 * i + j + 16] = ((u8(raw, x + 8 + j) >> 4) | xh1) * d + m;
                    }
                }
            }
            case Q4_K -> { // block_q4_K { ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qs[128]; }
                for (int i = 0; i < n / 256; i++) {
                    int x = 144 * i, q = x + 16, out = 256 * i, is = 0;
                    double d = f16(raw, x), min = f16(raw, x + 2);
                    for (int j = 0; j < 256; j += 64) {
                        int[] sm = scaleMinK4(is, raw, x + 4);
                        double d1 = d * sm[0], m1 = min * sm[1];
                        sm = scaleMinK4(is + 1, raw, x + 4);
                        double d2 = d * sm[0], m2 = min * sm[1];
                        for (int l = 0; l < 32; l++) y[out++] = d1 * (u8(raw, q + l) & 0xF) - m1;
                        for (int l = 0; l < 32; l++) y[out++] = d2 * (u8(raw, q + l) >> 4) - m2;
                        q += 32;
                        is += 2;
                    }
                }
            }
            case Q5_K -> { // block_q5_K { ggml_half d; ggml_half dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; }
                for (int i = 0; i < n / 256; i++) {
                    int x = 176 * i, ql = x + 48, qh = x + 16, out = 256 * i, is = 0, u1 = 1, u2 = 2;
                    double d = f16(raw, x), min = f16(raw, x + 2);
                    for (int j = 0; j < 256; j += 64) {
                        int[] sm = scaleMinK4(is, raw, x + 4);
                        double d1 = d * sm[0], m1 = min * sm[1];
                        sm = scaleMinK4(is + 1, raw, x + 4);
                        double d2 = d * sm[0], m2 = min * sm[1];
                        for (int l = 0; l < 32; l++) y[out++] = d1 * ((u8(raw, ql + l) & 0xF) + ((u8(raw, qh + l) & u1) != 0 ? 16 : 0)) - m1;
                        for (int l = 0; l < 32; l++) y[out++] = d2 * ((u8(raw, ql + l) >> 4) + ((u8(raw, qh + l) & u2) != 0 ? 16 : 0)) - m2;
                        ql += 32;
                        is += 2;
                        u1 <<= 2;
                        u2 <<= 2;
                    }
                }
            }
            case Q6_K -> { // block_q6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; ggml_half d; }
                for (int i = 0; i < n / 256; i++) {
                    int x = 210 * i, ql = x, qh = x + 128, sc = x + 192, out = 256 * i;
                    double d = f16(raw, x + 208);
                    for (int h = 0; h < 256; h += 128) {
                        for (int l = 0; l < 32; l++) {
                            int is = l / 16;
                            int q1 = (byte) ((u8(raw, ql + l) & 0xF) | ((u8(raw, qh + l) >> 0) & 3) << 4) - 32;
                            int q2 = (byte) ((u8(raw, ql + l + 32) & 0xF) | ((u8(raw, qh + l) >> 2) & 3) << 4) - 32;
                            int q3 = (byte) ((u8(raw, ql + l) >> 4) | ((u8(raw, qh + l) >> 4) & 3) << 4) - 32;
                            int q4 = (byte) ((u8(raw, ql + l + 32) >> 4) | ((u8(raw, qh + l) >> 6) & 3) << 4) - 32;
                            y[out + l] = d * raw[sc + is] * q1;
                            y[out + l + 32] = d * raw[sc + is + 2] * q2;
                            y[out + l + 64] = d * raw[sc + is + 4] * q3;
                            y[out + l + 96] = d * raw[sc + is + 6] * q4;
                        }
                        out += 128;
                        ql += 64;
                        qh += 32;
                        sc += 8;
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return y;
    }

    /**
     * For each value, |scale * code| + |offset|: the size of the terms a float kernel adds, which bounds its
     * rounding error (the value itself can be much smaller when the two cancel).
     */
    static double[] magnitudes(GGMLType type, byte[] raw, int n) {
        double[] y = dequantize(type, raw, n);
        double[] m = new double[n];
        for (int i = 0; i < n; i++) m[i] = Math.abs(y[i]);
        switch (type) {
            case Q4_0 -> {
                for (int i = 0; i < n; i++) m[i] += 16 * Math.abs(f16(raw, 18 * (i / 32)));
            }
            case Q4_1 -> {
                for (int i = 0; i < n; i++) m[i] += 2 * Math.abs(f16(raw, 20 * (i / 32) + 2));
            }
            case Q5_0 -> {
                for (int i = 0; i < n; i++) m[i] += 32 * Math.abs(f16(raw, 22 * (i / 32)));
            }
            case Q5_1 -> {
                for (int i = 0; i < n; i++) m[i] += 2 * Math.abs(f16(raw, 24 * (i / 32) + 2));
            }
            case Q4_K, Q5_K -> {
                int bytes = type == GGMLType.Q4_K ? 144 : 176;
                for (int i = 0; i < n; i++) {
                    int x = bytes * (i / 256);
                    int[] sm = scaleMinK4(i % 256 / 32, raw, x + 4);
                    m[i] += 2 * Math.abs(f16(raw, x + 2) * sm[1]);
                }
            }
            default -> { }
        }
        return m;
    }

    /** ggml's get_scale_min_k4: {scale, min} of sub-block j from the 12 scale bytes at q. */
    static int[] scaleMinK4(int j, byte[] raw, int q) {
        if (j < 4) return new int[] {u8(raw, q + j) & 63, u8(raw, q + j + 4) & 63};
        return new int[] {
                (u8(raw, q + j + 4) & 0xF) | ((u8(raw, q + j - 4) >> 6) << 4),
                (u8(raw, q + j + 4) >> 4) | ((u8(raw, q + j) >> 6) << 4)};
    }

    /** quantize_row_q8_0_ref. */
    static byte[] quantizeQ8_0(float[] x) {
        byte[] y = new byte[x.length / 32 * 34];
        for (int i = 0; i < x.length / 32; i++) {
            float amax = 0.0f;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * i + j]));
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            putF16(y, 34 * i, d);
            for (int j = 0; j < 32; j++) {
                float x0 = x[32 * i + j] * id;
                y[34 * i + 2 + j] = (byte) roundf(x0);
            }
        }
        return y;
    }

    /**
     * x[offset .. offset + n) as the Q8_0 decode kernel sees it: quantized to Q8_0 blocks as llama.cpp's x86
     * quantize_row_q8_0 does for activations (d = amax / 127 stored as fp16, codes nearbyint(x * 127 / amax),
     * ties to even) and decoded again, d * code (exact in float: 11 by 8 significant bits).
     */
    static float[] q8_0Activations(float[] x, int offset, int n) {
        float[] y = new float[n];
        for (int i = 0; i < n / 32; i++) {
            float amax = 0.0f;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[offset + 32 * i + j]));
            float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127.f));
            float id = amax != 0.0f ? 127.f / amax : 0.0f;
            for (int j = 0; j < 32; j++) {
                double code = Math.rint(x[offset + 32 * i + j] * id);
                y[32 * i + j] = (float) (d * code);
            }
        }
        return y;
    }

    /**
     * x[offset .. offset + n) as the K-quant decode kernels see it: quantize_row_q8_K_ref (per 256 values, m the
     * value of largest magnitude, iscale = -127 / m, codes min(127, nearest_int(iscale * x)), d = 1 / iscale)
     * and decoded again, d * code, in double.
     */
    static double[] q8_KActivations(float[] x, int offset, int n) {
        double[] y = new double[n];
        for (int i = 0; i < n / 256; i++) {
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++) {
                float ax = Math.abs(x[offset + 256 * i + j]);
                if (ax > amax) {
                    amax = ax;
                    max = x[offset + 256 * i + j];
                }
            }
            if (amax == 0) continue;
            float iscale = -127.f / max;
            float d = 1 / iscale;
            for (int j = 0; j < 256; j++) {
                float v = iscale * x[offset + 256 * i + j] + 12582912.f; // nearest_int
                int code = Math.min(127, (Float.floatToRawIntBits(v) & 0x007fffff) - 0x00400000);
                y[256 * i + j] = code * (double) d;
            }
        }
        return y;
    }

    /** quantize_row_q4_0_ref. */
    static byte[] quantizeQ4_0(float[] x) {
        byte[] y = new byte[x.length / 32 * 18];
        for (int i = 0; i < x.length / 32; i++) {
            float amax = 0.0f, max = 0.0f;
            for (int j = 0; j < 32; j++) {
                float v = x[32 * i + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putF16(y, 18 * i, d);
            for (int j = 0; j < 16; j++) {
                float x0 = x[32 * i + j] * id, x1 = x[32 * i + 16 + j] * id;
                int xi0 = Math.min(15, (byte) (int) (x0 + 8.5f)), xi1 = Math.min(15, (byte) (int) (x1 + 8.5f));
                y[18 * i + 2 + j] = (byte) (xi0 | xi1 << 4);
            }
        }
        return y;
    }

    /** quantize_row_q4_1_ref. */
    static byte[] quantizeQ4_1(float[] x) {
        byte[] y = new byte[x.length / 32 * 20];
        for (int i = 0; i < x.length / 32; i++) {
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (int j = 0; j < 32; j++) {
                float v = x[32 * i + j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / ((1 << 4) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            putF16(y, 20 * i, d);
            putF16(y, 20 * i + 2, min);
            for (int j = 0; j < 16; j++) {
                float x0 = (x[32 * i + j] - min) * id, x1 = (x[32 * i + 16 + j] - min) * id;
                int xi0 = Math.min(15, (byte) (int) (x0 + 0.5f)), xi1 = Math.min(15, (byte) (int) (x1 + 0.5f));
                y[20 * i + 4 + j] = (byte) (xi0 | xi1 << 4);
            }
        }
        return y;
    }

    /** quantize_row_q5_0_ref. */
    static byte[] quantizeQ5_0(float[] x) {
        byte[] y = new byte[x.length / 32 * 22];
        for (int i = 0; i < x.length / 32; i++) {
            float amax = 0.0f, max = 0.0f;
            for (int j = 0; j < 32; j++) {
                float v = x[32 * i + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            putF16(y, 22 * i, d);
            long qh = 0;
            for (int j = 0; j < 16; j++) {
                float x0 = x[32 * i + j] * id, x1 = x[32 * i + 16 + j] * id;
                int xi0 = Math.min(31, (byte) (int) (x0 + 16.5f)) & 0xFF, xi1 = Math.min(31, (byte) (int) (x1 + 16.5f)) & 0xFF;
                y[22 * i + 6 + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (long) ((xi0 & 0x10) >> 4) << j;
                qh |= (long) ((xi1 & 0x10) >> 4) << (j + 16);
            }
            putU32(y, 22 * i + 2, qh);
        }
        return y;
    }

    /** quantize_row_q5_1_ref. */
    static byte[] quantizeQ5_1(float[] x) {
        byte[] y = new byte[x.length / 32 * 24];
        for (int i = 0; i < x.length / 32; i++) {
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (int j = 0; j < 32; j++) {
                float v = x[32 * i + j];
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / ((1 << 5) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            putF16(y, 24 * i, d);
            putF16(y, 24 * i + 2, min);
            long qh = 0;
            for (int j = 0; j < 16; j++) {
                float x0 = (x[32 * i + j] - min) * id, x1 = (x[32 * i + 16 + j] - min) * id;
                int xi0 = (int) (x0 + 0.5f) & 0xFF, xi1 = (int) (x1 + 0.5f) & 0xFF; // (uint8_t)
                y[24 * i + 8 + j] = (byte) ((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (long) ((xi0 & 0x10) >> 4) << j;
                qh |= (long) ((xi1 & 0x10) >> 4) << (j + 16);
            }
            putU32(y, 24 * i + 4, qh);
        }
        return y;
    }

    static void putU32(byte[] b, int i, long v) {
        for (int k = 0; k < 4; k++) b[i + k] = (byte) (v >> 8 * k);
    }

    /** C's roundf, via BigDecimal-free exact arithmetic in double: halfway cases away from zero. */
    static float roundf(float v) {
        double a = Math.abs((double) v);
        double r = Math.floor(a);
        if (a - r >= 0.5) r += 1;
        return (float) Math.copySign(r, v);
    }
}
