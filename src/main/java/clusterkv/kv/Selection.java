package clusterkv.kv;

import java.util.Arrays;

/**
 * The cache slots one query head attends to at one decode step, as ranges [start, end) of slot
 * indices of its KV head. Adjacent ranges are merged, so a cluster laid out contiguously, a page,
 * the sink or the recent window is one sequential read.
 */
public final class Selection {

    private int[] starts = new int[16];
    private int[] ends = new int[16];
    private int count;
    private int tokens;

    public void clear() {
        count = 0;
        tokens = 0;
    }

    public void add(int start, int end) {
        if (end <= start) return;
        tokens += end - start;
        if (count > 0 && ends[count - 1] == start) {
            ends[count - 1] = end;
            return;
        }
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, count * 2);
            ends = Arrays.copyOf(ends, count * 2);
        }
        starts[count] = start;
        ends[count] = end;
        count++;
    }

    public int ranges() { return count; }
    public int start(int i) { return starts[i]; }
    public int end(int i) { return ends[i]; }

    /** Number of slots selected (the attended tokens, counted once each when ranges do not overlap). */
    public int tokens() { return tokens; }

    /** The selected slots, in selection order, into out (which must hold {@link #tokens()}). */
    public void slots(int[] out) {
        int k = 0;
        for (int i = 0; i < count; i++) for (int s = starts[i]; s < ends[i]; s++) out[k++] = s;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Selection[");
        for (int i = 0; i < count; i++) sb.append(i == 0 ? "" : ", ").append(starts[i]).append("..").append(ends[i]);
        return sb.append("]").toString();
    }
}
