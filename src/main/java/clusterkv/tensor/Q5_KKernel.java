package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static clusterkv.tensor.KQuants.QK_K;
import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.L;

/**
 * Q5_K (ggml block_q5_K, 176 bytes per 256 values): fp16 d, fp16 dmin, scales[12] (see {@link KQuants}),
 * qh[32], qs[128]. Laid out as Q4_K plus a fifth bit: in group p (values 64p .. 64p+64), value 64p + l takes
 * bit 2p of qh[l] as its 16s bit and value 64p + 32 + l takes bit 2p+1;
 * value = d * scale * code - dmin * min.
 */
final class Q5_KKernel implements RowKernel {
    static final Q5_KKernel INSTANCE = new Q5_KKernel();
    static final int BLOCK_BYTES = 176;
    static final int QH = 16;
    static final int QS = 48;

    @Override
    public boolean usesBlockSums() {
        return true;
    }

    @Override
    public float dot(MemorySegment data, long offset, float[] x, int xOffset, int n) {
        return row(data, offset, x, xOffset, RowKernel.blockSums(x, xOffset, n), n / QK_K);
    }

    @Override
    public void dotRows(MemorySegment data, long offset, long rowBytes, int count,
                        float[] x, int xOffset, float[] xBlockSums, int n, float[] out, int outOffset) {
        for (int i = 0; i < count; i++) out[outOffset + i] = row(data, offset + i * rowBytes, x, xOffset, xBlockSums, n / QK_K);
    }

    // row() and dequantize() mirror {@link Q4_KKernel} on purpose: a shared base class with a per-format
    // codes() method measured 4-5x slower once both formats ran in one JVM (the JIT no longer keeps the
    // vectors in registers at the bimorphic call), so each format keeps its own monomorphic loop.
    private static float row(MemorySegment data, long offset, float[] x, int xOffset, float[] xBlockSums, int superBlocks) {
        // Two accumulators alternating groups of 64 values (see Q8_0Kernel.dot); the mins are summed as
        // dmin * min * sum(x over the sub-block).
        MemorySegment row = data.asSlice(offset, (long) superBlocks * BLOCK_BYTES); // see Q8_0Kernel.dot
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        float mins = 0;
        long block = 0;
        for (int b = 0; b < superBlocks; b++, block += BLOCK_BYTES) {
            float d = Simd.half(row, block);
            long scales = KQuants.scales(KQuants.scalesLo(row, block), KQuants.scalesHi(row, block));
            for (int p = 0; p < 4; p++) {
                FloatVector t = group(row, block, p, x, xOffset + b * QK_K + 64 * p,
                        d * KQuants.at(scales, 2 * p), d * KQuants.at(scales, 2 * p + 1), a1);
                a1 = a0;
                a0 = t;
            }
            mins += KQuants.minTerm(row, block, xBlockSums, b * (QK_K / KQuants.SUB));
        }
        return Simd.sum(a0.add(a1)) - mins;
    }

    /** acc + dLo * (codes . x[xo ..+32)) + dHi * (codes . x[xo+32 ..+32)) for group p of the super-block at block. */
    private static FloatVector group(MemorySegment s, long block, int p, float[] x, int xo, float dLo, float dHi, FloatVector acc) {
        FloatVector lo = FloatVector.zero(F), hi = lo;
        for (int j = 0; j < 32; j += L) {
            IntVector v = Simd.unsignedBytes(s, block + QS + 32 * p + j);
            IntVector h = Simd.unsignedBytes(s, block + QH + j).lanewise(VectorOperators.LSHR, 2 * p);
            IntVector cLo = v.and(0xF).or(h.and(1).lanewise(VectorOperators.LSHL, 4));
            IntVector cHi = v.lanewise(VectorOperators.LSHR, 4).or(h.and(2).lanewise(VectorOperators.LSHL, 3));
            lo = Simd.toFloat(cLo).fma(FloatVector.fromArray(F, x, xo + j), lo);
            hi = Simd.toFloat(cHi).fma(FloatVector.fromArray(F, x, xo + 32 + j), hi);
        }
        return lo.fma(FloatVector.broadcast(F, dLo), hi.fma(FloatVector.broadcast(F, dHi), acc));
    }

    @Override
    public void dequantize(MemorySegment data, long offset, float[] out, int outOffset, int n) {
        for (int b = 0; b < n / QK_K; b++, offset += BLOCK_BYTES, outOffset += QK_K) {
            float d = Simd.half(data, offset), dmin = Simd.half(data, offset + 2);
            long lo = KQuants.scalesLo(data, offset);
            int hi = KQuants.scalesHi(data, offset);
            long scales = KQuants.scales(lo, hi), mins = KQuants.mins(lo, hi);
            for (int p = 0; p < 4; p++) {
                FloatVector dLo = FloatVector.broadcast(F, d * KQuants.at(scales, 2 * p));
                FloatVector mLo = FloatVector.broadcast(F, -dmin * KQuants.at(mins, 2 * p));
                FloatVector dHi = FloatVector.broadcast(F, d * KQuants.at(scales, 2 * p + 1));
                FloatVector mHi = FloatVector.broadcast(F, -dmin * KQuants.at(mins, 2 * p + 1));
                for (int j = 0; j < 32; j += L) {
                    IntVector v = Simd.unsignedBytes(data, offset + QS + 32 * p + j);
                    IntVector h = Simd.unsignedBytes(data, offset + QH + j).lanewise(VectorOperators.LSHR, 2 * p);
                    IntVector cLo = v.and(0xF).or(h.and(1).lanewise(VectorOperators.LSHL, 4));
                    IntVector cHi = v.lanewise(VectorOperators.LSHR, 4).or(h.and(2).lanewise(VectorOperators.LSHL, 3));
                    Simd.toFloat(cLo).fma(dLo, mLo).intoArray(out, outOffset + 64 * p + j);
                    Simd.toFloat(cHi).fma(dHi, mHi).intoArray(out, outOffset + 64 * p + 32 + j);
                }
            }
        }
    }

    @Override
    public void quantize(float[] src, int srcOffset, int n, MemorySegment dst, long offset) {
        KQuants.Asymmetric e = new KQuants.Asymmetric();
        for (int b = 0; b < n / QK_K; b++, srcOffset += QK_K, offset += BLOCK_BYTES) {
            KQuants.encode(src, srcOffset, 31, e);
            e.writeHeader(dst, offset);
            int[] qh = new int[32];
            for (int p = 0; p < 4; p++) {
                for (int l = 0; l < 32; l++) {
                    int cLo = e.codes[64 * p + l], cHi = e.codes[64 * p + 32 + l];
                    qh[l] |= (cLo >> 4) << (2 * p) | (cHi >> 4) << (2 * p + 1);
                    dst.set(ValueLayout.JAVA_BYTE, offset + QS + 32 * p + l, (byte) ((cLo & 0xF) | (cHi & 0xF) << 4));
                }
            }
            for (int l = 0; l < 32; l++) dst.set(ValueLayout.JAVA_BYTE, offset + QH + l, (byte) qh[l]);
        }
    }
}
