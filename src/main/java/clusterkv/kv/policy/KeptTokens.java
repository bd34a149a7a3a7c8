package clusterkv.kv.policy;

import clusterkv.kv.PolicyState;
import clusterkv.kv.Selection;

import java.util.Arrays;

/**
 * The tokens an eviction policy still holds for one KV head: a sorted list of older kept slots (H2O's
 * heavy hitters, SnapKV's compressed prompt) followed by one contiguous recent window
 * [windowStart, length). Every other slot below the length has been evicted and is never kept again:
 * slots only leave, by {@link #setOlder} keeping a subset or by the window moving on.
 */
final class KeptTokens {

    private int[] older = new int[16];
    private int olderCount;
    private int windowStart;

    int olderCount() { return olderCount; }
    int windowStart() { return windowStart; }

    /** The older kept slots, ascending, in [0, {@link #olderCount()}); the array is live. */
    int[] older() { return older; }

    /** Kept tokens, the current length included. */
    int count(int length) {
        return olderCount + Math.max(0, length - windowStart);
    }

    /**
     * Moves the window start to {@code start} (never backwards); with {@code keepPassed} the slots it
     * passes join the older list (H2O: they become heavy-hitter candidates), else they are evicted.
     */
    void advanceWindow(int start, boolean keepPassed) {
        if (start <= windowStart) return;
        if (keepPassed) {
            ensure(olderCount + start - windowStart);
            for (int s = windowStart; s < start; s++) older[olderCount++] = s;
        }
        windowStart = start;
    }

    /** Replaces the older list by slots[0..n), which must be ascending, below the window, and already kept. */
    void setOlder(int[] slots, int n) {
        ensure(n);
        System.arraycopy(slots, 0, older, 0, n);
        olderCount = n;
    }

    /** The kept slots of [0, length), ascending, into out (grown when too small); returns it. */
    int[] alive(int length, int[] out) {
        int n = count(length);
        if (out.length < n) out = new int[n];
        System.arraycopy(older, 0, out, 0, olderCount);
        for (int s = windowStart, i = olderCount; s < length; s++) out[i++] = s;
        return out;
    }

    /** The kept slots of [0, length) as ranges. */
    void select(Selection sel, int length) {
        sel.clear();
        for (int i = 0; i < olderCount; i++) sel.add(older[i], older[i] + 1);
        sel.add(windowStart, length);
    }

    /** Forgets the slots from length on. */
    void truncate(int length) {
        int n = 0;
        while (n < olderCount && older[n] < length) n++;
        olderCount = n;
        windowStart = Math.min(windowStart, length);
    }

    void save(PolicyState state) {
        state.put("older", Arrays.copyOf(older, olderCount));
        state.putInt("window_start", windowStart);
    }

    /** Takes back what {@link #save} wrote: older slots ascending and below the window, the window within the capacity. */
    void restore(PolicyState state, int capacity) {
        int[] saved = state.ints("older");
        int start = state.getInt("window_start", 0, capacity);
        for (int i = 0; i < saved.length; i++) {
            if (saved[i] < 0 || saved[i] >= start || (i > 0 && saved[i] <= saved[i - 1])) throw new IllegalStateException("kept slots out of order");
        }
        setOlder(saved, saved.length);
        windowStart = start;
    }

    private void ensure(int n) {
        if (older.length < n) older = Arrays.copyOf(older, Math.max(n, older.length * 2));
    }
}
