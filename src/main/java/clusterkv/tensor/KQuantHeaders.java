package clusterkv.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static clusterkv.tensor.RowGroups.S16;
import static clusterkv.tensor.Simd.F;
import static clusterkv.tensor.Simd.I;
import static clusterkv.tensor.Simd.L;
import static clusterkv.tensor.Simd.LE;

/**
 * The head of a Q4_K or Q5_K super-block in a decode group of L rows ({@link Q4_KPacked}, {@link Q5_KPacked}): the
 * rows' d and dmin as fp16 (32-bit lane r holds row r's d in its low and dmin in its high half, times 2^k for the
 * group's {@link RowGroups#scaleShift}), then per sub-block of 32 the rows' 6-bit scale and min as bytes (byte 2r
 * scale, 2r + 1 min of row r). 20L bytes, where ggml's rows take 16 each; the codes follow. Both formats share it,
 * the walk that packs a group ({@link #packGroup}) and the pass that subtracts the mins.
 */
final class KQuantHeaders {

    /** Bytes of the head: d and dmin, then 8 sub-blocks' scales and mins. */
    static final int BYTES = 4 * L + 8 * 2 * L;
    private static final int SCALES = 4 * L;

    private KQuantHeaders() {}

    /** The shift k of a group whose rows' ggml super-blocks (d at 0, dmin at 2) are in[r * rowBytes ..). */
    private static int shift(byte[] in, int rowBytes, int present, int blockBytes, int superBlocks) {
        float max = 0;
        for (int r = 0; r < present; r++) {
            max = Math.max(max, RowGroups.maxHalf(in, r * rowBytes, blockBytes, superBlocks));      // d
            max = Math.max(max, RowGroups.maxHalf(in, r * rowBytes + 2, blockBytes, superBlocks));  // dmin
        }
        return RowGroups.scaleShift(max);
    }

    /** How a format lays out one row's codes of one super-block (Q4_K as nibbles, Q5_K as bytes). */
    interface RowCodes {
        /** Row r's codes of the ggml super-block at in[src ..] into the group at out[at ..]; codes is scratch of 256. */
        void place(byte[] in, int src, int r, byte[] codes, byte[] out, int at);
    }

    /**
     * Packs a group whose rows' ggml super-blocks ({@code blockBytes} each) are in[r * rowBytes ..): per super-block
     * (every {@code superBytes} of out) the head, then each row's codes at {@code BYTES} after it. Returns the
     * group's shift (see {@link RowGroups#scaleShift}).
     */
    static int packGroup(byte[] in, int rowBytes, int present, int blockBytes, int superBlocks, int superBytes,
                         byte[] out, RowCodes codes) {
        int shift = shift(in, rowBytes, present, blockBytes, superBlocks);
        MemorySegment rowsIn = MemorySegment.ofArray(in);
        byte[] scratch = new byte[KQuants.QK_K];
        for (int b = 0; b < superBlocks; b++) {
            int block = b * superBytes;
            for (int r = 0; r < present; r++) {
                int src = r * rowBytes + b * blockBytes;
                pack(in, rowsIn, src, shift, r, out, block);
                codes.place(in, src, r, scratch, out, block + BYTES);
            }
        }
        return shift;
    }

    /** Row r's part of the head at out[at ..], from the ggml super-block at in[src ..] (rows the same bytes as in). */
    private static void pack(byte[] in, MemorySegment rows, int src, int shift, int r, byte[] out, int at) {
        RowGroups.putShifted(in, src, shift, out, at + 4 * r);          // d
        RowGroups.putShifted(in, src + 2, shift, out, at + 4 * r + 2);  // dmin
        long lo = KQuants.scalesLo(rows, src);
        int hi = KQuants.scalesHi(rows, src);
        long scales = KQuants.scales(lo, hi), mins = KQuants.mins(lo, hi);
        for (int j = 0; j < 8; j++) {
            out[at + SCALES + 2 * L * j + 2 * r] = (byte) KQuants.at(scales, j);
            out[at + SCALES + 2 * L * j + 2 * r + 1] = (byte) KQuants.at(mins, j);
        }
    }

    /** Lane r = row r's scale of sub-block j, for the head at {@code at}. */
    static IntVector scales(MemorySegment g, long at, int j) {
        return RowGroups.unsignedBytes(g, at + SCALES + (long) j * 2 * L).reinterpretAsInts().and(0xFFFF);
    }

    /** Row r's d, in lane r, for the head at {@code at} (see {@link RowGroups#scales}). */
    static FloatVector d(MemorySegment g, long at, float unscale) {
        return RowGroups.scales(ShortVector.fromMemorySegment(S16, g, at, LE).reinterpretAsInts().lanewise(VectorOperators.LSHL, 16), unscale);
    }

    /**
     * out[o .. o + L) -= sum over super-blocks (heads every {@code superBytes}) of dmin * d_x * sum_j min_j * (sum
     * of x codes over sub-block j). A pass of its own, after the codes': in one method with them C2's inlining budget
     * ran out and the last vector operations of the loop fell back to the Vector API's Java code (a third of the
     * decode time, seen in JFR); the group's bytes then come from the caches.
     */
    static void subtractMins(MemorySegment g, int superBlocks, long superBytes, float unscale, int[] xs, int xso,
                             float[] xd, int xdo, float[] out, int o) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < superBlocks; b++) {
            long at = b * superBytes;
            IntVector dd = ShortVector.fromMemorySegment(S16, g, at, LE).reinterpretAsInts();
            IntVector mins = IntVector.zero(I);
            for (int j = 0; j < 8; j++) {
                IntVector min = RowGroups.unsignedBytes(g, at + SCALES + j * 2L * L).reinterpretAsInts().lanewise(VectorOperators.LSHR, 16);
                mins = mins.add(min.mul(xs[xso + 8 * b + j]));
            }
            acc = Simd.toFloat(mins).fma(RowGroups.scales(dd, unscale).mul(xd[xdo + b]), acc);
        }
        FloatVector.fromArray(F, out, o).sub(acc).intoArray(out, o);
    }
}
