package clusterkv.tokenizer;

import java.util.Arrays;

/**
 * The work queue of the merge loops: candidate merges of two neighbouring symbols, smallest
 * priority first and of equal priorities the leftmost. A binary heap over primitive arrays,
 * because a heap of objects spends most of a long text's tokenization on cache misses.
 */
final class BigramQueue {

    private long[] keys = new long[64];   // priority in the high 32 bits, left symbol in the low 32
    private long[] values = new long[64]; // right symbol in the high 32 bits, merged length in the low 32
    private int size;

    /** Adds a merge; lower priorities come out first. */
    void add(int priority, int left, int right, int length) {
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            values = Arrays.copyOf(values, size * 2);
        }
        long key = ((long) priority << 32) | (left & 0xFFFFFFFFL);
        long value = ((long) right << 32) | (length & 0xFFFFFFFFL);
        int i = size++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (keys[parent] <= key) break;
            keys[i] = keys[parent];
            values[i] = values[parent];
            i = parent;
        }
        keys[i] = key;
        values[i] = value;
    }

    boolean isEmpty() {
        return size == 0;
    }

    // The head's fields; read them before poll().
    int left() { return (int) keys[0]; }
    int right() { return (int) (values[0] >>> 32); }
    int length() { return (int) values[0]; }

    /** Removes the head. */
    void poll() {
        long key = keys[--size];
        long value = values[size];
        int i = 0;
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < size && keys[child + 1] < keys[child]) child++;
            if (key <= keys[child]) break;
            keys[i] = keys[child];
            values[i] = values[child];
            i = child;
        }
        keys[i] = key;
        values[i] = value;
    }

    /** A priority that puts higher scores first, equal scores (also 0.0 and -0.0, as in C++) together. */
    static int descendingScore(float score) {
        int bits = Float.floatToIntBits(score + 0.0f);
        int ascending = bits ^ ((bits >> 31) & 0x7FFFFFFF); // signed-int order equals float order
        return ~ascending;
    }
}
