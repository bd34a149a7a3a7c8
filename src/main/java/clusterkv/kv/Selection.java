package clusterkv.kv;

import java.util.Arrays;

/**
 * The cache slots one query head attends to at one decode step, as ranges [start, end) of slot
 * indices of its KV head. Adjacent ranges are merged, so a cluster laid out contiguously, a page,
 * the sink or the recent window is one sequential read.
 *
 * <p>A range may be read from a copy of the tokens rather than where they are stored (ClusterKV's working set
 * of recalled clusters): then its {@link #source} is the slot that holds the first of them in the cache
 * proper, which is what identifies the tokens (fidelity statistics).
 *
 * <p>A selection may also hold estimates (ClusterKV's estimation zone): groups of tokens that attention does not
 * read but counts as {@code count} tokens with one mean key and one mean value, i.e. as one key whose score is
 * raised by ln(count). Exact when the group's keys are all equal.
 */
public final class Selection {

    private int[] starts = new int[16];
    private int[] ends = new int[16];
    private int[] sources = new int[16];
    private int count;
    private int tokens;

    /** Estimates: rows of estimateKeys / estimateValues (offsets, not copies: a policy's own arrays) and ln(count) of each. */
    private float[] estimateKeys, estimateValues;
    private int[] estimateOffsets = new int[0];
    private float[] estimateLogCounts = new float[0];
    private int estimates;

    public void clear() {
        count = 0;
        tokens = 0;
        estimates = 0;
    }

    /** Where the mean keys and mean values of this step's estimates lie (read, never copied, by attention). */
    public void estimateFrom(float[] meanKeys, float[] meanValues) {
        this.estimateKeys = meanKeys;
        this.estimateValues = meanValues;
    }

    /** Adds an estimate: {@code count} tokens with the mean key and mean value at {@code offset} of the arrays of {@link #estimateFrom}. */
    public void addEstimate(int offset, int count) {
        if (count <= 0) return;
        if (estimates == estimateOffsets.length) {
            estimateOffsets = Arrays.copyOf(estimateOffsets, Math.max(8, 2 * estimates));
            estimateLogCounts = Arrays.copyOf(estimateLogCounts, estimateOffsets.length);
        }
        estimateOffsets[estimates] = offset;
        estimateLogCounts[estimates++] = (float) Math.log(count);
    }

    public int estimates() { return estimates; }
    public float[] estimateKeys() { return estimateKeys; }
    public float[] estimateValues() { return estimateValues; }
    public int estimateOffset(int i) { return estimateOffsets[i]; }
    public float estimateLogCount(int i) { return estimateLogCounts[i]; }

    public void add(int start, int end) {
        add(start, end, start);
    }

    /** Slots [start, end) hold a copy of the tokens stored at slots source, source + 1, ... */
    public void add(int start, int end, int source) {
        if (end <= start) return;
        tokens += end - start;
        if (count > 0 && ends[count - 1] == start && sources[count - 1] + (start - starts[count - 1]) == source) {
            ends[count - 1] = end;
            return;
        }
        if (count == starts.length) {
            starts = Arrays.copyOf(starts, count * 2);
            ends = Arrays.copyOf(ends, count * 2);
            sources = Arrays.copyOf(sources, count * 2);
        }
        starts[count] = start;
        ends[count] = end;
        sources[count] = source;
        count++;
    }

    public int ranges() { return count; }
    public int start(int i) { return starts[i]; }
    public int end(int i) { return ends[i]; }
    /** Where range i's tokens are stored in the cache proper: {@link #start} unless the range reads a copy. */
    public int source(int i) { return sources[i]; }

    /** Number of slots selected (the attended tokens, counted once each when ranges do not overlap). */
    public int tokens() { return tokens; }

    /** The selected tokens as the slots that store them (sources), in selection order, into out (which must hold {@link #tokens()}). */
    public void slots(int[] out) {
        int k = 0;
        for (int i = 0; i < count; i++) for (int s = sources[i], e = s + ends[i] - starts[i]; s < e; s++) out[k++] = s;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Selection[");
        for (int i = 0; i < count; i++) {
            sb.append(i == 0 ? "" : ", ").append(starts[i]).append("..").append(ends[i]);
            if (sources[i] != starts[i]) sb.append(" (copy of ").append(sources[i]).append(')');
        }
        return sb.append("]").toString();
    }
}
