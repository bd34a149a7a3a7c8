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

    private float[] estimateKeys = new float[0], estimateValues = new float[0], estimateLogCounts = new float[0];
    private int estimates;

    public void clear() {
        count = 0;
        tokens = 0;
        estimates = 0;
    }

    /** Adds an estimate: {@code count} tokens with the mean key meanKeys[keyOff ..+dim) and mean value meanValues[valueOff ..+dim). */
    public void addEstimate(float[] meanKeys, int keyOff, float[] meanValues, int valueOff, int dim, int count) {
        if (count <= 0) return;
        if ((estimates + 1) * dim > estimateKeys.length) {
            int cap = Math.max(4, 2 * (estimates + 1));
            estimateKeys = Arrays.copyOf(estimateKeys, cap * dim);
            estimateValues = Arrays.copyOf(estimateValues, cap * dim);
            estimateLogCounts = Arrays.copyOf(estimateLogCounts, cap);
        }
        System.arraycopy(meanKeys, keyOff, estimateKeys, estimates * dim, dim);
        System.arraycopy(meanValues, valueOff, estimateValues, estimates * dim, dim);
        estimateLogCounts[estimates++] = (float) Math.log(count);
    }

    /** Estimates held: their mean keys and values [estimates][dim], and ln(count) of each. */
    public int estimates() { return estimates; }
    public float[] estimateKeys() { return estimateKeys; }
    public float[] estimateValues() { return estimateValues; }
    public float[] estimateLogCounts() { return estimateLogCounts; }

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
