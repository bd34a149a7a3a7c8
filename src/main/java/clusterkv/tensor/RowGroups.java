package clusterkv.tensor;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

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

    RowGroups(int rows, int cols, int groupRows, long groupBytes) {
        super(rows, cols, (long) groups(rows, groupRows) * groupBytes);
        this.groupRows = groupRows;
        this.groupBytes = groupBytes;
    }

    private static int groups(int rows, int groupRows) {
        return (rows + groupRows - 1) / groupRows;
    }

    /** Lays every group out from the ggml rows in data (called by the subclass once its fields are set). */
    final void packAll(MemorySegment data, long rowBytes) {
        Parallel.forRange(groups(rows, groupRows), 1, (g0, g1) -> {
            byte[] in = new byte[Math.toIntExact(groupRows * rowBytes)];
            byte[] out = new byte[Math.toIntExact(groupBytes)];
            for (int g = g0; g < g1; g++) {
                int present = Math.min(groupRows, rows - g * groupRows);
                MemorySegment.copy(data, (long) g * groupRows * rowBytes, MemorySegment.ofArray(in), 0, present * rowBytes);
                java.util.Arrays.fill(out, (byte) 0);
                pack(in, (int) rowBytes, present, out);
                MemorySegment.copy(MemorySegment.ofArray(out), 0, packed, g * groupBytes, groupBytes);
            }
        });
    }

    /** Fills out (zeroed) with the group whose first {@code present} rows are in[r * rowBytes ..) in ggml's layout. */
    abstract void pack(byte[] in, int rowBytes, int present, byte[] out);

    /** out[o .. o + groupRows) = the rows of group g (its bytes from 0) . token t of a. */
    abstract void group(MemorySegment g, A a, int t, float[] out, int o);

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
                    group(group, a, t, out, o);
                } else { // the last, partial group
                    float[] rest = new float[groupRows];
                    group(group, a, t, rest, 0);
                    System.arraycopy(rest, 0, out, o, present);
                }
            }
        }
    }

    /** A pair of 16-bit activation codes (low, high half of the int) in every 32-bit lane. */
    static ShortVector pair(int codes) {
        return IntVector.broadcast(Simd.I, codes).reinterpretAsShorts();
    }

    /** The byte lane of row r of a group of 2n rows when rows r and n + r share a 16-bit lane (low, high byte). */
    static int pairedLane(int r, int n) {
        return r < n ? 2 * r : 2 * (r - n) + 1;
    }
}
